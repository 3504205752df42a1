/*
 * Log lines for every CAKE process; see log.h for the format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

void
log_set_file(FILE *file)
{
	log_file = file;
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
