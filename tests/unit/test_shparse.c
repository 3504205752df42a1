/*
 * Tests for common/shparse.c: words after quote removal, operators,
 * substitutions and their parents, here-documents, wrappers, nested -c
 * scripts, and the limits on size, depth and memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "shparse.h"

/* Parses TEXT with the default limits and fails the test when it returns NULL. */
static struct sh_script *
parse(const char *text)
{
	struct sh_script *script = sh_parse(text, NULL);

	cr_assert_not_null(script, "sh_parse returned NULL for '%s'", text);
	return script;
}

/* Returns the index of the first command named NAME, or SH_NO_PARENT. */
static size_t
find_command(const struct sh_script *script, const char *name)
{
	size_t i;

	for (i = 0; i < script->command_count; i++) {
		const char *command_name = sh_command_name(&script->commands[i]);

		if (command_name != NULL && strcmp(command_name, name) == 0)
			return i;
	}
	return SH_NO_PARENT;
}

static const char *
arg(const struct sh_script *script, size_t index, size_t i)
{
	const struct sh_word *word = sh_command_arg(&script->commands[index], i);

	return word != NULL ? word->text : NULL;
}

Test(shparse, simple_words)
{
	struct sh_script *script = parse("git push origin main");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 1);
	cr_assert_str_eq(sh_command_name(&script->commands[0]), "git");
	cr_assert_eq(sh_command_argc(&script->commands[0]), 3);
	cr_assert_str_eq(arg(script, 0, 2), "main");
	sh_script_free(script);
}

Test(shparse, quote_removal)
{
	struct sh_script *script = parse("echo 'a b' \"c $HOME d\" e\\ f 'r''m' \"x\\\"y\"");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_str_eq(arg(script, 0, 0), "a b");
	cr_assert_str_eq(arg(script, 0, 1), "c $HOME d");
	cr_assert(script->commands[0].words[2].flags & SH_WORD_EXPANDS);
	cr_assert_str_eq(arg(script, 0, 2), "e f");
	cr_assert_str_eq(arg(script, 0, 3), "rm");
	cr_assert_str_eq(arg(script, 0, 4), "x\"y");
	cr_assert(sh_word_is_static(&script->commands[0].words[4]));
	sh_script_free(script);
}

Test(shparse, ansi_c_quoting)
{
	struct sh_script *script = parse("$'\\x72\\x6d' -rf $'a\\tb' $'\\162'");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_str_eq(sh_command_name(&script->commands[0]), "rm");
	cr_assert_str_eq(arg(script, 0, 1), "a\tb");
	cr_assert_str_eq(arg(script, 0, 2), "r");
	sh_script_free(script);
}

Test(shparse, operators_split_commands)
{
	struct sh_script *script = parse("a; b && c || d & e\nf");
	const char *names[] = { "a", "b", "c", "d", "e", "f" };
	size_t i;

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 6);
	for (i = 0; i < 6; i++)
		cr_assert_str_eq(sh_command_name(&script->commands[i]), names[i]);
	cr_assert(script->commands[3].flags & SH_CMD_BACKGROUND);
	sh_script_free(script);
}

Test(shparse, pipeline_positions)
{
	struct sh_script *script = parse("curl -s x | tee log |& sh; echo done");

	cr_assert_eq(script->command_count, 4);
	cr_assert_eq(script->commands[0].pipeline, script->commands[2].pipeline);
	cr_assert_eq(script->commands[2].pipe_index, 2);
	cr_assert_neq(script->commands[3].pipeline, script->commands[0].pipeline);
	cr_assert_eq(script->commands[3].pipe_index, 0);
	sh_script_free(script);
}

Test(shparse, assignments_and_redirects)
{
	struct sh_script *script = parse("FOO=1 BAR=\"x y\" make 2>&1 >out.log <in.txt");
	const struct sh_command *command;

	cr_assert_eq(script->status, SH_OK);
	command = &script->commands[0];
	cr_assert_eq(command->assignment_count, 2);
	cr_assert_str_eq(command->assignments[1].text, "BAR=x y");
	cr_assert_str_eq(sh_command_name(command), "make");
	cr_assert_eq(command->redirect_count, 3);
	cr_assert_eq(command->redirects[0].fd, 2);
	cr_assert_str_eq(command->redirects[0].op, ">&");
	cr_assert_str_eq(command->redirects[0].target.text, "1");
	cr_assert_str_eq(command->redirects[1].target.text, "out.log");
	cr_assert_str_eq(command->redirects[2].op, "<");
	sh_script_free(script);
}

Test(shparse, substitution_parent)
{
	struct sh_script *script = parse("echo \"$(rm -rf /)\" `date`");
	size_t rm, echo, date;

	cr_assert_eq(script->status, SH_OK);
	rm = find_command(script, "rm");
	echo = find_command(script, "echo");
	date = find_command(script, "date");
	cr_assert_neq(rm, SH_NO_PARENT);
	cr_assert_neq(date, SH_NO_PARENT);
	cr_assert_lt(rm, echo, "a substitution runs before its command");
	cr_assert_eq(script->commands[rm].parent, echo);
	cr_assert_eq(script->commands[date].parent, echo);
	cr_assert_eq(script->commands[rm].origin, SH_ORIGIN_SUBSTITUTION);
	cr_assert_eq(script->commands[rm].depth, 1);
	sh_script_free(script);
}

Test(shparse, substitution_in_parameter_default)
{
	struct sh_script *script = parse("echo ${X:-$(git reset --hard)}");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_neq(find_command(script, "git"), SH_NO_PARENT);
	sh_script_free(script);
}

Test(shparse, process_substitution)
{
	struct sh_script *script = parse("bash <(curl -s x)");
	size_t curl = find_command(script, "curl");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_neq(curl, SH_NO_PARENT);
	cr_assert_eq(script->commands[curl].origin, SH_ORIGIN_PROCESS_SUBSTITUTION);
	cr_assert_eq(script->commands[curl].parent, find_command(script, "bash"));
	sh_script_free(script);
}

Test(shparse, quoted_heredoc_is_data)
{
	struct sh_script *script = parse("cat > notes <<'EOF'\nrm -rf /\n$(reboot)\nEOF\necho after");
	const struct sh_command *cat;

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 2);
	cat = &script->commands[0];
	cr_assert_eq(cat->redirect_count, 2);
	cr_assert_str_eq(cat->redirects[1].heredoc, "rm -rf /\n$(reboot)\n");
	cr_assert_str_eq(sh_command_name(&script->commands[1]), "echo");
	sh_script_free(script);
}

Test(shparse, unquoted_heredoc_substitutions)
{
	struct sh_script *script = parse("cat <<-EOF\n\tliteral rm -rf /\n\t$(reboot)\n\tEOF\n");
	size_t reboot = find_command(script, "reboot");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(find_command(script, "rm"), SH_NO_PARENT);
	cr_assert_neq(reboot, SH_NO_PARENT);
	cr_assert_eq(script->commands[reboot].parent, 0);
	cr_assert_str_eq(script->commands[0].redirects[0].heredoc, "literal rm -rf /\n$(reboot)\n");
	sh_script_free(script);
}

Test(shparse, heredoc_fed_to_shell)
{
	struct sh_script *script = parse("bash <<'EOF'\ngit reset --hard\nEOF");
	size_t git = find_command(script, "git");

	cr_assert_neq(git, SH_NO_PARENT);
	cr_assert_eq(script->commands[git].origin, SH_ORIGIN_SHELL_SCRIPT);
	sh_script_free(script);
}

Test(shparse, wrappers_skipped)
{
	struct sh_script *script = parse(
	    "sudo -u root -E env -i A=1 nice -n 5 timeout -k 5 30s nohup ionice -c 3 stdbuf -oL rm -rf x");
	const struct sh_command *command = &script->commands[0];

	cr_assert_eq(script->status, SH_OK);
	cr_assert_str_eq(sh_command_name(command), "rm");
	cr_assert_str_eq(arg(script, 0, 0), "-rf");
	cr_assert_str_eq(command->words[0].text, "sudo");
	sh_script_free(script);
}

Test(shparse, xargs_marks_stdin_arguments)
{
	struct sh_script *script = parse("xargs -0 -n 1 rm -rf");

	cr_assert_str_eq(sh_command_name(&script->commands[0]), "rm");
	cr_assert(script->commands[0].flags & SH_CMD_ARGS_FROM_STDIN);
	sh_script_free(script);
}

Test(shparse, command_v_runs_nothing)
{
	struct sh_script *script = parse("command -v rm");

	cr_assert_null(sh_command_name(&script->commands[0]));
	cr_assert(script->commands[0].flags & SH_CMD_QUERY_ONLY);
	sh_script_free(script);
}

Test(shparse, shell_c_script_parsed)
{
	struct sh_script *script = parse("bash -lc 'cd src && git reset --hard'");
	size_t git = find_command(script, "git");

	cr_assert_neq(git, SH_NO_PARENT);
	cr_assert_eq(script->commands[git].parent, 0);
	cr_assert_eq(script->commands[git].origin, SH_ORIGIN_SHELL_SCRIPT);
	cr_assert_eq(script->commands[git].depth, 1);
	sh_script_free(script);
}

Test(shparse, dynamic_c_script_flagged)
{
	struct sh_script *script = parse("sh -c \"$CMD\"");

	cr_assert(script->commands[0].flags & SH_CMD_DYNAMIC_SCRIPT);
	sh_script_free(script);
}

Test(shparse, eval_and_find_exec)
{
	struct sh_script *script = parse("eval 'rm -rf' build; find . -exec sh -c 'git clean -fdx' \\;");
	size_t rm = find_command(script, "rm"), git = find_command(script, "git");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_neq(rm, SH_NO_PARENT);
	cr_assert_eq(script->commands[rm].origin, SH_ORIGIN_EVAL);
	cr_assert_str_eq(arg(script, rm, 1), "build");
	cr_assert_neq(git, SH_NO_PARENT);
	cr_assert_eq(script->commands[git].depth, 2);
	sh_script_free(script);
}

Test(shparse, reserved_words_skipped)
{
	struct sh_script *script = parse("if true; then for f in a b; do rm \"$f\"; done; fi");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 2);
	cr_assert_str_eq(sh_command_name(&script->commands[0]), "true");
	cr_assert_str_eq(sh_command_name(&script->commands[1]), "rm");
	sh_script_free(script);
}

Test(shparse, case_patterns_are_data)
{
	struct sh_script *script = parse("case $x in rm|reboot) echo one;; (*) echo two;; esac; ls");
	size_t i;

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 3);
	for (i = 0; i < 2; i++)
		cr_assert_str_eq(sh_command_name(&script->commands[i]), "echo");
	cr_assert_str_eq(sh_command_name(&script->commands[2]), "ls");
	sh_script_free(script);
}

Test(shparse, double_bracket_operators)
{
	struct sh_script *script = parse("[[ -f a && ( -d b || -d c ) ]] && echo yes");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 2);
	cr_assert_str_eq(sh_command_name(&script->commands[0]), "[[");
	sh_script_free(script);
}

Test(shparse, subshell_and_group)
{
	struct sh_script *script = parse("(cd build && make) | { read x; echo $x; }");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 4);
	cr_assert_str_eq(sh_command_name(&script->commands[2]), "read");
	sh_script_free(script);
}

Test(shparse, arithmetic_and_arrays)
{
	struct sh_script *script = parse("a=(x y z); echo $((1 + (2 * 3))); (( n++ ))");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->command_count, 2);
	cr_assert_str_eq(script->commands[0].assignments[0].text, "a=(x y z)");
	sh_script_free(script);
}

Test(shparse, function_definition)
{
	struct sh_script *script = parse("cleanup() { rm -rf build; }; cleanup");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_str_eq(sh_command_name(&script->commands[0]), "rm");
	cr_assert_str_eq(sh_command_name(&script->commands[1]), "cleanup");
	sh_script_free(script);
}

Test(shparse, comment_ignored)
{
	struct sh_script *script = parse("ls # rm -rf /\necho a#b");

	cr_assert_eq(script->command_count, 2);
	cr_assert_eq(sh_command_argc(&script->commands[0]), 0);
	cr_assert_str_eq(arg(script, 1, 0), "a#b");
	sh_script_free(script);
}

Test(shparse, unterminated_quote)
{
	struct sh_script *script = parse("echo 'abc");

	cr_assert_eq(script->status, SH_UNTERMINATED);
	cr_assert_neq(strstr(script->error, "single quote"), NULL, "error: %s", script->error);
	sh_script_free(script);
}

Test(shparse, stray_parenthesis)
{
	struct sh_script *script = parse("echo )");

	cr_assert_eq(script->status, SH_SYNTAX);
	sh_script_free(script);
}

Test(shparse, input_too_long)
{
	struct sh_limits limits;
	struct sh_script *script;

	sh_limits_default(&limits);
	limits.max_input = 8;
	script = sh_parse("echo 123456789", &limits);
	cr_assert_not_null(script);
	cr_assert_eq(script->status, SH_TOO_LONG);
	cr_assert_eq(script->command_count, 0);
	sh_script_free(script);
}

Test(shparse, nesting_too_deep)
{
	char text[256] = "";
	struct sh_script *script;
	int i;

	for (i = 0; i < 12; i++)
		strcat(text, "$(");
	strcat(text, "ls");
	for (i = 0; i < 12; i++)
		strcat(text, ")");
	script = parse(text);
	cr_assert_eq(script->status, SH_TOO_DEEP);
	sh_script_free(script);
}

Test(shparse, nesting_within_limit)
{
	struct sh_script *script = parse("echo $(echo $(echo $(ls)))");

	cr_assert_eq(script->status, SH_OK);
	cr_assert_eq(script->commands[find_command(script, "ls")].depth, 3);
	sh_script_free(script);
}

Test(shparse, too_many_commands)
{
	struct sh_limits limits;
	struct sh_script *script;

	sh_limits_default(&limits);
	limits.max_commands = 3;
	script = sh_parse("a; b; c; d; e", &limits);
	cr_assert_eq(script->status, SH_TOO_MANY);
	cr_assert_eq(script->command_count, 3);
	sh_script_free(script);
}

/* Every memory budget from 0 up stops the parse at a different allocation. */
Test(shparse, memory_budget_every_size)
{
	const char *text = "FOO=1 sudo bash -c 'echo \"$(rm -rf /)\" | sh' <<EOF 2>&1\n$(date)\nEOF\n"
	    "find . -exec sh -c 'eval \"git reset --hard\"' \\; ; echo ${X:-`ls`}";
	struct sh_limits limits;
	struct sh_script *script;
	size_t budget;
	int completed = 0;

	sh_limits_default(&limits);
	for (budget = 0; budget < 20000 && !completed; budget += 7) {
		limits.max_memory = budget;
		script = sh_parse(text, &limits);
		cr_assert_not_null(script);
		cr_assert(script->status == SH_OK || script->status == SH_NO_MEMORY,
		    "budget %zu: status %s", budget, sh_status_name(script->status));
		completed = script->status == SH_OK;
		sh_script_free(script);
	}
	cr_assert(completed, "the parse never completed within 20000 bytes");
}

Test(shparse, word_quote_round_trip)
{
	struct sh_word word = { "it's here", 0 };
	char out[64];

	cr_assert_str_eq(sh_word_quote(&word, out, sizeof out), "'it'\\''s here'");
	word.text = "plain-word";
	cr_assert_str_eq(sh_word_quote(&word, out, sizeof out), "plain-word");
	word.text = "";
	cr_assert_str_eq(sh_word_quote(&word, out, sizeof out), "''");
}
