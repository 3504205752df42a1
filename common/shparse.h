/*
 * A POSIX shell parser for vetting commands before they run. It never
 * executes or expands anything: it splits a command line into the simple
 * commands a shell would run, with each word after quote removal.
 *
 * Besides the top-level commands, the script lists every command that runs
 * as a side effect: command substitutions ($(...) and backticks, also inside
 * double quotes, ${...} and unquoted here-documents), process substitutions,
 * the script of `sh -c` / `bash -c` / `zsh -c` / `su -c`, the arguments of
 * `eval`, `env -S` and `watch`, a here-document fed to a shell, and the
 * command of `find -exec`. Wrappers such as sudo, env, nice, timeout, xargs
 * and nohup are skipped, so argv_start points at the command they run.
 *
 * Parsing is bounded: the input size, the nesting depth, the number of
 * commands and the memory used are limited. Past a limit, or on an
 * unterminated quote or a stray ')', the script contains what was parsed so
 * far and a status other than SH_OK.
 */
#ifndef CAKE_SHPARSE_H
#define CAKE_SHPARSE_H

#include <stddef.h>

#define SH_DEFAULT_MAX_INPUT 65536	/* bytes */
#define SH_DEFAULT_MAX_DEPTH 8		/* nested substitutions, -c scripts, eval */
#define SH_DEFAULT_MAX_COMMANDS 4096
#define SH_DEFAULT_MAX_MEMORY (8u << 20)	/* bytes */

#define SH_NO_PARENT ((size_t)-1)

/* Word flags. */
#define SH_WORD_QUOTED	0x01	/* part of the word was quoted or escaped */
#define SH_WORD_EXPANDS	0x02	/* contains $VAR, ${...}, $(...), `...`, $((...)) or <(...) */
#define SH_WORD_GLOB	0x04	/* contains an unquoted *, ? or [ */
#define SH_WORD_TILDE	0x08	/* starts with an unquoted ~ */
#define SH_WORD_BRACE	0x10	/* contains an unquoted {...,...} */

/* Command flags. */
#define SH_CMD_ARGS_FROM_STDIN	0x01	/* run by xargs: more arguments come from stdin */
#define SH_CMD_DYNAMIC_SCRIPT	0x02	/* a -c script or eval string contains an expansion */
#define SH_CMD_QUERY_ONLY	0x04	/* `command -v NAME`: the named command does not run */
#define SH_CMD_BACKGROUND	0x08	/* followed by & */

/*
 * A word after quote removal. Expansions are kept as written ("$HOME",
 * "$(date)"), since their values are unknown before the command runs.
 */
struct sh_word {
	char *text;
	unsigned flags;
};

/* A redirection such as 2>&1, >out.txt, <<EOF or <<<"text". */
struct sh_redirect {
	int fd;			/* the explicit descriptor number, or -1 */
	char op[4];		/* "<", ">", ">>", "<<", "<<-", "<<<", "<&", ">&", "<>", ">|", "&>", "&>>" */
	struct sh_word target;	/* the file, descriptor, delimiter or here-string */
	char *heredoc;		/* the here-document body, or NULL */
};

/* The construct that runs a command. */
enum sh_origin {
	SH_ORIGIN_TOP = 0,
	SH_ORIGIN_SUBSTITUTION,		/* $(...), `...` or inside ${...} / $((...)) */
	SH_ORIGIN_PROCESS_SUBSTITUTION,	/* <(...) or >(...) */
	SH_ORIGIN_SHELL_SCRIPT,		/* sh -c, su -c, or a here-document fed to a shell */
	SH_ORIGIN_EVAL,			/* eval, env -S, watch */
	SH_ORIGIN_FIND_EXEC,		/* find -exec, -execdir, -ok, -okdir */
};

struct sh_command {
	struct sh_word *words;		/* wrappers included */
	size_t word_count;
	size_t argv_start;		/* index of the command run after wrappers; word_count when none */
	struct sh_word *assignments;	/* NAME=value prefixes */
	size_t assignment_count;
	struct sh_redirect *redirects;
	size_t redirect_count;
	unsigned flags;			/* SH_CMD_* */
	enum sh_origin origin;
	int depth;			/* 0 for top-level commands */
	size_t parent;			/* index of the command this one runs inside, or SH_NO_PARENT */
	size_t pipeline;		/* commands joined by | share this number */
	size_t pipe_index;		/* position in the pipeline, 0 for the first */
};

enum sh_status {
	SH_OK = 0,
	SH_UNTERMINATED,	/* a quote, substitution or ${ is not closed */
	SH_SYNTAX,		/* a stray ')' or similar */
	SH_TOO_LONG,		/* the input exceeds max_input */
	SH_TOO_DEEP,		/* nesting exceeds max_depth */
	SH_TOO_MANY,		/* more than max_commands commands */
	SH_NO_MEMORY,		/* allocation failed or max_memory exceeded */
};

struct sh_limits {
	size_t max_input;
	int max_depth;
	size_t max_commands;
	size_t max_memory;
};

/*
 * The commands in the order a shell starts them: a command substitution comes
 * before the command whose word contains it, and a -c script after its shell.
 */
struct sh_script {
	struct sh_command *commands;
	size_t command_count;
	size_t command_capacity;
	enum sh_status status;
	char error[192];	/* what stopped the parse when status is not SH_OK */
	struct sh_limits limits;
	size_t memory_used;
	size_t pipeline_count;
};

/* Fills LIMITS with the SH_DEFAULT_* values. */
void sh_limits_default(struct sh_limits *limits);

/*
 * Parses TEXT (a NUL-terminated string) with LIMITS, or the defaults when
 * LIMITS is NULL. Returns the script, whose status is SH_OK when the parse
 * was complete, or NULL when even the script itself cannot be allocated.
 */
struct sh_script *sh_parse(const char *text, const struct sh_limits *limits);

void sh_script_free(struct sh_script *script);

/* Returns a name for STATUS, for example "unterminated". */
const char *sh_status_name(enum sh_status status);

/* Returns a short description of ORIGIN, for example "command substitution". */
const char *sh_origin_name(enum sh_origin origin);

/* Returns 1 when WORD contains no expansion, so its text is its run-time value. */
int sh_word_is_static(const struct sh_word *word);

/*
 * Returns the name of the command COMMAND runs after wrappers, reduced to
 * its last path component ("/usr/bin/rm" gives "rm"), or NULL when there is
 * none or it is built at run time.
 */
const char *sh_command_name(const struct sh_command *command);

/* Returns the number of arguments after the command name (0 when there is no name). */
size_t sh_command_argc(const struct sh_command *command);

/* Returns argument I after the command name, 0-based, or NULL past the end. */
const struct sh_word *sh_command_arg(const struct sh_command *command, size_t i);

/*
 * Writes WORD to OUT quoted for a shell where needed, so `explain` output
 * can be pasted back. Truncates to OUT_SIZE. Returns OUT.
 */
char *sh_word_quote(const struct sh_word *word, char *out, size_t out_size);

/* Writes the command's words (wrappers included), quoted, separated by spaces. Returns OUT. */
char *sh_command_format(const struct sh_command *command, char *out, size_t out_size);

#endif
