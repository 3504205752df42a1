/*
 * Line splitting of chunked output: partial lines, line ends, ANSI escapes
 * and long lines.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "linebuf.h"

#define LINES_MAX 16

struct collected {
	char *lines[LINES_MAX];
	size_t lengths[LINES_MAX];
	size_t count;
};

static struct collected collected;
static struct linebuf buffer;

static void
collect(const char *line, size_t length, void *arg)
{
	struct collected *into = arg;

	cr_assert_lt(into->count, LINES_MAX, "more lines than the test expects");
	cr_assert_eq(line[length], '\0', "line %zu is not NUL-terminated", into->count);
	into->lines[into->count] = strndup(line, length);
	into->lengths[into->count] = length;
	into->count++;
}

static void
setup(void)
{
	memset(&collected, 0, sizeof collected);
	linebuf_init(&buffer);
}

static void
teardown(void)
{
	for (size_t i = 0; i < collected.count; i++)
		free(collected.lines[i]);
}

static void
feed(const char *data)
{
	linebuf_feed(&buffer, data, strlen(data), collect, &collected);
}

static void
flush(void)
{
	linebuf_flush(&buffer, collect, &collected);
}

TestSuite(linebuf, .init = setup, .fini = teardown);

Test(linebuf, whole_lines)
{
	feed("first\nsecond\n");

	cr_assert_eq(collected.count, 2);
	cr_assert_str_eq(collected.lines[0], "first");
	cr_assert_str_eq(collected.lines[1], "second");
}

Test(linebuf, chunk_split_mid_line)
{
	feed("ModuleNotFo");
	cr_assert_eq(collected.count, 0);
	feed("undError: No module named 're");
	cr_assert_eq(collected.count, 0);
	feed("quests'\nnext");

	cr_assert_eq(collected.count, 1);
	cr_assert_str_eq(collected.lines[0], "ModuleNotFoundError: No module named 'requests'");
}

Test(linebuf, flush_delivers_partial_line)
{
	feed("no newline at end");
	flush();

	cr_assert_eq(collected.count, 1);
	cr_assert_str_eq(collected.lines[0], "no newline at end");
}

Test(linebuf, flush_without_pending_line)
{
	feed("done\n");
	flush();

	cr_assert_eq(collected.count, 1);
}

Test(linebuf, empty_lines_kept)
{
	feed("a\n\nb\n");

	cr_assert_eq(collected.count, 3);
	cr_assert_str_eq(collected.lines[1], "");
}

Test(linebuf, crlf)
{
	feed("one\r\ntwo\r\n");

	cr_assert_eq(collected.count, 2);
	cr_assert_str_eq(collected.lines[0], "one");
	cr_assert_str_eq(collected.lines[1], "two");
}

Test(linebuf, crlf_split_across_chunks)
{
	feed("one\r");
	feed("\ntwo\n");

	cr_assert_eq(collected.count, 2);
	cr_assert_str_eq(collected.lines[0], "one");
	cr_assert_str_eq(collected.lines[1], "two");
}

Test(linebuf, bare_cr_ends_line)
{
	feed("Downloading  10%\rDownloading  55%\rDownloading 100%\n");

	cr_assert_eq(collected.count, 3);
	cr_assert_str_eq(collected.lines[0], "Downloading  10%");
	cr_assert_str_eq(collected.lines[1], "Downloading  55%");
	cr_assert_str_eq(collected.lines[2], "Downloading 100%");
}

Test(linebuf, ansi_colours_removed)
{
	feed("\x1b[31mFAILED\x1b[0m tests/test_app.py::test_add\n");

	cr_assert_eq(collected.count, 1);
	cr_assert_str_eq(collected.lines[0], "FAILED tests/test_app.py::test_add");
}

Test(linebuf, ansi_split_across_chunks)
{
	feed("\x1b");
	feed("[1;");
	feed("31mError\x1b[");
	feed("0m: boom\n");

	cr_assert_eq(collected.count, 1);
	cr_assert_str_eq(collected.lines[0], "Error: boom");
}

Test(linebuf, osc_and_charset_removed)
{
	feed("\x1b]0;window title\x07" "a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b(Bb\n");

	cr_assert_eq(collected.count, 1);
	cr_assert_str_eq(collected.lines[0], "alink b");
}

Test(linebuf, broken_escape_ends_at_newline)
{
	feed("\x1b[31\nnext line\n");

	cr_assert_eq(collected.count, 2);
	cr_assert_str_eq(collected.lines[0], "");
	cr_assert_str_eq(collected.lines[1], "next line");
}

Test(linebuf, long_line_in_pieces)
{
	size_t total = 10000;
	char *data = malloc(total + 1);

	cr_assert_not_null(data);
	for (size_t i = 0; i < total; i++)
		data[i] = (char)('a' + i % 26);
	data[total] = '\n';
	linebuf_feed(&buffer, data, total + 1, collect, &collected);

	cr_assert_eq(collected.count, 3);
	cr_assert_eq(collected.lengths[0], LINEBUF_MAX);
	cr_assert_eq(collected.lengths[1], LINEBUF_MAX);
	cr_assert_eq(collected.lengths[2], total - 2 * LINEBUF_MAX);
	cr_assert_eq(memcmp(collected.lines[0], data, LINEBUF_MAX), 0);
	cr_assert_eq(memcmp(collected.lines[1], data + LINEBUF_MAX, LINEBUF_MAX), 0);
	cr_assert_eq(memcmp(collected.lines[2], data + 2 * LINEBUF_MAX, total - 2 * LINEBUF_MAX), 0);
	free(data);
}

Test(linebuf, line_of_exactly_max)
{
	char data[LINEBUF_MAX + 1];

	memset(data, 'x', LINEBUF_MAX);
	data[LINEBUF_MAX] = '\n';
	linebuf_feed(&buffer, data, sizeof data, collect, &collected);

	cr_assert_eq(collected.count, 1);
	cr_assert_eq(collected.lengths[0], LINEBUF_MAX);
}

Test(linebuf, byte_by_byte)
{
	const char *data = "\x1b[32mok\x1b[0m\r\nsecond\n";

	for (const char *p = data; *p != '\0'; p++)
		linebuf_feed(&buffer, p, 1, collect, &collected);

	cr_assert_eq(collected.count, 2);
	cr_assert_str_eq(collected.lines[0], "ok");
	cr_assert_str_eq(collected.lines[1], "second");
}
