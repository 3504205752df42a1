/*
 * Watchdog matching throughput: feeds a log file through the same line
 * buffer and rules as the watchdog (64 KiB reads, one rules_context) and
 * prints the lines, detections, seconds and MB/s.
 *
 * usage: bench RULES.yaml LOG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebuf.h"
#include "rules.h"

#define READ_SIZE 65536

struct counts {
	const struct rules *rules;
	struct rules_context context;
	unsigned long lines;
	unsigned long detections;
};

static void
count_line(const char *line, size_t length, void *arg)
{
	struct counts *counts = arg;
	struct msg_detection detection;

	counts->lines++;
	if (rules_match(counts->rules, &counts->context, line, length, &detection))
		counts->detections++;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static char buffer[READ_SIZE];
	struct rules_options options = { NULL, NULL };
	struct msg_detection detection;
	struct counts counts;
	struct linebuf lines;
	char error[512];
	double start, seconds;
	size_t n, total = 0;
	FILE *file;

	if (argc != 3) {
		fprintf(stderr, "usage: bench RULES.yaml LOG\n");
		return 2;
	}
	options.rules_path = argv[1];
	memset(&counts, 0, sizeof counts);
	counts.rules = rules_load(&options, error, sizeof error);
	if (counts.rules == NULL) {
		fprintf(stderr, "bench: %s\n", error);
		return 1;
	}
	file = fopen(argv[2], "rb");
	if (file == NULL) {
		perror(argv[2]);
		return 1;
	}

	rules_context_init(&counts.context);
	linebuf_init(&lines);
	start = now_seconds();
	while ((n = fread(buffer, 1, sizeof buffer, file)) > 0) {
		linebuf_feed(&lines, buffer, n, count_line, &counts);
		total += n;
	}
	linebuf_flush(&lines, count_line, &counts);
	while (rules_flush(counts.rules, &counts.context, &detection))
		counts.detections++;
	seconds = now_seconds() - start;

	printf("rules=%zu bytes=%zu lines=%lu detections=%lu seconds=%.3f mb_per_s=%.1f\n",
	    rules_count(counts.rules), total, counts.lines, counts.detections, seconds,
	    (double)total / 1e6 / seconds);
	fclose(file);
	rules_free((struct rules *)counts.rules);
	return 0;
}
