/*
 * The operator's one-line correction.
 */
#include <string.h>

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
	    "Perhaps you forgot a comma? See the traceback.");
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
