/*
 * Normalization and signatures of error text.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sha256.h"
#include "signature.h"

static char normalized[1024];

static const char *
normalize(const char *text)
{
	signature_normalize(text, strlen(text), normalized, sizeof normalized);
	return normalized;
}

static void
compute(const char *error_type, const char *text, char out[65])
{
	signature_compute(error_type, text, strlen(text), out);
}

Test(signature_normalize, strips_ansi)
{
	cr_assert_str_eq(normalize("\x1b[1;31mError\x1b[0m: boom"), "Error: boom");
	cr_assert_str_eq(normalize("\x1b]0;title\x07ok"), "ok");
	cr_assert_str_eq(normalize("\x1b(Bplain"), "plain");
}

Test(signature_normalize, collapses_whitespace)
{
	cr_assert_str_eq(normalize("  a \t\t b\r\n c  "), "a b c");
	cr_assert_str_eq(normalize(" \t "), "");
}

Test(signature_normalize, addresses)
{
	cr_assert_str_eq(normalize("<app.Client object at 0x7f3a2c1d0e50>"),
	    "<app.Client object at 0xADDR>");
	cr_assert_str_eq(normalize("pc=0X1F"), "pc=0xADDR");
}

Test(signature_normalize, hex_ids)
{
	cr_assert_str_eq(normalize("commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f failed"),
	    "commit HEX failed");
	cr_assert_str_eq(normalize("request 123e4567-e89b-12d3-a456-426614174000 done"),
	    "request HEX done");
	cr_assert_str_eq(normalize("sha256:deadbeef01"), "sha256:HEX");
}

Test(signature_normalize, short_hex_kept)
{
	cr_assert_str_eq(normalize("commit abc1234"), "commit abc1234");
}

Test(signature_normalize, timestamps)
{
	cr_assert_str_eq(normalize("2024-05-01T12:30:45.123Z started"), "TIME started");
	cr_assert_str_eq(normalize("2024-05-01 12:30:45,123 ERROR app"), "TIME ERROR app");
	cr_assert_str_eq(normalize("[2024/05/01 08:00:00] boot"), "[TIME] boot");
	cr_assert_str_eq(normalize("at 9:15:02+02:00 failed"), "at TIME failed");
	cr_assert_str_eq(normalize("built 2024-05-01"), "built TIME");
}

Test(signature_normalize, temp_paths)
{
	cr_assert_str_eq(normalize("open '/tmp/pytest-of-me/pytest-7/x.txt' failed"),
	    "open 'TMP' failed");
	cr_assert_str_eq(normalize("/var/tmp/build.1/out: not found"), "TMP: not found");
	cr_assert_str_eq(normalize("in /private/var/folders/xy/abc/T/tmpq1 now"), "in TMP now");
}

Test(signature_normalize, other_paths_kept)
{
	cr_assert_str_eq(normalize("/home/me/tmp/x.log missing"), "/home/me/tmp/x.log missing");
}

Test(signature_normalize, line_numbers)
{
	cr_assert_str_eq(normalize("  File \"app.py\", line 42, in <module>"),
	    "File \"app.py\", line N, in <module>");
	cr_assert_str_eq(normalize("src/main.rs:10:5: error"), "src/main.rs:N:N: error");
	cr_assert_str_eq(normalize("app.py:7: DeprecationWarning"), "app.py:N: DeprecationWarning");
	cr_assert_str_eq(normalize("src/app.ts(12,5): error"), "src/app.ts(N,N): error");
	cr_assert_str_eq(normalize("/tmp/run1/app.py:3: warning"), "TMP:N: warning");
}

Test(signature_normalize, other_numbers_kept)
{
	cr_assert_str_eq(normalize("error TS2307: Cannot find module 'py3x'"),
	    "error TS2307: Cannot find module 'py3x'");
	cr_assert_str_eq(normalize("error[E0382]: borrow of moved value"),
	    "error[E0382]: borrow of moved value");
	cr_assert_str_eq(normalize("Python 3.11: 0 errors"), "Python 3.11: 0 errors");
	cr_assert_str_eq(normalize("pipeline 42 lines 7"), "pipeline 42 lines 7");
}

Test(signature_normalize, truncates)
{
	char out[8];
	size_t length;

	length = signature_normalize("abcdefghijkl", 12, out, sizeof out);
	cr_assert_eq(length, 7);
	cr_assert_str_eq(out, "abcdefg");
}

Test(signature_normalize, uses_length_not_nul)
{
	char out[16];

	signature_normalize("abcdef", 3, out, sizeof out);
	cr_assert_str_eq(out, "abc");
}

Test(signature_compute, hashes_type_and_normalized_text)
{
	char expected[65];
	char actual[65];
	const char *input = "ModuleNotFoundError: No module named 'requests'  ";
	const char *hashed = "ImportError\nModuleNotFoundError: No module named 'requests'";

	sha256_hex(hashed, strlen(hashed), expected);
	compute("ImportError", input, actual);
	cr_assert_str_eq(actual, expected);
}

Test(signature_compute, same_error_different_tmp_paths)
{
	char first[65];
	char second[65];

	compute("SyntaxError", "  File \"/tmp/cake-a1b2/app.py\", line 3", first);
	compute("SyntaxError", "  File \"/tmp/cake-x9y8/app.py\", line 3", second);
	cr_assert_str_eq(first, second);
}

Test(signature_compute, same_error_different_addresses)
{
	char first[65];
	char second[65];

	compute("TypeError", "TypeError: <app.Client object at 0x7f3a2c1d0e50> is not callable", first);
	compute("TypeError", "TypeError: <app.Client object at 0x55d0c0ffee10> is not callable", second);
	cr_assert_str_eq(first, second);
}

Test(signature_compute, same_error_different_line_numbers)
{
	char first[65];
	char second[65];

	compute("TypeError", "src/app.ts:12:5 - error TS2322: Type 'string' is not assignable", first);
	compute("TypeError", "src/app.ts:40:17 - error TS2322: Type 'string' is not assignable", second);
	cr_assert_str_eq(first, second);
}

Test(signature_compute, different_modules_differ)
{
	char first[65];
	char second[65];

	compute("ImportError", "ModuleNotFoundError: No module named 'requests'", first);
	compute("ImportError", "ModuleNotFoundError: No module named 'flask'", second);
	cr_assert_str_neq(first, second);
}

Test(signature_compute, digits_in_module_names_differ)
{
	char first[65];
	char second[65];

	compute("ImportError", "ModuleNotFoundError: No module named 'py3x'", first);
	compute("ImportError", "ModuleNotFoundError: No module named 'py2x'", second);
	cr_assert_str_neq(first, second);
}

Test(signature_compute, error_types_differ)
{
	char first[65];
	char second[65];

	compute("ImportError", "boom", first);
	compute("SyntaxError", "boom", second);
	cr_assert_str_neq(first, second);
}

Test(signature_compute, lowercase_hex_digest)
{
	char out[65];

	compute("ImportError", "x", out);
	cr_assert_eq(strlen(out), 64);
	cr_assert_eq(strspn(out, "0123456789abcdef"), 64);
}

Test(signature_compute, file_name_hashed)
{
	char expected[65];
	char actual[65];
	const char *hashed = "SyntaxError\nfile app.py\nSyntaxError: invalid syntax";

	sha256_hex(hashed, strlen(hashed), expected);
	signature_compute_at("SyntaxError", "/tmp/x/src/app.py", "SyntaxError: invalid syntax", 27,
	    actual);
	cr_assert_str_eq(actual, expected);
}

Test(signature_compute, file_names_differ)
{
	char first[65];
	char second[65];
	const char *text = "SyntaxError: invalid syntax";

	signature_compute_at("SyntaxError", "app.py", text, strlen(text), first);
	signature_compute_at("SyntaxError", "util.py", text, strlen(text), second);
	cr_assert_str_neq(first, second);
}

Test(signature_compute, same_file_name_other_directory)
{
	char first[65];
	char second[65];
	const char *text = "SyntaxError: invalid syntax";

	signature_compute_at("SyntaxError", "/tmp/run1/app.py", text, strlen(text), first);
	signature_compute_at("SyntaxError", "./app.py", text, strlen(text), second);
	cr_assert_str_eq(first, second);
}

Test(signature_compute, no_file_same_as_plain)
{
	char first[65];
	char second[65];
	const char *text = "KeyError: 'name'";

	signature_compute_at("KeyError", NULL, text, strlen(text), first);
	signature_compute("KeyError", text, strlen(text), second);
	cr_assert_str_eq(first, second);
	signature_compute_at("KeyError", "", text, strlen(text), first);
	cr_assert_str_eq(first, second);
}

/*
 * Writes TEMPLATE to OUT with {tmp} replaced by a temporary directory,
 * {line} by a line number, {addr} by an address, {time} by a timestamp and
 * {id} by a commit hash, all different for each VARIANT.
 */
static void
fill_variant(const char *template, int variant, char *out, size_t size)
{
	static const char *const temp_dirs[] = {
		"/tmp/pytest-of-agent/pytest-1", "/tmp/tmpa8f3kq", "/var/tmp/build-77",
		"/tmp/cake-XXab12", "/private/var/folders/xy/T/tmp9", "/tmp/x", "/tmp/run-2024",
		"/var/folders/ab/cd/T", "/tmp/cc", "/tmp/test.QWERTY",
	};
	char value[64];
	size_t used = 0;
	const char *p = template;

	while (*p != '\0' && used < size - 1) {
		value[0] = '\0';
		if (strncmp(p, "{tmp}", 5) == 0) {
			snprintf(value, sizeof value, "%s", temp_dirs[variant]);
			p += 5;
		} else if (strncmp(p, "{line}", 6) == 0) {
			snprintf(value, sizeof value, "%d", 10 + variant * 7);
			p += 6;
		} else if (strncmp(p, "{addr}", 6) == 0) {
			snprintf(value, sizeof value, "0x7f%08x", 0x1000u * (unsigned)variant);
			p += 6;
		} else if (strncmp(p, "{time}", 6) == 0) {
			snprintf(value, sizeof value, "2024-05-%02d 10:%02d:12.%03d", variant + 1,
			    variant, variant * 11);
			p += 6;
		} else if (strncmp(p, "{id}", 4) == 0) {
			snprintf(value, sizeof value, "%08x%08x", 0xdeadbeefu + (unsigned)variant,
			    0x1234u * (unsigned)variant);
			p += 4;
		} else {
			out[used++] = *p++;
			continue;
		}
		for (size_t i = 0; value[i] != '\0' && used < size - 1; i++)
			out[used++] = value[i];
	}
	out[used] = '\0';
}

/*
 * Ten errors as real tools print them, each in ten variants with different
 * temporary paths, addresses, line numbers, timestamps and ids: exactly ten
 * signatures, one per error.
 */
Test(signature_compute, groups_hundred_errors)
{
	static const struct {
		const char *type;
		const char *template;
	} errors[] = {
		{ "ImportError", "[{time}] ModuleNotFoundError: No module named 'requests'" },
		{ "SyntaxError", "  File \"{tmp}/util.py\", line {line} SyntaxError: invalid syntax" },
		{ "AttributeError", "AttributeError: 'NoneType' object has no attribute 'get' <Cart at {addr}>" },
		{ "MissingHeader", "{tmp}/src/fb.c:{line}:10: fatal error: io.h: No such file or directory" },
		{ "LinkerError", "/usr/bin/ld: {tmp}/ccXyZ.o: in function `main': undefined reference to `foo'" },
		{ "RustCompileError", "error[E0382]: borrow of moved value: `s1` --> {tmp}/main.rs:{line}:20" },
		{ "TypeScriptError", "src/index.ts({line},15): error TS2307: Cannot find module './lib/hash'" },
		{ "PushRejected", "{time} ! [rejected] main -> main (non-fast-forward) at {id}" },
		{ "TestFailure", "FAILED tests/test_cart.py::test_total - assert 2 == 3 (object at {addr})" },
		{ "PortInUse", "{time} Error: listen EADDRINUSE: address already in use :::3000 in {tmp}/app.js:{line}" },
	};
	char signatures[100][65];
	char text[512];
	size_t distinct = 0;

	for (size_t e = 0; e < 10; e++) {
		for (int v = 0; v < 10; v++) {
			fill_variant(errors[e].template, v, text, sizeof text);
			compute(errors[e].type, text, signatures[e * 10 + (size_t)v]);
		}
	}

	for (size_t i = 0; i < 100; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(signatures[i], signatures[j]) == 0;
		if (!seen)
			distinct++;
	}
	cr_assert_eq(distinct, 10);
	for (size_t e = 0; e < 10; e++) {
		for (size_t v = 1; v < 10; v++)
			cr_expect_str_eq(signatures[e * 10 + v], signatures[e * 10], "%s variant %zu",
			    errors[e].type, v);
	}
}
