/*
 * SHA-256 against the FIPS 180-4 example vectors and padding boundaries.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sha256.h"

static void
hex_of(const unsigned char digest[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 0x0f];
	}
	out[64] = '\0';
}

Test(sha256, empty_string)
{
	char hex[65];

	sha256_hex("", 0, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, abc)
{
	char hex[65];

	sha256_hex("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, two_blocks_448_bits)
{
	const char *message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[65];

	sha256_hex(message, strlen(message), hex);
	cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, two_blocks_896_bits)
{
	const char *message = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	char hex[65];

	sha256_hex(message, strlen(message), hex);
	cr_assert_str_eq(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

Test(sha256, million_a)
{
	size_t length = 1000000;
	char *message = malloc(length);
	char hex[65];

	cr_assert_not_null(message);
	memset(message, 'a', length);
	sha256_hex(message, length, hex);
	free(message);

	cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, million_a_in_odd_chunks)
{
	char chunk[997];
	unsigned char digest[32];
	char hex[65];
	struct sha256 ctx;
	size_t left = 1000000;
	size_t take;

	memset(chunk, 'a', sizeof chunk);
	sha256_init(&ctx);
	while (left > 0) {
		take = left < sizeof chunk ? left : sizeof chunk;
		sha256_update(&ctx, chunk, take);
		left -= take;
	}
	sha256_final(&ctx, digest);
	hex_of(digest, hex);

	cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around 56 and 64 bytes exercise the one-block and two-block padding. */
Test(sha256, padding_boundaries)
{
	static const struct {
		size_t length;
		const char *hex;
	} cases[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
	};
	char message[65];
	char hex[65];

	memset(message, 'a', sizeof message);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sha256_hex(message, cases[i].length, hex);
		cr_assert_str_eq(hex, cases[i].hex, "length %zu", cases[i].length);
	}
}

Test(sha256, split_updates_match_one_shot)
{
	const char *message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t length = strlen(message);
	unsigned char digest[32];
	char expected[65];
	char hex[65];
	struct sha256 ctx;

	sha256_hex(message, length, expected);
	for (size_t split = 0; split <= length; split++) {
		sha256_init(&ctx);
		sha256_update(&ctx, message, split);
		sha256_update(&ctx, message + split, length - split);
		sha256_final(&ctx, digest);
		hex_of(digest, hex);
		cr_assert_str_eq(hex, expected, "split at %zu", split);
	}
}
