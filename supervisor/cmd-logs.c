/*
 * `cake logs`: prints, follows or exports the supervisor's log file
 * (logging.file) and its rotated copies, oldest first, filtered by time,
 * level and component.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"
#include "log.h"

#define LOG_READ_CHUNK 65536
#define LOG_LINE_LIMIT 65536		/* longer lines are split */
#define ROTATED_MAX 100			/* highest PATH.N looked for */
#define FOLLOW_POLL_MS 200

struct logs_options {
	const char *config_path;
	int follow;
	int export;
	time_t since;
	int has_since;
	enum log_level level;
	int has_level;
	const char *component;
	const char *format;
	const char *output;
};

struct log_sink;
typedef void (*log_emit_fn)(struct log_sink *sink, const char *line, const struct log_record *record);

/*
 * The destination of matching lines. A line that is not a log line (a
 * worker's crash report, say) belongs to the log line before it, so it is
 * shown only when that line is.
 */
struct log_sink {
	const struct logs_options *options;
	log_emit_fn emit;
	int current_matches;		/* the latest log line passed the filter */
	int seen_record;
	FILE *out;
	size_t emitted;
	struct json_object *pending;	/* export: the record still taking continuation lines */
};

/* Reads one file as lines; keeps an unterminated tail until more arrives. */
struct line_reader {
	int fd;
	char *buffer;
	size_t used;
};

static int
filter_matches(const struct logs_options *options, const struct log_record *record)
{
	if (options->has_since && record->time < options->since)
		return 0;
	if (options->has_level && record->level < options->level)
		return 0;
	if (options->component != NULL && (strlen(options->component) != record->component_length ||
	    strncmp(options->component, record->component, record->component_length) != 0))
		return 0;
	return 1;
}

static int
filtering(const struct logs_options *options)
{
	return options->has_since || options->has_level || options->component != NULL;
}

/* LINE is NUL-terminated and has no newline. */
static void
sink_line(struct log_sink *sink, const char *line)
{
	struct log_record record;

	if (log_parse_line(line, &record) == 0) {
		sink->seen_record = 1;
		sink->current_matches = filter_matches(sink->options, &record);
		if (sink->current_matches)
			sink->emit(sink, line, &record);
		return;
	}
	if (sink->seen_record ? sink->current_matches : !filtering(sink->options))
		sink->emit(sink, line, NULL);
}

static void
emit_text(struct log_sink *sink, const char *line, const struct log_record *record)
{
	fprintf(sink->out, "%s\n", line);
	sink->emitted++;
}

static void
export_flush(struct log_sink *sink)
{
	if (sink->pending == NULL)
		return;
	fprintf(sink->out, "%s  %s", sink->emitted > 0 ? ",\n" : "",
	    json_object_to_json_string_ext(sink->pending, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(sink->pending);
	sink->pending = NULL;
	sink->emitted++;
}

/* A continuation line is appended to the message of the record before it. */
static void
emit_json(struct log_sink *sink, const char *line, const struct log_record *record)
{
	struct json_object *object;
	char when[40], component[128];
	struct tm tm;

	if (record == NULL && sink->pending != NULL) {
		struct json_object *message;
		char *joined;

		json_object_object_get_ex(sink->pending, "message", &message);
		if (asprintf(&joined, "%s\n%s", json_object_get_string(message), line) >= 0) {
			json_object_object_add(sink->pending, "message", json_object_new_string(joined));
			free(joined);
		}
		return;
	}
	export_flush(sink);

	object = json_object_new_object();
	if (record != NULL) {
		gmtime_r(&record->time, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when + strlen(when), sizeof when - strlen(when), ".%03dZ", record->milliseconds);
		snprintf(component, sizeof component, "%.*s", (int)record->component_length, record->component);
		json_object_object_add(object, "time", json_object_new_string(when));
		json_object_object_add(object, "level", json_object_new_string(log_level_name(record->level)));
		json_object_object_add(object, "component", json_object_new_string(component));
		json_object_object_add(object, "message", json_object_new_string(record->message));
	} else {
		json_object_object_add(object, "time", NULL);
		json_object_object_add(object, "level", NULL);
		json_object_object_add(object, "component", NULL);
		json_object_object_add(object, "message", json_object_new_string(line));
	}
	sink->pending = object;
}

static int
reader_open(struct line_reader *reader, const char *path)
{
	reader->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (reader->fd < 0)
		return -1;
	reader->used = 0;
	if (reader->buffer == NULL)
		reader->buffer = malloc(LOG_LINE_LIMIT + LOG_READ_CHUNK + 1);
	if (reader->buffer == NULL) {
		close(reader->fd);
		reader->fd = -1;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Passes every complete line in the buffer to SINK and keeps the rest. */
static void
reader_drain_lines(struct line_reader *reader, struct log_sink *sink)
{
	char *start = reader->buffer;
	char *end = reader->buffer + reader->used;
	char *newline;

	while ((newline = memchr(start, '\n', (size_t)(end - start))) != NULL) {
		*newline = '\0';
		sink_line(sink, start);
		start = newline + 1;
	}
	reader->used = (size_t)(end - start);
	memmove(reader->buffer, start, reader->used);
	if (reader->used >= LOG_LINE_LIMIT) {
		reader->buffer[reader->used] = '\0';
		sink_line(sink, reader->buffer);
		reader->used = 0;
	}
}

/* Reads what the file has now. Returns the bytes read, or -1 with errno set. */
static ssize_t
reader_read_available(struct line_reader *reader, struct log_sink *sink)
{
	ssize_t total = 0, n;

	while ((n = read(reader->fd, reader->buffer + reader->used, LOG_READ_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		reader->used += (size_t)n;
		total += n;
		reader_drain_lines(reader, sink);
	}
	return total;
}

/* Ends the file: an unterminated last line still counts as a line. */
static void
reader_close(struct line_reader *reader, struct log_sink *sink)
{
	if (reader->used > 0) {
		reader->buffer[reader->used] = '\0';
		sink_line(sink, reader->buffer);
		reader->used = 0;
	}
	if (reader->fd >= 0)
		close(reader->fd);
	reader->fd = -1;
}

/* Returns the number of rotated files PATH.1, PATH.2, ... that exist, counting up from 1. */
static int
rotated_count(const char *path)
{
	char rotated[PATH_MAX + 16];
	struct stat st;
	int n;

	for (n = 1; n <= ROTATED_MAX; n++) {
		snprintf(rotated, sizeof rotated, "%s.%d", path, n);
		if (stat(rotated, &st) < 0)
			break;
	}
	return n - 1;
}

/*
 * Reads PATH.N down to PATH.1, then PATH. With FOLLOW, PATH stays open in
 * *CURRENT for the follow loop. Returns 0, or -1 after printing the error.
 */
static int
read_all(const char *path, struct log_sink *sink, struct line_reader *current, int follow)
{
	char rotated[PATH_MAX + 16];
	struct line_reader reader = { .fd = -1 };

	for (int n = rotated_count(path); n >= 1; n--) {
		snprintf(rotated, sizeof rotated, "%s.%d", path, n);
		if (reader_open(&reader, rotated) < 0) {
			if (errno == ENOENT)
				continue;
			cmd_error("cannot read %s: %s", rotated, strerror(errno));
			free(reader.buffer);
			return -1;
		}
		if (reader_read_available(&reader, sink) < 0)
			cmd_error("cannot read %s: %s", rotated, strerror(errno));
		reader_close(&reader, sink);
	}
	free(reader.buffer);

	current->fd = -1;
	if (reader_open(current, path) < 0) {
		if (errno == ENOENT && follow)
			return 0;
		if (errno == ENOENT) {
			cmd_error("no log file at %s; it is written while CAKE runs (logging.file)", path);
			return -1;
		}
		cmd_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (reader_read_available(current, sink) < 0) {
		cmd_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (!follow)
		reader_close(current, sink);
	return 0;
}

/*
 * Prints lines as they are appended to PATH until interrupted. When PATH is
 * replaced (rotated) or truncated, the rest of the old file is read and the
 * new PATH opened.
 */
static int
follow_file(const char *path, struct log_sink *sink, struct line_reader *current)
{
	struct timespec pause = { 0, FOLLOW_POLL_MS * 1000L * 1000L };
	struct stat open_st, path_st;

	for (;;) {
		fflush(sink->out);
		nanosleep(&pause, NULL);

		if (current->fd < 0) {
			if (reader_open(current, path) < 0) {
				if (errno != ENOENT) {
					cmd_error("cannot read %s: %s", path, strerror(errno));
					return -1;
				}
				continue;
			}
		}
		if (reader_read_available(current, sink) < 0) {
			cmd_error("cannot read %s: %s", path, strerror(errno));
			return -1;
		}

		if (stat(path, &path_st) < 0 || fstat(current->fd, &open_st) < 0)
			continue;
		if (path_st.st_ino != open_st.st_ino || path_st.st_dev != open_st.st_dev) {
			reader_close(current, sink);
			continue;
		}
		if (path_st.st_size < lseek(current->fd, 0, SEEK_CUR))
			lseek(current->fd, 0, SEEK_SET);
	}
}

/* Writes the export to a temporary file beside OUTPUT and renames it into place. */
static int
export_logs(const char *path, const char *output, struct log_sink *sink)
{
	struct line_reader current = { .fd = -1 };
	char temporary[PATH_MAX + 16];
	int fd, rc;

	if (snprintf(temporary, sizeof temporary, "%s.tmp.XXXXXX", output) >= (int)sizeof temporary) {
		cmd_error("--output path is too long: %s", output);
		return EXIT_USAGE;
	}
	fd = mkstemp(temporary);
	if (fd < 0) {
		cmd_error("cannot create %s: %s; check that the directory exists and is writable", temporary,
		    strerror(errno));
		return EXIT_FAILURE_STATUS;
	}
	sink->out = fdopen(fd, "w");
	if (sink->out == NULL) {
		cmd_error("cannot write %s: %s", temporary, strerror(errno));
		close(fd);
		unlink(temporary);
		return EXIT_FAILURE_STATUS;
	}

	fputs("[\n", sink->out);
	rc = read_all(path, sink, &current, 0);
	export_flush(sink);
	free(current.buffer);
	fputs(sink->emitted > 0 ? "\n]\n" : "]\n", sink->out);

	if (rc < 0 || fflush(sink->out) != 0 || fsync(fd) != 0) {
		if (rc == 0)
			cmd_error("cannot write %s: %s", temporary, strerror(errno));
		fclose(sink->out);
		unlink(temporary);
		return EXIT_FAILURE_STATUS;
	}
	fclose(sink->out);
	if (rename(temporary, output) < 0) {
		cmd_error("cannot rename %s to %s: %s", temporary, output, strerror(errno));
		unlink(temporary);
		return EXIT_FAILURE_STATUS;
	}
	fprintf(stderr, "Exported %zu log records to %s\n", sink->emitted, output);
	return EXIT_OK;
}

static void
logs_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake logs [--follow] [--since=WHEN] [--level=LEVEL] [--component=NAME] [--config=FILE]\n"
	    "       cake logs export --output=FILE [--format=json] [--since=WHEN] [--level=LEVEL]\n"
	    "                        [--component=NAME] [--config=FILE]\n"
	    "\n"
	    "Reads the log file named by logging.file and its rotated copies, oldest first.\n"
	    "\n"
	    "  --follow          keep printing lines as they are written, across rotations\n"
	    "  --since=WHEN      a duration back from now (30s, 15m, 1h, 7d), a date (2024-01-15,\n"
	    "                    UTC midnight) or a UTC time (2024-01-15T10:30:00Z)\n"
	    "  --level=LEVEL     DEBUG, INFO, WARN or ERROR: lines at this level or above\n"
	    "  --component=NAME  lines of one component, for example operator or controller\n"
	    "  --format=json     export format (json, the only one): an array of\n"
	    "                    {time, level, component, message}\n"
	    "  --output=FILE     export destination, written through a temporary file\n");
}

/* Returns EXIT_OK with OPTIONS filled, -1 for --help, or EXIT_USAGE after printing why. */
static int
parse_logs_options(int argc, char **argv, struct logs_options *options)
{
	static const struct option long_options[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ "level", required_argument, NULL, 'l' },
		{ "component", required_argument, NULL, 'C' },
		{ "format", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option;

	memset(options, 0, sizeof *options);
	options->format = "json";
	optind = 1;
	if (argc > 1 && strcmp(argv[1], "export") == 0) {
		options->export = 1;
		optind = 2;
	}
	while ((option = getopt_long(argc, argv, "fh", long_options, NULL)) != -1) {
		switch (option) {
		case 'f':
			options->follow = 1;
			break;
		case 's':
			if (log_parse_since(optarg, time(NULL), &options->since) < 0) {
				cmd_error("invalid --since '%s': expected a duration (30s, 15m, 1h, 7d), a date "
				    "(2024-01-15) or a UTC time (2024-01-15T10:30:00Z)", optarg);
				return EXIT_USAGE;
			}
			options->has_since = 1;
			break;
		case 'l':
			if (log_level_parse(optarg, &options->level) < 0) {
				cmd_error("invalid --level '%s': expected DEBUG, INFO, WARN or ERROR", optarg);
				return EXIT_USAGE;
			}
			options->has_level = 1;
			break;
		case 'C':
			options->component = optarg;
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
			logs_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cmd_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (options->export) {
		if (strcmp(options->format, "json") != 0) {
			cmd_error("invalid --format '%s': logs export writes json", options->format);
			return EXIT_USAGE;
		}
		if (options->output == NULL || options->output[0] == '\0') {
			cmd_error("missing --output=FILE for `cake logs export`");
			return EXIT_USAGE;
		}
		if (options->follow) {
			cmd_error("--follow cannot be used with `cake logs export`");
			return EXIT_USAGE;
		}
	} else if (options->output != NULL) {
		cmd_error("--output is for `cake logs export`");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
cmd_logs(int argc, char **argv)
{
	struct logs_options options;
	struct line_reader current = { .fd = -1 };
	struct cake_config config;
	struct log_sink sink;
	char home[PATH_MAX];
	int rc;

	rc = parse_logs_options(argc, argv, &options);
	if (rc == -1) {
		logs_usage(stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	rc = cmd_load_config(options.config_path, 0, &config, home, sizeof home);
	if (rc != EXIT_OK)
		return rc;

	memset(&sink, 0, sizeof sink);
	sink.options = &options;
	sink.out = stdout;
	if (options.export) {
		sink.emit = emit_json;
		rc = export_logs(config.log_file, options.output, &sink);
		config_free(&config);
		return rc;
	}

	sink.emit = emit_text;
	rc = read_all(config.log_file, &sink, &current, options.follow);
	if (rc == 0 && options.follow)
		rc = follow_file(config.log_file, &sink, &current);
	if (current.fd >= 0)
		close(current.fd);
	free(current.buffer);
	config_free(&config);
	return rc == 0 ? EXIT_OK : EXIT_FAILURE_STATUS;
}
