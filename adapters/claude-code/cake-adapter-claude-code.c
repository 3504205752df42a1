/*
 * cake-adapter-claude-code [CLAUDE-ARGS...]
 *
 * Connects Claude Code to the CAKE supervisor through Claude Code's hooks.
 * `cake hook claude-code`, run by Claude Code for each hook event, talks to
 * this adapter over $CAKE_HOME/claude-code.sock (hook-socket.h): it brings
 * the output of each Bash command, which the adapter writes to fds 1 and 2
 * for the watchdog, and it takes back the intervention that the pipeline
 * sends for that output, which Claude Code adds to the model's context.
 *
 * With CLAUDE-ARGS (headless mode) the adapter runs
 * `claude CLAUDE-ARGS --output-format stream-json --verbose --settings FILE`,
 * where FILE holds CAKE's hooks, reads the JSON event stream and feeds the
 * watchdog every tool result that no hook brought. Without arguments
 * (attach mode) it runs nothing and serves the hooks that `cake hooks
 * install` added to a project's settings.
 */
#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cake_adapter.h"
#include "hook-socket.h"

#define ADAPTER_NAME "claude-code"

/* Time the agent gets after SIGTERM, and again after SIGKILL, to exit. */
#define STOP_TIMEOUT_MS 5000

/* Longest wait a hook may ask for (performance.max_latency_ms is at most 60 s). */
#define HOOK_WAIT_MAX_MS 60000

/*
 * Time an intervention that arrived while no hook waited is kept for the
 * next hook event. After it, the adapter answers failed.
 */
#define PENDING_TIMEOUT_MS 120000

/* Hook connections served at once; more wait in the listen backlog. */
#define CLIENT_MAX 32

/* Output queued for fds 1 and 2 beyond this is dropped with a warning. */
#define OUTPUT_QUEUE_MAX (4 * 1024 * 1024)

/* A stream-json line longer than this is skipped. */
#define STREAM_LINE_MAX (16 * 1024 * 1024)

/* Tool results brought by a hook, remembered so the stream does not feed them twice. */
#define FED_IDS 64
#define TOOL_USE_ID_MAX 128

/* Environment variables with this prefix belong to CAKE and are not passed to Claude Code. */
#define CAKE_ENV_PREFIX "CAKE_"

/* Exit status when claude cannot be run, as in sh. */
#define EXIT_EXEC_FAILED 127

/* One connection from `cake hook claude-code`. */
struct hook_client {
	int fd;
	char *request;			/* bytes read so far */
	size_t length;
	int waiting;			/* request handled, waiting for an intervention */
	long long deadline_ms;		/* when waiting: answer {} at this time */
	char event[32];
	struct hook_client *next;
};

/* Bytes waiting for room in the pipe of fd 1 or fd 2. */
struct output_queue {
	char *data;
	size_t length;
	int dropped;			/* bytes were dropped since the last warning */
};

/* A line reader for one of claude's pipes. */
struct line_reader {
	int fd;				/* -1 once at EOF */
	char *data;
	size_t length;
	size_t capacity;
	int skipping;			/* inside a line longer than STREAM_LINE_MAX */
};

struct claude_adapter {
	struct cake_adapter *channel;
	int channel_open;
	int signal_fd;

	int listen_fd;
	char socket_path[PATH_MAX];
	struct hook_client *clients;	/* oldest first */
	size_t client_count;
	struct output_queue output[2];	/* fd 1, fd 2 */

	/* Headless mode. */
	char **claude_args;		/* NULL in attach mode */
	char claude_path[PATH_MAX];
	char settings_path[PATH_MAX];
	pid_t agent_pid;
	struct line_reader agent_stdout;
	struct line_reader agent_stderr;

	int handshake;			/* a hook event arrived */
	char session_id[128];
	char fed_ids[FED_IDS][TOOL_USE_ID_MAX];
	size_t fed_next;

	int has_pending;
	char pending_id[CAKE_ADAPTER_LINE_MAX];
	char pending_text[CAKE_ADAPTER_LINE_MAX];
	long long pending_deadline_ms;

	char *stop_reason;		/* set once the supervisor escalated the session */

	int stopping;
	int killed;
	long long deadline_ms;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cake-adapter-" ADAPTER_NAME " [CLAUDE-ARGS...]\n"
	    "Runs 'claude CLAUDE-ARGS' under the CAKE supervisor, or with no arguments\n"
	    "serves the hooks of Claude Code sessions started elsewhere. The supervisor\n"
	    "starts it with 'cake start --adapter=" ADAPTER_NAME " [-- CLAUDE-ARGS...]'.\n");
}

/* ---- output for the watchdog ---- */

/* Queues TEXT for fd 1 (STREAM 0) or fd 2 (STREAM 1), ending it with a newline. */
static void
output_queue_text(struct claude_adapter *adapter, int stream, const char *text, size_t length)
{
	struct output_queue *queue = &adapter->output[stream];
	int newline = length > 0 && text[length - 1] != '\n';
	char *grown;

	if (length == 0)
		return;
	if (queue->length + length + 1 > OUTPUT_QUEUE_MAX) {
		queue->dropped = 1;
		return;
	}
	grown = realloc(queue->data, queue->length + length + 1);
	if (grown == NULL) {
		queue->dropped = 1;
		return;
	}
	queue->data = grown;
	memcpy(queue->data + queue->length, text, length);
	queue->length += length;
	if (newline)
		queue->data[queue->length++] = '\n';
}

/* Writes what the pipe of fd 1 or 2 takes now. */
static void
output_flush(struct claude_adapter *adapter, int stream)
{
	struct output_queue *queue = &adapter->output[stream];
	ssize_t written;

	if (queue->dropped) {
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN, "dropped output for fd %d: "
		    "more than %d bytes were waiting for the supervisor to read them",
		    stream + 1, OUTPUT_QUEUE_MAX);
		queue->dropped = 0;
	}
	while (queue->length > 0) {
		written = write(stream + 1, queue->data, queue->length);
		if (written == -1 && errno == EINTR)
			continue;
		if (written == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (written == -1) {
			/* The supervisor closed the pipe, so no process reads this output any more. */
			queue->length = 0;
			return;
		}
		memmove(queue->data, queue->data + written, queue->length - (size_t)written);
		queue->length -= (size_t)written;
	}
}

/* Writes everything still queued, waiting for room, before the adapter exits. */
static void
output_drain(struct claude_adapter *adapter)
{
	for (int stream = 0; stream < 2; stream++) {
		fcntl(stream + 1, F_SETFL, fcntl(stream + 1, F_GETFL) & ~O_NONBLOCK);
		output_flush(adapter, stream);
	}
}

/* ---- hook connections ---- */

static int
carries_context(const char *event)
{
	return strcmp(event, "PostToolUse") == 0 || strcmp(event, "PostToolUseFailure") == 0 ||
	    strcmp(event, "SessionStart") == 0 || strcmp(event, "UserPromptSubmit") == 0;
}

static void
client_remove(struct claude_adapter *adapter, struct hook_client *client)
{
	struct hook_client **link = &adapter->clients;

	while (*link != NULL && *link != client)
		link = &(*link)->next;
	if (*link == client)
		*link = client->next;
	close(client->fd);
	free(client->request);
	free(client);
	adapter->client_count--;
}

/* Sends REPLY (consumed) to CLIENT and closes the connection. */
static void
client_reply(struct claude_adapter *adapter, struct hook_client *client, struct json_object *reply)
{
	const char *text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	struct pollfd pfd = { .fd = client->fd, .events = POLLOUT };
	size_t length = strlen(text), sent = 0;
	ssize_t got;

	/* The reply is small and the socket buffer empty, so this loop rarely waits. */
	while (sent <= length) {
		got = send(client->fd, sent < length ? text + sent : "\n",
		    sent < length ? length - sent : 1, MSG_NOSIGNAL);
		if (got > 0) {
			sent += (size_t)got;
			continue;
		}
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) && poll(&pfd, 1, 1000) > 0)
			continue;
		break;
	}
	json_object_put(reply);
	client_remove(adapter, client);
}

static struct json_object *
reply_with(const char *key, const char *value)
{
	struct json_object *reply = json_object_new_object();

	if (key != NULL)
		json_object_object_add(reply, key, json_object_new_string(value));
	return reply;
}

/* Hands the pending intervention to CLIENT. */
static void
deliver_pending(struct claude_adapter *adapter, struct hook_client *client)
{
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO,
	    "Intervention %s handed to Claude Code's %s hook", adapter->pending_id, client->event);
	cake_adapter_delivered(adapter->channel, adapter->pending_id);
	adapter->has_pending = 0;
	client_reply(adapter, client, reply_with("context", adapter->pending_text));
}

static void
remember_fed(struct claude_adapter *adapter, const char *tool_use_id)
{
	snprintf(adapter->fed_ids[adapter->fed_next], TOOL_USE_ID_MAX, "%s", tool_use_id);
	adapter->fed_next = (adapter->fed_next + 1) % FED_IDS;
}

static int
was_fed(const struct claude_adapter *adapter, const char *tool_use_id)
{
	for (size_t i = 0; i < FED_IDS; i++) {
		if (adapter->fed_ids[i][0] != '\0' && strcmp(adapter->fed_ids[i], tool_use_id) == 0)
			return 1;
	}
	return 0;
}

static void
report_health(struct claude_adapter *adapter)
{
	if (adapter->handshake) {
		cake_adapter_health(adapter->channel, CAKE_ADAPTER_HEALTHY, NULL);
		return;
	}
	cake_adapter_health(adapter->channel, CAKE_ADAPTER_DEGRADED, adapter->claude_args != NULL ?
	    "waiting for the first Claude Code hook event" :
	    "waiting for a Claude Code hook event: run 'cake hooks install' in the project");
}

static const char *
member_string(struct json_object *object, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(object, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return "";
	return json_object_get_string(value);
}

static void
note_session(struct claude_adapter *adapter, const char *session_id)
{
	if (session_id[0] == '\0' || strcmp(session_id, adapter->session_id) == 0)
		return;
	snprintf(adapter->session_id, sizeof adapter->session_id, "%s", session_id);
	cake_adapter_info(adapter->channel, "session_id", "%s", session_id);
}

/*
 * Handles one request from a hook: its output goes to fds 1 and 2, then it
 * gets the escalation, the pending intervention, a wait for the next one,
 * or an empty answer.
 */
static void
client_request(struct claude_adapter *adapter, struct hook_client *client, char *line)
{
	struct json_object *request, *value;
	const char *text, *tool_use_id;
	int wait_ms = 0, fed = 0;

	request = json_tokener_parse(line);
	if (!json_object_is_type(request, json_type_object)) {
		json_object_put(request);
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
		    "ignored a hook request that is not a JSON object");
		client_reply(adapter, client, reply_with(NULL, NULL));
		return;
	}
	snprintf(client->event, sizeof client->event, "%s", member_string(request, "event"));
	if (json_object_object_get_ex(request, "wait_ms", &value))
		wait_ms = json_object_get_int(value);
	if (wait_ms > HOOK_WAIT_MAX_MS)
		wait_ms = HOOK_WAIT_MAX_MS;

	if (!adapter->handshake) {
		adapter->handshake = 1;
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO,
		    "first Claude Code hook event: %s", client->event);
		report_health(adapter);
	}
	note_session(adapter, member_string(request, "session_id"));

	text = member_string(request, "gate");
	if (text[0] != '\0')
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN, "%s", text);
	if (json_object_object_get_ex(request, "violation", &value) &&
	    json_object_is_type(value, json_type_object)) {
		struct json_object *prevented;

		json_object_object_get_ex(value, "prevented", &prevented);
		cake_adapter_violation(adapter->channel, member_string(value, "type"),
		    json_object_get_boolean(prevented), "%s", member_string(value, "details"));
	}
	for (int stream = 0; stream < 2; stream++) {
		text = member_string(request, stream == 0 ? "stdout" : "stderr");
		output_queue_text(adapter, stream, text, strlen(text));
		output_flush(adapter, stream);
		fed |= text[0] != '\0';
	}
	tool_use_id = member_string(request, "tool_use_id");
	if (fed && tool_use_id[0] != '\0')
		remember_fed(adapter, tool_use_id);
	json_object_put(request);

	if (adapter->stop_reason != NULL) {
		client_reply(adapter, client, reply_with("stop", adapter->stop_reason));
		return;
	}
	if (!carries_context(client->event)) {
		client_reply(adapter, client, reply_with(NULL, NULL));
		return;
	}
	if (adapter->has_pending) {
		deliver_pending(adapter, client);
		return;
	}
	if (wait_ms <= 0) {
		client_reply(adapter, client, reply_with(NULL, NULL));
		return;
	}
	client->waiting = 1;
	client->deadline_ms = cake_adapter_monotonic_ms() + wait_ms;
}

static void
client_read(struct claude_adapter *adapter, struct hook_client *client)
{
	char buffer[65536], *grown, *newline;
	ssize_t got;

	for (;;) {
		got = recv(client->fd, buffer, sizeof buffer, MSG_DONTWAIT);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (got <= 0) {
			/* The hook went away: it timed out or was killed. */
			client_remove(adapter, client);
			return;
		}
		if (client->waiting)
			continue;
		if (client->length + (size_t)got + 1 > HOOK_SOCKET_LINE_MAX) {
			cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
			    "closed a hook connection whose request exceeds %d bytes",
			    HOOK_SOCKET_LINE_MAX);
			client_remove(adapter, client);
			return;
		}
		grown = realloc(client->request, client->length + (size_t)got + 1);
		if (grown == NULL) {
			client_remove(adapter, client);
			return;
		}
		client->request = grown;
		memcpy(client->request + client->length, buffer, (size_t)got);
		client->length += (size_t)got;
		client->request[client->length] = '\0';

		newline = memchr(client->request, '\n', client->length);
		if (newline != NULL) {
			*newline = '\0';
			client_request(adapter, client, client->request);
			return;
		}
	}
}

static void
accept_clients(struct claude_adapter *adapter)
{
	struct hook_client *client, **tail;
	int fd;

	while (adapter->client_count < CLIENT_MAX) {
		fd = accept4(adapter->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1)
			return;
		client = calloc(1, sizeof *client);
		if (client == NULL) {
			close(fd);
			return;
		}
		client->fd = fd;
		for (tail = &adapter->clients; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = client;
		adapter->client_count++;
	}
}

/* Replies {} to the waiting clients whose wait is over, or to all when ALL. */
static void
expire_clients(struct claude_adapter *adapter, int all)
{
	struct hook_client *client, *next;
	long long now = cake_adapter_monotonic_ms();

	for (client = adapter->clients; client != NULL; client = next) {
		next = client->next;
		if (client->waiting && (all || now >= client->deadline_ms))
			client_reply(adapter, client, reply_with(NULL, NULL));
	}
}

static struct hook_client *
oldest_waiting(struct claude_adapter *adapter)
{
	for (struct hook_client *client = adapter->clients; client != NULL; client = client->next) {
		if (client->waiting)
			return client;
	}
	return NULL;
}

/*
 * Listens on $CAKE_HOME/claude-code.sock. The supervisor's instance lock
 * on CAKE_HOME means no other adapter serves it, so a socket file left by
 * a crash is removed.
 */
static int
listen_hooks(struct claude_adapter *adapter, char *error, size_t error_size)
{
	struct sockaddr_un address;
	const char *home = getenv("CAKE_HOME"), *user_home = getenv("HOME");
	int written;
	mode_t old_mask;

	if (home != NULL && home[0] != '\0')
		written = snprintf(adapter->socket_path, sizeof adapter->socket_path, "%s/%s",
		    home, HOOK_SOCKET_NAME);
	else if (user_home != NULL && user_home[0] != '\0')
		written = snprintf(adapter->socket_path, sizeof adapter->socket_path, "%s/.cake/%s",
		    user_home, HOOK_SOCKET_NAME);
	else {
		snprintf(error, error_size, "neither CAKE_HOME nor HOME is set");
		return -1;
	}
	if (written < 0 || (size_t)written >= sizeof address.sun_path) {
		snprintf(error, error_size, "the hook socket path in CAKE_HOME is longer than %zu "
		    "bytes; use a shorter CAKE_HOME", sizeof address.sun_path - 1);
		return -1;
	}

	adapter->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (adapter->listen_fd == -1) {
		snprintf(error, error_size, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	memset(&address, 0, sizeof address);
	address.sun_family = AF_UNIX;
	memcpy(address.sun_path, adapter->socket_path, strlen(adapter->socket_path) + 1);
	unlink(adapter->socket_path);

	old_mask = umask(077);
	if (bind(adapter->listen_fd, (struct sockaddr *)&address, sizeof address) == -1 ||
	    listen(adapter->listen_fd, 64) == -1) {
		umask(old_mask);
		snprintf(error, error_size, "cannot listen on %s: %s", adapter->socket_path,
		    strerror(errno));
		close(adapter->listen_fd);
		adapter->listen_fd = -1;
		return -1;
	}
	umask(old_mask);
	return 0;
}

/* ---- the supervisor's messages ---- */

static void
fail_pending(struct claude_adapter *adapter, const char *reason)
{
	if (!adapter->has_pending)
		return;
	cake_adapter_failed(adapter->channel, adapter->pending_id, "%s", reason);
	adapter->has_pending = 0;
}

/*
 * Gives TEXT to the hook that has waited longest. Without a waiting hook it
 * is kept for the next hook event that can carry it.
 */
static void
handle_intervene(struct claude_adapter *adapter, const struct cake_adapter_msg *msg)
{
	struct hook_client *client;

	if (msg->text[0] == '\0') {
		cake_adapter_failed(adapter->channel, msg->id, "intervention text is empty");
		return;
	}
	if (adapter->stopping) {
		cake_adapter_failed(adapter->channel, msg->id, "adapter is stopping the agent");
		return;
	}
	if (adapter->has_pending) {
		cake_adapter_failed(adapter->channel, msg->id, "intervention %s is still waiting "
		    "for a Claude Code hook event to carry it", adapter->pending_id);
		return;
	}

	snprintf(adapter->pending_id, sizeof adapter->pending_id, "%s", msg->id);
	snprintf(adapter->pending_text, sizeof adapter->pending_text, "%s", msg->text);
	adapter->pending_deadline_ms = cake_adapter_monotonic_ms() + PENDING_TIMEOUT_MS;
	adapter->has_pending = 1;

	client = oldest_waiting(adapter);
	if (client != NULL)
		deliver_pending(adapter, client);
}

/*
 * "escalate REASON": the supervisor gave up correcting the session. Every
 * hook from now on answers with Claude Code's stop fields.
 */
static void
handle_escalate(struct claude_adapter *adapter, const char *reason)
{
	struct hook_client *client;

	if (adapter->stop_reason != NULL)
		return;
	adapter->stop_reason = strdup(reason[0] != '\0' ? reason :
	    "CAKE stopped the session: the same error kept coming back after its corrections");
	if (adapter->stop_reason == NULL)
		return;
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
	    "session escalated: Claude Code is told to stop (%s)", adapter->stop_reason);
	while ((client = oldest_waiting(adapter)) != NULL)
		client_reply(adapter, client, reply_with("stop", adapter->stop_reason));
}

static void request_stop(struct claude_adapter *adapter, const char *reason);

static void
handle_message(struct claude_adapter *adapter, const struct cake_adapter_msg *msg)
{
	switch (msg->type) {
	case CAKE_ADAPTER_MSG_PING:
		cake_adapter_pong(adapter->channel, msg->seq);
		break;
	case CAKE_ADAPTER_MSG_INTERVENE:
		handle_intervene(adapter, msg);
		break;
	case CAKE_ADAPTER_MSG_SHUTDOWN:
		request_stop(adapter, "shutdown requested");
		break;
	case CAKE_ADAPTER_MSG_UNKNOWN:
		if (strcmp(msg->name, "escalate") == 0)
			handle_escalate(adapter, msg->text);
		else
			cake_adapter_log(adapter->channel, CAKE_ADAPTER_DEBUG,
			    "ignored unknown message '%s'", msg->name);
		break;
	case CAKE_ADAPTER_MSG_WELCOME:
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_DEBUG,
		    "ignored welcome after the handshake");
		break;
	case CAKE_ADAPTER_MSG_INVALID:
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
		    "ignored invalid line from the supervisor: %s", msg->text);
		break;
	}
}

static void
read_channel(struct claude_adapter *adapter)
{
	struct cake_adapter_msg msg;
	int result;

	while ((result = cake_adapter_read(adapter->channel, &msg)) == 1)
		handle_message(adapter, &msg);
	if (result == 0)
		return;
	adapter->channel_open = 0;
	request_stop(adapter, errno == 0 ? "the supervisor closed fd 3" :
	    "reading fd 3 failed");
}

/* ---- Claude Code's event stream (headless mode) ---- */

/* Writes the text of a tool_result's content, a string or a list of text blocks. */
static void
feed_tool_result(struct claude_adapter *adapter, struct json_object *result)
{
	struct json_object *content, *is_error, *block;
	const char *text;
	int stream = 0;

	if (was_fed(adapter, member_string(result, "tool_use_id")))
		return;
	if (json_object_object_get_ex(result, "is_error", &is_error) &&
	    json_object_get_boolean(is_error))
		stream = 1;
	if (!json_object_object_get_ex(result, "content", &content))
		return;

	if (json_object_is_type(content, json_type_string)) {
		text = json_object_get_string(content);
		output_queue_text(adapter, stream, text, strlen(text));
	} else if (json_object_is_type(content, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(content); i++) {
			block = json_object_array_get_idx(content, i);
			if (strcmp(member_string(block, "type"), "text") != 0)
				continue;
			text = member_string(block, "text");
			output_queue_text(adapter, stream, text, strlen(text));
		}
	}
	output_flush(adapter, stream);
}

static void
stream_event(struct claude_adapter *adapter, struct json_object *event)
{
	struct json_object *message, *content, *block;
	const char *type = member_string(event, "type");

	if (strcmp(type, "system") == 0 && strcmp(member_string(event, "subtype"), "init") == 0) {
		note_session(adapter, member_string(event, "session_id"));
		if (member_string(event, "claude_code_version")[0] != '\0')
			cake_adapter_info(adapter->channel, "agent_version", "%s",
			    member_string(event, "claude_code_version"));
		return;
	}
	if (strcmp(type, "result") == 0) {
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO, "Claude Code finished: %s",
		    member_string(event, "subtype"));
		return;
	}
	if (strcmp(type, "user") != 0 || !json_object_object_get_ex(event, "message", &message) ||
	    !json_object_object_get_ex(message, "content", &content) ||
	    !json_object_is_type(content, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(content); i++) {
		block = json_object_array_get_idx(content, i);
		if (strcmp(member_string(block, "type"), "tool_result") == 0)
			feed_tool_result(adapter, block);
	}
}

static void
stream_line(struct claude_adapter *adapter, char *line, size_t length)
{
	struct json_object *event;

	event = json_tokener_parse(line);
	if (json_object_is_type(event, json_type_object)) {
		stream_event(adapter, event);
	} else {
		/* Not an event: plain text that claude printed, which the watchdog reads as is. */
		output_queue_text(adapter, 0, line, length);
		output_flush(adapter, 0);
	}
	json_object_put(event);
}

/*
 * Reads what is available from READER and calls stream_line (stdout) or
 * copies lines to fd 2 (stderr) for each complete line. Returns 0 at EOF.
 */
static int
reader_read(struct claude_adapter *adapter, struct line_reader *reader, int is_stdout)
{
	char *newline, *grown;
	size_t line_length;
	ssize_t got;

	for (;;) {
		if (reader->capacity - reader->length < 65536) {
			grown = realloc(reader->data, reader->capacity + 65536 + 1);
			if (grown == NULL)
				return 1;
			reader->data = grown;
			reader->capacity += 65536;
		}
		got = read(reader->fd, reader->data + reader->length, reader->capacity - reader->length);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (got <= 0)
			break;
		reader->length += (size_t)got;

		while ((newline = memchr(reader->data, '\n', reader->length)) != NULL) {
			*newline = '\0';
			line_length = (size_t)(newline - reader->data);
			if (!reader->skipping && is_stdout) {
				stream_line(adapter, reader->data, line_length);
			} else if (!reader->skipping) {
				output_queue_text(adapter, 1, reader->data, line_length + 1);
				output_flush(adapter, 1);
			}
			reader->skipping = 0;
			memmove(reader->data, newline + 1, reader->length - line_length - 1);
			reader->length -= line_length + 1;
		}
		if (reader->length > STREAM_LINE_MAX) {
			cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN, "skipped a line of "
			    "more than %d bytes from claude's %s", STREAM_LINE_MAX,
			    is_stdout ? "stdout" : "stderr");
			reader->skipping = 1;
			reader->length = 0;
		}
	}

	if (reader->length > 0 && !reader->skipping) {
		reader->data[reader->length] = '\0';
		if (is_stdout)
			stream_line(adapter, reader->data, reader->length);
		else
			output_queue_text(adapter, 1, reader->data, reader->length);
	}
	reader->length = 0;
	close(reader->fd);
	reader->fd = -1;
	return 0;
}

/* ---- running claude ---- */

/* Finds claude: CAKE_CLAUDE_BIN, else "claude" in PATH. Returns 0 or -1. */
static int
find_claude(char *out, size_t size)
{
	const char *explicit = getenv("CAKE_CLAUDE_BIN"), *path = getenv("PATH");
	const char *start, *end;
	int written;

	if (explicit != NULL && explicit[0] != '\0') {
		snprintf(out, size, "%s", explicit);
		return access(out, X_OK);
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (start = path; ; start = end + 1) {
		end = strchrnul(start, ':');
		written = snprintf(out, size, "%.*s/claude", (int)(end - start),
		    end == start ? "." : start);
		if (end == start)
			written = snprintf(out, size, "./claude");
		if (written > 0 && (size_t)written < size && access(out, X_OK) == 0)
			return 0;
		if (*end == '\0')
			return -1;
	}
}

static char **
agent_environment(void)
{
	extern char **environ;
	char **env;
	size_t count = 0, kept = 0;

	while (environ[count] != NULL)
		count++;
	env = calloc(count + 1, sizeof *env);
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		if (strncmp(environ[i], CAKE_ENV_PREFIX, strlen(CAKE_ENV_PREFIX)) != 0)
			env[kept++] = environ[i];
	}
	return env;
}

static void
reset_child_signals(void)
{
	struct sigaction action;
	sigset_t empty;

	memset(&action, 0, sizeof action);
	action.sa_handler = SIG_DFL;
	sigemptyset(&action.sa_mask);
	for (int signo = 1; signo < NSIG; signo++)
		sigaction(signo, &action, NULL);
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
}

/*
 * Writes the settings file with CAKE's hooks by running `cake hooks install
 * --settings=FILE` with the cake binary of this install. Returns 0, or -1
 * with a message in ERROR.
 */
static int
write_settings(struct claude_adapter *adapter, char *error, size_t error_size)
{
	char exe[PATH_MAX], cake[PATH_MAX + 32], option[PATH_MAX + 16], *slash;
	char *argv[] = { cake, "hooks", "install", option, NULL };
	ssize_t length;
	pid_t pid;
	int status, null_fd;

	length = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (length <= 0) {
		snprintf(error, error_size, "cannot find the adapter's own path: %s",
		    strerror(errno));
		return -1;
	}
	exe[length] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	/* The adapter is installed in PREFIX/libexec/cake and cake in PREFIX/bin. */
	snprintf(cake, sizeof cake, "%s/../../bin/cake", exe);
	if (access(cake, X_OK) == -1) {
		snprintf(error, error_size, "cannot run %s: %s (the adapter expects cake in the "
		    "bin directory of its install)", cake, strerror(errno));
		return -1;
	}
	snprintf(adapter->settings_path, sizeof adapter->settings_path, "%s",
	    adapter->socket_path);
	slash = strrchr(adapter->settings_path, '/');
	snprintf(slash + 1, sizeof adapter->settings_path - (size_t)(slash + 1 -
	    adapter->settings_path), "claude-code-settings-%ld.json", (long)getpid());
	snprintf(option, sizeof option, "--settings=%s", adapter->settings_path);

	pid = fork();
	if (pid == -1) {
		snprintf(error, error_size, "cannot start cake hooks install: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		reset_child_signals();
		null_fd = open("/dev/null", O_WRONLY);
		dup2(null_fd, STDOUT_FILENO);
		execv(cake, argv);
		_exit(EXIT_EXEC_FAILED);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(error, error_size, "'%s hooks install %s' failed (see its message above)",
		    cake, option);
		return -1;
	}
	return 0;
}

static int
open_reader(struct line_reader *reader, int fd)
{
	reader->fd = fd;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/*
 * Starts claude with the user's arguments and the options that make it
 * print its event stream and use CAKE's hooks. Returns 0, or -1 with a
 * message in ERROR.
 */
static int
start_claude(struct claude_adapter *adapter, char *error, size_t error_size)
{
	static char *extra[] = { "--output-format", "stream-json", "--verbose", "--settings" };
	int out_pipe[2], err_pipe[2], null_fd;
	size_t count = 0, argc = 0;
	char **argv, **env;
	sigset_t all, saved;
	pid_t pid;

	while (adapter->claude_args[count] != NULL)
		count++;
	argv = calloc(count + 7, sizeof *argv);
	env = agent_environment();
	if (argv == NULL || env == NULL) {
		free(argv);
		free(env);
		snprintf(error, error_size, "out of memory");
		return -1;
	}
	argv[argc++] = adapter->claude_path;
	for (size_t i = 0; i < count; i++)
		argv[argc++] = adapter->claude_args[i];
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		argv[argc++] = extra[i];
	argv[argc++] = adapter->settings_path;

	if (pipe2(out_pipe, O_CLOEXEC) == -1 || pipe2(err_pipe, O_CLOEXEC) == -1) {
		snprintf(error, error_size, "cannot create pipes: %s", strerror(errno));
		free(argv);
		free(env);
		return -1;
	}

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = fork();
	if (pid == 0) {
		reset_child_signals();
		null_fd = open("/dev/null", O_RDONLY);
		if (null_fd == -1 || dup2(null_fd, STDIN_FILENO) == -1 ||
		    dup2(out_pipe[1], STDOUT_FILENO) == -1 || dup2(err_pipe[1], STDERR_FILENO) == -1)
			_exit(EXIT_EXEC_FAILED);
		closefrom(STDERR_FILENO + 1);
		execve(argv[0], argv, env);
		dprintf(STDERR_FILENO, "cake-adapter-" ADAPTER_NAME ": cannot run %s: %s\n",
		    argv[0], strerror(errno));
		_exit(EXIT_EXEC_FAILED);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	free(argv);
	free(env);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid == -1) {
		snprintf(error, error_size, "cannot start %s: %s", adapter->claude_path,
		    strerror(errno));
		close(out_pipe[0]);
		close(err_pipe[0]);
		return -1;
	}
	adapter->agent_pid = pid;
	open_reader(&adapter->agent_stdout, out_pipe[0]);
	open_reader(&adapter->agent_stderr, err_pipe[0]);
	return 0;
}

/* ---- stopping ---- */

static void
request_stop(struct claude_adapter *adapter, const char *reason)
{
	if (adapter->stopping)
		return;
	adapter->stopping = 1;
	adapter->deadline_ms = cake_adapter_monotonic_ms() + STOP_TIMEOUT_MS;
	fail_pending(adapter, "adapter is stopping");
	expire_clients(adapter, 1);
	if (adapter->agent_pid <= 0) {
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO, "%s: stopping", reason);
		return;
	}
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO,
	    "%s: stopping claude (pid %ld) with SIGTERM", reason, (long)adapter->agent_pid);
	kill(-getpgrp(), SIGTERM);
}

static int
escalate_stop(struct claude_adapter *adapter)
{
	if (adapter->killed) {
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_ERROR,
		    "claude (pid %ld) did not exit within %d ms of SIGKILL",
		    (long)adapter->agent_pid, STOP_TIMEOUT_MS);
		return -1;
	}
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
	    "claude (pid %ld) did not stop within %d ms of SIGTERM: sending SIGKILL",
	    (long)adapter->agent_pid, STOP_TIMEOUT_MS);
	kill(adapter->agent_pid, SIGKILL);
	adapter->killed = 1;
	adapter->deadline_ms = cake_adapter_monotonic_ms() + STOP_TIMEOUT_MS;
	return 0;
}

/*
 * Reaps claude if it exited. Returns -1 while it runs, else the adapter's
 * exit status. What claude wrote before exiting is read first.
 */
static int
reap_claude(struct claude_adapter *adapter)
{
	pid_t pid;
	int status;

	if (adapter->agent_pid <= 0)
		return -1;
	do
		pid = waitpid(adapter->agent_pid, &status, WNOHANG);
	while (pid == -1 && errno == EINTR);
	if (pid <= 0)
		return -1;

	if (adapter->agent_stdout.fd != -1)
		reader_read(adapter, &adapter->agent_stdout, 1);
	if (adapter->agent_stderr.fd != -1)
		reader_read(adapter, &adapter->agent_stderr, 0);
	fail_pending(adapter, "claude exited before a hook event carried the intervention");
	expire_clients(adapter, 1);

	if (WIFSIGNALED(status))
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO, "claude was killed by "
		    "signal %d", WTERMSIG(status));
	else
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO, "claude exited with "
		    "status %d", WEXITSTATUS(status));
	if (adapter->stopping)
		return 0;
	return cake_adapter_exit_status(status);
}

/* Returns the adapter's exit status once done, else -1. */
static int
read_signals(struct claude_adapter *adapter)
{
	unsigned char signals[64];
	ssize_t got;
	int term = 0, child = 0;

	while ((got = read(adapter->signal_fd, signals, sizeof signals)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			term |= signals[i] == SIGTERM;
			child |= signals[i] == SIGCHLD;
		}
	}
	if (term)
		request_stop(adapter, "received SIGTERM");
	if (child)
		return reap_claude(adapter);
	if (adapter->stopping && adapter->agent_pid <= 0)
		return 0;
	return -1;
}

/* ---- the loop ---- */

static long long
next_deadline(struct claude_adapter *adapter)
{
	long long deadline = -1;

	for (struct hook_client *client = adapter->clients; client != NULL; client = client->next) {
		if (client->waiting && (deadline == -1 || client->deadline_ms < deadline))
			deadline = client->deadline_ms;
	}
	if (adapter->has_pending && (deadline == -1 || adapter->pending_deadline_ms < deadline))
		deadline = adapter->pending_deadline_ms;
	if (adapter->stopping && (deadline == -1 || adapter->deadline_ms < deadline))
		deadline = adapter->deadline_ms;
	return deadline;
}

enum {
	SLOT_CHANNEL,
	SLOT_SIGNALS,
	SLOT_LISTEN,
	SLOT_STDOUT,
	SLOT_STDERR,
	SLOT_OUT1,
	SLOT_OUT2,
	SLOT_CLIENTS,
};

static int
run_loop(struct claude_adapter *adapter)
{
	struct pollfd fds[SLOT_CLIENTS + CLIENT_MAX];
	struct hook_client *client, *next;
	long long deadline, now;
	size_t count;
	int exit_status, timeout;

	for (;;) {
		fds[SLOT_CHANNEL].fd = adapter->channel_open ? cake_adapter_fd(adapter->channel) : -1;
		fds[SLOT_SIGNALS].fd = adapter->signal_fd;
		fds[SLOT_LISTEN].fd = adapter->stopping || adapter->client_count >= CLIENT_MAX ?
		    -1 : adapter->listen_fd;
		fds[SLOT_STDOUT].fd = adapter->agent_stdout.fd;
		fds[SLOT_STDERR].fd = adapter->agent_stderr.fd;
		for (int slot = SLOT_CHANNEL; slot <= SLOT_STDERR; slot++)
			fds[slot].events = POLLIN;
		fds[SLOT_OUT1].fd = adapter->output[0].length > 0 ? STDOUT_FILENO : -1;
		fds[SLOT_OUT2].fd = adapter->output[1].length > 0 ? STDERR_FILENO : -1;
		fds[SLOT_OUT1].events = fds[SLOT_OUT2].events = POLLOUT;
		count = SLOT_CLIENTS;
		for (client = adapter->clients; client != NULL; client = client->next) {
			fds[count].fd = client->fd;
			fds[count++].events = POLLIN;
		}

		deadline = next_deadline(adapter);
		now = cake_adapter_monotonic_ms();
		timeout = -1;
		if (deadline != -1)
			timeout = deadline > now ? (int)(deadline - now) : 0;
		if (poll(fds, count, timeout) == -1) {
			if (errno == EINTR)
				continue;
			cake_adapter_log(adapter->channel, CAKE_ADAPTER_ERROR, "poll failed: %s",
			    strerror(errno));
			return CAKE_ADAPTER_EXIT_SOFTWARE;
		}

		if (fds[SLOT_SIGNALS].revents != 0) {
			exit_status = read_signals(adapter);
			if (exit_status != -1)
				return exit_status;
		}
		if (fds[SLOT_STDOUT].revents != 0)
			reader_read(adapter, &adapter->agent_stdout, 1);
		if (fds[SLOT_STDERR].revents != 0)
			reader_read(adapter, &adapter->agent_stderr, 0);
		if (fds[SLOT_OUT1].revents != 0)
			output_flush(adapter, 0);
		if (fds[SLOT_OUT2].revents != 0)
			output_flush(adapter, 1);

		/* Clients first, so that an intervention read below finds the hook that waits for it. */
		size_t slot = SLOT_CLIENTS;
		for (client = adapter->clients; client != NULL && slot < count; client = next, slot++) {
			next = client->next;
			if (fds[slot].revents != 0)
				client_read(adapter, client);
		}
		if (fds[SLOT_LISTEN].revents != 0)
			accept_clients(adapter);
		if (fds[SLOT_CHANNEL].revents != 0)
			read_channel(adapter);

		expire_clients(adapter, 0);
		if (adapter->has_pending && cake_adapter_monotonic_ms() >= adapter->pending_deadline_ms)
			fail_pending(adapter, "no Claude Code hook event came within 120 s to carry it");
		if (adapter->stopping && adapter->agent_pid <= 0)
			return 0;
		if (adapter->stopping && cake_adapter_monotonic_ms() >= adapter->deadline_ms &&
		    escalate_stop(adapter) == -1)
			return CAKE_ADAPTER_EXIT_SOFTWARE;
	}
}

static int
fail_start(struct claude_adapter *adapter, int exit_status, const char *message)
{
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_ERROR, "%s", message);
	cake_adapter_health(adapter->channel, CAKE_ADAPTER_UNHEALTHY, message);
	return exit_status;
}

static void
cleanup(struct claude_adapter *adapter)
{
	while (adapter->clients != NULL)
		client_remove(adapter, adapter->clients);
	if (adapter->listen_fd != -1) {
		close(adapter->listen_fd);
		unlink(adapter->socket_path);
	}
	if (adapter->settings_path[0] != '\0')
		unlink(adapter->settings_path);
	output_drain(adapter);
	free(adapter->output[0].data);
	free(adapter->output[1].data);
	free(adapter->agent_stdout.data);
	free(adapter->agent_stderr.data);
	free(adapter->stop_reason);
	cake_adapter_close(adapter->channel);
}

int
main(int argc, char **argv)
{
	struct claude_adapter adapter = {
		.listen_fd = -1,
		.agent_stdout = { .fd = -1 },
		.agent_stderr = { .fd = -1 },
	};
	char error[3 * PATH_MAX];
	int exit_status;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage();
		return CAKE_ADAPTER_EXIT_USAGE;
	}
	adapter.claude_args = argc > 1 ? argv + 1 : NULL;
	signal(SIGPIPE, SIG_IGN);

	adapter.channel = cake_adapter_connect(ADAPTER_NAME, 0, error, sizeof error);
	if (adapter.channel == NULL) {
		fprintf(stderr, "cake-adapter-" ADAPTER_NAME ": %s\n", error);
		return CAKE_ADAPTER_EXIT_SOFTWARE;
	}
	adapter.channel_open = 1;

	if ((getpgrp() != getpid() && setpgid(0, 0) == -1) || cake_adapter_signal_pipe(&adapter.signal_fd) == -1) {
		snprintf(error, sizeof error, "cannot set up the process group and signals: %s",
		    strerror(errno));
		exit_status = fail_start(&adapter, CAKE_ADAPTER_EXIT_SOFTWARE, error);
		goto done;
	}
	for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	if (adapter.claude_args != NULL && find_claude(adapter.claude_path,
	    sizeof adapter.claude_path) == -1) {
		exit_status = fail_start(&adapter, EXIT_EXEC_FAILED, "claude not found: install "
		    "it (npm install -g @anthropic-ai/claude-code), put it in PATH or set "
		    "CAKE_CLAUDE_BIN to its path");
		goto done;
	}
	if (listen_hooks(&adapter, error, sizeof error) == -1) {
		exit_status = fail_start(&adapter, CAKE_ADAPTER_EXIT_SOFTWARE, error);
		goto done;
	}
	cake_adapter_info(adapter.channel, "hook_socket", "%s", adapter.socket_path);

	if (adapter.claude_args != NULL) {
		if (write_settings(&adapter, error, sizeof error) == -1 ||
		    start_claude(&adapter, error, sizeof error) == -1) {
			exit_status = fail_start(&adapter, CAKE_ADAPTER_EXIT_SOFTWARE, error);
			goto done;
		}
		cake_adapter_info(adapter.channel, "agent_pid", "%ld", (long)adapter.agent_pid);
		cake_adapter_info(adapter.channel, "command", "%s", adapter.claude_path);
	}
	cake_adapter_info(adapter.channel, "mode", "%s",
	    adapter.claude_args != NULL ? "headless" : "attach");
	report_health(&adapter);

	exit_status = run_loop(&adapter);

done:
	cleanup(&adapter);
	return exit_status;
}
