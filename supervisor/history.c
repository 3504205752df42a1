/*
 * Metric history; see history.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "history.h"

#define FAMILIES_MAX 128
#define TYPE_MAX 16

struct history_series {
	char *name;
	char *labels;			/* the label block as exposed, "{...}", or "" */
	double values[HISTORY_SAMPLES_MAX];	/* NAN where the series was absent */
};

struct history_family {
	char *name;
	char type[TYPE_MAX];
};

struct history {
	time_t times[HISTORY_SAMPLES_MAX];
	size_t next;			/* slot of the next sample */
	size_t count;			/* samples kept */
	struct history_series *series[HISTORY_SERIES_MAX];
	size_t series_count;
	struct history_family families[FAMILIES_MAX];
	size_t family_count;
};

struct history *
history_create(void)
{
	return calloc(1, sizeof(struct history));
}

void
history_free(struct history *history)
{
	if (history == NULL)
		return;
	for (size_t i = 0; i < history->series_count; i++) {
		free(history->series[i]->name);
		free(history->series[i]->labels);
		free(history->series[i]);
	}
	for (size_t i = 0; i < history->family_count; i++)
		free(history->families[i].name);
	free(history);
}

static const char *
family_type(const struct history *history, const char *name, size_t length)
{
	for (size_t i = 0; i < history->family_count; i++) {
		const struct history_family *family = &history->families[i];

		if (strlen(family->name) == length && strncmp(family->name, name, length) == 0)
			return family->type;
	}
	return NULL;
}

/* Records "# TYPE NAME TYPE", so the type of each sample's family is known. */
static void
add_family(struct history *history, const char *line, size_t length)
{
	char name[256], type[TYPE_MAX];

	if (length >= 512 || history->family_count == FAMILIES_MAX)
		return;
	if (sscanf(line, "# TYPE %255s %15s", name, type) != 2)
		return;
	if (family_type(history, name, strlen(name)) != NULL)
		return;
	history->families[history->family_count].name = strdup(name);
	if (history->families[history->family_count].name == NULL)
		return;
	snprintf(history->families[history->family_count].type, TYPE_MAX, "%s", type);
	history->family_count++;
}

/* Returns 1 when NAME is the _bucket series of a histogram family. */
static int
is_bucket(const struct history *history, const char *name, size_t length)
{
	static const char suffix[] = "_bucket";
	const char *type;

	if (length <= sizeof suffix - 1 || strncmp(name + length - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0)
		return 0;
	type = family_type(history, name, length - (sizeof suffix - 1));
	return type != NULL && strcmp(type, "histogram") == 0;
}

static struct history_series *
find_series(struct history *history, const char *name, size_t name_length,
    const char *labels, size_t labels_length)
{
	struct history_series *series;

	for (size_t i = 0; i < history->series_count; i++) {
		series = history->series[i];
		if (strlen(series->name) == name_length && strncmp(series->name, name, name_length) == 0 &&
		    strlen(series->labels) == labels_length && strncmp(series->labels, labels, labels_length) == 0)
			return series;
	}
	if (history->series_count == HISTORY_SERIES_MAX)
		return NULL;

	series = malloc(sizeof *series);
	if (series == NULL)
		return NULL;
	series->name = strndup(name, name_length);
	series->labels = strndup(labels, labels_length);
	if (series->name == NULL || series->labels == NULL) {
		free(series->name);
		free(series->labels);
		free(series);
		return NULL;
	}
	for (size_t i = 0; i < HISTORY_SAMPLES_MAX; i++)
		series->values[i] = NAN;
	history->series[history->series_count++] = series;
	return series;
}

/* Returns the end of the label block that starts at P ('{'), skipping quoted values. */
static const char *
labels_end(const char *p, const char *end)
{
	int quoted = 0;

	for (; p < end; p++) {
		if (quoted && *p == '\\')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '}')
			return p + 1;
	}
	return NULL;
}

static void
add_sample_line(struct history *history, size_t slot, const char *line, size_t length)
{
	const char *end = line + length;
	const char *name_end = line;
	const char *labels = NULL, *labels_stop = NULL;
	struct history_series *series;
	char number[64];
	char *number_end;
	double value;

	while (name_end < end && *name_end != '{' && *name_end != ' ')
		name_end++;
	if (name_end == line || name_end == end)
		return;
	if (*name_end == '{') {
		labels = name_end;
		labels_stop = labels_end(labels, end);
		if (labels_stop == NULL || labels_stop >= end || *labels_stop != ' ')
			return;
	} else {
		labels = labels_stop = name_end;
	}
	if (is_bucket(history, line, (size_t)(name_end - line)))
		return;

	snprintf(number, sizeof number, "%.*s", (int)(end - labels_stop - 1), labels_stop + 1);
	value = strtod(number, &number_end);
	if (number_end == number || (*number_end != '\0' && *number_end != ' '))
		return;

	series = find_series(history, line, (size_t)(name_end - line), labels, (size_t)(labels_stop - labels));
	if (series != NULL)
		series->values[slot] = value;
}

int
history_add(struct history *history, time_t now, const char *text, size_t length)
{
	size_t slot = history->next;
	const char *end = text + length;

	history->times[slot] = now;
	for (size_t i = 0; i < history->series_count; i++)
		history->series[i]->values[slot] = NAN;

	for (const char *line = text; line < end;) {
		const char *newline = memchr(line, '\n', (size_t)(end - line));
		size_t line_length = (size_t)((newline != NULL ? newline : end) - line);

		if (line_length > 7 && memcmp(line, "# TYPE ", 7) == 0)
			add_family(history, line, line_length);
		else if (line_length > 0 && line[0] != '#')
			add_sample_line(history, slot, line, line_length);
		line += line_length + 1;
	}

	history->next = (slot + 1) % HISTORY_SAMPLES_MAX;
	if (history->count < HISTORY_SAMPLES_MAX)
		history->count++;
	return 0;
}

/* Turns a label block such as {type="Import\"Error",success="true"} into a JSON object. */
static struct json_object *
labels_json(const char *labels)
{
	struct json_object *object = json_object_new_object();
	const char *p = labels;

	if (*p != '{')
		return object;
	p++;
	while (*p != '\0' && *p != '}') {
		const char *equals = strchr(p, '=');
		char key[128], value[256];
		size_t used = 0;

		if (equals == NULL || equals[1] != '"')
			break;
		snprintf(key, sizeof key, "%.*s", (int)(equals - p), p);
		for (p = equals + 2; *p != '\0' && *p != '"'; p++) {
			char c = *p;

			if (c == '\\' && p[1] != '\0') {
				p++;
				c = *p == 'n' ? '\n' : *p;
			}
			if (used < sizeof value - 1)
				value[used++] = c;
		}
		value[used] = '\0';
		json_object_object_add(object, key, json_object_new_string(value));
		if (*p == '"')
			p++;
		if (*p == ',')
			p++;
	}
	return object;
}

/* Returns the family type of series NAME: its own TYPE, or that of the histogram it belongs to. */
static const char *
series_type(const struct history *history, const char *name)
{
	static const char *const suffixes[] = { "_sum", "_count" };
	size_t length = strlen(name);
	const char *type = family_type(history, name, length);

	if (type != NULL)
		return type;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t suffix = strlen(suffixes[i]);

		if (length > suffix && strcmp(name + length - suffix, suffixes[i]) == 0) {
			type = family_type(history, name, length - suffix);
			if (type != NULL)
				return type;
		}
	}
	return "untyped";
}

struct json_object *
history_json(const struct history *history, const char *name, time_t since)
{
	struct json_object *result = json_object_new_object();
	struct json_object *all_series = json_object_new_array();
	size_t oldest = (history->next + HISTORY_SAMPLES_MAX - history->count) % HISTORY_SAMPLES_MAX;
	struct json_object *first = NULL;

	for (size_t i = 0; i < history->count && first == NULL; i++) {
		size_t slot = (oldest + i) % HISTORY_SAMPLES_MAX;

		if (history->times[slot] >= since)
			first = json_object_new_int64((int64_t)history->times[slot]);
	}
	json_object_object_add(result, "name", json_object_new_string(name));
	json_object_object_add(result, "type", json_object_new_string(series_type(history, name)));
	json_object_object_add(result, "interval_seconds", json_object_new_int(HISTORY_INTERVAL_SECONDS));
	json_object_object_add(result, "first_sample", first);

	for (size_t s = 0; s < history->series_count; s++) {
		const struct history_series *series = history->series[s];
		struct json_object *entry, *samples;

		if (strcmp(series->name, name) != 0)
			continue;
		samples = json_object_new_array();
		for (size_t i = 0; i < history->count; i++) {
			size_t slot = (oldest + i) % HISTORY_SAMPLES_MAX;
			struct json_object *sample;

			if (history->times[slot] < since || isnan(series->values[slot]))
				continue;
			sample = json_object_new_array();
			json_object_array_add(sample, json_object_new_int64((int64_t)history->times[slot]));
			json_object_array_add(sample, json_object_new_double(series->values[slot]));
			json_object_array_add(samples, sample);
		}
		entry = json_object_new_object();
		json_object_object_add(entry, "labels", labels_json(series->labels));
		json_object_object_add(entry, "samples", samples);
		json_object_array_add(all_series, entry);
	}
	json_object_object_add(result, "series", all_series);
	return result;
}
