/*
 * `cake audit`: shows and exports the audit log ($CAKE_HOME/audit.log), and
 * `cake security check`: file modes, the user, audit settings, directory
 * permissions and the linked library versions.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "audit.h"
#include "cmd.h"
#include "log.h"
#include "paths.h"

#define MARK_PASS "\xe2\x9c\x93"	/* U+2713 CHECK MARK */
#define MARK_FAIL "\xe2\x9c\x97"	/* U+2717 BALLOT X */

#define AUDIT_LAST_DEFAULT 20
#define AUDIT_LAST_MAX 100000
#define WORLD_WRITABLE_SHOWN 5

/* ---- cake audit ---- */

struct audit_options {
	const char *config_path;
	int export;
	long last;
	time_t since;
	const char *format;
	const char *output;
};

/* The newest LAST entries, kept in a ring while the file is read. */
struct audit_tail {
	struct audit_entry *entries;
	size_t capacity;
	size_t count;			/* entries seen */
};

static void
tail_visit(const struct audit_entry *entry, void *arg)
{
	struct audit_tail *tail = arg;

	tail->entries[tail->count % tail->capacity] = *entry;
	tail->count++;
}

static void
print_entry(const struct audit_entry *entry)
{
	char when[40];

	audit_format_time(entry, when, sizeof when);
	printf("%s  %s(%ld) pid %ld  %s %s  %s", when, entry->user, entry->uid, entry->pid, entry->actor,
	    entry->action, entry->decision);
	if (entry->target[0] != '\0')
		printf("  %s", entry->target);
	if (entry->details[0] != '\0')
		printf("  (%s)", entry->details);
	putchar('\n');
}

static int
audit_show(const char *path, long last)
{
	struct audit_tail tail;
	size_t skipped, first, shown;

	tail.capacity = (size_t)last;
	tail.count = 0;
	tail.entries = calloc(tail.capacity, sizeof *tail.entries);
	if (tail.entries == NULL) {
		cmd_error("out of memory for --last=%ld; pass a smaller number", last);
		return EXIT_INTERNAL;
	}
	if (audit_read(path, 0, tail_visit, &tail, &skipped) < 0) {
		cmd_error("cannot read %s: %s", path, strerror(errno));
		free(tail.entries);
		return EXIT_FAILURE_STATUS;
	}

	if (tail.count == 0)
		printf("No audit entries in %s\n", path);
	shown = tail.count < tail.capacity ? tail.count : tail.capacity;
	first = tail.count - shown;
	for (size_t i = 0; i < shown; i++)
		print_entry(&tail.entries[(first + i) % tail.capacity]);
	if (skipped > 0)
		fprintf(stderr, "cake: skipped %zu lines of %s that are not audit entries\n", skipped, path);
	free(tail.entries);
	return EXIT_OK;
}

struct audit_writer {
	FILE *out;
	int csv;
	size_t count;
};

static void
csv_row(FILE *out, const char *const fields[], size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			fputc(',', out);
		audit_write_csv_field(out, fields[i]);
	}
	fputs("\r\n", out);
}

static void
export_visit(const struct audit_entry *entry, void *arg)
{
	struct audit_writer *writer = arg;
	char when[40], uid[24], pid[24];

	audit_format_time(entry, when, sizeof when);
	snprintf(uid, sizeof uid, "%ld", entry->uid);
	snprintf(pid, sizeof pid, "%ld", entry->pid);
	if (writer->csv) {
		const char *const fields[] = { when, entry->user, uid, pid, entry->actor, entry->action,
			entry->target, entry->decision, entry->details };

		csv_row(writer->out, fields, sizeof fields / sizeof fields[0]);
	} else {
		struct json_object *object = json_object_new_object();

		json_object_object_add(object, "time", json_object_new_string(when));
		json_object_object_add(object, "user", json_object_new_string(entry->user));
		json_object_object_add(object, "uid", json_object_new_int64(entry->uid));
		json_object_object_add(object, "pid", json_object_new_int64(entry->pid));
		json_object_object_add(object, "actor", json_object_new_string(entry->actor));
		json_object_object_add(object, "action", json_object_new_string(entry->action));
		json_object_object_add(object, "target", json_object_new_string(entry->target));
		json_object_object_add(object, "decision", json_object_new_string(entry->decision));
		json_object_object_add(object, "details", json_object_new_string(entry->details));
		fprintf(writer->out, "%s  %s", writer->count > 0 ? ",\n" : "",
		    json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(object);
	}
	writer->count++;
}

/* Writes the export to a temporary file beside OUTPUT and renames it into place. */
static int
audit_export(const char *path, const struct audit_options *options)
{
	static const char *const header[] = { "time", "user", "uid", "pid", "actor", "action", "target",
		"decision", "details" };
	struct audit_writer writer;
	char temporary[PATH_MAX + 16];
	size_t skipped;
	int fd, rc;

	if (snprintf(temporary, sizeof temporary, "%s.tmp.XXXXXX", options->output) >= (int)sizeof temporary) {
		cmd_error("--output path is too long: %s", options->output);
		return EXIT_USAGE;
	}
	fd = mkstemp(temporary);
	if (fd < 0) {
		cmd_error("cannot create %s: %s; check that the directory exists and is writable", temporary,
		    strerror(errno));
		return EXIT_FAILURE_STATUS;
	}
	writer.out = fdopen(fd, "w");
	writer.csv = strcmp(options->format, "csv") == 0;
	writer.count = 0;
	if (writer.out == NULL) {
		cmd_error("cannot write %s: %s", temporary, strerror(errno));
		close(fd);
		unlink(temporary);
		return EXIT_FAILURE_STATUS;
	}

	if (writer.csv)
		csv_row(writer.out, header, sizeof header / sizeof header[0]);
	else
		fputs("[\n", writer.out);
	rc = audit_read(path, options->since, export_visit, &writer, &skipped);
	if (rc < 0)
		cmd_error("cannot read %s: %s", path, strerror(errno));
	if (!writer.csv)
		fputs(writer.count > 0 ? "\n]\n" : "]\n", writer.out);

	if (rc < 0 || fflush(writer.out) != 0 || fsync(fd) != 0) {
		if (rc == 0)
			cmd_error("cannot write %s: %s", temporary, strerror(errno));
		fclose(writer.out);
		unlink(temporary);
		return EXIT_FAILURE_STATUS;
	}
	fclose(writer.out);
	if (rename(temporary, options->output) < 0) {
		cmd_error("cannot rename %s to %s: %s", temporary, options->output, strerror(errno));
		unlink(temporary);
		return EXIT_FAILURE_STATUS;
	}
	if (skipped > 0)
		fprintf(stderr, "cake: skipped %zu lines of %s that are not audit entries\n", skipped, path);
	fprintf(stderr, "Exported %zu audit entries to %s\n", writer.count, options->output);
	return EXIT_OK;
}

static void
audit_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake audit [--last=N] [--config=FILE]\n"
	    "       cake audit export --output=FILE [--format=csv|json] [--since=WHEN] [--config=FILE]\n"
	    "\n"
	    "Shows or exports $CAKE_HOME/" AUDIT_FILE_NAME ", written when safety.audit_all_commands is true.\n"
	    "\n"
	    "  --last=N       show the newest N entries (default %d)\n"
	    "  --format=FMT   csv (the default; RFC 4180 quoting) or json\n"
	    "  --since=WHEN   entries at or after a date (2024-01-01), a UTC time\n"
	    "                 (2024-01-01T00:00:00Z) or a duration back from now (7d)\n"
	    "  --output=FILE  export destination, written through a temporary file\n", AUDIT_LAST_DEFAULT);
}

static int
parse_audit_options(int argc, char **argv, struct audit_options *options)
{
	static const struct option long_options[] = {
		{ "last", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option, has_last = 0;
	char *end;

	memset(options, 0, sizeof *options);
	options->last = AUDIT_LAST_DEFAULT;
	options->format = "csv";
	optind = 1;
	if (argc > 1 && strcmp(argv[1], "export") == 0) {
		options->export = 1;
		optind = 2;
	}
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 'n':
			errno = 0;
			options->last = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || options->last < 1 ||
			    options->last > AUDIT_LAST_MAX) {
				cmd_error("invalid --last '%s': expected a number from 1 to %d", optarg, AUDIT_LAST_MAX);
				return EXIT_USAGE;
			}
			has_last = 1;
			break;
		case 's':
			if (log_parse_since(optarg, time(NULL), &options->since) < 0) {
				cmd_error("invalid --since '%s': expected a date (2024-01-01), a UTC time "
				    "(2024-01-01T00:00:00Z) or a duration (7d, 12h)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			options->format = optarg;
			break;
		case 'o':
			options->output = optarg;
			break;
		case 'c':
			options->config_path = optarg;
			break;
		case 'h':
			return -1;
		default:
			audit_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cmd_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!options->export) {
		if (options->output != NULL || options->since != 0) {
			cmd_error("--output and --since are for `cake audit export`");
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	if (has_last) {
		cmd_error("--last is for `cake audit`; use --since with export");
		return EXIT_USAGE;
	}
	if (strcmp(options->format, "csv") != 0 && strcmp(options->format, "json") != 0) {
		cmd_error("invalid --format '%s': expected csv or json", options->format);
		return EXIT_USAGE;
	}
	if (options->output == NULL || options->output[0] == '\0') {
		cmd_error("missing --output=FILE for `cake audit export`");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
cmd_audit(int argc, char **argv)
{
	struct audit_options options;
	struct cake_config config;
	char home[PATH_MAX], path[PATH_MAX];
	int rc;

	rc = parse_audit_options(argc, argv, &options);
	if (rc == -1) {
		audit_usage(stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	rc = cmd_load_config(options.config_path, 0, &config, home, sizeof home);
	if (rc != EXIT_OK)
		return rc;
	if (paths_join(path, sizeof path, home, AUDIT_FILE_NAME) < 0) {
		cmd_error("CAKE_HOME %s is too long", home);
		config_free(&config);
		return EXIT_USAGE;
	}
	if (!config.audit_all_commands)
		fprintf(stderr, "cake: audit logging is off (safety.audit_all_commands: false); "
		    "no new entries are written\n");

	rc = options.export ? audit_export(path, &options) : audit_show(path, options.last);
	config_free(&config);
	return rc;
}

/* ---- cake security check ---- */

struct security_check {
	int failed;
	char world_writable[WORLD_WRITABLE_SHOWN][PATH_MAX];
	size_t world_writable_count;
};

/* nftw() passes no user argument, so the walk reports into this. */
static struct security_check *walk_check;

static void
check_line(struct security_check *check, int passed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
check_line(struct security_check *check, int passed, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", passed ? MARK_PASS : MARK_FAIL);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!passed)
		check->failed = 1;
}

/* Passes when PATH is missing, or has no group or other permission bits. */
static void
check_mode(struct security_check *check, const char *label, const char *path, const char *missing)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			check_line(check, 1, "%s: %s", label, missing);
		else
			check_line(check, 0, "%s: cannot stat %s: %s", label, path, strerror(errno));
		return;
	}
	if ((st.st_mode & 077) != 0)
		check_line(check, 0, "%s: %03o (%s); run chmod 600 %s", label, st.st_mode & 0777, path, path);
	else
		check_line(check, 1, "%s: %03o", label, st.st_mode & 0777);
}

static int
walk_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_D || (st->st_mode & S_IWOTH) == 0)
		return 0;
	if (walk_check->world_writable_count < WORLD_WRITABLE_SHOWN)
		snprintf(walk_check->world_writable[walk_check->world_writable_count], PATH_MAX, "%s", path);
	walk_check->world_writable_count++;
	return 0;
}

static void
check_directories(struct security_check *check, const char *home)
{
	walk_check = check;
	check->world_writable_count = 0;
	if (nftw(home, walk_entry, 16, FTW_PHYS) < 0 && errno != ENOENT) {
		check_line(check, 0, "Directory permissions: cannot walk %s: %s", home, strerror(errno));
		return;
	}
	if (check->world_writable_count == 0) {
		check_line(check, 1, "No world-writable directories");
		return;
	}
	check_line(check, 0, "%zu world-writable directories in %s; run chmod o-w on each:",
	    check->world_writable_count, home);
	for (size_t i = 0; i < check->world_writable_count && i < WORLD_WRITABLE_SHOWN; i++)
		printf("    %s\n", check->world_writable[i]);
}

/*
 * The oldest library versions CAKE supports: those of Debian 12, which CI
 * builds and tests against. Older versions are untested.
 */
struct library_version {
	const char *name;
	char version[64];
	const char *minimum;
};

/* Compares dotted version strings by number ("2.1.12-stable" reads as 2.1.12). */
static int
version_compare(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		char *end_a, *end_b;
		long x = strtol(a, &end_a, 10);
		long y = strtol(b, &end_b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (end_a == a && end_b == b)
			break;
		a = *end_a == '.' ? end_a + 1 : end_a + strlen(end_a);
		b = *end_b == '.' ? end_b + 1 : end_b + strlen(end_b);
	}
	return 0;
}

/*
 * Reads the versions of the libgit2 and libarchive that the dynamic linker
 * resolves, by opening them by SONAME. cake does not link them at start,
 * so that short-lived commands do not load their dependencies; see
 * CMakeLists.txt. A library that cannot be opened reads "not found".
 */
static void
loaded_library_versions(char *git2, size_t git2_size, char *archive, size_t archive_size)
{
	void (*git_version)(int *, int *, int *);
	int (*archive_number)(void);
	void *handle;

	snprintf(git2, git2_size, "not found");
	handle = dlopen(CAKE_LIBGIT2_SONAME, RTLD_LAZY | RTLD_LOCAL);
	if (handle != NULL) {
		*(void **)&git_version = dlsym(handle, "git_libgit2_version");
		if (git_version != NULL) {
			int major, minor, revision;

			git_version(&major, &minor, &revision);
			snprintf(git2, git2_size, "%d.%d.%d", major, minor, revision);
		}
		dlclose(handle);
	}

	snprintf(archive, archive_size, "not found");
	handle = dlopen(CAKE_LIBARCHIVE_SONAME, RTLD_LAZY | RTLD_LOCAL);
	if (handle != NULL) {
		*(void **)&archive_number = dlsym(handle, "archive_version_number");
		if (archive_number != NULL) {
			int number = archive_number();

			snprintf(archive, archive_size, "%d.%d.%d", number / 1000000, number / 1000 % 1000,
			    number % 1000);
		}
		dlclose(handle);
	}
}

static void
check_libraries(struct security_check *check)
{
	struct library_version libraries[] = {
		{ "sqlite3", "", "3.40.0" },
		{ "libevent", "", "2.1.12" },
		{ "json-c", "", "0.16" },
		{ "libgit2", "", "1.5.0" },
		{ "libarchive", "", "3.6.2" },
		{ "pcre2", "", "10.42" },
	};
	size_t count = sizeof libraries / sizeof libraries[0];
	int old = 0;

	snprintf(libraries[0].version, sizeof libraries[0].version, "%s", sqlite3_libversion());
	snprintf(libraries[1].version, sizeof libraries[1].version, "%s", event_get_version());
	snprintf(libraries[2].version, sizeof libraries[2].version, "%s", json_c_version());
	loaded_library_versions(libraries[3].version, sizeof libraries[3].version,
	    libraries[4].version, sizeof libraries[4].version);
	pcre2_config(PCRE2_CONFIG_VERSION, libraries[5].version);
	libraries[5].version[strcspn(libraries[5].version, " ")] = '\0';

	for (size_t i = 0; i < count; i++)
		old += version_compare(libraries[i].version, libraries[i].minimum) < 0;
	check_line(check, old == 0, old == 0 ? "Dependencies at or above their minimum versions" :
	    "Dependencies below their minimum versions; upgrade the libraries marked below");
	for (size_t i = 0; i < count; i++)
		printf("    %-10s %-16s minimum %s%s\n", libraries[i].name, libraries[i].version, libraries[i].minimum,
		    version_compare(libraries[i].version, libraries[i].minimum) < 0 ? "  (too old)" : "");
}

static void
security_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake security check [--config=FILE]\n"
	    "\n"
	    "Checks the modes of the config, database, log and audit files (600), that CAKE\n"
	    "does not run as root, that safety.audit_all_commands is on, that no directory in\n"
	    "CAKE_HOME is world-writable, and the versions of the linked libraries.\n"
	    "Exits 0 when every check passes and 1 otherwise.\n");
}

int
cmd_security(int argc, char **argv)
{
	struct security_check check;
	struct cake_config config;
	char home[PATH_MAX], audit_path[PATH_MAX];
	const char *config_path = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		security_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "check") != 0) {
		cmd_error("unknown security subcommand '%s': expected check", argv[1]);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) == 0 && argv[i][9] != '\0') {
			config_path = argv[i] + 9;
		} else {
			cmd_error("unknown option '%s' for `cake security check`", argv[i]);
			security_usage(stderr);
			return EXIT_USAGE;
		}
	}

	rc = cmd_load_config(config_path, 0, &config, home, sizeof home);
	if (rc != EXIT_OK)
		return rc;
	if (paths_join(audit_path, sizeof audit_path, home, AUDIT_FILE_NAME) < 0) {
		cmd_error("CAKE_HOME %s is too long", home);
		config_free(&config);
		return EXIT_USAGE;
	}

	memset(&check, 0, sizeof check);
	printf("Security Check Results:\n");
	if (config.source[0] != '\0')
		check_mode(&check, "Config file permissions", config.source, "");
	else
		check_line(&check, 1, "Config file permissions: no config file (built-in defaults)");
	check_mode(&check, "Database file permissions", config.database_path, "no database yet");
	check_mode(&check, "Log file permissions", config.log_file, "no log file yet");
	check_mode(&check, "Audit log permissions", audit_path, "no audit log yet");
	if (geteuid() == 0)
		check_line(&check, 0, "Running as root (uid 0); run CAKE as an unprivileged user");
	else
		check_line(&check, 1, "Running as non-root user");
	if (config.audit_all_commands)
		check_line(&check, 1, "Audit logging enabled");
	else
		check_line(&check, 0, "Audit logging disabled; set safety.audit_all_commands: true");
	check_directories(&check, home);
	check_libraries(&check);

	printf("Security check %s\n", check.failed ? "FAILED" : "PASSED");
	config_free(&config);
	return check.failed ? EXIT_FAILURE_STATUS : EXIT_OK;
}
