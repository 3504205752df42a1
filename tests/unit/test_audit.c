/*
 * Tests for common/audit.c: appending entries, the file mode, reading them
 * back with a time filter, lines from concurrent writers, invalid lines and
 * CSV quoting.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "audit.h"

static char test_dir[PATH_MAX];
static char audit_path[PATH_MAX + 16];

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(test_dir, sizeof test_dir, "%s/cake-audit-XXXXXX", tmp != NULL ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_dir));
	cr_assert_lt((size_t)snprintf(audit_path, sizeof audit_path, "%s/%s", test_dir, AUDIT_FILE_NAME),
	    sizeof audit_path);
}

static void
teardown(void)
{
	nftw(test_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct collected {
	struct audit_entry entries[8];
	size_t count;
};

static void
collect(const struct audit_entry *entry, void *arg)
{
	struct collected *collected = arg;

	if (collected->count < 8)
		collected->entries[collected->count] = *entry;
	collected->count++;
}

static void
count_entry(const struct audit_entry *entry, void *arg)
{
	(*(size_t *)arg)++;
}

TestSuite(audit, .init = setup, .fini = teardown);

Test(audit, append_then_read)
{
	struct collected collected = { .count = 0 };
	size_t skipped;

	cr_assert_eq(audit_append(test_dir, "gate", "command", "rm -rf /", "block", "blocked pattern"), 0);
	cr_assert_eq(audit_read(audit_path, 0, collect, &collected, &skipped), 0);

	cr_assert_eq(collected.count, 1);
	cr_assert_eq(skipped, 0);
	cr_assert_str_eq(collected.entries[0].actor, "gate");
	cr_assert_str_eq(collected.entries[0].action, "command");
	cr_assert_str_eq(collected.entries[0].target, "rm -rf /");
	cr_assert_str_eq(collected.entries[0].decision, "block");
	cr_assert_str_eq(collected.entries[0].details, "blocked pattern");
	cr_assert_eq(collected.entries[0].pid, (long)getpid());
	cr_assert_eq(collected.entries[0].uid, (long)getuid());
	cr_assert_neq(collected.entries[0].user[0], '\0');
	cr_assert_gt(collected.entries[0].time, 0);
}

Test(audit, file_mode_is_0600)
{
	struct stat st;

	cr_assert_eq(audit_append(test_dir, "cli", "config.set", "strictness", "ok", NULL), 0);
	cr_assert_eq(stat(audit_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(audit, optional_fields_empty)
{
	struct collected collected = { .count = 0 };
	size_t skipped;

	cr_assert_eq(audit_append(test_dir, "cli", "reset", NULL, "ok", NULL), 0);
	cr_assert_eq(audit_read(audit_path, 0, collect, &collected, &skipped), 0);
	cr_assert_eq(collected.count, 1);
	cr_assert_str_eq(collected.entries[0].target, "");
	cr_assert_str_eq(collected.entries[0].details, "");
}

Test(audit, missing_required_rejected)
{
	errno = 0;
	cr_assert_eq(audit_append(test_dir, NULL, "command", "ls", "allow", NULL), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(audit_append(test_dir, "gate", "command", "ls", NULL, NULL), -1);
	cr_assert_eq(access(audit_path, F_OK), -1);
}

Test(audit, newline_stays_in_one_line)
{
	struct collected collected = { .count = 0 };
	size_t skipped;
	char line[4096];
	FILE *file;
	int lines = 0;

	cr_assert_eq(audit_append(test_dir, "gate", "command", "echo a\necho b", "allow", "two\r\nlines"), 0);
	file = fopen(audit_path, "r");
	cr_assert_not_null(file);
	while (fgets(line, sizeof line, file) != NULL)
		lines++;
	fclose(file);
	cr_assert_eq(lines, 1);

	cr_assert_eq(audit_read(audit_path, 0, collect, &collected, &skipped), 0);
	cr_assert_str_eq(collected.entries[0].target, "echo a\necho b");
}

Test(audit, long_target_cut)
{
	struct collected collected = { .count = 0 };
	char target[AUDIT_TARGET_MAX * 2];
	size_t skipped;

	memset(target, 'x', sizeof target - 1);
	target[sizeof target - 1] = '\0';
	cr_assert_eq(audit_append(test_dir, "gate", "command", target, "allow", NULL), 0);
	cr_assert_eq(audit_read(audit_path, 0, collect, &collected, &skipped), 0);
	cr_assert_eq(strlen(collected.entries[0].target), AUDIT_TARGET_MAX - 1);
}

Test(audit, cut_keeps_utf8_whole)
{
	struct collected collected = { .count = 0 };
	char target[AUDIT_TARGET_MAX + 8];
	size_t skipped, length;

	/* 'é' is two bytes, so the cut lands inside one unless it steps back. */
	memset(target, 'a', 1);
	for (size_t i = 1; i + 2 < sizeof target; i += 2) {
		target[i] = (char)0xC3;
		target[i + 1] = (char)0xA9;
	}
	target[sizeof target - 1] = '\0';
	target[sizeof target - 2] = 'z';
	cr_assert_eq(audit_append(test_dir, "gate", "command", target, "allow", NULL), 0);
	cr_assert_eq(audit_read(audit_path, 0, collect, &collected, &skipped), 0);
	length = strlen(collected.entries[0].target);
	cr_assert_eq(((unsigned char)collected.entries[0].target[length - 1] & 0xC0), 0x80);
	cr_assert_eq(((unsigned char)collected.entries[0].target[length - 2]), 0xC3);
}

Test(audit, since_filters_old_entries)
{
	size_t count = 0, skipped;
	FILE *file;

	file = fopen(audit_path, "w");
	cr_assert_not_null(file);
	fprintf(file, "{\"time\":\"2020-01-01T00:00:00.000Z\",\"user\":\"u\",\"uid\":1,\"pid\":2,"
	    "\"actor\":\"gate\",\"action\":\"command\",\"target\":\"ls\",\"decision\":\"allow\",\"details\":null}\n");
	fclose(file);
	cr_assert_eq(audit_append(test_dir, "gate", "command", "pwd", "allow", NULL), 0);

	cr_assert_eq(audit_read(audit_path, 0, count_entry, &count, &skipped), 0);
	cr_assert_eq(count, 2);
	count = 0;
	cr_assert_eq(audit_read(audit_path, 1704067200, count_entry, &count, &skipped), 0);
	cr_assert_eq(count, 1);
}

Test(audit, invalid_lines_skipped)
{
	size_t count = 0, skipped;
	FILE *file;

	file = fopen(audit_path, "w");
	cr_assert_not_null(file);
	fprintf(file, "not json\n{\"time\":\"yesterday\",\"user\":\"u\",\"actor\":\"a\",\"action\":\"b\",\"decision\":\"c\"}\n");
	fprintf(file, "{\"time\":\"2024-01-01T00:00:00Z\",\"user\":\"u\",\"actor\":\"a\",\"action\":\"b\"}\n");
	fclose(file);
	cr_assert_eq(audit_append(test_dir, "gate", "command", "ls", "allow", NULL), 0);

	cr_assert_eq(audit_read(audit_path, 0, count_entry, &count, &skipped), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(skipped, 3);
}

Test(audit, missing_file_has_no_entries)
{
	size_t count = 0, skipped;

	cr_assert_eq(audit_read(audit_path, 0, count_entry, &count, &skipped), 0);
	cr_assert_eq(count, 0);
}

Test(audit, concurrent_appends_stay_whole)
{
	size_t count = 0, skipped;
	pid_t pids[4];
	int status;

	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			for (int n = 0; n < 200; n++)
				audit_append(test_dir, "gate", "command", "printf 'concurrent writer'", "allow",
				    "padding padding padding padding padding padding padding padding");
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert_eq(WEXITSTATUS(status), 0);
	}
	cr_assert_eq(audit_read(audit_path, 0, count_entry, &count, &skipped), 0);
	cr_assert_eq(count, 800);
	cr_assert_eq(skipped, 0);
}

static char *
csv_of(const char *value)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	audit_write_csv_field(out, value);
	fclose(out);
	return text;
}

Test(audit, csv_plain_unquoted)
{
	char *text = csv_of("ls -la");

	cr_assert_str_eq(text, "ls -la");
	free(text);
}

Test(audit, csv_comma_quoted)
{
	char *text = csv_of("a,b");

	cr_assert_str_eq(text, "\"a,b\"");
	free(text);
}

Test(audit, csv_quote_doubled)
{
	char *text = csv_of("say \"hi\"");

	cr_assert_str_eq(text, "\"say \"\"hi\"\"\"");
	free(text);
}

Test(audit, csv_newline_quoted)
{
	char *text = csv_of("one\ntwo");

	cr_assert_str_eq(text, "\"one\ntwo\"");
	free(text);
}

Test(audit, format_time_utc)
{
	struct audit_entry entry;
	char when[40];

	memset(&entry, 0, sizeof entry);
	entry.time = 1705314600;
	entry.milliseconds = 7;
	audit_format_time(&entry, when, sizeof when);
	cr_assert_str_eq(when, "2024-01-15T10:30:00.007Z");
}
