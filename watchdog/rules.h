/*
 * Detection rules: PCRE2 patterns (compiled with the JIT when available),
 * loaded from a YAML rule file, that recognize errors in agent output and
 * classify them. docs/detection.md describes the file format.
 *
 * Each error rule has an id, a pattern, an error type, a severity, a
 * confidence, a fix template and a reference template. Templates use $1..$9
 * for the pattern's capture groups, and ${file} and ${line} for the error's
 * file and line.
 *
 * Some errors name their file and line on other lines: a Python traceback
 * names them in frames before the error, rustc and node name them after it.
 * struct rules_context carries that state from line to line of one stream,
 * so an error rule can take its location from the innermost project frame
 * seen before it, or be held for a few lines until a location line follows.
 * A held detection is reported on the line that completes it, and
 * rules_flush() reports what is still held at the end of a stream.
 */
#ifndef CAKE_RULES_H
#define CAKE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* The rule file, relative to the install's share/cake directory. */
#define RULES_FILE_NAME "rules/default.yaml"

/* Detections a context can queue when one line completes two of them. */
#define RULES_QUEUE_MAX 4

struct rules;

/* A detection held until its location line or the end of its wait. */
struct rules_held {
	struct msg_detection detection;
	char fix[DETECTION_TEXT_MAX];		/* templates with $1..$9 expanded */
	char fix_at[DETECTION_TEXT_MAX];
	char reference[DETECTION_TEXT_MAX];
	int lines_left;				/* lines to wait for a location */
	bool generic;				/* dropped when another error follows */
	bool require_location;			/* dropped when no location follows */
	bool signature_file;			/* the file counts in the signature */
};

struct rules_context {
	char file_path[DETECTION_TEXT_MAX];	/* innermost project frame of the traceback */
	int line_number;			/* and its line, 0 when none seen */
	int frame_age;				/* lines since the latest frame, -1 outside a traceback */
	unsigned long lines;			/* lines matched on this stream */
	unsigned long last_detection;		/* line of the latest error, 0 for none */

	bool has_held;
	struct rules_held held;

	struct msg_detection queue[RULES_QUEUE_MAX];	/* completed, not yet returned */
	size_t queue_start;
	size_t queue_count;
};

/* Where rules_load() reads its rules. */
struct rules_options {
	const char *rules_path;		/* NULL: the installed RULES_FILE_NAME */
	const char *config_path;	/* cake_config.yaml whose watchdog.patterns apply; NULL for none */
};

/*
 * Loads and compiles the installed rule file (see paths_data_file()).
 * Returns NULL with a message in ERROR naming the file, and for an invalid
 * rule its line, column and key ("rules[3].pattern").
 */
struct rules *rules_create(char *error, size_t error_size);

/*
 * Loads OPTIONS->rules_path, then the config's watchdog.patterns: a user
 * rule replaces the built-in rule with the same id and any other is added
 * at the end. Errors as for rules_create().
 */
struct rules *rules_load(const struct rules_options *options, char *error, size_t error_size);

void rules_free(struct rules *rules);
size_t rules_count(const struct rules *rules);

void rules_context_init(struct rules_context *context);

/*
 * Matches one line (no line end, ANSI already removed). When a detection is
 * complete, fills DETECTION completely (rule, type, severity, confidence,
 * fix, reference, file, line, excerpt, signature) and returns 1; returns 0
 * otherwise. Lines that only carry context (traceback frames, location
 * lines) update CONTEXT and return 0. CONTEXT may be NULL: then nothing is
 * held and each error is reported on its own line.
 */
int rules_match(const struct rules *rules, struct rules_context *context,
    const char *line, size_t length, struct msg_detection *detection);

/*
 * Reports what CONTEXT still holds at the end of a stream, one detection
 * per call: returns 1 with DETECTION filled, 0 when nothing is left.
 */
int rules_flush(const struct rules *rules, struct rules_context *context,
    struct msg_detection *detection);

#endif
