/*
 * In-process classification; see classify-local.h.
 */
#include <string.h>

#include "classify-local.h"
#include "watchdog/linebuf.h"
#include "watchdog/rules.h"

struct classify_state {
	const struct rules *rules;
	struct rules_context context;
	struct msg_detection *detection;
	int found;
};

static void
classify_line(const char *line, size_t length, void *arg)
{
	struct classify_state *state = arg;
	struct msg_detection detection;

	if (state->found)
		return;
	if (rules_match(state->rules, &state->context, line, length, &detection)) {
		*state->detection = detection;
		state->found = 1;
	}
}

int
classify_text(const struct rules *rules, const char *text, size_t length,
    struct msg_detection *detection)
{
	struct classify_state state;
	struct msg_detection held;
	struct linebuf lines;

	memset(&state, 0, sizeof state);
	state.rules = rules;
	state.detection = detection;
	rules_context_init(&state.context);

	linebuf_init(&lines);
	linebuf_feed(&lines, text, length, classify_line, &state);
	linebuf_flush(&lines, classify_line, &state);
	if (!state.found && rules_flush(rules, &state.context, &held)) {
		*detection = held;
		state.found = 1;
	}
	return state.found;
}
