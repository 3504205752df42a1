/*
 * Tests for common/gate.c: the labelled corpus in tests/data/gate/corpus.tsv,
 * the rule table, safety.blocked_commands entries, and robustness against
 * random, oversized and deeply nested input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "gate.h"

#define CORPUS_PATH CAKE_TEST_DATA_DIR "/gate/corpus.tsv"
#define TEST_HOME "/home/agent"
#define TEST_CWD "/home/agent/project"

static char error[1024];

/* Builds a gate with HOME fixed, so home-directory rules do not depend on the machine. */
static struct gate *
make_gate(enum strictness strictness, const char *const *extra, size_t extra_count)
{
	struct gate *gate;

	setenv("HOME", TEST_HOME, 1);
	gate = gate_create(strictness, extra, extra_count, error, sizeof error);
	cr_assert_not_null(gate, "gate_create failed: %s", error);
	return gate;
}

static enum gate_verdict
verdict_of(const struct gate *gate, const char *command)
{
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, command, TEST_CWD, &decision), 0);
	return decision.verdict;
}

/* Decodes \n, \t and \\ in place. */
static void
unescape(char *text)
{
	char *out = text;

	for (; *text != '\0'; text++) {
		if (*text == '\\' && text[1] == 'n') {
			*out++ = '\n';
			text++;
		} else if (*text == '\\' && text[1] == 't') {
			*out++ = '\t';
			text++;
		} else if (*text == '\\' && text[1] == '\\') {
			*out++ = '\\';
			text++;
		} else {
			*out++ = *text;
		}
	}
	*out = '\0';
}

Test(gate, corpus)
{
	struct gate *gates[3];
	struct gate_decision decision;
	char line[4096];
	size_t rows = 0, denied = 0, allowed = 0, failed = 0;
	enum strictness strictness;
	FILE *file;
	int i;

	for (i = 0; i < 3; i++)
		gates[i] = make_gate((enum strictness)i, NULL, 0);
	file = fopen(CORPUS_PATH, "r");
	cr_assert_not_null(file, "cannot open %s", CORPUS_PATH);

	while (fgets(line, sizeof line, file) != NULL) {
		char *command, *expected, *level, *newline;

		newline = strchr(line, '\n');
		if (newline != NULL)
			*newline = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		command = strtok(line, "\t");
		expected = strtok(NULL, "\t");
		level = strtok(NULL, "\t");
		cr_assert_not_null(level, "corpus row %zu has fewer than 3 columns", rows + 1);
		cr_assert_eq(strictness_parse(level, &strictness), 0, "corpus row %zu: strictness '%s'", rows + 1,
		    level);
		cr_assert(strcmp(expected, "allow") == 0 || strcmp(expected, "deny") == 0,
		    "corpus row %zu: expected '%s'", rows + 1, expected);
		unescape(command);

		cr_assert_eq(gate_check(gates[strictness], command, TEST_CWD, &decision), 0);
		rows++;
		if ((decision.verdict == GATE_DENY) != (strcmp(expected, "deny") == 0)) {
			failed++;
			cr_log_error("%s [%s]: expected %s, got %s %s", command, level, expected,
			    gate_verdict_name(decision.verdict), decision.rule_id);
		} else if (decision.verdict == GATE_DENY) {
			denied++;
		} else {
			allowed++;
		}
	}
	fclose(file);
	for (i = 0; i < 3; i++)
		gate_free(gates[i]);

	cr_log_info("gate corpus: %zu rows, %zu denied, %zu allowed, %zu wrong", rows, denied, allowed, failed);
	printf("gate corpus: %zu rows, %zu denied as expected, %zu allowed as expected, %zu wrong\n", rows,
	    denied, allowed, failed);
	cr_assert_geq(rows, 80);
	cr_assert_eq(failed, 0, "%zu corpus rows got the wrong decision", failed);
}

Test(gate, decision_fields)
{
	struct gate *gate = make_gate(STRICTNESS_BALANCED, NULL, 0);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, "echo start; git -C ../x push -f origin main", TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	cr_assert_str_eq(decision.rule_id, "git.push.force");
	cr_assert_str_eq(decision.command, "git -C ../x push -f origin main");
	cr_assert_eq(decision.command_index, 1);
	cr_assert_eq(strncmp(decision.alternative, "Try git push --force-with-lease", 31), 0);
	cr_assert_neq(decision.reason[strlen(decision.reason) - 1], '.');
	gate_free(gate);
}

Test(gate, allowed_decision_empty)
{
	struct gate *gate = make_gate(STRICTNESS_PARANOID, NULL, 0);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, "ls -la", TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_ALLOW);
	cr_assert_str_eq(decision.rule_id, "");
	cr_assert_eq(decision.command_index, SH_NO_PARENT);
	gate_free(gate);
}

Test(gate, warn_below_strictness)
{
	struct gate *gate = make_gate(STRICTNESS_MINIMAL, NULL, 0);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, "git reset --hard", TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_WARN);
	cr_assert_str_eq(decision.rule_id, "git.reset.hard");
	gate_free(gate);
}

Test(gate, deny_beats_earlier_warning)
{
	struct gate *gate = make_gate(STRICTNESS_BALANCED, NULL, 0);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, "git branch -D old && git stash clear", TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	cr_assert_str_eq(decision.rule_id, "git.stash.clear");
	gate_free(gate);
}

Test(gate, rule_table)
{
	const struct gate_rule_info *rule, *other;
	size_t i, j;

	cr_assert_geq(gate_rule_count(), 20);
	cr_assert_null(gate_rule(gate_rule_count()));
	for (i = 0; (rule = gate_rule(i)) != NULL; i++) {
		const char *alternative = rule->alternative;

		cr_assert(strncmp(alternative, "Try ", 4) == 0 || strncmp(alternative, "Run ", 4) == 0 ||
		    strncmp(alternative, "Check ", 6) == 0 || strncmp(alternative, "See ", 4) == 0,
		    "rule %s: alternative '%s' starts with neither Try, Run, Check nor See", rule->id, alternative);
		cr_assert_neq(rule->reason[strlen(rule->reason) - 1], '.', "rule %s: reason ends with '.'", rule->id);
		for (j = i + 1; (other = gate_rule(j)) != NULL; j++)
			cr_assert_str_neq(rule->id, other->id);
	}
}

Test(gate, blocked_commands_match)
{
	const char *extra[] = { "npm publish", "git push --force", "/usr/bin/terraform destroy" };
	struct gate *gate = make_gate(STRICTNESS_MINIMAL, extra, 3);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, "npm publish --access public", TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	cr_assert_str_eq(decision.rule_id, "config.blocked");
	cr_assert_neq(strstr(decision.reason, "npm publish"), NULL);
	cr_assert_eq(verdict_of(gate, "sudo -E npm --silent publish"), GATE_DENY);
	cr_assert_eq(verdict_of(gate, "terraform destroy -auto-approve"), GATE_DENY);
	cr_assert_eq(verdict_of(gate, "npm install"), GATE_ALLOW);
	cr_assert_eq(verdict_of(gate, "echo npm publish"), GATE_ALLOW);
	cr_assert_eq(verdict_of(gate, "npm publish-docs"), GATE_ALLOW);
	gate_free(gate);
}

Test(gate, blocked_commands_keep_builtins)
{
	const char *extra[] = { "rm -rf /tmp/x" };
	struct gate *gate = make_gate(STRICTNESS_BALANCED, extra, 1);

	cr_assert_eq(verdict_of(gate, "git reset --hard"), GATE_DENY);
	cr_assert_eq(verdict_of(gate, "rm -rf /tmp/x"), GATE_DENY);
	gate_free(gate);
}

Test(gate, blocked_commands_invalid)
{
	const char *empty[] = { "" };
	const char *dynamic[] = { "$TOOL deploy" };
	const char *compound[] = { "make && make install" };
	const char *unterminated[] = { "echo 'x" };

	setenv("HOME", TEST_HOME, 1);
	cr_assert_null(gate_create(STRICTNESS_BALANCED, empty, 1, error, sizeof error));
	cr_assert_neq(strstr(error, "not a command"), NULL, "error: %s", error);
	cr_assert_null(gate_create(STRICTNESS_BALANCED, dynamic, 1, error, sizeof error));
	cr_assert_neq(strstr(error, "expansion"), NULL, "error: %s", error);
	cr_assert_null(gate_create(STRICTNESS_BALANCED, compound, 1, error, sizeof error));
	cr_assert_neq(strstr(error, "one simple command"), NULL, "error: %s", error);
	cr_assert_null(gate_create(STRICTNESS_BALANCED, unterminated, 1, error, sizeof error));
	cr_assert_neq(strstr(error, "quote"), NULL, "error: %s", error);
}

Test(gate, null_arguments)
{
	struct gate *gate = make_gate(STRICTNESS_BALANCED, NULL, 0);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, NULL, NULL, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_ALLOW);
	cr_assert_eq(gate_check(NULL, "ls", NULL, &decision), -1);
	cr_assert_eq(gate_check(gate, "ls", NULL, NULL), -1);
	cr_assert_eq(gate_check_script(gate, NULL, NULL, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	cr_assert_str_eq(decision.rule_id, "parse.incomplete");
	gate_free(gate);
}

Test(gate, relative_cwd_paths)
{
	struct gate *gate = make_gate(STRICTNESS_BALANCED, NULL, 0);
	struct gate_decision decision;

	cr_assert_eq(gate_check(gate, "rm -rf ..", TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	cr_assert_str_eq(decision.rule_id, "rm.rf.home");
	cr_assert_eq(gate_check(gate, "rm -rf ../../..", TEST_CWD, &decision), 0);
	cr_assert_str_eq(decision.rule_id, "rm.rf.root");
	cr_assert_eq(gate_check(gate, "find . -delete", "/", &decision), 0);
	cr_assert_eq(decision.verdict, GATE_ALLOW);
	gate_free(gate);
}

/* A small deterministic generator, so a failing input can be reproduced. */
static uint32_t
next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Checks that the gate returns a well-formed decision for TEXT at every strictness. */
static void
assert_decides(struct gate *const *gates, const char *text)
{
	struct gate_decision decision;
	int i;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(gate_check(gates[i], text, TEST_CWD, &decision), 0);
		cr_assert(decision.verdict == GATE_ALLOW || decision.verdict == GATE_WARN ||
		    decision.verdict == GATE_DENY);
		cr_assert(decision.verdict == GATE_ALLOW || decision.rule_id[0] != '\0');
	}
}

static void
make_gates(struct gate **gates)
{
	int i;

	for (i = 0; i < 3; i++)
		gates[i] = make_gate((enum strictness)i, NULL, 0);
}

static void
free_gates(struct gate **gates)
{
	int i;

	for (i = 0; i < 3; i++)
		gate_free(gates[i]);
}

Test(gate_robustness, random_bytes)
{
	struct gate *gates[3];
	char text[600];
	uint32_t state = 0x9e3779b9;
	size_t length, i;
	int round;

	make_gates(gates);
	for (round = 0; round < 3000; round++) {
		length = next_random(&state) % (sizeof text - 1);
		for (i = 0; i < length; i++)
			text[i] = (char)(next_random(&state) % 255 + 1);
		text[length] = '\0';
		assert_decides(gates, text);
	}
	free_gates(gates);
}

Test(gate_robustness, random_shell_syntax)
{
	static const char *const pieces[] = {
		"'", "\"", "`", "$(", ")", "(", "${", "}", "{", "$((", "))", "<<EOF\n", "<<-'E'\n", "EOF\n", "\n",
		"|", "||", "&&", "&", ";", ";;", "\\", "$'", "<(", ">(", " ", "rm", "-rf", "/", "~", "bash", "-c",
		"eval", "sudo", "xargs", "git", "push", "--force", "case", "in", "esac", "for", "do", "done",
		"[[", "]]", "=", "a=(", "#", "*", "find", "-exec", "\\;", "env", "-S", "<<<", "2>&1", "!", "$HOME",
	};
	struct gate *gates[3];
	char text[1024];
	uint32_t state = 12345;
	size_t count, used, i;
	int round;

	make_gates(gates);
	for (round = 0; round < 5000; round++) {
		count = next_random(&state) % 40;
		used = 0;
		text[0] = '\0';
		for (i = 0; i < count; i++) {
			const char *piece = pieces[next_random(&state) % (sizeof pieces / sizeof pieces[0])];

			if (used + strlen(piece) + 1 >= sizeof text)
				break;
			memcpy(text + used, piece, strlen(piece) + 1);
			used += strlen(piece);
		}
		assert_decides(gates, text);
	}
	free_gates(gates);
}

Test(gate_robustness, unbalanced_quotes_denied)
{
	static const char *const inputs[] = {
		"echo 'abc", "echo \"abc", "echo `abc", "echo $(abc", "echo ${abc", "echo $'abc", "echo \"$(\"",
		"cat <<EOF", "(((", "echo ))))", "a=(1 2",
	};
	struct gate *gate = make_gate(STRICTNESS_BALANCED, NULL, 0);
	size_t i;

	for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		struct gate_decision decision;

		cr_assert_eq(gate_check(gate, inputs[i], TEST_CWD, &decision), 0);
		if (strcmp(inputs[i], "cat <<EOF") == 0)
			continue;
		cr_assert_eq(decision.verdict, GATE_DENY, "'%s' got %s", inputs[i], gate_verdict_name(decision.verdict));
		cr_assert_str_eq(decision.rule_id, "parse.incomplete");
	}
	gate_free(gate);
}

Test(gate_robustness, oversized_input)
{
	struct gate *gates[3];
	struct gate_decision decision;
	size_t length = 100 * 1024;
	char *text = malloc(length + 1);

	cr_assert_not_null(text);
	memset(text, 'a', length);
	memcpy(text, "echo ", 5);
	text[length] = '\0';
	make_gates(gates);
	assert_decides(gates, text);
	cr_assert_eq(gate_check(gates[STRICTNESS_BALANCED], text, TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	cr_assert_neq(strstr(decision.reason, "longer than 65536 bytes"), NULL, "reason: %s", decision.reason);
	cr_assert_eq(gate_check(gates[STRICTNESS_MINIMAL], text, TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_WARN);
	free_gates(gates);
	free(text);
}

/* Builds OPEN repeated COUNT times, CORE, then CLOSE repeated COUNT times. */
static char *
nested(const char *open, const char *core, const char *close, size_t count)
{
	size_t length = count * (strlen(open) + strlen(close)) + strlen(core) + 1, i;
	char *text = malloc(length);

	cr_assert_not_null(text);
	text[0] = '\0';
	for (i = 0; i < count; i++)
		strcat(text, open);
	strcat(text, core);
	for (i = 0; i < count; i++)
		strcat(text, close);
	return text;
}

Test(gate_robustness, deep_nesting)
{
	/* Words inside [[ ]] are test operands, so nothing there runs. */
	static const struct {
		const char *open, *close;
		enum gate_verdict balanced;
	} shapes[] = {
		{ "$(", ")", GATE_DENY }, { "echo \"$(", ")\"", GATE_DENY }, { "${a:-\"", "\"}", GATE_DENY },
		{ "( ", " )", GATE_DENY }, { "{ ", "; }", GATE_DENY }, { "eval ", "", GATE_DENY },
		{ "sudo ", "", GATE_DENY }, { "$((", "))", GATE_DENY }, { "<(", ")", GATE_DENY },
		{ "[[ ", " ]]", GATE_ALLOW }, { "case x in a) ", ";; esac", GATE_DENY },
	};
	struct gate *gates[3];
	struct gate_decision decision;
	size_t i;

	make_gates(gates);
	for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		char *text = nested(shapes[i].open, "rm -rf /", shapes[i].close, 5000);

		assert_decides(gates, text);
		cr_assert_eq(gate_check(gates[STRICTNESS_BALANCED], text, TEST_CWD, &decision), 0);
		cr_assert_eq(decision.verdict, shapes[i].balanced, "shape %zu got %s", i,
		    gate_verdict_name(decision.verdict));
		free(text);
	}
	free_gates(gates);
}

Test(gate_robustness, many_commands)
{
	struct gate *gates[3];
	struct gate_decision decision;
	char *text = malloc(60001);
	size_t i;

	cr_assert_not_null(text);
	for (i = 0; i < 60000; i += 2)
		memcpy(text + i, "a;", 2);
	text[60000] = '\0';
	make_gates(gates);
	assert_decides(gates, text);
	cr_assert_eq(gate_check(gates[STRICTNESS_PARANOID], text, TEST_CWD, &decision), 0);
	cr_assert_eq(decision.verdict, GATE_DENY);
	free_gates(gates);
	free(text);
}
