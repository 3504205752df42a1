/*
 * The `cake` command-line commands. Each takes the arguments after the
 * command name (argv[0] is the command) and returns the process exit status.
 */
#ifndef CAKE_CMD_H
#define CAKE_CMD_H

#include <stddef.h>

#include "config.h"

/* Exit statuses shared by every command; docs/operations.md lists them. */
#define EXIT_OK 0
#define EXIT_FAILURE_STATUS 1	/* the command ran and the answer is "no" */
#define EXIT_USAGE 2		/* invalid flags or configuration */
#define EXIT_GAVE_UP 3		/* a component exhausted its restarts */
#define EXIT_INTERNAL 4		/* an internal error */

int cmd_init(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_test_intervention(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_restart(int argc, char **argv);

/* Claude Code integration and the command gate. */
int cmd_hook(int argc, char **argv);
int cmd_hooks(int argc, char **argv);
int cmd_gate(int argc, char **argv);

/* Observability: health, logs, audit, metrics. */
int cmd_health(int argc, char **argv);
int cmd_self_test(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_security(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_analyze(int argc, char **argv);

/*
 * Finds, loads and validates the config (EXPLICIT_PATH may be NULL), applies
 * the environment overrides and resolves paths inside CAKE_HOME, which is
 * created if missing. Prints the problem to stderr and returns EXIT_USAGE or
 * EXIT_FAILURE_STATUS on failure, EXIT_OK on success. When REQUIRE_FILE is 0
 * a missing file means "use the defaults".
 */
int cmd_load_config(const char *explicit_path, int require_file, struct cake_config *config,
    char *cake_home, size_t cake_home_size);

/* Prints "cake: " and the message to stderr. */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
