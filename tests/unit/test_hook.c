/*
 * Tests of hook_answer(), the Claude Code hook: unreadable input, the
 * PreToolUse answers of the gate, and PostToolUseFailure with and without
 * an adapter listening on the hook socket.
 */
#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/un.h>

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "gate.h"
#include "hook-claude-code.h"
#include "watchdog/rules.h"

#define RULES_PATH CAKE_TEST_DATA_DIR "/../../share/rules/default.yaml"

#define MISSING_MODULE_EVENT \
	"{\"hook_event_name\":\"PostToolUseFailure\",\"session_id\":\"s-1\"," \
	"\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_1\",\"error\":\"Exit code 1\\n" \
	"Traceback (most recent call last):\\n  File \\\"/p/main.py\\\", line 1, in <module>\\n" \
	"    import requests\\nModuleNotFoundError: No module named 'requests'\"}"

static char directory[] = "/tmp/cake-test-hook.XXXXXX";
static char socket_path[sizeof directory + 32];
static struct hook_context context;
static struct hook_result result;
static struct rules *rules;

static void
setup(void)
{
	char error[512];
	const char *blocked[] = { "npm publish" };

	cr_assert_not_null(mkdtemp(directory));
	snprintf(socket_path, sizeof socket_path, "%s/hook.sock", directory);

	memset(&context, 0, sizeof context);
	context.strictness = STRICTNESS_BALANCED;
	context.max_latency_ms = 500;
	context.socket_path = socket_path;
	context.gate = gate_create(STRICTNESS_BALANCED, blocked, 1, error, sizeof error);
	cr_assert_not_null(context.gate, "%s", error);
	rules = rules_load(&(struct rules_options){ .rules_path = RULES_PATH }, error, sizeof error);
	cr_assert_not_null(rules, "%s", error);
	context.rules = rules;
	memset(&result, 0, sizeof result);
}

static void
teardown(void)
{
	hook_result_free(&result);
	gate_free(context.gate);
	rules_free(rules);
	unlink(socket_path);
	rmdir(directory);
}

TestSuite(hook, .init = setup, .fini = teardown);

static void
answer(const char *input)
{
	hook_answer(&context, input, strlen(input), &result);
}

/* Parses the answer; the caller puts it. */
static struct json_object *
answer_json(void)
{
	struct json_object *parsed;

	cr_assert_not_null(result.output);
	parsed = json_tokener_parse(result.output);
	cr_assert(json_object_is_type(parsed, json_type_object), "not an object: %s", result.output);
	return parsed;
}

/* Returns the string at KEY inside hookSpecificOutput, or NULL. */
static const char *
specific(struct json_object *parsed, const char *key)
{
	struct json_object *object, *value;

	if (!json_object_object_get_ex(parsed, "hookSpecificOutput", &object) ||
	    !json_object_object_get_ex(object, key, &value))
		return NULL;
	return json_object_get_string(value);
}

Test(hook, empty_input_blocks)
{
	answer("");
	cr_assert_eq(result.exit_status, 2);
	cr_assert_not_null(result.message);
	cr_assert_not_null(strstr(result.message, "empty"));
}

Test(hook, empty_input_minimal_allows)
{
	context.strictness = STRICTNESS_MINIMAL;
	answer("");
	cr_assert_eq(result.exit_status, 0);
	cr_assert_not_null(result.message);
}

Test(hook, cut_pre_tool_use_blocks)
{
	answer("{\"hook_event_name\": \"PreToolUse\", \"tool_input\": {\"command\": \"ls");
	cr_assert_eq(result.exit_status, 2);
	cr_assert_not_null(strstr(result.message, "cut short"));
}

Test(hook, cut_post_tool_use_passes)
{
	answer("{\"hook_event_name\":\"PostToolUse\",\"tool_response\":{\"stdout\":\"x");
	cr_assert_eq(result.exit_status, 0);
	cr_assert_str_eq(result.output, "{}");
}

Test(hook, oversized_input_blocks)
{
	size_t length = HOOK_INPUT_MAX + 1;
	char *input = malloc(length);

	cr_assert_not_null(input);
	memset(input, 'a', length);
	hook_answer(&context, input, length, &result);
	free(input);
	cr_assert_eq(result.exit_status, 2);
	cr_assert_not_null(strstr(result.message, "1 MiB"));
}

Test(hook, non_object_blocks)
{
	answer("[1, 2]");
	cr_assert_eq(result.exit_status, 2);
	cr_assert_not_null(strstr(result.message, "hook_event_name"));
}

Test(hook, trailing_text_blocks)
{
	answer("{\"hook_event_name\":\"PreToolUse\"} extra");
	cr_assert_eq(result.exit_status, 2);
}

Test(hook, pre_tool_use_denies)
{
	struct json_object *parsed;

	answer("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_input\":{\"command\":\"npm publish --tag next\"},\"cwd\":\"/tmp\"}\n");
	cr_assert_eq(result.exit_status, 0);
	parsed = answer_json();
	cr_assert_str_eq(specific(parsed, "hookEventName"), "PreToolUse");
	cr_assert_str_eq(specific(parsed, "permissionDecision"), "deny");
	cr_assert_not_null(strstr(specific(parsed, "permissionDecisionReason"), "npm publish"));
	json_object_put(parsed);
}

Test(hook, pre_tool_use_allows)
{
	answer("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_input\":{\"command\":\"ls -la\"}}");
	cr_assert_eq(result.exit_status, 0);
	cr_assert_str_eq(result.output, "{}");
}

Test(hook, other_tool_allowed)
{
	answer("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Read\","
	    "\"tool_input\":{\"file_path\":\"/etc/passwd\"}}");
	cr_assert_eq(result.exit_status, 0);
	cr_assert_str_eq(result.output, "{}");
}

Test(hook, missing_command_denies)
{
	struct json_object *parsed;

	answer("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{}}");
	parsed = answer_json();
	cr_assert_str_eq(specific(parsed, "permissionDecision"), "deny");
	json_object_put(parsed);
}

Test(hook, no_gate_denies)
{
	struct json_object *parsed;
	struct gate *gate = context.gate;

	context.gate = NULL;
	answer("{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_input\":{\"command\":\"ls\"}}");
	context.gate = gate;
	parsed = answer_json();
	cr_assert_str_eq(specific(parsed, "permissionDecision"), "deny");
	json_object_put(parsed);
}

Test(hook, failure_classified_locally)
{
	struct json_object *parsed;

	answer(MISSING_MODULE_EVENT);
	cr_assert_eq(result.exit_status, 0);
	parsed = answer_json();
	cr_assert_str_eq(specific(parsed, "hookEventName"), "PostToolUseFailure");
	cr_assert_str_eq(specific(parsed, "additionalContext"),
	    "Operator (CAKE): Stop. Run pip install requests. See requirements.txt.");
	json_object_put(parsed);
}

Test(hook, clean_output_no_context)
{
	answer("{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_response\":{\"stdout\":\"hello\",\"stderr\":\"\",\"interrupted\":false}}");
	cr_assert_eq(result.exit_status, 0);
	cr_assert_str_eq(result.output, "{}");
}

/* A stand-in adapter: accepts one connection, keeps the request, sends REPLY. */
struct fake_adapter {
	int listen_fd;
	const char *reply;
	char request[1 << 20];
};

static void *
fake_adapter_run(void *arg)
{
	struct fake_adapter *fake = arg;
	size_t used = 0;
	ssize_t got;
	int fd;

	fd = accept(fake->listen_fd, NULL, NULL);
	if (fd == -1)
		return NULL;
	while (used + 1 < sizeof fake->request &&
	    (got = read(fd, fake->request + used, sizeof fake->request - 1 - used)) > 0) {
		used += (size_t)got;
		if (memchr(fake->request, '\n', used) != NULL)
			break;
	}
	fake->request[used] = '\0';
	if (write(fd, fake->reply, strlen(fake->reply)) == -1)
		perror("fake adapter write");
	close(fd);
	return NULL;
}

static void
fake_adapter_start(struct fake_adapter *fake, pthread_t *thread)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };

	snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path);
	fake->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fake->listen_fd, 0);
	cr_assert_eq(bind(fake->listen_fd, (struct sockaddr *)&address, sizeof address), 0);
	cr_assert_eq(listen(fake->listen_fd, 1), 0);
	cr_assert_eq(pthread_create(thread, NULL, fake_adapter_run, fake), 0);
}

Test(hook, failure_goes_to_adapter)
{
	static struct fake_adapter fake = { .reply = "{\"context\":\"Operator (CAKE): Stop. From the pipeline.\"}\n" };
	struct json_object *parsed, *request, *value;
	pthread_t thread;

	fake_adapter_start(&fake, &thread);
	answer(MISSING_MODULE_EVENT);
	pthread_join(thread, NULL);
	close(fake.listen_fd);

	request = json_tokener_parse(fake.request);
	cr_assert_not_null(request, "request: %s", fake.request);
	cr_assert(json_object_object_get_ex(request, "event", &value));
	cr_assert_str_eq(json_object_get_string(value), "PostToolUseFailure");
	cr_assert(json_object_object_get_ex(request, "stderr", &value));
	cr_assert_not_null(strstr(json_object_get_string(value), "No module named 'requests'"));
	cr_assert(json_object_object_get_ex(request, "tool_use_id", &value));
	cr_assert_str_eq(json_object_get_string(value), "toolu_1");
	cr_assert(json_object_object_get_ex(request, "wait_ms", &value));
	cr_assert_eq(json_object_get_int(value), 500);
	json_object_put(request);

	parsed = answer_json();
	cr_assert_str_eq(specific(parsed, "additionalContext"),
	    "Operator (CAKE): Stop. From the pipeline.");
	json_object_put(parsed);
}

Test(hook, escalation_stops_session)
{
	static struct fake_adapter fake = { .reply = "{\"stop\":\"CAKE stopped the session\"}\n" };
	struct json_object *parsed, *value;
	pthread_t thread;

	fake_adapter_start(&fake, &thread);
	answer(MISSING_MODULE_EVENT);
	pthread_join(thread, NULL);
	close(fake.listen_fd);

	parsed = answer_json();
	cr_assert(json_object_object_get_ex(parsed, "continue", &value));
	cr_assert_eq(json_object_get_boolean(value), 0);
	cr_assert(json_object_object_get_ex(parsed, "stopReason", &value));
	cr_assert_str_eq(json_object_get_string(value), "CAKE stopped the session");
	json_object_put(parsed);
}

Test(hook, broken_adapter_reply)
{
	static struct fake_adapter fake = { .reply = "not json\n" };
	pthread_t thread;

	fake_adapter_start(&fake, &thread);
	answer(MISSING_MODULE_EVENT);
	pthread_join(thread, NULL);
	close(fake.listen_fd);

	cr_assert_eq(result.exit_status, 0);
	cr_assert_str_eq(result.output, "{}");
	cr_assert_not_null(strstr(result.message, "not a JSON object"));
}
