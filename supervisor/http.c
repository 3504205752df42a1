/*
 * Health, readiness and metrics endpoints; see http.h.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "history.h"
#include "http.h"
#include "log.h"

/* Requests are tiny GETs: anything bigger or slower is cut off. */
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 1024
#define HTTP_TIMEOUT_SECONDS 5

/* The largest reply http_get() accepts. */
#define HTTP_CLIENT_MAX_REPLY (16 * 1024 * 1024)

struct http_server {
	struct evhttp *health;
	struct evhttp *metrics;
	struct http_source source;
	char version[32];
	struct history *history;	/* NULL when /metrics is off */
	struct event *sample_timer;
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

/* Renders the exposition into a malloc'ed buffer. Returns NULL when out of memory. */
static char *
render_metrics(struct http_server *server, size_t *length)
{
	char *body = NULL;
	FILE *out;

	out = open_memstream(&body, length);
	if (out == NULL)
		return NULL;
	server->source.metrics(out, server->source.arg);
	if (fclose(out) != 0) {
		free(body);
		return NULL;
	}
	return body;
}

static void
sample_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_server *server = arg;
	size_t length;
	char *text = render_metrics(server, &length);

	if (text == NULL || history_add(server->history, time(NULL), text, length) < 0)
		log_warn("cannot record a metrics sample: out of memory");
	free(text);
}

static int
valid_metric_name(const char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > 200)
		return 0;
	for (const char *p = name; *p != '\0'; p++) {
		int letter = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';

		if (!letter && !(p > name && *p >= '0' && *p <= '9'))
			return 0;
	}
	return 1;
}

/* GET /metrics/history?name=NAME[&period=SECONDS]: the samples history_json() returns. */
static void
history_cb(struct evhttp_request *request, struct http_server *server)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(request));
	struct evkeyvalq parameters;
	struct json_object *reply;
	const char *name, *period_text;
	const char *text;
	long period = HISTORY_SAMPLES_MAX * (long)HISTORY_INTERVAL_SECONDS;
	char *end;

	TAILQ_INIT(&parameters);
	if (query != NULL && evhttp_parse_query_str(query, &parameters) < 0) {
		send_text(request, 400, "Bad Request", "text/plain", "invalid query string\n", 21);
		return;
	}
	name = evhttp_find_header(&parameters, "name");
	period_text = evhttp_find_header(&parameters, "period");
	if (!valid_metric_name(name)) {
		send_text(request, 400, "Bad Request", "text/plain", "name must be a metric name\n", 27);
		evhttp_clear_headers(&parameters);
		return;
	}
	if (period_text != NULL) {
		errno = 0;
		period = strtol(period_text, &end, 10);
		if (errno != 0 || end == period_text || *end != '\0' || period < 1) {
			send_text(request, 400, "Bad Request", "text/plain", "period must be seconds, at least 1\n", 35);
			evhttp_clear_headers(&parameters);
			return;
		}
	}

	reply = history_json(server->history, name, time(NULL) - (time_t)period);
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	send_text(request, 200, "OK", "application/json", text, strlen(text));
	json_object_put(reply);
	evhttp_clear_headers(&parameters);
}

static void
metrics_request_cb(struct evhttp_request *request, void *arg)
{
	struct http_server *server = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
	char *body;
	size_t length;

	if (path == NULL || (strcmp(path, "/metrics") != 0 && strcmp(path, "/metrics/history") != 0)) {
		send_text(request, 404, "Not Found", "text/plain", "not found\n", 10);
		return;
	}
	if (!require_get(request))
		return;
	if (strcmp(path, "/metrics/history") == 0) {
		history_cb(request, server);
		return;
	}

	body = render_metrics(server, &length);
	if (body == NULL) {
		evhttp_send_error(request, 500, "Internal Server Error");
		return;
	}
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
	/* Every method reaches the callbacks, which reply 405 to all but GET and HEAD. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
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
		struct timeval interval = { HISTORY_INTERVAL_SECONDS, 0 };

		server->metrics = http_listen(base, options->address, options->metrics_port, "--metrics-port",
		    metrics_request_cb, server, error, error_size);
		if (server->metrics == NULL)
			goto fail;
		server->history = history_create();
		server->sample_timer = event_new(base, -1, EV_PERSIST, sample_cb, server);
		if (server->history == NULL || server->sample_timer == NULL) {
			snprintf(error, error_size, "out of memory");
			goto fail;
		}
		event_add(server->sample_timer, &interval);
		/* The first sample is taken as soon as the loop runs. */
		event_active(server->sample_timer, EV_TIMEOUT, 0);
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
	if (server->sample_timer != NULL)
		event_free(server->sample_timer);
	history_free(server->history);
	free(server);
}

static long long
http_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits until FD is ready for EVENTS or DEADLINE_MS passes. Returns 1 when ready, 0 on timeout, -1 on error. */
static int
wait_fd(int fd, short events, long long deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline_ms - http_now_ms();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)left);
		if (n >= 0)
			return n > 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Connects one socket to AI before DEADLINE_MS. Returns the socket, or -1 with errno set. */
static int
connect_one(const struct addrinfo *ai, long long deadline_ms)
{
	socklen_t length;
	int fd, failure, ready;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;

	ready = wait_fd(fd, POLLOUT, deadline_ms);
	if (ready <= 0) {
		if (ready == 0)
			errno = ETIMEDOUT;
		goto fail;
	}
	length = sizeof failure;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) < 0)
		goto fail;
	if (failure == 0)
		return fd;
	errno = failure;

fail:
	failure = errno;
	close(fd);
	errno = failure;
	return -1;
}

static int
client_connect(const char *address, int port, long long deadline_ms, char *error, size_t error_size)
{
	struct addrinfo hints, *addresses;
	char service[16];
	int fd = -1, rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof service, "%d", port);
	rc = getaddrinfo(address, service, &hints, &addresses);
	if (rc != 0) {
		snprintf(error, error_size, "cannot resolve %s: %s", address, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = addresses; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, deadline_ms);
		if (fd < 0)
			snprintf(error, error_size, "cannot connect to %s:%d: %s", address, port, strerror(errno));
	}
	freeaddrinfo(addresses);
	return fd;
}

/* Sends all of DATA before DEADLINE_MS. Returns 0, or -1 with errno set. */
static int
send_all(int fd, const char *data, size_t length, long long deadline_ms)
{
	while (length > 0) {
		ssize_t n = send(fd, data, length, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			length -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		n = wait_fd(fd, POLLOUT, deadline_ms);
		if (n <= 0) {
			if (n == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* Reads until EOF before DEADLINE_MS into a malloc'ed buffer. Returns it, or NULL with errno set. */
static char *
receive_all(int fd, size_t *length, long long deadline_ms)
{
	size_t used = 0, capacity = 4096;
	char *buffer = malloc(capacity + 1);

	if (buffer == NULL)
		return NULL;
	for (;;) {
		ssize_t n;
		int ready;

		if (used == capacity) {
			char *bigger;

			if (capacity >= HTTP_CLIENT_MAX_REPLY) {
				errno = EFBIG;
				goto fail;
			}
			capacity *= 2;
			bigger = realloc(buffer, capacity + 1);
			if (bigger == NULL)
				goto fail;
			buffer = bigger;
		}
		n = recv(fd, buffer + used, capacity - used, 0);
		if (n > 0) {
			used += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			goto fail;
		ready = wait_fd(fd, POLLIN, deadline_ms);
		if (ready <= 0) {
			if (ready == 0)
				errno = ETIMEDOUT;
			goto fail;
		}
	}
	buffer[used] = '\0';
	*length = used;
	return buffer;

fail:
	free(buffer);
	return NULL;
}

int
http_get(const char *address, int port, const char *path, int timeout_ms,
    struct http_reply *reply, char *error, size_t error_size)
{
	long long deadline_ms = http_now_ms() + timeout_ms;
	char request[1024];
	char *response, *body;
	size_t length;
	int fd, status, request_length;

	memset(reply, 0, sizeof *reply);
	request_length = snprintf(request, sizeof request,
	    "GET %s HTTP/1.0\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", path, address, port);
	if (request_length < 0 || (size_t)request_length >= sizeof request) {
		snprintf(error, error_size, "request path too long: %s", path);
		return -1;
	}

	fd = client_connect(address, port, deadline_ms, error, error_size);
	if (fd < 0)
		return -1;
	if (send_all(fd, request, (size_t)request_length, deadline_ms) < 0) {
		snprintf(error, error_size, "cannot send the request to %s:%d: %s", address, port, strerror(errno));
		close(fd);
		return -1;
	}
	response = receive_all(fd, &length, deadline_ms);
	if (response == NULL) {
		snprintf(error, error_size, "no complete reply from %s:%d%s: %s", address, port, path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);

	body = strstr(response, "\r\n\r\n");
	if (sscanf(response, "HTTP/1.%*d %d", &status) != 1 || body == NULL) {
		snprintf(error, error_size, "invalid HTTP reply from %s:%d%s", address, port, path);
		free(response);
		return -1;
	}
	body += 4;
	reply->status = status;
	reply->length = length - (size_t)(body - response);
	memmove(response, body, reply->length + 1);
	reply->body = response;
	return 0;
}
