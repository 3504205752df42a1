/*
 * The controller: classification per strictness, strikes, cooldown and
 * escalation with a fake clock, and the state transitions.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "controller.h"

#define COOLDOWN_SECONDS (5 * 60)

static struct msg_detection
detection_of(enum severity severity, double confidence, char digit)
{
	struct msg_detection detection;

	memset(&detection, 0, sizeof detection);
	snprintf(detection.rule_id, sizeof detection.rule_id, "python.module_not_found");
	snprintf(detection.error_type, sizeof detection.error_type, "ImportError");
	memset(detection.signature, digit, SIGNATURE_HEX_LEN);
	detection.severity = severity;
	detection.confidence = confidence;
	return detection;
}

static struct controller *
controller_with(enum strictness strictness, int max_strikes, int cooldown_minutes)
{
	struct cake_config config;
	struct controller *controller;

	config_defaults(&config);
	config.strictness = strictness;
	config.max_strikes = max_strikes;
	config.cooldown_minutes = cooldown_minutes;
	controller = controller_create(&config);
	config_free(&config);
	cr_assert_not_null(controller);
	return controller;
}

/* One row of the strictness table: does this detection intervene? */
struct classify_case {
	enum strictness strictness;
	enum severity severity;
	double confidence;
	int occurrences;
	int expected;
};

static const struct classify_case classify_cases[] = {
	{ STRICTNESS_MINIMAL, SEVERITY_CRITICAL, 0.10, 1, 1 },
	{ STRICTNESS_BALANCED, SEVERITY_CRITICAL, 0.10, 1, 1 },
	{ STRICTNESS_PARANOID, SEVERITY_CRITICAL, 0.10, 1, 1 },

	{ STRICTNESS_MINIMAL, SEVERITY_HIGH, 0.90, 1, 0 },
	{ STRICTNESS_MINIMAL, SEVERITY_HIGH, 0.95, 1, 1 },
	{ STRICTNESS_BALANCED, SEVERITY_HIGH, 0.80, 1, 0 },
	{ STRICTNESS_BALANCED, SEVERITY_HIGH, 0.85, 1, 1 },
	{ STRICTNESS_PARANOID, SEVERITY_HIGH, 0.60, 1, 0 },
	{ STRICTNESS_PARANOID, SEVERITY_HIGH, 0.65, 1, 1 },

	{ STRICTNESS_MINIMAL, SEVERITY_MEDIUM, 0.99, 4, 0 },
	{ STRICTNESS_MINIMAL, SEVERITY_MEDIUM, 0.99, 5, 1 },
	{ STRICTNESS_BALANCED, SEVERITY_MEDIUM, 0.99, 2, 0 },
	{ STRICTNESS_BALANCED, SEVERITY_MEDIUM, 0.99, 3, 1 },
	{ STRICTNESS_PARANOID, SEVERITY_MEDIUM, 0.99, 1, 1 },

	{ STRICTNESS_MINIMAL, SEVERITY_LOW, 1.00, 100, 0 },
	{ STRICTNESS_BALANCED, SEVERITY_LOW, 1.00, 100, 0 },
	{ STRICTNESS_PARANOID, SEVERITY_LOW, 1.00, 100, 0 },
};

Test(controller, strictness_table)
{
	for (size_t i = 0; i < sizeof classify_cases / sizeof classify_cases[0]; i++) {
		const struct classify_case *c = &classify_cases[i];
		struct msg_detection detection = detection_of(c->severity, c->confidence, 'a');

		cr_assert_eq(controller_classify(c->strictness, &detection, c->occurrences), c->expected,
		    "case %zu: %s %s confidence %.2f seen %d times", i, strictness_name(c->strictness),
		    severity_name(c->severity), c->confidence, c->occurrences);
	}
}

Test(controller, low_only_logs)
{
	struct controller *controller = controller_with(STRICTNESS_PARANOID, 3, 5);
	struct msg_detection detection = detection_of(SEVERITY_LOW, 1.0, 'b');

	cr_assert_eq(controller_decide(controller, &detection, 10, 1000), DECISION_LOG_ONLY);
	controller_free(controller);
}

Test(controller, cooldown_blocks_second)
{
	struct controller *controller = controller_with(STRICTNESS_BALANCED, 3, 5);
	struct msg_detection detection = detection_of(SEVERITY_CRITICAL, 1.0, 'c');
	struct msg_detection other = detection_of(SEVERITY_CRITICAL, 1.0, 'd');

	cr_assert_eq(controller_decide(controller, &detection, 1, 1000), DECISION_INTERVENE);
	cr_assert_eq(controller_decide(controller, &detection, 2, 1000 + COOLDOWN_SECONDS - 1),
	    DECISION_COOLDOWN);
	cr_assert_eq(controller_decide(controller, &other, 1, 1001), DECISION_INTERVENE,
	    "the cooldown is per signature");
	cr_assert_eq(controller_decide(controller, &detection, 3, 1000 + COOLDOWN_SECONDS),
	    DECISION_INTERVENE);
	controller_free(controller);
}

Test(controller, strikes_then_escalation)
{
	struct controller *controller = controller_with(STRICTNESS_BALANCED, 3, 1);
	struct msg_detection detection = detection_of(SEVERITY_CRITICAL, 1.0, 'e');
	struct controller_outcome outcome;
	struct controller_stats stats;
	time_t now = 1000;

	for (int strike = 1; strike <= 3; strike++, now += 60) {
		controller_decide_outcome(controller, &detection, strike, now, &outcome);
		cr_assert_eq(outcome.decision, DECISION_INTERVENE, "strike %d", strike);
		cr_assert_eq(outcome.strikes, strike);
		cr_assert_eq(outcome.newly_escalated, 0);
	}

	controller_decide_outcome(controller, &detection, 4, now, &outcome);
	cr_assert_eq(outcome.decision, DECISION_ESCALATED);
	cr_assert_eq(outcome.newly_escalated, 1);
	cr_assert_eq(outcome.strikes, 3);

	controller_decide_outcome(controller, &detection, 5, now + 3600, &outcome);
	cr_assert_eq(outcome.decision, DECISION_ESCALATED);
	cr_assert_eq(outcome.newly_escalated, 0, "an escalation is reported once");

	controller_stats(controller, &stats);
	cr_assert_eq(stats.escalations, 1);
	cr_assert_eq(stats.suppressed, 2);
	controller_free(controller);
}

Test(controller, cooldown_before_escalation)
{
	struct controller *controller = controller_with(STRICTNESS_BALANCED, 1, 5);
	struct msg_detection detection = detection_of(SEVERITY_CRITICAL, 1.0, 'f');

	cr_assert_eq(controller_decide(controller, &detection, 1, 1000), DECISION_INTERVENE);
	cr_assert_eq(controller_decide(controller, &detection, 2, 1010), DECISION_COOLDOWN);
	cr_assert_eq(controller_decide(controller, &detection, 3, 1000 + COOLDOWN_SECONDS),
	    DECISION_ESCALATED);
	controller_free(controller);
}

Test(controller, medium_needs_repeats)
{
	struct controller *controller = controller_with(STRICTNESS_BALANCED, 3, 5);
	struct msg_detection detection = detection_of(SEVERITY_MEDIUM, 0.9, '1');

	cr_assert_eq(controller_decide(controller, &detection, 1, 1000), DECISION_LOG_ONLY);
	cr_assert_eq(controller_decide(controller, &detection, 2, 1001), DECISION_LOG_ONLY);
	cr_assert_eq(controller_decide(controller, &detection, 3, 1002), DECISION_INTERVENE);
	controller_free(controller);
}

Test(controller, log_only_spends_no_strike)
{
	struct controller *controller = controller_with(STRICTNESS_BALANCED, 1, 5);
	struct msg_detection weak = detection_of(SEVERITY_HIGH, 0.5, '2');
	struct msg_detection strong = detection_of(SEVERITY_HIGH, 0.95, '2');

	cr_assert_eq(controller_decide(controller, &weak, 1, 1000), DECISION_LOG_ONLY);
	cr_assert_eq(controller_decide(controller, &weak, 2, 1001), DECISION_LOG_ONLY);
	cr_assert_eq(controller_decide(controller, &strong, 3, 1002), DECISION_INTERVENE);
	controller_free(controller);
}

Test(controller, violation_payload)
{
	struct msg_detection detection = detection_of(SEVERITY_HIGH, 0.95, '3');
	struct msg_violation violation;

	controller_violation(&detection, 3, &violation);
	cr_assert_str_eq(violation.pattern_type, "escalation");
	cr_assert_eq(violation.prevented, 1);
	cr_assert_not_null(strstr(violation.details, detection.signature));
	cr_assert_not_null(strstr(violation.details, "ImportError"));
	cr_assert_not_null(strstr(violation.details, "after 3 interventions"));
}

Test(controller, transitions)
{
	struct controller *controller = controller_with(STRICTNESS_BALANCED, 3, 5);
	static const enum controller_state path[] = {
		CONTROLLER_DETECTING, CONTROLLER_INTERVENING, CONTROLLER_RECOVERING,
		CONTROLLER_ESCALATING, CONTROLLER_MONITORING,
	};

	cr_assert_eq(controller_state(controller), CONTROLLER_MONITORING);
	for (size_t i = 0; i < sizeof path / sizeof path[0]; i++) {
		controller_transition(controller, path[i]);
		cr_assert_eq(controller_state(controller), path[i]);
	}
	cr_assert_str_eq(controller_state_name(CONTROLLER_ESCALATING), "ESCALATING");
	cr_assert_str_eq(controller_state_name((enum controller_state)99), "UNKNOWN");
	controller_free(controller);
}

Test(controller, decision_names)
{
	cr_assert_str_eq(controller_decision_name(DECISION_INTERVENE), "intervene");
	cr_assert_str_eq(controller_decision_name(DECISION_COOLDOWN), "cooldown");
	cr_assert_str_eq(controller_decision_name(DECISION_ESCALATED), "escalated");
	cr_assert_str_eq(controller_decision_name(DECISION_LOG_ONLY), "log only");
}
