/*
 * Tests for supervisor/metrics.c (the Prometheus exposition) and
 * supervisor/history.c (the samples kept for `cake metrics --period`).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "history.h"
#include "metrics.h"

static char *
render(const struct metrics *metrics, size_t *length)
{
	static const struct metrics_process processes[] = {
		{ "controller", 1, 0, 4096 },
		{ "watchdog", 0, 2, 0 },
	};
	static const struct metrics_ring rings[] = {
		{ "stdout", 10, 1024, 5 },
	};
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	cr_assert_not_null(out);
	metrics_render(metrics, out, processes, 2, rings, 1, 1);
	fclose(out);
	if (length != NULL)
		*length = size;
	return text;
}

static int
has_line(const char *text, const char *line)
{
	size_t length = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, line, length) == 0 && (p[length] == '\n' || p[length] == '\0'))
			return 1;
	}
	return 0;
}

Test(metrics, intervention_counter)
{
	struct metrics *metrics = metrics_create();
	char *text;

	metrics_count_intervention(metrics, "ImportError", "HIGH", 1);
	metrics_count_intervention(metrics, "ImportError", "HIGH", 1);
	metrics_count_intervention(metrics, "ImportError", "HIGH", 0);
	text = render(metrics, NULL);
	cr_assert(has_line(text, "# TYPE cake_interventions_total counter"));
	cr_assert(has_line(text, "cake_interventions_total{type=\"ImportError\",severity=\"HIGH\",success=\"true\"} 2"));
	cr_assert(has_line(text, "cake_interventions_total{type=\"ImportError\",severity=\"HIGH\",success=\"false\"} 1"));
	free(text);
	metrics_free(metrics);
}

Test(metrics, histogram_buckets_cumulative)
{
	struct metrics *metrics = metrics_create();
	char *text;

	metrics_observe_latency(metrics, "watchdog", "detect", 0.005);
	metrics_observe_latency(metrics, "watchdog", "detect", 0.2);
	metrics_observe_latency(metrics, "watchdog", "detect", 3.0);
	text = render(metrics, NULL);
	cr_assert(has_line(text, "# TYPE cake_response_latency_seconds histogram"));
	cr_assert(has_line(text, "cake_response_latency_seconds_bucket{component=\"watchdog\",operation=\"detect\",le=\"0.01\"} 1"));
	cr_assert(has_line(text, "cake_response_latency_seconds_bucket{component=\"watchdog\",operation=\"detect\",le=\"0.1\"} 1"));
	cr_assert(has_line(text, "cake_response_latency_seconds_bucket{component=\"watchdog\",operation=\"detect\",le=\"0.25\"} 2"));
	cr_assert(has_line(text, "cake_response_latency_seconds_bucket{component=\"watchdog\",operation=\"detect\",le=\"1\"} 2"));
	cr_assert(has_line(text, "cake_response_latency_seconds_bucket{component=\"watchdog\",operation=\"detect\",le=\"+Inf\"} 3"));
	cr_assert(has_line(text, "cake_response_latency_seconds_count{component=\"watchdog\",operation=\"detect\"} 3"));
	free(text);
	metrics_free(metrics);
}

Test(metrics, label_values_escaped)
{
	struct metrics *metrics = metrics_create();
	char *text;

	metrics_count_prevented(metrics, "Bad\"Type\\\n");
	text = render(metrics, NULL);
	cr_assert(has_line(text, "cake_errors_prevented_total{error_type=\"Bad\\\"Type\\\\\\n\"} 1"));
	free(text);
	metrics_free(metrics);
}

Test(metrics, series_bounded)
{
	struct metrics *metrics = metrics_create();
	char type[32], *text;
	size_t lines = 0;

	for (int i = 0; i < METRICS_SERIES_MAX + 10; i++) {
		snprintf(type, sizeof type, "Type%d", i);
		metrics_count_prevented(metrics, type);
	}
	text = render(metrics, NULL);
	for (const char *p = strstr(text, "cake_errors_prevented_total{"); p != NULL;
	    p = strstr(p + 1, "cake_errors_prevented_total{"))
		lines++;
	cr_assert_eq(lines, METRICS_SERIES_MAX);
	cr_assert(has_line(text, "cake_errors_prevented_total{error_type=\"other\"} 11"));
	free(text);
	metrics_free(metrics);
}

Test(metrics, process_and_ring_gauges)
{
	struct metrics *metrics = metrics_create();
	char *text = render(metrics, NULL);

	cr_assert(has_line(text, "cake_process_up{process=\"controller\"} 1"));
	cr_assert(has_line(text, "cake_process_up{process=\"watchdog\"} 0"));
	cr_assert(has_line(text, "cake_process_restarts_total{process=\"watchdog\"} 2"));
	cr_assert(has_line(text, "cake_process_resident_memory_bytes{process=\"controller\"} 4096"));
	cr_assert(has_line(text, "cake_ring_dropped_bytes_total{stream=\"stdout\"} 5"));
	cr_assert(has_line(text, "cake_db_connections_active 1"));
	cr_assert(has_line(text, "cake_rollback_operations 0"));
	free(text);
	metrics_free(metrics);
}

static struct json_object *
series_at(struct json_object *result, size_t index)
{
	struct json_object *series;

	cr_assert(json_object_object_get_ex(result, "series", &series));
	return json_object_array_get_idx(series, index);
}

static struct json_object *
key(struct json_object *object, const char *name)
{
	struct json_object *value = NULL;

	json_object_object_get_ex(object, name, &value);
	return value;
}

Test(history, records_counter_samples)
{
	struct history *history = history_create();
	struct metrics *metrics = metrics_create();
	struct json_object *result, *samples, *series;
	size_t length;
	char *text;

	text = render(metrics, &length);
	cr_assert_eq(history_add(history, 1000, text, length), 0);
	free(text);
	metrics_count_intervention(metrics, "ImportError", "HIGH", 1);
	text = render(metrics, &length);
	cr_assert_eq(history_add(history, 1060, text, length), 0);
	free(text);

	result = history_json(history, "cake_interventions_total", 0);
	cr_assert_str_eq(json_object_get_string(key(result, "type")), "counter");
	cr_assert_eq(json_object_get_int64(key(result, "first_sample")), 1000);
	cr_assert(json_object_object_get_ex(result, "series", &series));
	cr_assert_eq(json_object_array_length(series), 1);
	samples = key(series_at(result, 0), "samples");
	cr_assert_eq(json_object_array_length(samples), 1);
	cr_assert_eq(json_object_get_int64(json_object_array_get_idx(json_object_array_get_idx(samples, 0), 0)), 1060);
	cr_assert_str_eq(json_object_get_string(key(key(series_at(result, 0), "labels"), "type")), "ImportError");
	json_object_put(result);
	history_free(history);
	metrics_free(metrics);
}

Test(history, since_limits_samples)
{
	struct history *history = history_create();
	struct metrics *metrics = metrics_create();
	struct json_object *result;
	size_t length;
	char *text = render(metrics, &length);

	for (int i = 0; i < 5; i++)
		cr_assert_eq(history_add(history, 1000 + 60 * i, text, length), 0);
	free(text);

	result = history_json(history, "cake_process_up", 1120);
	cr_assert_eq(json_object_get_int64(key(result, "first_sample")), 1120);
	cr_assert_eq(json_object_array_length(key(series_at(result, 0), "samples")), 3);
	json_object_put(result);
	history_free(history);
	metrics_free(metrics);
}

Test(history, buckets_not_kept)
{
	struct history *history = history_create();
	struct metrics *metrics = metrics_create();
	struct json_object *result;
	size_t length;
	char *text;

	metrics_observe_latency(metrics, "controller", "intervene", 0.02);
	text = render(metrics, &length);
	cr_assert_eq(history_add(history, 1000, text, length), 0);
	free(text);

	result = history_json(history, "cake_response_latency_seconds_bucket", 0);
	cr_assert_eq(json_object_array_length(key(result, "series")), 0);
	json_object_put(result);
	result = history_json(history, "cake_response_latency_seconds_count", 0);
	cr_assert_eq(json_object_array_length(key(result, "series")), 1);
	cr_assert_str_eq(json_object_get_string(key(result, "type")), "histogram");
	json_object_put(result);
	history_free(history);
	metrics_free(metrics);
}

Test(history, window_wraps)
{
	struct history *history = history_create();
	struct json_object *result;
	const char text[] = "# TYPE x gauge\nx 1\n";

	for (int i = 0; i < HISTORY_SAMPLES_MAX + 5; i++)
		cr_assert_eq(history_add(history, 1000 + i, text, sizeof text - 1), 0);
	result = history_json(history, "x", 0);
	cr_assert_eq(json_object_get_int64(key(result, "first_sample")), 1005);
	cr_assert_eq(json_object_array_length(key(series_at(result, 0), "samples")), HISTORY_SAMPLES_MAX);
	json_object_put(result);
	history_free(history);
}

Test(history, escaped_labels_decoded)
{
	struct history *history = history_create();
	struct json_object *result;
	const char text[] = "# TYPE y counter\ny{a=\"x\\\"}y\",b=\"2\"} 7\n";

	cr_assert_eq(history_add(history, 1000, text, sizeof text - 1), 0);
	result = history_json(history, "y", 0);
	cr_assert_str_eq(json_object_get_string(key(key(series_at(result, 0), "labels"), "a")), "x\"}y");
	cr_assert_str_eq(json_object_get_string(key(key(series_at(result, 0), "labels"), "b")), "2");
	json_object_put(result);
	history_free(history);
}

Test(history, unknown_name_empty)
{
	struct history *history = history_create();
	struct json_object *result = history_json(history, "nothing", 0);

	cr_assert_eq(json_object_array_length(key(result, "series")), 0);
	cr_assert_null(key(result, "first_sample"));
	json_object_put(result);
	history_free(history);
}
