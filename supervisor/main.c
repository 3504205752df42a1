/*
 * The cake executable: the command-line interface, and the entry point of
 * every worker process, which the supervisor starts by re-executing this
 * binary with argv[0] set to "cake: ROLE".
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "operator/operator.h"
#include "paths.h"
#include "proc.h"
#include "recall/recall.h"
#include "version.h"
#include "watchdog/watchdog.h"

#define ROLE_PREFIX "cake: "

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, "write a commented config file" },
	{ "db", cmd_db, "upgrade or verify the database (db upgrade | db verify)" },
	{ "start", cmd_start, "start the supervisor, its workers and an adapter" },
	{ "status", cmd_status, "print the running instance's status as JSON" },
	{ "stop", cmd_stop, "stop the running instance" },
	{ "test-intervention", cmd_test_intervention, "classify agent output read from stdin" },
	{ "demo", cmd_demo, "watch CAKE catch and correct an error in a bundled project" },
	{ "restart", cmd_restart, "restart the running instance's processes in place" },
	{ "hook", cmd_hook, "answer one agent hook event read from stdin (hook claude-code)" },
	{ "hooks", cmd_hooks, "install or uninstall CAKE's Claude Code hooks" },
	{ "gate", cmd_gate, "explain the command gate's decision (gate explain -- COMMAND)" },
	{ "health", cmd_health, "exit 0 when the running instance is healthy" },
	{ "self-test", cmd_self_test, "check the database, config, components, adapter and metrics" },
	{ "logs", cmd_logs, "show, follow or export the log" },
	{ "audit", cmd_audit, "show or export the audit log" },
	{ "security", cmd_security, "check file modes, user and audit settings (security check)" },
	{ "metrics", cmd_metrics, "show a metric over a period" },
	{ "stats", cmd_stats, "show per-process statistics (stats memory)" },
	{ "analyze", cmd_analyze, "summarize recent interventions (analyze interventions)" },
};


struct role {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct role roles[] = {
	{ "watchdog", watchdog_main },
	{ "operator", operator_main },
	{ "recall", recall_main },
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: cake COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-18s %s\n", "version", "print the version");
	fprintf(out, "\nRun `cake COMMAND --help` for the options of a command.\n");
}

/* Runs a worker when this process was started by the supervisor as "cake: ROLE". */
static int
run_role(const char *title, int argc, char **argv)
{
	const char *name = title + strlen(ROLE_PREFIX);

	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		if (strcmp(roles[i].name, name) != 0)
			continue;
		log_init(roles[i].name, LOG_LEVEL_INFO);
		proc_set_title(title);
		return roles[i].run(argc, argv);
	}
	fprintf(stderr, "cake: unknown worker role '%s'\n", name);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	if (argc > 0 && strncmp(argv[0], ROLE_PREFIX, strlen(ROLE_PREFIX)) == 0)
		return run_role(argv[0], argc, argv);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("CAKE version %s\n", CAKE_VERSION);
		return EXIT_OK;
	}

	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}

	cmd_error("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
