/*
 * The agent of the pipeline benchmark, run by `cake start --adapter=exec`.
 * COUNT times it writes a distinct error line to stderr, then blocks on its
 * stdin until the correction that names the same module arrives. Each
 * sample is the CLOCK_MONOTONIC time from just before the write(2) of the
 * error to the arrival of the correction's newline. Distinct module names
 * give distinct signatures, so the controller's cooldown and strikes never
 * hold a correction back.
 *
 * usage: agent COUNT GAP_MS OUT
 *   GAP_MS  pause after each correction before the next error
 *   OUT     file for the samples: one "INDEX NANOSECONDS" line each, and a
 *           last line "missed M" for errors without a correction in 10 s
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

static char buffer[65536];
static size_t used;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns 1 when LINE contains NEEDLE not followed by a digit. */
static int
names_module(const char *line, const char *needle)
{
	const char *at = line;
	size_t length = strlen(needle);

	while ((at = strstr(at, needle)) != NULL) {
		at += length;
		if (*at < '0' || *at > '9')
			return 1;
	}
	return 0;
}

/*
 * Reads stdin until a whole line that names the module NEEDLE has arrived or
 * DEADLINE_NS passes. Lines before it are dropped. Returns 0 when it
 * arrived, -1 on timeout or end of file.
 */
static int
wait_for_line(const char *needle, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char *newline;
	ssize_t got;
	int64_t left_ms;

	for (;;) {
		while ((newline = memchr(buffer, '\n', used)) != NULL) {
			size_t length = (size_t)(newline - buffer) + 1;
			int found;

			*newline = '\0';
			found = names_module(buffer, needle);
			memmove(buffer, buffer + length, used - length);
			used -= length;
			if (found)
				return 0;
		}
		if (used == sizeof buffer)
			used = 0;

		left_ms = ((int64_t)deadline_ns - (int64_t)now_ns()) / 1000000;
		if (left_ms <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left_ms) == -1 && errno != EINTR)
			return -1;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		got = read(STDIN_FILENO, buffer + used, sizeof buffer - used);
		if (got == 0)
			return -1;
		if (got > 0)
			used += (size_t)got;
	}
}

int
main(int argc, char **argv)
{
	struct timespec gap;
	char line[128], needle[64];
	unsigned long count, missed = 0;
	uint64_t start, *samples;
	long gap_ms;
	FILE *out;
	int length;

	if (argc != 4) {
		fprintf(stderr, "usage: agent COUNT GAP_MS OUT\n");
		return 2;
	}
	count = strtoul(argv[1], NULL, 10);
	gap_ms = strtol(argv[2], NULL, 10);
	gap.tv_sec = gap_ms / 1000;
	gap.tv_nsec = (gap_ms % 1000) * 1000000;
	samples = calloc(count + 1, sizeof *samples);
	if (samples == NULL)
		return 2;

	for (unsigned long i = 1; i <= count; i++) {
		length = snprintf(line, sizeof line,
		    "ModuleNotFoundError: No module named 'benchmod_%lu'\n", i);
		snprintf(needle, sizeof needle, "benchmod_%lu", i);

		start = now_ns();
		if (write(STDERR_FILENO, line, (size_t)length) != length)
			return 2;
		if (wait_for_line(needle, start + (uint64_t)WAIT_MS * 1000000) == 0)
			samples[i] = now_ns() - start;
		else
			missed++;
		if (gap_ms > 0)
			nanosleep(&gap, NULL);
	}

	out = fopen(argv[3], "w");
	if (out == NULL)
		return 2;
	for (unsigned long i = 1; i <= count; i++) {
		if (samples[i] != 0)
			fprintf(out, "%lu %llu\n", i, (unsigned long long)samples[i]);
	}
	fprintf(out, "missed %lu\n", missed);
	return fclose(out) == 0 ? 0 : 2;
}
