/*
 * Splits a byte stream that arrives in arbitrary chunks into lines.
 *
 * A line ends at "\n"; a "\r" before it is dropped, and a bare "\r" (progress
 * bars) also ends a line. ANSI escape sequences (CSI, OSC and two-byte ESC
 * sequences) are removed. A line longer than LINEBUF_MAX is delivered in
 * pieces of LINEBUF_MAX bytes, so memory stays bounded and the text is still
 * matched.
 */
#ifndef CAKE_LINEBUF_H
#define CAKE_LINEBUF_H

#include <stddef.h>

#define LINEBUF_MAX 4096

typedef void (*linebuf_cb)(const char *line, size_t length, void *arg);

struct linebuf {
	char line[LINEBUF_MAX + 1];
	size_t length;
	int escape_state;	/* position inside an ANSI escape sequence */
	int last_was_cr;
};

void linebuf_init(struct linebuf *buffer);

/* Feeds LENGTH bytes; calls CALLBACK for every completed line (NUL-terminated, without its end). */
void linebuf_feed(struct linebuf *buffer, const char *data, size_t length, linebuf_cb callback, void *arg);

/* Delivers a pending partial line, if any (end of stream). */
void linebuf_flush(struct linebuf *buffer, linebuf_cb callback, void *arg);

#endif
