/*
 * The rule file share/rules/default.yaml on real tool output
 * (tests/data/outputs and the labelled corpus in tests/data/corpus), on
 * single lines, and the loader's handling of invalid rule files and of
 * user rules in cake_config.yaml.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "linebuf.h"
#include "rules.h"
#include "signature.h"

#define DETECTIONS_MAX 8
#define CHUNK_SIZE 7
#define RULES_SOURCE_FILE CAKE_TEST_DATA_DIR "/../../share/rules/default.yaml"

static struct rules *rules;

struct scan {
	struct rules_context context;
	struct msg_detection detections[DETECTIONS_MAX];
	size_t count;
};

static struct rules *
load_source_rules(const char *config_path)
{
	struct rules_options options = { RULES_SOURCE_FILE, config_path };
	char error[512] = "";
	struct rules *loaded;

	loaded = rules_load(&options, error, sizeof error);
	cr_assert_not_null(loaded, "rules_load failed: %s", error);
	return loaded;
}

static void
setup(void)
{
	rules = load_source_rules(NULL);
}

static void
teardown(void)
{
	rules_free(rules);
}

TestSuite(rules, .init = setup, .fini = teardown);

static void
scan_add(struct scan *scan, const struct msg_detection *detection)
{
	if (scan->count < DETECTIONS_MAX)
		scan->detections[scan->count] = *detection;
	scan->count++;
}

static void
scan_line(const char *line, size_t length, void *arg)
{
	struct scan *scan = arg;
	struct msg_detection detection;

	if (rules_match(rules, &scan->context, line, length, &detection))
		scan_add(scan, &detection);
}

/* Feeds PATH through a line buffer in chunks of CHUNK bytes, as a pipe would, then flushes. */
static void
scan_path(const char *path, size_t chunk_size, struct scan *scan)
{
	char chunk[64];
	struct msg_detection detection;
	struct linebuf buffer;
	size_t length;
	FILE *file;

	memset(scan, 0, sizeof *scan);
	rules_context_init(&scan->context);
	linebuf_init(&buffer);

	file = fopen(path, "rb");
	cr_assert_not_null(file, "cannot open %s", path);
	while ((length = fread(chunk, 1, chunk_size, file)) > 0)
		linebuf_feed(&buffer, chunk, length, scan_line, scan);
	linebuf_flush(&buffer, scan_line, scan);
	fclose(file);
	while (rules_flush(rules, &scan->context, &detection))
		scan_add(scan, &detection);
}

static void
scan_file(const char *name, struct scan *scan)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/outputs/%s", CAKE_TEST_DATA_DIR, name);
	scan_path(path, CHUNK_SIZE, scan);
}

/* Feeds TEXT line by line with one context, flushing at the end. */
static void
scan_text(const char *text, struct scan *scan)
{
	struct msg_detection detection;
	struct linebuf buffer;

	memset(scan, 0, sizeof *scan);
	rules_context_init(&scan->context);
	linebuf_init(&buffer);
	linebuf_feed(&buffer, text, strlen(text), scan_line, scan);
	linebuf_flush(&buffer, scan_line, scan);
	while (rules_flush(rules, &scan->context, &detection))
		scan_add(scan, &detection);
}

static int
match_line(struct rules_context *context, const char *line, struct msg_detection *detection)
{
	return rules_match(rules, context, line, strlen(line), detection);
}

Test(rules, rule_file_compiles)
{
	cr_assert_geq(rules_count(rules), 60);
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

	cr_assert_eq(match_line(NULL, "ImportError: No module named 'toml'", &detection), 1);
	cr_assert_str_eq(detection.fix, "pip install toml");
}

Test(rules, module_installed_under_other_name)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "ModuleNotFoundError: No module named 'yaml'", &detection), 1);
	cr_assert_str_eq(detection.rule_id, "python.module_not_found.yaml");
	cr_assert_str_eq(detection.fix, "pip install PyYAML");
	cr_assert_eq(match_line(NULL, "ModuleNotFoundError: No module named 'cv2'", &detection), 1);
	cr_assert_str_eq(detection.fix, "pip install opencv-python");
	cr_assert_eq(match_line(NULL, "ModuleNotFoundError: No module named 'yamllint'", &detection), 1);
	cr_assert_str_eq(detection.fix, "pip install yamllint");
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
	cr_assert_str_eq(detection.rule_id, "python.indentation_error");
	cr_assert_str_eq(detection.error_type, "IndentationError");
	cr_assert_str_eq(detection.fix, "Fix the indentation: unexpected indent");
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

Test(rules, rust_location_follows)
{
	struct scan scan;

	scan_text("error[E0382]: borrow of moved value: `s1`\n"
	    "   --> main.rs:114:20\n"
	    "    |\n"
	    "114 |     println!(\"{}\", s1);\n"
	    "error: aborting due to 1 previous error\n"
	    "error: could not compile `demo` (bin \"demo\") due to 1 previous error\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].rule_id, "rust.error_code");
	cr_assert_str_eq(scan.detections[0].error_type, "RustCompileError");
	cr_assert_str_eq(scan.detections[0].file_path, "main.rs");
	cr_assert_eq(scan.detections[0].line_number, 114);
	cr_assert_str_eq(scan.detections[0].fix,
	    "Fix E0382 at main.rs:114: borrow of moved value: `s1`");
	cr_assert_str_eq(scan.detections[0].reference, "rustc --explain E0382");
}

Test(rules, rust_error_reported_on_location_line)
{
	struct rules_context context;
	struct msg_detection detection;

	rules_context_init(&context);
	cr_assert_eq(match_line(&context, "error[E0425]: cannot find value `x` in this scope",
	    &detection), 0);
	cr_assert_eq(match_line(&context, " --> src/main.rs:2:20", &detection), 1);
	cr_assert_str_eq(detection.file_path, "src/main.rs");
	cr_assert_eq(detection.line_number, 2);
}

Test(rules, held_error_released_by_flush)
{
	struct rules_context context;
	struct msg_detection detection;

	rules_context_init(&context);
	cr_assert_eq(match_line(&context, "error[E0382]: borrow of moved value: `s1`", &detection), 0);
	cr_assert_eq(rules_flush(rules, &context, &detection), 1);
	cr_assert_str_eq(detection.fix, "rustc --explain E0382");
	cr_assert_str_eq(detection.file_path, "");
	cr_assert_eq(rules_flush(rules, &context, &detection), 0);
}

Test(rules, held_error_without_context)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "error[E0382]: borrow of moved value: `s1`", &detection), 1);
	cr_assert_str_eq(detection.error_type, "RustCompileError");
}

Test(rules, two_errors_in_a_row)
{
	struct scan scan;

	scan_text("error[E0382]: borrow of moved value: `a`\n"
	    "bash: foo: command not found\n", &scan);

	cr_assert_eq(scan.count, 2);
	cr_assert_str_eq(scan.detections[0].error_type, "RustCompileError");
	cr_assert_str_eq(scan.detections[1].error_type, "CommandNotFound");
}

Test(rules, node_stack_skips_library_frames)
{
	struct scan scan;

	scan_text("Error: Cannot find module 'express'\n"
	    "Require stack:\n"
	    "- /workspace/index.js\n"
	    "    at Module._resolveFilename (node:internal/modules/cjs/loader:1144:15)\n"
	    "    at Object.<anonymous> (/workspace/node_modules/app-lib/index.js:3:9)\n"
	    "    at Object.<anonymous> (/workspace/index.js:1:11)\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].error_type, "ModuleNotFound");
	cr_assert_str_eq(scan.detections[0].fix, "npm install express");
	cr_assert_str_eq(scan.detections[0].file_path, "/workspace/index.js");
	cr_assert_eq(scan.detections[0].line_number, 1);
}

Test(rules, traceback_innermost_project_frame)
{
	struct scan scan;

	scan_text("Traceback (most recent call last):\n"
	    "  File \"/workspace/app.py\", line 1, in <module>\n"
	    "    from embedchain import App\n"
	    "  File \"/workspace/.venv/lib/python3.11/site-packages/embedchain/__init__.py\", line 5, in <module>\n"
	    "    from embedchain.app import App\n"
	    "ImportError: cannot import name 'App' from partially initialized module 'embedchain' "
	    "(most likely due to a circular import)\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].rule_id, "python.circular_import");
	cr_assert_str_eq(scan.detections[0].error_type, "ImportError");
	cr_assert_str_eq(scan.detections[0].file_path, "/workspace/app.py");
	cr_assert_eq(scan.detections[0].line_number, 1);
	cr_assert_not_null(strstr(scan.detections[0].fix, "circular import"));
}

Test(rules, new_traceback_forgets_frames)
{
	struct scan scan;

	scan_text("Traceback (most recent call last):\n"
	    "  File \"/workspace/old.py\", line 9, in <module>\n"
	    "Traceback (most recent call last):\n"
	    "  File \"/usr/lib/python3.11/json/decoder.py\", line 3, in decode\n"
	    "KeyError: 'name'\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].error_type, "KeyError");
	cr_assert_str_eq(scan.detections[0].file_path, "");
}

Test(rules, make_error_after_compiler_error)
{
	struct scan scan;

	scan_text("gcc -c src/fb.c -o build/fb_c.o\n"
	    "src/fb.c:1:10: fatal error: io.h: No such file or directory\n"
	    "compilation terminated.\n"
	    "make: *** [Makefile:18: build/fb_c.o] Error 1\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].error_type, "MissingHeader");
	cr_assert_str_eq(scan.detections[0].file_path, "src/fb.c");
	cr_assert_eq(scan.detections[0].line_number, 1);
}

Test(rules, make_error_alone)
{
	struct scan scan;

	scan_text("make: *** [Makefile:18: build/fb_c.o] Error 1\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].error_type, "BuildFailure");
}

Test(rules, collection_error_replaced_by_cause)
{
	struct scan scan;

	scan_text("______ ERROR collecting tests/test_x.py ______\n"
	    "tests/test_x.py:1: in <module>\n"
	    "    import requests\n"
	    "E   ModuleNotFoundError: No module named 'requests'\n"
	    "ERROR tests/test_x.py\n"
	    "!!!!!!! Interrupted: 1 error during collection !!!!!!!\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].error_type, "ImportError");
	cr_assert_str_eq(scan.detections[0].fix, "pip install requests");
	cr_assert_str_eq(scan.detections[0].file_path, "tests/test_x.py");
}

Test(rules, collection_error_without_cause)
{
	struct scan scan;

	scan_text("______ ERROR collecting tests/test_x.py ______\n"
	    "Using pytest.skip outside of a test will skip the entire module.\n"
	    "ERROR tests/test_x.py\n", &scan);

	cr_assert_eq(scan.count, 1);
	cr_assert_str_eq(scan.detections[0].error_type, "TestCollectionError");
	cr_assert_str_eq(scan.detections[0].file_path, "tests/test_x.py");
}

Test(rules, threshold_min)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "Coverage: 89.9%", &detection), 1);
	cr_assert_eq(match_line(NULL, "Coverage: 90.0%", &detection), 0);
}

Test(rules, coverage_fail_under_form)
{
	struct msg_detection detection;

	cr_assert_eq(match_line(NULL, "Coverage failure: total of 69 is less than fail-under=85",
	    &detection), 1);
	cr_assert_str_eq(detection.error_type, "CoverageDrop");
	cr_assert_str_eq(detection.fix, "Run coverage report -m to raise coverage from 69% to 85%");
}

Test(rules, signature_counts_file_for_syntax)
{
	struct scan first, second;

	scan_text("  File \"app.py\", line 3\nSyntaxError: invalid syntax\n", &first);
	scan_text("  File \"util.py\", line 3\nSyntaxError: invalid syntax\n", &second);

	cr_assert_eq(first.count, 1);
	cr_assert_eq(second.count, 1);
	cr_assert_str_neq(first.detections[0].signature, second.detections[0].signature);
}

Test(rules, signature_ignores_file_for_module)
{
	struct scan first, second;

	scan_text("  File \"app.py\", line 3\nModuleNotFoundError: No module named 'x'\n", &first);
	scan_text("  File \"util.py\", line 9\nModuleNotFoundError: No module named 'x'\n", &second);

	cr_assert_eq(first.count, 1);
	cr_assert_eq(second.count, 1);
	cr_assert_str_eq(first.detections[0].signature, second.detections[0].signature);
}

/* Error lines quoted on their own, without the output around them, must each be classified. */
Test(rules, single_line_classification)
{
	static const struct {
		const char *line;
		const char *type;
	} cases[] = {
		{ "src/index.ts:2:15 - error TS2307: Cannot find module './lib/hash' or its "
		    "corresponding type declarations.", "TypeScriptError" },
		{ "src/index.ts(2,15): error TS2307: Cannot find module './lib/hash' or its "
		    "corresponding type declarations.", "TypeScriptError" },
		{ "npm ERR! code ERESOLVE", "DependencyConflict" },
		{ "npm error code ERESOLVE", "DependencyConflict" },
		{ "npm ERR! Missing script: \"x\"", "MissingScript" },
		{ "npm error Missing script: \"x\"", "MissingScript" },
		{ "main.go:14:2: no required module provides package github.com/PuerkitoBio/goquery: "
		    "go.mod file not found in current directory or any parent directory; see 'go help "
		    "modules'", "GoMissingModule" },
		{ "./main.go:4:2: \"fmt\" imported and not used", "GoUnusedImport" },
		{ " ! [rejected]        main -> main (non-fast-forward)", "PushRejected" },
		{ "CONFLICT (content): Merge conflict in x", "MergeConflict" },
		{ "fatal: not a git repository (or any of the parent directories): .git",
		    "NotAGitRepository" },
		{ "bash: foo: command not found", "CommandNotFound" },
		{ "error: externally-managed-environment", "ExternallyManagedEnvironment" },
		{ "ERROR: No matching distribution found for reqeusts", "DependencyNotFound" },
		{ "main.c:(.text+0x13): undefined reference to `foo'", "LinkerError" },
		{ "main.c:4:12: error: 'x' undeclared (first use in this function)",
		    "UndeclaredIdentifier" },
		{ "main.c:4:12: error: use of undeclared identifier 'x'", "UndeclaredIdentifier" },
		{ "Error: listen EADDRINUSE: address already in use :::3000", "PortInUse" },
		{ "PermissionError: [Errno 13] Permission denied: '/etc/shadow'", "PermissionError" },
		{ "AttributeError: 'NoneType' object has no attribute 'get'", "AttributeError" },
		{ "NameError: name 'totl' is not defined", "NameError" },
		{ "TypeError: f() takes 1 positional argument but 2 were given", "TypeError" },
		{ "KeyError: 'name'", "KeyError" },
	};
	struct msg_detection detection;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cr_assert_eq(match_line(NULL, cases[i].line, &detection), 1, "no match: %s",
		    cases[i].line);
		cr_expect_str_eq(detection.error_type, cases[i].type, "%s", cases[i].line);
	}
}

/* Loader errors and user rules, each on a rule file written to a temporary directory. */

static char temp_dir[64];

static void
loader_setup(void)
{
	strcpy(temp_dir, "/tmp/cake-rules-XXXXXX");
	cr_assert_not_null(mkdtemp(temp_dir));
}

static void
loader_teardown(void)
{
	char command[128];

	snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
	cr_assert_eq(system(command), 0);
}

TestSuite(rules_loader, .init = loader_setup, .fini = loader_teardown);

static void
write_temp(const char *name, const char *text, char *path, size_t size)
{
	FILE *file;

	snprintf(path, size, "%s/%s", temp_dir, name);
	file = fopen(path, "w");
	cr_assert_not_null(file);
	fputs(text, file);
	fclose(file);
}

static struct rules *
load_temp(const char *rules_path, const char *config_path, char *error, size_t size)
{
	struct rules_options options = { rules_path, config_path };

	error[0] = '\0';
	return rules_load(&options, error, size);
}

Test(rules_loader, invalid_pattern_position)
{
	char path[256], expected[512], error[512];

	write_temp("rules.yaml",
	    "version: 1\n"
	    "rules:\n"
	    "  - id: broken\n"
	    "    pattern: 'abc(def'\n"
	    "    error_type: X\n"
	    "    fix: Check it\n", path, sizeof path);

	cr_assert_null(load_temp(path, NULL, error, sizeof error));
	snprintf(expected, sizeof expected,
	    "%s:4:14: rules[0].pattern: invalid regular expression at offset 7: ", path);
	cr_assert_eq(strncmp(error, expected, strlen(expected)), 0, "error: %s", error);
}

Test(rules_loader, missing_file_named)
{
	char path[256], error[512];

	snprintf(path, sizeof path, "%s/absent.yaml", temp_dir);
	cr_assert_null(load_temp(path, NULL, error, sizeof error));
	cr_assert_not_null(strstr(error, path), "error: %s", error);
	cr_assert_not_null(strstr(error, "No such file or directory"), "error: %s", error);
}

Test(rules_loader, bad_severity)
{
	char path[256], error[512];

	write_temp("rules.yaml",
	    "version: 1\n"
	    "rules:\n"
	    "  - id: a\n"
	    "    pattern: a\n"
	    "    error_type: X\n"
	    "    fix: Check it\n"
	    "  - id: b\n"
	    "    pattern: b\n"
	    "    error_type: X\n"
	    "    severity: URGENT\n"
	    "    fix: Check it\n", path, sizeof path);

	cr_assert_null(load_temp(path, NULL, error, sizeof error));
	cr_assert_not_null(strstr(error, ":10:15: rules[1].severity: expected LOW, MEDIUM, HIGH or CRITICAL"),
	    "error: %s", error);
}

Test(rules_loader, repeated_id)
{
	char path[256], error[512];

	write_temp("rules.yaml",
	    "version: 1\n"
	    "rules:\n"
	    "  - {id: a, pattern: a, error_type: X, fix: Check it}\n"
	    "  - {id: a, pattern: b, error_type: X, fix: Check it}\n", path, sizeof path);

	cr_assert_null(load_temp(path, NULL, error, sizeof error));
	cr_assert_not_null(strstr(error, "rules[1].id: repeats the id a"), "error: %s", error);
}

Test(rules_loader, invalid_yaml)
{
	char path[256], error[512];

	write_temp("rules.yaml", "version: 1\nrules: [\n", path, sizeof path);

	cr_assert_null(load_temp(path, NULL, error, sizeof error));
	cr_assert_not_null(strstr(error, "invalid YAML"), "error: %s", error);
}

Test(rules_loader, config_overrides_and_adds)
{
	char config[256], error[512];
	struct rules *loaded, *builtin_rules;
	struct msg_detection detection;
	size_t builtin;

	builtin_rules = load_source_rules(NULL);
	builtin = rules_count(builtin_rules);
	rules_free(builtin_rules);
	write_temp("cake_config.yaml",
	    "version: \"1.0\"\n"
	    "watchdog:\n"
	    "  patterns:\n"
	    "    - id: python.module_not_found\n"
	    "      pattern: '\\bNo module named ''?(\\w+)''?(?![\\w.])'\n"
	    "      error_type: ImportError\n"
	    "      severity: CRITICAL\n"
	    "      confidence: 0.99\n"
	    "      fix: uv add $1\n"
	    "      reference: pyproject.toml\n"
	    "    - id: user.deploy_failed\n"
	    "      pattern: '^DEPLOY FAILED: (\\w+)'\n"
	    "      error_type: DeployFailure\n"
	    "      severity: HIGH\n"
	    "      fix: Check the deploy log of $1\n", config, sizeof config);

	loaded = load_temp(RULES_SOURCE_FILE, config, error, sizeof error);
	cr_assert_not_null(loaded, "error: %s", error);
	rules = loaded;
	cr_assert_eq(rules_count(loaded), builtin + 1);

	cr_assert_eq(match_line(NULL, "No module named 'requests'", &detection), 1);
	cr_assert_str_eq(detection.fix, "uv add requests");
	cr_assert_eq(detection.severity, SEVERITY_CRITICAL);
	cr_assert_str_eq(detection.reference, "pyproject.toml");

	cr_assert_eq(match_line(NULL, "DEPLOY FAILED: staging", &detection), 1);
	cr_assert_str_eq(detection.error_type, "DeployFailure");
	cr_assert_str_eq(detection.fix, "Check the deploy log of staging");
	rules_free(loaded);
	rules = NULL;
}

Test(rules_loader, config_file_accepts_patterns)
{
	char path[256], error[512];
	struct cake_config config;

	write_temp("cake_config.yaml",
	    "version: \"1.0\"\n"
	    "strictness: balanced\n"
	    "escalation:\n"
	    "  max_strikes: 3\n"
	    "  cooldown_minutes: 5\n"
	    "watchdog:\n"
	    "  patterns:\n"
	    "    - {id: user.a, pattern: 'a', error_type: X, fix: Check it}\n", path, sizeof path);

	config_defaults(&config);
	cr_assert_eq(config_load(path, &config, error, sizeof error), 0, "error: %s", error);
	config_free(&config);
}

Test(rules_loader, config_file_rejects_pattern_mapping)
{
	char path[256], error[512];
	struct cake_config config;

	write_temp("cake_config.yaml",
	    "version: \"1.0\"\n"
	    "strictness: balanced\n"
	    "escalation:\n"
	    "  max_strikes: 3\n"
	    "  cooldown_minutes: 5\n"
	    "watchdog:\n"
	    "  patterns: {id: a}\n", path, sizeof path);

	config_defaults(&config);
	cr_assert_eq(config_load(path, &config, error, sizeof error), -1);
	cr_assert_not_null(strstr(error, "watchdog.patterns: expected a list of rules"),
	    "error: %s", error);
	config_free(&config);
}

Test(rules_loader, config_invalid_pattern)
{
	char config[256], error[512];

	write_temp("cake_config.yaml",
	    "version: \"1.0\"\n"
	    "watchdog:\n"
	    "  patterns:\n"
	    "    - id: user.bad\n"
	    "      pattern: '(('\n"
	    "      error_type: X\n"
	    "      fix: Check it\n", config, sizeof config);

	cr_assert_null(load_temp(RULES_SOURCE_FILE, config, error, sizeof error));
	cr_assert_not_null(strstr(error, ":5:16: watchdog.patterns[0].pattern: invalid regular expression"),
	    "error: %s", error);
}

/*
 * The labelled corpus: every sample goes through a line buffer in chunks
 * and the rules. A sample's first detection must have the expected type and
 * a fix containing the expected text, and clean samples must give none.
 */

struct corpus_counts {
	int errors, detected, wrong_type, wrong_fix, missed;
	int clean, false_alarms;
	int bad_action;
};

/* A fix must read as an action once rendered: an action verb, or a command to run. */
static bool
fix_is_action(const char *fix)
{
	static const char *const verbs[] = { "Run ", "Check ", "Fix ", "Try ", "See " };

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		if (strncmp(fix, verbs[i], strlen(verbs[i])) == 0)
			return true;
	}
	return fix[0] >= 'a' && fix[0] <= 'z';
}

static void
corpus_check(const char *file, const char *expected, const char *fix, size_t chunk,
    struct corpus_counts *counts)
{
	char path[1024];
	struct scan scan;

	snprintf(path, sizeof path, "%s/corpus/%s", CAKE_TEST_DATA_DIR, file);
	scan_path(path, chunk, &scan);

	if (strcmp(expected, "clean") == 0) {
		counts->clean++;
		if (scan.count > 0) {
			counts->false_alarms++;
			cr_log_warn("false alarm in %s: %s on \"%s\"", file,
			    scan.detections[0].rule_id, scan.detections[0].excerpt);
		}
		return;
	}

	counts->errors++;
	if (scan.count == 0) {
		counts->missed++;
		cr_log_warn("missed %s in %s", expected, file);
		return;
	}
	if (!fix_is_action(scan.detections[0].fix))
		counts->bad_action++;
	if (strcmp(scan.detections[0].error_type, expected) != 0) {
		counts->wrong_type++;
		cr_log_warn("%s: expected %s, got %s (%s)", file, expected,
		    scan.detections[0].error_type, scan.detections[0].rule_id);
		return;
	}
	if (strstr(scan.detections[0].fix, fix) == NULL) {
		counts->wrong_fix++;
		cr_log_warn("%s: fix \"%s\" lacks \"%s\"", file, scan.detections[0].fix, fix);
		return;
	}
	counts->detected++;
}

static void
corpus_run_manifest(const char *name, size_t chunk, struct corpus_counts *counts)
{
	char path[1024], line[2048];
	char *file, *expected, *fix;
	FILE *manifest;

	snprintf(path, sizeof path, "%s/corpus/%s", CAKE_TEST_DATA_DIR, name);
	manifest = fopen(path, "r");
	cr_assert_not_null(manifest, "cannot open %s", path);
	while (fgets(line, sizeof line, manifest) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		file = strtok(line, "\t");
		expected = strtok(NULL, "\t");
		fix = strtok(NULL, "\t");
		cr_assert_not_null(expected, "manifest line without a type: %s", line);
		corpus_check(file, expected, fix != NULL ? fix : "", chunk, counts);
	}
	fclose(manifest);
}

static void
corpus_run(size_t chunk)
{
	struct corpus_counts counts;

	memset(&counts, 0, sizeof counts);
	corpus_run_manifest("manifest.tsv", chunk, &counts);
	corpus_run_manifest("manifest-documented.tsv", chunk, &counts);

	cr_log_info("corpus, %zu-byte chunks: %d errors: %d right, %d wrong type, %d wrong fix, "
	    "%d missed; %d clean: %d false alarms", chunk, counts.errors, counts.detected,
	    counts.wrong_type, counts.wrong_fix, counts.missed, counts.clean, counts.false_alarms);
	cr_assert_geq(counts.errors, 150);
	cr_assert_geq(counts.clean, 150);
	cr_assert_geq(counts.detected * 100, counts.errors * 98, "%d of %d detected right",
	    counts.detected, counts.errors);
	cr_assert_leq(counts.false_alarms * 100, counts.clean, "%d false alarms in %d clean samples",
	    counts.false_alarms, counts.clean);
	cr_assert_eq(counts.bad_action, 0);
}

TestSuite(corpus, .init = setup, .fini = teardown);

Test(corpus, small_chunks)
{
	corpus_run(7);
}

Test(corpus, large_chunks)
{
	corpus_run(64);
}
