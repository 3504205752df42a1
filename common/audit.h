/*
 * The audit log: $CAKE_HOME/audit.log, one JSON object per line, appended
 * and never rewritten.
 *
 * A line reads
 *   {"time":"2026-01-15T10:30:00.123Z","user":"dev","uid":1000,"pid":4242,
 *    "actor":"gate","action":"command","target":"rm -rf /","decision":"block",
 *    "details":"matches safety.blocked_commands"}
 * time is UTC with milliseconds; user, uid and pid identify the process that
 * appended the line; actor names the CAKE part that made the decision.
 *
 * Callers append when safety.audit_all_commands is true: every command gate
 * decision, and every command that changes state (config change, disabling
 * interventions, reset, restore). The file is created with mode 0600 and
 * each line is written with one write(2) on an O_APPEND descriptor, so lines
 * from concurrent processes never interleave.
 */
#ifndef CAKE_AUDIT_H
#define CAKE_AUDIT_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#define AUDIT_FILE_NAME "audit.log"

/* Longer target and details values are cut at a UTF-8 character boundary. */
#define AUDIT_TARGET_MAX 1024
#define AUDIT_DETAILS_MAX 2048

struct audit_entry {
	time_t time;			/* seconds since the epoch, UTC */
	int milliseconds;
	char user[64];
	long uid;
	long pid;
	char actor[64];
	char action[64];
	char target[AUDIT_TARGET_MAX];
	char decision[32];
	char details[AUDIT_DETAILS_MAX];
};

/*
 * Appends one entry to HOME/audit.log. ACTOR, ACTION and DECISION are
 * required single words such as "gate", "command" and "block"; TARGET and
 * DETAILS may be NULL. Returns 0, or -1 with errno set (EINVAL for a missing
 * required value).
 */
int audit_append(const char *home, const char *actor, const char *action, const char *target,
    const char *decision, const char *details);

/*
 * Calls VISIT for each entry of the audit log at PATH that is at or after
 * SINCE (0 for all), in file order. Lines that are not valid entries are
 * counted in *SKIPPED and left out. A missing file has no entries. Returns
 * 0, or -1 with errno set when the file cannot be read.
 */
int audit_read(const char *path, time_t since,
    void (*visit)(const struct audit_entry *entry, void *arg), void *arg, size_t *skipped);

/* Writes ENTRY's time as "2026-01-15T10:30:00.123Z" to OUT (at least 32 bytes). */
void audit_format_time(const struct audit_entry *entry, char *out, size_t size);

/*
 * Writes VALUE to OUT as one CSV field (RFC 4180): quoted, with quotes
 * doubled, when it contains a comma, a quote, CR or LF.
 */
void audit_write_csv_field(FILE *out, const char *value);

#endif
