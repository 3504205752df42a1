/*
 * Tests for common/log.c: the line format, rotation of the log file, and
 * the parsers `cake logs` uses for lines, durations and --since values.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "log.h"

static char test_dir[PATH_MAX];
static char log_path[PATH_MAX + 16];

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(test_dir, sizeof test_dir, "%s/cake-log-XXXXXX", tmp != NULL ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_dir));
	cr_assert_lt((size_t)snprintf(log_path, sizeof log_path, "%s/cake.log", test_dir), sizeof log_path);
	log_init("tester", LOG_LEVEL_DEBUG);
	/* Lines also go to stderr; keep the test output readable. */
	cr_assert_not_null(freopen("/dev/null", "w", stderr));
}

static void
teardown(void)
{
	log_set_file(NULL);
	nftw(test_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *
read_file(const char *path)
{
	FILE *file = fopen(path, "r");
	char *text = NULL;
	size_t size = 0;

	if (file == NULL)
		return NULL;
	if (getdelim(&text, &size, '\0', file) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(file);
	return text;
}

static size_t
count_lines(const char *text)
{
	size_t lines = 0;

	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	return lines;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, line_has_time_level_component)
{
	struct log_record record;
	char *text;

	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	log_warn("disk %s is %d%% full", "sda", 91);
	text = read_file(log_path);
	cr_assert_not_null(text);
	text[strcspn(text, "\n")] = '\0';

	cr_assert_eq(log_parse_line(text, &record), 0);
	cr_assert_eq(record.level, LOG_LEVEL_WARN);
	cr_assert_eq(record.component_length, strlen("tester"));
	cr_assert_eq(strncmp(record.component, "tester", record.component_length), 0);
	cr_assert_str_eq(record.message, "disk sda is 91% full");
	cr_assert_gt(record.time, 0);
	free(text);
}

Test(log, file_mode_is_0600)
{
	struct stat st;

	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	cr_assert_eq(stat(log_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(log, level_threshold_drops_lines)
{
	char *text;

	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	log_set_level(LOG_LEVEL_WARN);
	log_info("hidden");
	log_error("shown");
	text = read_file(log_path);
	cr_assert_null(strstr(text, "hidden"));
	cr_assert_not_null(strstr(text, "shown"));
	free(text);
}

Test(log, errno_preserved)
{
	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	errno = EXDEV;
	log_error("keeps errno");
	cr_assert_eq(errno, EXDEV);
}

Test(log, newline_in_message_replaced)
{
	char *text;

	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	log_info("first\nsecond");
	text = read_file(log_path);
	cr_assert_eq(count_lines(text), 1);
	cr_assert_not_null(strstr(text, "first second"));
	free(text);
}

Test(log, rotation_keeps_bounded_files)
{
	char path[PATH_MAX + 32];
	struct stat st;

	cr_assert_eq(log_open_file(log_path, 1000, 3), 0);
	for (int i = 0; i < 200; i++)
		log_info("line %03d with some padding to fill the file quickly", i);

	cr_assert_eq(stat(log_path, &st), 0);
	cr_assert_leq(st.st_size, 1000);
	for (int n = 1; n <= 3; n++) {
		snprintf(path, sizeof path, "%s.%d", log_path, n);
		cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
		cr_assert_leq(st.st_size, 1000);
	}
	snprintf(path, sizeof path, "%s.4", log_path);
	cr_assert_neq(stat(path, &st), 0);
}

Test(log, rotation_keeps_order)
{
	char path[PATH_MAX + 32];
	char *newest, *older;

	cr_assert_eq(log_open_file(log_path, 400, 2), 0);
	for (int i = 0; i < 12; i++)
		log_info("entry %02d padded to about eighty bytes .............", i);

	newest = read_file(log_path);
	snprintf(path, sizeof path, "%s.1", log_path);
	older = read_file(path);
	cr_assert_not_null(newest);
	cr_assert_not_null(older);
	cr_assert_not_null(strstr(newest, "entry 11"));
	cr_assert_null(strstr(older, "entry 11"));
	cr_assert_not_null(strstr(older, "entry"));
	cr_assert_null(strstr(newest, "entry 00"));
	free(newest);
	free(older);
}

Test(log, rotation_never_splits_lines)
{
	char path[PATH_MAX + 32];
	char *text;

	cr_assert_eq(log_open_file(log_path, 300, 5), 0);
	for (int i = 0; i < 30; i++)
		log_info("record %02d", i);
	for (int n = 0; n <= 5; n++) {
		struct log_record record;
		char *line, *save = NULL;

		if (n == 0)
			snprintf(path, sizeof path, "%s", log_path);
		else
			snprintf(path, sizeof path, "%s.%d", log_path, n);
		text = read_file(path);
		if (text == NULL)
			continue;
		for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
			cr_assert_eq(log_parse_line(line, &record), 0, "broken line in %s: %s", path, line);
		free(text);
	}
}

Test(log, reopen_appends)
{
	char *text;

	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	log_info("before");
	cr_assert_eq(log_open_file(log_path, 0, 0), 0);
	log_info("after");
	text = read_file(log_path);
	cr_assert_eq(count_lines(text), 2);
	free(text);
}

Test(log, open_missing_directory_fails)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/missing/cake.log", test_dir);
	cr_assert_eq(log_open_file(path, 0, 0), -1);
	cr_assert_eq(errno, ENOENT);
}

Test(log, parse_line_rejects_other_text)
{
	struct log_record record;

	cr_assert_eq(log_parse_line("Traceback (most recent call last):", &record), -1);
	cr_assert_eq(log_parse_line("2026-01-15T10:30:00.123Z LOUD  [x] y", &record), -1);
	cr_assert_eq(log_parse_line("2026-01-15T10:30:00Z INFO  [x] y", &record), -1);
	cr_assert_eq(log_parse_line("2026-01-15T10:30:00.123Z INFO  x y", &record), -1);
}

Test(log, parse_line_reads_time)
{
	struct log_record record;

	cr_assert_eq(log_parse_line("2024-01-15T10:30:00.250Z ERROR [recall_db] Connection timeout", &record), 0);
	cr_assert_eq(record.time, 1705314600);
	cr_assert_eq(record.milliseconds, 250);
	cr_assert_eq(record.level, LOG_LEVEL_ERROR);
	cr_assert_str_eq(record.message, "Connection timeout");
}

Test(log, duration_units)
{
	long seconds;

	cr_assert_eq(log_parse_duration("45s", &seconds), 0);
	cr_assert_eq(seconds, 45);
	cr_assert_eq(log_parse_duration("30m", &seconds), 0);
	cr_assert_eq(seconds, 1800);
	cr_assert_eq(log_parse_duration("1h", &seconds), 0);
	cr_assert_eq(seconds, 3600);
	cr_assert_eq(log_parse_duration("7d", &seconds), 0);
	cr_assert_eq(seconds, 604800);
}

Test(log, duration_rejects_invalid)
{
	long seconds;

	cr_assert_eq(log_parse_duration("1", &seconds), -1);
	cr_assert_eq(log_parse_duration("h", &seconds), -1);
	cr_assert_eq(log_parse_duration("-1h", &seconds), -1);
	cr_assert_eq(log_parse_duration("1w", &seconds), -1);
	cr_assert_eq(log_parse_duration("1hh", &seconds), -1);
	cr_assert_eq(log_parse_duration("99999999999d", &seconds), -1);
}

Test(log, since_forms)
{
	time_t since;

	cr_assert_eq(log_parse_since("1h", 1705314600, &since), 0);
	cr_assert_eq(since, 1705314600 - 3600);
	cr_assert_eq(log_parse_since("2024-01-15", 0, &since), 0);
	cr_assert_eq(since, 1705276800);
	cr_assert_eq(log_parse_since("2024-01-15T10:30:00Z", 0, &since), 0);
	cr_assert_eq(since, 1705314600);
	cr_assert_eq(log_parse_since("2024-01-15 10:30:00", 0, &since), 0);
	cr_assert_eq(since, 1705314600);
}

Test(log, since_rejects_invalid)
{
	time_t since;

	cr_assert_eq(log_parse_since("yesterday", 0, &since), -1);
	cr_assert_eq(log_parse_since("2024-13-45", 0, &since), -1);
	cr_assert_eq(log_parse_since("2024-01-15x", 0, &since), -1);
	cr_assert_eq(log_parse_since("", 0, &since), -1);
}

Test(log, level_names_parse)
{
	enum log_level level;

	cr_assert_eq(log_level_parse("warning", &level), 0);
	cr_assert_eq(level, LOG_LEVEL_WARN);
	cr_assert_eq(log_level_parse("ERROR", &level), 0);
	cr_assert_eq(level, LOG_LEVEL_ERROR);
	cr_assert_eq(log_level_parse("LOUD", &level), -1);
}
