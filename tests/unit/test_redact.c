// SPDX-License-Identifier: MIT
/*
 * test_redact: unit tests for card number masking. Fixed cases check exact
 * output and counts; generated PANs cover every length; a pseudo-random sweep
 * checks against the independent oracle in pan_check.h that nothing is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/compiler.h"
#include "hookstream/redact.h"
#include "pan_check.h"

/* Fill d[0, n) with a Luhn-valid number starting with prefix. */
static void
make_pan(char *d, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	memcpy(d, prefix, plen);
	for (size_t i = plen; i < n - 1; i++)
		d[i] = "0123456789"[(i * 7 + 3) % 10];
	for (int c = '0'; c <= '9'; c++) {
		d[n - 1] = (char)c;
		if (pan_check_luhn(d, n))
			break;
	}
	d[n] = '\0';
}

static void
test_luhn(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "4111111111111111", true },
		{ "4111111111111112", false },
		{ "79927398713", true },
		{ "79927398710", false },
		{ "5500000000000004", true },
		{ "4111-1111-1111-1111", true },
		{ "4111 1111 1111 1111", true },
		{ "", false },
		{ "abc", false },
		{ "0", true },
		{ "378282246310005", true },
		{ "6011111111111117", true },
		{ "4222222222222", true },
		{ "3530111333300000", true },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		bool got = redact_luhn_ok(cases[i].s, strlen(cases[i].s));

		if (got != cases[i].ok)
			fail_msg("luhn(\"%s\"): got %d, want %d", cases[i].s, got, cases[i].ok);
	}
}

static void
test_number_is_pan(void **state)
{
	static const struct {
		const char *s;
		bool pan;
	} cases[] = {
		{ "4111111111111111", true },
		{ "4222222222222", true },	   /* 13 digits */
		{ "4111111111111112", false },	   /* Luhn */
		{ "-4111111111111111", false },	   /* sign: not a card number */
		{ "4111111111111111.0", false },   /* fraction */
		{ "4111111111111111e0", false },   /* exponent */
		{ "411111111117", false },	   /* 12 digits, Luhn-valid */
		{ "41111111111111111115", false }, /* 20 digits, Luhn-valid */
		{ "0", false },
		{ "", false },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		bool got = redact_number_is_pan(cases[i].s, strlen(cases[i].s));

		if (got != cases[i].pan)
			fail_msg("number_is_pan(\"%s\"): got %d, want %d", cases[i].s, got,
				 cases[i].pan);
	}
}

static void
test_pans(void **state)
{
	static const struct {
		const char *in;
		const char *out;
		size_t count;
	} cases[] = {
		{ "4111111111111111", "411111******1111", 1 },
		{ "card 4111 1111 1111 1111 exp", "card 4111 11** **** 1111 exp", 1 },
		{ "4111-1111-1111-1111", "4111-11**-****-1111", 1 },
		{ "x4111111111111111y", "x411111******1111y", 1 },
		{ "-4111111111111111-", "-411111******1111-", 1 },
		{ "4111111111111111 ", "411111******1111 ", 1 },
		{ "4111111111111112", "4111111111111112", 0 },
		{ "411111111117", "411111111117", 0 },
		{ "41111111111111111115", "41111111111111111115", 0 },
		/* Two in one text, and two joined by one space (32 digits). */
		{ "4111 1111 1111 1111 and 5500-0000-0000-0004",
		  "4111 11** **** 1111 and 5500-00**-****-0004", 2 },
		{ "4111111111111111 5500000000000004", "411111******1111 550000******0004", 2 },
		/* A group before or after a contiguous PAN. */
		{ "1234 4111111111111111", "1234 411111******1111", 1 },
		{ "4111111111111111 1234", "411111******1111 1234", 1 },
		{ "1 4111111111111111", "1 411111******1111", 1 },
		/* Masking leaves "1234561 411111", itself Luhn-valid: masked too. */
		{ "1234561 4111111111111111", "123456* **1111******1111", 2 },
		/* Two separators in a row end a sequence: 4 + 12 digits, no PAN. */
		{ "4111  1111 1111 1111", "4111  1111 1111 1111", 0 },
		{ "4111 -1111-1111-1111", "4111 -1111-1111-1111", 0 },
		{ "4111.1111.1111.1111", "4111.1111.1111.1111", 0 },
		/* A PAN inside a longer digit run is an id, not a card. */
		{ "04111111111111111110", "04111111111111111110", 0 },
		{ "id 123412341234123412341234 end", "id 123412341234123412341234 end", 0 },
		/* A PAN among more digit groups (an expiry after it, a prefix before). */
		{ "1234 4111 1111 1111 1111", "1234 4111 11** **** 1111", 1 },
		{ "card 4111 1111 1111 1111 12 29", "card 4111 11** **** 1111 12 29", 1 },
		{ "", "", 0 },
		{ "no digits", "no digits", 0 },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		size_t len = strlen(cases[i].in), got;
		char buf[128];

		memcpy(buf, cases[i].in, len + 1);
		got = redact_pans(buf, len);
		if (strcmp(buf, cases[i].out) != 0 || got != cases[i].count)
			fail_msg("\"%s\":\n  got  \"%s\" (%zu)\n  want \"%s\" (%zu)", cases[i].in,
				 buf, got, cases[i].out, cases[i].count);
		/* Masking is idempotent. */
		got = redact_pans(buf, len);
		if (got != 0)
			fail_msg("\"%s\": second pass masked %zu more: \"%s\"", cases[i].in, got,
				 buf);
	}
}

/* Every length: 13..19 masked (alone, spaced in fours, in text), 12 and 20 not. */
static void
test_lengths(void **state)
{
	(void)state;

	for (size_t n = 12; n <= 20; n++) {
		bool pan = n >= 13 && n <= 19;
		char d[32], buf[96], want[96], grouped[40];
		size_t g = 0, got, at, len;

		make_pan(d, n, "4");
		assert_true(pan_check_luhn(d, n));
		if (redact_number_is_pan(d, n) != pan)
			fail_msg("number_is_pan(%s): got %d, want %d", d, !pan, pan);
		for (size_t i = 0; i < n; i++) {
			if (i > 0 && i % 4 == 0)
				grouped[g++] = ' ';
			grouped[g++] = d[i];
		}
		grouped[g] = '\0';
		(void)snprintf(buf, sizeof(buf), "pan=%s grouped=[%s]", d, grouped);
		len = strlen(buf);
		memcpy(want, buf, len + 1);
		if (pan) {
			for (size_t i = 0, k = 0; i < len; i++) {
				if (buf[i] < '0' || buf[i] > '9')
					continue;
				if (k % n >= 6 && k % n < n - 4)
					want[i] = '*';
				k++;
			}
		}
		got = redact_pans(buf, len);
		/* 20 grouped digits may hold a Luhn-valid window of whole groups,
		 * which is masked; the 20-digit run itself never is. */
		if (!pan && n == 20 && strncmp(buf, want, 4 + n) == 0)
			continue;
		if (strcmp(buf, want) != 0 || got != (pan ? 2 : 0))
			fail_msg("%zu digits:\n  got  \"%s\" (%zu)\n  want \"%s\" (%d)", n, buf,
				 got, want, pan ? 2 : 0);
		if (pan_check_find(buf, len, &at, &g))
			fail_msg("%zu digits: oracle finds \"%.*s\" in \"%s\"", n, (int)g, buf + at,
				 buf);
	}
}

/* Random texts over digits, separators and a letter: afterwards the oracle
 * finds nothing, the length is unchanged and only digits became '*'. */
static void
test_random_sweep(void **state)
{
	static const char alphabet[] = "0123456789012345678901234567894111 --x";
	uint32_t seed = 12345;
	(void)state;

	for (int iter = 0; iter < 20000; iter++) {
		char in[80], out[80];
		size_t len, at, n;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		/* Plant a PAN now and then so masking happens often. */
		if (iter % 3 == 0 && len >= 20) {
			size_t pos = (seed >> 8) % (len - 16);

			make_pan(out, 16, "4");
			memcpy(in + pos, out, 16);
		}
		memcpy(out, in, len);
		redact_pans(out, len);
		if (pan_check_find(out, len, &at, &n))
			fail_msg("\"%.*s\" -> \"%.*s\": oracle finds \"%.*s\" at %zu", (int)len, in,
				 (int)len, out, (int)n, out + at, at);
		for (size_t i = 0; i < len; i++)
			if (out[i] != in[i] && !(out[i] == '*' && in[i] >= '0' && in[i] <= '9'))
				fail_msg("\"%.*s\" -> \"%.*s\": byte %zu changed", (int)len, in,
					 (int)len, out, i);
		if (redact_pans(out, len) != 0)
			fail_msg("\"%.*s\": not idempotent", (int)len, in);
	}
}

/* A card number after 64 short digit groups was left in clear (fuzzing). */
static void
test_pan_after_64_groups(void **state)
{
	char buf[512];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "note=");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "1-");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "4111111111111111");
	size_t at, len;

	assert_true(redact_pans(buf, n) >= 1);
	/* Which window is masked may differ; no card number may be left. */
	if (strstr(buf, "4111111111111111") != NULL || pan_check_find(buf, n, &at, &len))
		fail_msg("not masked: %s", buf);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_luhn),	     cmocka_unit_test(test_number_is_pan),
		cmocka_unit_test(test_pans),	     cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_random_sweep), cmocka_unit_test(test_pan_after_64_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
