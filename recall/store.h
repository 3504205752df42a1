/*
 * recall.db: migrations, verification and the error memory.
 *
 * Migrations come from schema/NNN_name.sql, compiled into the binary (see
 * packaging/embed-schema.cmake). Each runs in its own transaction and records
 * its version in schema_version, so running the upgrade again changes nothing.
 * The database uses WAL mode and a busy timeout.
 */
#ifndef CAKE_STORE_H
#define CAKE_STORE_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

#include "proto.h"

struct store_migration {
	const char *version;	/* "001" */
	const char *name;	/* "001_initial_schema" */
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_migration_count;

/* Return values of the functions that write; see each function. */
#define STORE_ERROR (-1)	/* the database failed; the message says how */
#define STORE_INVALID (-2)	/* the input was rejected and nothing was written */

struct store_counts {
	int occurrence_count;
	int intervention_count;
	int duplicate;		/* 1 when the message id was already recorded */
};

/* One call of store_record_at. */
struct store_record_request {
	uint64_t message_id;	/* 0 records without the duplicate check */
	const struct msg_detection *detection;
	int ttl_hours;		/* the row expires this long after NOW */
	time_t now;
	int occurrences;	/* occurrences to add, at least 1 */
	int interventions;	/* interventions to add, usually 0 */
};

/* A recent, unexpired error_memory row, for store_find_similar. */
struct store_similar {
	char signature[SIGNATURE_HEX_LEN + 1];
	char file_path[DETECTION_TEXT_MAX];	/* "" when the row has none */
	int occurrence_count;
	int intervention_count;
	time_t last_seen;
};

/*
 * Opens (creating if needed) the database at PATH with WAL mode,
 * synchronous=NORMAL, temp_store=MEMORY and a 5 s busy timeout. Creates
 * the parent directory. Returns 0, or -1 with a message.
 */
int store_open(const char *path, sqlite3 **db, char *error, size_t error_size);

/*
 * Finalizes every statement still prepared on DB, then closes it. The
 * functions from store_record on keep their prepared statements on the
 * connection between calls, and sqlite3_close fails while one remains, so a
 * connection that called them must be closed with store_close. DB may be
 * NULL.
 */
void store_close(sqlite3 *db);

/*
 * Applies the pending migrations, printing one line per migration to OUT:
 * "INFO  [migration] Running upgrade 001 -> 002, Add indexes".
 * Returns the number applied, or -1 with a message (the failed migration is
 * rolled back; earlier ones stay).
 */
int store_upgrade(sqlite3 *db, FILE *out, char *error, size_t error_size);

/* Returns the version of the newest migration built in ("003"). */
const char *store_latest_version(void);

/* Writes the current schema version ("002", or "" when none) to OUT. Returns 0 or -1. */
int store_version(sqlite3 *db, char *out, size_t size);

/*
 * Checks tables, columns, indexes and WAL mode, printing a line per check
 * and "Database verification PASSED" or "FAILED". Returns 0 when passed, 1
 * otherwise.
 */
int store_verify(sqlite3 *db, FILE *out);

/*
 * Records one occurrence of DETECTION's signature at time(NULL), without
 * the duplicate check: store_record_at with message id 0, one occurrence
 * and no intervention.
 */
int store_record(sqlite3 *db, const struct msg_detection *detection, int ttl_hours,
    struct store_counts *counts, char *error, size_t error_size);

/*
 * Adds REQUEST's occurrences and interventions to the row of its signature,
 * inserting the row if needed, and pushes expires_at to now + TTL. A row
 * that expired at or before NOW starts again from zero. The descriptive
 * columns take the newest detection's values.
 *
 * When message_id is not 0 and processed_messages already contains the same
 * message id, signature and arrived_ns, nothing changes and COUNTS gets the
 * counts returned the first time, with duplicate set. Otherwise the message
 * is remembered there in the same transaction.
 *
 * Retries with backoff while the database is busy or locked. Returns 0,
 * STORE_ERROR or STORE_INVALID, with a message.
 */
int store_record_at(sqlite3 *db, const struct store_record_request *request,
    struct store_counts *counts, char *error, size_t error_size);

/*
 * Reads the counts of SIGNATURE's row unless it expired at or before NOW.
 * Returns 1 when found, 0 when missing or expired, STORE_ERROR on failure.
 */
int store_lookup(sqlite3 *db, const char *signature, time_t now, struct store_counts *counts,
    char *error, size_t error_size);

/*
 * Fills OUT with up to MAX unexpired rows of ERROR_TYPE, newest first: rows
 * of FILE_PATH before rows of other files (FILE_PATH may be NULL or "").
 * Returns the number filled, or STORE_ERROR with a message.
 */
int store_find_similar(sqlite3 *db, const char *error_type, const char *file_path, time_t now,
    struct store_similar *out, size_t max, char *error, size_t error_size);

/*
 * Counts one delivered intervention for SIGNATURE's unexpired row. Returns
 * 0, STORE_ERROR, or STORE_INVALID when no such row exists.
 */
int store_mark_intervention(sqlite3 *db, const char *signature, char *error, size_t error_size);

/*
 * Inserts a pattern_violations row. PREVENTED is 1 when CAKE stopped the
 * action and 0 when it only logged it. Returns 0, STORE_ERROR or
 * STORE_INVALID (empty pattern type, PREVENTED not 0 or 1).
 */
int store_record_violation(sqlite3 *db, const char *pattern_type, const char *details,
    int prevented, time_t now, char *error, size_t error_size);

/*
 * Deletes the error_memory rows that expired at or before NOW and sets
 * *REMOVED to their number. Also keeps only the newest STORE_PROCESSED_KEEP
 * rows of processed_messages. pattern_violations is an audit log and is
 * kept. Returns 0 or STORE_ERROR.
 */
int store_cleanup(sqlite3 *db, time_t now, int *removed, char *error, size_t error_size);

/*
 * Copies the WAL into the database file as far as no reader prevents it
 * (a passive checkpoint), for a connection that turned automatic
 * checkpoints off. A busy database is not an error. Returns 0 or
 * STORE_ERROR.
 */
int store_checkpoint(sqlite3 *db, char *error, size_t error_size);

/* Rows of processed_messages kept by store_cleanup. */
#define STORE_PROCESSED_KEEP 4096

#endif
