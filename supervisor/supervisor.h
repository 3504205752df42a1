/*
 * The supervisor: the long-lived parent of the process tree. It owns the
 * controller, the stream rings, the control socket and the instance lock,
 * starts the watchdog, recall and operator workers and the adapter, restarts
 * them by policy, and routes every message of the pipeline between them.
 */
#ifndef CAKE_SUPERVISOR_H
#define CAKE_SUPERVISOR_H

#include "config.h"

struct supervisor_options {
	const struct cake_config *config;
	const char *cake_home;
	const char *adapter_name;	/* "exec" */
	const char *adapter_path;	/* the adapter executable */
	char *const *adapter_args;	/* arguments after `--`, NULL-terminated */
};

/*
 * Runs the tree in the foreground until it is stopped. Prints the status
 * block to stdout once every process is ready. Returns the exit status:
 * EXIT_OK after a requested stop or when the agent finished, 1 when another
 * instance holds CAKE_HOME, EXIT_INTERNAL when the tree cannot be set up.
 */
int supervisor_main(const struct supervisor_options *options);

#endif
