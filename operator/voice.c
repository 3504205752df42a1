/*
 * Rendering of the operator's correction, as declared in voice.h.
 *
 * The text after the prefix has at most three sentences: at most two from
 * the fix and one from the reference. A sentence ends at ".", "!" or "?"
 * followed by a space. Control characters (line ends included) become
 * spaces, runs of spaces become one, and trailing periods are removed
 * before the closing period is added, so the text never ends in "..".
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "voice.h"

#define FIX_SENTENCES_MAX 2
#define REFERENCE_SENTENCES_MAX 1

/* Words an action may start with. A fix that starts with another word is a command to run. */
static const char *const action_verbs[] = { "Run", "Check", "Fix", "Try", "See" };

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

/* Cuts TEXT after its MAX-th sentence. */
static void
limit_sentences(char *text, int max)
{
	int sentences = 0;

	for (char *p = text; *p != '\0'; p++) {
		if ((*p == '.' || *p == '!' || *p == '?') && p[1] == ' ') {
			if (++sentences == max) {
				p[1] = '\0';
				return;
			}
		}
	}
}

static void
strip_trailing_periods(char *text)
{
	size_t length = strlen(text);

	while (length > 0 && (text[length - 1] == '.' || text[length - 1] == ' '))
		text[--length] = '\0';
}

/* Cleans a fix or reference, keeps its first max_sentences sentences and removes trailing periods. */
static void
prepare(const char *text, int max_sentences, char *out, size_t size)
{
	clean_text(text, out, size);
	limit_sentences(out, max_sentences);
	strip_trailing_periods(out);
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
	for (size_t i = 0; i < sizeof action_verbs / sizeof action_verbs[0]; i++) {
		if (starts_with_word(text, action_verbs[i]))
			return true;
	}
	return false;
}

/* Returns the period that closes SENTENCE, or "" when it already ends in "?" or "!". */
static const char *
closing(const char *sentence)
{
	size_t length = strlen(sentence);

	if (length > 0 && (sentence[length - 1] == '?' || sentence[length - 1] == '!'))
		return "";
	return ".";
}

int
voice_render(const struct msg_detection *detection, char *out, size_t size)
{
	char fix[sizeof detection->fix];
	char reference[sizeof detection->reference];
	char error_type[sizeof detection->error_type];
	char action[sizeof fix + sizeof error_type + 16];
	char see[sizeof reference + 8];
	int length;

	prepare(detection->fix, FIX_SENTENCES_MAX, fix, sizeof fix);
	prepare(detection->reference, REFERENCE_SENTENCES_MAX, reference, sizeof reference);
	clean_text(detection->error_type, error_type, sizeof error_type);

	if (fix[0] == '\0')
		snprintf(action, sizeof action, "Fix the %s", error_type[0] != '\0' ? error_type : "error");
	else if (starts_with_verb(fix))
		snprintf(action, sizeof action, "%s", fix);
	else
		snprintf(action, sizeof action, "Run %s", fix);

	if (reference[0] == '\0')
		snprintf(see, sizeof see, "See the error output above");
	else if (starts_with_word(reference, "See"))
		snprintf(see, sizeof see, "%s", reference);
	else
		snprintf(see, sizeof see, "See %s", reference);

	length = snprintf(out, size, "%s %s%s %s%s", VOICE_PREFIX,
	    action, closing(action), see, closing(see));
	if (length < 0 || (size_t)length >= size)
		return -1;
	return length;
}
