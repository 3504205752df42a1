/*
 * Error signatures: the SHA-256 (hex) of an error's normalized text, so that
 * the same error seen twice with different addresses, timestamps, temporary
 * paths or line numbers maps to the same row in recall.db.
 *
 * SIGNATURE_VERSION names the normalization. It is stored with every row and
 * changes whenever normalize() or the hashed fields change, so rows written
 * by an older version are never regrouped under new signatures.
 *
 * Version 2 adds the name of the error's file (its last path component) to
 * the hash when the rule says the file counts: "SyntaxError: invalid syntax"
 * in app.py and in util.py are two errors, but "No module named 'requests'"
 * is one error whichever file imports the module.
 */
#ifndef CAKE_SIGNATURE_H
#define CAKE_SIGNATURE_H

#include <stddef.h>

#define SIGNATURE_VERSION 2

/*
 * Writes the normalized form of TEXT (LENGTH bytes) to OUT, always
 * NUL-terminated and truncated to SIZE - 1 bytes. Returns the length written.
 */
size_t signature_normalize(const char *text, size_t length, char *out, size_t size);

/* Computes the signature of ERROR_TYPE plus the normalized TEXT into OUT (64 hex digits and a NUL). */
void signature_compute(const char *error_type, const char *text, size_t length, char out[65]);

/*
 * As signature_compute(), with the last path component of FILE_PATH hashed
 * too. A NULL or empty FILE_PATH gives the same signature as
 * signature_compute().
 */
void signature_compute_at(const char *error_type, const char *file_path, const char *text,
    size_t length, char out[65]);

#endif
