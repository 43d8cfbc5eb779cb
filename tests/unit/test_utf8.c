// SPDX-License-Identifier: MIT
/*
 * test_utf8: the strict UTF-8 check against a byte-at-a-time reference
 * written from Unicode table 3-7, at every alignment (the check reads ASCII
 * eight bytes at a time): the same verdict, the same offset of the first bad
 * byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hookstream/utf8.h"

/* Length of the well-formed sequence at s (table 3-7), 0 when it is not. */
static size_t
ref_seq(const unsigned char *s, size_t left)
{
	static const struct {
		unsigned char lead_lo, lead_hi, second_lo, second_hi;
		size_t n;
	} rows[] = {
		{ 0x00, 0x7f, 0, 0, 1 },       { 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 }, { 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lead_lo || s[0] > rows[r].lead_hi)
			continue;
		if (rows[r].n > left)
			return 0;
		if (rows[r].n > 1 && (s[1] < rows[r].second_lo || s[1] > rows[r].second_hi))
			return 0;
		for (size_t k = 2; k < rows[r].n; k++)
			if (s[k] < 0x80 || s[k] > 0xbf)
				return 0;
		return rows[r].n;
	}
	return 0;
}

static void
check_same(const unsigned char *s, size_t len)
{
	size_t i = 0, bad = (size_t)-1;
	const char *why = NULL;
	bool ok;

	while (i < len) {
		size_t n = ref_seq(s + i, len - i);

		if (n == 0)
			break;
		i += n;
	}
	ok = utf8_check(s, len, &bad, &why);
	if (i == len) {
		assert_true(ok);
	} else {
		assert_false(ok);
		assert_int_equal(bad, i);
		assert_non_null(why);
	}
}

/* One non-ASCII sequence (good or bad) placed at every offset of ASCII text
 * of every length up to 40: the word-at-a-time path meets it at every
 * position within and across words. */
static void
test_sequence_at_every_offset(void **state)
{
	static const char *const seqs[] = {
		"\xc3\xa9",
		"\xe2\x82\xac",
		"\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf",
		"\x80",
		"\xc0\xaf",
		"\xc3",
		"\xe0\x80\x80",
		"\xed\xa0\x80",
		"\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80",
		"\xff",
		"\xe2\x82",
		"\xf0\x9f\x98",
	};
	unsigned char buf[64];

	(void)state;
	for (size_t q = 0; q < sizeof(seqs) / sizeof(seqs[0]); q++) {
		size_t sl = strlen(seqs[q]);

		for (size_t len = sl; len <= 40; len++) {
			for (size_t at = 0; at + sl <= len; at++) {
				memset(buf, 'a', len);
				memcpy(buf + at, seqs[q], sl);
				check_same(buf, len);
			}
		}
	}
}

/* Random bytes, mostly ASCII with UTF-8-ish bytes sprinkled in, at random
 * lengths and alignments within a larger buffer. */
static void
test_random_against_reference(void **state)
{
	static const unsigned char pool[] = { 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2,
					      0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf4, 0xf5 };
	unsigned char buf[96];
	unsigned int seed = 12345;

	(void)state;
	for (int round = 0; round < 200000; round++) {
		size_t off = (size_t)(rand_r(&seed) % 8), len = (size_t)(rand_r(&seed) % 80);
		int rate = 1 + rand_r(&seed) % 20;

		for (size_t i = 0; i < len; i++)
			buf[off + i] = rand_r(&seed) % rate == 0
					       ? pool[rand_r(&seed) % sizeof(pool)]
					       : (unsigned char)(0x20 + rand_r(&seed) % 0x5f);
		check_same(buf + off, len);
	}
}

static void
test_empty_and_ascii(void **state)
{
	size_t bad = 0;
	const char *why = NULL;
	const char *text = "{\"checkoutId\":\"CHK-1\",\"amount\":{\"value\":\"125.50\"}}";

	(void)state;
	assert_true(utf8_check((const unsigned char *)"", 0, &bad, &why));
	assert_true(utf8_check((const unsigned char *)text, strlen(text), &bad, &why));
	assert_false(utf8_check((const unsigned char *)"abcdefgh\xff", 9, &bad, &why));
	assert_int_equal(bad, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_ascii),
		cmocka_unit_test(test_sequence_at_every_offset),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
