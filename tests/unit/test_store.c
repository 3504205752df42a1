/*
 * recall.db: migrations, verification and the error memory, on real SQLite
 * files in a temporary directory.
 */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "recall/store.h"
#include "signature.h"

#define UPGRADE_OUTPUT \
	"INFO  [migration] Running upgrade  -> 001, Initial schema\n" \
	"INFO  [migration] Running upgrade 001 -> 002, Add indexes\n" \
	"INFO  [migration] Running upgrade 002 -> 003, Processed messages and type indexes\n"

#define VERIFY_PASSED_OUTPUT \
	"Checking database structure...\n" \
	"\u2713 error_memory table exists (14 columns)\n" \
	"\u2713 pattern_violations table exists (5 columns)\n" \
	"\u2713 processed_messages table exists (6 columns)\n" \
	"\u2713 Indexes created (idx_signature, idx_expires, idx_type_file_seen," \
	" idx_type_seen)\n" \
	"\u2713 WAL mode enabled\n" \
	"\u2713 Schema version 003 (latest)\n" \
	"Database verification PASSED\n"

/* SQL that takes an upgraded database back to schema version 002. */
#define UNDO_003 \
	"DROP TABLE processed_messages; DROP INDEX idx_type_file_seen; DROP INDEX idx_type_seen;" \
	" DELETE FROM schema_version WHERE version = '003';"

static char temp_dir[64];
static char db_path[PATH_MAX];

/* Output captured from store_upgrade or store_verify. */
struct capture {
	FILE *out;
	char *text;
	size_t length;
};

static void
setup(void)
{
	snprintf(temp_dir, sizeof temp_dir, "/tmp/cake-test-store-XXXXXX");
	cr_assert_not_null(mkdtemp(temp_dir));
	snprintf(db_path, sizeof db_path, "%s/home/state/recall.db", temp_dir);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown);

static void
capture_start(struct capture *capture)
{
	capture->text = NULL;
	capture->length = 0;
	capture->out = open_memstream(&capture->text, &capture->length);
	cr_assert_not_null(capture->out);
}

/* Closes the stream, after which capture->text contains everything written. */
static void
capture_end(struct capture *capture)
{
	cr_assert_eq(fclose(capture->out), 0);
	capture->out = NULL;
}

static sqlite3 *
open_store(void)
{
	sqlite3 *db;
	char error[512];

	cr_assert_eq(store_open(db_path, &db, error, sizeof error), 0, "store_open: %s", error);
	return db;
}

static sqlite3 *
open_upgraded(void)
{
	struct capture capture;
	sqlite3 *db = open_store();
	char error[512];

	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), 3, "store_upgrade: %s",
	    error);
	capture_end(&capture);
	free(capture.text);
	return db;
}

/* Opens the database file without store_open, so nothing is repaired. */
static sqlite3 *
open_raw(void)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char *message = NULL;

	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &message), SQLITE_OK, "%s: %s", sql,
	    message != NULL ? message : "");
}

static sqlite3_int64
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	sqlite3_int64 value;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s: no row", sql);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

static int
query_is_null(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int is_null;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s: no row", sql);
	is_null = sqlite3_column_type(stmt, 0) == SQLITE_NULL;
	sqlite3_finalize(stmt);
	return is_null;
}

static void
query_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *stmt;
	const char *text;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s: no row", sql);
	text = (const char *)sqlite3_column_text(stmt, 0);
	snprintf(out, size, "%s", text != NULL ? text : "(null)");
	sqlite3_finalize(stmt);
}

/* Fills DETECTION with an ImportError whose signature is 64 copies of DIGIT. */
static void
make_detection(struct msg_detection *detection, char digit)
{
	memset(detection, 0, sizeof *detection);
	snprintf(detection->rule_id, sizeof detection->rule_id, "python.module_not_found");
	snprintf(detection->error_type, sizeof detection->error_type, "ImportError");
	memset(detection->signature, digit, SIGNATURE_HEX_LEN);
	snprintf(detection->file_path, sizeof detection->file_path, "app/main.py");
	detection->severity = SEVERITY_HIGH;
	detection->line_number = 3;
	detection->signature_version = SIGNATURE_VERSION;
}

static struct store_counts
record(sqlite3 *db, const struct msg_detection *detection, int ttl_hours)
{
	struct store_counts counts = { -1, -1, -1 };
	char error[512];

	cr_assert_eq(store_record(db, detection, ttl_hours, &counts, error, sizeof error), 0,
	    "store_record: %s", error);
	return counts;
}

static void
verify(sqlite3 *db, int expected_status, struct capture *capture)
{
	capture_start(capture);
	cr_assert_eq(store_verify(db, capture->out), expected_status);
	capture_end(capture);
}

static void
assert_contains(const char *text, const char *line)
{
	cr_assert_not_null(strstr(text, line), "expected \"%s\" in:\n%s", line, text);
}

Test(store, upgrade_fresh_applies_all)
{
	struct capture capture;
	sqlite3 *db = open_store();
	char error[512];

	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), 3, "%s", error);
	capture_end(&capture);

	cr_assert_str_eq(capture.text, UPGRADE_OUTPUT);
	free(capture.text);
	store_close(db);
}

Test(store, upgrade_again_applies_none)
{
	struct msg_detection detection;
	struct capture capture;
	sqlite3 *db = open_upgraded();
	char error[512];

	make_detection(&detection, 'a');
	record(db, &detection, 24);
	store_close(db);

	db = open_store();
	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), 0, "%s", error);
	capture_end(&capture);

	cr_assert_str_eq(capture.text, "");
	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 1);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM schema_version"), 3);
	free(capture.text);
	store_close(db);
}

Test(store, version_before_and_after)
{
	sqlite3 *db = open_store();
	char version[16];

	cr_assert_eq(store_version(db, version, sizeof version), 0);
	cr_assert_str_eq(version, "");
	store_close(db);

	db = open_upgraded();
	cr_assert_eq(store_version(db, version, sizeof version), 0);
	cr_assert_str_eq(version, "003");
	store_close(db);
}

Test(store, schema_column_counts)
{
	sqlite3 *db = open_upgraded();

	cr_assert_eq(query_int(db, "SELECT count(*) FROM pragma_table_info('error_memory')"), 14);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM pragma_table_info('pattern_violations')"), 5);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM pragma_table_info('processed_messages')"), 6);
	store_close(db);
}

Test(store, upgrade_failure_rolls_back)
{
	struct capture capture;
	sqlite3 *db = open_store();
	char error[512] = "";
	char version[16];

	/* Migration 001 creates error_memory, then fails on this table. */
	exec_sql(db, "CREATE TABLE pattern_violations (x INTEGER)");

	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), -1);
	capture_end(&capture);

	assert_contains(error, "001_initial_schema");
	assert_contains(error, "pattern_violations");
	cr_assert_str_eq(capture.text, "INFO  [migration] Running upgrade  -> 001, Initial schema\n");
	cr_assert_eq(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'error_memory'"), 0);
	cr_assert_eq(store_version(db, version, sizeof version), 0);
	cr_assert_str_eq(version, "");
	free(capture.text);
	store_close(db);
}

Test(store, upgrade_failure_keeps_earlier)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();
	char error[512] = "";
	char version[16];

	/* Back to version 002, with a table taking the name of the last index of 003. */
	exec_sql(db, UNDO_003 " CREATE TABLE idx_type_seen (x INTEGER)");

	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), -1);
	capture_end(&capture);

	assert_contains(error, "003_processed_messages_and_type_indexes");
	cr_assert_str_eq(capture.text, "INFO  [migration] Running upgrade 002 -> 003,"
	    " Processed messages and type indexes\n");
	cr_assert_eq(query_int(db, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'processed_messages'"), 0);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'idx_signature'"), 1);
	cr_assert_eq(store_version(db, version, sizeof version), 0);
	cr_assert_str_eq(version, "002");
	free(capture.text);
	store_close(db);
}

Test(store, upgrade_rejects_newer_database)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();
	char error[512] = "";

	exec_sql(db, "INSERT INTO schema_version VALUES ('999', '999_future', 0)");

	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), -1);
	capture_end(&capture);

	assert_contains(error, "999 is newer");
	cr_assert_str_eq(capture.text, "");
	free(capture.text);
	store_close(db);
}

Test(store, verify_passes_after_upgrade)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	verify(db, 0, &capture);

	cr_assert_str_eq(capture.text, VERIFY_PASSED_OUTPUT);
	free(capture.text);
	store_close(db);
}

Test(store, verify_dropped_index)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	exec_sql(db, "DROP INDEX idx_expires");
	verify(db, 1, &capture);

	assert_contains(capture.text, "\u2717 Index idx_expires missing although schema version 003"
	    " is recorded; move the database aside and run `cake db upgrade`\n");
	assert_contains(capture.text, "\u2713 error_memory table exists (14 columns)\n");
	cr_assert_null(strstr(capture.text, "Indexes created"));
	assert_contains(capture.text, "Database verification FAILED\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_missing_table)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	exec_sql(db, "DROP TABLE pattern_violations");
	verify(db, 1, &capture);

	assert_contains(capture.text, "\u2717 pattern_violations table missing although schema"
	    " version 003 is recorded; move the database aside and run `cake db upgrade`\n");
	assert_contains(capture.text, "Database verification FAILED\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_missing_column)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	exec_sql(db, "ALTER TABLE error_memory DROP COLUMN severity");
	verify(db, 1, &capture);

	assert_contains(capture.text,
	    "\u2717 error_memory has 13 columns, expected 14 (missing: severity)\n");
	assert_contains(capture.text, "Database verification FAILED\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_unexpected_column)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	exec_sql(db, "ALTER TABLE pattern_violations ADD COLUMN source TEXT");
	verify(db, 1, &capture);

	assert_contains(capture.text,
	    "\u2717 pattern_violations has 6 columns, expected 5 (unexpected: source)\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_journal_mode_delete)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();
	char mode[16];

	store_close(db);
	db = open_raw();
	query_text(db, "PRAGMA journal_mode = DELETE", mode, sizeof mode);
	cr_assert_str_eq(mode, "delete");

	verify(db, 1, &capture);

	assert_contains(capture.text, "\u2717 WAL mode disabled (journal_mode=delete)\n");
	assert_contains(capture.text, "Database verification FAILED\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_old_version)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	exec_sql(db, UNDO_003);
	verify(db, 1, &capture);

	assert_contains(capture.text,
	    "\u2717 processed_messages table missing; run `cake db upgrade`\n");
	assert_contains(capture.text, "\u2717 Indexes idx_type_file_seen, idx_type_seen missing;"
	    " run `cake db upgrade`\n");
	assert_contains(capture.text,
	    "\u2717 Schema version 002, latest is 003; run `cake db upgrade`\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_newer_version)
{
	struct capture capture;
	sqlite3 *db = open_upgraded();

	exec_sql(db, "INSERT INTO schema_version VALUES ('999', '999_future', 0);"
	    " DROP INDEX idx_expires");
	verify(db, 1, &capture);

	assert_contains(capture.text,
	    "\u2717 Index idx_expires missing; the database is from a newer cake\n");
	assert_contains(capture.text,
	    "\u2717 Schema version 999 is newer than this cake supports (003); use a newer cake\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_empty_database)
{
	struct capture capture;
	sqlite3 *db = open_store();

	verify(db, 1, &capture);

	assert_contains(capture.text, "\u2717 error_memory table missing; run `cake db upgrade`\n");
	assert_contains(capture.text, "\u2717 Indexes idx_signature, idx_expires, idx_type_file_seen,"
	    " idx_type_seen missing; run `cake db upgrade`\n");
	assert_contains(capture.text, "\u2717 No schema version recorded; run `cake db upgrade`\n");
	assert_contains(capture.text, "Database verification FAILED\n");
	free(capture.text);
	store_close(db);
}

Test(store, verify_not_a_database)
{
	struct capture capture;
	sqlite3 *db;
	FILE *file;

	snprintf(db_path, sizeof db_path, "%s/garbage.db", temp_dir);
	file = fopen(db_path, "w");
	cr_assert_not_null(file);
	fputs("this is not an SQLite database, only some text long enough to fill a header\n", file);
	fclose(file);

	db = open_raw();
	verify(db, 1, &capture);

	assert_contains(capture.text, "file is not a database");
	assert_contains(capture.text, "Database verification FAILED\n");
	free(capture.text);
	store_close(db);
}

Test(store, open_creates_private_file)
{
	struct stat st;
	char wal_path[PATH_MAX + 8];
	sqlite3 *db = open_upgraded();

	cr_assert_eq(stat(db_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", (unsigned)(st.st_mode & 0777));

	snprintf(wal_path, sizeof wal_path, "%s-wal", db_path);
	cr_assert_eq(stat(wal_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "-wal mode %o", (unsigned)(st.st_mode & 0777));
	store_close(db);
}

Test(store, open_enables_wal)
{
	sqlite3 *db = open_store();
	char mode[16];

	query_text(db, "PRAGMA journal_mode", mode, sizeof mode);
	cr_assert_str_eq(mode, "wal");
	cr_assert_eq(query_int(db, "PRAGMA foreign_keys"), 1);
	store_close(db);
}

Test(store, open_error_names_path)
{
	sqlite3 *db = (sqlite3 *)1;
	char error[512] = "";
	FILE *file;

	/* A regular file where the parent directory should be. */
	snprintf(db_path, sizeof db_path, "%s/file", temp_dir);
	file = fopen(db_path, "w");
	cr_assert_not_null(file);
	fclose(file);
	snprintf(db_path, sizeof db_path, "%s/file/recall.db", temp_dir);

	cr_assert_eq(store_open(db_path, &db, error, sizeof error), -1);
	cr_assert_null(db);
	assert_contains(error, temp_dir);
	store_close(db);
}

Test(store, record_inserts_row)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	time_t before = time(NULL);
	char text[128];

	make_detection(&detection, 'b');
	counts = record(db, &detection, 24);

	cr_assert_eq(counts.occurrence_count, 1);
	cr_assert_eq(counts.intervention_count, 0);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 1);
	query_text(db, "SELECT error_type FROM error_memory", text, sizeof text);
	cr_assert_str_eq(text, "ImportError");
	query_text(db, "SELECT file_path FROM error_memory", text, sizeof text);
	cr_assert_str_eq(text, "app/main.py");
	query_text(db, "SELECT severity FROM error_memory", text, sizeof text);
	cr_assert_str_eq(text, "HIGH");
	cr_assert_eq(query_int(db, "SELECT line_number FROM error_memory"), 3);
	cr_assert_eq(query_int(db, "SELECT signature_version FROM error_memory"), SIGNATURE_VERSION);
	cr_assert_eq(query_int(db, "SELECT success_count FROM error_memory"), 0);
	cr_assert(query_is_null(db, "SELECT last_intervention FROM error_memory"));
	cr_assert_geq(query_int(db, "SELECT first_seen FROM error_memory"), before);
	cr_assert_leq(query_int(db, "SELECT first_seen FROM error_memory"), time(NULL));
	cr_assert_eq(query_int(db, "SELECT last_seen - first_seen FROM error_memory"), 0);
	store_close(db);
}

Test(store, record_unknown_fields_null)
{
	struct msg_detection detection;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, 'c');
	detection.file_path[0] = '\0';
	detection.line_number = 0;
	record(db, &detection, 24);

	cr_assert(query_is_null(db, "SELECT file_path FROM error_memory"));
	cr_assert(query_is_null(db, "SELECT line_number FROM error_memory"));
	store_close(db);
}

Test(store, record_increments)
{
	struct msg_detection detection;
	struct msg_detection other;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, 'd');
	make_detection(&other, 'e');
	record(db, &detection, 24);
	counts = record(db, &detection, 24);
	cr_assert_eq(counts.occurrence_count, 2);
	counts = record(db, &detection, 24);
	cr_assert_eq(counts.occurrence_count, 3);
	counts = record(db, &other, 24);
	cr_assert_eq(counts.occurrence_count, 1);

	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 2);
	cr_assert_eq(query_int(db, "SELECT occurrence_count FROM error_memory"
	    " WHERE error_signature LIKE 'd%'"), 3);
	store_close(db);
}

Test(store, record_expired_resets)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	char error[512];
	time_t before;

	make_detection(&detection, 'f');
	record(db, &detection, 1);
	record(db, &detection, 1);
	cr_assert_eq(store_mark_intervention(db, detection.signature, error, sizeof error), 0,
	    "%s", error);

	/* Move the row two hours back, so it expired an hour ago. */
	exec_sql(db, "UPDATE error_memory SET first_seen = first_seen - 7200,"
	    " last_seen = last_seen - 7200, last_intervention = last_intervention - 7200,"
	    " expires_at = last_seen - 3600");
	before = time(NULL);
	counts = record(db, &detection, 1);

	cr_assert_eq(counts.occurrence_count, 1);
	cr_assert_eq(counts.intervention_count, 0);
	cr_assert_geq(query_int(db, "SELECT first_seen FROM error_memory"), before);
	cr_assert(query_is_null(db, "SELECT last_intervention FROM error_memory"));
	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 1);
	store_close(db);
}

Test(store, record_ttl_sets_expiry)
{
	struct msg_detection detection;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, '1');
	record(db, &detection, 24);
	cr_assert_eq(query_int(db, "SELECT expires_at - last_seen FROM error_memory"), 24 * 3600);

	record(db, &detection, 48);
	cr_assert_eq(query_int(db, "SELECT expires_at - last_seen FROM error_memory"), 48 * 3600);
	store_close(db);
}

Test(store, record_rejects_bad_input)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	char error[512] = "";

	make_detection(&detection, '2');
	detection.signature[10] = 'X';
	cr_assert_eq(store_record(db, &detection, 24, &counts, error, sizeof error), STORE_INVALID);
	assert_contains(error, "invalid signature");

	make_detection(&detection, '2');
	cr_assert_eq(store_record(db, &detection, 0, &counts, error, sizeof error), STORE_INVALID);
	assert_contains(error, "invalid TTL 0");

	detection.severity = 9;
	cr_assert_eq(store_record(db, &detection, 24, &counts, error, sizeof error), STORE_INVALID);
	assert_contains(error, "invalid severity 9");

	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 0);
	store_close(db);
}

Test(store, mark_intervention_increments)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	time_t before = time(NULL);
	char error[512];

	make_detection(&detection, '3');
	record(db, &detection, 24);
	cr_assert_eq(store_mark_intervention(db, detection.signature, error, sizeof error), 0,
	    "%s", error);
	cr_assert_eq(store_mark_intervention(db, detection.signature, error, sizeof error), 0,
	    "%s", error);

	cr_assert_eq(query_int(db, "SELECT intervention_count FROM error_memory"), 2);
	cr_assert_geq(query_int(db, "SELECT last_intervention FROM error_memory"), before);
	counts = record(db, &detection, 24);
	cr_assert_eq(counts.occurrence_count, 2);
	cr_assert_eq(counts.intervention_count, 2);
	store_close(db);
}

Test(store, mark_intervention_unknown)
{
	char signature[SIGNATURE_HEX_LEN + 1];
	sqlite3 *db = open_upgraded();
	char error[512] = "";

	memset(signature, '4', SIGNATURE_HEX_LEN);
	signature[SIGNATURE_HEX_LEN] = '\0';
	cr_assert_eq(store_mark_intervention(db, signature, error, sizeof error), STORE_INVALID);
	assert_contains(error, "not found");
	assert_contains(error, signature);
	store_close(db);
}

static struct store_counts
record_at(sqlite3 *db, uint64_t message_id, const struct msg_detection *detection, time_t now,
    int ttl_hours)
{
	struct store_record_request request = { message_id, detection, ttl_hours, now, 1, 0 };
	struct store_counts counts = { -1, -1, -1 };
	char error[512];

	cr_assert_eq(store_record_at(db, &request, &counts, error, sizeof error), 0,
	    "store_record_at: %s", error);
	return counts;
}

Test(store, resent_message_not_counted)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, '5');
	detection.arrived_ns = 123456789;
	counts = record_at(db, 7, &detection, 1000, 24);
	cr_assert_eq(counts.occurrence_count, 1);
	cr_assert_eq(counts.duplicate, 0);

	counts = record_at(db, 7, &detection, 1001, 24);
	cr_assert_eq(counts.occurrence_count, 1);
	cr_assert_eq(counts.duplicate, 1);
	cr_assert_eq(query_int(db, "SELECT occurrence_count FROM error_memory"), 1);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM processed_messages"), 1);
	store_close(db);
}

Test(store, resent_answer_survives_reopen)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, '6');
	detection.arrived_ns = 42;
	record_at(db, 1, &detection, 1000, 24);
	detection.arrived_ns = 43;
	record_at(db, 2, &detection, 1001, 24);
	store_close(db);

	/* A replacement worker gets message 1 again: the first reply, not the current count. */
	db = open_store();
	detection.arrived_ns = 42;
	counts = record_at(db, 1, &detection, 1002, 24);

	cr_assert_eq(counts.duplicate, 1);
	cr_assert_eq(counts.occurrence_count, 1);
	cr_assert_eq(query_int(db, "SELECT occurrence_count FROM error_memory"), 2);
	store_close(db);
}

Test(store, same_id_new_arrival_counts)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();

	/* A new supervisor numbers its messages from 1 again. */
	make_detection(&detection, '7');
	detection.arrived_ns = 1000;
	record_at(db, 1, &detection, 1000, 24);
	detection.arrived_ns = 2000;
	counts = record_at(db, 1, &detection, 1005, 24);

	cr_assert_eq(counts.occurrence_count, 2);
	cr_assert_eq(counts.duplicate, 0);
	store_close(db);
}

Test(store, zero_id_never_duplicate)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, '8');
	record_at(db, 0, &detection, 1000, 24);
	counts = record_at(db, 0, &detection, 1000, 24);

	cr_assert_eq(counts.occurrence_count, 2);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM processed_messages"), 0);
	store_close(db);
}

Test(store, record_adds_counts)
{
	struct msg_detection detection;
	struct store_record_request request;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	char error[512];

	make_detection(&detection, '9');
	record_at(db, 0, &detection, 1000, 24);
	request = (struct store_record_request){ 0, &detection, 24, 1100, 3, 2 };
	cr_assert_eq(store_record_at(db, &request, &counts, error, sizeof error), 0, "%s", error);

	cr_assert_eq(counts.occurrence_count, 4);
	cr_assert_eq(counts.intervention_count, 2);
	cr_assert_eq(query_int(db, "SELECT last_intervention FROM error_memory"), 1100);
	cr_assert_eq(query_int(db, "SELECT last_seen FROM error_memory"), 1100);
	store_close(db);
}

Test(store, clock_back_keeps_row_valid)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();

	make_detection(&detection, 'a');
	record_at(db, 0, &detection, 5000, 1);
	counts = record_at(db, 0, &detection, 4000, 1);

	cr_assert_eq(counts.occurrence_count, 2);
	cr_assert_eq(query_int(db, "SELECT last_seen FROM error_memory"), 5000);
	cr_assert_gt(query_int(db, "SELECT expires_at FROM error_memory"), 5000);
	store_close(db);
}

Test(store, lookup_ignores_expired)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	char error[512];

	make_detection(&detection, 'b');
	record_at(db, 0, &detection, 1000, 1);

	cr_assert_eq(store_lookup(db, detection.signature, 1000 + 3599, &counts, error,
	    sizeof error), 1, "%s", error);
	cr_assert_eq(counts.occurrence_count, 1);
	cr_assert_eq(store_lookup(db, detection.signature, 1000 + 3600, &counts, error,
	    sizeof error), 0, "%s", error);
	store_close(db);
}

Test(store, cleanup_removes_expired)
{
	struct msg_detection old, fresh;
	sqlite3 *db = open_upgraded();
	char error[512];
	int removed = -1;

	make_detection(&old, 'c');
	make_detection(&fresh, 'd');
	record_at(db, 0, &old, 1000, 1);
	record_at(db, 0, &fresh, 3000, 1);

	cr_assert_eq(store_cleanup(db, 4600, &removed, error, sizeof error), 0, "%s", error);
	cr_assert_eq(removed, 1);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 1);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory WHERE error_signature"
	    " LIKE 'd%'"), 1);

	cr_assert_eq(store_cleanup(db, 4600, &removed, error, sizeof error), 0, "%s", error);
	cr_assert_eq(removed, 0);
	store_close(db);
}

Test(store, cleanup_trims_processed)
{
	sqlite3 *db = open_upgraded();
	char sql[256];
	char error[512];
	int removed;

	snprintf(sql, sizeof sql, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	    " WHERE i < %d) INSERT INTO processed_messages SELECT i, 'x', 0, 1, 0, 0 FROM n",
	    STORE_PROCESSED_KEEP + 10);
	exec_sql(db, sql);

	cr_assert_eq(store_cleanup(db, 100, &removed, error, sizeof error), 0, "%s", error);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM processed_messages"), STORE_PROCESSED_KEEP);
	cr_assert_eq(query_int(db, "SELECT min(message_id) FROM processed_messages"), 11);
	store_close(db);
}

Test(store, similar_same_file_first)
{
	struct msg_detection detection;
	struct store_similar rows[8];
	sqlite3 *db = open_upgraded();
	char error[512];
	int found;

	make_detection(&detection, '1');
	snprintf(detection.file_path, sizeof detection.file_path, "other.py");
	record_at(db, 0, &detection, 1000, 24);
	make_detection(&detection, '2');
	record_at(db, 0, &detection, 900, 24);
	make_detection(&detection, '3');
	snprintf(detection.error_type, sizeof detection.error_type, "SyntaxError");
	record_at(db, 0, &detection, 1100, 24);
	make_detection(&detection, '4');
	snprintf(detection.file_path, sizeof detection.file_path, "third.py");
	record_at(db, 0, &detection, 800, 24);

	found = store_find_similar(db, "ImportError", "app/main.py", 1200, rows, 8, error,
	    sizeof error);
	cr_assert_eq(found, 3, "%s", error);
	cr_assert_eq(rows[0].signature[0], '2');
	cr_assert_str_eq(rows[0].file_path, "app/main.py");
	cr_assert_eq(rows[1].signature[0], '1');
	cr_assert_eq(rows[2].signature[0], '4');
	cr_assert_eq(rows[1].last_seen, 1000);
	store_close(db);
}

Test(store, similar_limit_and_expiry)
{
	struct msg_detection detection;
	struct store_similar rows[2];
	sqlite3 *db = open_upgraded();
	char error[512];

	for (char digit = '1'; digit <= '5'; digit++) {
		make_detection(&detection, digit);
		record_at(db, 0, &detection, 1000 + (digit - '0'), 1);
	}
	make_detection(&detection, '6');
	record_at(db, 0, &detection, 10, 1);

	cr_assert_eq(store_find_similar(db, "ImportError", NULL, 3000, rows, 2, error,
	    sizeof error), 2, "%s", error);
	cr_assert_eq(rows[0].signature[0], '5');
	cr_assert_eq(rows[1].signature[0], '4');
	cr_assert_eq(store_find_similar(db, "ImportError", "", 3000, rows, 2, error,
	    sizeof error), 2);
	cr_assert_eq(store_find_similar(db, "ImportError", NULL, 4605, rows, 2, error,
	    sizeof error), 0, "all rows expired");
	store_close(db);
}

Test(store, violation_inserted)
{
	sqlite3 *db = open_upgraded();
	char error[512];
	char text[128];

	cr_assert_eq(store_record_violation(db, "escalation", "strikes exhausted", 1, 1234, error,
	    sizeof error), 0, "%s", error);
	cr_assert_eq(store_record_violation(db, "audit", "", 0, 1235, error, sizeof error), 0,
	    "%s", error);

	cr_assert_eq(query_int(db, "SELECT count(*) FROM pattern_violations"), 2);
	query_text(db, "SELECT pattern_type FROM pattern_violations WHERE timestamp = 1234", text,
	    sizeof text);
	cr_assert_str_eq(text, "escalation");
	query_text(db, "SELECT details FROM pattern_violations WHERE timestamp = 1234", text,
	    sizeof text);
	cr_assert_str_eq(text, "strikes exhausted");
	cr_assert_eq(query_int(db, "SELECT prevented FROM pattern_violations"
	    " WHERE timestamp = 1234"), 1);
	cr_assert(query_is_null(db, "SELECT details FROM pattern_violations WHERE timestamp = 1235"));
	store_close(db);
}

Test(store, violation_rejects_bad_input)
{
	sqlite3 *db = open_upgraded();
	char error[512] = "";

	cr_assert_eq(store_record_violation(db, "", "x", 0, 1, error, sizeof error), STORE_INVALID);
	assert_contains(error, "pattern type is empty");
	cr_assert_eq(store_record_violation(db, "audit", "x", 2, 1, error, sizeof error),
	    STORE_INVALID);
	assert_contains(error, "invalid prevented value 2");
	cr_assert_eq(query_int(db, "SELECT count(*) FROM pattern_violations"), 0);
	store_close(db);
}

Test(store, locked_database_fails)
{
	struct msg_detection detection;
	struct store_counts counts;
	sqlite3 *db = open_upgraded();
	sqlite3 *other = open_store();
	char error[512] = "";

	exec_sql(other, "BEGIN IMMEDIATE");
	sqlite3_busy_timeout(db, 1);
	make_detection(&detection, 'e');

	cr_assert_eq(store_record(db, &detection, 24, &counts, error, sizeof error), STORE_ERROR);
	assert_contains(error, "locked");

	exec_sql(other, "COMMIT");
	cr_assert_eq(store_record(db, &detection, 24, &counts, error, sizeof error), 0, "%s", error);
	cr_assert_eq(counts.occurrence_count, 1);
	store_close(other);
	store_close(db);
}

Test(store, checkpoint_moves_wal)
{
	struct msg_detection detection;
	sqlite3 *db = open_upgraded();
	char wal_path[PATH_MAX + 8];
	char error[512];
	struct stat st;

	exec_sql(db, "PRAGMA wal_autocheckpoint = 0");
	make_detection(&detection, 'f');
	record(db, &detection, 24);
	cr_assert_eq(store_checkpoint(db, error, sizeof error), 0, "%s", error);

	store_close(db);
	snprintf(wal_path, sizeof wal_path, "%s-wal", db_path);
	cr_assert_neq(stat(wal_path, &st), 0, "closing removes the WAL");
	db = open_raw();
	cr_assert_eq(query_int(db, "SELECT count(*) FROM error_memory"), 1);
	store_close(db);
}

/* Counts the statements prepared on DB and not yet finalized. */
static int
statement_count(sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int count = 0;

	while ((stmt = sqlite3_next_stmt(db, stmt)) != NULL)
		count++;
	return count;
}

Test(store, statements_reused)
{
	struct msg_detection detection;
	struct store_similar rows[8];
	sqlite3 *db = open_upgraded();
	char error[512];
	int first_count;

	make_detection(&detection, 'a');
	record_at(db, 1, &detection, 1000, 24);
	cr_assert_eq(store_find_similar(db, "ImportError", "app/main.py", 1000, rows, 8, error,
	    sizeof error), 1, "%s", error);
	first_count = statement_count(db);

	make_detection(&detection, 'b');
	record_at(db, 2, &detection, 1001, 24);
	cr_assert_eq(store_find_similar(db, "ImportError", "app/main.py", 1001, rows, 8, error,
	    sizeof error), 2, "%s", error);

	cr_assert_gt(first_count, 0);
	cr_assert_eq(statement_count(db), first_count);
	store_close(db);
}

Test(store, statements_idle_between_calls)
{
	struct msg_detection detection;
	struct store_similar rows[2];
	struct store_counts counts;
	sqlite3_stmt *stmt = NULL;
	sqlite3 *db = open_upgraded();
	char error[512];
	char *sql;

	for (char digit = '1'; digit <= '3'; digit++) {
		make_detection(&detection, digit);
		record_at(db, (uint64_t)digit, &detection, 1000, 24);
	}
	/* Three rows match and two fit, so the query stops before its last row. */
	cr_assert_eq(store_find_similar(db, "ImportError", NULL, 1000, rows, 2, error,
	    sizeof error), 2, "%s", error);
	cr_assert_eq(store_lookup(db, detection.signature, 1000, &counts, error, sizeof error), 1,
	    "%s", error);

	cr_assert_eq(sqlite3_get_autocommit(db), 1, "a transaction was left open");
	while ((stmt = sqlite3_next_stmt(db, stmt)) != NULL) {
		cr_assert_eq(sqlite3_stmt_busy(stmt), 0, "still running: %s", sqlite3_sql(stmt));
		sql = sqlite3_expanded_sql(stmt);
		cr_assert_not_null(sql);
		cr_assert_null(strstr(sql, "ImportError"), "binding kept: %s", sql);
		cr_assert_null(strstr(sql, detection.signature), "binding kept: %s", sql);
		sqlite3_free(sql);
	}
	store_close(db);
}

Test(store, record_after_schema_change)
{
	struct msg_detection detection;
	struct store_counts counts;
	struct capture capture;
	sqlite3 *db = open_upgraded();
	char error[512];

	make_detection(&detection, 'c');
	record_at(db, 1, &detection, 1000, 24);
	exec_sql(db, UNDO_003);

	capture_start(&capture);
	cr_assert_eq(store_upgrade(db, capture.out, error, sizeof error), 1, "%s", error);
	capture_end(&capture);
	free(capture.text);

	detection.arrived_ns = 1;
	counts = record_at(db, 1, &detection, 1001, 24);
	cr_assert_eq(counts.occurrence_count, 2);
	cr_assert_eq(counts.duplicate, 0);
	cr_assert_eq(query_int(db, "SELECT count(*) FROM processed_messages"), 1);
	store_close(db);
}

Test(store, latest_version_matches)
{
	cr_assert_str_eq(store_latest_version(), "003");
}
