/*
 * Error signatures.
 *
 * Normalization (unchanged since SIGNATURE_VERSION 1) rewrites the text in one pass, left to
 * right, so that parts that change from run to run do not change the
 * signature:
 *
 *   - ANSI escape sequences (CSI, OSC, and ESC with intermediates) are removed.
 *   - Temporary paths starting with /tmp/, /var/tmp/, /var/folders/ or
 *     /private/var/folders/ become "TMP", up to the next whitespace, quote
 *     or colon.
 *   - "0x" and hex digits (an address) becomes "0xADDR".
 *   - A date YYYY-MM-DD or YYYY/MM/DD, optionally followed by "T" or a space
 *     and a clock time, becomes "TIME", and so does a clock time H:MM:SS or
 *     HH:MM:SS alone. Either may carry a fraction (".123" or ",123") and a
 *     zone ("Z", "+02:00", "-0500").
 *   - A UUID, or a run of 8 or more hex digits standing alone (a commit
 *     hash, an id), becomes "HEX".
 *   - Line numbers do not count, because an edit above an error shifts
 *     them: "line 42" becomes "line N", and after a file name (a name with
 *     an extension such as "app.py", or a path already rewritten to "TMP")
 *     ":12:5" becomes ":N:N", ":12" becomes ":N" and "(12,5)" becomes
 *     "(N,N)".
 *   - Runs of whitespace become one space, and leading and trailing
 *     whitespace is removed.
 *
 * Every other digit stays as it is, so module names such as "py3x" and error
 * codes such as TS2307 or E0382 keep errors apart. The rewrites only start
 * at a word boundary: "TS2307" is never read as a number.
 *
 * NOTE: dates written with month names ("Jan 2", "02 Jan 2024") keep their
 * day and month; only their clock time becomes "TIME".
 */
#include <stdbool.h>
#include <string.h>

#include "sha256.h"
#include "signature.h"

#define TAIL_MAX 16

/* State of one normalization, which writes to a bounded buffer or to a hash. */
struct normalizer {
	const char *text;
	size_t length;
	size_t position;

	char *out;
	size_t size;
	size_t used;
	struct sha256 *hash;

	char tail[TAIL_MAX];	/* the last bytes written, for look-behind */
	size_t tail_length;
	bool pending_space;
};

static const char *const temp_prefixes[] = {
	"/tmp/",
	"/var/tmp/",
	"/var/folders/",
	"/private/var/folders/",
	"/private/tmp/",
};

static bool
is_word(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static void
put_byte(struct normalizer *n, char c)
{
	if (n->hash != NULL)
		sha256_update(n->hash, &c, 1);
	else if (n->size > 0 && n->used < n->size - 1)
		n->out[n->used++] = c;

	if (n->tail_length == TAIL_MAX) {
		memmove(n->tail, n->tail + 1, TAIL_MAX - 1);
		n->tail_length--;
	}
	n->tail[n->tail_length++] = c;
}

/* Writes TEXT, preceded by one space if whitespace was skipped before it. */
static void
emit(struct normalizer *n, const char *text, size_t length)
{
	if (length == 0)
		return;

	if (n->pending_space) {
		put_byte(n, ' ');
		n->pending_space = false;
	}
	for (size_t i = 0; i < length; i++)
		put_byte(n, text[i]);
}

static void
emit_string(struct normalizer *n, const char *text)
{
	emit(n, text, strlen(text));
}

/* Returns the byte OFFSET bytes past the current position, or NUL past the end. */
static unsigned char
peek(const struct normalizer *n, size_t offset)
{
	if (n->position + offset >= n->length)
		return '\0';
	return (unsigned char)n->text[n->position + offset];
}

static size_t
count_digits(const struct normalizer *n, size_t offset)
{
	size_t count = 0;

	while (is_digit(peek(n, offset + count)))
		count++;
	return count;
}

static size_t
count_hex(const struct normalizer *n, size_t offset)
{
	size_t count = 0;

	while (is_hex(peek(n, offset + count)))
		count++;
	return count;
}

static bool
starts_with(const struct normalizer *n, const char *prefix)
{
	size_t length = strlen(prefix);

	if (n->length - n->position < length)
		return false;
	return memcmp(n->text + n->position, prefix, length) == 0;
}

static unsigned char
last_written(const struct normalizer *n)
{
	if (n->pending_space)
		return ' ';
	if (n->tail_length == 0)
		return '\0';
	return (unsigned char)n->tail[n->tail_length - 1];
}

static bool
at_word_start(const struct normalizer *n)
{
	return !is_word(last_written(n));
}

/* A path starts here unless the byte before belongs to a longer path ("/home/me/tmp/x"). */
static bool
at_path_start(const struct normalizer *n)
{
	unsigned char c = last_written(n);

	return !is_word(c) && c != '.' && c != '-' && c != '/' && c != '~';
}

/*
 * Returns true when the text written so far ends with a file name, which is
 * a name with an extension that starts with a letter ("app.py" but not
 * "3.11"), or "TMP".
 */
static bool
after_file_name(const struct normalizer *n)
{
	size_t end = n->tail_length;
	size_t i = end;

	if (n->pending_space || end == 0)
		return false;
	if (end >= 3 && memcmp(n->tail + end - 3, "TMP", 3) == 0 &&
	    (end == 3 || !is_word((unsigned char)n->tail[end - 4])))
		return true;

	while (i > 0 && (is_alpha((unsigned char)n->tail[i - 1]) ||
	    is_digit((unsigned char)n->tail[i - 1])))
		i--;
	if (i == end || end - i > 10 || !is_alpha((unsigned char)n->tail[i]))
		return false;
	if (i < 2 || n->tail[i - 1] != '.')
		return false;
	return is_word((unsigned char)n->tail[i - 2]) || n->tail[i - 2] == '-';
}

/* Skips an ANSI escape sequence starting at ESC. */
static void
skip_escape(struct normalizer *n)
{
	unsigned char c;

	n->position++;
	c = peek(n, 0);

	if (c == '[') {
		n->position++;
		while (n->position < n->length) {
			c = peek(n, 0);
			n->position++;
			if (c >= 0x40 && c <= 0x7e)
				break;
		}
		return;
	}

	if (c == ']') {
		n->position++;
		while (n->position < n->length) {
			c = peek(n, 0);
			if (c == '\a') {
				n->position++;
				return;
			}
			if (c == 0x1b && peek(n, 1) == '\\') {
				n->position += 2;
				return;
			}
			n->position++;
		}
		return;
	}

	while (n->position < n->length && peek(n, 0) >= 0x20 && peek(n, 0) <= 0x2f)
		n->position++;
	if (n->position < n->length)
		n->position++;
}

static bool
match_temp_path(struct normalizer *n)
{
	unsigned char c;

	if (!at_path_start(n))
		return false;

	for (size_t i = 0; i < sizeof temp_prefixes / sizeof temp_prefixes[0]; i++) {
		if (!starts_with(n, temp_prefixes[i]))
			continue;

		while (n->position < n->length) {
			c = peek(n, 0);
			if (is_space(c) || c == '"' || c == '\'' || c == '`' || c == ':')
				break;
			n->position++;
		}
		emit_string(n, "TMP");
		return true;
	}
	return false;
}

static bool
match_address(struct normalizer *n)
{
	size_t digits;

	if (peek(n, 0) != '0' || (peek(n, 1) != 'x' && peek(n, 1) != 'X'))
		return false;
	digits = count_hex(n, 2);
	if (digits == 0)
		return false;

	n->position += 2 + digits;
	emit_string(n, "0xADDR");
	return true;
}

/* Returns the length of a clock time (H:MM:SS, fraction, zone) at OFFSET, or 0. */
static size_t
clock_time_length(const struct normalizer *n, size_t offset)
{
	size_t i = offset;
	size_t hours = count_digits(n, i);

	if (hours < 1 || hours > 2)
		return 0;
	i += hours;
	if (peek(n, i) != ':' || count_digits(n, i + 1) != 2)
		return 0;
	i += 3;
	if (peek(n, i) != ':' || count_digits(n, i + 1) != 2)
		return 0;
	i += 3;

	if ((peek(n, i) == '.' || peek(n, i) == ',') && count_digits(n, i + 1) > 0)
		i += 1 + count_digits(n, i + 1);

	if (peek(n, i) == 'Z' && !is_word(peek(n, i + 1)))
		return i + 1 - offset;
	if (peek(n, i) != '+' && peek(n, i) != '-')
		return i - offset;
	if (count_digits(n, i + 1) == 4)
		return i + 5 - offset;
	if (count_digits(n, i + 1) == 2 && peek(n, i + 3) == ':' &&
	    count_digits(n, i + 4) == 2)
		return i + 6 - offset;
	return i - offset;
}

/* Returns the length of a date YYYY-MM-DD or YYYY/MM/DD at the position, or 0. */
static size_t
date_length(const struct normalizer *n)
{
	unsigned char separator = peek(n, 4);

	if (count_digits(n, 0) != 4 || (separator != '-' && separator != '/'))
		return 0;
	if (count_digits(n, 5) != 2 || peek(n, 7) != separator)
		return 0;
	if (count_digits(n, 8) != 2)
		return 0;
	return 10;
}

static bool
match_timestamp(struct normalizer *n)
{
	size_t length = date_length(n);
	size_t time;

	if (length > 0) {
		if (peek(n, length) == 'T' || peek(n, length) == ' ') {
			time = clock_time_length(n, length + 1);
			if (time > 0)
				length += 1 + time;
		}
	} else {
		length = clock_time_length(n, 0);
	}
	if (length == 0 || is_digit(peek(n, length)))
		return false;

	n->position += length;
	emit_string(n, "TIME");
	return true;
}

/* Matches a UUID (8-4-4-4-12 hex digits) or a run of 8 or more hex digits. */
static bool
match_hex_id(struct normalizer *n)
{
	static const size_t groups[] = { 8, 4, 4, 4, 12 };
	size_t length = count_hex(n, 0);
	size_t uuid = 0;
	size_t i;

	for (i = 0; i < sizeof groups / sizeof groups[0]; i++) {
		if (i > 0) {
			if (peek(n, uuid) != '-')
				break;
			uuid++;
		}
		if (count_hex(n, uuid) != groups[i])
			break;
		uuid += groups[i];
	}
	if (i == sizeof groups / sizeof groups[0] && !is_word(peek(n, uuid)))
		length = uuid;
	else if (length < 8 || is_word(peek(n, length)))
		return false;

	n->position += length;
	emit_string(n, "HEX");
	return true;
}

static bool
match_line_word(struct normalizer *n)
{
	size_t spaces = 0;
	size_t digits;

	if (!starts_with(n, "line") && !starts_with(n, "Line"))
		return false;
	while (peek(n, 4 + spaces) == ' ' || peek(n, 4 + spaces) == '\t')
		spaces++;
	if (spaces == 0)
		return false;
	digits = count_digits(n, 4 + spaces);
	if (digits == 0 || is_word(peek(n, 4 + spaces + digits)))
		return false;

	emit(n, n->text + n->position, 4);
	emit_string(n, " N");
	n->position += 4 + spaces + digits;
	return true;
}

/* Matches ":12:5", ":12" or "(12,5)" after a file name. */
static bool
match_file_position(struct normalizer *n)
{
	size_t first, second;

	if (!after_file_name(n))
		return false;

	if (peek(n, 0) == '(') {
		first = count_digits(n, 1);
		if (first == 0 || peek(n, 1 + first) != ',')
			return false;
		second = count_digits(n, 2 + first);
		if (second == 0 || peek(n, 2 + first + second) != ')')
			return false;
		n->position += 3 + first + second;
		emit_string(n, "(N,N)");
		return true;
	}

	first = count_digits(n, 1);
	if (peek(n, 0) != ':' || first == 0)
		return false;
	n->position += 1 + first;
	emit_string(n, ":N");

	second = count_digits(n, 1);
	if (peek(n, 0) == ':' && second > 0) {
		n->position += 1 + second;
		emit_string(n, ":N");
	}
	return true;
}

static void
normalize(struct normalizer *n)
{
	unsigned char c;

	while (n->position < n->length) {
		c = peek(n, 0);

		if (c == 0x1b) {
			skip_escape(n);
			continue;
		}
		if (is_space(c)) {
			if (n->tail_length > 0)
				n->pending_space = true;
			n->position++;
			continue;
		}
		if (c == '/' && match_temp_path(n))
			continue;
		if ((c == ':' || c == '(') && match_file_position(n))
			continue;
		if (at_word_start(n)) {
			if (match_address(n) || match_timestamp(n) ||
			    match_hex_id(n) || match_line_word(n))
				continue;
		}

		emit(n, n->text + n->position, 1);
		n->position++;
	}
}

size_t
signature_normalize(const char *text, size_t length, char *out, size_t size)
{
	struct normalizer n;

	memset(&n, 0, sizeof n);
	n.text = text;
	n.length = length;
	n.out = out;
	n.size = size;

	normalize(&n);

	if (size > 0)
		out[n.used] = '\0';
	return n.used;
}

void
signature_compute_at(const char *error_type, const char *file_path, const char *text,
    size_t length, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char digest[32];
	struct sha256 hash;
	struct normalizer n;
	const char *name;

	sha256_init(&hash);
	sha256_update(&hash, error_type, strlen(error_type));
	sha256_update(&hash, "\n", 1);

	/* The file name only: the same file shows as "app.py", "./app.py" or "/tmp/x/app.py". */
	if (file_path != NULL && file_path[0] != '\0') {
		name = strrchr(file_path, '/');
		name = name != NULL ? name + 1 : file_path;
		sha256_update(&hash, "file ", 5);
		sha256_update(&hash, name, strlen(name));
		sha256_update(&hash, "\n", 1);
	}

	memset(&n, 0, sizeof n);
	n.text = text;
	n.length = length;
	n.hash = &hash;
	normalize(&n);

	sha256_final(&hash, digest);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	out[64] = '\0';
}

void
signature_compute(const char *error_type, const char *text, size_t length, char out[65])
{
	signature_compute_at(error_type, NULL, text, length, out);
}
