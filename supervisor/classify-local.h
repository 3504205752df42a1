/*
 * In-process classification of agent output, for commands that run without
 * a live pipeline (`cake hook claude-code` with no instance running, `cake
 * test-intervention`). It applies the watchdog's rules to a whole text the
 * way the watchdog applies them to one stream.
 */
#ifndef CAKE_CLASSIFY_LOCAL_H
#define CAKE_CLASSIFY_LOCAL_H

#include <stddef.h>

#include "proto.h"

struct rules;

/*
 * Splits TEXT into lines and matches them with RULES, holding context from
 * line to line (tracebacks) and flushing held detections at the end.
 * Returns 1 with the first detection in DETECTION, or 0 when no rule
 * matched.
 */
int classify_text(const struct rules *rules, const char *text, size_t length,
    struct msg_detection *detection);

#endif
