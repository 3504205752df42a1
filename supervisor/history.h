/*
 * Metric history: the supervisor samples its own metrics exposition at a
 * fixed interval and keeps the samples in memory, so `cake metrics
 * --period` and `cake stats memory` can report how a series changed.
 *
 * Every series of the exposition is kept except histogram buckets (a
 * histogram's _sum and _count are kept). Samples older than the window are
 * overwritten; series beyond HISTORY_SERIES_MAX are not recorded.
 */
#ifndef CAKE_HISTORY_H
#define CAKE_HISTORY_H

#include <stddef.h>
#include <time.h>

#define HISTORY_INTERVAL_SECONDS 60
#define HISTORY_SAMPLES_MAX 1440	/* 24 hours at one sample a minute */
#define HISTORY_SERIES_MAX 256

struct history;
struct json_object;

/* Returns an empty history, or NULL when out of memory. */
struct history *history_create(void);
void history_free(struct history *history);

/*
 * Records every series of the exposition TEXT (LENGTH bytes) as one sample
 * at time NOW. Series absent from TEXT have no value in this sample.
 * Returns 0, or -1 when out of memory.
 */
int history_add(struct history *history, time_t now, const char *text, size_t length);

/*
 * Returns the samples at or after SINCE of every series named NAME, oldest
 * first, as
 *   {"name":"cake_interventions_total","type":"counter",
 *    "interval_seconds":60,"first_sample":1700000000,
 *    "series":[{"labels":{"type":"ImportError",...},"samples":[[1700000000,0],...]}]}
 * A sample in which the series was absent is left out. "type" is the family's
 * TYPE ("counter", "gauge", "histogram", "untyped"); "first_sample" is the
 * time of the oldest sample at or after SINCE, or null when there is none.
 * The caller puts the reference.
 */
struct json_object *history_json(const struct history *history, const char *name, time_t since);

#endif
