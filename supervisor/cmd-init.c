/*
 * cake init: writes the commented default configuration.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"

static void
init_usage(FILE *stream)
{
	fprintf(stream,
	    "usage: cake init [--output=FILE] [--force]\n"
	    "\n"
	    "Writes a configuration file listing every setting with its default\n"
	    "and a comment saying what it sets.\n"
	    "\n"
	    "  --output=FILE  file to write (default: %s in the current directory)\n"
	    "  --force        overwrite FILE if it exists\n",
	    CONFIG_FILE_NAME);
}

int
cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = CONFIG_FILE_NAME;
	char error[PATH_MAX + 256];
	bool force = false;
	int option;

	/* glibc: optind 0 also resets getopt's state from any earlier scan. */
	optind = 0;
	opterr = 0;
	while ((option = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
		switch (option) {
		case 'o':
			output = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			init_usage(stdout);
			return EXIT_OK;
		case ':':
			cmd_error("init: %s requires a value, as in --output=FILE", argv[optind - 1]);
			init_usage(stderr);
			return EXIT_USAGE;
		default:
			/* A short option may sit inside a group such as -fx, so name it by optopt. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				cmd_error("init: invalid option '%s'", argv[optind - 1]);
			else
				cmd_error("init: invalid option '-%c'", optopt);
			init_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cmd_error("init: unexpected argument '%s'", argv[optind]);
		init_usage(stderr);
		return EXIT_USAGE;
	}
	if (*output == '\0') {
		cmd_error("init: --output needs a file name, as in --output=%s", CONFIG_FILE_NAME);
		return EXIT_USAGE;
	}

	if (config_write_template(output, force, error, sizeof error) == -1) {
		cmd_error("%s", error);
		return EXIT_FAILURE_STATUS;
	}

	printf("Configuration written to %s\n", output);
	printf("Next: cake db upgrade\n");
	return EXIT_OK;
}
