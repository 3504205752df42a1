/*
 * Client side of the control socket; see control.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control.h"
#include "proto.h"

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int
control_connect(const char *socket_path, char *error, size_t error_size)
{
	struct sockaddr_un address;
	int fd;

	memset(&address, 0, sizeof address);
	address.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof address.sun_path) {
		snprintf(error, error_size, "control socket path %s is too long", socket_path);
		return -1;
	}
	strcpy(address.sun_path, socket_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(error, error_size, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
		snprintf(error, error_size, "cannot connect to %s: %s", socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

enum control_result
control_call(const char *socket_path, struct json_object *request,
    struct json_object **reply, int timeout_ms, char *error, size_t error_size)
{
	struct timespec start;
	const char *text;
	char *line = NULL;
	size_t used = 0;
	int fd;

	*reply = NULL;
	fd = control_connect(socket_path, error, error_size);
	if (fd < 0)
		return CONTROL_NOT_RUNNING;

	text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		snprintf(error, error_size, "cannot send to %s: %s", socket_path, strerror(errno));
		close(fd);
		return CONTROL_FAILED;
	}

	line = malloc(CONTROL_LINE_MAX);
	if (line == NULL) {
		snprintf(error, error_size, "out of memory");
		close(fd);
		return CONTROL_FAILED;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = timeout_ms - elapsed_ms(&start);
		ssize_t n;

		if (left <= 0) {
			snprintf(error, error_size, "no reply from %s within %d ms", socket_path, timeout_ms);
			goto fail;
		}
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(error, error_size, "poll: %s", strerror(errno));
			goto fail;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;

		n = recv(fd, line + used, CONTROL_LINE_MAX - 1 - used, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(error, error_size, "connection to %s closed before a reply", socket_path);
			goto fail;
		}
		used += (size_t)n;
		line[used] = '\0';
		if (memchr(line, '\n', used) != NULL)
			break;
		if (used == CONTROL_LINE_MAX - 1) {
			snprintf(error, error_size, "reply from %s exceeds %d bytes", socket_path, CONTROL_LINE_MAX);
			goto fail;
		}
	}

	*reply = json_tokener_parse(line);
	if (*reply == NULL || !json_object_is_type(*reply, json_type_object)) {
		snprintf(error, error_size, "invalid reply from %s", socket_path);
		json_object_put(*reply);
		*reply = NULL;
		goto fail;
	}
	free(line);
	close(fd);
	return CONTROL_OK;

fail:
	free(line);
	close(fd);
	return CONTROL_FAILED;
}

struct json_object *
control_detection_json(const struct msg_detection *detection, const char *intervention)
{
	struct json_object *object = json_object_new_object();
	char confidence[32];

	json_object_object_add(object, "detected", json_object_new_boolean(detection != NULL));
	if (detection == NULL) {
		json_object_object_add(object, "error_type", NULL);
		json_object_object_add(object, "severity", NULL);
		json_object_object_add(object, "confidence", NULL);
		json_object_object_add(object, "suggested_fix", NULL);
		json_object_object_add(object, "intervention", NULL);
		return object;
	}

	json_object_object_add(object, "error_type", json_object_new_string(detection->error_type));
	json_object_object_add(object, "severity",
	    json_object_new_string(severity_name((enum severity)detection->severity)));
	/* Written as "0.95", not the nearest binary fraction "0.94999999999999996". */
	snprintf(confidence, sizeof confidence, "%.4g", detection->confidence);
	json_object_object_add(object, "confidence", json_object_new_double_s(detection->confidence, confidence));
	json_object_object_add(object, "suggested_fix", json_object_new_string(detection->fix));
	json_object_object_add(object, "intervention",
	    intervention != NULL ? json_object_new_string(intervention) : NULL);
	json_object_object_add(object, "rule_id", json_object_new_string(detection->rule_id));
	json_object_object_add(object, "reference", json_object_new_string(detection->reference));
	json_object_object_add(object, "file_path",
	    detection->file_path[0] != '\0' ? json_object_new_string(detection->file_path) : NULL);
	json_object_object_add(object, "line_number",
	    detection->line_number > 0 ? json_object_new_int(detection->line_number) : NULL);
	json_object_object_add(object, "signature", json_object_new_string(detection->signature));
	return object;
}
