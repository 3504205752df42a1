/*
 * Helpers shared by the command-line commands; see cmd.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "paths.h"

void
cmd_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cake: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cmd_load_config(const char *explicit_path, int require_file, struct cake_config *config,
    char *cake_home, size_t cake_home_size)
{
	char path[PATH_MAX * 2 + 8];
	char error[PATH_MAX + 1024];

	config_defaults(config);
	if (paths_cake_home(cake_home, cake_home_size) < 0) {
		cmd_error("cannot locate CAKE_HOME: set CAKE_HOME or HOME");
		return EXIT_USAGE;
	}

	if (config_find(explicit_path, cake_home, path, sizeof path) == 0) {
		if (config_load(path, config, error, sizeof error) < 0) {
			fprintf(stderr, "%s\n", error);
			return EXIT_USAGE;
		}
	} else if (require_file || explicit_path != NULL) {
		cmd_error("no config file found at %s; run `cake init --output=cake_config.yaml` to write one",
		    path);
		return EXIT_FAILURE_STATUS;
	}

	if (config_apply_env(config, error, sizeof error) < 0) {
		cmd_error("%s", error);
		return EXIT_USAGE;
	}

	if (paths_mkdir_p(cake_home, 0700) < 0) {
		cmd_error("cannot create CAKE_HOME %s: %s", cake_home, strerror(errno));
		return EXIT_FAILURE_STATUS;
	}
	if (config_resolve_paths(config, cake_home) < 0) {
		cmd_error("CAKE_HOME %s makes the database or log path longer than %d bytes; use a shorter CAKE_HOME",
		    cake_home, PATH_MAX);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
