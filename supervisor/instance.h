/*
 * The running instance as the observability commands see it: the config
 * they load, the status the supervisor returns on its control socket, and
 * where its HTTP endpoints listen.
 */
#ifndef CAKE_INSTANCE_H
#define CAKE_INSTANCE_H

#include <limits.h>

#include "config.h"

struct json_object;

struct instance {
	struct cake_config config;
	char home[PATH_MAX];
	struct json_object *status;	/* the `cake status` JSON; NULL when nothing answers */
	char status_error[PATH_MAX + 128];	/* why STATUS is NULL */
	char address[CONFIG_ADDRESS_MAX];
	int health_port;		/* 0 when off */
	int metrics_port;		/* 0 when off */
};

/*
 * Loads the config (CONFIG_PATH may be NULL: the usual search, defaults when
 * no file exists) and asks the supervisor for its status within TIMEOUT_MS.
 * The ports come from the status when it names them ("http" object), else
 * from the config. Returns EXIT_OK, or the exit status after printing why
 * the config could not be loaded. A missing instance is not an error.
 */
int instance_open(struct instance *instance, const char *config_path, int timeout_ms);
void instance_close(struct instance *instance);

/* Returns the string at KEY of OBJECT, or FALLBACK. */
const char *instance_string(struct json_object *object, const char *key, const char *fallback);

/* Returns the pid of process NAME ("controller", "watchdog", ...) in the status, or 0. */
long instance_pid(const struct instance *instance, const char *name);

#endif
