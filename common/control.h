/*
 * The control socket: a Unix stream socket at $CAKE_HOME/cake.sock (mode
 * 0600) on which the running supervisor answers CLI commands.
 *
 * A request is one JSON object on one line, {"command":"status", ...}; the
 * reply is one JSON object on one line. Replies carry "ok": true, or "ok":
 * false and an "error" message.
 */
#ifndef CAKE_CONTROL_H
#define CAKE_CONTROL_H

#include <stddef.h>

struct json_object;

#define CONTROL_SOCKET_NAME "cake.sock"
#define CONTROL_LINE_MAX 65536

enum control_result {
	CONTROL_OK = 0,
	CONTROL_NOT_RUNNING = 1,	/* no socket, or nobody listening */
	CONTROL_FAILED = 2,		/* connected, but the exchange failed */
};

/*
 * Sends REQUEST to the supervisor listening at SOCKET_PATH and waits up to
 * TIMEOUT_MS for the reply, stored in *REPLY (caller puts it).
 */
enum control_result control_call(const char *socket_path, struct json_object *request,
    struct json_object **reply, int timeout_ms, char *error, size_t error_size);

struct msg_detection;

/*
 * Builds the classification of DETECTION as `cake test-intervention --json`
 * prints it: {"detected":true,"error_type":...,"severity":...,"confidence":...,
 * "suggested_fix":...,"intervention":...}. DETECTION NULL gives
 * {"detected":false,...,"intervention":null}. INTERVENTION may be NULL.
 */
struct json_object *control_detection_json(const struct msg_detection *detection, const char *intervention);

#endif
