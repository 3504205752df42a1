/*
 * Detection rules: PCRE2 patterns (compiled with the JIT when available)
 * that recognize errors in agent output and classify them.
 *
 * Each rule has an id, a pattern, an error type, a severity, a confidence, a
 * fix template and a reference template. Templates use $1..$9 for the
 * pattern's capture groups, and ${file} and ${line} for the error's file and
 * line. Some errors name their file and line on an earlier line (a Python
 * traceback frame); struct rules_context carries that from line to line of
 * one stream.
 */
#ifndef CAKE_RULES_H
#define CAKE_RULES_H

#include <stddef.h>

#include "proto.h"

struct rules;

struct rules_context {
	char file_path[DETECTION_TEXT_MAX];	/* the latest traceback frame's file */
	int line_number;			/* and line, 0 when none seen */
};

/* Compiles the built-in rules. Returns NULL with a message in ERROR naming the rule. */
struct rules *rules_create(char *error, size_t error_size);
void rules_free(struct rules *rules);
size_t rules_count(const struct rules *rules);

void rules_context_init(struct rules_context *context);

/*
 * Matches one line (no line end, ANSI already removed). On a match fills
 * DETECTION completely (rule, type, severity, confidence, fix, reference,
 * file, line, excerpt, signature) and returns 1; returns 0 otherwise. Lines
 * that only carry context (traceback frames) update CONTEXT and return 0.
 * CONTEXT may be NULL.
 */
int rules_match(const struct rules *rules, struct rules_context *context,
    const char *line, size_t length, struct msg_detection *detection);

#endif
