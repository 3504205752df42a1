/*
 * Prometheus metrics; see metrics.h.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define LABEL_MAX 64
#define LABELS_PER_SERIES 3

/* Upper bounds of the latency histogram, in seconds. */
static const double latency_buckets[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1.0 };
#define LATENCY_BUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

struct series {
	char labels[LABELS_PER_SERIES][LABEL_MAX];
	double value;				/* counter or gauge */
	uint64_t buckets[LATENCY_BUCKETS];	/* histogram: observations <= bound */
	uint64_t count;
	double sum;
};

struct family {
	struct series series[METRICS_SERIES_MAX];
	size_t count;
};

struct metrics {
	struct family interventions;	/* type, severity, success */
	struct family prevented;	/* error_type */
	struct family latency;		/* component, operation */
	struct family voice;		/* message_type */
	double rollbacks;
};

struct metrics *
metrics_create(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *metrics)
{
	free(metrics);
}

/*
 * Finds or adds the series with LABELS. When the family is full, the last
 * slot collects every further label set as "other".
 */
static struct series *
family_series(struct family *family, const char *const labels[], size_t label_count)
{
	struct series *series;

	for (size_t i = 0; i < family->count; i++) {
		size_t same = 0;

		for (size_t j = 0; j < label_count; j++)
			same += strncmp(family->series[i].labels[j], labels[j], LABEL_MAX - 1) == 0;
		if (same == label_count)
			return &family->series[i];
	}

	if (family->count == METRICS_SERIES_MAX) {
		series = &family->series[METRICS_SERIES_MAX - 1];
		for (size_t j = 0; j < label_count; j++)
			snprintf(series->labels[j], LABEL_MAX, "other");
		return series;
	}

	series = &family->series[family->count++];
	memset(series, 0, sizeof *series);
	for (size_t j = 0; j < label_count; j++)
		snprintf(series->labels[j], LABEL_MAX, "%s", labels[j] != NULL ? labels[j] : "");
	return series;
}

void
metrics_count_intervention(struct metrics *metrics, const char *type, const char *severity, int success)
{
	const char *labels[] = { type, severity, success ? "true" : "false" };

	family_series(&metrics->interventions, labels, 3)->value += 1;
}

void
metrics_count_prevented(struct metrics *metrics, const char *error_type)
{
	const char *labels[] = { error_type };

	family_series(&metrics->prevented, labels, 1)->value += 1;
}

void
metrics_observe_latency(struct metrics *metrics, const char *component, const char *operation, double seconds)
{
	const char *labels[] = { component, operation };
	struct series *series = family_series(&metrics->latency, labels, 2);

	for (size_t i = 0; i < LATENCY_BUCKETS; i++) {
		if (seconds <= latency_buckets[i])
			series->buckets[i]++;
	}
	series->count++;
	series->sum += seconds;
}

void
metrics_set_voice_similarity(struct metrics *metrics, const char *message_type, double score)
{
	const char *labels[] = { message_type };

	family_series(&metrics->voice, labels, 1)->value = score;
}

void
metrics_count_rollback(struct metrics *metrics)
{
	metrics->rollbacks += 1;
}

/* Writes a label value with the exposition format's escapes (backslash, quote, newline). */
static void
write_label_value(FILE *out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
}

static void
write_labels(FILE *out, const char *const names[], const struct series *series, size_t count,
    const char *extra_name, const char *extra_value)
{
	fputc('{', out);
	for (size_t i = 0; i < count; i++) {
		fprintf(out, "%s%s=\"", i > 0 ? "," : "", names[i]);
		write_label_value(out, series->labels[i]);
		fputc('"', out);
	}
	if (extra_name != NULL)
		fprintf(out, "%s%s=\"%s\"", count > 0 ? "," : "", extra_name, extra_value);
	fputc('}', out);
}

static void
write_family(FILE *out, const char *name, const char *type, const char *help,
    const struct family *family, const char *const label_names[], size_t label_count)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < family->count; i++) {
		fputs(name, out);
		write_labels(out, label_names, &family->series[i], label_count, NULL, NULL);
		fprintf(out, " %.17g\n", family->series[i].value);
	}
}

static void
write_latency(FILE *out, const struct family *family)
{
	static const char *const names[] = { "component", "operation" };
	const char *name = "cake_response_latency_seconds";

	fprintf(out, "# HELP %s Time from an error line's arrival to each pipeline step.\n", name);
	fprintf(out, "# TYPE %s histogram\n", name);
	for (size_t i = 0; i < family->count; i++) {
		const struct series *series = &family->series[i];
		char bound[32];

		for (size_t b = 0; b < LATENCY_BUCKETS; b++) {
			snprintf(bound, sizeof bound, "%g", latency_buckets[b]);
			fprintf(out, "%s_bucket", name);
			write_labels(out, names, series, 2, "le", bound);
			fprintf(out, " %llu\n", (unsigned long long)series->buckets[b]);
		}
		fprintf(out, "%s_bucket", name);
		write_labels(out, names, series, 2, "le", "+Inf");
		fprintf(out, " %llu\n", (unsigned long long)series->count);
		fprintf(out, "%s_sum", name);
		write_labels(out, names, series, 2, NULL, NULL);
		fprintf(out, " %.17g\n", series->sum);
		fprintf(out, "%s_count", name);
		write_labels(out, names, series, 2, NULL, NULL);
		fprintf(out, " %llu\n", (unsigned long long)series->count);
	}
}

static void
write_process_gauges(FILE *out, const struct metrics_process *processes, size_t count)
{
	fprintf(out, "# HELP cake_process_up 1 when the process has completed its handshake and runs.\n");
	fprintf(out, "# TYPE cake_process_up gauge\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "cake_process_up{process=\"%s\"} %d\n", processes[i].name, processes[i].up);

	fprintf(out, "# HELP cake_process_restarts_total Restarts of the process since CAKE started.\n");
	fprintf(out, "# TYPE cake_process_restarts_total counter\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "cake_process_restarts_total{process=\"%s\"} %u\n", processes[i].name,
		    processes[i].restarts);

	fprintf(out, "# HELP cake_process_resident_memory_bytes Resident set size of the process.\n");
	fprintf(out, "# TYPE cake_process_resident_memory_bytes gauge\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "cake_process_resident_memory_bytes{process=\"%s\"} %llu\n", processes[i].name,
		    (unsigned long long)processes[i].resident_bytes);
}

static void
write_ring_gauges(FILE *out, const struct metrics_ring *rings, size_t count)
{
	fprintf(out, "# HELP cake_ring_used_bytes Bytes of agent output waiting for the watchdog.\n");
	fprintf(out, "# TYPE cake_ring_used_bytes gauge\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "cake_ring_used_bytes{stream=\"%s\"} %llu\n", rings[i].stream,
		    (unsigned long long)rings[i].used_bytes);

	fprintf(out, "# HELP cake_ring_capacity_bytes Size of the stream's ring buffer.\n");
	fprintf(out, "# TYPE cake_ring_capacity_bytes gauge\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "cake_ring_capacity_bytes{stream=\"%s\"} %llu\n", rings[i].stream,
		    (unsigned long long)rings[i].capacity_bytes);

	fprintf(out, "# HELP cake_ring_dropped_bytes_total Agent output dropped because the ring was full.\n");
	fprintf(out, "# TYPE cake_ring_dropped_bytes_total counter\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "cake_ring_dropped_bytes_total{stream=\"%s\"} %llu\n", rings[i].stream,
		    (unsigned long long)rings[i].dropped_bytes);
}

void
metrics_render(const struct metrics *metrics, FILE *out,
    const struct metrics_process *processes, size_t process_count,
    const struct metrics_ring *rings, size_t ring_count, int db_connections)
{
	static const char *const intervention_labels[] = { "type", "severity", "success" };
	static const char *const prevented_labels[] = { "error_type" };
	static const char *const voice_labels[] = { "message_type" };

	write_family(out, "cake_interventions_total", "counter",
	    "Interventions sent to the agent, by error type, severity and delivery success.",
	    &metrics->interventions, intervention_labels, 3);
	write_family(out, "cake_errors_prevented_total", "counter",
	    "Errors corrected by a delivered intervention, by error type.",
	    &metrics->prevented, prevented_labels, 1);
	write_latency(out, &metrics->latency);
	write_family(out, "cake_voice_similarity_score", "gauge",
	    "Voice gate score of the latest message of each type (0 to 1).",
	    &metrics->voice, voice_labels, 1);

	/* A gauge: the name has no _total suffix, which Prometheus requires of counters. */
	fprintf(out, "# HELP cake_rollback_operations Snapshot rollbacks performed since CAKE started.\n");
	fprintf(out, "# TYPE cake_rollback_operations gauge\n");
	fprintf(out, "cake_rollback_operations %.17g\n", metrics->rollbacks);
	fprintf(out, "# HELP cake_db_connections_active Open connections to recall.db.\n");
	fprintf(out, "# TYPE cake_db_connections_active gauge\n");
	fprintf(out, "cake_db_connections_active %d\n", db_connections);

	write_process_gauges(out, processes, process_count);
	write_ring_gauges(out, rings, ring_count);
}
