/*
 * The append-only audit log; see audit.h.
 */
#define _GNU_SOURCE
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "paths.h"

/* Large enough for a full entry with every value at its maximum, escaped. */
#define AUDIT_READ_LINE_MAX 65536

/* Copies VALUE into OUT, cut before a UTF-8 continuation byte so no character is split. */
static void
copy_utf8(char *out, size_t size, const char *value)
{
	size_t length = strlen(value);

	if (length >= size) {
		length = size - 1;
		while (length > 0 && ((unsigned char)value[length] & 0xC0) == 0x80)
			length--;
	}
	memcpy(out, value, length);
	out[length] = '\0';
}

static void
current_user(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "%ld", (long)getuid());
}

static struct json_object *
optional_string(const char *value, size_t max)
{
	char text[AUDIT_DETAILS_MAX];

	if (value == NULL)
		return NULL;
	copy_utf8(text, max < sizeof text ? max : sizeof text, value);
	return json_object_new_string(text);
}

/* Writes all of BUFFER with one write(2), retrying only on EINTR. */
static int
write_line(int fd, const char *buffer, size_t length)
{
	ssize_t n;

	do
		n = write(fd, buffer, length);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != length) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
audit_append(const char *home, const char *actor, const char *action, const char *target,
    const char *decision, const char *details)
{
	struct json_object *entry;
	struct timeval now;
	struct tm tm;
	char path[PATH_MAX], when[40], user[64];
	const char *text;
	char *line;
	size_t length;
	int fd, rc, saved_errno;

	if (home == NULL || actor == NULL || action == NULL || decision == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (paths_join(path, sizeof path, home, AUDIT_FILE_NAME) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}

	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof when - strlen(when), ".%03ldZ", (long)(now.tv_usec / 1000));
	current_user(user, sizeof user);

	entry = json_object_new_object();
	json_object_object_add(entry, "time", json_object_new_string(when));
	json_object_object_add(entry, "user", json_object_new_string(user));
	json_object_object_add(entry, "uid", json_object_new_int64((int64_t)getuid()));
	json_object_object_add(entry, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(entry, "actor", optional_string(actor, 64));
	json_object_object_add(entry, "action", optional_string(action, 64));
	json_object_object_add(entry, "target", optional_string(target, AUDIT_TARGET_MAX));
	json_object_object_add(entry, "decision", optional_string(decision, 32));
	json_object_object_add(entry, "details", optional_string(details, AUDIT_DETAILS_MAX));

	/* The plain format never contains a newline: json-c escapes them in strings. */
	text = json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	length = strlen(text);
	line = malloc(length + 2);
	if (line == NULL) {
		json_object_put(entry);
		errno = ENOMEM;
		return -1;
	}
	memcpy(line, text, length);
	line[length++] = '\n';
	json_object_put(entry);

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(line);
		return -1;
	}
	rc = write_line(fd, line, length);
	saved_errno = errno;
	close(fd);
	free(line);
	errno = saved_errno;
	return rc;
}

static int
copy_field(struct json_object *object, const char *key, char *out, size_t size, int required)
{
	struct json_object *value;

	out[0] = '\0';
	if (!json_object_object_get_ex(object, key, &value) || value == NULL)
		return required ? -1 : 0;
	if (!json_object_is_type(value, json_type_string))
		return -1;
	copy_utf8(out, size, json_object_get_string(value));
	return 0;
}

/* Parses "2026-01-15T10:30:00.123Z" (milliseconds optional). Returns 0 or -1. */
static int
parse_time(const char *text, time_t *seconds, int *milliseconds)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof tm);
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return -1;
	*milliseconds = 0;
	if (rest[0] == '.') {
		char *end;
		long ms = strtol(rest + 1, &end, 10);

		if (end != rest + 4 || ms < 0)
			return -1;
		*milliseconds = (int)ms;
		rest = end;
	}
	if (strcmp(rest, "Z") != 0)
		return -1;
	*seconds = timegm(&tm);
	return 0;
}

/* Fills ENTRY from one audit line. Returns 0, or -1 when the line is not an entry. */
static int
parse_entry(const char *line, struct audit_entry *entry)
{
	struct json_object *object = json_tokener_parse(line);
	struct json_object *value;
	char when[40];
	int rc = -1;

	if (object == NULL)
		return -1;
	if (!json_object_is_type(object, json_type_object))
		goto done;

	memset(entry, 0, sizeof *entry);
	if (copy_field(object, "time", when, sizeof when, 1) < 0 ||
	    parse_time(when, &entry->time, &entry->milliseconds) < 0)
		goto done;
	if (copy_field(object, "user", entry->user, sizeof entry->user, 1) < 0 ||
	    copy_field(object, "actor", entry->actor, sizeof entry->actor, 1) < 0 ||
	    copy_field(object, "action", entry->action, sizeof entry->action, 1) < 0 ||
	    copy_field(object, "target", entry->target, sizeof entry->target, 0) < 0 ||
	    copy_field(object, "decision", entry->decision, sizeof entry->decision, 1) < 0 ||
	    copy_field(object, "details", entry->details, sizeof entry->details, 0) < 0)
		goto done;
	if (json_object_object_get_ex(object, "uid", &value))
		entry->uid = (long)json_object_get_int64(value);
	if (json_object_object_get_ex(object, "pid", &value))
		entry->pid = (long)json_object_get_int64(value);
	rc = 0;

done:
	json_object_put(object);
	return rc;
}

int
audit_read(const char *path, time_t since,
    void (*visit)(const struct audit_entry *entry, void *arg), void *arg, size_t *skipped)
{
	struct audit_entry *entry;
	char *line = NULL;
	size_t capacity = 0;
	ssize_t length;
	FILE *file;

	*skipped = 0;
	file = fopen(path, "re");
	if (file == NULL)
		return errno == ENOENT ? 0 : -1;
	entry = malloc(sizeof *entry);
	if (entry == NULL) {
		fclose(file);
		errno = ENOMEM;
		return -1;
	}

	while ((length = getline(&line, &capacity, file)) != -1) {
		if (length > 0 && line[length - 1] == '\n')
			line[--length] = '\0';
		if (length == 0)
			continue;
		if (length > AUDIT_READ_LINE_MAX || parse_entry(line, entry) < 0) {
			(*skipped)++;
			continue;
		}
		if (entry->time >= since)
			visit(entry, arg);
	}

	free(line);
	free(entry);
	fclose(file);
	return 0;
}

void
audit_format_time(const struct audit_entry *entry, char *out, size_t size)
{
	struct tm tm;
	size_t used;

	gmtime_r(&entry->time, &tm);
	used = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + used, size - used, ".%03dZ", entry->milliseconds);
}

void
audit_write_csv_field(FILE *out, const char *value)
{
	if (strpbrk(value, ",\"\r\n") == NULL) {
		fputs(value, out);
		return;
	}
	fputc('"', out);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}
