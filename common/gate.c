/*
 * The command gate's rules and decisions; see gate.h and docs/gate.md.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"

#define RULE_ID_CONFIG "config.blocked"
#define RULE_ID_PARSE "parse.incomplete"

/* An entry of safety.blocked_commands, split into words. */
struct user_rule {
	char *text;
	char **words;
	size_t word_count;
};

struct gate {
	enum strictness strictness;
	struct user_rule *user_rules;
	size_t user_rule_count;
	char home[PATH_MAX];	/* $HOME when the gate was built, "" when unset */
};

/* The input of a rule: the script, one command and the directory it runs in. */
struct context {
	const struct gate *gate;
	const struct sh_script *script;
	const struct sh_command *command;
	size_t index;
	const char *name;		/* sh_command_name(), or "" when there is none */
	const struct sh_word *args;	/* the arguments after the name */
	size_t argc;
	const char *cwd;		/* absolute */
};

/* Option syntax of one command: which options take a value. */
struct optspec {
	const char *short_with_value;
	const char *const *long_with_value;
};

static const char *const no_long[] = { NULL };
static const struct optspec no_values = { "", no_long };

static const char *const interpreter_names[] = {
	"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "yash", "fish", "python", "python2", "python3",
	"perl", "ruby", "node", "php", NULL
};
static const char *const downloader_names[] = { "curl", "wget", "fetch", "aria2c", "http", "https", NULL };

static int
in_list(const char *name, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(name, *list) == 0)
			return 1;
	}
	return 0;
}

static int
is_interpreter(const char *name)
{
	return in_list(name, interpreter_names) || strncmp(name, "python3.", 8) == 0;
}

/* ---- options and operands ---- */

/* Returns 1 when "--NAME[=...]" in WORD abbreviates or equals LONG_NAME, as getopt_long accepts. */
static int
long_option_is(const char *word, const char *long_name)
{
	size_t length;

	if (word[0] != '-' || word[1] != '-' || word[2] == '\0')
		return 0;
	word += 2;
	length = strcspn(word, "=");
	return length <= strlen(long_name) && strncmp(word, long_name, length) == 0;
}

/*
 * Returns 1 when the short option LETTER (0 for none) or the long option
 * LONG_NAME (NULL for none) occurs in ARGS before "--". Bundles such as -rf
 * count, and the values of options that take one are skipped.
 */
static int
has_option(const struct sh_word *args, size_t argc, const struct optspec *spec, char letter,
    const char *long_name)
{
	size_t i, k;
	const char *text;

	for (i = 0; i < argc; i++) {
		text = args[i].text;
		if (strcmp(text, "--") == 0)
			return 0;
		if (text[0] != '-' || text[1] == '\0')
			continue;
		if (text[1] == '-') {
			if (long_name != NULL && long_option_is(text, long_name))
				return 1;
			if (strchr(text, '=') == NULL && in_list(text + 2, spec->long_with_value))
				i++;
			continue;
		}
		for (k = 1; text[k] != '\0'; k++) {
			if (letter != 0 && text[k] == letter)
				return 1;
			if (strchr(spec->short_with_value, text[k]) != NULL) {
				if (text[k + 1] == '\0')
					i++;
				break;
			}
		}
	}
	return 0;
}

/*
 * Returns the index of the next operand (a word that is not an option or
 * an option's value) at or after *CURSOR, or ARGC. *AFTER_DASHES is set once
 * "--" has been passed.
 */
static size_t
next_operand(const struct sh_word *args, size_t argc, const struct optspec *spec, size_t *cursor,
    int *after_dashes)
{
	size_t i, k;
	const char *text;

	for (i = *cursor; i < argc; i++) {
		text = args[i].text;
		if (*after_dashes || text[0] != '-' || text[1] == '\0') {
			*cursor = i + 1;
			return i;
		}
		if (strcmp(text, "--") == 0) {
			*after_dashes = 1;
			continue;
		}
		if (text[1] == '-') {
			if (strchr(text, '=') == NULL && in_list(text + 2, spec->long_with_value))
				i++;
			continue;
		}
		for (k = 1; text[k] != '\0'; k++) {
			if (strchr(spec->short_with_value, text[k]) != NULL) {
				if (text[k + 1] == '\0')
					i++;
				break;
			}
		}
	}
	*cursor = argc;
	return argc;
}

/* ---- paths ---- */

/* Normalizes the absolute PATH in place: no "//", "." or "..", no trailing "/". */
static void
normalize_path(char *path)
{
	char *out = path, *segment = path;
	size_t length;

	while (*segment != '\0') {
		while (*segment == '/')
			segment++;
		length = strcspn(segment, "/");
		if (length == 0)
			break;
		if (length == 1 && segment[0] == '.') {
			/* skip */
		} else if (length == 2 && segment[0] == '.' && segment[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, segment, length);
			out += length;
		}
		segment += length;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/*
 * Resolves WORD to a normalized absolute path in OUT. "~", "$HOME" and
 * "${HOME}" at the start count as the home directory. Returns 0, or -1 when
 * the path depends on another expansion, the home directory is unknown, or
 * it does not fit.
 */
static int
resolve_path(const struct context *ctx, const struct sh_word *word, char *out, size_t out_size)
{
	const char *text = word->text, *rest = NULL;
	int n;

	if (word->flags & SH_WORD_TILDE) {
		if (text[1] == '\0' || text[1] == '/')
			rest = text + 1;
		else
			return -1;
	} else if (strncmp(text, "$HOME", 5) == 0 && !(text[5] == '_' || (text[5] >= 'A' && text[5] <= 'Z') ||
	    (text[5] >= 'a' && text[5] <= 'z') || (text[5] >= '0' && text[5] <= '9'))) {
		rest = text + 5;
	} else if (strncmp(text, "${HOME}", 7) == 0) {
		rest = text + 7;
	}

	if (rest != NULL) {
		if (ctx->gate->home[0] == '\0' || strpbrk(rest, "$`") != NULL)
			return -1;
		n = snprintf(out, out_size, "%s/%s", ctx->gate->home, rest);
	} else {
		if (!sh_word_is_static(word))
			return -1;
		if (text[0] == '/')
			n = snprintf(out, out_size, "%s", text);
		else
			n = snprintf(out, out_size, "%s/%s", ctx->cwd, text);
	}
	if (n < 0 || (size_t)n >= out_size)
		return -1;
	normalize_path(out);
	return 0;
}

/* Returns 1 when PATH (normalized) is DIRECTORY or inside it. */
static int
path_within(const char *path, const char *directory)
{
	size_t length = strlen(directory);

	if (strcmp(directory, "/") == 0)
		return 1;
	return strncmp(path, directory, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

static const char *const system_directories[] = {
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
	"/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/usr", "/usr/bin", "/usr/lib", "/usr/local",
	"/usr/sbin", "/usr/share", "/var", "/var/lib", "/Users", "/System", "/Library", "/Applications",
	NULL
};

/* Returns 1 when PATH is a system directory followed by "/" and "*" or ".*", a glob of its contents. */
static int
is_system_glob(const char *path)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL || (strcmp(slash, "/*") != 0 && strcmp(slash, "/.*") != 0))
		return 0;
	if (slash == path)
		return 1;
	if ((size_t)(slash - path) >= sizeof parent)
		return 0;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	return in_list(parent, system_directories);
}

/*
 * Returns 1 when WORD is a plain variable followed by "/", or by "/" and
 * "*": it becomes the root when the variable is empty. ${VAR:?} and
 * ${VAR:-default} cannot be empty and do not count.
 */
static int
is_empty_variable_root(const struct sh_word *word)
{
	const char *text = word->text, *name, *rest;
	int braced;

	if (text[0] != '$')
		return 0;
	braced = text[1] == '{';
	name = text + 1 + braced;
	rest = name;
	while (*rest == '_' || (*rest >= 'A' && *rest <= 'Z') || (*rest >= 'a' && *rest <= 'z') ||
	    (*rest >= '0' && *rest <= '9'))
		rest++;
	if (rest == name || (braced && *rest++ != '}'))
		return 0;
	/* rm.rf.home reports $HOME with a clearer reason. */
	if (rest - name - braced == 4 && strncmp(name, "HOME", 4) == 0)
		return 0;
	return strcmp(rest, "/") == 0 || strcmp(rest, "/*") == 0;
}

/* Returns 1 when WORD names the root, a system directory or everything in one. */
static int
is_root_like(const struct context *ctx, const struct sh_word *word)
{
	char path[PATH_MAX];

	if (is_empty_variable_root(word))
		return 1;
	if (resolve_path(ctx, word, path, sizeof path) < 0)
		return 0;
	if (ctx->gate->home[0] != '\0' && strcmp(path, ctx->gate->home) == 0)
		return 0;
	return in_list(path, system_directories) || is_system_glob(path);
}

/* Returns 1 when WORD is the home directory or everything in it. */
static int
is_home_like(const struct context *ctx, const struct sh_word *word)
{
	char path[PATH_MAX], glob[PATH_MAX + 3];

	if (word->flags & SH_WORD_TILDE) {
		if (strcmp(word->text, "~") == 0 || strcmp(word->text, "~/") == 0 ||
		    strcmp(word->text, "~/*") == 0)
			return 1;
	}
	if (resolve_path(ctx, word, path, sizeof path) < 0 || ctx->gate->home[0] == '\0')
		return 0;
	snprintf(glob, sizeof glob, "%s/*", strcmp(ctx->gate->home, "/") == 0 ? "" : ctx->gate->home);
	return strcmp(path, ctx->gate->home) == 0 || strcmp(path, glob) == 0;
}

/* Returns 1 when WORD is a path whose contents are credentials. */
static int
is_secret_path(const char *text)
{
	static const char *const secret_files[] = {
		".netrc", ".pgpass", ".git-credentials", ".pypirc", ".envrc", NULL
	};
	static const char *const harmless_suffixes[] = {
		".example", ".sample", ".template", ".dist", ".defaults", ".default", NULL
	};
	const char *base = strrchr(text, '/'), *dir_end, *dir;
	size_t dir_length = 0, base_length, i;

	base = base != NULL ? base + 1 : text;
	base_length = strlen(base);
	dir_end = base > text ? base - 1 : NULL;
	dir = dir_end;
	if (dir_end != NULL) {
		while (dir > text && dir[-1] != '/')
			dir--;
		dir_length = (size_t)(dir_end - dir);
	}

	if (strcmp(text, "/etc/shadow") == 0 || strcmp(text, "/etc/gshadow") == 0)
		return 1;
	if (in_list(base, secret_files))
		return 1;
	if (strncmp(base, ".env", 4) == 0 && (base[4] == '\0' || base[4] == '.' || base[4] == '*')) {
		for (i = 0; harmless_suffixes[i] != NULL; i++) {
			size_t suffix_length = strlen(harmless_suffixes[i]);

			if (base_length > suffix_length &&
			    strcmp(base + base_length - suffix_length, harmless_suffixes[i]) == 0)
				return 0;
		}
		return 1;
	}
	if (strncmp(base, "id_", 3) == 0 && (base_length < 4 || strcmp(base + base_length - 4, ".pub") != 0) &&
	    (strstr(base, "rsa") != NULL || strstr(base, "ed25519") != NULL || strstr(base, "ecdsa") != NULL ||
	    strstr(base, "dsa") != NULL))
		return 1;
	if (dir_length == 4 && strncmp(dir, ".ssh", 4) == 0)
		return !(base_length >= 4 && strcmp(base + base_length - 4, ".pub") == 0) &&
		    strcmp(base, "known_hosts") != 0 && strcmp(base, "config") != 0 &&
		    strcmp(base, "authorized_keys") != 0 && base_length > 0;
	if (dir_length == 4 && strncmp(dir, ".aws", 4) == 0 && strcmp(base, "credentials") == 0)
		return 1;
	if (dir_length == 7 && strncmp(dir, ".docker", 7) == 0 && strcmp(base, "config.json") == 0)
		return 1;
	if (dir_length == 5 && strncmp(dir, ".kube", 5) == 0 && strcmp(base, "config") == 0)
		return 1;
	if (dir_length == 7 && strncmp(dir, ".gnupg", 6) == 0 && strncmp(base, "private-keys", 12) == 0)
		return 1;
	return 0;
}

/* ---- git ---- */

/*
 * Returns the index in ARGS of git's subcommand after the global options
 * (-C DIR, -c KEY=VALUE, --git-dir=DIR, --no-pager, ...), or ARGC.
 */
static size_t
git_subcommand(const struct sh_word *args, size_t argc)
{
	static const char *const with_value[] = {
		"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env",
		"--exec-path", "--list-cmds", NULL
	};
	size_t i;

	for (i = 0; i < argc; i++) {
		const char *text = args[i].text;

		if (text[0] != '-')
			return i;
		if (in_list(text, with_value))
			i++;
	}
	return argc;
}

/* Points ARGS and ARGC past "git [global options] SUBCOMMAND" when SUBCOMMAND matches. */
static int
git_is(const struct context *ctx, const char *subcommand, const struct sh_word **args, size_t *argc)
{
	size_t sub;

	if (strcmp(ctx->name, "git") != 0)
		return 0;
	sub = git_subcommand(ctx->args, ctx->argc);
	if (sub >= ctx->argc || strcmp(ctx->args[sub].text, subcommand) != 0)
		return 0;
	*args = ctx->args + sub + 1;
	*argc = ctx->argc - sub - 1;
	return 1;
}

/* Returns 1 for a pathspec that covers the whole work tree. */
static int
is_whole_tree(const struct sh_word *word)
{
	static const char *const whole[] = { ".", "./", "*", ":/", ":/.", ":/*", ":(top)", NULL };

	return in_list(word->text, whole) || (strcmp(word->text, "..") == 0);
}

/* ---- rules ---- */

static int
rm_is_recursive(const struct context *ctx)
{
	return has_option(ctx->args, ctx->argc, &no_values, 'r', "recursive") ||
	    has_option(ctx->args, ctx->argc, &no_values, 'R', NULL);
}

/* Returns 1 when a recursive rm has an operand for which TEST returns 1. */
static int
rm_targets(const struct context *ctx, int (*test)(const struct context *, const struct sh_word *))
{
	size_t cursor = 0, i;
	int after_dashes = 0;

	if (strcmp(ctx->name, "rm") != 0 || !rm_is_recursive(ctx))
		return 0;
	while ((i = next_operand(ctx->args, ctx->argc, &no_values, &cursor, &after_dashes)) < ctx->argc) {
		if (test(ctx, &ctx->args[i]))
			return 1;
	}
	return 0;
}

static int
match_rm_root(const struct context *ctx)
{
	return rm_targets(ctx, is_root_like);
}

static int
match_rm_home(const struct context *ctx)
{
	return rm_targets(ctx, is_home_like);
}

static int
match_rm_xargs(const struct context *ctx)
{
	return strcmp(ctx->name, "rm") == 0 && (ctx->command->flags & SH_CMD_ARGS_FROM_STDIN) &&
	    rm_is_recursive(ctx);
}

static int
is_outside_cwd(const struct context *ctx, const struct sh_word *word)
{
	char path[PATH_MAX];

	if (resolve_path(ctx, word, path, sizeof path) < 0)
		return !sh_word_is_static(word);
	return !path_within(path, ctx->cwd);
}

static int
match_rm_outside(const struct context *ctx)
{
	return rm_targets(ctx, is_outside_cwd);
}

/* Returns 1 for a device whose contents a write destroys (not /dev/null, a tty or a descriptor). */
static int
is_device(const char *path)
{
	static const char *const harmless[] = {
		"/dev/null", "/dev/zero", "/dev/full", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
		"/dev/random", "/dev/urandom", NULL
	};

	if (strncmp(path, "/dev/", 5) != 0)
		return 0;
	return !in_list(path, harmless) && strncmp(path, "/dev/fd/", 8) != 0 &&
	    strncmp(path, "/dev/pts/", 9) != 0 && strncmp(path, "/dev/shm/", 9) != 0;
}

static int
match_device_write(const struct context *ctx)
{
	const struct sh_command *command = ctx->command;
	size_t i;

	if (strncmp(ctx->name, "mkfs", 4) == 0 || strcmp(ctx->name, "wipefs") == 0)
		return 1;
	for (i = 0; i < ctx->argc; i++) {
		if (strcmp(ctx->name, "dd") == 0 && strncmp(ctx->args[i].text, "of=", 3) == 0 &&
		    is_device(ctx->args[i].text + 3))
			return 1;
		if (strcmp(ctx->name, "shred") == 0 && is_device(ctx->args[i].text))
			return 1;
	}
	for (i = 0; i < command->redirect_count; i++) {
		const char *op = command->redirects[i].op;

		if (op[0] != '<' && strcmp(op, ">&") != 0 && is_device(command->redirects[i].target.text))
			return 1;
	}
	return 0;
}

static int
chmod_is_recursive(const struct context *ctx)
{
	return has_option(ctx->args, ctx->argc, &no_values, 'R', "recursive");
}

static int
match_chmod_root(const struct context *ctx)
{
	size_t cursor = 0, i;
	int after_dashes = 0;

	if (strcmp(ctx->name, "chmod") != 0 && strcmp(ctx->name, "chown") != 0 && strcmp(ctx->name, "chgrp") != 0)
		return 0;
	if (!chmod_is_recursive(ctx))
		return 0;
	/* The first operand is the mode or owner. */
	next_operand(ctx->args, ctx->argc, &no_values, &cursor, &after_dashes);
	while ((i = next_operand(ctx->args, ctx->argc, &no_values, &cursor, &after_dashes)) < ctx->argc) {
		if (is_root_like(ctx, &ctx->args[i]) || is_home_like(ctx, &ctx->args[i]))
			return 1;
	}
	return 0;
}

static int
match_chmod_777(const struct context *ctx)
{
	static const char *const world_writable[] = {
		"777", "0777", "1777", "a+rwx", "ugo+rwx", "a=rwx", "ugo=rwx", "o+w", "a+w", "+w", "o+rwx",
		"u=rwx,g=rwx,o=rwx", NULL
	};
	size_t cursor = 0, i;
	int after_dashes = 0;

	if (strcmp(ctx->name, "chmod") != 0)
		return 0;
	i = next_operand(ctx->args, ctx->argc, &no_values, &cursor, &after_dashes);
	return i < ctx->argc && in_list(ctx->args[i].text, world_writable);
}

static int
match_git_push_force(const struct context *ctx)
{
	static const char *const push_long[] = { "repo", "push-option", "receive-pack", "exec", NULL };
	static const struct optspec push = { "o", push_long };
	const struct sh_word *args;
	size_t argc, cursor = 0, i;
	int after_dashes = 0;

	if (!git_is(ctx, "push", &args, &argc))
		return 0;
	if (has_option(args, argc, &push, 'f', "force") || has_option(args, argc, &push, 0, "mirror"))
		return 1;
	while ((i = next_operand(args, argc, &push, &cursor, &after_dashes)) < argc) {
		if (args[i].text[0] == '+')
			return 1;
	}
	return 0;
}

static int
match_git_reset_hard(const struct context *ctx)
{
	const struct sh_word *args;
	size_t argc;

	return git_is(ctx, "reset", &args, &argc) && has_option(args, argc, &no_values, 0, "hard");
}

static int
match_git_clean_force(const struct context *ctx)
{
	static const char *const clean_long[] = { "exclude", NULL };
	static const struct optspec clean = { "e", clean_long };
	const struct sh_word *args;
	size_t argc;

	if (!git_is(ctx, "clean", &args, &argc))
		return 0;
	if (has_option(args, argc, &clean, 'n', "dry-run"))
		return 0;
	return has_option(args, argc, &clean, 'f', "force");
}

static int
match_git_checkout_discard(const struct context *ctx)
{
	static const char *const checkout_long[] = { "orphan", "conflict", "pathspec-from-file", NULL };
	static const struct optspec checkout = { "bB", checkout_long };
	const struct sh_word *args;
	size_t argc, cursor = 0, i;
	int after_dashes = 0;

	if (!git_is(ctx, "checkout", &args, &argc))
		return 0;
	if (has_option(args, argc, &checkout, 'f', "force"))
		return 1;
	while ((i = next_operand(args, argc, &checkout, &cursor, &after_dashes)) < argc) {
		if (is_whole_tree(&args[i]))
			return 1;
	}
	return 0;
}

static int
match_git_restore_worktree(const struct context *ctx)
{
	static const char *const restore_long[] = { "source", "pathspec-from-file", NULL };
	static const struct optspec restore = { "s", restore_long };
	const struct sh_word *args;
	size_t argc, cursor = 0, i;
	int after_dashes = 0, staged, worktree;

	if (!git_is(ctx, "restore", &args, &argc))
		return 0;
	staged = has_option(args, argc, &restore, 'S', "staged");
	worktree = has_option(args, argc, &restore, 'W', "worktree");
	if (staged && !worktree)
		return 0;
	while ((i = next_operand(args, argc, &restore, &cursor, &after_dashes)) < argc) {
		if (is_whole_tree(&args[i]))
			return 1;
	}
	return 0;
}

static int
match_git_stash_clear(const struct context *ctx)
{
	const struct sh_word *args;
	size_t argc;

	return git_is(ctx, "stash", &args, &argc) && argc > 0 && strcmp(args[0].text, "clear") == 0;
}

/* Returns 1 for `git branch -D` (or -d with -f), setting *MAIN when it names a main branch. */
static int
git_branch_force_delete(const struct context *ctx, int *main)
{
	static const char *const branch_long[] = {
		"set-upstream-to", "contains", "no-contains", "merged", "no-merged", "points-at", "sort",
		"format", NULL
	};
	static const char *const main_branches[] = { "main", "master", "trunk", "develop", NULL };
	static const struct optspec branch = { "u", branch_long };
	const struct sh_word *args;
	size_t argc, cursor = 0, i;
	int after_dashes = 0;

	*main = 0;
	if (!git_is(ctx, "branch", &args, &argc))
		return 0;
	if (!has_option(args, argc, &branch, 'D', NULL) &&
	    !(has_option(args, argc, &branch, 'd', "delete") && has_option(args, argc, &branch, 'f', "force")))
		return 0;
	while ((i = next_operand(args, argc, &branch, &cursor, &after_dashes)) < argc) {
		if (in_list(args[i].text, main_branches))
			*main = 1;
	}
	return 1;
}

static int
match_git_branch_main(const struct context *ctx)
{
	int main;

	return git_branch_force_delete(ctx, &main) && main;
}

static int
match_git_branch_force(const struct context *ctx)
{
	int main;

	return git_branch_force_delete(ctx, &main) && !main;
}

static int
match_find_delete(const struct context *ctx)
{
	size_t i;
	int deletes = 0;

	if (strcmp(ctx->name, "find") != 0)
		return 0;
	for (i = 0; i < ctx->argc; i++) {
		const char *text = ctx->args[i].text;

		if (strcmp(text, "-delete") == 0)
			deletes = 1;
		if ((strcmp(text, "-exec") == 0 || strcmp(text, "-execdir") == 0 || strcmp(text, "-ok") == 0 ||
		    strcmp(text, "-okdir") == 0) && i + 1 < ctx->argc) {
			const char *slash = strrchr(ctx->args[i + 1].text, '/');
			const char *run = slash != NULL ? slash + 1 : ctx->args[i + 1].text;

			if (strcmp(run, "rm") == 0 || strcmp(run, "shred") == 0 || strcmp(run, "unlink") == 0)
				deletes = 1;
		}
	}
	if (!deletes)
		return 0;

	/* Starting points follow the -H, -L, -P, -D and -O options and end at the first expression. */
	for (i = 0; i < ctx->argc; i++) {
		const char *text = ctx->args[i].text;

		if (strcmp(text, "-H") == 0 || strcmp(text, "-L") == 0 || strcmp(text, "-P") == 0 ||
		    strncmp(text, "-O", 2) == 0)
			continue;
		if (strcmp(text, "-D") == 0) {
			i++;
			continue;
		}
		break;
	}
	for (; i < ctx->argc; i++) {
		const char *text = ctx->args[i].text;

		if (text[0] == '-' || strcmp(text, "(") == 0 || strcmp(text, "!") == 0)
			break;
		if (is_outside_cwd(ctx, &ctx->args[i]))
			return 1;
	}
	return 0;
}

static int
match_docker_privileged(const struct context *ctx)
{
	static const char *const global_with_value[] = {
		"-H", "--host", "-c", "--context", "--config", "-l", "--log-level", "--tlscacert", "--tlscert",
		"--tlskey", NULL
	};
	static const char *const flags[] = {
		"--detach", "--rm", "--interactive", "--tty", "--init", "--read-only", "--no-healthcheck",
		"--oom-kill-disable", "--publish-all", "--sig-proxy", "--help", "--quiet", "--disable-content-trust",
		"--privileged", NULL
	};
	size_t i, k;

	if (strcmp(ctx->name, "docker") != 0 && strcmp(ctx->name, "podman") != 0 &&
	    strcmp(ctx->name, "nerdctl") != 0)
		return 0;
	for (i = 0; i < ctx->argc && ctx->args[i].text[0] == '-'; i++) {
		if (in_list(ctx->args[i].text, global_with_value))
			i++;
	}
	if (i < ctx->argc && strcmp(ctx->args[i].text, "container") == 0)
		i++;
	if (i >= ctx->argc || (strcmp(ctx->args[i].text, "run") != 0 && strcmp(ctx->args[i].text, "create") != 0 &&
	    strcmp(ctx->args[i].text, "exec") != 0))
		return 0;

	/* Options come before the image; every option not known as a flag is taken to have a value. */
	for (i++; i < ctx->argc; i++) {
		const char *text = ctx->args[i].text;

		if (strcmp(text, "--privileged") == 0 || strcmp(text, "--privileged=true") == 0)
			return 1;
		if (text[0] != '-' || strcmp(text, "--") == 0)
			return 0;
		if (text[1] == '-') {
			if (strchr(text, '=') == NULL && !in_list(text, flags))
				i++;
			continue;
		}
		/* In a bundle such as -it or -itv, the first letter that is not a flag takes the value. */
		k = 1 + strspn(text + 1, "ditPq");
		if (text[k] != '\0' && text[k + 1] == '\0')
			i++;
	}
	return 0;
}

static int
is_downloader(const struct sh_command *command)
{
	const char *name = sh_command_name(command);

	return name != NULL && in_list(name, downloader_names);
}

static int
match_download_shell(const struct context *ctx)
{
	const struct sh_script *script = ctx->script;
	const struct sh_command *command = ctx->command;
	int runs_script = is_interpreter(ctx->name);
	size_t i;

	if (!runs_script && strcmp(ctx->name, "eval") != 0 && strcmp(ctx->name, "source") != 0 &&
	    strcmp(ctx->name, ".") != 0)
		return 0;
	for (i = 0; i < script->command_count; i++) {
		const struct sh_command *other = &script->commands[i];

		if (runs_script && command->pipe_index > 0 && other->pipeline == command->pipeline &&
		    other->pipe_index < command->pipe_index && is_downloader(other))
			return 1;
		if (other->parent == ctx->index && (other->origin == SH_ORIGIN_SUBSTITUTION ||
		    other->origin == SH_ORIGIN_PROCESS_SUBSTITUTION) && is_downloader(other))
			return 1;
	}
	return 0;
}

/* Returns 1 for an interpreter that reads its program from a pipe. */
static int
match_pipe_shell(const struct context *ctx)
{
	size_t cursor = 0;
	int after_dashes = 0;

	if (!is_interpreter(ctx->name) || ctx->command->pipe_index == 0)
		return 0;
	if (has_option(ctx->args, ctx->argc, &no_values, 'c', NULL) ||
	    has_option(ctx->args, ctx->argc, &no_values, 'm', NULL) ||
	    has_option(ctx->args, ctx->argc, &no_values, 'e', NULL))
		return 0;
	return next_operand(ctx->args, ctx->argc, &no_values, &cursor, &after_dashes) >= ctx->argc;
}

static int
match_secret_read(const struct context *ctx)
{
	static const char *const readers[] = {
		"cat", "tac", "less", "more", "head", "tail", "nl", "bat", "batcat", "view", "grep", "egrep",
		"fgrep", "zgrep", "rg", "ag", "ack", "base64", "xxd", "od", "hexdump", "strings", "sed", "awk",
		"gawk", "cut", "sort", "uniq", "diff", "cp", "scp", "rsync", "tar", "zip", "gzip", "openssl",
		"jq", "yq", NULL
	};
	static const char *const grep_names[] = { "grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", NULL };
	const struct sh_command *command = ctx->command;
	size_t cursor = 0, i, skip_pattern;
	int after_dashes = 0;

	for (i = 0; i < command->redirect_count; i++) {
		if (command->redirects[i].op[0] == '<' && strcmp(command->redirects[i].op, "<<") != 0 &&
		    strcmp(command->redirects[i].op, "<<-") != 0 && strcmp(command->redirects[i].op, "<<<") != 0 &&
		    is_secret_path(command->redirects[i].target.text))
			return 1;
	}

	if (strcmp(ctx->name, "curl") == 0) {
		for (i = 0; i < ctx->argc; i++) {
			const char *text = ctx->args[i].text, *at;

			if ((strcmp(text, "-T") == 0 || strcmp(text, "--upload-file") == 0) && i + 1 < ctx->argc &&
			    is_secret_path(ctx->args[i + 1].text))
				return 1;
			at = strchr(text, '@');
			if (at != NULL && is_secret_path(at + 1))
				return 1;
		}
		return 0;
	}
	if (!in_list(ctx->name, readers))
		return 0;

	/* A grep pattern is not a file, unless -e or -f gave the pattern. */
	skip_pattern = in_list(ctx->name, grep_names) &&
	    !has_option(ctx->args, ctx->argc, &no_values, 'e', "regexp") &&
	    !has_option(ctx->args, ctx->argc, &no_values, 'f', "file");
	while ((i = next_operand(ctx->args, ctx->argc, &no_values, &cursor, &after_dashes)) < ctx->argc) {
		if (skip_pattern) {
			skip_pattern = 0;
			continue;
		}
		if (is_secret_path(ctx->args[i].text))
			return 1;
	}
	return 0;
}

static int
match_sudo(const struct context *ctx)
{
	static const char *const escalators[] = { "sudo", "doas", "su", "pkexec", NULL };
	const struct sh_command *command = ctx->command;
	size_t i;

	for (i = 0; i < command->argv_start && i < command->word_count; i++) {
		const char *slash = strrchr(command->words[i].text, '/');

		if (in_list(slash != NULL ? slash + 1 : command->words[i].text, escalators))
			return 1;
	}
	return in_list(ctx->name, escalators);
}

/* The order is the order of evaluation: the first rule that denies decides. */
static const struct gate_rule_info rule_infos[] = {
	{ "rm.rf.root", STRICTNESS_MINIMAL,
	    "rm -r on /, a system directory or a path that becomes / when a variable is empty deletes the system",
	    "Run rm -r on the project path you mean, for example rm -rf ./build" },
	{ "rm.rf.home", STRICTNESS_MINIMAL,
	    "rm -r on the home directory deletes every file the user owns",
	    "Run rm -r on the one directory you mean inside the home directory" },
	{ "device.write", STRICTNESS_MINIMAL,
	    "writing to a disk device (dd of=/dev/..., mkfs, wipefs, shred, > /dev/sdX) destroys its file system",
	    "Check the device with lsblk and run the command yourself outside the agent" },
	{ "chmod.root", STRICTNESS_MINIMAL,
	    "a recursive chmod, chown or chgrp on / or the home directory breaks the system's permissions",
	    "Run chmod on the project files you mean, for example chmod -R u+w ./build" },
	{ "git.push.force", STRICTNESS_MINIMAL,
	    "git push --force, -f, --mirror or a +refspec overwrites the remote branch and can discard other people's commits",
	    "Try git push --force-with-lease, which refuses when the remote has commits you have not seen" },
	{ "pipe.download.shell", STRICTNESS_MINIMAL,
	    "piping a download into a shell or interpreter runs code nobody has read",
	    "Run curl -fsSL URL -o script.sh, read script.sh, then run it" },
	{ "git.reset.hard", STRICTNESS_BALANCED,
	    "git reset --hard discards uncommitted changes in the work tree for good",
	    "Try git stash to set the changes aside, or git reset --keep" },
	{ "git.clean.force", STRICTNESS_BALANCED,
	    "git clean -f deletes untracked files, which git cannot bring back",
	    "Run git clean -n first to list what would be deleted" },
	{ "git.checkout.discard", STRICTNESS_BALANCED,
	    "git checkout -- . or checkout -f discards uncommitted changes in the work tree",
	    "Try git stash, or git checkout -- PATH for the one file you mean" },
	{ "git.restore.worktree", STRICTNESS_BALANCED,
	    "git restore . discards uncommitted changes in the whole work tree",
	    "Try git stash, git restore --staged . to unstage only, or git restore PATH for one file" },
	{ "git.stash.clear", STRICTNESS_BALANCED,
	    "git stash clear deletes every stash entry",
	    "Run git stash list and git stash drop stash@{N} for the one entry you mean" },
	{ "git.branch.delete.main", STRICTNESS_BALANCED,
	    "git branch -D on main, master, trunk or develop deletes the branch even when it has unmerged commits",
	    "Try git branch -d, which refuses to delete unmerged work" },
	{ "rm.rf.xargs", STRICTNESS_BALANCED,
	    "a recursive rm run by xargs deletes paths read from stdin, which the gate cannot see",
	    "Check the list first, then run rm -r on the paths written out" },
	{ "find.delete", STRICTNESS_BALANCED,
	    "find -delete or -exec rm outside the current directory deletes files outside the workspace",
	    "Run the find without -delete to list the files, and limit it to the workspace" },
	{ "chmod.777", STRICTNESS_BALANCED,
	    "chmod 777 makes files writable by every user on the machine",
	    "Try chmod 755 for directories and programs, or chmod 644 for files" },
	{ "docker.privileged", STRICTNESS_BALANCED,
	    "docker run --privileged gives the container full control of the host",
	    "Try --cap-add with the one capability the container needs" },
	{ "secret.read", STRICTNESS_BALANCED,
	    "the command reads a credentials file (.env, ~/.ssh keys, ~/.aws/credentials, .netrc), which would put secrets into the agent's context",
	    "Try reading .env.example or the code that loads the setting instead" },
	{ "command.dynamic", STRICTNESS_BALANCED,
	    "the command name or the script it runs is built at run time, so the gate cannot see what runs",
	    "Try writing the command out literally, without a variable or substitution as the command name" },
	{ "sudo", STRICTNESS_BALANCED,
	    "the command runs with root privileges (sudo, doas, su, pkexec)",
	    "Try the command without sudo, or ask the user to run it" },
	{ "git.branch.delete.force", STRICTNESS_PARANOID,
	    "git branch -D deletes the branch even when it has unmerged commits",
	    "Try git branch -d, which refuses to delete unmerged work" },
	{ "rm.rf.outside", STRICTNESS_PARANOID,
	    "a recursive rm outside the current directory deletes files outside the workspace",
	    "Run rm -r only on paths inside the workspace" },
	{ "pipe.shell", STRICTNESS_PARANOID,
	    "piping text into a shell or interpreter runs a script the gate cannot see",
	    "Try writing the script to a file, reading it, then running it" },
};

static int
match_command_dynamic(const struct context *ctx)
{
	const struct sh_command *command = ctx->command;

	if (command->flags & SH_CMD_DYNAMIC_SCRIPT)
		return 1;
	return command->argv_start < command->word_count &&
	    !sh_word_is_static(&command->words[command->argv_start]);
}

static int (*const rule_matchers[])(const struct context *) = {
	match_rm_root, match_rm_home, match_device_write, match_chmod_root, match_git_push_force,
	match_download_shell, match_git_reset_hard, match_git_clean_force, match_git_checkout_discard,
	match_git_restore_worktree, match_git_stash_clear, match_git_branch_main, match_rm_xargs,
	match_find_delete, match_chmod_777, match_docker_privileged, match_secret_read, match_command_dynamic, match_sudo,
	match_git_branch_force, match_rm_outside, match_pipe_shell,
};

#define RULE_COUNT (sizeof rule_infos / sizeof rule_infos[0])

_Static_assert(sizeof rule_matchers / sizeof rule_matchers[0] == RULE_COUNT, "one matcher per rule");

/* Returns 1 when the user rule's words are the command name followed by a subsequence of its arguments. */
static int
match_user_rule(const struct user_rule *rule, const struct context *ctx)
{
	const char *slash = strrchr(rule->words[0], '/');
	size_t next = 1, i;

	if (strcmp(slash != NULL && slash[1] != '\0' ? slash + 1 : rule->words[0], ctx->name) != 0)
		return 0;
	for (i = 0; i < ctx->argc && next < rule->word_count; i++) {
		if (strcmp(ctx->args[i].text, rule->words[next]) == 0)
			next++;
	}
	return next == rule->word_count;
}

/* ---- decisions ---- */

static void
decision_set(struct gate_decision *out, enum gate_verdict verdict, const char *id, const char *reason,
    const char *alternative, const struct sh_script *script, size_t index)
{
	out->verdict = verdict;
	snprintf(out->rule_id, sizeof out->rule_id, "%s", id);
	snprintf(out->reason, sizeof out->reason, "%s", reason);
	snprintf(out->alternative, sizeof out->alternative, "%s", alternative);
	out->command_index = index;
	out->command[0] = '\0';
	if (script != NULL && index != SH_NO_PARENT)
		sh_command_format(&script->commands[index], out->command, sizeof out->command);
}

static enum gate_verdict
verdict_for(const struct gate *gate, enum strictness deny_from)
{
	return gate->strictness >= deny_from ? GATE_DENY : GATE_WARN;
}

static const char *
parse_alternative(enum sh_status status)
{
	switch (status) {
	case SH_UNTERMINATED:
		return "Check the quoting: close every quote, $( and ${";
	case SH_SYNTAX:
		return "Check the command's syntax with bash -n";
	case SH_TOO_DEEP:
		return "Try fewer nested substitutions and -c scripts, or put the steps in a script file";
	default:
		return "Try splitting the command into shorter ones, or put the steps in a script file";
	}
}

/* Records a match of rule ID on command INDEX; returns 1 when it denies. */
static int
record(const struct gate *gate, struct gate_decision *out, enum strictness deny_from, const char *id,
    const char *reason, const char *alternative, const struct sh_script *script, size_t index)
{
	enum gate_verdict verdict = verdict_for(gate, deny_from);

	if (verdict > out->verdict)
		decision_set(out, verdict, id, reason, alternative, script, index);
	return verdict == GATE_DENY;
}

/* Checks command INDEX against every rule; returns 1 when one denies. */
static int
check_command(const struct gate *gate, const struct sh_script *script, size_t index, const char *cwd,
    struct gate_decision *out)
{
	const struct sh_command *command = &script->commands[index];
	struct context ctx;
	char reason[sizeof out->reason];
	size_t i;

	/* A command without a static name matches no rule by name; "" keeps the matchers simple. */
	ctx.name = sh_command_name(command);
	if (ctx.name == NULL)
		ctx.name = "";
	ctx.gate = gate;
	ctx.script = script;
	ctx.command = command;
	ctx.index = index;
	ctx.args = command->words + command->argv_start + 1;
	ctx.argc = sh_command_argc(command);
	ctx.cwd = cwd;

	for (i = 0; i < RULE_COUNT; i++) {
		if (!rule_matchers[i](&ctx))
			continue;
		if (record(gate, out, rule_infos[i].deny_from, rule_infos[i].id, rule_infos[i].reason,
		    rule_infos[i].alternative, script, index))
			return 1;
	}
	for (i = 0; i < gate->user_rule_count; i++) {
		if (!match_user_rule(&gate->user_rules[i], &ctx))
			continue;
		snprintf(reason, sizeof reason, "safety.blocked_commands in the CAKE config lists \"%s\"",
		    gate->user_rules[i].text);
		if (record(gate, out, STRICTNESS_MINIMAL, RULE_ID_CONFIG, reason,
		    "Check with the user before running it outside the agent", script, index))
			return 1;
	}
	return 0;
}

int
gate_check_script(const struct gate *gate, const struct sh_script *script, const char *cwd,
    struct gate_decision *out)
{
	char cwd_buffer[PATH_MAX], reason[sizeof out->reason];
	size_t i;

	if (gate == NULL || out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	out->verdict = GATE_ALLOW;
	out->command_index = SH_NO_PARENT;

	if (script == NULL) {
		record(gate, out, STRICTNESS_BALANCED, RULE_ID_PARSE,
		    "the command could not be parsed: out of memory", parse_alternative(SH_NO_MEMORY), NULL,
		    SH_NO_PARENT);
		return 0;
	}

	if (cwd == NULL || cwd[0] != '/' || strlen(cwd) >= sizeof cwd_buffer) {
		if (getcwd(cwd_buffer, sizeof cwd_buffer) == NULL)
			snprintf(cwd_buffer, sizeof cwd_buffer, "/");
	} else {
		snprintf(cwd_buffer, sizeof cwd_buffer, "%s", cwd);
	}
	normalize_path(cwd_buffer);

	for (i = 0; i < script->command_count; i++) {
		if (check_command(gate, script, i, cwd_buffer, out))
			return 0;
	}

	if (script->status != SH_OK) {
		snprintf(reason, sizeof reason, "the command could not be fully parsed (%s): %s",
		    sh_status_name(script->status), script->error);
		record(gate, out, STRICTNESS_BALANCED, RULE_ID_PARSE, reason, parse_alternative(script->status),
		    NULL, SH_NO_PARENT);
	}
	return 0;
}

int
gate_check(const struct gate *gate, const char *command, const char *cwd, struct gate_decision *out)
{
	struct sh_script *script;
	int result;

	if (gate == NULL || out == NULL)
		return -1;
	script = sh_parse(command != NULL ? command : "", NULL);
	result = gate_check_script(gate, script, cwd, out);
	sh_script_free(script);
	return result;
}

/* ---- construction ---- */

static void
user_rule_free(struct user_rule *rule)
{
	size_t i;

	for (i = 0; i < rule->word_count; i++)
		free(rule->words[i]);
	free(rule->words);
	free(rule->text);
}

/* Splits TEXT into RULE's words with the shell parser. Returns 0, or -1 with a message. */
static int
user_rule_init(struct user_rule *rule, const char *text, char *error, size_t error_size)
{
	struct sh_script *script;
	const struct sh_command *command;
	size_t i, count;

	memset(rule, 0, sizeof *rule);
	script = sh_parse(text, NULL);
	if (script == NULL) {
		snprintf(error, error_size, "out of memory parsing safety.blocked_commands entry \"%s\"", text);
		return -1;
	}
	if (script->status != SH_OK || script->command_count == 0) {
		snprintf(error, error_size, "safety.blocked_commands entry \"%s\" is not a command%s%s; "
		    "write it as words, for example \"npm publish\"", text, script->status != SH_OK ? ": " : "",
		    script->status != SH_OK ? script->error : "");
		sh_script_free(script);
		return -1;
	}
	command = &script->commands[0];
	count = command->word_count - command->argv_start;
	if (count == 0 || script->command_count > 1) {
		snprintf(error, error_size, "safety.blocked_commands entry \"%s\" must be one simple command, "
		    "for example \"npm publish\"", text);
		sh_script_free(script);
		return -1;
	}
	for (i = command->argv_start; i < command->word_count; i++) {
		if (!sh_word_is_static(&command->words[i])) {
			snprintf(error, error_size, "safety.blocked_commands entry \"%s\" contains an expansion "
			    "(\"%s\"); write plain words", text, command->words[i].text);
			sh_script_free(script);
			return -1;
		}
	}

	rule->text = strdup(text);
	rule->words = calloc(count, sizeof *rule->words);
	if (rule->text == NULL || rule->words == NULL)
		goto nomem;
	for (i = 0; i < count; i++) {
		rule->words[i] = strdup(command->words[command->argv_start + i].text);
		if (rule->words[i] == NULL)
			goto nomem;
		rule->word_count++;
	}
	sh_script_free(script);
	return 0;

nomem:
	snprintf(error, error_size, "out of memory storing safety.blocked_commands entry \"%s\"", text);
	user_rule_free(rule);
	sh_script_free(script);
	return -1;
}

struct gate *
gate_create(enum strictness strictness, const char *const *extra_rules, size_t extra_count, char *error,
    size_t error_size)
{
	struct gate *gate;
	const char *home = getenv("HOME");
	size_t i;

	gate = calloc(1, sizeof *gate);
	if (gate == NULL) {
		snprintf(error, error_size, "out of memory creating the command gate");
		return NULL;
	}
	gate->strictness = strictness;
	if (home != NULL && home[0] == '/' && strlen(home) < sizeof gate->home) {
		snprintf(gate->home, sizeof gate->home, "%s", home);
		normalize_path(gate->home);
	}

	if (extra_count > 0) {
		gate->user_rules = calloc(extra_count, sizeof *gate->user_rules);
		if (gate->user_rules == NULL) {
			snprintf(error, error_size, "out of memory creating the command gate");
			gate_free(gate);
			return NULL;
		}
	}
	for (i = 0; i < extra_count; i++) {
		if (extra_rules[i] == NULL || user_rule_init(&gate->user_rules[i], extra_rules[i], error,
		    error_size) < 0) {
			if (extra_rules[i] == NULL)
				snprintf(error, error_size, "safety.blocked_commands entry %zu is missing", i + 1);
			gate_free(gate);
			return NULL;
		}
		gate->user_rule_count++;
	}
	return gate;
}

void
gate_free(struct gate *gate)
{
	size_t i;

	if (gate == NULL)
		return;
	for (i = 0; i < gate->user_rule_count; i++)
		user_rule_free(&gate->user_rules[i]);
	free(gate->user_rules);
	free(gate);
}

enum strictness
gate_strictness(const struct gate *gate)
{
	return gate->strictness;
}

size_t
gate_rule_count(void)
{
	return RULE_COUNT;
}

const struct gate_rule_info *
gate_rule(size_t i)
{
	return i < RULE_COUNT ? &rule_infos[i] : NULL;
}

const char *
gate_verdict_name(enum gate_verdict verdict)
{
	switch (verdict) {
	case GATE_ALLOW: return "allow";
	case GATE_WARN: return "warn";
	case GATE_DENY: return "deny";
	}
	return "unknown";
}
