/*
 * The controller's state machine and intervention decisions; see controller.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "log.h"

/*
 * Per-signature escalation record. The list is bounded by the distinct
 * errors of one session, which stays small.
 */
struct strike_record {
	char signature[SIGNATURE_HEX_LEN + 1];
	int strikes;
	time_t last_intervention;
	int escalated;
	struct strike_record *next;
};

struct controller {
	enum controller_state state;
	enum strictness strictness;
	int max_strikes;
	int cooldown_seconds;
	struct strike_record *records;
	struct controller_stats stats;
};

/*
 * Thresholds per strictness: a HIGH error intervenes above min_confidence,
 * a MEDIUM error once seen min_repeats times. CRITICAL always intervenes and
 * LOW only logs.
 */
struct classify_threshold {
	double min_confidence;
	int min_repeats;
};

static const struct classify_threshold thresholds[] = {
	[STRICTNESS_MINIMAL] = { 0.90, 5 },
	[STRICTNESS_BALANCED] = { 0.80, 3 },
	[STRICTNESS_PARANOID] = { 0.60, 1 },
};

static const char *const state_names[] = {
	[CONTROLLER_MONITORING] = "MONITORING",
	[CONTROLLER_DETECTING] = "DETECTING",
	[CONTROLLER_INTERVENING] = "INTERVENING",
	[CONTROLLER_RECOVERING] = "RECOVERING",
	[CONTROLLER_ESCALATING] = "ESCALATING",
};

struct controller *
controller_create(const struct cake_config *config)
{
	struct controller *controller = calloc(1, sizeof *controller);

	if (controller == NULL)
		return NULL;
	controller->state = CONTROLLER_MONITORING;
	controller->strictness = config->strictness;
	controller->max_strikes = config->max_strikes;
	controller->cooldown_seconds = config->cooldown_minutes * 60;
	return controller;
}

void
controller_free(struct controller *controller)
{
	struct strike_record *record, *next;

	if (controller == NULL)
		return;
	for (record = controller->records; record != NULL; record = next) {
		next = record->next;
		free(record);
	}
	free(controller);
}

const char *
controller_state_name(enum controller_state state)
{
	if (state < CONTROLLER_MONITORING || state > CONTROLLER_ESCALATING)
		return "UNKNOWN";
	return state_names[state];
}

void
controller_transition(struct controller *controller, enum controller_state state)
{
	if (controller->state == state)
		return;
	log_at(LOG_LEVEL_INFO, "controller", "State transition: %s -> %s",
	    state_names[controller->state], state_names[state]);
	controller->state = state;
}

enum controller_state
controller_state(const struct controller *controller)
{
	return controller->state;
}

int
controller_classify(enum strictness strictness, const struct msg_detection *detection, int occurrences)
{
	const struct classify_threshold *threshold = &thresholds[strictness];

	switch (detection->severity) {
	case SEVERITY_CRITICAL:
		return 1;
	case SEVERITY_HIGH:
		return detection->confidence > threshold->min_confidence;
	case SEVERITY_MEDIUM:
		return occurrences >= threshold->min_repeats;
	default:
		return 0;
	}
}

static struct strike_record *
strike_record_get(struct controller *controller, const char *signature)
{
	struct strike_record *record;

	for (record = controller->records; record != NULL; record = record->next) {
		if (strcmp(record->signature, signature) == 0)
			return record;
	}

	record = calloc(1, sizeof *record);
	if (record == NULL)
		return NULL;
	snprintf(record->signature, sizeof record->signature, "%s", signature);
	record->next = controller->records;
	controller->records = record;
	return record;
}

enum controller_decision
controller_decide(struct controller *controller, const struct msg_detection *detection,
    int occurrences, time_t now)
{
	struct strike_record *record;

	if (!controller_classify(controller->strictness, detection, occurrences))
		return DECISION_LOG_ONLY;

	record = strike_record_get(controller, detection->signature);
	if (record == NULL)
		return DECISION_LOG_ONLY;

	if (record->escalated) {
		controller->stats.suppressed++;
		return DECISION_ESCALATED;
	}
	if (record->strikes > 0 && now - record->last_intervention < controller->cooldown_seconds) {
		controller->stats.suppressed++;
		return DECISION_COOLDOWN;
	}
	if (record->strikes >= controller->max_strikes) {
		record->escalated = 1;
		controller->stats.escalations++;
		controller->stats.suppressed++;
		return DECISION_ESCALATED;
	}

	record->strikes++;
	record->last_intervention = now;
	return DECISION_INTERVENE;
}

const char *
controller_decision_name(enum controller_decision decision)
{
	switch (decision) {
	case DECISION_INTERVENE:
		return "intervene";
	case DECISION_LOG_ONLY:
		return "log only";
	case DECISION_COOLDOWN:
		return "cooldown";
	case DECISION_ESCALATED:
		return "escalated";
	}
	return "unknown";
}

void
controller_delivered(struct controller *controller)
{
	controller->stats.interventions++;
}

void
controller_count_detection(struct controller *controller)
{
	controller->stats.detections++;
}

void
controller_stats(const struct controller *controller, struct controller_stats *out)
{
	*out = controller->stats;
}
