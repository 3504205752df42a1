/*
 * Normalization and signatures of error text.
 */
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
