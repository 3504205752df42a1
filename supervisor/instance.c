/*
 * The running instance seen from the CLI; see instance.h.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"
#include "control.h"
#include "instance.h"
#include "paths.h"

static void
read_ports(struct instance *instance)
{
	struct json_object *http, *value;

	snprintf(instance->address, sizeof instance->address, "%s", instance->config.http_address);
	instance->health_port = instance->config.health_port;
	instance->metrics_port = instance->config.metrics_port;
	if (instance->status == NULL || !json_object_object_get_ex(instance->status, "http", &http))
		return;

	snprintf(instance->address, sizeof instance->address, "%s",
	    instance_string(http, "address", instance->address));
	if (json_object_object_get_ex(http, "health_port", &value))
		instance->health_port = json_object_get_int(value);
	if (json_object_object_get_ex(http, "metrics_port", &value))
		instance->metrics_port = json_object_get_int(value);
}

int
instance_open(struct instance *instance, const char *config_path, int timeout_ms)
{
	char socket_path[PATH_MAX];
	struct json_object *request;
	enum control_result result;
	int rc;

	memset(instance, 0, sizeof *instance);
	rc = cmd_load_config(config_path, 0, &instance->config, instance->home, sizeof instance->home);
	if (rc != EXIT_OK)
		return rc;

	if (paths_join(socket_path, sizeof socket_path, instance->home, CONTROL_SOCKET_NAME) < 0) {
		snprintf(instance->status_error, sizeof instance->status_error,
		    "CAKE_HOME %s is too long for the control socket path", instance->home);
	} else {
		request = json_object_new_object();
		json_object_object_add(request, "command", json_object_new_string("status"));
		result = control_call(socket_path, request, &instance->status, timeout_ms,
		    instance->status_error, sizeof instance->status_error);
		json_object_put(request);
		if (result == CONTROL_NOT_RUNNING)
			snprintf(instance->status_error, sizeof instance->status_error,
			    "CAKE is not running (no supervisor answers on %s)", socket_path);
		if (result != CONTROL_OK) {
			json_object_put(instance->status);
			instance->status = NULL;
		}
	}
	read_ports(instance);
	return EXIT_OK;
}

void
instance_close(struct instance *instance)
{
	json_object_put(instance->status);
	instance->status = NULL;
	config_free(&instance->config);
}

const char *
instance_string(struct json_object *object, const char *key, const char *fallback)
{
	struct json_object *value;

	if (object == NULL || !json_object_object_get_ex(object, key, &value) || value == NULL)
		return fallback;
	return json_object_get_string(value);
}

long
instance_pid(const struct instance *instance, const char *name)
{
	struct json_object *processes, *process, *pid;

	if (instance->status == NULL ||
	    !json_object_object_get_ex(instance->status, "processes", &processes) ||
	    !json_object_object_get_ex(processes, name, &process) ||
	    !json_object_object_get_ex(process, "pid", &pid) || pid == NULL)
		return 0;
	return (long)json_object_get_int64(pid);
}
