/*
 * The built-in detection rules on real tool output (tests/data/outputs) and
 * on single lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "linebuf.h"
#include "rules.h"
#include "signature.h"

#define DETECTIONS_MAX 8
#define CHUNK_SIZE 7

static struct rules *rules;

struct scan {
	struct rules_context context;
	struct msg_detection detections[DETECTIONS_MAX];
	size_t count;
};

static void
setup(void)
{
	char error[256] = "";

	rules = rules_create(error, sizeof error);
	cr_assert_not_null(rules, "rules_create failed: %s", error);
}

static void
teardown(void)
{
	rules_free(rules);
}

TestSuite(rules, .init = setup, .fini = teardown);

static void
scan_line(const char *line, size_t length, void *arg)
{
	struct scan *scan = arg;
	struct msg_detection detection;

	if (!rules_match(rules, &scan->context, line, length, &detection))
		return;
	cr_assert_lt(scan->count, DETECTIONS_MAX, "too many detections");
	scan->detections[scan->count++] = detection;
}

/* Feeds a file from tests/data/outputs through a line buffer in small chunks, as a pipe would. */
static void
scan_file(const char *name, struct scan *scan)
{
	char path[1024];
	char chunk[CHUNK_SIZE];
	struct linebuf buffer;
	size_t length;
	FILE *file;

	memset(scan, 0, sizeof *scan);
	rules_context_init(&scan->context);
	linebuf_init(&buffer);

	snprintf(path, sizeof path, "%s/outputs/%s", CAKE_TEST_DATA_DIR, name);
	file = fopen(path, "rb");
	cr_assert_not_null(file, "cannot open %s", path);
	while ((length = fread(chunk, 1, sizeof chunk, file)) > 0)
		linebuf_feed(&buffer, chunk, length, scan_line, scan);
	linebuf_flush(&buffer, scan_line, scan);
	fclose(file);
}

static int
match_line(struct rules_context *context, const char *line, struct msg_detection *detection)
{
	return rules_match(rules, context, line, strlen(line), detection);
}

Test(rules, builtin_rules_compile)
{
	cr_assert_geq(rules_count(rules), 8);
}

Test(rules, module_not_found_traceback)
{
	const char *line = "ModuleNotFoundError: No module named 'requests'";
	struct msg_detection *detection;
	char signature[65];
	struct scan scan;

	scan_file("python_module_not_found.txt", &scan);

	cr_assert_eq(scan.count, 1);
	detection = &scan.detections[0];
	cr_assert_str_eq(detection->rule_id, "python.module_not_found");
	cr_assert_str_eq(detection->error_type, "ImportError");
	cr_assert_eq(detection->severity, SEVERITY_HIGH);
	cr_assert_float_eq(detection->confidence, 0.95, 1e-9);
	cr_assert_str_eq(detection->fix, "pip install requests");
	cr_assert_str_eq(detection->reference, "requirements.txt");
	cr_assert_str_eq(detection->file_path, "/home/agent/shop/service/client.py");
	cr_assert_eq(detection->line_number, 4);
	cr_assert_str_eq(detection->excerpt, line);
	cr_assert_eq(detection->signature_version, SIGNATURE_VERSION);
	signature_compute("ImportError", line, strlen(line), signature);
	cr_assert_str_eq(detection->signature, signature);
	cr_assert_eq(detection->stream, 0);
	cr_assert_eq(detection->arrived_ns, 0);
}

Test(rules, module_not_found_bare)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "No module named 'requests'", &detection), 1);
	cr_assert_str_eq(detection.rule_id, "python.module_not_found");
	cr_assert_str_eq(detection.fix, "pip install requests");
	cr_assert_str_eq(detection.file_path, "");
	cr_assert_eq(detection.line_number, 0);
}

Test(rules, module_not_found_python_m)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "/usr/bin/python3: No module named pytest", &detection), 1);
	cr_assert_str_eq(detection.rule_id, "python.module_not_found");
	cr_assert_str_eq(detection.fix, "pip install pytest");
}

Test(rules, module_not_found_import_error)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "ImportError: No module named 'yaml'", &detection), 1);
	cr_assert_str_eq(detection.fix, "pip install yaml");
}

Test(rules, submodule_not_found)
{
	struct msg_detection *detection;
	struct scan scan;

	scan_file("python_submodule_not_found.txt", &scan);

	cr_assert_eq(scan.count, 1);
	detection = &scan.detections[0];
	cr_assert_str_eq(detection->rule_id, "python.submodule_not_found");
	cr_assert_str_eq(detection->error_type, "ImportError");
	cr_assert_str_eq(detection->fix, "Check the package path for plugins.banner");
	cr_assert_str_eq(detection->reference, "the package's __init__.py");
	cr_assert_str_eq(detection->file_path, "/home/agent/shop/main.py");
	cr_assert_eq(detection->line_number, 1);
}

Test(rules, syntax_error_with_frame)
{
	struct msg_detection *detection;
	struct scan scan;

	scan_file("python_syntax_error.txt", &scan);

	cr_assert_eq(scan.count, 1);
	detection = &scan.detections[0];
	cr_assert_str_eq(detection->rule_id, "python.syntax_error");
	cr_assert_str_eq(detection->error_type, "SyntaxError");
	cr_assert_eq(detection->severity, SEVERITY_HIGH);
	cr_assert_float_eq(detection->confidence, 0.9, 1e-9);
	cr_assert_str_eq(detection->file_path, "/home/agent/shop/util.py");
	cr_assert_eq(detection->line_number, 7);
	cr_assert_str_eq(detection->fix, "Fix the syntax error at /home/agent/shop/util.py:7");
	cr_assert_str_eq(detection->reference, "the Python traceback");
	cr_assert_str_eq(detection->excerpt, "SyntaxError: invalid syntax");
}

Test(rules, syntax_error_without_frame)
{
	struct rules_context context;
	struct msg_detection detection;

	rules_context_init(&context);
	cr_assert_eq(match_line(&context, "SyntaxError: invalid syntax", &detection), 1);
	cr_assert_str_eq(detection.fix, "Fix the syntax error: invalid syntax");
	cr_assert_str_eq(detection.file_path, "");
	cr_assert_eq(detection.line_number, 0);
}

Test(rules, indentation_error)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "IndentationError: unexpected indent", &detection), 1);
	cr_assert_str_eq(detection.rule_id, "python.syntax_error");
	cr_assert_str_eq(detection.fix, "Fix the syntax error: unexpected indent");
}

Test(rules, frame_updates_context)
{
	struct rules_context context;
	struct msg_detection detection;

	rules_context_init(&context);
	cr_assert_eq(match_line(&context, "  File \"app.py\", line 2, in <module>", &detection), 0);
	cr_assert_str_eq(context.file_path, "app.py");
	cr_assert_eq(context.line_number, 2);

	cr_assert_eq(match_line(&context, "  File \"lib/db.py\", line 31, in connect", &detection), 0);
	cr_assert_str_eq(context.file_path, "lib/db.py");
	cr_assert_eq(context.line_number, 31);
}

Test(rules, context_cleared_after_match)
{
	struct rules_context context;
	struct msg_detection detection;

	rules_context_init(&context);
	match_line(&context, "  File \"app.py\", line 2, in <module>", &detection);
	cr_assert_eq(match_line(&context, "SyntaxError: invalid syntax", &detection), 1);
	cr_assert_str_eq(context.file_path, "");
	cr_assert_eq(context.line_number, 0);

	cr_assert_eq(match_line(&context, "SyntaxError: invalid syntax", &detection), 1);
	cr_assert_str_eq(detection.file_path, "");
}

Test(rules, frame_without_context)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "  File \"app.py\", line 2, in <module>", &detection), 0);
}

Test(rules, attribute_error)
{
	struct msg_detection *detection;
	struct scan scan;

	scan_file("python_attribute_error.txt", &scan);

	cr_assert_eq(scan.count, 1);
	detection = &scan.detections[0];
	cr_assert_str_eq(detection->rule_id, "python.attribute_error");
	cr_assert_str_eq(detection->error_type, "AttributeError");
	cr_assert_eq(detection->severity, SEVERITY_HIGH);
	cr_assert_float_eq(detection->confidence, 0.85, 1e-9);
	cr_assert_str_eq(detection->fix, "Check that 'Settings' object defines verbose");
	cr_assert_str_eq(detection->reference, "the traceback");
	cr_assert_str_eq(detection->file_path, "/home/agent/shop/settings.py");
	cr_assert_eq(detection->line_number, 5);
}

Test(rules, pytest_failed)
{
	struct msg_detection *detection;
	struct scan scan;

	scan_file("pytest_failed.txt", &scan);

	cr_assert_eq(scan.count, 1);
	detection = &scan.detections[0];
	cr_assert_str_eq(detection->rule_id, "pytest.failed");
	cr_assert_str_eq(detection->error_type, "TestFailure");
	cr_assert_eq(detection->severity, SEVERITY_HIGH);
	cr_assert_float_eq(detection->confidence, 0.9, 1e-9);
	cr_assert_str_eq(detection->file_path, "tests/test_cart.py");
	cr_assert_eq(detection->line_number, 0);
	cr_assert_str_eq(detection->fix, "Run pytest tests/test_cart.py::test_cart_total -x");
	cr_assert_str_eq(detection->reference, "the test output");
	cr_assert_str_eq(detection->excerpt, "FAILED tests/test_cart.py::test_cart_total - assert 2 == 3");
}

Test(rules, pytest_failed_class_and_parameters)
{
	struct msg_detection detection;
	const char *line = "FAILED tests/test_api.py::TestLogin::test_rejects[empty-password] - "
	    "AssertionError: 200 != 401";

	cr_assert_eq(match_line(NULL, line, &detection), 1);
	cr_assert_str_eq(detection.fix,
	    "Run pytest tests/test_api.py::TestLogin::test_rejects[empty-password] -x");
}

Test(rules, coverage_below_threshold)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "Coverage: 85.5%", &detection), 1);
	cr_assert_str_eq(detection.rule_id, "coverage.below_threshold");
	cr_assert_str_eq(detection.error_type, "CoverageDrop");
	cr_assert_eq(detection.severity, SEVERITY_MEDIUM);
	cr_assert_float_eq(detection.confidence, 0.9, 1e-9);
	cr_assert_str_eq(detection.reference, "the coverage report");
	cr_assert_eq(strncmp(detection.fix, "Run ", 4), 0);
}

Test(rules, coverage_at_or_above_threshold)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "Coverage: 90%", &detection), 0);
	cr_assert_eq(match_line(NULL, "Coverage: 97.2%", &detection), 0);
}

Test(rules, coverage_required_not_reached)
{
	struct msg_detection *detection;
	struct scan scan;

	scan_file("coverage_fail_under.txt", &scan);

	cr_assert_eq(scan.count, 1);
	detection = &scan.detections[0];
	cr_assert_str_eq(detection->rule_id, "coverage.required_not_reached");
	cr_assert_str_eq(detection->error_type, "CoverageDrop");
	cr_assert_eq(detection->severity, SEVERITY_MEDIUM);
	cr_assert_str_eq(detection->fix,
	    "Run pytest --cov --cov-report=term-missing to raise coverage from 75.00% to 90%");
	cr_assert_str_eq(detection->reference, "the coverage report");
}

Test(rules, clean_pytest_run)
{
	struct scan scan;

	scan_file("pytest_clean.txt", &scan);
	cr_assert_eq(scan.count, 0, "unexpected detection %s on \"%s\"",
	    scan.detections[0].rule_id, scan.detections[0].excerpt);
}

Test(rules, pip_install_success)
{
	struct scan scan;

	scan_file("pip_install_success.txt", &scan);
	cr_assert_eq(scan.count, 0, "unexpected detection %s on \"%s\"",
	    scan.detections[0].rule_id, scan.detections[0].excerpt);
}

Test(rules, harmless_mentions)
{
	struct scan scan;

	scan_file("harmless_mentions.txt", &scan);
	cr_assert_eq(scan.count, 0, "unexpected detection %s on \"%s\"",
	    scan.detections[0].rule_id, scan.detections[0].excerpt);
}

Test(rules, invalid_utf8)
{
	struct msg_detection detection;
	const char *line = "\xff\xfe\xc3 ModuleNotFoundError: No module named 'requests' \xe2\x82";

	cr_assert_eq(match_line(NULL, line, &detection), 1);
	cr_assert_str_eq(detection.fix, "pip install requests");
	cr_assert_eq(match_line(NULL, "\xff\xff\xc0\x80 FAILED", &detection), 0);
}

Test(rules, excerpt_truncated)
{
	char line[LINEBUF_MAX + 1];
	struct msg_detection detection;
	const char *error = "SyntaxError: ";

	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	memcpy(line, error, strlen(error));

	cr_assert_eq(rules_match(rules, NULL, line, strlen(line), &detection), 1);
	cr_assert_eq(strlen(detection.excerpt), sizeof detection.excerpt - 1);
	cr_assert_eq(strlen(detection.fix), sizeof detection.fix - 1);
}

Test(rules, same_line_same_detection)
{
	struct msg_detection first;
	struct msg_detection second;
	const char *line = "ModuleNotFoundError: No module named 'requests'";

	cr_assert_eq(match_line(NULL, line, &first), 1);
	cr_assert_eq(match_line(NULL, line, &second), 1);
	cr_assert_eq(memcmp(&first, &second, sizeof first), 0);
}
