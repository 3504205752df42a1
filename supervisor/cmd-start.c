/*
 * `cake start`: validates the flags, the config and the adapter, then runs
 * the supervisor in the foreground.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "paths.h"
#include "supervisor.h"

static void
start_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake start --adapter=NAME [--config=FILE] [--log-level=LEVEL] [-- ADAPTER-ARGS...]\n"
	    "\n"
	    "  --adapter=NAME     adapter to run (cake-adapter-NAME), for example exec\n"
	    "  --config=FILE      config file (default ./cake_config.yaml, then $CAKE_HOME/cake_config.yaml)\n"
	    "  --log-level=LEVEL  DEBUG, INFO, WARN or ERROR; overrides the config and CAKE_LOG_LEVEL\n"
	    "  ADAPTER-ARGS       passed to the adapter; the exec adapter runs them as a command\n");
}

int
cmd_start(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "adapter", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct supervisor_options options;
	struct cake_config config;
	char cake_home[PATH_MAX];
	char adapter_path[PATH_MAX];
	const char *adapter = NULL, *config_path = NULL, *log_level = NULL;
	enum log_level level;
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
	if (log_level != NULL)
		config.log_level = level;
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
