/*
 * CAKE configuration: defaults, the YAML file (libfyaml), environment
 * overrides and the commented template written by `cake init`.
 *
 * Loading is all or nothing: on any error the output struct is left as it
 * was and the message names the file, line, column and key, as in
 * "cake_config.yaml:3:13: strictness: expected minimal, balanced or paranoid, got 'strict'".
 */
#ifndef CAKE_CONFIG_H
#define CAKE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"

enum strictness {
	STRICTNESS_MINIMAL = 0,
	STRICTNESS_BALANCED = 1,
	STRICTNESS_PARANOID = 2,
};

#define CONFIG_FILE_NAME "cake_config.yaml"
#define CONFIG_VERSION "1.0"
#define CONFIG_ADDRESS_MAX 64

enum restart_policy {
	RESTART_ALWAYS = 0,
	RESTART_ON_FAILURE,	/* after a non-zero exit or a signal */
	RESTART_NEVER,
};

/* The supervisor's action on agent output when a stream ring is full. */
enum ring_full_policy {
	RING_FULL_BLOCK = 0,	/* stop reading the adapter's pipe until the watchdog catches up */
	RING_FULL_DROP,		/* discard the output and count it */
};

/* The supervised processes, in start order. */
enum supervised_process {
	SUPERVISED_WATCHDOG = 0,
	SUPERVISED_RECALL,
	SUPERVISED_OPERATOR,
	SUPERVISED_ADAPTER,
	SUPERVISED_COUNT,
};

/* The supervision.* section; docs/architecture.md explains the defaults. */
struct supervision_config {
	enum restart_policy restart[SUPERVISED_COUNT];	/* supervision.<process>.restart */
	int restart_limit;		/* restarts allowed within the window, 1-100 */
	int restart_window_seconds;	/* 1-3600 */
	int backoff_initial_ms;		/* delay before the second restart, 1-60000 */
	int backoff_max_ms;		/* 1-600000 */
	int healthy_reset_seconds;	/* uptime after which the backoff starts over */
	int heartbeat_interval_ms;	/* 100-60000 */
	int heartbeat_misses;		/* 1-100 */
	enum ring_full_policy ring_full;
};

struct cake_config {
	char version[16];		/* must be "1.0" */
	enum strictness strictness;
	int max_strikes;		/* escalation.max_strikes, 1-10 */
	int cooldown_minutes;		/* escalation.cooldown_minutes, 1-60 */

	char database_path[PATH_MAX];	/* database.path; relative to CAKE_HOME */
	int ttl_hours;			/* database.ttl_hours, 1-8760 */

	enum log_level log_level;	/* logging.level */
	char log_file[PATH_MAX];	/* logging.file; relative to CAKE_HOME */
	int log_max_size_mb;		/* logging.max_size_mb, 1-10240 */

	int max_latency_ms;		/* performance.max_latency_ms, 1-60000 */

	char **blocked_commands;	/* safety.blocked_commands */
	size_t blocked_command_count;
	bool audit_all_commands;	/* safety.audit_all_commands */

	int snapshot_retention_hours;	/* snapshot.retention_hours, 1-8760 */

	char http_address[CONFIG_ADDRESS_MAX];	/* http.address, default 127.0.0.1 */
	int health_port;		/* http.health_port, 0-65535, 0 disables */
	int metrics_port;		/* http.metrics_port, 0-65535, 0 disables */

	struct supervision_config supervision;

	char env[32];			/* CAKE_ENV; "" when unset */
	char source[PATH_MAX];		/* the file loaded, "" for defaults only */
};

/* Fills CONFIG with the documented defaults. */
void config_defaults(struct cake_config *config);

/*
 * Loads PATH over the defaults and validates every value. Unknown keys are
 * errors too, so a typo does not silently fall back to a default. CONFIG must
 * already contain defaults or a loaded config. On success its blocked command
 * list is freed and the whole struct replaced. Returns 0, or -1 with a
 * message in ERROR. Only the shape of watchdog.patterns (a list) is checked
 * here; rules_load() in watchdog/rules.h reads and checks each user rule.
 */
int config_load(const char *path, struct cake_config *config, char *error, size_t error_size);

/*
 * Applies CAKE_ENV, CAKE_STRICTNESS and CAKE_LOG_LEVEL from the environment.
 * Returns 0, or -1 with a message naming the variable and its value.
 */
int config_apply_env(struct cake_config *config, char *error, size_t error_size);

/*
 * Turns relative database and log paths into paths inside CAKE_HOME.
 * Returns 0, or -1 when a joined path would not fit in PATH_MAX (both paths
 * are then unchanged).
 */
int config_resolve_paths(struct cake_config *config, const char *cake_home);

/* Frees the blocked command list. config_defaults() may refill the struct after. */
void config_free(struct cake_config *config);

/*
 * Finds the config file: EXPLICIT if not NULL, else ./cake_config.yaml, else
 * $CAKE_HOME/cake_config.yaml. Writes the path to OUT. Returns 0 when the
 * file exists, -1 otherwise (OUT then contains the paths tried, for the message).
 */
int config_find(const char *explicit_path, const char *cake_home, char *out, size_t out_size);

/*
 * Writes the commented default config to PATH. Refuses an existing file
 * unless FORCE. Writes a temporary file and renames it, so a failure leaves
 * no half-written file. Returns 0, or -1 with a message in ERROR.
 */
int config_write_template(const char *path, bool force, char *error, size_t error_size);

const char *strictness_name(enum strictness strictness);
int strictness_parse(const char *text, enum strictness *out);

const char *restart_policy_name(enum restart_policy policy);
/* Parses "always", "on-failure" or "never". Returns 0, or -1 if unknown. */
int restart_policy_parse(const char *text, enum restart_policy *out);

#endif
