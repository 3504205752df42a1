/* SHA-256 (FIPS 180-4), for error signatures; not for secrets. */
#ifndef CAKE_SHA256_H
#define CAKE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t state[8];
	uint64_t length;	/* bytes hashed so far */
	unsigned char block[64];
	size_t used;		/* bytes in block */
};

void sha256_init(struct sha256 *ctx);
void sha256_update(struct sha256 *ctx, const void *data, size_t length);
void sha256_final(struct sha256 *ctx, unsigned char digest[32]);

/* Hashes DATA and writes the digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t length, char out[65]);

#endif
