/*
 * `cake start`: validates the flags, the config and the adapter, then runs
 * the supervisor in the foreground.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "paths.h"
#include "supervisor.h"
#include "watchdog/rules.h"

static void
start_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake start --adapter=NAME [--config=FILE] [--log-level=LEVEL]\n"
	    "                  [--health-port=N] [--metrics-port=N] [-- ADAPTER-ARGS...]\n"
	    "\n"
	    "  --adapter=NAME     adapter to run (cake-adapter-NAME), for example exec\n"
	    "  --config=FILE      config file (default ./cake_config.yaml, then $CAKE_HOME/cake_config.yaml)\n"
	    "  --log-level=LEVEL  DEBUG, INFO, WARN or ERROR; overrides the config and CAKE_LOG_LEVEL\n"
	    "  --health-port=N    port of /health and /ready (default 8080, 0 turns them off)\n"
	    "  --metrics-port=N   port of /metrics (default 9090, 0 turns it off)\n"
	    "  ADAPTER-ARGS       passed to the adapter; the exec adapter runs them as a command\n");
}

static int
parse_port(const char *text, const char *flag, int *out)
{
	char *end;
	long port;

	errno = 0;
	port = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || port < 0 || port > 65535) {
		cmd_error("invalid %s '%s': expected a port from 1 to 65535, or 0 to turn it off", flag, text);
		return -1;
	}
	*out = (int)port;
	return 0;
}

/*
 * Compiles the detection rules once before any process starts, so an
 * invalid rule in the config stops `cake start` with its location instead
 * of sending the watchdog into a crash loop.
 */
static int
check_rules(const struct cake_config *config)
{
	struct rules_options options = { NULL, config->source[0] != '\0' ? config->source : NULL };
	char error[1024];
	struct rules *rules;

	rules = rules_load(&options, error, sizeof error);
	if (rules == NULL) {
		fprintf(stderr, "%s\n", error);
		return -1;
	}
	rules_free(rules);
	return 0;
}

int
cmd_start(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "adapter", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "health-port", required_argument, NULL, 'H' },
		{ "metrics-port", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct supervisor_options options;
	struct cake_config config;
	char cake_home[PATH_MAX];
	char adapter_path[PATH_MAX];
	const char *adapter = NULL, *config_path = NULL, *log_level = NULL;
	enum log_level level;
	int health_port = -1, metrics_port = -1;
	int option, rc;

	optind = 1;
	while ((option = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
		switch (option) {
		case 'a':
			adapter = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			log_level = optarg;
			break;
		case 'H':
			if (parse_port(optarg, "--health-port", &health_port) < 0)
				return EXIT_USAGE;
			break;
		case 'M':
			if (parse_port(optarg, "--metrics-port", &metrics_port) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			start_usage(stdout);
			return EXIT_OK;
		default:
			start_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (adapter == NULL) {
		cmd_error("missing --adapter; for example `cake start --adapter=exec -- python3 main.py`");
		start_usage(stderr);
		return EXIT_USAGE;
	}
	if (log_level != NULL && log_level_parse(log_level, &level) < 0) {
		cmd_error("invalid --log-level '%s': expected DEBUG, INFO, WARN or ERROR", log_level);
		return EXIT_USAGE;
	}
	if (paths_find_adapter(adapter, adapter_path, sizeof adapter_path) < 0) {
		char available[1024];

		paths_list_adapters(available, sizeof available);
		cmd_error("unknown adapter '%s'; available adapters: %s (add directories with CAKE_ADAPTER_PATH)",
		    adapter, available);
		return EXIT_USAGE;
	}

	rc = cmd_load_config(config_path, 1, &config, cake_home, sizeof cake_home);
	if (rc != EXIT_OK)
		return rc;
	if (check_rules(&config) < 0) {
		config_free(&config);
		return EXIT_USAGE;
	}
	if (log_level != NULL)
		config.log_level = level;
	if (health_port >= 0)
		config.health_port = health_port;
	if (metrics_port >= 0)
		config.metrics_port = metrics_port;
	log_init("supervisor", config.log_level);

	memset(&options, 0, sizeof options);
	options.config = &config;
	options.cake_home = cake_home;
	options.adapter_name = adapter;
	options.adapter_path = adapter_path;
	options.adapter_args = argv + optind;
	rc = supervisor_main(&options);

	config_free(&config);
	return rc;
}
