/*
 * Measures the command gate on the labelled corpus:
 *   1. gate_check() in process: checks per second, and the median and p99
 *      time of one check;
 *   2. `cake gate check` as a process: the time from spawning it to its exit
 *      (the decision), median and p99.
 *
 * usage: bench_gate CORPUS.tsv CAKE_BINARY [ROUNDS]
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

#define MAX_ROWS 1024

extern char **environ;

struct row {
	char *command;
	enum strictness strictness;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts SAMPLES and returns the value at PERCENT (0-100). */
static uint64_t
percentile(uint64_t *samples, size_t count, double percent)
{
	size_t index;

	qsort(samples, count, sizeof *samples, compare_u64);
	index = (size_t)(percent / 100.0 * (double)(count - 1) + 0.5);
	return samples[index];
}

static void
unescape(char *text)
{
	char *out = text;

	for (; *text != '\0'; text++) {
		if (*text == '\\' && text[1] == 'n') {
			*out++ = '\n';
			text++;
		} else if (*text == '\\' && text[1] == 't') {
			*out++ = '\t';
			text++;
		} else if (*text == '\\' && text[1] == '\\') {
			*out++ = '\\';
			text++;
		} else {
			*out++ = *text;
		}
	}
	*out = '\0';
}

static size_t
load_corpus(const char *path, struct row *rows)
{
	char line[4096];
	size_t count = 0;
	FILE *file = fopen(path, "r");

	if (file == NULL) {
		perror(path);
		exit(2);
	}
	while (count < MAX_ROWS && fgets(line, sizeof line, file) != NULL) {
		char *command, *level;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		command = strtok(line, "\t");
		strtok(NULL, "\t");
		level = strtok(NULL, "\t");
		if (level == NULL || strictness_parse(level, &rows[count].strictness) < 0) {
			fprintf(stderr, "%s: invalid row '%s': expected COMMAND, allow or deny, and a strictness separated by tabs\n", path, line);
			exit(2);
		}
		unescape(command);
		rows[count].command = strdup(command);
		if (rows[count].command == NULL) {
			fprintf(stderr, "out of memory\n");
			exit(2);
		}
		count++;
	}
	fclose(file);
	return count;
}

static void
bench_in_process(const struct row *rows, size_t count)
{
	struct gate *gates[3];
	struct gate_decision decision;
	char error[256];
	size_t rounds = 2000, samples_count = 0, i, r;
	uint64_t *samples = malloc(rounds * count * sizeof *samples), start, total = 0;
	int s;

	if (samples == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (s = 0; s < 3; s++) {
		gates[s] = gate_create((enum strictness)s, NULL, 0, error, sizeof error);
		if (gates[s] == NULL) {
			fprintf(stderr, "gate_create failed: %s\n", error);
			exit(2);
		}
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < count; i++) {
			start = now_ns();
			gate_check(gates[rows[i].strictness], rows[i].command, "/tmp/project", &decision);
			samples[samples_count] = now_ns() - start;
			total += samples[samples_count++];
		}
	}
	printf("gate_check, in process: %zu checks, %.0f checks/s, median %.2f us, p99 %.2f us\n",
	    samples_count, (double)samples_count / ((double)total / 1e9),
	    (double)percentile(samples, samples_count, 50) / 1e3,
	    (double)percentile(samples, samples_count, 99) / 1e3);
	for (s = 0; s < 3; s++)
		gate_free(gates[s]);
	free(samples);
}

static void
bench_process(const struct row *rows, size_t count, const char *cake, size_t rounds)
{
	posix_spawn_file_actions_t actions;
	uint64_t *samples = malloc(rounds * count * sizeof *samples), start;
	size_t samples_count = 0, i, r;
	char strictness[32];
	pid_t pid;
	int status = 0;

	if (samples == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < count; i++) {
			char *argv[] = { (char *)cake, "gate", "check", strictness, "--cwd=/tmp/project", "--",
				rows[i].command, NULL };

			snprintf(strictness, sizeof strictness, "--strictness=%s", strictness_name(rows[i].strictness));
			start = now_ns();
			if (posix_spawn(&pid, cake, &actions, NULL, argv, environ) != 0) {
				perror(cake);
				exit(2);
			}
			if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
				fprintf(stderr, "%s gate check failed on '%s': exit status %d\n", cake, rows[i].command,
				    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
				exit(2);
			}
			samples[samples_count++] = now_ns() - start;
		}
	}
	posix_spawn_file_actions_destroy(&actions);
	printf("cake gate check, spawn to exit: %zu runs, median %.2f ms, p99 %.2f ms\n", samples_count,
	    (double)percentile(samples, samples_count, 50) / 1e6,
	    (double)percentile(samples, samples_count, 99) / 1e6);
	free(samples);
}

int
main(int argc, char **argv)
{
	static struct row rows[MAX_ROWS];
	size_t count;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_gate CORPUS.tsv CAKE_BINARY [ROUNDS]\n");
		return 2;
	}
	count = load_corpus(argv[1], rows);
	printf("corpus: %zu commands\n", count);
	bench_in_process(rows, count);
	bench_process(rows, count, argv[2], argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 5);
	return 0;
}
