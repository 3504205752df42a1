/*
 * Latency of the recall worker's database work: one store_record_at (with
 * the duplicate check) followed by one store_lookup of the same signature,
 * on a recall.db that already holds ROWS rows. Prints p50, p99 and max in
 * microseconds for each size given on the command line, and the same for
 * store_find_similar. The connection is set up as the worker sets it up
 * (see recall/recall.c): automatic checkpoints off, a checkpoint every
 * CHECKPOINT_EVERY samples outside the timed calls.
 *
 * usage: bench_recall DIRECTORY ROWS...
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recall/store.h"
#include "signature.h"

#define SAMPLES 10000
#define ERROR_TYPES 10
#define FILES 1000
#define CHECKPOINT_EVERY 500	/* samples between two checkpoints, outside the timings */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, long rows, double *samples, int count)
{
	qsort(samples, count, sizeof samples[0], compare_doubles);
	printf("| %s | %ld | %.1f | %.1f | %.1f |\n", what, rows, samples[count / 2],
	    samples[count * 99 / 100], samples[count - 1]);
}

static void
fail(const char *what, const char *error)
{
	fprintf(stderr, "bench_recall: %s: %s\n", what, error);
	exit(1);
}

/* Fills the table with ROWS rows spread over ERROR_TYPES types and FILES files. */
static void
fill(sqlite3 *db, long rows, time_t now)
{
	char sql[1024];
	char *message = NULL;

	snprintf(sql, sizeof sql,
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld)"
	    " INSERT INTO error_memory (error_signature, error_type, file_path, first_seen,"
	    " last_seen, occurrence_count, expires_at, severity, signature_version)"
	    " SELECT printf('%%064x', i), 'Type' || (i %% %d), 'src/file' || (i %% %d) || '.py',"
	    " %lld - (i %% 3600), %lld - (i %% 3600), 1 + i %% 5, %lld + 86400 - (i %% 3600),"
	    " 'HIGH', 1 FROM n", rows, ERROR_TYPES, FILES, (long long)now, (long long)now,
	    (long long)now);
	if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK)
		fail("filling the table", message);
}

static void
run(const char *directory, long rows)
{
	static double record_lookup[SAMPLES], similar[SAMPLES];
	struct store_record_request request;
	struct store_counts counts;
	struct store_similar found[8];
	struct msg_detection detection;
	char path[PATH_MAX];
	char error[512];
	FILE *sink = fopen("/dev/null", "w");
	time_t now = time(NULL);
	sqlite3 *db;

	snprintf(path, sizeof path, "%s/recall-%ld.db", directory, rows);
	unlink(path);
	if (store_open(path, &db, error, sizeof error) == -1)
		fail("opening", error);
	if (store_upgrade(db, sink, error, sizeof error) < 0)
		fail("upgrading", error);
	fclose(sink);
	fill(db, rows, now);
	/* As in the recall worker: no automatic checkpoint, a timer checkpoints instead. */
	sqlite3_wal_autocheckpoint(db, 0);
	if (store_checkpoint(db, error, sizeof error) != 0)
		fail("checkpointing", error);

	memset(&detection, 0, sizeof detection);
	detection.severity = SEVERITY_HIGH;
	detection.signature_version = SIGNATURE_VERSION;
	srand(1);
	for (int i = 0; i < SAMPLES; i++) {
		long row = 1 + rand() % rows;
		double start;

		/* Half the samples hit an existing row, half insert a new one. */
		if (i % 2 == 0)
			snprintf(detection.signature, sizeof detection.signature, "%064lx", row);
		else
			snprintf(detection.signature, sizeof detection.signature, "%064lx",
			    (long)rows + 1 + i);
		snprintf(detection.error_type, sizeof detection.error_type, "Type%ld",
		    row % ERROR_TYPES);
		snprintf(detection.file_path, sizeof detection.file_path, "src/file%ld.py",
		    row % FILES);
		detection.arrived_ns = (uint64_t)i + 1;

		memset(&request, 0, sizeof request);
		request.message_id = (uint64_t)i + 1;
		request.detection = &detection;
		request.ttl_hours = 24;
		request.now = now;
		request.occurrences = 1;

		start = now_us();
		if (store_record_at(db, &request, &counts, error, sizeof error) != 0)
			fail("recording", error);
		if (store_lookup(db, detection.signature, now, &counts, error, sizeof error) != 1)
			fail("looking up", error);
		record_lookup[i] = now_us() - start;

		start = now_us();
		if (store_find_similar(db, detection.error_type, detection.file_path, now, found, 8,
		    error, sizeof error) < 0)
			fail("finding similar errors", error);
		similar[i] = now_us() - start;

		/* The worker checkpoints every 5 s; this is about as often at a high error rate. */
		if (i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 &&
		    store_checkpoint(db, error, sizeof error) != 0)
			fail("checkpointing", error);
	}

	report("record + lookup", rows, record_lookup, SAMPLES);
	report("find similar (8 rows)", rows, similar, SAMPLES);
	store_close(db);
	unlink(path);
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_recall DIRECTORY ROWS...\n");
		return 2;
	}
	printf("| operation | rows | p50 (µs) | p99 (µs) | max (µs) |\n");
	printf("| --- | --- | --- | --- | --- |\n");
	for (int i = 2; i < argc; i++)
		run(argv[1], atol(argv[i]));
	return 0;
}
