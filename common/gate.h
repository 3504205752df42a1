/*
 * The command gate: decides whether a shell command an agent wants to run
 * may run. Rules match the parsed commands (shparse.h): the command name
 * after wrappers and its arguments, never the raw text, so quoted data such
 * as `echo "rm -rf /"` stays allowed while `bash -c 'rm -rf /'` is denied.
 *
 * Each rule has a strictness from which it denies. Below that level it only
 * warns: GATE_WARN means the command may run, and the caller may ask the user.
 * docs/gate.md lists the rules.
 */
#ifndef CAKE_GATE_H
#define CAKE_GATE_H

#include <stddef.h>

#include "config.h"
#include "shparse.h"

enum gate_verdict {
	GATE_ALLOW = 0,
	GATE_WARN = 1,		/* allowed, but a rule below its strictness matched */
	GATE_DENY = 2,
};

struct gate_decision {
	enum gate_verdict verdict;
	char rule_id[64];	/* for example "git.push.force"; "" when allowed */
	char reason[512];	/* one sentence without a final period; "" when allowed */
	char alternative[256];	/* starts with Try, Run, Check or See; may be "" */
	char command[512];	/* the simple command that matched, its words quoted */
	size_t command_index;	/* its index in the parsed script, or SH_NO_PARENT */
};

struct gate;

/*
 * Builds a gate for STRICTNESS with the built-in rules plus EXTRA_RULES
 * (safety.blocked_commands). Each extra rule is a command prefix such as
 * "npm publish": its first word matches the command name, and its other
 * words must appear among the arguments in the same order. Extra rules deny
 * at every strictness and never remove a built-in rule. Returns NULL with a
 * message in ERROR when an extra rule is empty or cannot be parsed, or when
 * memory runs out.
 */
struct gate *gate_create(enum strictness strictness, const char *const *extra_rules, size_t extra_count,
    char *error, size_t error_size);

void gate_free(struct gate *gate);

enum strictness gate_strictness(const struct gate *gate);

/*
 * Decides on COMMAND, run in the directory CWD (NULL means the current
 * directory). The input is parsed with the default shparse limits. A command
 * that cannot be fully parsed (too long, nested too deep, an unterminated
 * quote, memory exhausted) is denied in balanced and paranoid and warned
 * about in minimal. Returns 0 with OUT filled for any COMMAND, NULL included,
 * and -1 only when GATE or OUT is NULL.
 */
int gate_check(const struct gate *gate, const char *command, const char *cwd, struct gate_decision *out);

/*
 * Decides on an already parsed SCRIPT, as gate_check() does; `cake gate
 * explain` uses it to print the parse next to the decision. SCRIPT may be
 * NULL (allocation failed). Returns 0, or -1 when GATE or OUT is NULL.
 */
int gate_check_script(const struct gate *gate, const struct sh_script *script, const char *cwd,
    struct gate_decision *out);

/* A built-in rule, for `cake gate rules` and the documentation. */
struct gate_rule_info {
	const char *id;
	enum strictness deny_from;	/* denies at this strictness and above, warns below */
	const char *reason;
	const char *alternative;
};

size_t gate_rule_count(void);

/* Returns built-in rule I, or NULL past the end. */
const struct gate_rule_info *gate_rule(size_t i);

/* Returns "allow", "warn" or "deny". */
const char *gate_verdict_name(enum gate_verdict verdict);

#endif
