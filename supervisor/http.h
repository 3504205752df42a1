/*
 * The supervisor's HTTP endpoints, served with libevent's evhttp on the
 * supervisor's event loop.
 *
 * Health port: GET /health, GET /health/detailed, GET /ready.
 * Metrics port: GET /metrics (Prometheus text format), and GET
 * /metrics/history?name=NAME[&period=SECONDS], the samples the server takes
 * of its own metrics once a minute (see history.h), as JSON.
 * Unknown paths get 404, other methods 405. Requests with bodies or headers
 * over the size limits, or that stay incomplete past the timeout, are cut off.
 */
#ifndef CAKE_HTTP_H
#define CAKE_HTTP_H

#include <stddef.h>
#include <stdio.h>

struct event_base;
struct json_object;
struct http_server;

/* What the endpoints read from the supervisor; called on every request. */
struct http_source {
	/* The `cake status` JSON (caller puts the reference). */
	struct json_object *(*status)(void *arg);
	/* Writes the metrics exposition to OUT. */
	void (*metrics)(FILE *out, void *arg);
	void *arg;
};

struct http_options {
	const char *address;		/* "127.0.0.1" unless the config says otherwise */
	int health_port;		/* 0 disables the health endpoints */
	int metrics_port;		/* 0 disables /metrics */
	const char *version;
};

/*
 * Binds both ports. Returns NULL with a message in ERROR naming the address
 * and port that failed ("cannot listen on 127.0.0.1:9090: Address already in
 * use; pass --metrics-port=N").
 */
struct http_server *http_start(struct event_base *base, const struct http_options *options,
    const struct http_source *source, char *error, size_t error_size);

void http_stop(struct http_server *server);

struct http_reply {
	int status;
	char *body;		/* NUL-terminated; free() it */
	size_t length;
};

/*
 * The client side, for the CLI commands: sends "GET PATH" to ADDRESS:PORT
 * and reads the whole reply, all within TIMEOUT_MS. Replies over 16 MiB are
 * rejected. Returns 0 with REPLY filled (any status), or -1 with a message
 * in ERROR naming the address and what failed.
 */
int http_get(const char *address, int port, const char *path, int timeout_ms,
    struct http_reply *reply, char *error, size_t error_size);

#endif
