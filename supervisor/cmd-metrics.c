/*
 * Reports over time. `cake metrics` shows one metric over a period from the
 * running instance's metric history. `cake stats memory` shows resident
 * memory per process and its growth. `cake analyze interventions` groups
 * recent error signatures in recall.db by type, with success rates.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "cmd.h"
#include "history.h"
#include "http.h"
#include "instance.h"
#include "log.h"

#define STATUS_TIMEOUT_MS 3000
#define HTTP_TIMEOUT_MS 5000
#define ANALYZE_LAST_DEFAULT 100
#define ANALYZE_LAST_MAX 100000
#define ANALYZE_TYPES_MAX 64
#define BYTES_PER_MB (1024.0 * 1024.0)

/* ---- shared ---- */

/* GETs PATH from the instance's metrics port. Returns the body (free it) or NULL after printing why. */
static char *
metrics_get(const struct instance *instance, const char *path, size_t *length)
{
	struct http_reply reply;
	char error[1024];

	if (instance->metrics_port == 0) {
		cmd_error("the metrics endpoint is off (http.metrics_port is 0); set a port and restart CAKE");
		return NULL;
	}
	if (http_get(instance->address, instance->metrics_port, path, HTTP_TIMEOUT_MS, &reply, error,
	    sizeof error) < 0) {
		cmd_error("%s; is CAKE running? (%s)", error, instance->status != NULL ? "it answers on the control socket" :
		    instance->status_error);
		return NULL;
	}
	if (reply.status != 200) {
		cmd_error("http://%s:%d%s answered %d: %s", instance->address, instance->metrics_port, path,
		    reply.status, reply.body);
		free(reply.body);
		return NULL;
	}
	if (length != NULL)
		*length = reply.length;
	return reply.body;
}

static struct json_object *
history_fetch(const struct instance *instance, const char *name, long period)
{
	struct json_object *result;
	char path[512];
	char *body;

	snprintf(path, sizeof path, "/metrics/history?name=%s&period=%ld", name, period);
	body = metrics_get(instance, path, NULL);
	if (body == NULL)
		return NULL;
	result = json_tokener_parse(body);
	if (result == NULL)
		cmd_error("invalid JSON from http://%s:%d%s", instance->address, instance->metrics_port, path);
	free(body);
	return result;
}

static struct json_object *
get_key(struct json_object *object, const char *key)
{
	struct json_object *value = NULL;

	if (object != NULL)
		json_object_object_get_ex(object, key, &value);
	return value;
}

static void
format_time(time_t when, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- cake metrics ---- */

static void
format_labels(struct json_object *labels, char *out, size_t size)
{
	size_t used = 0;

	if (labels == NULL || json_object_object_length(labels) == 0) {
		snprintf(out, size, "(no labels)");
		return;
	}
	used += (size_t)snprintf(out, size, "{");
	json_object_object_foreach(labels, key, value) {
		used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s=\"%s\"",
		    used > 1 ? "," : "", key, json_object_get_string(value));
	}
	snprintf(out + used, used < size ? size - used : 0, "}");
}

static void
format_span(long seconds, char *out, size_t size)
{
	if (seconds >= 3600)
		snprintf(out, size, "%ldh %02ldm", seconds / 3600, seconds / 60 % 60);
	else if (seconds >= 60)
		snprintf(out, size, "%ldm %02lds", seconds / 60, seconds % 60);
	else
		snprintf(out, size, "%lds", seconds);
}

/* Returns the entry of RESULT's "series" whose labels equal LABELS, or NULL. */
static struct json_object *
find_series(struct json_object *result, struct json_object *labels)
{
	struct json_object *series = get_key(result, "series");
	const char *wanted = json_object_to_json_string(labels);

	for (size_t i = 0; series != NULL && i < json_object_array_length(series); i++) {
		struct json_object *entry = json_object_array_get_idx(series, i);

		if (strcmp(json_object_to_json_string(get_key(entry, "labels")), wanted) == 0)
			return entry;
	}
	return NULL;
}

/* Returns the value of the series with LABELS in the one-sample scrape CURRENT, or NULL. */
static struct json_object *
current_value(struct json_object *current, struct json_object *labels)
{
	struct json_object *samples = get_key(find_series(current, labels), "samples");

	if (samples == NULL || json_object_array_length(samples) == 0)
		return NULL;
	return json_object_array_get_idx(json_object_array_get_idx(samples, 0), 1);
}

/*
 * Prints one series: its samples, the value now, and the change over the
 * period. CAKE's counters start at 0 with the supervisor, so a counter
 * series that appears after the period's first sample was 0 then.
 */
static void
print_series(struct json_object *entry, struct json_object *now_value, int counter,
    time_t period_start, time_t now)
{
	struct json_object *samples = get_key(entry, "samples");
	size_t count = json_object_array_length(samples);
	char labels[1024], when[32], span[32];
	double first_value = NAN, last_value = NAN;
	time_t first_time = 0;

	format_labels(get_key(entry, "labels"), labels, sizeof labels);
	printf("%s\n", labels);

	if (count > 0) {
		struct json_object *first = json_object_array_get_idx(samples, 0);

		first_time = (time_t)json_object_get_int64(json_object_array_get_idx(first, 0));
		first_value = json_object_get_double(json_object_array_get_idx(first, 1));
	}
	if (counter && period_start != 0 && (count == 0 || first_time > period_start)) {
		format_time(period_start, when, sizeof when);
		printf("  %s  0\n", when);
		first_time = period_start;
		first_value = 0;
	}
	for (size_t i = 0; i < count; i++) {
		struct json_object *sample = json_object_array_get_idx(samples, i);

		format_time((time_t)json_object_get_int64(json_object_array_get_idx(sample, 0)), when, sizeof when);
		last_value = json_object_get_double(json_object_array_get_idx(sample, 1));
		printf("  %s  %.17g\n", when, last_value);
	}
	if (now_value != NULL) {
		last_value = json_object_get_double(now_value);
		printf("  %-20s  %.17g\n", "now", last_value);
	}

	if (isnan(first_value) || isnan(last_value) || now <= first_time) {
		printf("  change: not enough samples yet\n");
		return;
	}
	format_span((long)(now - first_time), span, sizeof span);
	printf("  change: %+.17g over %s (%.2f/minute, %.2f/hour)\n", last_value - first_value, span,
	    (last_value - first_value) * 60.0 / (double)(now - first_time),
	    (last_value - first_value) * 3600.0 / (double)(now - first_time));
}

static void
metrics_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake metrics --name=NAME [--period=DURATION] [--config=FILE]\n"
	    "\n"
	    "Prints each series of metric NAME as sampled by the running instance (once a\n"
	    "minute, kept for 24 hours), its value now, and its change and rate over the period.\n"
	    "\n"
	    "  --name=NAME          a metric name, for example cake_interventions_total; a\n"
	    "                       histogram's series are NAME_sum and NAME_count\n"
	    "  --period=DURATION    how far back: 30m, 1h, 24h (default 1h, at most 24h)\n");
}

int
cmd_metrics(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "period", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *config_path = NULL, *period_text = "1h";
	struct json_object *history, *current = NULL, *series;
	struct history *parsed;
	struct instance instance;
	char *text, when[32];
	long period;
	size_t length;
	time_t now, period_start;
	int option, rc, counter;

	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			period_text = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			metrics_usage(stdout);
			return EXIT_OK;
		default:
			metrics_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (name == NULL || optind < argc) {
		if (name == NULL)
			cmd_error("missing --name; for example --name=cake_interventions_total");
		metrics_usage(stderr);
		return EXIT_USAGE;
	}
	if (log_parse_duration(period_text, &period) < 0 || period < 1 ||
	    period > (long)HISTORY_SAMPLES_MAX * HISTORY_INTERVAL_SECONDS) {
		cmd_error("invalid --period '%s': expected a duration from 1s to 24h, such as 15m or 1h", period_text);
		return EXIT_USAGE;
	}

	rc = instance_open(&instance, config_path, STATUS_TIMEOUT_MS);
	if (rc != EXIT_OK)
		return rc;
	history = history_fetch(&instance, name, period);
	if (history == NULL) {
		instance_close(&instance);
		return EXIT_FAILURE_STATUS;
	}
	now = time(NULL);
	text = metrics_get(&instance, "/metrics", &length);
	parsed = history_create();
	if (text != NULL && parsed != NULL && history_add(parsed, now, text, length) == 0)
		current = history_json(parsed, name, 0);
	free(text);
	history_free(parsed);
	instance_close(&instance);

	series = get_key(history, "series");
	if (json_object_array_length(series) == 0 && json_object_array_length(get_key(current, "series")) == 0) {
		cmd_error("no series named %s; `cake metrics` takes the names listed by the /metrics endpoint", name);
		json_object_put(history);
		json_object_put(current);
		return EXIT_FAILURE_STATUS;
	}

	period_start = (time_t)json_object_get_int64(get_key(history, "first_sample"));
	format_time(period_start, when, sizeof when);
	printf("%s (%s) over the last %s, sampled every %d s since %s\n", name,
	    json_object_get_string(get_key(history, "type")), period_text, HISTORY_INTERVAL_SECONDS, when);
	counter = strcmp(json_object_get_string(get_key(history, "type")), "counter") == 0;
	for (size_t i = 0; i < json_object_array_length(series); i++) {
		struct json_object *entry = json_object_array_get_idx(series, i);

		print_series(entry, current_value(current, get_key(entry, "labels")), counter, period_start, now);
	}
	/* Series that appeared after the last sample exist only in the scrape. */
	for (size_t i = 0; i < json_object_array_length(get_key(current, "series")); i++) {
		struct json_object *entry = json_object_array_get_idx(get_key(current, "series"), i);
		struct json_object *fresh;

		if (find_series(history, get_key(entry, "labels")) != NULL)
			continue;
		fresh = json_object_new_object();
		json_object_object_add(fresh, "labels", json_object_get(get_key(entry, "labels")));
		json_object_object_add(fresh, "samples", json_object_new_array());
		print_series(fresh, current_value(current, get_key(entry, "labels")), counter, period_start, now);
		json_object_put(fresh);
	}
	json_object_put(history);
	json_object_put(current);
	return EXIT_OK;
}

/* ---- cake stats memory ---- */

/* Resident set size of PID from /proc, in bytes; -1 when it cannot be read. */
static double
resident_bytes(long pid)
{
	unsigned long pages_total, pages_resident;
	char path[64];
	FILE *file;
	int n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/statm", pid);
	file = fopen(path, "re");
	if (file == NULL)
		return -1;
	n = fscanf(file, "%lu %lu", &pages_total, &pages_resident);
	fclose(file);
	return n == 2 ? (double)pages_resident * (double)sysconf(_SC_PAGESIZE) : -1;
}

/* Rounds to one decimal, half away from zero, without libm. */
static double
round_tenths(double value)
{
	if (value < 0)
		return -(double)(long long)(-value * 10.0 + 0.5) / 10.0;
	return (double)(long long)(value * 10.0 + 0.5) / 10.0;
}

/* A JSON number printed with one decimal ("52.3"), not json-c's 17 digits. */
static struct json_object *
json_tenths(double value)
{
	char text[32];

	value = round_tenths(value);
	snprintf(text, sizeof text, "%.1f", value);
	return json_object_new_double_s(value, text);
}

/*
 * Growth of the summed resident memory of CAKE's processes between the
 * oldest and newest sample of the last hour, in MB per hour. Samples in
 * which a process had no memory reading (not started yet) are left out.
 * Returns 0 with *RATE and *WINDOW, or -1 when fewer than two samples remain.
 */
static int
memory_growth(struct json_object *history, double *rate, long *window)
{
	struct json_object *series = get_key(history, "series");
	size_t count = json_object_array_length(series);
	time_t first_time = 0, last_time = 0;
	double first_total = 0, last_total = 0;
	struct json_object *base;

	if (count == 0)
		return -1;
	base = get_key(json_object_array_get_idx(series, 0), "samples");
	for (size_t i = 0; i < json_object_array_length(base); i++) {
		int64_t when = json_object_get_int64(json_object_array_get_idx(json_object_array_get_idx(base, i), 0));
		double total = 0;
		size_t found = 0;

		for (size_t s = 0; s < count; s++) {
			struct json_object *samples = get_key(json_object_array_get_idx(series, s), "samples");

			for (size_t j = 0; j < json_object_array_length(samples); j++) {
				struct json_object *sample = json_object_array_get_idx(samples, j);
				double value = json_object_get_double(json_object_array_get_idx(sample, 1));

				if (json_object_get_int64(json_object_array_get_idx(sample, 0)) == when && value > 0) {
					total += value;
					found++;
					break;
				}
			}
		}
		if (found != count)
			continue;
		if (first_time == 0) {
			first_time = (time_t)when;
			first_total = total;
		}
		last_time = (time_t)when;
		last_total = total;
	}
	if (first_time == 0 || last_time <= first_time)
		return -1;
	*window = (long)(last_time - first_time);
	*rate = (last_total - first_total) / BYTES_PER_MB * 3600.0 / (double)*window;
	return 0;
}

static void
stats_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake stats memory [--config=FILE]\n"
	    "\n"
	    "Prints, as JSON, the resident memory of each CAKE process of the running instance\n"
	    "in MB (the agent is not counted), their total, and how fast the total grew over\n"
	    "the last hour of samples (null until two samples a minute apart exist).\n");
}

int
cmd_stats(int argc, char **argv)
{
	static const char *const processes[][2] = {
		{ "controller", "controller" }, { "watchdog", "watchdog" }, { "operator", "operator" },
		{ "recall", "recall_db" }, { "adapter", "adapter" },
	};
	struct json_object *result, *components, *history;
	const char *config_path = NULL;
	struct instance instance;
	double total = 0, rate;
	long window;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		stats_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "memory") != 0) {
		cmd_error("unknown stats subcommand '%s': expected memory", argv[1]);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) != 0 || argv[i][9] == '\0') {
			cmd_error("unknown option '%s' for `cake stats memory`", argv[i]);
			return EXIT_USAGE;
		}
		config_path = argv[i] + 9;
	}

	rc = instance_open(&instance, config_path, STATUS_TIMEOUT_MS);
	if (rc != EXIT_OK)
		return rc;
	if (instance.status == NULL) {
		cmd_error("%s; start it with `cake start`", instance.status_error);
		instance_close(&instance);
		return EXIT_FAILURE_STATUS;
	}

	result = json_object_new_object();
	components = json_object_new_object();
	for (size_t i = 0; i < sizeof processes / sizeof processes[0]; i++) {
		double bytes = resident_bytes(instance_pid(&instance, processes[i][0]));

		json_object_object_add(components, processes[i][1],
		    bytes >= 0 ? json_tenths(bytes / BYTES_PER_MB) : NULL);
		if (bytes > 0)
			total += bytes;
	}
	json_object_object_add(result, "total_mb", json_tenths(total / BYTES_PER_MB));
	json_object_object_add(result, "components", components);

	history = instance.metrics_port != 0 ? history_fetch(&instance, "cake_process_resident_memory_bytes", 3600) : NULL;
	if (history != NULL && memory_growth(history, &rate, &window) == 0) {
		json_object_object_add(result, "growth_rate_mb_per_hour", json_tenths(rate));
		json_object_object_add(result, "growth_window_seconds", json_object_new_int64(window));
	} else {
		json_object_object_add(result, "growth_rate_mb_per_hour", NULL);
		json_object_object_add(result, "growth_window_seconds", json_object_new_int(0));
	}
	printf("%s\n", json_object_to_json_string_ext(result, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));

	json_object_put(history);
	json_object_put(result);
	instance_close(&instance);
	return EXIT_OK;
}

/* ---- cake analyze interventions ---- */

struct type_summary {
	char type[64];
	long signatures;
	long occurrences;
	long interventions;
	long successes;
};

static void
format_rate(long successes, long interventions, char *out, size_t size)
{
	if (interventions == 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.1f%%", 100.0 * (double)successes / (double)interventions);
}

static struct type_summary *
summary_for(struct type_summary *types, size_t *count, const char *type)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcmp(types[i].type, type) == 0)
			return &types[i];
	}
	if (*count == ANALYZE_TYPES_MAX)
		return &types[ANALYZE_TYPES_MAX - 1];
	memset(&types[*count], 0, sizeof types[*count]);
	snprintf(types[*count].type, sizeof types[*count].type, "%s", type);
	return &types[(*count)++];
}

/* Prints the signatures of the LAST most recently seen rows, then the totals by type. */
static int
analyze_rows(sqlite3 *db, const char *path, long last)
{
	static const char query[] =
	    "SELECT error_signature, error_type, COALESCE(severity, ''), COALESCE(file_path, ''),"
	    " COALESCE(line_number, 0), occurrence_count, intervention_count, success_count, last_seen"
	    " FROM error_memory ORDER BY last_seen DESC, id DESC LIMIT ?1";
	struct type_summary types[ANALYZE_TYPES_MAX];
	size_t type_count = 0;
	sqlite3_stmt *statement;
	long rows = 0;
	int rc;

	if (sqlite3_prepare_v2(db, query, -1, &statement, NULL) != SQLITE_OK) {
		cmd_error("cannot read error_memory in %s: %s; run `cake db verify`", path, sqlite3_errmsg(db));
		return EXIT_FAILURE_STATUS;
	}
	sqlite3_bind_int64(statement, 1, last);

	printf("%-12s  %-22s  %-8s  %-24s  %11s  %13s  %12s  %s\n", "SIGNATURE", "TYPE", "SEVERITY", "WHERE",
	    "OCCURRENCES", "INTERVENTIONS", "SUCCESS RATE", "LAST SEEN");
	while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(statement, 1);
		const char *file = (const char *)sqlite3_column_text(statement, 3);
		long line = (long)sqlite3_column_int64(statement, 4);
		long occurrences = (long)sqlite3_column_int64(statement, 5);
		long interventions = (long)sqlite3_column_int64(statement, 6);
		long successes = (long)sqlite3_column_int64(statement, 7);
		struct type_summary *summary = summary_for(types, &type_count, type);
		char where[256], rate[16], when[32];

		if (file[0] == '\0')
			snprintf(where, sizeof where, "-");
		else if (line > 0)
			snprintf(where, sizeof where, "%s:%ld", file, line);
		else
			snprintf(where, sizeof where, "%s", file);
		format_rate(successes, interventions, rate, sizeof rate);
		format_time((time_t)sqlite3_column_int64(statement, 8), when, sizeof when);
		printf("%-12.12s  %-22s  %-8s  %-24s  %11ld  %13ld  %12s  %s\n",
		    (const char *)sqlite3_column_text(statement, 0), type,
		    (const char *)sqlite3_column_text(statement, 2), where, occurrences, interventions, rate, when);

		summary->signatures++;
		summary->occurrences += occurrences;
		summary->interventions += interventions;
		summary->successes += successes;
		rows++;
	}
	sqlite3_finalize(statement);
	if (rc != SQLITE_DONE) {
		cmd_error("cannot read error_memory in %s: %s", path, sqlite3_errmsg(db));
		return EXIT_FAILURE_STATUS;
	}

	printf("\n%-22s  %10s  %11s  %13s  %9s  %12s\n", "TYPE", "SIGNATURES", "OCCURRENCES", "INTERVENTIONS",
	    "SUCCESSES", "SUCCESS RATE");
	for (size_t i = 0; i < type_count; i++) {
		char rate[16];

		format_rate(types[i].successes, types[i].interventions, rate, sizeof rate);
		printf("%-22s  %10ld  %11ld  %13ld  %9ld  %12s\n", types[i].type, types[i].signatures,
		    types[i].occurrences, types[i].interventions, types[i].successes, rate);
	}
	printf("\n%ld error signatures (the %ld most recently seen at most) from %s\n", rows, last, path);
	return EXIT_OK;
}

static void
analyze_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake analyze interventions [--last=N] [--config=FILE]\n"
	    "\n"
	    "Reads recall.db (read-only) and lists the N most recently seen error signatures\n"
	    "with their occurrences, interventions and intervention success rate, then the\n"
	    "same totals by error type.\n"
	    "\n"
	    "  --last=N  how many signatures (default %d)\n", ANALYZE_LAST_DEFAULT);
}

int
cmd_analyze(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "last", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cake_config config;
	const char *config_path = NULL;
	char home[PATH_MAX];
	long last = ANALYZE_LAST_DEFAULT;
	sqlite3 *db = NULL;
	char *end;
	int option, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		analyze_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "interventions") != 0) {
		cmd_error("unknown analyze subcommand '%s': expected interventions", argv[1]);
		return EXIT_USAGE;
	}
	optind = 2;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 'n':
			errno = 0;
			last = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || last < 1 || last > ANALYZE_LAST_MAX) {
				cmd_error("invalid --last '%s': expected a number from 1 to %d", optarg, ANALYZE_LAST_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			analyze_usage(stdout);
			return EXIT_OK;
		default:
			analyze_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		analyze_usage(stderr);
		return EXIT_USAGE;
	}

	rc = cmd_load_config(config_path, 0, &config, home, sizeof home);
	if (rc != EXIT_OK)
		return rc;
	if (access(config.database_path, F_OK) < 0) {
		cmd_error("no database at %s; run `cake db upgrade`", config.database_path);
		config_free(&config);
		return EXIT_FAILURE_STATUS;
	}
	if (sqlite3_open_v2(config.database_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		cmd_error("cannot open %s: %s", config.database_path, db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		config_free(&config);
		return EXIT_FAILURE_STATUS;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = analyze_rows(db, config.database_path, last);
	sqlite3_close(db);
	config_free(&config);
	return rc;
}
