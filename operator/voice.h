/*
 * The operator's voice: turns a detection into the one-line correction sent
 * to the agent, "Operator (CAKE): Stop. {Action}. {Reference}.".
 *
 * The action starts with Run, Check, Fix, Try or See; a fix that is a bare
 * command ("pip install requests") becomes "Run pip install requests". The
 * reference becomes "See {reference}". The same detection always gives the
 * same text, and the text never contains a newline.
 */
#ifndef CAKE_VOICE_H
#define CAKE_VOICE_H

#include <stddef.h>

#include "proto.h"

#define VOICE_PREFIX "Operator (CAKE): Stop."

/* Renders DETECTION into OUT. Returns the length, or -1 when OUT is too small. */
int voice_render(const struct msg_detection *detection, char *out, size_t size);

#endif
