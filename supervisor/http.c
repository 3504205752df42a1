/*
 * Health, readiness and metrics endpoints; see http.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "http.h"
#include "log.h"

/* Requests are tiny GETs: anything bigger or slower is cut off. */
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 1024
#define HTTP_TIMEOUT_SECONDS 5

struct http_server {
	struct evhttp *health;
	struct evhttp *metrics;
	struct http_source source;
	char version[32];
};

static void
send_text(struct evhttp_request *request, int code, const char *reason,
    const char *content_type, const char *body, size_t length)
{
	struct evbuffer *buffer = evbuffer_new();

	if (buffer == NULL) {
		evhttp_send_error(request, 500, "Internal Server Error");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type", content_type);
	evbuffer_add(buffer, body, length);
	evhttp_send_reply(request, code, reason, buffer);
	evbuffer_free(buffer);
}

static void
send_json(struct evhttp_request *request, int code, struct json_object *object)
{
	const char *text = json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN);

	send_text(request, code, code == 200 ? "OK" : "Service Unavailable", "application/json",
	    text, strlen(text));
}

/* Accepts GET and HEAD only. Returns 0 when the request was answered with 405. */
static int
require_get(struct evhttp_request *request)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(request);

	if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD)
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", "GET, HEAD");
	send_text(request, 405, "Method Not Allowed", "text/plain", "method not allowed\n", 19);
	return 0;
}

static const char *
json_string(struct json_object *object, const char *key, const char *fallback)
{
	struct json_object *value;

	if (object == NULL || !json_object_object_get_ex(object, key, &value) || value == NULL)
		return fallback;
	return json_object_get_string(value);
}

static int64_t
json_int(struct json_object *object, const char *key)
{
	struct json_object *value;

	if (object == NULL || !json_object_object_get_ex(object, key, &value))
		return 0;
	return json_object_get_int64(value);
}

/*
 * Lists what keeps the instance from being healthy: each process that is not
 * ready ("adapter_failed", "recall_backoff"), and an unhealthy adapter.
 */
static struct json_object *
health_errors(struct json_object *status)
{
	struct json_object *errors = json_object_new_array();
	struct json_object *processes;
	const char *adapter_health = json_string(status, "adapter_health", "unknown");

	if (json_object_object_get_ex(status, "processes", &processes)) {
		json_object_object_foreach(processes, name, process) {
			const char *state = json_string(process, "state", "unknown");
			char error[64];

			if (strcmp(state, "ready") == 0)
				continue;
			snprintf(error, sizeof error, "%s_%s", name, state);
			json_object_array_add(errors, json_object_new_string(error));
		}
	}
	if (strcmp(adapter_health, "unhealthy") == 0)
		json_object_array_add(errors, json_object_new_string("adapter_unhealthy"));
	return errors;
}

static void
health_cb(struct evhttp_request *request, struct http_server *server, int detailed)
{
	struct json_object *status = server->source.status(server->source.arg);
	struct json_object *errors = health_errors(status);
	struct json_object *reply = json_object_new_object();
	int healthy = json_object_array_length(errors) == 0;

	json_object_object_add(reply, "status", json_object_new_string(healthy ? "healthy" : "unhealthy"));
	json_object_object_add(reply, "version", json_object_new_string(server->version));
	if (healthy)
		json_object_object_add(reply, "uptime", json_object_new_int64(json_int(status, "uptime_seconds")));
	else
		json_object_object_add(reply, "errors", json_object_get(errors));

	if (detailed) {
		struct json_object *components = json_object_new_object();
		struct json_object *stats = json_object_new_object();
		struct json_object *source_components;
		int64_t detections = json_int(status, "total_detections");
		int64_t interventions = json_int(status, "total_interventions");
		const char *last = json_string(status, "last_intervention", NULL);

		json_object_object_get_ex(status, "components", &source_components);
		json_object_object_add(components, "controller", json_object_new_string("running"));
		json_object_object_add(components, "database",
		    json_object_new_string(json_string(source_components, "recall_db", "unknown")));
		json_object_object_add(components, "adapter",
		    json_object_new_string(json_string(status, "adapter_health", "unknown")));
		json_object_object_add(components, "metrics",
		    json_object_new_string(server->metrics != NULL ? "serving" : "disabled"));
		json_object_object_add(reply, "components", components);

		json_object_object_add(stats, "uptime_seconds", json_object_new_int64(json_int(status, "uptime_seconds")));
		json_object_object_add(stats, "intervention_count", json_object_new_int64(interventions));
		json_object_object_add(stats, "detection_count", json_object_new_int64(detections));
		/* The share of detected errors that received a delivered correction. */
		json_object_object_add(stats, "error_prevention_rate",
		    json_object_new_double(detections > 0 ? (double)interventions / (double)detections : 0.0));
		json_object_object_add(stats, "db_connections",
		    json_object_new_int(strcmp(json_string(source_components, "recall_db", ""), "connected") == 0));
		json_object_object_add(reply, "stats", stats);
		json_object_object_add(reply, "last_intervention", last != NULL ? json_object_new_string(last) : NULL);
	}

	send_json(request, healthy ? 200 : 503, reply);
	json_object_put(reply);
	json_object_put(errors);
	json_object_put(status);
}

static void
ready_cb(struct evhttp_request *request, struct http_server *server)
{
	struct json_object *status = server->source.status(server->source.arg);
	struct json_object *errors = health_errors(status);
	struct json_object *reply = json_object_new_object();
	int ready = json_object_array_length(errors) == 0;

	json_object_object_add(reply, "ready", json_object_new_boolean(ready));
	if (!ready)
		json_object_object_add(reply, "waiting_for", json_object_get(errors));
	send_json(request, ready ? 200 : 503, reply);
	json_object_put(reply);
	json_object_put(errors);
	json_object_put(status);
}

static void
health_request_cb(struct evhttp_request *request, void *arg)
{
	struct http_server *server = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));

	if (path == NULL)
		path = "/";
	if (strcmp(path, "/health") != 0 && strcmp(path, "/health/detailed") != 0 && strcmp(path, "/ready") != 0) {
		send_text(request, 404, "Not Found", "text/plain", "not found\n", 10);
		return;
	}
	if (!require_get(request))
		return;

	if (strcmp(path, "/ready") == 0)
		ready_cb(request, server);
	else
		health_cb(request, server, strcmp(path, "/health/detailed") == 0);
}

static void
metrics_request_cb(struct evhttp_request *request, void *arg)
{
	struct http_server *server = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
	char *body = NULL;
	size_t length = 0;
	FILE *out;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		send_text(request, 404, "Not Found", "text/plain", "not found\n", 10);
		return;
	}
	if (!require_get(request))
		return;

	out = open_memstream(&body, &length);
	if (out == NULL) {
		evhttp_send_error(request, 500, "Internal Server Error");
		return;
	}
	server->source.metrics(out, server->source.arg);
	fclose(out);
	send_text(request, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, length);
	free(body);
}

static struct evhttp *
http_listen(struct event_base *base, const char *address, int port, const char *flag,
    void (*callback)(struct evhttp_request *, void *), struct http_server *server,
    char *error, size_t error_size)
{
	struct evhttp *http = evhttp_new(base);

	if (http == NULL) {
		snprintf(error, error_size, "cannot create the HTTP server");
		return NULL;
	}
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_timeout(http, HTTP_TIMEOUT_SECONDS);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, callback, server);

	if (evhttp_bind_socket_with_handle(http, address, (ev_uint16_t)port) == NULL) {
		snprintf(error, error_size, "cannot listen on %s:%d: %s; pass %s=N with a free port",
		    address, port, strerror(errno), flag);
		evhttp_free(http);
		return NULL;
	}
	return http;
}

struct http_server *
http_start(struct event_base *base, const struct http_options *options,
    const struct http_source *source, char *error, size_t error_size)
{
	struct http_server *server = calloc(1, sizeof *server);

	if (server == NULL) {
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	server->source = *source;
	snprintf(server->version, sizeof server->version, "%s", options->version);

	if (options->health_port > 0) {
		server->health = http_listen(base, options->address, options->health_port, "--health-port",
		    health_request_cb, server, error, error_size);
		if (server->health == NULL)
			goto fail;
		log_info("health endpoints on http://%s:%d/health", options->address, options->health_port);
	}
	if (options->metrics_port > 0) {
		server->metrics = http_listen(base, options->address, options->metrics_port, "--metrics-port",
		    metrics_request_cb, server, error, error_size);
		if (server->metrics == NULL)
			goto fail;
		log_info("metrics on http://%s:%d/metrics", options->address, options->metrics_port);
	}
	return server;

fail:
	http_stop(server);
	return NULL;
}

void
http_stop(struct http_server *server)
{
	if (server == NULL)
		return;
	if (server->health != NULL)
		evhttp_free(server->health);
	if (server->metrics != NULL)
		evhttp_free(server->metrics);
	free(server);
}
