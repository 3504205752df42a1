/*
 * `cake gate`: runs the command gate on a command without running it.
 *
 *   cake gate explain [OPTIONS] -- COMMAND...   the parse, the rule that fired
 *   cake gate check [OPTIONS] -- COMMAND...     one line: allow, warn or deny
 *   cake gate rules                             the built-in rules
 *
 * Both exit 0 when the command is allowed (a warning included), 1 when it is
 * denied and 2 on a usage error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gate.h"
#include "shparse.h"

/* Input read from stdin is capped just above the parser's limit, so an oversized command is still judged. */
#define GATE_STDIN_MAX (SH_DEFAULT_MAX_INPUT + 1)

struct gate_options {
	const char *config_path;
	const char *cwd;
	const char *strictness;
	char *command;		/* joined arguments or stdin; owned */
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cake gate explain [OPTIONS] -- COMMAND...\n"
	    "       cake gate check [OPTIONS] -- COMMAND...\n"
	    "       cake gate rules\n"
	    "\n"
	    "Decides whether the command gate lets a shell command run, without running it.\n"
	    "Pass the command as one quoted argument to keep its quoting; several arguments\n"
	    "are joined with spaces. Without a command, it is read from stdin.\n"
	    "\n"
	    "options:\n"
	    "  --strictness=LEVEL  minimal, balanced or paranoid (default: the config's)\n"
	    "  --cwd=DIR           the directory the command would run in (default: this one)\n"
	    "  --config=PATH       the config file (default: ./cake_config.yaml, then CAKE_HOME's)\n"
	    "\n"
	    "Exit status: 0 allowed, 1 denied, 2 usage error.\n");
}

static char *
read_stdin_command(void)
{
	char *text = malloc(GATE_STDIN_MAX + 1);
	size_t used = 0;
	ssize_t n;

	if (text == NULL) {
		cmd_error("out of memory reading the command from stdin");
		return NULL;
	}
	while (used < GATE_STDIN_MAX && (n = read(STDIN_FILENO, text + used, GATE_STDIN_MAX - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cmd_error("cannot read the command from stdin: %s", strerror(errno));
			free(text);
			return NULL;
		}
		used += (size_t)n;
	}
	text[used] = '\0';
	while (used > 0 && text[used - 1] == '\n')
		text[--used] = '\0';
	return text;
}

static char *
join_arguments(int argc, char **argv)
{
	size_t length = 1;
	char *text;
	int i;

	for (i = 0; i < argc; i++)
		length += strlen(argv[i]) + 1;
	text = malloc(length);
	if (text == NULL) {
		cmd_error("out of memory joining the command's arguments");
		return NULL;
	}
	text[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(text, " ");
		strcat(text, argv[i]);
	}
	return text;
}

/*
 * Parses the options after the subcommand and reads the command. Returns
 * EXIT_OK, -1 after printing --help, or the exit status of the failure.
 */
static int
parse_options(int argc, char **argv, struct gate_options *options)
{
	int i;

	memset(options, 0, sizeof *options);
	for (i = 2; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(arg, "--strictness=", 13) == 0) {
			options->strictness = arg + 13;
		} else if (strncmp(arg, "--cwd=", 6) == 0) {
			options->cwd = arg + 6;
		} else if (strncmp(arg, "--config=", 9) == 0) {
			options->config_path = arg + 9;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return -1;
		} else if (arg[0] == '-') {
			cmd_error("unknown option '%s' for `cake gate %s`; put the command after --", arg, argv[1]);
			return EXIT_USAGE;
		} else {
			break;
		}
	}

	options->command = i < argc ? join_arguments(argc - i, argv + i) : read_stdin_command();
	if (options->command == NULL)
		return EXIT_INTERNAL;
	return EXIT_OK;
}

/* Builds the gate from the config, with --strictness taking precedence. */
static struct gate *
build_gate(const struct gate_options *options, int *status)
{
	struct cake_config config;
	struct gate *gate;
	enum strictness strictness;
	char home[PATH_MAX], error[1024];

	*status = cmd_load_config(options->config_path, 0, &config, home, sizeof home);
	if (*status != EXIT_OK)
		return NULL;
	strictness = config.strictness;
	if (options->strictness != NULL && strictness_parse(options->strictness, &strictness) < 0) {
		cmd_error("invalid --strictness '%s': use minimal, balanced or paranoid", options->strictness);
		config_free(&config);
		*status = EXIT_USAGE;
		return NULL;
	}

	gate = gate_create(strictness, (const char *const *)config.blocked_commands,
	    config.blocked_command_count, error, sizeof error);
	config_free(&config);
	if (gate == NULL) {
		cmd_error("%s", error);
		*status = EXIT_USAGE;
	}
	return gate;
}

/* Prints command INDEX and the commands that run inside it, indented by depth. */
static void
print_command(const struct sh_script *script, size_t index, int indent, const struct gate_decision *decision)
{
	const struct sh_command *command = &script->commands[index];
	char quoted[1024];
	size_t i;

	printf("%*s", indent, "");
	if (command->pipe_index > 0)
		printf("| ");
	for (i = 0; i < command->assignment_count; i++)
		printf("%s ", sh_word_quote(&command->assignments[i], quoted, sizeof quoted));
	if (command->argv_start >= command->word_count)
		printf("(no command)");
	for (i = command->argv_start; i < command->word_count; i++)
		printf("%s%s", i > command->argv_start ? " " : "",
		    sh_word_quote(&command->words[i], quoted, sizeof quoted));
	for (i = 0; i < command->redirect_count; i++)
		printf(" %s%s", command->redirects[i].op,
		    sh_word_quote(&command->redirects[i].target, quoted, sizeof quoted));

	if (command->argv_start > 0) {
		printf("  [wrappers:");
		for (i = 0; i < command->argv_start && i < command->word_count; i++)
			printf(" %s", sh_word_quote(&command->words[i], quoted, sizeof quoted));
		printf("]");
	}
	if (command->origin != SH_ORIGIN_TOP)
		printf("  [%s]", sh_origin_name(command->origin));
	if (command->flags & SH_CMD_ARGS_FROM_STDIN)
		printf("  [more arguments from stdin]");
	if (command->flags & SH_CMD_QUERY_ONLY)
		printf("  [lookup only, runs nothing]");
	if (command->flags & SH_CMD_DYNAMIC_SCRIPT)
		printf("  [script built at run time]");
	if (command->flags & SH_CMD_BACKGROUND)
		printf("  [background]");
	if (decision->command_index == index)
		printf("  <- %s", decision->rule_id);
	printf("\n");

	for (i = 0; i < script->command_count; i++) {
		if (script->commands[i].parent == index)
			print_command(script, i, indent + 4, decision);
	}
}

static void
print_explanation(const struct gate *gate, const char *text, const struct sh_script *script,
    const struct gate_decision *decision)
{
	size_t i;

	printf("command: %s\n", text);
	printf("strictness: %s\n", strictness_name(gate_strictness(gate)));
	if (script == NULL)
		printf("parse: failed (out of memory)\n");
	else if (script->status == SH_OK)
		printf("parse: complete, %zu command%s\n", script->command_count,
		    script->command_count == 1 ? "" : "s");
	else
		printf("parse: incomplete (%s): %s\n", sh_status_name(script->status), script->error);

	for (i = 0; script != NULL && i < script->command_count; i++) {
		if (script->commands[i].parent == SH_NO_PARENT)
			print_command(script, i, 2, decision);
	}

	if (decision->verdict == GATE_ALLOW) {
		printf("decision: allow (no rule matched)\n");
		return;
	}
	printf("decision: %s %s\n", gate_verdict_name(decision->verdict), decision->rule_id);
	if (decision->command[0] != '\0')
		printf("  matched: %s\n", decision->command);
	printf("  reason: %s\n", decision->reason);
	if (decision->alternative[0] != '\0')
		printf("  alternative: %s\n", decision->alternative);
}

static int
gate_rules(void)
{
	const struct gate_rule_info *rule;
	size_t i;

	for (i = 0; (rule = gate_rule(i)) != NULL; i++) {
		printf("%-24s denies from %-8s %s\n", rule->id, strictness_name(rule->deny_from), rule->reason);
		printf("%-24s %-20s %s\n", "", "", rule->alternative);
	}
	return EXIT_OK;
}

int
cmd_gate(int argc, char **argv)
{
	struct gate_options options;
	struct gate_decision decision;
	struct sh_script *script;
	struct gate *gate;
	int status, explain;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "rules") == 0)
		return gate_rules();
	if (strcmp(argv[1], "explain") != 0 && strcmp(argv[1], "check") != 0) {
		cmd_error("unknown gate command '%s'; use explain, check or rules", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	explain = strcmp(argv[1], "explain") == 0;

	status = parse_options(argc, argv, &options);
	if (status != EXIT_OK) {
		free(options.command);
		return status < 0 ? EXIT_OK : status;
	}
	gate = build_gate(&options, &status);
	if (gate == NULL) {
		free(options.command);
		return status;
	}

	script = sh_parse(options.command, NULL);
	gate_check_script(gate, script, options.cwd, &decision);
	if (explain)
		print_explanation(gate, options.command, script, &decision);
	else if (decision.verdict == GATE_ALLOW)
		printf("allow\n");
	else
		printf("%s %s: %s\n", gate_verdict_name(decision.verdict), decision.rule_id, decision.reason);

	sh_script_free(script);
	gate_free(gate);
	free(options.command);
	return decision.verdict == GATE_DENY ? EXIT_FAILURE_STATUS : EXIT_OK;
}
