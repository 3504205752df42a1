/*
 * Line splitting and ANSI escape removal for one output stream, as declared
 * in linebuf.h.
 *
 * The escape parser follows ECMA-48. ESC "[" starts a control sequence that
 * ends at a byte in 0x40-0x7e. ESC "]" (OSC) and ESC "P", "X", "^" or "_"
 * start a string that ends at BEL or ESC "\". Any other ESC takes
 * intermediate bytes (0x20-0x2f) and one final byte. A line end inside an
 * unfinished sequence ends the sequence, so a broken escape never swallows
 * the following lines.
 */
#include <string.h>

#include "linebuf.h"

enum escape_state {
	ESCAPE_NONE = 0,
	ESCAPE_START,		/* after ESC */
	ESCAPE_CSI,		/* after ESC [ */
	ESCAPE_STRING,		/* inside OSC, DCS, SOS, PM or APC */
	ESCAPE_STRING_END,	/* ESC inside a string: "\" ends it */
	ESCAPE_INTERMEDIATE,	/* ESC and intermediate bytes, before the final byte */
};

#define ESC 0x1b
#define BEL 0x07

void
linebuf_init(struct linebuf *buffer)
{
	buffer->length = 0;
	buffer->line[0] = '\0';
	buffer->escape_state = ESCAPE_NONE;
	buffer->last_was_cr = 0;
}

static void
deliver(struct linebuf *buffer, linebuf_cb callback, void *arg)
{
	buffer->line[buffer->length] = '\0';
	callback(buffer->line, buffer->length, arg);
	buffer->length = 0;
}

/* Advances the escape parser by byte C. Returns 1 when C belongs to a sequence. */
static int
consume_escape(struct linebuf *buffer, unsigned char c)
{
	switch (buffer->escape_state) {
	case ESCAPE_NONE:
		if (c != ESC)
			return 0;
		buffer->escape_state = ESCAPE_START;
		return 1;
	case ESCAPE_START:
		if (c == '[')
			buffer->escape_state = ESCAPE_CSI;
		else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_')
			buffer->escape_state = ESCAPE_STRING;
		else if (c >= 0x20 && c <= 0x2f)
			buffer->escape_state = ESCAPE_INTERMEDIATE;
		else if (c != ESC)
			buffer->escape_state = ESCAPE_NONE;
		return 1;
	case ESCAPE_CSI:
	case ESCAPE_INTERMEDIATE:
		if (c >= 0x40 && c <= 0x7e)
			buffer->escape_state = ESCAPE_NONE;
		return 1;
	case ESCAPE_STRING:
		if (c == BEL)
			buffer->escape_state = ESCAPE_NONE;
		else if (c == ESC)
			buffer->escape_state = ESCAPE_STRING_END;
		return 1;
	case ESCAPE_STRING_END:
		if (c == '\\')
			buffer->escape_state = ESCAPE_NONE;
		else if (c != ESC)
			buffer->escape_state = ESCAPE_STRING;
		return 1;
	}
	return 0;
}

void
linebuf_feed(struct linebuf *buffer, const char *data, size_t length,
    linebuf_cb callback, void *arg)
{
	unsigned char c;

	for (size_t i = 0; i < length; i++) {
		c = (unsigned char)data[i];

		if (c == '\n' || c == '\r')
			buffer->escape_state = ESCAPE_NONE;
		else if (consume_escape(buffer, c))
			continue;

		if (c == '\n') {
			if (!buffer->last_was_cr)
				deliver(buffer, callback, arg);
			buffer->last_was_cr = 0;
			continue;
		}
		if (c == '\r') {
			deliver(buffer, callback, arg);
			buffer->last_was_cr = 1;
			continue;
		}

		buffer->last_was_cr = 0;
		if (buffer->length == LINEBUF_MAX)
			deliver(buffer, callback, arg);
		buffer->line[buffer->length++] = (char)c;
	}
}

void
linebuf_flush(struct linebuf *buffer, linebuf_cb callback, void *arg)
{
	if (buffer->length > 0)
		deliver(buffer, callback, arg);
	buffer->escape_state = ESCAPE_NONE;
	buffer->last_was_cr = 0;
}
