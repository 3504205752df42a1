/*
 * Log lines for every CAKE process; see log.h for the format.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 8192

static char log_role[32] = "cake";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static FILE *log_file;

/* The file opened by log_open_file(), with its rotation settings. */
static struct {
	int fd;
	char path[PATH_MAX];
	size_t size;			/* bytes in the current file */
	size_t max_bytes;		/* 0: never rotate */
	int keep;
	int rotate_failed;		/* reported once, until a rotation succeeds */
} log_output = { .fd = -1 };

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void
log_init(const char *role, enum log_level level)
{
	snprintf(log_role, sizeof log_role, "%s", role);
	log_threshold = level;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level
log_get_level(void)
{
	return log_threshold;
}

static void
log_output_close(void)
{
	if (log_output.fd >= 0)
		close(log_output.fd);
	log_output.fd = -1;
	log_output.path[0] = '\0';
}

void
log_set_file(FILE *file)
{
	log_file = file;
	if (file == NULL)
		log_output_close();
}

static int
open_append(const char *path, size_t *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		int saved_errno = errno;

		close(fd);
		errno = saved_errno;
		return -1;
	}
	*size = (size_t)st.st_size;
	return fd;
}

int
log_open_file(const char *path, size_t max_bytes, int keep)
{
	size_t size;
	int fd;

	if (strlen(path) + 8 > sizeof log_output.path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open_append(path, &size);
	if (fd < 0)
		return -1;
	/* A file created earlier with a looser mode is tightened too. */
	fchmod(fd, 0600);

	log_output_close();
	log_output.fd = fd;
	snprintf(log_output.path, sizeof log_output.path, "%s", path);
	log_output.size = size;
	log_output.max_bytes = max_bytes;
	log_output.keep = keep < 0 ? 0 : keep;
	log_output.rotate_failed = 0;
	return 0;
}

/*
 * Shifts PATH.N to PATH.N+1 (dropping PATH.KEEP), moves PATH to PATH.1 and
 * opens a new PATH. On failure the current file stays open.
 */
static int
log_rotate(void)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	size_t size;
	int fd;

	if (log_output.keep == 0) {
		if (unlink(log_output.path) < 0 && errno != ENOENT)
			return -1;
	} else {
		snprintf(to, sizeof to, "%s.%d", log_output.path, log_output.keep);
		if (unlink(to) < 0 && errno != ENOENT)
			return -1;
		for (int n = log_output.keep - 1; n >= 1; n--) {
			snprintf(from, sizeof from, "%s.%d", log_output.path, n);
			snprintf(to, sizeof to, "%s.%d", log_output.path, n + 1);
			if (rename(from, to) < 0 && errno != ENOENT)
				return -1;
		}
		snprintf(to, sizeof to, "%s.1", log_output.path);
		if (rename(log_output.path, to) < 0)
			return -1;
	}

	fd = open_append(log_output.path, &size);
	if (fd < 0)
		return -1;
	close(log_output.fd);
	log_output.fd = fd;
	log_output.size = size;
	return 0;
}

/* Appends LINE and its newline to the rotating log file in one write. */
static void
log_output_write(const char *line, size_t length)
{
	char buffer[LOG_LINE_MAX + 1];
	ssize_t n;

	if (length > LOG_LINE_MAX)
		length = LOG_LINE_MAX;
	memcpy(buffer, line, length);
	buffer[length++] = '\n';

	if (log_output.max_bytes > 0 && log_output.size > 0 &&
	    log_output.size + length > log_output.max_bytes) {
		if (log_rotate() == 0) {
			log_output.rotate_failed = 0;
		} else if (!log_output.rotate_failed) {
			log_output.rotate_failed = 1;
			fprintf(stderr, "cannot rotate the log file %s: %s; it grows past logging.max_size_mb until a rotation succeeds\n",
			    log_output.path, strerror(errno));
		}
	}

	n = write(log_output.fd, buffer, length);
	if (n > 0)
		log_output.size += (size_t)n;
}

void
log_write_line(const char *line, size_t length)
{
	int saved_errno = errno;

	fprintf(stderr, "%.*s\n", (int)length, line);
	fflush(stderr);
	if (log_file != NULL) {
		fprintf(log_file, "%.*s\n", (int)length, line);
		fflush(log_file);
	}
	if (log_output.fd >= 0)
		log_output_write(line, length);

	errno = saved_errno;
}

static void
log_vwrite(enum log_level level, const char *component, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timeval now;
	struct tm tm;
	size_t used;
	int n;

	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	used = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + used, sizeof line - used, ".%03ldZ %-5s [%s] ",
	    (long)(now.tv_usec / 1000), level_names[level], component);
	if (n < 0)
		return;
	used += (size_t)n;

	n = vsnprintf(line + used, sizeof line - used, fmt, ap);
	if (n < 0)
		return;
	used += (size_t)n;
	if (used >= sizeof line)
		used = sizeof line - 1;

	/* A message never spans lines, so every log line parses alone. */
	for (size_t i = 0; i < used; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	log_write_line(line, used);
}

#define LOG_BODY(level, component)				\
	do {							\
		int saved_errno = errno;			\
		va_list ap;					\
		if ((level) < log_threshold)			\
			return;					\
		va_start(ap, fmt);				\
		log_vwrite((level), (component), fmt, ap);	\
		va_end(ap);					\
		errno = saved_errno;				\
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, log_role);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, log_role);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, log_role);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, log_role);
}

void
log_at(enum log_level level, const char *component, const char *fmt, ...)
{
	LOG_BODY(level, component);
}

int
log_level_parse(const char *text, enum log_level *out)
{
	if (strcasecmp(text, "DEBUG") == 0)
		*out = LOG_LEVEL_DEBUG;
	else if (strcasecmp(text, "INFO") == 0)
		*out = LOG_LEVEL_INFO;
	else if (strcasecmp(text, "WARN") == 0 || strcasecmp(text, "WARNING") == 0)
		*out = LOG_LEVEL_WARN;
	else if (strcasecmp(text, "ERROR") == 0)
		*out = LOG_LEVEL_ERROR;
	else
		return -1;
	return 0;
}

const char *
log_level_name(enum log_level level)
{
	if (level < LOG_LEVEL_DEBUG || level > LOG_LEVEL_ERROR)
		return "UNKNOWN";
	return level_names[level];
}

/* Returns the level named by the five-character field at TEXT ("INFO ", "ERROR"). */
static int
parse_level_field(const char *text, enum log_level *out)
{
	char name[6];
	size_t length = 0;

	while (length < 5 && text[length] != ' ' && text[length] != '\0') {
		name[length] = text[length];
		length++;
	}
	name[length] = '\0';
	for (size_t i = length; i < 5; i++) {
		if (text[i] != ' ')
			return -1;
	}
	for (int level = LOG_LEVEL_DEBUG; level <= LOG_LEVEL_ERROR; level++) {
		if (strcmp(name, level_names[level]) == 0) {
			*out = (enum log_level)level;
			return 0;
		}
	}
	return -1;
}

int
log_parse_line(const char *line, struct log_record *out)
{
	struct tm tm;
	const char *p, *close;
	char *end;
	long ms;

	memset(&tm, 0, sizeof tm);
	p = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL || p[0] != '.')
		return -1;
	ms = strtol(p + 1, &end, 10);
	if (end != p + 4 || ms < 0 || ms > 999 || end[0] != 'Z' || end[1] != ' ')
		return -1;
	p = end + 2;

	if (parse_level_field(p, &out->level) < 0 || p[5] != ' ' || p[6] != '[')
		return -1;
	p += 7;
	close = strchr(p, ']');
	if (close == NULL || close[1] != ' ')
		return -1;

	out->time = timegm(&tm);
	out->milliseconds = (int)ms;
	out->component = p;
	out->component_length = (size_t)(close - p);
	out->message = close + 2;
	return 0;
}

int
log_parse_duration(const char *text, long *seconds)
{
	char *end;
	long amount, unit;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	amount = strtol(text, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0')
		return -1;

	switch (end[0]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	/* Durations are capped at INT32_MAX seconds (about 68 years), so no arithmetic overflows. */
	if (amount > (long)(INT32_MAX / unit))
		return -1;
	*seconds = amount * unit;
	return 0;
}

int
log_parse_since(const char *text, time_t now, time_t *out)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d",
	};
	struct tm tm;
	long seconds;

	if (log_parse_duration(text, &seconds) == 0) {
		*out = now - (time_t)seconds;
		return 0;
	}
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		const char *rest;

		memset(&tm, 0, sizeof tm);
		rest = strptime(text, formats[i], &tm);
		if (rest != NULL && rest[0] == '\0') {
			*out = timegm(&tm);
			return 0;
		}
	}
	return -1;
}
