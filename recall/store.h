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

#include <sqlite3.h>

#include "proto.h"

struct store_migration {
	const char *version;	/* "001" */
	const char *name;	/* "001_initial_schema" */
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t store_migration_count;

struct store_counts {
	int occurrence_count;
	int intervention_count;
};

/*
 * Opens (creating if needed) the database at PATH with WAL mode and a busy
 * timeout. Creates the parent directory. Returns 0, or -1 with a message.
 */
int store_open(const char *path, sqlite3 **db, char *error, size_t error_size);

/*
 * Applies the pending migrations, printing one line per migration to OUT:
 * "INFO  [migration] Running upgrade 001 -> 002, Add indexes".
 * Returns the number applied, or -1 with a message (the failed migration is
 * rolled back; earlier ones stay).
 */
int store_upgrade(sqlite3 *db, FILE *out, char *error, size_t error_size);

/* Writes the current schema version ("002", or "" when none) to OUT. Returns 0 or -1. */
int store_version(sqlite3 *db, char *out, size_t size);

/*
 * Checks tables, columns, indexes and WAL mode, printing a line per check
 * and "Database verification PASSED" or "FAILED". Returns 0 when passed, 1
 * otherwise.
 */
int store_verify(sqlite3 *db, FILE *out);

/*
 * Records one occurrence of DETECTION's signature: inserts a row or bumps
 * occurrence_count and last_seen, and pushes expires_at to now + TTL_HOURS.
 * An expired row counts as new. Fills COUNTS. Returns 0, or -1 with a message.
 */
int store_record(sqlite3 *db, const struct msg_detection *detection, int ttl_hours,
    struct store_counts *counts, char *error, size_t error_size);

/* Counts one delivered intervention for SIGNATURE. Returns 0, or -1 with a message. */
int store_mark_intervention(sqlite3 *db, const char *signature, char *error, size_t error_size);

#endif
