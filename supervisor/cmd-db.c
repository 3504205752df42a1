/*
 * `cake db upgrade` and `cake db verify`: migrate and check the database
 * named by database.path in the config.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cmd.h"
#include "config.h"
#include "recall/store.h"

#define DB_BUSY_TIMEOUT_MS 5000
#define MARK_FAIL "\xe2\x9c\x97"	/* U+2717 BALLOT X, as in store_verify */

struct db_options {
	const char *subcommand;		/* "upgrade" or "verify" */
	const char *config_path;	/* --config, or NULL */
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cake db upgrade [--config=FILE]\n"
	    "       cake db verify [--config=FILE]\n"
	    "\n"
	    "  upgrade        apply the pending schema migrations, creating the database if needed\n"
	    "  verify         check the tables, indexes, WAL mode and schema version; exit 1 on a problem\n"
	    "  --config=FILE  config file that sets database.path (default: ./cake_config.yaml,\n"
	    "                 then $CAKE_HOME/cake_config.yaml, then the built-in defaults)\n");
}

/* Returns EXIT_OK with OPTIONS filled, EXIT_USAGE after printing the problem, or -1 for --help. */
static int
parse_options(int argc, char **argv, struct db_options *options)
{
	options->subcommand = NULL;
	options->config_path = NULL;

	if (argc < 2) {
		cmd_error("missing db subcommand: expected upgrade or verify");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return -1;
	if (strcmp(argv[1], "upgrade") != 0 && strcmp(argv[1], "verify") != 0) {
		cmd_error("unknown db subcommand '%s': expected upgrade or verify", argv[1]);
		return EXIT_USAGE;
	}
	options->subcommand = argv[1];

	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return -1;
		if (strncmp(arg, "--config=", strlen("--config=")) == 0) {
			options->config_path = arg + strlen("--config=");
		} else if (strcmp(arg, "--config") == 0 && i + 1 < argc) {
			options->config_path = argv[++i];
		} else {
			cmd_error("unknown option '%s' for `cake db %s`", arg, options->subcommand);
			return EXIT_USAGE;
		}
		if (options->config_path[0] == '\0') {
			cmd_error("--config needs a file name");
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static int
db_upgrade(const char *path)
{
	sqlite3 *db;
	char error[1024];
	char before[16];
	char after[16];
	int applied;

	if (store_open(path, &db, error, sizeof error) == -1) {
		cmd_error("%s", error);
		return EXIT_FAILURE_STATUS;
	}
	if (store_version(db, before, sizeof before) == -1) {
		cmd_error("failed to read the schema version of %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return EXIT_FAILURE_STATUS;
	}

	applied = store_upgrade(db, stdout, error, sizeof error);
	if (applied == -1) {
		cmd_error("%s: %s", path, error);
		sqlite3_close(db);
		return EXIT_FAILURE_STATUS;
	}
	if (store_version(db, after, sizeof after) == -1) {
		cmd_error("failed to read the schema version of %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return EXIT_FAILURE_STATUS;
	}
	sqlite3_close(db);

	if (applied == 0)
		printf("Database is up to date (version %s)\n", after);
	else if (before[0] == '\0')
		printf("Database initialized successfully\n");
	else
		printf("Database upgraded from version %s to %s\n", before, after);
	return EXIT_OK;
}

/*
 * Opens the database read-only, so verify neither creates a missing file nor
 * repairs what it reports (store_open would switch the journal to WAL).
 * NOTE: a read-only connection cannot remove the -wal and -shm files of a
 * WAL database, so verify may leave empty ones next to it.
 */
static int
db_verify(const char *path)
{
	struct stat st;
	sqlite3 *db = NULL;
	int rc;

	if (stat(path, &st) == -1) {
		if (errno != ENOENT) {
			cmd_error("failed to access database %s: %s", path, strerror(errno));
			return EXIT_FAILURE_STATUS;
		}
		printf("Checking database structure...\n");
		printf(MARK_FAIL " Database not found at %s; run `cake db upgrade`\n", path);
		printf("Database verification FAILED\n");
		return EXIT_FAILURE_STATUS;
	}

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		cmd_error("failed to open database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return EXIT_FAILURE_STATUS;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);

	rc = store_verify(db, stdout);
	sqlite3_close(db);
	return rc == 0 ? EXIT_OK : EXIT_FAILURE_STATUS;
}

int
cmd_db(int argc, char **argv)
{
	struct db_options options;
	struct cake_config config;
	char cake_home[PATH_MAX];
	int status;

	status = parse_options(argc, argv, &options);
	if (status == -1) {
		usage(stdout);
		return EXIT_OK;
	}
	if (status != EXIT_OK) {
		usage(stderr);
		return status;
	}

	status = cmd_load_config(options.config_path, 0, &config, cake_home, sizeof cake_home);
	if (status != EXIT_OK)
		return status;

	if (strcmp(options.subcommand, "upgrade") == 0)
		status = db_upgrade(config.database_path);
	else
		status = db_verify(config.database_path);
	config_free(&config);
	return status;
}
