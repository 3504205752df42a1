/*
 * Rendering and gating of the operator's correction, as declared in voice.h.
 *
 * A sentence ends at ".", "!" or "?" followed by a space or the end of the
 * text. Control characters (line ends included) become spaces, runs of
 * spaces become one, and trailing periods are removed before the closing
 * period is added, so the text never ends in "..".
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "voice.h"

#define NITEMS(array) (sizeof(array) / sizeof((array)[0]))

#define SKELETON_MAX 512
#define SENTENCE_MAX 4

/* Words an action may start with. A fix that starts with another word is a command to run. */
static const char *const action_verbs[] = { "Run", "Check", "Fix", "Try", "See" };

/* Rejected anywhere in a message, as whole words or phrases, in any case. */
static const char *const banned_phrases[] = {
	"sorry", "apologize", "apologise", "apologies", "i think", "maybe", "might", "perhaps",
	"please", "probably", "possibly",
};

/* Words the skeleton keeps wherever they stand, besides the sentence-initial verbs. */
static const char *const skeleton_words[] = {
	"operator", "cake", "stop",
	"i", "i'm", "i'd", "i'll", "me", "my", "we", "we're", "our", "us", "you", "you're",
	"your", "sorry", "apologize", "apologise", "apologies", "please", "kindly", "thanks",
	"thank", "think", "believe", "guess", "hope", "feel", "seems", "seem", "maybe", "might",
	"perhaps", "possibly", "probably", "could", "would", "should", "may", "just", "really",
	"actually", "basically", "unfortunately", "oops", "hmm", "let's", "consider", "suggest",
	"wonder",
};

/*
 * The template of one message type. ACTION is used when the detection has
 * no fix and in the simplified form; "%s" in it is the error type.
 */
struct voice_template {
	const char *name;
	const char *action;
	const char *extra;		/* a sentence after the action, or NULL */
	const char *reference;		/* used when the detection has none, and in the simplified form */
};

static const struct voice_template templates[VOICE_TYPE_COUNT] = {
	[VOICE_ERROR_CORRECTION] = { "ERROR_CORRECTION", "Fix the %s", NULL,
	    "the error output above" },
	[VOICE_REPEAT_ERROR] = { "REPEAT_ERROR", "Fix the %s",
	    "Check why the last fix did not hold", "the error output above" },
	[VOICE_CI_FAILURE] = { "CI_FAILURE", "Check the failing CI job", NULL, "the CI log" },
	[VOICE_LINTER_VIOLATION] = { "LINTER_VIOLATION", "Fix the linter findings", NULL,
	    "the linter output" },
	[VOICE_FEATURE_CREEP] = { "FEATURE_CREEP", "Check the task and revert the unrequested changes",
	    NULL, "the task description" },
	[VOICE_TEST_SKIP] = { "TEST_SKIP", "Fix the test instead of skipping it", NULL,
	    "the test output" },
	[VOICE_COVERAGE_DROP] = { "COVERAGE_DROP", "Run the tests with coverage and cover the new lines",
	    NULL, "the coverage report" },
	[VOICE_FORCE_PUSH] = { "FORCE_PUSH", "Run git push without --force", NULL,
	    "the branch history" },
	[VOICE_UNSAFE_OPERATION] = { "UNSAFE_OPERATION", "Check the command and use a safe alternative",
	    NULL, "the safety rules in cake_config.yaml" },
	[VOICE_PATTERN_VIOLATION] = { "PATTERN_VIOLATION", "Fix the code to follow the project pattern",
	    NULL, "the project conventions" },
	[VOICE_FOCUS_DRIFT] = { "FOCUS_DRIFT", "Check the current task and return to it", NULL,
	    "the task description" },
};

/* A detection whose error type or rule id prefix matches gets TYPE. */
struct type_match {
	const char *error_type;
	const char *rule_prefix;
	enum voice_type type;
};

static const struct type_match type_matches[] = {
	{ "CIFailure", "ci.", VOICE_CI_FAILURE },
	{ "LinterViolation", "lint.", VOICE_LINTER_VIOLATION },
	{ "FeatureCreep", "scope.", VOICE_FEATURE_CREEP },
	{ "TestSkip", "test.skip", VOICE_TEST_SKIP },
	{ "CoverageDrop", "coverage.", VOICE_COVERAGE_DROP },
	{ "ForcePush", "git.force_push", VOICE_FORCE_PUSH },
	{ "UnsafeOperation", "safety.", VOICE_UNSAFE_OPERATION },
	{ "PatternViolation", "pattern.", VOICE_PATTERN_VIOLATION },
	{ "FocusDrift", "focus.", VOICE_FOCUS_DRIFT },
};

/* Character-trigram counts of one skeleton, sorted by key. */
struct trigram_vector {
	uint32_t *keys;
	uint32_t *counts;
	size_t length;
	double norm;
};

struct voice_corpus {
	struct trigram_vector *vectors;
	size_t length;
	size_t capacity;
};

/*
 * Copies TEXT into OUT (SIZE bytes, NUL-terminated). Control characters
 * become spaces, runs of spaces collapse, and the result is trimmed.
 */
static void
clean_text(const char *text, char *out, size_t size)
{
	size_t used = 0;
	bool pending_space = false;
	unsigned char c;

	for (; *text != '\0' && used < size - 1; text++) {
		c = (unsigned char)*text;
		if (c < 0x20 || c == 0x7f || c == ' ') {
			pending_space = used > 0;
			continue;
		}
		if (pending_space) {
			if (used + 1 >= size - 1)
				break;
			out[used++] = ' ';
			pending_space = false;
		}
		out[used++] = (char)c;
	}
	out[used] = '\0';
}

static bool
sentence_end(const char *p)
{
	return (*p == '.' || *p == '!' || *p == '?') && (p[1] == ' ' || p[1] == '\0');
}

static void
strip_trailing_punctuation(char *text)
{
	size_t length = strlen(text);

	while (length > 0 && strchr(".!? ", text[length - 1]) != NULL)
		text[--length] = '\0';
}

/*
 * Splits TEXT in place into at most MAX sentences, each without its closing
 * punctuation. Returns the number found.
 */
static int
split_sentences(char *text, char **sentences, int max)
{
	int count = 0;
	char *start = text;

	for (char *p = text; *p != '\0' && count < max; p++) {
		if (!sentence_end(p))
			continue;
		p[0] = '\0';
		strip_trailing_punctuation(start);
		if (start[0] != '\0')
			sentences[count++] = start;
		start = p[1] == ' ' ? p + 2 : p + 1;
		if (*start == '\0')
			return count;
		p = start - 1;
	}
	if (count < max && *start != '\0') {
		strip_trailing_punctuation(start);
		if (start[0] != '\0')
			sentences[count++] = start;
	}
	return count;
}

static bool
starts_with_word(const char *text, const char *word)
{
	size_t length = strlen(word);

	return strncmp(text, word, length) == 0 &&
	    (text[length] == ' ' || text[length] == '\0');
}

static bool
starts_with_verb(const char *text)
{
	for (size_t i = 0; i < NITEMS(action_verbs); i++) {
		if (starts_with_word(text, action_verbs[i]))
			return true;
	}
	return false;
}

enum voice_type
voice_classify(const struct msg_detection *detection)
{
	size_t rule_length = strnlen(detection->rule_id, sizeof detection->rule_id);
	size_t type_length = strnlen(detection->error_type, sizeof detection->error_type);

	for (size_t i = 0; i < NITEMS(type_matches); i++) {
		const struct type_match *match = &type_matches[i];
		size_t prefix_length = strlen(match->rule_prefix);

		if (type_length == strlen(match->error_type) &&
		    strncmp(detection->error_type, match->error_type, type_length) == 0)
			return match->type;
		if (rule_length >= prefix_length &&
		    strncmp(detection->rule_id, match->rule_prefix, prefix_length) == 0)
			return match->type;
	}
	if (detection->occurrence_count >= 2)
		return VOICE_REPEAT_ERROR;
	return VOICE_ERROR_CORRECTION;
}

const char *
voice_type_name(enum voice_type type)
{
	if (type < VOICE_ERROR_CORRECTION || type >= VOICE_TYPE_COUNT)
		return "UNKNOWN";
	return templates[type].name;
}

/* Writes the default action of TEMPLATE, with the error type (or "error") in it. */
static void
default_action(const struct voice_template *template, const struct msg_detection *detection,
    char *out, size_t size)
{
	char error_type[sizeof detection->error_type];
	char action[sizeof error_type + 64];

	clean_text(detection->error_type, error_type, sizeof error_type);
	/* The template's only conversion is "%s", so it is safe as a format. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(action, sizeof action, template->action,
	    error_type[0] != '\0' ? error_type : "error");
#pragma GCC diagnostic pop
	snprintf(out, size, "%s", action);
}

/* Appends SENTENCE and its closing period to OUT. Returns -1 when OUT is full. */
static int
append_sentence(char *out, size_t size, const char *sentence)
{
	size_t used = strlen(out);
	int n = snprintf(out + used, size - used, " %s.", sentence);

	return n < 0 || (size_t)n >= size - used ? -1 : 0;
}

/*
 * Fills ACTIONS with the sentences of the fix: the first (prefixed with
 * "Run" unless it starts with a verb) and the following ones that start
 * with a verb, up to MAX. Returns the number filled.
 */
static int
fix_sentences(const struct msg_detection *detection, char *buffer, size_t size, char **actions,
    int max)
{
	char *sentences[SENTENCE_MAX];
	int found, count = 0;

	clean_text(detection->fix, buffer, size);
	found = split_sentences(buffer, sentences, SENTENCE_MAX);
	for (int i = 0; i < found && count < max; i++) {
		if (i > 0 && !starts_with_verb(sentences[i]))
			break;
		actions[count++] = sentences[i];
	}
	return count;
}

static int
render_full(enum voice_type type, const struct msg_detection *detection, char *out, size_t size)
{
	const struct voice_template *template = &templates[type];
	char fix[sizeof detection->fix];
	char reference[sizeof detection->reference];
	char first[sizeof fix + 8];
	char fallback[sizeof detection->error_type + 64];
	char see[sizeof reference + 8];
	char *actions[SENTENCE_MAX];
	char *references[1];
	int max_actions = VOICE_SENTENCES_MAX - 1 - (template->extra != NULL ? 1 : 0);
	int count;

	count = fix_sentences(detection, fix, sizeof fix, actions, max_actions);
	if (count == 0) {
		default_action(template, detection, fallback, sizeof fallback);
		actions[count++] = fallback;
	} else if (!starts_with_verb(actions[0])) {
		snprintf(first, sizeof first, "Run %s", actions[0]);
		actions[0] = first;
	}

	clean_text(detection->reference, reference, sizeof reference);
	if (split_sentences(reference, references, 1) == 0)
		snprintf(see, sizeof see, "See %s", template->reference);
	else if (starts_with_word(references[0], "See"))
		snprintf(see, sizeof see, "%s", references[0]);
	else
		snprintf(see, sizeof see, "See %s", references[0]);

	snprintf(out, size, "%s", VOICE_PREFIX);
	for (int i = 0; i < count; i++) {
		if (append_sentence(out, size, actions[i]) == -1)
			return -1;
	}
	if (template->extra != NULL && append_sentence(out, size, template->extra) == -1)
		return -1;
	if (append_sentence(out, size, see) == -1)
		return -1;
	return (int)strlen(out);
}

static int
render_simplified(enum voice_type type, const struct msg_detection *detection, char *out,
    size_t size)
{
	const struct voice_template *template = &templates[type];
	char action[sizeof detection->error_type + 64];
	int length;

	default_action(template, detection, action, sizeof action);
	length = snprintf(out, size, "%s %s. See %s.", VOICE_PREFIX, action, template->reference);
	if (length < 0 || (size_t)length >= size)
		return -1;
	return length;
}

int
voice_render_form(enum voice_type type, const struct msg_detection *detection,
    enum voice_form form, char *out, size_t size)
{
	int length;

	if (type < VOICE_ERROR_CORRECTION || type >= VOICE_TYPE_COUNT)
		type = VOICE_ERROR_CORRECTION;
	switch (form) {
	case VOICE_FORM_FULL:
		return render_full(type, detection, out, size);
	case VOICE_FORM_SIMPLIFIED:
		return render_simplified(type, detection, out, size);
	default:
		length = snprintf(out, size, "%s", VOICE_SAFE_DEFAULT);
		return length < 0 || (size_t)length >= size ? -1 : length;
	}
}

int
voice_render(const struct msg_detection *detection, char *out, size_t size)
{
	return voice_render_form(voice_classify(detection), detection, VOICE_FORM_FULL, out, size);
}

/* Returns the banned phrase found in TEXT as whole words, or NULL. */
static const char *
find_banned(const char *text)
{
	for (size_t i = 0; i < NITEMS(banned_phrases); i++) {
		const char *phrase = banned_phrases[i];
		size_t length = strlen(phrase);

		for (const char *p = text; *p != '\0'; p++) {
			if (strncasecmp(p, phrase, length) != 0)
				continue;
			if (p > text && isalnum((unsigned char)p[-1]))
				continue;
			if (isalnum((unsigned char)p[length]))
				continue;
			return phrase;
		}
	}
	return NULL;
}

int
voice_check(const char *text, char *reason, size_t reason_size)
{
	size_t prefix_length = strlen(VOICE_PREFIX);
	size_t length = strlen(text);
	char body[MSG_TEXT_MAX];
	char *sentences[VOICE_SENTENCES_MAX + 1];
	const char *banned;
	int count;

	if (strncmp(text, VOICE_PREFIX " ", prefix_length + 1) != 0) {
		snprintf(reason, reason_size, "does not start with \"%s \"", VOICE_PREFIX);
		return 0;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(reason, reason_size, "contains a control character");
			return 0;
		}
	}
	if (text[length - 1] != '.') {
		snprintf(reason, reason_size, "does not end with a period");
		return 0;
	}
	banned = find_banned(text);
	if (banned != NULL) {
		snprintf(reason, reason_size, "contains \"%s\"", banned);
		return 0;
	}

	snprintf(body, sizeof body, "%s", text + prefix_length + 1);
	for (char *p = body; *p != '\0'; p++) {
		if (sentence_end(p) && *p != '.') {
			snprintf(reason, reason_size, "has a sentence ending in '%c'", *p);
			return 0;
		}
	}
	count = split_sentences(body, sentences, VOICE_SENTENCES_MAX + 1);
	if (count > VOICE_SENTENCES_MAX) {
		snprintf(reason, reason_size, "has more than %d sentences after the prefix",
		    VOICE_SENTENCES_MAX);
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (!starts_with_verb(sentences[i])) {
			snprintf(reason, reason_size,
			    "sentence %d starts with \"%.24s\", not Run, Check, Fix, Try or See", i + 1,
			    sentences[i]);
			return 0;
		}
	}
	return 1;
}

static bool
skeleton_word(const char *word)
{
	for (size_t i = 0; i < NITEMS(skeleton_words); i++) {
		if (strcmp(word, skeleton_words[i]) == 0)
			return true;
	}
	return false;
}

static void
skeleton_append(char *out, size_t size, const char *token)
{
	size_t used = strlen(out);

	snprintf(out + used, size - used, "%s%s", used > 0 ? " " : "", token);
}

/*
 * Writes the skeleton of TEXT (see voice.h) into OUT: lowercase tokens
 * separated by single spaces.
 */
static void
skeleton(const char *text, char *out, size_t size)
{
	char word[128];
	bool sentence_start = true;
	bool last_was_x = false;
	const char *p = text;

	out[0] = '\0';
	while (*p != '\0') {
		const char *start, *end;
		char mark = '\0';
		size_t length = 0;

		while (*p == ' ' || (unsigned char)*p < 0x20)
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && (unsigned char)*p >= 0x20)
			p++;
		end = p;

		if (strchr(".!?", end[-1]) != NULL)
			mark = end[-1];
		while (start < end && !isalnum((unsigned char)*start) && *start != '\'')
			start++;
		while (end > start && !isalnum((unsigned char)end[-1]))
			end--;
		for (const char *c = start; c < end && length < sizeof word - 1; c++)
			word[length++] = (char)tolower((unsigned char)*c);
		word[length] = '\0';

		if (length > 0) {
			bool keep = skeleton_word(word);

			for (size_t i = 0; sentence_start && !keep && i < NITEMS(action_verbs); i++)
				keep = strcasecmp(word, action_verbs[i]) == 0;
			if (keep) {
				skeleton_append(out, size, word);
				last_was_x = false;
			} else if (!last_was_x) {
				skeleton_append(out, size, "x");
				last_was_x = true;
			}
			sentence_start = false;
		}
		if (mark != '\0') {
			char token[2] = { mark, '\0' };

			skeleton_append(out, size, token);
			last_was_x = false;
			sentence_start = true;
		}
	}
}

static int
compare_keys(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Builds the trigram vector of TEXT's skeleton. Returns 0, or -1 when out of memory. */
static int
trigram_vector(const char *text, struct trigram_vector *vector)
{
	char shape[SKELETON_MAX];
	char padded[SKELETON_MAX + 2];
	uint32_t keys[SKELETON_MAX];
	size_t count = 0, length;
	double sum = 0;

	memset(vector, 0, sizeof *vector);
	skeleton(text, shape, sizeof shape);
	snprintf(padded, sizeof padded, " %s ", shape);
	length = strlen(padded);
	for (size_t i = 0; i + 2 < length; i++)
		keys[count++] = (uint32_t)(unsigned char)padded[i] << 16 |
		    (uint32_t)(unsigned char)padded[i + 1] << 8 | (unsigned char)padded[i + 2];
	qsort(keys, count, sizeof keys[0], compare_keys);

	vector->keys = calloc(count > 0 ? count : 1, sizeof *vector->keys);
	vector->counts = calloc(count > 0 ? count : 1, sizeof *vector->counts);
	if (vector->keys == NULL || vector->counts == NULL) {
		free(vector->keys);
		free(vector->counts);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (vector->length > 0 && vector->keys[vector->length - 1] == keys[i]) {
			vector->counts[vector->length - 1]++;
			continue;
		}
		vector->keys[vector->length] = keys[i];
		vector->counts[vector->length++] = 1;
	}
	for (size_t i = 0; i < vector->length; i++)
		sum += (double)vector->counts[i] * vector->counts[i];
	vector->norm = sqrt(sum);
	return 0;
}

static void
trigram_vector_free(struct trigram_vector *vector)
{
	free(vector->keys);
	free(vector->counts);
}

static double
cosine(const struct trigram_vector *a, const struct trigram_vector *b)
{
	double dot = 0;
	size_t i = 0, j = 0;

	if (a->norm == 0 || b->norm == 0)
		return 0;
	while (i < a->length && j < b->length) {
		if (a->keys[i] < b->keys[j]) {
			i++;
		} else if (a->keys[i] > b->keys[j]) {
			j++;
		} else {
			dot += (double)a->counts[i++] * b->counts[j++];
		}
	}
	return dot / (a->norm * b->norm);
}

static struct voice_corpus *
corpus_new(void)
{
	return calloc(1, sizeof(struct voice_corpus));
}

static int
corpus_add(struct voice_corpus *corpus, const char *text)
{
	if (corpus->length == corpus->capacity) {
		size_t capacity = corpus->capacity > 0 ? corpus->capacity * 2 : 64;
		struct trigram_vector *vectors = realloc(corpus->vectors,
		    capacity * sizeof *vectors);

		if (vectors == NULL)
			return -1;
		corpus->vectors = vectors;
		corpus->capacity = capacity;
	}
	if (trigram_vector(text, &corpus->vectors[corpus->length]) == -1)
		return -1;
	corpus->length++;
	return 0;
}

void
voice_corpus_free(struct voice_corpus *corpus)
{
	if (corpus == NULL)
		return;
	for (size_t i = 0; i < corpus->length; i++)
		trigram_vector_free(&corpus->vectors[i]);
	free(corpus->vectors);
	free(corpus);
}

size_t
voice_corpus_size(const struct voice_corpus *corpus)
{
	return corpus != NULL ? corpus->length : 0;
}

struct voice_corpus *
voice_corpus_load(const char *path, char *error, size_t error_size)
{
	struct voice_corpus *corpus;
	char line[MSG_TEXT_MAX];
	char cleaned[MSG_TEXT_MAX];
	FILE *file;

	file = fopen(path, "r");
	if (file == NULL) {
		snprintf(error, error_size, "failed to open voice corpus %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	corpus = corpus_new();
	if (corpus == NULL) {
		snprintf(error, error_size, "out of memory loading voice corpus %s", path);
		fclose(file);
		return NULL;
	}

	while (fgets(line, sizeof line, file) != NULL) {
		clean_text(line, cleaned, sizeof cleaned);
		if (cleaned[0] == '\0' || cleaned[0] == '#')
			continue;
		if (corpus_add(corpus, cleaned) == -1) {
			snprintf(error, error_size, "out of memory loading voice corpus %s", path);
			fclose(file);
			voice_corpus_free(corpus);
			return NULL;
		}
	}
	if (ferror(file)) {
		snprintf(error, error_size, "failed to read voice corpus %s: %s", path,
		    strerror(errno));
		fclose(file);
		voice_corpus_free(corpus);
		return NULL;
	}
	fclose(file);

	if (corpus->length == 0) {
		snprintf(error, error_size, "voice corpus %s holds no message", path);
		voice_corpus_free(corpus);
		return NULL;
	}
	return corpus;
}

struct voice_corpus *
voice_corpus_builtin(void)
{
	struct voice_corpus *corpus = corpus_new();
	struct msg_detection detection;
	char text[MSG_TEXT_MAX];

	if (corpus == NULL)
		return NULL;
	memset(&detection, 0, sizeof detection);
	snprintf(detection.error_type, sizeof detection.error_type, "Error");

	for (int type = 0; type < VOICE_TYPE_COUNT; type++) {
		if (render_simplified((enum voice_type)type, &detection, text, sizeof text) < 0 ||
		    corpus_add(corpus, text) == -1) {
			voice_corpus_free(corpus);
			return NULL;
		}
	}
	if (corpus_add(corpus, VOICE_SAFE_DEFAULT) == -1) {
		voice_corpus_free(corpus);
		return NULL;
	}
	return corpus;
}

double
voice_similarity(const struct voice_corpus *corpus, const char *text)
{
	struct trigram_vector vector;
	double best = 0;

	if (corpus == NULL || corpus->length == 0 || trigram_vector(text, &vector) == -1)
		return 0;
	for (size_t i = 0; i < corpus->length; i++) {
		double score = cosine(&vector, &corpus->vectors[i]);

		if (score > best)
			best = score;
	}
	trigram_vector_free(&vector);
	return best;
}

/* Returns 1 when TEXT passes the rules and the corpus, else 0 with the reason. */
static int
gate(const struct voice_corpus *corpus, const char *text, double *score, char *reason,
    size_t reason_size)
{
	*score = voice_similarity(corpus, text);
	if (!voice_check(text, reason, reason_size))
		return 0;
	if (*score < VOICE_MIN_SCORE) {
		snprintf(reason, reason_size, "similarity %.3f is below %.2f", *score,
		    VOICE_MIN_SCORE);
		return 0;
	}
	return 1;
}

int
voice_compose(const struct voice_corpus *corpus, const struct msg_detection *detection,
    char *out, size_t size, struct voice_result *result)
{
	char reason[sizeof result->rejected];
	int length;

	memset(result, 0, sizeof *result);
	result->type = voice_classify(detection);

	for (int form = VOICE_FORM_FULL; form <= VOICE_FORM_SIMPLIFIED; form++) {
		length = voice_render_form(result->type, detection, (enum voice_form)form, out, size);
		if (length >= 0 && gate(corpus, out, &result->score, reason, sizeof reason)) {
			result->form = (enum voice_form)form;
			return length;
		}
		if (form == VOICE_FORM_FULL)
			snprintf(result->rejected, sizeof result->rejected, "%s",
			    length >= 0 ? reason : "does not fit the message buffer");
	}

	result->form = VOICE_FORM_DEFAULT;
	length = voice_render_form(result->type, detection, VOICE_FORM_DEFAULT, out, size);
	if (length >= 0)
		result->score = voice_similarity(corpus, out);
	return length;
}
