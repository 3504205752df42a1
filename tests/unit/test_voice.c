/*
 * The operator's one-line correction: templates, the voice gate and the
 * reference corpus shipped in share/voice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <criterion/criterion.h>

#include "voice.h"

static struct msg_detection
detection_with(const char *error_type, const char *fix, const char *reference)
{
	struct msg_detection detection;

	memset(&detection, 0, sizeof detection);
	strncpy(detection.error_type, error_type, sizeof detection.error_type - 1);
	strncpy(detection.fix, fix, sizeof detection.fix - 1);
	strncpy(detection.reference, reference, sizeof detection.reference - 1);
	return detection;
}

static const char *
render(const char *fix, const char *reference)
{
	static char out[MSG_TEXT_MAX];
	struct msg_detection detection = detection_with("ImportError", fix, reference);

	cr_assert_geq(voice_render(&detection, out, sizeof out), 0);
	return out;
}

Test(voice, command_gets_run)
{
	cr_assert_str_eq(render("pip install requests", "requirements.txt"),
	    "Operator (CAKE): Stop. Run pip install requests. See requirements.txt.");
}

Test(voice, returns_length)
{
	struct msg_detection detection = detection_with("ImportError", "pip install requests",
	    "requirements.txt");
	char out[256];
	int length;

	length = voice_render(&detection, out, sizeof out);
	cr_assert_eq(length, (int)strlen(out));
}

Test(voice, action_verbs_kept)
{
	cr_assert_str_eq(render("Check the package path for plugins.banner", "the package's __init__.py"),
	    "Operator (CAKE): Stop. Check the package path for plugins.banner. "
	    "See the package's __init__.py.");
	cr_assert_str_eq(render("Run pytest tests/test_cart.py::test_total -x", "the test output"),
	    "Operator (CAKE): Stop. Run pytest tests/test_cart.py::test_total -x. "
	    "See the test output.");
	cr_assert_str_eq(render("Fix the syntax error at app.py:7", "the Python traceback"),
	    "Operator (CAKE): Stop. Fix the syntax error at app.py:7. See the Python traceback.");
	cr_assert_str_eq(render("Try a smaller batch", "docs/batching.md"),
	    "Operator (CAKE): Stop. Try a smaller batch. See docs/batching.md.");
}

Test(voice, verb_must_be_whole_word)
{
	cr_assert_str_eq(render("Checkout main", "git status"),
	    "Operator (CAKE): Stop. Run Checkout main. See git status.");
	cr_assert_str_eq(render("run make", "Makefile"),
	    "Operator (CAKE): Stop. Run run make. See Makefile.");
}

Test(voice, trailing_periods_stripped)
{
	cr_assert_str_eq(render("pip install requests.", "requirements.txt."),
	    "Operator (CAKE): Stop. Run pip install requests. See requirements.txt.");
	cr_assert_null(strstr(render("Fix it...", "the log.."), ".."));
}

Test(voice, empty_reference)
{
	cr_assert_str_eq(render("pip install requests", ""),
	    "Operator (CAKE): Stop. Run pip install requests. See the error output above.");
}

Test(voice, empty_fix)
{
	cr_assert_str_eq(render("", "requirements.txt"),
	    "Operator (CAKE): Stop. Fix the ImportError. See requirements.txt.");
}

Test(voice, reference_starting_with_see)
{
	cr_assert_str_eq(render("pip install requests", "See requirements.txt"),
	    "Operator (CAKE): Stop. Run pip install requests. See requirements.txt.");
}

Test(voice, line_ends_become_spaces)
{
	const char *out = render("pip install\r\nrequests", "requirements\n.txt");

	cr_assert_null(strchr(out, '\n'));
	cr_assert_null(strchr(out, '\r'));
	cr_assert_str_eq(out, "Operator (CAKE): Stop. Run pip install requests. See requirements .txt.");
}

Test(voice, at_most_three_sentences)
{
	const char *out = render("Fix the syntax error: invalid syntax. Perhaps you forgot a comma? "
	    "Then rerun. And again.", "the traceback. Also the log.");

	cr_assert_str_eq(out, "Operator (CAKE): Stop. Fix the syntax error: invalid syntax. "
	    "See the traceback.");
}

Test(voice, second_verb_sentence_kept)
{
	cr_assert_str_eq(render("pip install requests. Run python3 main.py. Run it twice.",
	    "requirements.txt"),
	    "Operator (CAKE): Stop. Run pip install requests. Run python3 main.py. "
	    "See requirements.txt.");
}

Test(voice, question_mark_closed)
{
	cr_assert_str_eq(render("Check the port?", "the server log!"),
	    "Operator (CAKE): Stop. Check the port. See the server log.");
}

Test(voice, deterministic)
{
	struct msg_detection detection = detection_with("ImportError", "pip install requests",
	    "requirements.txt");
	char first[512];
	char second[512];

	cr_assert_geq(voice_render(&detection, first, sizeof first), 0);
	cr_assert_geq(voice_render(&detection, second, sizeof second), 0);
	cr_assert_str_eq(first, second);
}

Test(voice, buffer_too_small)
{
	struct msg_detection detection = detection_with("ImportError", "pip install requests",
	    "requirements.txt");
	char out[16];

	cr_assert_eq(voice_render(&detection, out, sizeof out), -1);
}

Test(voice, full_length_fields)
{
	struct msg_detection detection;
	char out[MSG_TEXT_MAX];
	int length;

	memset(&detection, 'a', sizeof detection);
	detection.error_type[sizeof detection.error_type - 1] = '\0';
	detection.fix[sizeof detection.fix - 1] = '\0';
	detection.reference[sizeof detection.reference - 1] = '\0';

	length = voice_render(&detection, out, sizeof out);
	cr_assert_gt(length, 0);
	cr_assert_eq(strncmp(out, VOICE_PREFIX " Run aaa", strlen(VOICE_PREFIX) + 8), 0);
	cr_assert_null(strchr(out, '\n'));
}

#define CORPUS_PATH CAKE_TEST_DATA_DIR "/../../share/voice/reference.txt"

static struct voice_corpus *
load_corpus(void)
{
	char error[512] = "";
	struct voice_corpus *corpus = voice_corpus_load(CORPUS_PATH, error, sizeof error);

	cr_assert_not_null(corpus, "%s", error);
	return corpus;
}

static const char *
compose(const struct voice_corpus *corpus, const struct msg_detection *detection,
    struct voice_result *result)
{
	static char out[MSG_TEXT_MAX];

	cr_assert_geq(voice_compose(corpus, detection, out, sizeof out, result), 0);
	return out;
}

/* A detection of each message type, with a fix and reference as rules give them. */
struct type_case {
	enum voice_type type;
	const char *rule_id;
	const char *error_type;
	const char *fix;
	const char *reference;
	int occurrences;
};

static const struct type_case type_cases[] = {
	{ VOICE_ERROR_CORRECTION, "python.module_not_found", "ImportError", "pip install requests",
	    "requirements.txt", 1 },
	{ VOICE_REPEAT_ERROR, "python.module_not_found", "ImportError", "pip install requests",
	    "requirements.txt", 2 },
	{ VOICE_CI_FAILURE, "ci.job_failed", "CIFailure", "Check the build job log", "", 1 },
	{ VOICE_LINTER_VIOLATION, "lint.ruff", "LinterViolation", "ruff check --fix app.py",
	    "the ruff output", 1 },
	{ VOICE_FEATURE_CREEP, "scope.unrequested_file", "FeatureCreep", "", "", 1 },
	{ VOICE_TEST_SKIP, "test.skip_added", "TestSkip", "", "tests/test_cart.py", 1 },
	{ VOICE_COVERAGE_DROP, "coverage.fail_under", "CoverageDrop",
	    "pytest --cov --cov-report=term-missing to raise coverage from 80% to 90%",
	    "the coverage report", 1 },
	{ VOICE_FORCE_PUSH, "git.force_push", "ForcePush", "", "", 1 },
	{ VOICE_UNSAFE_OPERATION, "safety.blocked_command", "UnsafeOperation", "", "", 1 },
	{ VOICE_PATTERN_VIOLATION, "pattern.raw_sql", "PatternViolation",
	    "Fix the query to use the repository layer", "docs/architecture.md", 1 },
	{ VOICE_FOCUS_DRIFT, "focus.unrelated_files", "FocusDrift", "", "", 1 },
};

static struct msg_detection
detection_of(const struct type_case *c)
{
	struct msg_detection detection = detection_with(c->error_type, c->fix, c->reference);

	snprintf(detection.rule_id, sizeof detection.rule_id, "%s", c->rule_id);
	detection.occurrence_count = c->occurrences;
	return detection;
}

Test(voice, classify_types)
{
	for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
		struct msg_detection detection = detection_of(&type_cases[i]);

		cr_assert_eq(voice_classify(&detection), type_cases[i].type, "%s",
		    type_cases[i].rule_id);
	}
}

Test(voice, classify_by_rule_prefix)
{
	struct msg_detection detection = detection_with("Anything", "", "");

	snprintf(detection.rule_id, sizeof detection.rule_id, "lint.eslint");
	cr_assert_eq(voice_classify(&detection), VOICE_LINTER_VIOLATION);
	snprintf(detection.rule_id, sizeof detection.rule_id, "python.syntax_error");
	cr_assert_eq(voice_classify(&detection), VOICE_ERROR_CORRECTION);
	detection.occurrence_count = 3;
	cr_assert_eq(voice_classify(&detection), VOICE_REPEAT_ERROR);
}

Test(voice, type_names)
{
	cr_assert_str_eq(voice_type_name(VOICE_ERROR_CORRECTION), "ERROR_CORRECTION");
	cr_assert_str_eq(voice_type_name(VOICE_FOCUS_DRIFT), "FOCUS_DRIFT");
	cr_assert_str_eq(voice_type_name(VOICE_TYPE_COUNT), "UNKNOWN");
}

Test(voice, every_template_passes_gate)
{
	struct voice_corpus *corpus = load_corpus();
	char reason[160];

	for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
		struct msg_detection detection = detection_of(&type_cases[i]);
		struct voice_result result;
		const char *out = compose(corpus, &detection, &result);

		cr_assert_eq(result.type, type_cases[i].type);
		cr_assert_eq(result.form, VOICE_FORM_FULL, "%s: %s (%s)",
		    voice_type_name(result.type), out, result.rejected);
		cr_assert_geq(result.score, VOICE_MIN_SCORE, "%s: %s", voice_type_name(result.type), out);
		cr_assert(voice_check(out, reason, sizeof reason), "%s: %s", out, reason);
	}
	voice_corpus_free(corpus);
}

Test(voice, every_simplified_form_passes)
{
	struct voice_corpus *corpus = load_corpus();
	struct voice_corpus *builtin = voice_corpus_builtin();
	char out[MSG_TEXT_MAX];
	char reason[160];

	cr_assert_not_null(builtin);
	for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
		struct msg_detection detection = detection_of(&type_cases[i]);

		cr_assert_gt(voice_render_form(type_cases[i].type, &detection, VOICE_FORM_SIMPLIFIED,
		    out, sizeof out), 0);
		cr_assert(voice_check(out, reason, sizeof reason), "%s: %s", out, reason);
		cr_assert_geq(voice_similarity(corpus, out), VOICE_MIN_SCORE, "%s", out);
		cr_assert_geq(voice_similarity(builtin, out), VOICE_MIN_SCORE, "%s", out);
	}
	voice_corpus_free(builtin);
	voice_corpus_free(corpus);
}

Test(voice, missing_module_exact)
{
	struct voice_corpus *corpus = load_corpus();
	struct msg_detection detection = detection_of(&type_cases[0]);
	struct voice_result result;

	cr_assert_str_eq(compose(corpus, &detection, &result),
	    "Operator (CAKE): Stop. Run pip install requests. See requirements.txt.");
	cr_assert_eq(result.form, VOICE_FORM_FULL);
	cr_assert_str_eq(result.rejected, "");
	voice_corpus_free(corpus);
}

Test(voice, repeat_error_text)
{
	struct voice_corpus *corpus = load_corpus();
	struct msg_detection detection = detection_of(&type_cases[1]);
	struct voice_result result;

	cr_assert_str_eq(compose(corpus, &detection, &result),
	    "Operator (CAKE): Stop. Run pip install requests. Check why the last fix did not hold. "
	    "See requirements.txt.");
	voice_corpus_free(corpus);
}

Test(voice, banned_words_rejected)
{
	static const char *const messages[] = {
		"Operator (CAKE): Stop. Run make. See sorry.txt.",
		"Operator (CAKE): Stop. Run make, I think. See the log.",
		"Operator (CAKE): Stop. Run make. See maybe the log.",
		"Operator (CAKE): Stop. Try make, it might work. See the log.",
		"Operator (CAKE): Stop. Check perhaps the log. See the log.",
		"Operator (CAKE): Stop. Run make please. See the log.",
		"Operator (CAKE): Stop. Run make. See the log, SORRY.",
	};
	char reason[160];

	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
		cr_assert_eq(voice_check(messages[i], reason, sizeof reason), 0, "%s", messages[i]);
		cr_assert_not_null(strstr(reason, "contains"), "%s: %s", messages[i], reason);
	}
}

Test(voice, banned_word_inside_word_allowed)
{
	char reason[160];

	cr_assert(voice_check("Operator (CAKE): Stop. Run make mighty. See pleased.txt.", reason,
	    sizeof reason), "%s", reason);
}

Test(voice, structure_rules)
{
	char reason[160];

	cr_assert_eq(voice_check("Stop. Run make. See the log.", reason, sizeof reason), 0);
	cr_assert_not_null(strstr(reason, "does not start with"));
	cr_assert_eq(voice_check("Operator (CAKE): Stop. Run make. See the log", reason,
	    sizeof reason), 0);
	cr_assert_not_null(strstr(reason, "period"));
	cr_assert_eq(voice_check("Operator (CAKE): Stop. Run a. Run b. Run c. See d.", reason,
	    sizeof reason), 0);
	cr_assert_not_null(strstr(reason, "more than 3 sentences"));
	cr_assert_eq(voice_check("Operator (CAKE): Stop. Install it. See the log.", reason,
	    sizeof reason), 0);
	cr_assert_not_null(strstr(reason, "sentence 1 starts with \"Install"));
	cr_assert_eq(voice_check("Operator (CAKE): Stop. Run make? See the log.", reason,
	    sizeof reason), 0);
	cr_assert_not_null(strstr(reason, "'?'"));
	cr_assert_eq(voice_check("Operator (CAKE): Stop. Run make\t. See the log.", reason,
	    sizeof reason), 0);
	cr_assert_not_null(strstr(reason, "control character"));
	cr_assert(voice_check(VOICE_SAFE_DEFAULT, reason, sizeof reason), "%s", reason);
}

Test(voice, hedged_fix_gets_simplified)
{
	struct voice_corpus *corpus = load_corpus();
	struct msg_detection detection = detection_with("ImportError",
	    "maybe pip install requests", "requirements.txt");
	struct voice_result result;

	cr_assert_str_eq(compose(corpus, &detection, &result),
	    "Operator (CAKE): Stop. Fix the ImportError. See the error output above.");
	cr_assert_eq(result.form, VOICE_FORM_SIMPLIFIED);
	cr_assert_not_null(strstr(result.rejected, "maybe"), "%s", result.rejected);
	cr_assert_geq(result.score, VOICE_MIN_SCORE);
	voice_corpus_free(corpus);
}

Test(voice, other_voice_scores_low)
{
	struct voice_corpus *corpus = load_corpus();

	cr_assert_lt(voice_similarity(corpus,
	    "Operator (CAKE): Stop. Run make. You should check the log if you can."), VOICE_MIN_SCORE);
	cr_assert_lt(voice_similarity(corpus,
	    "Operator (CAKE): Stop. We could run make. I guess see the log."), VOICE_MIN_SCORE);
	cr_assert_geq(voice_similarity(corpus,
	    "Operator (CAKE): Stop. Run cmake --build build -j2. See CMakeLists.txt."), 0.99);
	voice_corpus_free(corpus);
}

Test(voice, safe_default_last)
{
	struct voice_corpus *corpus = load_corpus();
	struct msg_detection detection = detection_with("Perhaps", "perhaps pip install x",
	    "requirements.txt");
	struct voice_result result;

	cr_assert_str_eq(compose(corpus, &detection, &result), VOICE_SAFE_DEFAULT);
	cr_assert_eq(result.form, VOICE_FORM_DEFAULT);
	cr_assert_neq(result.rejected[0], '\0');
	cr_assert_geq(result.score, VOICE_MIN_SCORE);
	voice_corpus_free(corpus);
}

Test(voice, compose_deterministic)
{
	struct voice_corpus *corpus = load_corpus();
	struct voice_corpus *again = load_corpus();
	char first[MSG_TEXT_MAX];
	char second[MSG_TEXT_MAX];

	for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
		struct msg_detection detection = detection_of(&type_cases[i]);
		struct voice_result a, b;

		cr_assert_geq(voice_compose(corpus, &detection, first, sizeof first, &a), 0);
		cr_assert_geq(voice_compose(again, &detection, second, sizeof second, &b), 0);
		cr_assert_str_eq(first, second);
		cr_assert_eq(a.score, b.score);
		cr_assert_eq(a.form, b.form);
	}
	voice_corpus_free(again);
	voice_corpus_free(corpus);
}

Test(voice, corpus_lines_follow_rules)
{
	FILE *file = fopen(CORPUS_PATH, "r");
	char line[MSG_TEXT_MAX];
	char reason[160];
	int messages = 0;

	cr_assert_not_null(file);
	while (fgets(line, sizeof line, file) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		messages++;
		cr_assert(voice_check(line, reason, sizeof reason), "%s: %s", line, reason);
	}
	fclose(file);
	cr_assert_gt(messages, 0);
}

Test(voice, corpus_load_errors)
{
	char path[] = "/tmp/cake-test-voice-XXXXXX";
	char error[512] = "";
	int fd;

	cr_assert_null(voice_corpus_load("/nonexistent/reference.txt", error, sizeof error));
	cr_assert_not_null(strstr(error, "/nonexistent/reference.txt"));

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "# only a comment\n\n", 18), 18);
	close(fd);
	cr_assert_null(voice_corpus_load(path, error, sizeof error));
	cr_assert_not_null(strstr(error, "holds no message"));
	unlink(path);
}

Test(voice, empty_corpus_scores_zero)
{
	cr_assert_eq(voice_similarity(NULL, VOICE_SAFE_DEFAULT), 0.0);
}
