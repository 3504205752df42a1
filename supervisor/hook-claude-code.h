/*
 * The Claude Code hook: answers one hook event that Claude Code passes to
 * `cake hook claude-code` on stdin, in Claude Code's JSON.
 *
 * PreToolUse for Bash goes through the command gate. PostToolUse and
 * PostToolUseFailure send the command's output to the running
 * cake-adapter-claude-code (see adapters/claude-code/hook-socket.h) and
 * return its intervention as additionalContext, or classify the output in
 * this process when no adapter listens. docs/claude-code.md lists every
 * answer.
 *
 * Claude Code lets a tool run when its hook crashes or exits with a status
 * other than 0 or 2, so every path here ends in exit status 0 or 2 with an
 * answer: on input that cannot be read, PreToolUse and unknown events get
 * a denial except under the minimal strictness.
 */
#ifndef CAKE_HOOK_CLAUDE_CODE_H
#define CAKE_HOOK_CLAUDE_CODE_H

#include <stddef.h>

#include "config.h"

/* Input longer than this is rejected without parsing. */
#define HOOK_INPUT_MAX (1024 * 1024)

struct gate;
struct rules;

struct hook_context {
	enum strictness strictness;
	int max_latency_ms;		/* how long to wait for the pipeline's intervention */
	struct gate *gate;		/* NULL: the gate could not be built */
	const struct rules *rules;	/* NULL: loaded by load_rules when first needed */
	/*
	 * Loads the rules on first use, so PreToolUse, which never classifies,
	 * skips the cost of compiling them. Returns NULL when they cannot be
	 * loaded (then nothing is classified in this process). May be NULL.
	 */
	const struct rules *(*load_rules)(void *arg);
	void *load_rules_arg;
	const char *socket_path;	/* the adapter's socket, or NULL to never ask it */
	const char *audit_home;		/* CAKE_HOME to audit every gate decision in, or NULL */
	/*
	 * recall.db, where an audited gate decision is written as a pattern
	 * violation when no adapter answers (so no recall worker runs). NULL:
	 * such decisions reach the audit log only.
	 */
	const char *database_path;
};

struct hook_result {
	int exit_status;	/* 0 or 2 */
	char *output;		/* for stdout, possibly "" */
	char *message;		/* for stderr, or NULL */
};

/*
 * Answers the hook event in INPUT (LENGTH bytes, not NUL-terminated; a
 * LENGTH above HOOK_INPUT_MAX means the input was cut). Fills RESULT, whose
 * strings the caller frees with hook_result_free().
 */
void hook_answer(const struct hook_context *context, const char *input, size_t length,
    struct hook_result *result);

void hook_result_free(struct hook_result *result);

#endif
