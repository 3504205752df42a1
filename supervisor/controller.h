/*
 * The controller: CAKE's decision state, held by the supervisor so that no
 * worker crash loses it.
 *
 * It runs the state machine MONITORING -> DETECTING -> INTERVENING ->
 * RECOVERING (-> ESCALATING), logging every transition, and decides for each
 * detection whether to intervene, from the severity, the confidence, how
 * often recall has seen the signature, the strictness, the strikes already
 * spent on the signature and its cooldown.
 */
#ifndef CAKE_CONTROLLER_H
#define CAKE_CONTROLLER_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "proto.h"

enum controller_state {
	CONTROLLER_MONITORING = 0,
	CONTROLLER_DETECTING,
	CONTROLLER_INTERVENING,
	CONTROLLER_RECOVERING,
	CONTROLLER_ESCALATING,
};

enum controller_decision {
	DECISION_INTERVENE = 0,
	DECISION_LOG_ONLY,	/* below the thresholds of the strictness */
	DECISION_COOLDOWN,	/* intervened on this signature within the cooldown */
	DECISION_ESCALATED,	/* strikes exhausted for this signature */
};

struct controller;

struct controller_stats {
	unsigned long detections;
	unsigned long interventions;	/* delivered */
	unsigned long suppressed;	/* cooldown or escalated */
	unsigned long escalations;
};

struct controller *controller_create(const struct cake_config *config);
void controller_free(struct controller *controller);

/* Moves to STATE and logs "State transition: A -> B" when it changes. */
void controller_transition(struct controller *controller, enum controller_state state);
enum controller_state controller_state(const struct controller *controller);
const char *controller_state_name(enum controller_state state);

/*
 * Decides what to do with DETECTION, which recall has now seen OCCURRENCES
 * times, at NOW (seconds; tests pass a fake clock). In order:
 *  - classification below the strictness thresholds: DECISION_LOG_ONLY;
 *  - the signature is escalated: DECISION_ESCALATED;
 *  - an intervention on the signature less than cooldown_minutes ago:
 *    DECISION_COOLDOWN;
 *  - max_strikes interventions already spent: the signature escalates,
 *    DECISION_ESCALATED;
 *  - otherwise DECISION_INTERVENE, which counts a strike and starts the
 *    cooldown at NOW.
 */
enum controller_decision controller_decide(struct controller *controller,
    const struct msg_detection *detection, int occurrences, time_t now);

/* The details of one decision, from controller_decide_outcome. */
struct controller_outcome {
	enum controller_decision decision;
	int strikes;		/* interventions spent on the signature, this one included */
	int newly_escalated;	/* 1 only on the decision that escalated the signature */
};

/*
 * Decides like controller_decide and fills OUT. When newly_escalated is set
 * the caller records the escalation once: controller_violation() fills the
 * MSG_RECALL_VIOLATION payload for it. Later detections of an escalated
 * signature return DECISION_ESCALATED with newly_escalated 0.
 */
void controller_decide_outcome(struct controller *controller,
    const struct msg_detection *detection, int occurrences, time_t now,
    struct controller_outcome *out);

/*
 * Fills OUT with the pattern_violations row for DETECTION's signature, whose
 * STRIKES interventions did not stop it: pattern type "escalation",
 * prevented 1 because CAKE stops intervening on it.
 */
void controller_violation(const struct msg_detection *detection, int strikes,
    struct msg_violation *out);

const char *controller_decision_name(enum controller_decision decision);

/* Counts a delivered intervention. */
void controller_delivered(struct controller *controller);
void controller_count_detection(struct controller *controller);

void controller_stats(const struct controller *controller, struct controller_stats *out);

/*
 * Returns 1 when classification alone (severity, confidence, occurrences and
 * strictness) calls for an intervention, 0 otherwise. Pure; used by the
 * controller and by `cake test-intervention`.
 */
int controller_classify(enum strictness strictness, const struct msg_detection *detection, int occurrences);

#endif
