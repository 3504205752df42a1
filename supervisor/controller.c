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
 * Thresholds per strictness: a HIGH error intervenes when its confidence is
 * above min_confidence, a MEDIUM error once recall has seen it min_repeats
 * times. CRITICAL always intervenes and LOW only logs. docs/operator.md
 * shows the same table.
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
	if (controller->strictness < STRICTNESS_MINIMAL || controller->strictness > STRICTNESS_PARANOID)
		controller->strictness = STRICTNESS_BALANCED;
	controller->max_strikes = config->max_strikes > 0 ? config->max_strikes : 1;
	controller->cooldown_seconds = config->cooldown_minutes > 0 ? config->cooldown_minutes * 60 : 0;
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
	const struct classify_threshold *threshold;

	if (strictness < STRICTNESS_MINIMAL || strictness > STRICTNESS_PARANOID)
		strictness = STRICTNESS_BALANCED;
	threshold = &thresholds[strictness];

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

void
controller_decide_outcome(struct controller *controller, const struct msg_detection *detection,
    int occurrences, time_t now, struct controller_outcome *out)
{
	struct strike_record *record;

	memset(out, 0, sizeof *out);
	out->decision = DECISION_LOG_ONLY;
	if (!controller_classify(controller->strictness, detection, occurrences))
		return;

	record = strike_record_get(controller, detection->signature);
	if (record == NULL) {
		log_at(LOG_LEVEL_ERROR, "controller", "out of memory; logging %.12s only",
		    detection->signature);
		return;
	}
	out->strikes = record->strikes;

	if (record->escalated) {
		controller->stats.suppressed++;
		out->decision = DECISION_ESCALATED;
		return;
	}
	if (record->strikes > 0 && now - record->last_intervention < controller->cooldown_seconds) {
		controller->stats.suppressed++;
		out->decision = DECISION_COOLDOWN;
		return;
	}
	if (record->strikes >= controller->max_strikes) {
		record->escalated = 1;
		controller->stats.escalations++;
		controller->stats.suppressed++;
		out->decision = DECISION_ESCALATED;
		out->newly_escalated = 1;
		log_at(LOG_LEVEL_WARN, "controller",
		    "Escalating %s %.12s: %d interventions did not stop it; no more interventions on it",
		    detection->error_type, detection->signature, record->strikes);
		return;
	}

	record->strikes++;
	record->last_intervention = now;
	out->strikes = record->strikes;
	out->decision = DECISION_INTERVENE;
}

enum controller_decision
controller_decide(struct controller *controller, const struct msg_detection *detection,
    int occurrences, time_t now)
{
	struct controller_outcome outcome;

	controller_decide_outcome(controller, detection, occurrences, now, &outcome);
	return outcome.decision;
}

void
controller_violation(const struct msg_detection *detection, int strikes, struct msg_violation *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->pattern_type, sizeof out->pattern_type, "escalation");
	snprintf(out->details, sizeof out->details,
	    "%.*s %.64s (%.*s) not stopped after %d interventions", DETECTION_TYPE_MAX,
	    detection->error_type, detection->signature, DETECTION_RULE_MAX, detection->rule_id,
	    strikes);
	out->prevented = 1;
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
