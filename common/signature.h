/*
 * Error signatures: the SHA-256 (hex) of an error's normalized text, so that
 * the same error seen twice with different addresses, timestamps, temporary
 * paths or line numbers maps to the same row in recall.db.
 *
 * SIGNATURE_VERSION names the normalization. It is stored with every row and
 * changes whenever normalize() changes, so rows written by an older version
 * are never regrouped under new signatures.
 */
#ifndef CAKE_SIGNATURE_H
#define CAKE_SIGNATURE_H

#include <stddef.h>

#define SIGNATURE_VERSION 1

/*
 * Writes the normalized form of TEXT (LENGTH bytes) to OUT, always
 * NUL-terminated and truncated to SIZE - 1 bytes. Returns the length written.
 */
size_t signature_normalize(const char *text, size_t length, char *out, size_t size);

/* Computes the signature of ERROR_TYPE plus the normalized TEXT into OUT (64 hex digits and a NUL). */
void signature_compute(const char *error_type, const char *text, size_t length, char out[65]);

#endif
