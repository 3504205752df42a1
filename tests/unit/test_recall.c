/*
 * The recall worker's logic on real SQLite files: duplicate messages, TTL,
 * and the fallback to memory while the database is unusable, then the
 * return to disk.
 */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "recall/recall.h"
#include "recall/store.h"
#include "signature.h"

static char temp_dir[64];
static char state_dir[PATH_MAX - 16];
static char db_path[PATH_MAX];

static void
setup(void)
{
	snprintf(temp_dir, sizeof temp_dir, "/tmp/cake-test-recall-XXXXXX");
	cr_assert_not_null(mkdtemp(temp_dir));
	snprintf(state_dir, sizeof state_dir, "%s/state", temp_dir);
	snprintf(db_path, sizeof db_path, "%s/recall.db", state_dir);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	chmod(path, 0700);
	return remove(path);
}

static void
teardown(void)
{
	chmod(state_dir, 0700);
	nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(recall, .init = setup, .fini = teardown);

static void
make_detection(struct msg_detection *detection, char digit, uint64_t arrived_ns)
{
	memset(detection, 0, sizeof *detection);
	snprintf(detection->rule_id, sizeof detection->rule_id, "python.module_not_found");
	snprintf(detection->error_type, sizeof detection->error_type, "ImportError");
	memset(detection->signature, digit, SIGNATURE_HEX_LEN);
	snprintf(detection->file_path, sizeof detection->file_path, "app.py");
	detection->severity = SEVERITY_HIGH;
	detection->signature_version = SIGNATURE_VERSION;
	detection->arrived_ns = arrived_ns;
}

static struct recall *
connected_recall(void)
{
	struct recall *recall = recall_create(db_path, 24);

	cr_assert_not_null(recall);
	cr_assert_eq(recall_connect(recall), 1);
	return recall;
}

static struct msg_recall_result
record(struct recall *recall, uint64_t id, char digit, uint64_t arrived_ns, time_t now)
{
	struct msg_detection detection;
	struct msg_recall_result result;

	make_detection(&detection, digit, arrived_ns);
	recall_record(recall, id, &detection, now, &result);
	return result;
}

/* Reads one integer from the database with a separate connection. */
static long long
query_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	long long value;

	cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s: no row", sql);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return value;
}

static void
write_file(const char *path, const char *text)
{
	FILE *file = fopen(path, "w");

	cr_assert_not_null(file, "cannot write %s", path);
	fputs(text, file);
	cr_assert_eq(fclose(file), 0);
}

/* Moves the WAL content into the database file. */
static void
checkpoint(void)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Removes recall.db-wal and recall.db-shm, as replacing the database by hand would. */
static void
remove_wal_files(void)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof path, "%s-wal", db_path);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", db_path);
	unlink(path);
}

static const char garbage[] =
    "these bytes are no SQLite database, and they fill more than one header of it\n";

Test(recall, records_on_disk)
{
	struct recall *recall = connected_recall();
	struct msg_recall_result result;

	result = record(recall, 1, 'a', 100, 1000);
	cr_assert_eq(result.stored, 1);
	cr_assert_eq(result.occurrence_count, 1);
	result = record(recall, 2, 'a', 200, 1001);
	cr_assert_eq(result.occurrence_count, 2);
	recall_free(recall);

	cr_assert_eq(query_int("SELECT occurrence_count FROM error_memory"), 2);
}

Test(recall, upgrades_old_schema)
{
	struct recall *recall;
	sqlite3 *db;
	char error[512];

	cr_assert_eq(store_open(db_path, &db, error, sizeof error), 0, "%s", error);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE schema_version (version TEXT PRIMARY KEY,"
	    " name TEXT NOT NULL, applied_at INTEGER NOT NULL)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	recall = connected_recall();
	recall_free(recall);
	cr_assert_eq(query_int("SELECT count(*) FROM schema_version"), 3);
}

Test(recall, resent_message_not_counted)
{
	struct recall *recall = connected_recall();
	struct msg_recall_result result;

	record(recall, 5, 'b', 500, 1000);
	result = record(recall, 5, 'b', 500, 1001);
	cr_assert_eq(result.stored, 1);
	cr_assert_eq(result.occurrence_count, 1);
	recall_free(recall);

	/* A replacement worker has no memory of message 5; the database has. */
	recall = connected_recall();
	result = record(recall, 5, 'b', 500, 1002);
	cr_assert_eq(result.occurrence_count, 1);
	result = record(recall, 6, 'b', 600, 1003);
	cr_assert_eq(result.occurrence_count, 2);
	recall_free(recall);

	cr_assert_eq(query_int("SELECT occurrence_count FROM error_memory"), 2);
}

Test(recall, resent_in_memory_not_counted)
{
	struct recall *recall = recall_create(db_path, 24);
	struct msg_recall_result result;

	/* A regular file where the state directory should be. */
	write_file(state_dir, "not a directory\n");
	cr_assert_eq(recall_connect(recall), 0);

	record(recall, 9, 'c', 900, 1000);
	result = record(recall, 9, 'c', 900, 1001);
	cr_assert_eq(result.stored, 0);
	cr_assert_eq(result.occurrence_count, 1);
	recall_free(recall);
}

Test(recall, expired_counts_as_new)
{
	struct recall *recall = recall_create(db_path, 1);
	struct msg_recall_result result;

	cr_assert_eq(recall_connect(recall), 1);
	record(recall, 1, 'd', 1, 1000);
	record(recall, 2, 'd', 2, 1100);
	result = record(recall, 3, 'd', 3, 1100 + 3600);

	cr_assert_eq(result.occurrence_count, 1);
	recall_free(recall);
}

Test(recall, cleanup_removes_expired)
{
	struct recall *recall = recall_create(db_path, 1);

	cr_assert_eq(recall_connect(recall), 1);
	record(recall, 1, 'e', 1, 1000);
	record(recall, 2, 'f', 2, 2000);

	cr_assert_eq(recall_cleanup(recall, 1000 + 3600), 1);
	cr_assert_eq(query_int("SELECT count(*) FROM error_memory"), 1);
	cr_assert_eq(recall_cleanup(recall, 2000 + 3600), 1);
	cr_assert_eq(query_int("SELECT count(*) FROM error_memory"), 0);
	recall_free(recall);
}

Test(recall, similar_counted)
{
	struct recall *recall = connected_recall();
	struct msg_recall_result result;

	record(recall, 1, '1', 1, 1000);
	record(recall, 2, '2', 2, 1001);
	result = record(recall, 3, '3', 3, 1002);
	cr_assert_eq(result.similar_count, 2);
	result = record(recall, 4, '3', 4, 1003);
	cr_assert_eq(result.similar_count, 2);
	recall_free(recall);
}

Test(recall, garbage_file_then_restore)
{
	struct recall *recall = connected_recall();
	struct msg_recall_result result;
	char saved[PATH_MAX + 8];
	time_t now = time(NULL);

	record(recall, 1, 'a', 1, now);
	checkpoint();
	snprintf(saved, sizeof saved, "%s.saved", db_path);
	cr_assert_eq(rename(db_path, saved), 0);
	remove_wal_files();
	write_file(db_path, garbage);

	result = record(recall, 2, 'a', 2, now);
	cr_assert_eq(result.stored, 0);
	cr_assert_eq(recall_on_disk(recall), 0);
	result = record(recall, 3, 'a', 3, now);
	cr_assert_eq(result.occurrence_count, 2, "memory counts from zero");
	cr_assert_eq(recall_connect(recall), 0, "garbage is not a database");

	cr_assert_eq(rename(saved, db_path), 0);
	cr_assert_eq(recall_connect(recall), 1);
	recall_free(recall);

	cr_assert_eq(query_int("SELECT occurrence_count FROM error_memory"), 3);
}

Test(recall, deleted_directory_recreated)
{
	struct recall *recall = connected_recall();
	struct msg_detection detection;
	struct msg_recall_result result;
	char command[PATH_MAX + 16];
	time_t now = time(NULL);

	record(recall, 1, 'b', 1, now);
	snprintf(command, sizeof command, "rm -rf '%s'", state_dir);
	cr_assert_eq(system(command), 0);

	make_detection(&detection, 'b', 2);
	recall_record(recall, 2, &detection, now, &result);
	cr_assert_eq(result.stored, 0);
	recall_intervened(recall, detection.signature, now);

	cr_assert_eq(recall_connect(recall), 1);
	recall_free(recall);
	cr_assert_eq(query_int("SELECT occurrence_count FROM error_memory"), 1);
	cr_assert_eq(query_int("SELECT intervention_count FROM error_memory"), 1);
}

Test(recall, not_a_directory_then_restore)
{
	struct recall *recall = recall_create(db_path, 24);
	struct msg_recall_result result;
	time_t now = time(NULL);

	write_file(state_dir, "not a directory\n");
	cr_assert_eq(recall_connect(recall), 0);
	record(recall, 1, 'c', 1, now);
	result = record(recall, 2, 'c', 2, now);
	cr_assert_eq(result.stored, 0);
	cr_assert_eq(result.occurrence_count, 2);

	cr_assert_eq(unlink(state_dir), 0);
	cr_assert_eq(recall_connect(recall), 1);
	result = record(recall, 3, 'c', 3, now);
	cr_assert_eq(result.stored, 1);
	cr_assert_eq(result.occurrence_count, 3);
	recall_free(recall);
}

Test(recall, unreadable_directory_then_restore)
{
	struct recall *recall;
	struct msg_recall_result result;
	time_t now = time(NULL);

	if (geteuid() == 0)
		cr_skip_test("root ignores directory permissions");
	cr_assert_eq(mkdir(state_dir, 0700), 0);
	cr_assert_eq(chmod(state_dir, 0), 0);

	recall = recall_create(db_path, 24);
	cr_assert_eq(recall_connect(recall), 0);
	result = record(recall, 1, 'd', 1, now);
	cr_assert_eq(result.stored, 0);

	cr_assert_eq(chmod(state_dir, 0700), 0);
	cr_assert_eq(recall_connect(recall), 1);
	recall_free(recall);
	cr_assert_eq(query_int("SELECT occurrence_count FROM error_memory"), 1);
}

Test(recall, locked_database_then_released)
{
	struct recall *recall = connected_recall();
	struct msg_recall_result result;
	sqlite3 *other;
	char error[512];
	time_t now = time(NULL);

	record(recall, 1, 'e', 1, now);
	cr_assert_eq(store_open(db_path, &other, error, sizeof error), 0, "%s", error);
	cr_assert_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	result = record(recall, 2, 'e', 2, now);
	cr_assert_eq(result.stored, 0);
	cr_assert_eq(recall_connect(recall), 0, "the counts in memory cannot be written yet");
	cr_assert_eq(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	cr_assert_eq(recall_connect(recall), 1);

	result = record(recall, 3, 'e', 3, now);
	cr_assert_eq(result.stored, 1);
	cr_assert_eq(result.occurrence_count, 3);
	recall_free(recall);
}

Test(recall, violation_kept_until_disk)
{
	struct recall *recall = recall_create(db_path, 24);
	struct msg_violation violation;

	memset(&violation, 0, sizeof violation);
	snprintf(violation.pattern_type, sizeof violation.pattern_type, "escalation");
	snprintf(violation.details, sizeof violation.details, "strikes exhausted");
	violation.prevented = 1;

	write_file(state_dir, "not a directory\n");
	cr_assert_eq(recall_connect(recall), 0);
	recall_violation(recall, &violation, 1234);

	cr_assert_eq(unlink(state_dir), 0);
	cr_assert_eq(recall_connect(recall), 1);
	recall_violation(recall, &violation, 1240);
	recall_free(recall);

	cr_assert_eq(query_int("SELECT count(*) FROM pattern_violations"), 2);
	cr_assert_eq(query_int("SELECT min(timestamp) FROM pattern_violations"), 1234);
	cr_assert_eq(query_int("SELECT sum(prevented) FROM pattern_violations"), 2);
}

Test(recall, intervention_counted)
{
	struct recall *recall = connected_recall();
	struct msg_detection detection;
	struct msg_recall_result result;

	make_detection(&detection, 'f', 1);
	recall_record(recall, 1, &detection, time(NULL), &result);
	recall_intervened(recall, detection.signature, time(NULL));
	result = record(recall, 2, 'f', 2, time(NULL));

	cr_assert_eq(result.intervention_count, 1);
	recall_free(recall);
}
