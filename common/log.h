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
 * keeps its last lines. Logging never changes errno.
 */
#ifndef CAKE_LOG_H
#define CAKE_LOG_H

#include <stdio.h>

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
 * Also appends every line to FILE (the supervisor's log file). NULL stops it.
 * The caller keeps ownership of the stream.
 */
void log_set_file(FILE *file);

void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);

/* Logs under another component tag, for example "validator" or "controller". */
void log_at(enum log_level level, const char *component, const char *fmt, ...) LOG_PRINTF(3, 4);

/* Writes an already formatted line (without its newline) to stderr and the log file. */
void log_write_line(const char *line, size_t length);

/* Parses "DEBUG", "INFO", "WARN"/"WARNING" or "ERROR" (any case). Returns 0, or -1 if unknown. */
int log_level_parse(const char *text, enum log_level *out);
const char *log_level_name(enum log_level level);

#endif
