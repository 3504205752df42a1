/*
 * The operator's voice: turns a detection into the correction sent to the
 * agent, "Operator (CAKE): Stop. {Action}. {Reference}.".
 *
 * After the prefix come at most three sentences, each starting with Run,
 * Check, Fix, Try or See, and none with an apology or a hedge (sorry,
 * apologize, I think, maybe, might, perhaps, please, probably, possibly).
 * A fix that is a bare command ("pip install requests") becomes "Run pip
 * install requests"; the reference becomes "See {reference}". The same
 * detection always gives the same text, and the text never contains a
 * newline.
 *
 * A voice gate checks every message against these rules and scores it
 * against a reference corpus (share/voice/reference.txt, installed as
 * share/cake/voice/reference.txt). The score is the maximum cosine
 * similarity between the character-trigram counts of the message's
 * skeleton and those of each corpus line's skeleton. The skeleton keeps
 * the prefix words, each sentence's first word when it is one of the five
 * verbs, sentence ends (. ? !) and marker words of other voices (pronouns
 * such as I and you, modal verbs, hedges, apologies, politeness), and
 * writes every other run of words as one "x":
 * "Operator (CAKE): Stop. Run pip install requests. See requirements.txt."
 * becomes "operator cake stop . run x . see x .". A message passes with a
 * score of at least VOICE_MIN_SCORE. On failure the gate tries the
 * simplified form of the message type (its default action and reference),
 * then VOICE_SAFE_DEFAULT. docs/operator.md lists the templates.
 */
#ifndef CAKE_VOICE_H
#define CAKE_VOICE_H

#include <stddef.h>

#include "proto.h"

#define VOICE_PREFIX "Operator (CAKE): Stop."
#define VOICE_SAFE_DEFAULT "Operator (CAKE): Stop. Check the error output above. See the log."
#define VOICE_MIN_SCORE 0.90
#define VOICE_SENTENCES_MAX 3	/* after the prefix */
/* The corpus path below the install's data directory (share/cake). */
#define VOICE_CORPUS_SUBPATH "voice/reference.txt"

enum voice_type {
	VOICE_ERROR_CORRECTION = 0,	/* a plain error, first seen */
	VOICE_REPEAT_ERROR,		/* a plain error that recall has seen before */
	VOICE_CI_FAILURE,
	VOICE_LINTER_VIOLATION,
	VOICE_FEATURE_CREEP,
	VOICE_TEST_SKIP,
	VOICE_COVERAGE_DROP,
	VOICE_FORCE_PUSH,
	VOICE_UNSAFE_OPERATION,
	VOICE_PATTERN_VIOLATION,
	VOICE_FOCUS_DRIFT,
	VOICE_TYPE_COUNT,
};

/* The text the gate let through; the values travel in msg_text.voice_form. */
enum voice_form {
	VOICE_FORM_FULL = 0,		/* the template filled from the detection */
	VOICE_FORM_SIMPLIFIED = 1,	/* the type's default action and reference */
	VOICE_FORM_DEFAULT = 2,		/* VOICE_SAFE_DEFAULT */
};

struct voice_corpus;

struct voice_result {
	enum voice_type type;
	enum voice_form form;
	double score;			/* similarity of the text returned */
	char rejected[160];		/* why the full form failed the gate, "" when it passed */
};

/*
 * Picks the message type of DETECTION: by its error type or rule id prefix
 * (table in voice.c), else REPEAT_ERROR when occurrence_count is 2 or more,
 * else ERROR_CORRECTION.
 */
enum voice_type voice_classify(const struct msg_detection *detection);

/* Returns "ERROR_CORRECTION", "REPEAT_ERROR", ... or "UNKNOWN". */
const char *voice_type_name(enum voice_type type);

/*
 * Renders the FORM of TYPE for DETECTION into OUT without the gate (the
 * DEFAULT form ignores both). Returns the length, or -1 when OUT is too
 * small.
 */
int voice_render_form(enum voice_type type, const struct msg_detection *detection,
    enum voice_form form, char *out, size_t size);

/* Renders the full form of voice_classify(DETECTION), without the gate. */
int voice_render(const struct msg_detection *detection, char *out, size_t size);

/*
 * Checks TEXT against the rules above (prefix, sentence count, first words,
 * banned words, closing period, no control characters). Returns 1 when it
 * passes, or 0 with the first broken rule in REASON.
 */
int voice_check(const char *text, char *reason, size_t reason_size);

/*
 * Loads the corpus at PATH: one reference message per line; blank lines and
 * lines starting with '#' are skipped. Returns NULL with a message when the
 * file cannot be read or contains no message.
 */
struct voice_corpus *voice_corpus_load(const char *path, char *error, size_t error_size);

/*
 * Builds a corpus from the simplified form of every message type, for use
 * when the shipped corpus cannot be read. Returns NULL when out of memory.
 */
struct voice_corpus *voice_corpus_builtin(void);

void voice_corpus_free(struct voice_corpus *corpus);
size_t voice_corpus_size(const struct voice_corpus *corpus);

/* Returns the similarity of TEXT to CORPUS, 0.0 - 1.0 (0.0 for an empty corpus). */
double voice_similarity(const struct voice_corpus *corpus, const char *text);

/*
 * Renders DETECTION through the gate: the full form if it passes
 * voice_check and scores at least VOICE_MIN_SCORE, else the simplified
 * form if it does, else VOICE_SAFE_DEFAULT. Fills RESULT. Returns the
 * length, or -1 when OUT is too small.
 */
int voice_compose(const struct voice_corpus *corpus, const struct msg_detection *detection,
    char *out, size_t size, struct voice_result *result);

#endif
