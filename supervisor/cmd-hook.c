/*
 * `cake hook claude-code`: prints CAKE's reply to one Claude Code hook event.
 * `cake hooks install|uninstall`: adds CAKE's hook entries to a Claude Code
 * settings file, or removes them, leaving every other entry as it was.
 */
#define _GNU_SOURCE

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "adapters/claude-code/hook-socket.h"
#include "cmd.h"
#include "gate.h"
#include "hook-claude-code.h"
#include "paths.h"
#include "watchdog/rules.h"

/*
 * Time the hook gets before it gives up on its own, beyond the wait for an
 * intervention. Claude Code's own limit for the hook is set in the
 * settings (HOOK_TIMEOUT_SECONDS).
 */
#define HOOK_OWN_DEADLINE_SECONDS 10

/* Claude Code's timeout for CAKE's hooks: the longest max_latency_ms (60 s) and slack. */
#define HOOK_TIMEOUT_SECONDS 75

/* CAKE's entries end their command with these words. */
#define HOOK_COMMAND_SUFFIX " hook claude-code"

/* The events CAKE hooks into, and the tools each one matches ("" for none). */
static const struct {
	const char *event;
	const char *matcher;
} hook_events[] = {
	{ "SessionStart", "" },
	{ "UserPromptSubmit", "" },
	{ "PreToolUse", "Bash" },
	{ "PostToolUse", "Bash" },
	{ "PostToolUseFailure", "Bash" },
};
#define HOOK_EVENT_COUNT (sizeof hook_events / sizeof hook_events[0])

/* ---- cake hook claude-code ---- */

static void
hook_timeout_cb(int signo)
{
	static const char message[] = "cake hook: timed out; CAKE gives no decision for "
	    "this event and blocks it\n";
	ssize_t written;

	(void)signo;
	written = write(STDERR_FILENO, message, sizeof message - 1);
	(void)written;
	_exit(2);
}

/*
 * Reads stdin up to HOOK_INPUT_MAX + 1 bytes and discards the rest, so that
 * Claude Code can finish writing. *LENGTH above HOOK_INPUT_MAX marks input
 * that was cut.
 */
static char *
read_event(size_t *length)
{
	char *input = malloc(HOOK_INPUT_MAX + 1);
	char discard[65536];
	size_t used = 0;
	ssize_t got;

	if (input == NULL)
		return NULL;
	while (used < HOOK_INPUT_MAX + 1) {
		got = read(STDIN_FILENO, input + used, HOOK_INPUT_MAX + 1 - used);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
	}
	if (used > HOOK_INPUT_MAX) {
		while ((got = read(STDIN_FILENO, discard, sizeof discard)) != 0) {
			if (got == -1 && errno != EINTR)
				break;
		}
	}
	*length = used;
	return input;
}

/*
 * Loads the config as other commands do. A config that cannot be loaded
 * is reported and replaced by the defaults, so that the gate still runs.
 */
static void
hook_load_config(struct cake_config *config, char *home, size_t home_size)
{
	char error[512];

	if (cmd_load_config(NULL, 0, config, home, home_size) == EXIT_OK)
		return;
	fprintf(stderr, "cake hook: using the default configuration instead\n");
	config_defaults(config);
	if (config_apply_env(config, error, sizeof error) == -1)
		fprintf(stderr, "cake hook: %s\n", error);
	if (paths_cake_home(home, home_size) == -1)
		home[0] = '\0';
	else if (config_resolve_paths(config, home) == -1)
		fprintf(stderr, "cake hook: CAKE_HOME %s is too long for the database path\n", home);
}

static int
hook_usage(FILE *out)
{
	fprintf(out, "usage: cake hook claude-code < EVENT.json\n\n"
	    "Answers one Claude Code hook event (run by Claude Code; 'cake hooks install'\n"
	    "adds it to the settings). Prints Claude Code's JSON answer and exits 0, or\n"
	    "exits 2 with the reason on stderr to block the event.\n");
	return out == stdout ? EXIT_OK : EXIT_USAGE;
}

/* The hook's detection rules, loaded on first use. */
struct rules_loader {
	const char *config_path;	/* config whose watchdog.patterns apply, or NULL */
	struct rules *rules;
	int tried;
};

static const struct rules *
load_rules_once(void *arg)
{
	struct rules_loader *loader = arg;
	struct rules_options options = { NULL, loader->config_path };
	char error[1024];

	if (loader->tried)
		return loader->rules;
	loader->tried = 1;
	loader->rules = rules_load(&options, error, sizeof error);
	if (loader->rules == NULL)
		fprintf(stderr, "cake hook: cannot load the detection rules: %s\n", error);
	return loader->rules;
}

int
cmd_hook(int argc, char **argv)
{
	struct cake_config config;
	struct hook_context context;
	struct hook_result result;
	struct rules_loader loader = { NULL, NULL, 0 };
	char home[PATH_MAX], socket_path[PATH_MAX], error[512];
	size_t length;
	char *input;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return hook_usage(stdout);
	if (argc != 2 || strcmp(argv[1], "claude-code") != 0) {
		fprintf(stderr, "cake hook: the only agent with hooks is claude-code\n");
		hook_usage(stderr);
		/* Claude Code treats exit status 2 as a block and anything else as "go on". */
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, hook_timeout_cb);
	alarm(HOOK_OWN_DEADLINE_SECONDS);

	input = read_event(&length);
	if (input == NULL) {
		fprintf(stderr, "cake hook: out of memory reading the hook event\n");
		return 2;
	}
	hook_load_config(&config, home, sizeof home);
	alarm((unsigned)(config.max_latency_ms / 1000) + HOOK_OWN_DEADLINE_SECONDS);

	memset(&context, 0, sizeof context);
	context.strictness = config.strictness;
	context.max_latency_ms = config.max_latency_ms;
	context.gate = gate_create(config.strictness, (const char *const *)config.blocked_commands,
	    config.blocked_command_count, error, sizeof error);
	if (context.gate == NULL)
		fprintf(stderr, "cake hook: cannot build the command gate: %s\n", error);
	loader.config_path = config.source[0] != '\0' ? config.source : NULL;
	context.load_rules = load_rules_once;
	context.load_rules_arg = &loader;
	if (home[0] != '\0' &&
	    paths_join(socket_path, sizeof socket_path, home, HOOK_SOCKET_NAME) == 0)
		context.socket_path = socket_path;
	if (config.audit_all_commands && home[0] != '\0') {
		context.audit_home = home;
		context.database_path = config.database_path;
	}

	hook_answer(&context, input, length, &result);
	free(input);
	if (result.message != NULL)
		fprintf(stderr, "%s\n", result.message);
	if (result.output == NULL) {
		fprintf(stderr, "cake hook: out of memory writing the answer\n");
		result.exit_status = 2;
	} else if (result.exit_status == 0) {
		printf("%s\n", result.output);
	}
	fflush(stdout);

	hook_result_free(&result);
	rules_free(loader.rules);
	gate_free(context.gate);
	config_free(&config);
	return result.exit_status;
}

/* ---- cake hooks install|uninstall ---- */

enum hooks_scope {
	SCOPE_LOCAL,		/* .claude/settings.local.json, kept out of git */
	SCOPE_PROJECT,		/* .claude/settings.json, shared with the project */
	SCOPE_USER,		/* ~/.claude/settings.json */
};

static int
hooks_usage(FILE *out)
{
	fprintf(out, "usage: cake hooks install|uninstall [--scope=local|project|user] "
	    "[--settings=FILE]\n\n"
	    "Adds CAKE's Claude Code hooks to a settings file, or removes them. Other\n"
	    "entries stay as they are, and running either twice changes nothing.\n"
	    "  --scope=local     .claude/settings.local.json in this directory (default)\n"
	    "  --scope=project   .claude/settings.json in this directory\n"
	    "  --scope=user      ~/.claude/settings.json\n"
	    "  --settings=FILE   this file instead\n");
	return out == stdout ? EXIT_OK : EXIT_USAGE;
}

static int
settings_path(enum hooks_scope scope, char *out, size_t size)
{
	const char *home;
	int written;

	switch (scope) {
	case SCOPE_LOCAL:
		written = snprintf(out, size, ".claude/settings.local.json");
		break;
	case SCOPE_PROJECT:
		written = snprintf(out, size, ".claude/settings.json");
		break;
	case SCOPE_USER:
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0') {
			cmd_error("HOME is not set; use --settings=FILE to name the user settings file");
			return -1;
		}
		written = snprintf(out, size, "%s/.claude/settings.json", home);
		break;
	default:
		return -1;
	}
	if (written < 0 || (size_t)written >= size) {
		cmd_error("the settings path is too long");
		return -1;
	}
	return 0;
}

/* Appends TEXT to OUT in single quotes for sh. Returns -1 when it does not fit. */
static int
append_quoted(char *out, size_t size, const char *text)
{
	size_t used = strlen(out);

	if (used + 1 >= size)
		return -1;
	out[used++] = '\'';
	for (; *text != '\0'; text++) {
		if (*text == '\'') {
			if (used + 4 >= size)
				return -1;
			memcpy(out + used, "'\\''", 4);
			used += 4;
			continue;
		}
		if (used + 1 >= size)
			return -1;
		out[used++] = *text;
	}
	if (used + 2 > size)
		return -1;
	out[used++] = '\'';
	out[used] = '\0';
	return 0;
}

/*
 * Builds the hook command: CAKE_HOME='HOME' '/path/to/cake' hook claude-code.
 * CAKE_HOME is spelled out so that the hook finds the instance that this
 * cake uses, whatever environment Claude Code runs it in.
 */
static int
hook_command(char *out, size_t size)
{
	char exe[PATH_MAX], home[PATH_MAX], absolute[PATH_MAX];

	if (paths_exe(exe, sizeof exe) == -1) {
		cmd_error("cannot find the path of the cake executable: %s", strerror(errno));
		return -1;
	}
	if (paths_cake_home(home, sizeof home) == -1) {
		cmd_error("neither CAKE_HOME nor HOME is set; set CAKE_HOME");
		return -1;
	}
	/* Claude Code runs hooks in the project directory, so a relative CAKE_HOME would move. */
	if (home[0] != '/' && realpath(home, absolute) != NULL)
		snprintf(home, sizeof home, "%s", absolute);
	snprintf(out, size, "CAKE_HOME=");
	if (append_quoted(out, size, home) == -1 || strlen(out) + 2 > size)
		goto too_long;
	strcat(out, " ");
	if (append_quoted(out, size, exe) == -1 ||
	    strlen(out) + sizeof HOOK_COMMAND_SUFFIX > size)
		goto too_long;
	strcat(out, HOOK_COMMAND_SUFFIX);
	return 0;

too_long:
	cmd_error("the hook command for %s does not fit in %zu bytes", exe, size);
	return -1;
}

/* Reads and parses FILE. A missing file gives an empty object. */
static struct json_object *
settings_read(const char *path)
{
	struct json_tokener *tokener;
	struct json_object *settings;
	char *text = NULL;
	size_t length = 0;
	FILE *file;

	file = fopen(path, "r");
	if (file == NULL && errno == ENOENT)
		return json_object_new_object();
	if (file == NULL) {
		cmd_error("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (getdelim(&text, &length, '\0', file) == -1 && ferror(file)) {
		cmd_error("cannot read %s: %s", path, strerror(errno));
		fclose(file);
		free(text);
		return NULL;
	}
	fclose(file);
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		free(text);
		return json_object_new_object();
	}

	tokener = json_tokener_new();
	settings = json_tokener_parse_ex(tokener, text, (int)strlen(text));
	if (settings == NULL || !json_object_is_type(settings, json_type_object)) {
		cmd_error("%s is not a JSON object (%s at byte %zu); fix the file or move it "
		    "away, it was left unchanged", path,
		    settings == NULL ? json_tokener_error_desc(json_tokener_get_error(tokener)) :
		    "another JSON value", json_tokener_get_parse_end(tokener));
		json_object_put(settings);
		settings = NULL;
	}
	json_tokener_free(tokener);
	free(text);
	return settings;
}

static int
is_cake_hook(struct json_object *hook)
{
	struct json_object *command;
	const char *text;
	size_t length, suffix = strlen(HOOK_COMMAND_SUFFIX);

	if (!json_object_object_get_ex(hook, "command", &command) ||
	    !json_object_is_type(command, json_type_string))
		return 0;
	text = json_object_get_string(command);
	length = strlen(text);
	return length > suffix && strcmp(text + length - suffix, HOOK_COMMAND_SUFFIX) == 0;
}

/*
 * Removes CAKE's hooks from the matcher groups in GROUPS, and groups left
 * empty by that. Returns the number of hooks removed.
 */
static int
remove_cake_hooks(struct json_object *groups)
{
	struct json_object *group, *hooks;
	int removed = 0, before;

	for (size_t i = json_object_array_length(groups); i-- > 0;) {
		group = json_object_array_get_idx(groups, i);
		if (!json_object_object_get_ex(group, "hooks", &hooks) ||
		    !json_object_is_type(hooks, json_type_array))
			continue;
		before = removed;
		for (size_t j = json_object_array_length(hooks); j-- > 0;) {
			if (is_cake_hook(json_object_array_get_idx(hooks, j))) {
				json_object_array_del_idx(hooks, j, 1);
				removed++;
			}
		}
		if (removed > before && json_object_array_length(hooks) == 0)
			json_object_array_del_idx(groups, i, 1);
	}
	return removed;
}

static struct json_object *
cake_group(const char *matcher, const char *command)
{
	struct json_object *group = json_object_new_object();
	struct json_object *hooks = json_object_new_array();
	struct json_object *hook = json_object_new_object();

	if (matcher[0] != '\0')
		json_object_object_add(group, "matcher", json_object_new_string(matcher));
	json_object_object_add(hook, "type", json_object_new_string("command"));
	json_object_object_add(hook, "command", json_object_new_string(command));
	json_object_object_add(hook, "timeout", json_object_new_int(HOOK_TIMEOUT_SECONDS));
	json_object_array_add(hooks, hook);
	json_object_object_add(group, "hooks", hooks);
	return group;
}

/*
 * Changes SETTINGS in place: removes CAKE's hooks, then adds them again
 * when COMMAND is not NULL. Returns 0, or -1 when "hooks" or one of its
 * events has a type that Claude Code would reject too.
 */
static int
settings_update(struct json_object *settings, const char *path, const char *command)
{
	struct json_object *hooks, *groups;
	const char *event;
	int removed;

	if (!json_object_object_get_ex(settings, "hooks", &hooks)) {
		if (command == NULL)
			return 0;
		hooks = json_object_new_object();
		json_object_object_add(settings, "hooks", hooks);
	}
	if (!json_object_is_type(hooks, json_type_object)) {
		cmd_error("%s: \"hooks\" is not an object; fix the file, it was left unchanged", path);
		return -1;
	}

	for (size_t i = 0; i < HOOK_EVENT_COUNT; i++) {
		event = hook_events[i].event;
		if (!json_object_object_get_ex(hooks, event, &groups)) {
			if (command == NULL)
				continue;
			groups = json_object_new_array();
			json_object_object_add(hooks, event, groups);
		}
		if (!json_object_is_type(groups, json_type_array)) {
			cmd_error("%s: hooks.%s is not an array; fix the file, it was left unchanged",
			    path, event);
			return -1;
		}
		removed = remove_cake_hooks(groups);
		if (command != NULL)
			json_object_array_add(groups, cake_group(hook_events[i].matcher, command));
		else if (removed > 0 && json_object_array_length(groups) == 0)
			json_object_object_del(hooks, event);
	}
	if (command == NULL && json_object_object_length(hooks) == 0)
		json_object_object_del(settings, "hooks");
	return 0;
}

/* Writes SETTINGS to PATH through a temporary file and a rename, keeping PATH's mode. */
static int
settings_write(struct json_object *settings, const char *path)
{
	char temporary[PATH_MAX], directory[PATH_MAX], *slash;
	const char *text;
	struct stat st;
	mode_t mode = 0644;
	FILE *file;
	int fd;

	snprintf(directory, sizeof directory, "%s", path);
	slash = strrchr(directory, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (directory[0] != '\0' && paths_mkdir_p(directory, 0755) == -1) {
			cmd_error("cannot create %s: %s", directory, strerror(errno));
			return -1;
		}
	}
	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;

	if (snprintf(temporary, sizeof temporary, "%s.XXXXXX", path) >= (int)sizeof temporary) {
		cmd_error("the path %s is too long", path);
		return -1;
	}
	fd = mkstemp(temporary);
	if (fd == -1) {
		cmd_error("cannot create a temporary file beside %s: %s", path, strerror(errno));
		return -1;
	}
	file = fdopen(fd, "w");
	if (file == NULL) {
		close(fd);
		unlink(temporary);
		cmd_error("cannot write %s: %s", temporary, strerror(errno));
		return -1;
	}
	text = json_object_to_json_string_ext(settings,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (fprintf(file, "%s\n", text) < 0 || fchmod(fd, mode) == -1 || fflush(file) == EOF ||
	    fsync(fd) == -1) {
		cmd_error("cannot write %s: %s", temporary, strerror(errno));
		fclose(file);
		unlink(temporary);
		return -1;
	}
	if (fclose(file) == EOF || rename(temporary, path) == -1) {
		cmd_error("cannot replace %s: %s", path, strerror(errno));
		unlink(temporary);
		return -1;
	}
	return 0;
}

int
cmd_hooks(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "settings", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum hooks_scope scope = SCOPE_LOCAL;
	char path[PATH_MAX], command[PATH_MAX * 2 + 64];
	struct json_object *settings;
	const char *action, *explicit_path = NULL;
	int install, option;

	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 's':
			if (strcmp(optarg, "local") == 0) {
				scope = SCOPE_LOCAL;
			} else if (strcmp(optarg, "project") == 0) {
				scope = SCOPE_PROJECT;
			} else if (strcmp(optarg, "user") == 0) {
				scope = SCOPE_USER;
			} else {
				cmd_error("invalid --scope '%s': expected local, project or user", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			explicit_path = optarg;
			break;
		case 'h':
			return hooks_usage(stdout);
		default:
			return hooks_usage(stderr);
		}
	}
	if (optind + 1 != argc)
		return hooks_usage(stderr);
	action = argv[optind];
	if (strcmp(action, "install") != 0 && strcmp(action, "uninstall") != 0) {
		cmd_error("unknown action '%s': expected install or uninstall", action);
		return EXIT_USAGE;
	}
	install = strcmp(action, "install") == 0;

	if (explicit_path != NULL)
		snprintf(path, sizeof path, "%s", explicit_path);
	else if (settings_path(scope, path, sizeof path) == -1)
		return EXIT_USAGE;
	if (install && hook_command(command, sizeof command) == -1)
		return EXIT_INTERNAL;
	if (!install && access(path, F_OK) == -1 && errno == ENOENT) {
		printf("No CAKE hooks to remove: %s does not exist\n", path);
		return EXIT_OK;
	}

	settings = settings_read(path);
	if (settings == NULL)
		return EXIT_USAGE;
	if (settings_update(settings, path, install ? command : NULL) == -1) {
		json_object_put(settings);
		return EXIT_USAGE;
	}
	if (settings_write(settings, path) == -1) {
		json_object_put(settings);
		return EXIT_FAILURE_STATUS;
	}
	json_object_put(settings);

	if (install)
		printf("Installed CAKE's Claude Code hooks in %s\n", path);
	else
		printf("Removed CAKE's Claude Code hooks from %s\n", path);
	return EXIT_OK;
}
