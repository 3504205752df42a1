/*
 * Logging for every CAKE process.
 *
 * A line reads "2026-12-04T19:44:52.123Z INFO  [controller] message": UTC
 * time with milliseconds, the level padded to five characters, the component
 * in brackets, then the message. The component is the process role set by
 * log_init() unless a call names another one (log_at()).
 *
 * Lines go to stderr. The supervisor reads its workers' stderr and copies
 * their lines to its own stderr and to the log file, so a worker that crashes
 * keeps its last lines. Logging never changes errno. A file opened with
 * log_open_file() receives each line in one write(2) on an O_APPEND
 * descriptor.
 */
#ifndef CAKE_LOG_H
#define CAKE_LOG_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_WARN = 2,
	LOG_LEVEL_ERROR = 3,
};

#define LOG_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Sets the component tag for this process and the lowest level written. */
void log_init(const char *role, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/*
 * Also appends every line to FILE. NULL stops it, and also closes a file
 * opened by log_open_file(). The caller keeps ownership of FILE.
 */
void log_set_file(FILE *file);

/* Rotated files kept beside the log file (PATH.1 to PATH.5) unless a caller asks otherwise. */
#define LOG_KEEP_DEFAULT 5

/*
 * Opens PATH (created with mode 0600, appended to) as the log file, in place
 * of any previous one. Before a line would take the file past MAX_BYTES, the
 * file is rotated: PATH.KEEP is removed, PATH.N becomes PATH.N+1, PATH becomes
 * PATH.1 and a new PATH is opened. MAX_BYTES 0 turns rotation off; KEEP 0
 * truncates by removing PATH instead. A failed rotation is reported on stderr
 * once and writing goes on in the current file. Returns 0, or -1 with errno
 * set and the previous log file still in use.
 */
int log_open_file(const char *path, size_t max_bytes, int keep);

void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);

/* Logs under another component tag, for example "validator" or "controller". */
void log_at(enum log_level level, const char *component, const char *fmt, ...) LOG_PRINTF(3, 4);

/* Writes an already formatted line (without its newline) to stderr and the log file. */
void log_write_line(const char *line, size_t length);

/* The parts of one log line, as log_parse_line() finds them. */
struct log_record {
	time_t time;			/* UTC seconds */
	int milliseconds;
	enum log_level level;
	const char *component;		/* points into the line; not terminated */
	size_t component_length;
	const char *message;		/* the rest of the line */
};

/*
 * Splits LINE (no newline) written in the format above. Returns 0, or -1
 * when LINE is not a log line, such as a crash report a worker printed
 * without the log API.
 */
int log_parse_line(const char *line, struct log_record *out);

/*
 * Parses a duration: a whole number followed by s, m, h or d ("90s", "1h").
 * Returns 0 with the length in *SECONDS, or -1 when TEXT is not a duration.
 */
int log_parse_duration(const char *text, long *seconds);

/*
 * Parses a --since value: a duration back from NOW ("45s", "30m", "1h",
 * "7d"), a date ("2024-01-15", midnight UTC) or a UTC time
 * ("2024-01-15T10:30:00Z", "2024-01-15 10:30:00"). Returns 0, or -1 when
 * TEXT is none of these.
 */
int log_parse_since(const char *text, time_t now, time_t *out);

/* Parses "DEBUG", "INFO", "WARN"/"WARNING" or "ERROR" (any case). Returns 0, or -1 if unknown. */
int log_level_parse(const char *text, enum log_level *out);
const char *log_level_name(enum log_level level);

#endif
