/*
 * recall.db: opening, migrations, verification and the error memory.
 *
 * Times are stored as INTEGER Unix seconds from time(NULL), as the schema
 * files describe.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "proto.h"
#include "store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_RETRY_ATTEMPTS 4		/* tries of a write transaction while the database is busy */
#define STORE_RETRY_FIRST_MS 10		/* backoff before the second try, doubled after each */
#define STORE_FILE_MODE 0600
#define STORE_DIR_MODE 0700

#define MARK_PASS "\xe2\x9c\x93"	/* U+2713 CHECK MARK */
#define MARK_FAIL "\xe2\x9c\x97"	/* U+2717 BALLOT X */

#define NITEMS(array) (sizeof(array) / sizeof((array)[0]))

/* A table as the migrations create it, for store_verify. */
struct expected_table {
	const char *name;
	const char *const *columns;
	size_t column_count;
};

/* An index as the migrations create it, for store_verify. */
struct expected_index {
	const char *name;
	const char *table;
	const char *columns;	/* comma-separated, in index order */
};

static const char *const error_memory_columns[] = {
	"id", "error_signature", "error_type", "file_path", "first_seen", "last_seen",
	"occurrence_count", "intervention_count", "success_count", "last_intervention",
	"expires_at", "severity", "line_number", "signature_version",
};

static const char *const pattern_violations_columns[] = {
	"id", "pattern_type", "details", "timestamp", "prevented",
};

static const char *const processed_messages_columns[] = {
	"message_id", "error_signature", "arrived_ns", "occurrence_count", "intervention_count",
	"processed_at",
};

static const struct expected_table expected_tables[] = {
	{ "error_memory", error_memory_columns, NITEMS(error_memory_columns) },
	{ "pattern_violations", pattern_violations_columns, NITEMS(pattern_violations_columns) },
	{ "processed_messages", processed_messages_columns, NITEMS(processed_messages_columns) },
};

static const struct expected_index expected_indexes[] = {
	{ "idx_signature", "error_memory", "error_signature" },
	{ "idx_expires", "error_memory", "expires_at" },
	{ "idx_type_file_seen", "error_memory", "error_type, file_path, last_seen" },
	{ "idx_type_seen", "error_memory", "error_type, last_seen" },
};

static void set_error(char *error, size_t error_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_error(char *error, size_t error_size, const char *fmt, ...)
{
	va_list ap;

	if (error == NULL || error_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(error, error_size, fmt, ap);
	va_end(ap);
}

/* Appends NAME to the comma-separated LIST, truncating when it is full. */
static void
append_name(char *list, size_t size, const char *name)
{
	size_t used = strlen(list);

	if (used + 1 >= size)
		return;
	snprintf(list + used, size - used, "%s%s", used > 0 ? ", " : "", name);
}

/* The build stops when schema/ contains no migration, so the list is never empty. */
const char *
store_latest_version(void)
{
	return store_migrations[store_migration_count - 1].version;
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void
rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Returns 1 when table NAME exists, 0 when not, -1 on a database error. */
static int
table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	    -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
make_parent_dir(const char *path, char *error, size_t error_size)
{
	char parent[PATH_MAX];
	char *slash;

	if (snprintf(parent, sizeof parent, "%s", path) >= (int)sizeof parent) {
		set_error(error, error_size, "database path too long: %s", path);
		return -1;
	}
	slash = strrchr(parent, '/');
	if (slash == NULL || slash == parent)
		return 0;
	*slash = '\0';

	if (paths_mkdir_p(parent, STORE_DIR_MODE) == -1) {
		set_error(error, error_size, "failed to create directory %s for the database: %s",
		    parent, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Creates PATH as an empty file with mode 0600 before SQLite opens it, so a
 * new database is not readable by others at any moment. An existing file
 * keeps its mode. SQLite gives the -wal and -shm files the mode of the
 * database file (findCreateFileMode in os_unix.c).
 */
static int
create_private_file(const char *path, char *error, size_t error_size)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
	if (fd == -1) {
		if (errno == EEXIST)
			return 0;
		set_error(error, error_size, "failed to create database %s: %s", path,
		    strerror(errno));
		return -1;
	}

	/* The umask may have removed bits from the mode given to open(). */
	if (fchmod(fd, STORE_FILE_MODE) == -1) {
		set_error(error, error_size, "failed to set mode 0600 on database %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* Switches to WAL mode. SQLite keeps the old mode, without an error, when it cannot. */
static int
enable_wal(sqlite3 *db, const char *path, char *error, size_t error_size)
{
	sqlite3_stmt *stmt;
	const char *mode;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK) {
		set_error(error, error_size, "failed to enable WAL mode on database %s: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		set_error(error, error_size, "failed to enable WAL mode on database %s: %s", path,
		    sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return -1;
	}

	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcasecmp(mode, "wal") != 0) {
		set_error(error, error_size,
		    "failed to enable WAL mode on database %s: journal_mode is still %s", path,
		    mode != NULL ? mode : "unknown");
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);
	return 0;
}

int
store_open(const char *path, sqlite3 **db, char *error, size_t error_size)
{
	sqlite3 *handle = NULL;
	int rc;

	*db = NULL;
	if (make_parent_dir(path, error, error_size) == -1)
		return -1;
	if (create_private_file(path, error, error_size) == -1)
		return -1;

	rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		set_error(error, error_size, "failed to open database %s: %s", path,
		    handle != NULL ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
		sqlite3_close(handle);
		return -1;
	}
	sqlite3_extended_result_codes(handle, 1);
	sqlite3_busy_timeout(handle, STORE_BUSY_TIMEOUT_MS);

	if (enable_wal(handle, path, error, error_size) == -1) {
		sqlite3_close(handle);
		return -1;
	}
	/*
	 * In WAL mode NORMAL syncs at checkpoints rather than at every commit:
	 * a commit survives a crash of the process, and a power loss may undo
	 * the last few. Error counts tolerate that, and a commit then costs
	 * microseconds rather than an fsync.
	 */
	if (exec_sql(handle, "PRAGMA synchronous = NORMAL") == -1) {
		set_error(error, error_size, "failed to set synchronous mode on database %s: %s",
		    path, sqlite3_errmsg(handle));
		sqlite3_close(handle);
		return -1;
	}
	/*
	 * Inside BEGIN, SQLite copies the pages that a write statement changes
	 * into a statement journal, so it can undo that statement alone. By
	 * default the journal is one 64 KiB buffer that spills to a temporary
	 * file, and in bench/recall glibc returned that buffer to the kernel
	 * (two brk calls) on every record. In memory it grows in 1 KiB pieces
	 * (memjournal.c, SQLite 3.40). Sorts and temporary tables also stay in
	 * memory, and the store's queries keep both small.
	 */
	if (exec_sql(handle, "PRAGMA temp_store = MEMORY") == -1) {
		set_error(error, error_size, "failed to set temp_store on database %s: %s",
		    path, sqlite3_errmsg(handle));
		sqlite3_close(handle);
		return -1;
	}
	if (exec_sql(handle, "PRAGMA foreign_keys = ON") == -1) {
		set_error(error, error_size, "failed to enable foreign keys on database %s: %s",
		    path, sqlite3_errmsg(handle));
		sqlite3_close(handle);
		return -1;
	}

	*db = handle;
	return 0;
}

/*
 * Turns a migration name into the description shown while it runs:
 * "001_initial_schema" becomes "Initial schema".
 */
static void
describe_migration(const char *name, char *out, size_t size)
{
	const char *start = name;
	size_t i;

	if (strlen(name) > 4 && isdigit((unsigned char)name[0]) &&
	    isdigit((unsigned char)name[1]) && isdigit((unsigned char)name[2]) && name[3] == '_')
		start = name + 4;

	snprintf(out, size, "%s", start);
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] == '_')
			out[i] = ' ';
	}
	out[0] = (char)toupper((unsigned char)out[0]);
}

/* Returns 1 when VERSION is in schema_version, 0 when not, -1 on a database error. */
static int
version_recorded(sqlite3 *db, const char *version)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM schema_version WHERE version = ?1", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(stmt, 1, version, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
record_version(sqlite3 *db, const struct store_migration *migration)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db,
	    "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)", -1,
	    &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(stmt, 1, migration->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, migration->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Applies MIGRATION unless schema_version already lists it. The check runs
 * inside the write transaction, so two upgrades at once cannot both apply
 * it. Returns 1 when applied, 0 when already applied, -1 on error.
 */
static int
apply_migration(sqlite3 *db, const struct store_migration *migration, FILE *out,
    char *error, size_t error_size)
{
	char previous[16];
	char description[128];
	int recorded;

	if (exec_sql(db, "BEGIN IMMEDIATE") == -1) {
		set_error(error, error_size, "failed to start migration %s: %s", migration->name,
		    sqlite3_errmsg(db));
		return -1;
	}

	recorded = version_recorded(db, migration->version);
	if (recorded == -1) {
		set_error(error, error_size, "failed to read schema_version: %s",
		    sqlite3_errmsg(db));
		rollback(db);
		return -1;
	}
	if (recorded == 1) {
		rollback(db);
		return 0;
	}
	if (store_version(db, previous, sizeof previous) == -1) {
		set_error(error, error_size, "failed to read schema_version: %s",
		    sqlite3_errmsg(db));
		rollback(db);
		return -1;
	}

	describe_migration(migration->name, description, sizeof description);
	fprintf(out, "INFO  [migration] Running upgrade %s -> %s, %s\n", previous,
	    migration->version, description);
	fflush(out);

	if (exec_sql(db, migration->sql) == -1) {
		set_error(error, error_size, "migration %s failed: %s", migration->name,
		    sqlite3_errmsg(db));
		rollback(db);
		return -1;
	}
	if (record_version(db, migration) == -1) {
		set_error(error, error_size, "failed to record migration %s in schema_version: %s",
		    migration->name, sqlite3_errmsg(db));
		rollback(db);
		return -1;
	}
	if (exec_sql(db, "COMMIT") == -1) {
		set_error(error, error_size, "failed to commit migration %s: %s", migration->name,
		    sqlite3_errmsg(db));
		rollback(db);
		return -1;
	}
	return 1;
}

int
store_upgrade(sqlite3 *db, FILE *out, char *error, size_t error_size)
{
	char current[16];
	int applied = 0;
	int rc;

	if (exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)") == -1) {
		set_error(error, error_size, "failed to create table schema_version: %s",
		    sqlite3_errmsg(db));
		return -1;
	}

	if (store_version(db, current, sizeof current) == -1) {
		set_error(error, error_size, "failed to read schema_version: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(current, store_latest_version()) > 0) {
		set_error(error, error_size,
		    "database schema version %s is newer than this cake supports (%s); use a newer cake",
		    current, store_latest_version());
		return -1;
	}

	for (size_t i = 0; i < store_migration_count; i++) {
		rc = apply_migration(db, &store_migrations[i], out, error, error_size);
		if (rc == -1)
			return -1;
		applied += rc;
	}
	return applied;
}

/* Versions are three zero-padded digits, so the text maximum is the newest. */
int
store_version(sqlite3 *db, char *out, size_t size)
{
	sqlite3_stmt *stmt;
	const char *version;
	int exists;

	if (size == 0)
		return -1;
	out[0] = '\0';

	exists = table_exists(db, "schema_version");
	if (exists != 1)
		return exists;

	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return -1;
	}
	version = (const char *)sqlite3_column_text(stmt, 0);
	if (version != NULL && snprintf(out, size, "%s", version) >= (int)size) {
		out[0] = '\0';
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);
	return 0;
}

static int
column_index(const struct expected_table *table, const char *name)
{
	for (size_t i = 0; i < table->column_count; i++) {
		if (strcasecmp(table->columns[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Writes the advice that follows "X missing". Upgrading creates a missing
 * object only while its migration is still pending, so the advice depends
 * on the schema version recorded in DB.
 */
static void
missing_advice(sqlite3 *db, char *out, size_t size)
{
	char version[16];
	const char *latest = store_latest_version();

	if (store_version(db, version, sizeof version) == -1 || strcmp(version, latest) < 0)
		snprintf(out, size, "; run `cake db upgrade`");
	else if (strcmp(version, latest) == 0)
		snprintf(out, size, " although schema version %s is recorded; "
		    "move the database aside and run `cake db upgrade`", version);
	else
		snprintf(out, size, "; the database is from a newer cake");
}

/* Compares TABLE's columns with the expected ones. Returns 0 when they match, 1 otherwise. */
static int
verify_table(sqlite3 *db, FILE *out, const struct expected_table *table, const char *advice)
{
	sqlite3_stmt *stmt;
	char missing[512] = "";
	char unexpected[512] = "";
	uint64_t found = 0;
	int count = 0;
	int exists;
	int rc;
	int i;

	exists = table_exists(db, table->name);
	if (exists == -1) {
		fprintf(out, MARK_FAIL " Failed to read table %s: %s\n", table->name, sqlite3_errmsg(db));
		return 1;
	}
	if (exists == 0) {
		fprintf(out, MARK_FAIL " %s table missing%s\n", table->name, advice);
		return 1;
	}

	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1)", -1, &stmt,
	    NULL) != SQLITE_OK) {
		fprintf(out, MARK_FAIL " Failed to read columns of %s: %s\n", table->name,
		    sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_bind_text(stmt, 1, table->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);

		count++;
		i = column_index(table, name);
		if (i >= 0)
			found |= UINT64_C(1) << i;
		else
			append_name(unexpected, sizeof unexpected, name);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		fprintf(out, MARK_FAIL " Failed to read columns of %s: %s\n", table->name,
		    sqlite3_errmsg(db));
		return 1;
	}

	for (i = 0; i < (int)table->column_count; i++) {
		if ((found & (UINT64_C(1) << i)) == 0)
			append_name(missing, sizeof missing, table->columns[i]);
	}
	if (missing[0] == '\0' && unexpected[0] == '\0') {
		fprintf(out, MARK_PASS " %s table exists (%d columns)\n", table->name, count);
		return 0;
	}

	fprintf(out, MARK_FAIL " %s has %d columns, expected %zu (", table->name, count,
	    table->column_count);
	if (missing[0] != '\0')
		fprintf(out, "missing: %s%s", missing, unexpected[0] != '\0' ? "; " : "");
	if (unexpected[0] != '\0')
		fprintf(out, "unexpected: %s", unexpected);
	fprintf(out, ")\n");
	return 1;
}

/*
 * Reads the table and the comma-separated columns of index NAME into TABLE
 * and COLUMNS. Returns 1 when the index exists, 0 when not, -1 on error.
 */
static int
read_index(sqlite3 *db, const char *name, char *table, size_t table_size, char *columns,
    size_t columns_size)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT tbl_name, (SELECT group_concat(name, ', ') FROM "
	    "(SELECT name FROM pragma_index_info(?1) ORDER BY seqno)) "
	    "FROM sqlite_master WHERE type = 'index' AND name = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *text;

		text = (const char *)sqlite3_column_text(stmt, 0);
		snprintf(table, table_size, "%s", text != NULL ? text : "");
		text = (const char *)sqlite3_column_text(stmt, 1);
		snprintf(columns, columns_size, "%s", text != NULL ? text : "");
	}
	sqlite3_finalize(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Checks that every expected index exists on the right column. Returns 0 or 1. */
static int
verify_indexes(sqlite3 *db, FILE *out, const char *advice)
{
	char names[256] = "";
	char missing[256] = "";
	char table[128];
	char columns[256];
	size_t missing_count = 0;
	int failed = 0;
	int exists;

	for (size_t i = 0; i < NITEMS(expected_indexes); i++) {
		const struct expected_index *index = &expected_indexes[i];

		append_name(names, sizeof names, index->name);
		exists = read_index(db, index->name, table, sizeof table, columns, sizeof columns);
		if (exists == -1) {
			fprintf(out, MARK_FAIL " Failed to read index %s: %s\n", index->name,
			    sqlite3_errmsg(db));
			failed = 1;
		} else if (exists == 0) {
			append_name(missing, sizeof missing, index->name);
			missing_count++;
		} else if (strcmp(table, index->table) != 0 || strcmp(columns, index->columns) != 0) {
			fprintf(out, MARK_FAIL " Index %s is on %s(%s), expected %s(%s)\n",
			    index->name, table, columns, index->table, index->columns);
			failed = 1;
		}
	}

	if (missing_count > 0) {
		fprintf(out, MARK_FAIL " %s %s missing%s\n",
		    missing_count == 1 ? "Index" : "Indexes", missing, advice);
		failed = 1;
	}
	if (!failed)
		fprintf(out, MARK_PASS " Indexes created (%s)\n", names);
	return failed;
}

static int
verify_wal(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *stmt;
	const char *mode;
	int failed;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		fprintf(out, MARK_FAIL " Failed to read journal_mode: %s\n", sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return 1;
	}

	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (mode == NULL)
		mode = "unknown";
	failed = strcasecmp(mode, "wal") != 0;
	if (failed)
		fprintf(out, MARK_FAIL " WAL mode disabled (journal_mode=%s)\n", mode);
	else
		fprintf(out, MARK_PASS " WAL mode enabled\n");
	sqlite3_finalize(stmt);
	return failed;
}

static int
verify_version(sqlite3 *db, FILE *out)
{
	char version[16];
	const char *latest = store_latest_version();
	int order;

	if (store_version(db, version, sizeof version) == -1) {
		fprintf(out, MARK_FAIL " Failed to read schema_version: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	if (version[0] == '\0') {
		fprintf(out, MARK_FAIL " No schema version recorded; run `cake db upgrade`\n");
		return 1;
	}

	order = strcmp(version, latest);
	if (order < 0) {
		fprintf(out, MARK_FAIL " Schema version %s, latest is %s; run `cake db upgrade`\n",
		    version, latest);
		return 1;
	}
	if (order > 0) {
		fprintf(out, MARK_FAIL
		    " Schema version %s is newer than this cake supports (%s); use a newer cake\n",
		    version, latest);
		return 1;
	}
	fprintf(out, MARK_PASS " Schema version %s (latest)\n", version);
	return 0;
}

int
store_verify(sqlite3 *db, FILE *out)
{
	char advice[160];
	int failed = 0;

	missing_advice(db, advice, sizeof advice);
	fprintf(out, "Checking database structure...\n");
	for (size_t i = 0; i < NITEMS(expected_tables); i++)
		failed |= verify_table(db, out, &expected_tables[i], advice);
	failed |= verify_indexes(db, out, advice);
	failed |= verify_wal(db, out);
	failed |= verify_version(db, out);

	fprintf(out, "Database verification %s\n", failed ? "FAILED" : "PASSED");
	fflush(out);
	return failed;
}

static int
signature_valid(const char *signature, size_t length)
{
	if (length != SIGNATURE_HEX_LEN)
		return 0;
	for (size_t i = 0; i < length; i++) {
		if (!isdigit((unsigned char)signature[i]) && (signature[i] < 'a' || signature[i] > 'f'))
			return 0;
	}
	return 1;
}

static int
database_busy(sqlite3 *db)
{
	int code = sqlite3_errcode(db) & 0xff;

	return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

static void
sleep_ms(int milliseconds)
{
	struct timespec delay = { milliseconds / 1000, (long)(milliseconds % 1000) * 1000000L };

	while (nanosleep(&delay, &delay) == -1 && errno == EINTR)
		;
}

/*
 * Finds the prepared statement of SQL on DB, or prepares it on first use.
 * The connection's own list of statements is the cache, so a statement with
 * the same text that is not running is reused. Every caller hands it back
 * with release_statement, and store_close finalizes it. Returns NULL, with
 * the error in DB, when SQL does not prepare.
 */
static sqlite3_stmt *
cached_statement(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	const char *text;

	while ((stmt = sqlite3_next_stmt(db, stmt)) != NULL) {
		text = sqlite3_sql(stmt);
		if (text != NULL && !sqlite3_stmt_busy(stmt) && strcmp(text, sql) == 0)
			return stmt;
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
		return NULL;
	return stmt;
}

/*
 * Resets STMT for its next use and drops its bindings, which may point into
 * the caller's buffers. As after sqlite3_finalize, the connection keeps the
 * error of the last step.
 */
static void
release_statement(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Runs SQL, which has no parameters and returns no row, as a cached statement. Returns 0 or -1. */
static int
run_cached(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, sql);
	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	release_statement(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

void
store_close(sqlite3 *db)
{
	sqlite3_stmt *stmt;

	if (db == NULL)
		return;
	while ((stmt = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(stmt);
	sqlite3_close(db);
}

typedef int (*transaction_body)(sqlite3 *db, void *arg, char *error, size_t error_size);

/*
 * Runs BODY between BEGIN IMMEDIATE and COMMIT. While the database stays
 * busy or locked (each attempt first waits for the connection's busy
 * timeout), it rolls back and tries again after 10, 20 and 40 ms. BODY
 * returns 0, STORE_ERROR or STORE_INVALID, and an error rolls back.
 */
static int
run_transaction(sqlite3 *db, const char *what, transaction_body body, void *arg, char *error,
    size_t error_size)
{
	int delay_ms = STORE_RETRY_FIRST_MS;
	int busy;
	int rc;

	for (int attempt = 1;; attempt++) {
		if (run_cached(db, "BEGIN IMMEDIATE") == -1) {
			set_error(error, error_size, "failed to start %s: %s", what, sqlite3_errmsg(db));
			rc = STORE_ERROR;
		} else {
			rc = body(db, arg, error, error_size);
			if (rc == 0 && run_cached(db, "COMMIT") == -1) {
				set_error(error, error_size, "failed to commit %s: %s", what,
				    sqlite3_errmsg(db));
				rc = STORE_ERROR;
			}
		}
		if (rc == 0)
			return 0;

		busy = database_busy(db);
		rollback(db);
		if (rc == STORE_INVALID || !busy || attempt == STORE_RETRY_ATTEMPTS)
			return rc;
		sleep_ms(delay_ms);
		delay_ms *= 2;
	}
}

/*
 * One statement inserts or updates the row and returns its counts. In DO
 * UPDATE, unqualified columns are the row's old values. ?4 is the current
 * time, ?5 the new expires_at, ?9 the occurrences and ?10 the interventions
 * to add. last_seen never moves back and expires_at stays after it, so a
 * clock that steps back does not break the table's CHECK constraints.
 */
static const char record_sql[] =
    "INSERT INTO error_memory (error_signature, error_type, file_path, first_seen, last_seen,"
    " occurrence_count, intervention_count, success_count, last_intervention, expires_at,"
    " severity, line_number, signature_version)"
    " VALUES (?1, ?2, ?3, ?4, ?4, ?9, ?10, 0, CASE WHEN ?10 > 0 THEN ?4 END, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (error_signature) DO UPDATE SET"
    " occurrence_count = CASE WHEN expires_at <= ?4 THEN ?9 ELSE occurrence_count + ?9 END,"
    " intervention_count = CASE WHEN expires_at <= ?4 THEN ?10"
    " ELSE intervention_count + ?10 END,"
    " success_count = CASE WHEN expires_at <= ?4 THEN 0 ELSE success_count END,"
    " last_intervention = CASE WHEN ?10 > 0 THEN ?4 WHEN expires_at <= ?4 THEN NULL"
    " ELSE last_intervention END,"
    " first_seen = CASE WHEN expires_at <= ?4 THEN ?4 ELSE first_seen END,"
    " last_seen = CASE WHEN expires_at <= ?4 THEN ?4 ELSE max(last_seen, ?4) END,"
    " expires_at = CASE WHEN expires_at <= ?4 THEN ?5 ELSE max(?5, last_seen + 1) END,"
    " error_type = excluded.error_type, file_path = excluded.file_path,"
    " severity = excluded.severity, line_number = excluded.line_number,"
    " signature_version = excluded.signature_version"
    " RETURNING occurrence_count, intervention_count";

/* Binds the message key of REQUEST to ?1 (message id), ?2 (signature) and ?3 (arrived_ns). */
static void
bind_message_key(sqlite3_stmt *stmt, const struct store_record_request *request)
{
	const struct msg_detection *detection = request->detection;

	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)request->message_id);
	sqlite3_bind_text(stmt, 2, detection->signature, SIGNATURE_HEX_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)detection->arrived_ns);
}

/* Returns 1 with the first reply's counts in COUNTS when the message was processed, 0 when not, -1 on error. */
static int
processed_find(sqlite3 *db, const struct store_record_request *request, struct store_counts *counts)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, "SELECT occurrence_count, intervention_count"
	    " FROM processed_messages"
	    " WHERE message_id = ?1 AND error_signature = ?2 AND arrived_ns = ?3");
	if (stmt == NULL)
		return -1;
	bind_message_key(stmt, request);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		counts->occurrence_count = sqlite3_column_int(stmt, 0);
		counts->intervention_count = sqlite3_column_int(stmt, 1);
	}
	release_statement(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
processed_insert(sqlite3 *db, const struct store_record_request *request,
    const struct store_counts *counts)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, "INSERT INTO processed_messages (message_id, error_signature,"
	    " arrived_ns, occurrence_count, intervention_count, processed_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (stmt == NULL)
		return -1;
	bind_message_key(stmt, request);
	sqlite3_bind_int(stmt, 4, counts->occurrence_count);
	sqlite3_bind_int(stmt, 5, counts->intervention_count);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)request->now);
	rc = sqlite3_step(stmt);
	release_statement(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
upsert_row(sqlite3 *db, const struct store_record_request *request, struct store_counts *counts)
{
	const struct msg_detection *detection = request->detection;
	size_t file_path_length = strnlen(detection->file_path, sizeof detection->file_path);
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, record_sql);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, detection->signature, SIGNATURE_HEX_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, detection->error_type,
	    (int)strnlen(detection->error_type, sizeof detection->error_type), SQLITE_STATIC);
	if (file_path_length > 0)
		sqlite3_bind_text(stmt, 3, detection->file_path, (int)file_path_length, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 3);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)request->now);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)request->now +
	    (sqlite3_int64)request->ttl_hours * 3600);
	sqlite3_bind_text(stmt, 6, severity_name((enum severity)detection->severity), -1,
	    SQLITE_STATIC);
	if (detection->line_number > 0)
		sqlite3_bind_int(stmt, 7, detection->line_number);
	else
		sqlite3_bind_null(stmt, 7);
	sqlite3_bind_int(stmt, 8, detection->signature_version);
	sqlite3_bind_int(stmt, 9, request->occurrences);
	sqlite3_bind_int(stmt, 10, request->interventions);

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		counts->occurrence_count = sqlite3_column_int(stmt, 0);
		counts->intervention_count = sqlite3_column_int(stmt, 1);
		rc = sqlite3_step(stmt);
	}
	release_statement(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct record_call {
	const struct store_record_request *request;
	struct store_counts *counts;
};

static int
record_body(sqlite3 *db, void *arg, char *error, size_t error_size)
{
	struct record_call *call = arg;
	const struct store_record_request *request = call->request;
	const char *signature = request->detection->signature;
	int found = 0;

	if (request->message_id != 0)
		found = processed_find(db, request, call->counts);
	if (found == 1) {
		call->counts->duplicate = 1;
		return 0;
	}
	if (found == -1 || upsert_row(db, request, call->counts) == -1 ||
	    (request->message_id != 0 && processed_insert(db, request, call->counts) == -1)) {
		set_error(error, error_size, "failed to record signature %.64s: %s", signature,
		    sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	return 0;
}

static int
check_record_request(const struct store_record_request *request, char *error, size_t error_size)
{
	const struct msg_detection *detection = request->detection;
	size_t signature_length = strnlen(detection->signature, sizeof detection->signature);

	if (!signature_valid(detection->signature, signature_length)) {
		set_error(error, error_size, "invalid signature '%.*s': expected %d lowercase hex digits",
		    (int)signature_length, detection->signature, SIGNATURE_HEX_LEN);
		return STORE_INVALID;
	}
	if (request->ttl_hours < 1) {
		set_error(error, error_size, "invalid TTL %d hours: expected 1 or more",
		    request->ttl_hours);
		return STORE_INVALID;
	}
	if (detection->severity < SEVERITY_LOW || detection->severity > SEVERITY_CRITICAL) {
		set_error(error, error_size, "invalid severity %d for signature %s: expected %d-%d",
		    (int)detection->severity, detection->signature, SEVERITY_LOW, SEVERITY_CRITICAL);
		return STORE_INVALID;
	}
	if (request->occurrences < 1 || request->interventions < 0) {
		set_error(error, error_size,
		    "invalid counts for signature %s: %d occurrences and %d interventions;"
		    " expected at least 1 and 0", detection->signature, request->occurrences,
		    request->interventions);
		return STORE_INVALID;
	}
	return 0;
}

int
store_record_at(sqlite3 *db, const struct store_record_request *request,
    struct store_counts *counts, char *error, size_t error_size)
{
	struct record_call call = { request, counts };
	int rc;

	rc = check_record_request(request, error, error_size);
	if (rc != 0)
		return rc;

	counts->duplicate = 0;
	return run_transaction(db, "recording a signature", record_body, &call, error, error_size);
}

int
store_record(sqlite3 *db, const struct msg_detection *detection, int ttl_hours,
    struct store_counts *counts, char *error, size_t error_size)
{
	struct store_record_request request;

	memset(&request, 0, sizeof request);
	request.detection = detection;
	request.ttl_hours = ttl_hours;
	request.now = time(NULL);
	request.occurrences = 1;
	return store_record_at(db, &request, counts, error, error_size);
}

int
store_lookup(sqlite3 *db, const char *signature, time_t now, struct store_counts *counts,
    char *error, size_t error_size)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, "SELECT occurrence_count, intervention_count FROM error_memory"
	    " WHERE error_signature = ?1 AND expires_at > ?2");
	if (stmt == NULL) {
		set_error(error, error_size, "failed to look up signature %s: %s", signature,
		    sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	sqlite3_bind_text(stmt, 1, signature, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		counts->occurrence_count = sqlite3_column_int(stmt, 0);
		counts->intervention_count = sqlite3_column_int(stmt, 1);
		counts->duplicate = 0;
	}
	release_statement(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	set_error(error, error_size, "failed to look up signature %s: %s", signature,
	    sqlite3_errmsg(db));
	return STORE_ERROR;
}

/*
 * Appends the rows of STMT to OUT from index *COUNT up to MAX. Returns 0, or
 * -1 when a step fails.
 */
static int
collect_similar(sqlite3_stmt *stmt, struct store_similar *out, size_t max, size_t *count)
{
	int rc;

	while (*count < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_similar *row = &out[*count];
		const char *text;

		text = (const char *)sqlite3_column_text(stmt, 0);
		snprintf(row->signature, sizeof row->signature, "%s", text != NULL ? text : "");
		text = (const char *)sqlite3_column_text(stmt, 1);
		snprintf(row->file_path, sizeof row->file_path, "%s", text != NULL ? text : "");
		row->occurrence_count = sqlite3_column_int(stmt, 2);
		row->intervention_count = sqlite3_column_int(stmt, 3);
		row->last_seen = (time_t)sqlite3_column_int64(stmt, 4);
		(*count)++;
	}
	if (*count < max && rc != SQLITE_DONE)
		return -1;
	return 0;
}

/*
 * The first query uses idx_type_file_seen, the second idx_type_seen; both
 * walk the index newest first and stop at LIMIT.
 */
static const char similar_same_file_sql[] =
    "SELECT error_signature, file_path, occurrence_count, intervention_count, last_seen"
    " FROM error_memory WHERE error_type = ?1 AND file_path = ?2 AND expires_at > ?3"
    " ORDER BY last_seen DESC LIMIT ?4";

static const char similar_other_files_sql[] =
    "SELECT error_signature, file_path, occurrence_count, intervention_count, last_seen"
    " FROM error_memory WHERE error_type = ?1 AND (?2 IS NULL OR file_path IS NOT ?2)"
    " AND expires_at > ?3 ORDER BY last_seen DESC LIMIT ?4";

int
store_find_similar(sqlite3 *db, const char *error_type, const char *file_path, time_t now,
    struct store_similar *out, size_t max, char *error, size_t error_size)
{
	const char *const queries[] = { similar_same_file_sql, similar_other_files_sql };
	int has_file = file_path != NULL && file_path[0] != '\0';
	sqlite3_stmt *stmt;
	size_t count = 0;
	int failed;

	for (size_t i = has_file ? 0 : 1; i < NITEMS(queries) && count < max; i++) {
		stmt = cached_statement(db, queries[i]);
		if (stmt == NULL) {
			set_error(error, error_size, "failed to look up %s errors: %s", error_type,
			    sqlite3_errmsg(db));
			return STORE_ERROR;
		}
		sqlite3_bind_text(stmt, 1, error_type, -1, SQLITE_STATIC);
		if (has_file)
			sqlite3_bind_text(stmt, 2, file_path, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(stmt, 2);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)now);
		sqlite3_bind_int64(stmt, 4, (sqlite3_int64)(max - count));
		failed = collect_similar(stmt, out, max, &count);
		if (failed)
			set_error(error, error_size, "failed to look up %s errors: %s", error_type,
			    sqlite3_errmsg(db));
		release_statement(stmt);
		if (failed)
			return STORE_ERROR;
	}
	return (int)count;
}

struct signature_call {
	const char *signature;
	time_t now;
};

static int
mark_intervention_body(sqlite3 *db, void *arg, char *error, size_t error_size)
{
	struct signature_call *call = arg;
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, "UPDATE error_memory SET intervention_count ="
	    " intervention_count + 1, last_intervention = ?2"
	    " WHERE error_signature = ?1 AND expires_at > ?2");
	if (stmt == NULL) {
		set_error(error, error_size, "failed to count intervention for signature %s: %s",
		    call->signature, sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	sqlite3_bind_text(stmt, 1, call->signature, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)call->now);
	rc = sqlite3_step(stmt);
	release_statement(stmt);
	if (rc != SQLITE_DONE) {
		set_error(error, error_size, "failed to count intervention for signature %s: %s",
		    call->signature, sqlite3_errmsg(db));
		return STORE_ERROR;
	}

	if (sqlite3_changes(db) == 0) {
		set_error(error, error_size, "signature %s not found in error_memory (or expired);"
		    " record it before counting an intervention", call->signature);
		return STORE_INVALID;
	}
	return 0;
}

int
store_mark_intervention(sqlite3 *db, const char *signature, char *error, size_t error_size)
{
	struct signature_call call = { signature, time(NULL) };

	return run_transaction(db, "counting an intervention", mark_intervention_body, &call,
	    error, error_size);
}

struct violation_call {
	const char *pattern_type;
	const char *details;
	int prevented;
	time_t now;
};

static int
violation_body(sqlite3 *db, void *arg, char *error, size_t error_size)
{
	struct violation_call *call = arg;
	sqlite3_stmt *stmt;
	int rc = SQLITE_ERROR;

	stmt = cached_statement(db, "INSERT INTO pattern_violations (pattern_type, details,"
	    " timestamp, prevented) VALUES (?1, ?2, ?3, ?4)");
	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, call->pattern_type, -1, SQLITE_STATIC);
		if (call->details != NULL && call->details[0] != '\0')
			sqlite3_bind_text(stmt, 2, call->details, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(stmt, 2);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)call->now);
		sqlite3_bind_int(stmt, 4, call->prevented);
		rc = sqlite3_step(stmt);
		release_statement(stmt);
	}
	if (rc != SQLITE_DONE) {
		set_error(error, error_size, "failed to record %s violation: %s", call->pattern_type,
		    sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	return 0;
}

int
store_record_violation(sqlite3 *db, const char *pattern_type, const char *details,
    int prevented, time_t now, char *error, size_t error_size)
{
	struct violation_call call = { pattern_type, details, prevented, now };

	if (pattern_type == NULL || pattern_type[0] == '\0') {
		set_error(error, error_size, "invalid violation: the pattern type is empty");
		return STORE_INVALID;
	}
	if (prevented != 0 && prevented != 1) {
		set_error(error, error_size, "invalid prevented value %d for %s violation:"
		    " expected 0 or 1", prevented, pattern_type);
		return STORE_INVALID;
	}
	return run_transaction(db, "recording a violation", violation_body, &call, error,
	    error_size);
}

struct cleanup_call {
	time_t now;
	int removed;
};

static int
cleanup_body(sqlite3 *db, void *arg, char *error, size_t error_size)
{
	struct cleanup_call *call = arg;
	sqlite3_stmt *stmt;
	int rc;

	stmt = cached_statement(db, "DELETE FROM error_memory WHERE expires_at <= ?1");
	if (stmt == NULL) {
		set_error(error, error_size, "failed to delete expired rows: %s", sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)call->now);
	rc = sqlite3_step(stmt);
	release_statement(stmt);
	if (rc != SQLITE_DONE) {
		set_error(error, error_size, "failed to delete expired rows: %s", sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	call->removed = sqlite3_changes(db);

	stmt = cached_statement(db, "DELETE FROM processed_messages WHERE rowid <="
	    " (SELECT max(rowid) FROM processed_messages) - ?1");
	if (stmt == NULL) {
		set_error(error, error_size, "failed to trim processed_messages: %s",
		    sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	sqlite3_bind_int(stmt, 1, STORE_PROCESSED_KEEP);
	rc = sqlite3_step(stmt);
	release_statement(stmt);
	if (rc != SQLITE_DONE) {
		set_error(error, error_size, "failed to trim processed_messages: %s",
		    sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	return 0;
}

int
store_cleanup(sqlite3 *db, time_t now, int *removed, char *error, size_t error_size)
{
	struct cleanup_call call = { now, 0 };
	int rc;

	*removed = 0;
	rc = run_transaction(db, "the cleanup", cleanup_body, &call, error, error_size);
	if (rc == 0)
		*removed = call.removed;
	return rc;
}

int
store_checkpoint(sqlite3 *db, char *error, size_t error_size)
{
	if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_OK &&
	    !database_busy(db)) {
		set_error(error, error_size, "failed to checkpoint the WAL: %s", sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	return 0;
}
