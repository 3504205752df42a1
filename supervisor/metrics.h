/*
 * Prometheus metrics kept by the supervisor.
 *
 * The supervisor records events as they happen (interventions, prevented
 * errors, latencies, voice scores); process and ring gauges are read at
 * scrape time through struct metrics_process and struct metrics_ring.
 * metrics_render() writes the text exposition format (version 0.0.4).
 * Label values are escaped; the number of distinct label sets is bounded
 * (METRICS_SERIES_MAX per family), and further sets are folded into
 * error_type="other" and so on.
 */
#ifndef CAKE_METRICS_H
#define CAKE_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_SERIES_MAX 64

struct metrics;

struct metrics_process {
	const char *name;		/* "controller", "watchdog", ... */
	int up;				/* 1 when ready */
	unsigned restarts;
	uint64_t resident_bytes;	/* 0 when unknown */
};

struct metrics_ring {
	const char *stream;		/* "stdout", "stderr" */
	uint64_t used_bytes;
	uint64_t capacity_bytes;
	uint64_t dropped_bytes;
};

struct metrics *metrics_create(void);
void metrics_free(struct metrics *metrics);

/* cake_interventions_total{type,severity,success} */
void metrics_count_intervention(struct metrics *metrics, const char *type, const char *severity, int success);
/* cake_errors_prevented_total{error_type} */
void metrics_count_prevented(struct metrics *metrics, const char *error_type);
/* cake_response_latency_seconds{component,operation}, a histogram */
void metrics_observe_latency(struct metrics *metrics, const char *component, const char *operation, double seconds);
/* cake_voice_similarity_score{message_type}, a gauge of the latest score */
void metrics_set_voice_similarity(struct metrics *metrics, const char *message_type, double score);
/* cake_rollback_operations, a counter */
void metrics_count_rollback(struct metrics *metrics);

/*
 * Writes every family to OUT. PROCESSES and RINGS are the gauges at this
 * moment; DB_CONNECTIONS is cake_db_connections_active.
 */
void metrics_render(const struct metrics *metrics, FILE *out,
    const struct metrics_process *processes, size_t process_count,
    const struct metrics_ring *rings, size_t ring_count, int db_connections);

#endif
