/*
 * `cake test-intervention`: classifies agent output read from stdin. With a
 * running instance the text goes through the live watchdog and operator;
 * without one the same rules and voice run inside this process.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "classify-local.h"
#include "cmd.h"
#include "control.h"
#include "operator/voice.h"
#include "paths.h"
#include "watchdog/rules.h"

#define ANALYZE_TIMEOUT_MS 10000

/*
 * Classifies TEXT with the installed rules and CONFIG_PATH's user rules
 * (NULL: none) in this process. Returns the JSON result, or NULL after
 * printing why the rules cannot be loaded.
 */
static struct json_object *
analyze_local(const char *text, size_t length, const char *config_path)
{
	struct rules_options options = { NULL, config_path };
	struct msg_detection detection;
	char intervention[MSG_TEXT_MAX];
	char error[1024];
	struct json_object *result;
	struct rules *rules;
	int found;

	rules = rules_load(&options, error, sizeof error);
	if (rules == NULL) {
		cmd_error("cannot load the detection rules: %s", error);
		return NULL;
	}

	found = classify_text(rules, text, length, &detection);
	if (found && voice_render(&detection, intervention, sizeof intervention) >= 0)
		result = control_detection_json(&detection, intervention);
	else
		result = control_detection_json(found ? &detection : NULL, NULL);
	json_object_object_add(result, "mode", json_object_new_string("in-process"));
	rules_free(rules);
	return result;
}

/* Reads all of stdin, up to MAX bytes; more is an error. */
static char *
read_stdin(size_t max, size_t *length)
{
	char *text = malloc(max + 1);
	size_t used = 0;
	ssize_t n;

	if (text == NULL)
		return NULL;
	while ((n = read(STDIN_FILENO, text + used, max + 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cmd_error("cannot read stdin: %s", strerror(errno));
			free(text);
			return NULL;
		}
		used += (size_t)n;
		if (used > max) {
			cmd_error("input exceeds %zu bytes; pass only the output around the error", max);
			free(text);
			return NULL;
		}
	}
	text[used] = '\0';
	*length = used;
	return text;
}

static void
print_human(struct json_object *result)
{
	struct json_object *value;
	const char *mode = "in-process";

	if (json_object_object_get_ex(result, "mode", &value))
		mode = json_object_get_string(value);
	if (strcmp(mode, "live") == 0)
		printf("Pipeline: live (running instance)\n");
	else
		printf("Pipeline: in-process (no running instance)\n");

	json_object_object_get_ex(result, "detected", &value);
	if (!json_object_get_boolean(value)) {
		printf("No error detected\n");
		return;
	}

	json_object_object_get_ex(result, "error_type", &value);
	printf("Detected: %s", json_object_get_string(value));
	json_object_object_get_ex(result, "severity", &value);
	printf(" (severity %s", json_object_get_string(value));
	json_object_object_get_ex(result, "confidence", &value);
	printf(", confidence %.2f)\n", json_object_get_double(value));
	json_object_object_get_ex(result, "suggested_fix", &value);
	printf("Suggested fix: %s\n", json_object_get_string(value));
	json_object_object_get_ex(result, "intervention", &value);
	printf("Intervention: %s\n", value != NULL ? json_object_get_string(value) : "none");
}

int
cmd_test_intervention(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char home[PATH_MAX], socket_path[PATH_MAX], config_path[PATH_MAX * 2 + 8], error[512];
	const char *explicit_config = NULL;
	struct json_object *request, *result = NULL;
	enum control_result rc;
	size_t length;
	char *text;
	int json = 0, option;

	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 'j':
			json = 1;
			break;
		case 'c':
			explicit_config = optarg;
			break;
		case 'h':
			printf("usage: cake test-intervention [--json] [--config=FILE] < OUTPUT\n\n"
			    "Reads agent output (or a code line) on stdin and prints the classification\n"
			    "and the intervention CAKE would send. Uses the running instance when there\n"
			    "is one, else classifies in this process.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "usage: cake test-intervention [--json] < OUTPUT\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: cake test-intervention [--json] < OUTPUT\n");
		return EXIT_USAGE;
	}

	text = read_stdin(MSG_TEXT_MAX - 1, &length);
	if (text == NULL)
		return EXIT_USAGE;

	if (paths_cake_home(home, sizeof home) == 0 &&
	    paths_join(socket_path, sizeof socket_path, home, CONTROL_SOCKET_NAME) == 0) {
		request = json_object_new_object();
		json_object_object_add(request, "command", json_object_new_string("analyze"));
		json_object_object_add(request, "text", json_object_new_string_len(text, (int)length));
		rc = control_call(socket_path, request, &result, ANALYZE_TIMEOUT_MS, error, sizeof error);
		json_object_put(request);

		if (rc == CONTROL_FAILED) {
			cmd_error("the running instance did not answer: %s", error);
			free(text);
			return EXIT_FAILURE_STATUS;
		}
		if (rc == CONTROL_OK) {
			struct json_object *ok;

			json_object_object_get_ex(result, "ok", &ok);
			if (!json_object_get_boolean(ok)) {
				struct json_object *message;

				json_object_object_get_ex(result, "error", &message);
				cmd_error("the running instance rejected the request: %s",
				    json_object_get_string(message));
				json_object_put(result);
				free(text);
				return EXIT_FAILURE_STATUS;
			}
			json_object_object_del(result, "ok");
		}
	}
	if (result == NULL) {
		/* The config's watchdog.patterns add to the installed rules, as in the watchdog. */
		int have_config = paths_cake_home(home, sizeof home) == 0 &&
		    config_find(explicit_config, home, config_path, sizeof config_path) == 0;

		if (explicit_config != NULL && !have_config) {
			cmd_error("config file %s not found", explicit_config);
			free(text);
			return EXIT_USAGE;
		}
		result = analyze_local(text, length, have_config ? config_path : NULL);
	}
	free(text);
	if (result == NULL)
		return EXIT_INTERNAL;

	if (json) {
		json_object_object_del(result, "pid");
		printf("%s\n", json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN));
	} else {
		print_human(result);
	}
	json_object_put(result);
	return EXIT_OK;
}
