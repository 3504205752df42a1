/*
 * Answers Claude Code hook events; see hook-claude-code.h.
 */
#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "adapters/claude-code/hook-socket.h"
#include "audit.h"
#include "classify-local.h"
#include "controller.h"
#include "gate.h"
#include "hook-claude-code.h"
#include "operator/voice.h"
#include "recall/store.h"

/* Time the adapter gets to answer beyond the wait it was given. */
#define ADAPTER_SLACK_MS 2000

/* Largest reply line accepted from the adapter. */
#define ADAPTER_REPLY_MAX 65536

/* The hook's view of the adapter's reply. */
struct adapter_reply {
	char *context;		/* intervention for the model, or NULL */
	char *stop;		/* escalation reason, or NULL */
};

static long long
monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 2, 3)))
set_message(struct hook_result *result, const char *format, ...)
{
	va_list ap;
	char *message;

	va_start(ap, format);
	if (vasprintf(&message, format, ap) == -1)
		message = NULL;
	va_end(ap);
	free(result->message);
	result->message = message;
}

/* Stores VALUE as the answer and frees it. */
static void
set_output(struct hook_result *result, struct json_object *value)
{
	free(result->output);
	result->output = strdup(json_object_to_json_string_ext(value,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(value);
}

static int
denies_unreadable_input(enum strictness strictness)
{
	return strictness != STRICTNESS_MINIMAL;
}

/*
 * Finds the value of "hook_event_name" in input that is not valid JSON,
 * so that cut or broken input still gets the answer of its event. Returns
 * 0 with the name in OUT, or -1.
 */
static int
sniff_event_name(const char *input, size_t length, char *out, size_t size)
{
	static const char key[] = "\"hook_event_name\"";
	const char *at, *end = input + length;
	size_t used = 0;

	at = memmem(input, length, key, sizeof key - 1);
	if (at == NULL)
		return -1;
	at += sizeof key - 1;
	while (at < end && (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r'))
		at++;
	if (at >= end || *at++ != ':')
		return -1;
	while (at < end && (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r'))
		at++;
	if (at >= end || *at++ != '"')
		return -1;
	while (at < end && *at != '"' && used + 1 < size)
		out[used++] = *at++;
	out[used] = '\0';
	return at < end && *at == '"' && used > 0 ? 0 : -1;
}

static struct json_object *
deny_answer(const char *reason)
{
	struct json_object *answer = json_object_new_object();
	struct json_object *specific = json_object_new_object();

	json_object_object_add(specific, "hookEventName", json_object_new_string("PreToolUse"));
	json_object_object_add(specific, "permissionDecision", json_object_new_string("deny"));
	json_object_object_add(specific, "permissionDecisionReason", json_object_new_string(reason));
	json_object_object_add(answer, "hookSpecificOutput", specific);
	return answer;
}

static struct json_object *
context_answer(const char *event, const char *context)
{
	struct json_object *answer = json_object_new_object();
	struct json_object *specific = json_object_new_object();

	json_object_object_add(specific, "hookEventName", json_object_new_string(event));
	json_object_object_add(specific, "additionalContext", json_object_new_string(context));
	json_object_object_add(answer, "hookSpecificOutput", specific);
	return answer;
}

/* Adds Claude Code's stop fields to ANSWER. */
static struct json_object *
stop_answer(struct json_object *answer, const char *reason)
{
	if (answer == NULL)
		answer = json_object_new_object();
	json_object_object_add(answer, "continue", json_object_new_boolean(0));
	json_object_object_add(answer, "stopReason", json_object_new_string(reason));
	return answer;
}

/*
 * Answers input that cannot be read as a hook event. A PreToolUse, or an
 * event that cannot be told, is denied with exit status 2 unless the
 * strictness is minimal; other events get an empty answer.
 */
static void
answer_unreadable(const struct hook_context *context, const char *input, size_t length,
    const char *problem, struct hook_result *result)
{
	char event[64];
	int known;

	known = sniff_event_name(input, length, event, sizeof event) == 0;
	if ((known && strcmp(event, "PreToolUse") != 0) ||
	    !denies_unreadable_input(context->strictness)) {
		set_message(result, "cake hook: %s; answering %s without a decision",
		    problem, known ? event : "the event");
		result->exit_status = 0;
		return;
	}
	set_message(result, "cake hook: %s; CAKE blocks the tool call because it cannot "
	    "check it (strictness %s). Check the hook command in the Claude Code settings.",
	    problem, strictness_name(context->strictness));
	result->exit_status = 2;
}

/* ---- the adapter's socket ---- */

/*
 * Connects to the adapter. Returns the socket, or -1 when no adapter
 * listens (no socket file, or no process accepting on it).
 */
static int
adapter_connect(const char *socket_path)
{
	struct sockaddr_un address;
	int fd;

	if (socket_path == NULL || strlen(socket_path) >= sizeof address.sun_path)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	memset(&address, 0, sizeof address);
	address.sun_family = AF_UNIX;
	memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);
	if (connect(fd, (struct sockaddr *)&address, sizeof address) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
wait_fd(int fd, short events, long long deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int ready;

	for (;;) {
		left = deadline_ms - monotonic_ms();
		if (left < 0)
			left = 0;
		ready = poll(&pfd, 1, (int)left);
		if (ready == -1 && errno == EINTR)
			continue;
		if (ready == 0)
			errno = ETIMEDOUT;
		return ready > 0 ? 0 : -1;
	}
}

static int
send_all(int fd, const char *data, size_t length, long long deadline_ms)
{
	ssize_t sent;

	while (length > 0) {
		sent = send(fd, data, length, MSG_NOSIGNAL);
		if (sent > 0) {
			data += sent;
			length -= (size_t)sent;
			continue;
		}
		if (sent == -1 && errno == EINTR)
			continue;
		if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline_ms) == -1)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Reads one line into a new string. Returns NULL with errno set. */
static char *
receive_line(int fd, long long deadline_ms)
{
	char *line = malloc(ADAPTER_REPLY_MAX + 1);
	size_t used = 0;
	ssize_t got;
	char *end;

	if (line == NULL)
		return NULL;
	for (;;) {
		got = recv(fd, line + used, ADAPTER_REPLY_MAX - used, 0);
		if (got > 0) {
			used += (size_t)got;
			line[used] = '\0';
			end = memchr(line, '\n', used);
			if (end != NULL) {
				*end = '\0';
				return line;
			}
			if (used == ADAPTER_REPLY_MAX) {
				errno = EMSGSIZE;
				break;
			}
			continue;
		}
		if (got == 0) {
			errno = ECONNRESET;
			break;
		}
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(fd, POLLIN, deadline_ms) == 0)
			continue;
		break;
	}
	free(line);
	return NULL;
}

static char *
dup_member(struct json_object *object, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(object, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return NULL;
	return strdup(json_object_get_string(value));
}

/*
 * Sends REQUEST to the adapter and waits for its reply. Returns 1 with
 * REPLY filled, 0 when no adapter listens, or -1 when the exchange failed
 * (the message is in RESULT).
 */
static int
adapter_call(const struct hook_context *context, struct json_object *request, int wait_ms,
    struct adapter_reply *reply, struct hook_result *result)
{
	struct json_object *parsed;
	long long deadline_ms;
	const char *text;
	char *line;
	int fd;

	memset(reply, 0, sizeof *reply);
	fd = adapter_connect(context->socket_path);
	if (fd == -1)
		return 0;

	deadline_ms = monotonic_ms() + wait_ms + ADAPTER_SLACK_MS;
	json_object_object_add(request, "wait_ms", json_object_new_int(wait_ms));
	text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
	if (send_all(fd, text, strlen(text), deadline_ms) == -1 ||
	    send_all(fd, "\n", 1, deadline_ms) == -1) {
		set_message(result, "cake hook: sending the event to the adapter at %s failed: %s",
		    context->socket_path, strerror(errno));
		close(fd);
		return -1;
	}

	line = receive_line(fd, deadline_ms);
	close(fd);
	if (line == NULL) {
		set_message(result, "cake hook: no answer from the adapter at %s: %s",
		    context->socket_path, strerror(errno));
		return -1;
	}
	parsed = json_tokener_parse(line);
	free(line);
	if (!json_object_is_type(parsed, json_type_object)) {
		json_object_put(parsed);
		set_message(result, "cake hook: the adapter at %s sent an answer that is not "
		    "a JSON object", context->socket_path);
		return -1;
	}
	reply->context = dup_member(parsed, "context");
	reply->stop = dup_member(parsed, "stop");
	json_object_put(parsed);
	return 1;
}

static void
adapter_reply_free(struct adapter_reply *reply)
{
	free(reply->context);
	free(reply->stop);
}

/* ---- the events ---- */

static const char *
member_string(struct json_object *object, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(object, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return NULL;
	return json_object_get_string(value);
}

/* Adds TEXT under KEY, keeping its last HOOK_OUTPUT_MAX bytes. */
static void
add_output(struct json_object *request, const char *key, const char *text)
{
	size_t length = strlen(text);
	const char *start = text;

	if (length > HOOK_OUTPUT_MAX) {
		start = text + length - HOOK_OUTPUT_MAX;
		/* Start at a UTF-8 character boundary. */
		while (*start != '\0' && ((unsigned char)*start & 0xC0) == 0x80)
			start++;
	}
	json_object_object_add(request, key, json_object_new_string(start));
}

static struct json_object *
adapter_request(const char *event, struct json_object *input)
{
	struct json_object *request = json_object_new_object();
	const char *value;

	json_object_object_add(request, "event", json_object_new_string(event));
	value = member_string(input, "session_id");
	json_object_object_add(request, "session_id", json_object_new_string(value ? value : ""));
	value = member_string(input, "tool_use_id");
	json_object_object_add(request, "tool_use_id", json_object_new_string(value ? value : ""));
	return request;
}

static const struct rules *
context_rules(const struct hook_context *context)
{
	if (context->rules != NULL || context->load_rules == NULL)
		return context->rules;
	return context->load_rules(context->load_rules_arg);
}

/*
 * Classifies STDOUT and STDERR in this process. Returns 1 with the
 * rendered intervention in OUT when the strictness calls for one.
 */
static int
classify_output(const struct hook_context *context, const char *stdout_text,
    const char *stderr_text, int *detected, char *out, size_t size)
{
	const struct rules *rules = context_rules(context);
	struct msg_detection detection;
	const char *texts[2] = { stderr_text, stdout_text };

	*detected = 0;
	if (rules == NULL)
		return 0;
	for (int i = 0; i < 2 && !*detected; i++) {
		if (texts[i] != NULL &&
		    classify_text(rules, texts[i], strlen(texts[i]), &detection))
			*detected = 1;
	}
	if (!*detected || !controller_classify(context->strictness, &detection, 1))
		return 0;
	return voice_render(&detection, out, size) >= 0;
}

/*
 * PostToolUse and PostToolUseFailure: the running pipeline gets the
 * output and its intervention comes back as additionalContext. Without an
 * adapter, the output is classified here.
 */
static void
answer_output(const struct hook_context *context, const char *event, struct json_object *input,
    const char *stdout_text, const char *stderr_text, struct hook_result *result)
{
	struct adapter_reply reply;
	struct json_object *request;
	char intervention[MSG_TEXT_MAX];
	int detected, local, wait_ms, called;

	local = classify_output(context, stdout_text, stderr_text, &detected,
	    intervention, sizeof intervention);

	/* Without a local detection no intervention is expected, so only pending ones are fetched. */
	wait_ms = detected || context_rules(context) == NULL ? context->max_latency_ms : 0;
	request = adapter_request(event, input);
	add_output(request, "stdout", stdout_text != NULL ? stdout_text : "");
	add_output(request, "stderr", stderr_text != NULL ? stderr_text : "");
	called = adapter_call(context, request, wait_ms, &reply, result);
	json_object_put(request);

	if (called == 1) {
		if (reply.stop != NULL)
			set_output(result, stop_answer(NULL, reply.stop));
		else if (reply.context != NULL)
			set_output(result, context_answer(event, reply.context));
		adapter_reply_free(&reply);
		return;
	}
	if (called == 0 && local)
		set_output(result, context_answer(event, intervention));
}

static void
answer_post_tool_use(const struct hook_context *context, struct json_object *input,
    struct hook_result *result)
{
	struct json_object *response;
	const char *stdout_text = NULL, *stderr_text = NULL;

	if (json_object_object_get_ex(input, "tool_response", &response)) {
		if (json_object_is_type(response, json_type_string)) {
			stdout_text = json_object_get_string(response);
		} else {
			stdout_text = member_string(response, "stdout");
			stderr_text = member_string(response, "stderr");
		}
	}
	answer_output(context, "PostToolUse", input, stdout_text, stderr_text, result);
}

static void
answer_post_tool_use_failure(const struct hook_context *context, struct json_object *input,
    struct hook_result *result)
{
	answer_output(context, "PostToolUseFailure", input, NULL,
	    member_string(input, "error"), result);
}

/*
 * Formats a denial or warning as Claude Code shows it to the model: what
 * the gate matched, why, and what to run instead.
 */
static void
format_decision(const struct gate_decision *decision, char *out, size_t size)
{
	snprintf(out, size, "CAKE %s `%s` (%s): %s.%s%s",
	    decision->verdict == GATE_DENY ? "blocked" : "warns about", decision->command,
	    decision->rule_id, decision->reason, decision->alternative[0] != '\0' ? " " : "",
	    decision->alternative);
}

/*
 * PreToolUse: Bash commands go through the gate in this process. The
 * adapter, when one listens, logs the decision and reports an escalated
 * session.
 */
/*
 * Appends the gate's decision on COMMAND to the audit log when auditing is
 * on. A failed append is reported on stderr and never changes the answer.
 */
static void
audit_decision(const struct hook_context *context, const char *command, const struct gate_decision *decision)
{
	char details[1024];

	if (context->audit_home == NULL)
		return;
	if (decision->verdict == GATE_ALLOW)
		snprintf(details, sizeof details, "no rule matched");
	else
		snprintf(details, sizeof details, "%s: %s", decision->rule_id, decision->reason);
	if (audit_append(context->audit_home, "gate", "command", command,
	    gate_verdict_name(decision->verdict), details) < 0)
		fprintf(stderr, "cake hook: cannot append to the audit log in %s: %s\n",
		    context->audit_home, strerror(errno));
}

/*
 * Builds the pattern violation for an audited gate decision, or returns NULL
 * when auditing is off: {"type": rule id or "gate.allow", "prevented": bool,
 * "details": "COMMAND: reason"}.
 */
static struct json_object *
violation_json(const struct hook_context *context, const char *command,
    const struct gate_decision *decision)
{
	struct json_object *violation;
	char details[1024];

	if (context->audit_home == NULL)
		return NULL;
	if (decision->verdict == GATE_ALLOW)
		snprintf(details, sizeof details, "%s: no rule matched", command);
	else
		snprintf(details, sizeof details, "%s: %s", command, decision->reason);

	violation = json_object_new_object();
	json_object_object_add(violation, "type", json_object_new_string(
	    decision->verdict == GATE_ALLOW ? "gate.allow" : decision->rule_id));
	json_object_object_add(violation, "prevented", json_object_new_boolean(decision->verdict == GATE_DENY));
	json_object_object_add(violation, "details", json_object_new_string(details));
	return violation;
}

/*
 * Writes VIOLATION into recall.db from this process. Only used when no
 * adapter answered, so no recall worker is running to write it; a database
 * that does not exist yet is left alone.
 */
static void
record_violation_locally(const struct hook_context *context, struct json_object *violation)
{
	struct json_object *prevented;
	char error[512];
	sqlite3 *db;

	if (context->database_path == NULL || access(context->database_path, F_OK) != 0)
		return;
	if (store_open(context->database_path, &db, error, sizeof error) < 0) {
		fprintf(stderr, "cake hook: %s\n", error);
		return;
	}
	json_object_object_get_ex(violation, "prevented", &prevented);
	if (store_record_violation(db, member_string(violation, "type"), member_string(violation, "details"),
	    json_object_get_boolean(prevented), time(NULL), error, sizeof error) < 0)
		fprintf(stderr, "cake hook: cannot record the violation in %s: %s\n",
		    context->database_path, error);
	store_close(db);
}

static void
answer_pre_tool_use(const struct hook_context *context, struct json_object *input,
    struct hook_result *result)
{
	struct gate_decision decision;
	struct adapter_reply reply;
	struct json_object *tool_input, *request, *answer = NULL, *violation = NULL;
	const char *tool, *command, *cwd;
	char reason[2048];
	int denied = 0, warned = 0, called;

	tool = member_string(input, "tool_name");
	if (tool != NULL && strcmp(tool, "Bash") == 0) {
		command = NULL;
		if (json_object_object_get_ex(input, "tool_input", &tool_input))
			command = member_string(tool_input, "command");
		cwd = member_string(input, "cwd");

		if (command == NULL) {
			snprintf(reason, sizeof reason, "CAKE cannot check this Bash call: "
			    "tool_input.command is missing or not a string");
			denied = denies_unreadable_input(context->strictness);
		} else if (context->gate == NULL) {
			snprintf(reason, sizeof reason, "CAKE cannot check this command: the "
			    "command gate is not available (see the hook's stderr)");
			denied = denies_unreadable_input(context->strictness);
		} else if (gate_check(context->gate, command, cwd, &decision) == 0) {
			if (decision.verdict != GATE_ALLOW) {
				format_decision(&decision, reason, sizeof reason);
				denied = decision.verdict == GATE_DENY;
				warned = !denied;
			}
			audit_decision(context, command, &decision);
			violation = violation_json(context, command, &decision);
		}
		if (denied)
			answer = deny_answer(reason);
	}

	request = adapter_request("PreToolUse", input);
	if (denied || warned)
		json_object_object_add(request, "gate", json_object_new_string(reason));
	if (violation != NULL)
		json_object_object_add(request, "violation", json_object_get(violation));
	called = adapter_call(context, request, 0, &reply, result);
	if (called == 1) {
		if (reply.stop != NULL)
			answer = stop_answer(answer, reply.stop);
		adapter_reply_free(&reply);
	} else if (called == 0 && violation != NULL) {
		record_violation_locally(context, violation);
	}
	json_object_put(violation);
	json_object_put(request);
	if (answer != NULL)
		set_output(result, answer);
}

/*
 * SessionStart, UserPromptSubmit and other events: the adapter learns of
 * the session (its handshake) and hands over an intervention that waited
 * for an event to carry it.
 */
static void
answer_session_event(const struct hook_context *context, const char *event,
    struct json_object *input, struct hook_result *result)
{
	struct adapter_reply reply;
	struct json_object *request;
	int carries_context;

	carries_context = strcmp(event, "SessionStart") == 0 ||
	    strcmp(event, "UserPromptSubmit") == 0;
	request = adapter_request(event, input);
	if (adapter_call(context, request, 0, &reply, result) == 1) {
		if (reply.stop != NULL)
			set_output(result, stop_answer(NULL, reply.stop));
		else if (reply.context != NULL && carries_context)
			set_output(result, context_answer(event, reply.context));
		adapter_reply_free(&reply);
	}
	json_object_put(request);
}

static int
only_space(const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			return 0;
	}
	return 1;
}

void
hook_answer(const struct hook_context *context, const char *input, size_t length,
    struct hook_result *result)
{
	struct json_tokener *tokener;
	struct json_object *event_input;
	const char *event;

	result->exit_status = 0;
	result->output = strdup("{}");
	result->message = NULL;

	if (length == 0) {
		answer_unreadable(context, input, 0, "no hook event on stdin (the input is "
		    "empty)", result);
		return;
	}
	if (length > HOOK_INPUT_MAX) {
		answer_unreadable(context, input, HOOK_INPUT_MAX, "the hook event on stdin "
		    "is larger than 1 MiB", result);
		return;
	}

	tokener = json_tokener_new();
	if (tokener == NULL) {
		answer_unreadable(context, input, length, "out of memory", result);
		return;
	}
	event_input = json_tokener_parse_ex(tokener, input, (int)length);
	if (event_input == NULL || !only_space(input + json_tokener_get_parse_end(tokener),
	    length - json_tokener_get_parse_end(tokener))) {
		enum json_tokener_error error = json_tokener_get_error(tokener);

		json_object_put(event_input);
		json_tokener_free(tokener);
		answer_unreadable(context, input, length, error == json_tokener_success ?
		    "the hook event on stdin has text after its JSON object" :
		    error == json_tokener_continue ? "the hook event on stdin is cut short" :
		    "the hook event on stdin is not valid JSON", result);
		return;
	}
	json_tokener_free(tokener);

	event = json_object_is_type(event_input, json_type_object) ?
	    member_string(event_input, "hook_event_name") : NULL;
	if (event == NULL) {
		json_object_put(event_input);
		answer_unreadable(context, "", 0, "the hook event on stdin has no "
		    "hook_event_name string", result);
		return;
	}

	if (strcmp(event, "PreToolUse") == 0)
		answer_pre_tool_use(context, event_input, result);
	else if (strcmp(event, "PostToolUse") == 0)
		answer_post_tool_use(context, event_input, result);
	else if (strcmp(event, "PostToolUseFailure") == 0)
		answer_post_tool_use_failure(context, event_input, result);
	else
		answer_session_event(context, event, event_input, result);
	json_object_put(event_input);
}

void
hook_result_free(struct hook_result *result)
{
	free(result->output);
	free(result->message);
	result->output = NULL;
	result->message = NULL;
}
