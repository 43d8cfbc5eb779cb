// SPDX-License-Identifier: MIT
/*
 * test_jsonw: the hot-path JSON writer against jansson, its reference. Every
 * string jansson accepts must come out exactly as jansson's compact dump
 * writes it; invalid UTF-8 must come out as U+FFFD per bad byte, as the
 * envelope did before; commas and nesting must give text jansson loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/compiler.h"
#include "hookstream/jsonw.h"
#include "hookstream/utf8.h"

#define FFFD "\xef\xbf\xbd"

static char *
string_text(const char *s, size_t n, size_t *len)
{
	struct jsonw w;

	jsonw_init(&w, 1);
	jsonw_string(&w, s, n);
	return jsonw_take(&w, len);
}

/* jsonw's text for s must be jansson's. */
static void
assert_like_jansson(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);
	char *want, *got;
	size_t len;

	assert_non_null(v);
	want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	assert_non_null(want);
	got = string_text(s, n, &len);
	assert_int_equal(len, strlen(want));
	if (strcmp(got, want) != 0)
		fail_msg("jsonw wrote %s, jansson %s", got, want);
	free(got);
	free(want);
	json_decref(v);
}

static void
test_strings_like_jansson(void **state)
{
	static const char *const cases[] = {
		"",
		"plain ASCII",
		"quote \" backslash \\ slash /",
		"\b\f\n\r\t",
		"\x01\x02\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xb3",
		"\xe2\x80\xa8 line separator",
		"E2E-1:ACSC:CLEARED",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_like_jansson(cases[i], strlen(cases[i]));
	/* An embedded NUL. */
	assert_like_jansson("a\0b", 3);
}

/* Pseudo-random strings over a byte alphabet rich in escapes and UTF-8:
 * valid ones must match jansson, invalid ones must still load. */
static void
test_random_strings(void **state)
{
	static const unsigned char alphabet[] = { 'a',	'"',  '\\', '/',  0,	1,    '\n', 0x1f,
						  0x7f, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0,
						  0xf0, 0x9f, 0x92, 0xb3, 0xff, 0x80, '4' };
	uint32_t x = 12345;
	size_t valid = 0;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		unsigned char s[24];
		size_t n, len, bad;
		const char *why;
		json_error_t jerr;
		json_t *back;
		char *text;

		x = x * 1103515245u + 12345u;
		n = (x >> 16) % sizeof(s);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			s[i] = alphabet[(x >> 16) % sizeof(alphabet)];
		}
		if (utf8_check(s, n, &bad, &why)) {
			assert_like_jansson((const char *)s, n);
			valid++;
			continue;
		}
		text = string_text((const char *)s, n, &len);
		assert_true(utf8_check((const unsigned char *)text, len, &bad, &why));
		back = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		if (back == NULL)
			fail_msg("jansson cannot load %s: %s", text, jerr.text);
		json_decref(back);
		free(text);
	}
	/* The alphabet must exercise both paths. */
	assert_true(valid > 1000);
	assert_true(valid < 19000);
}

/* Every byte at every offset of a string longer than two words: the scan
 * (eight bytes at a time) stops at each byte that is not plain. */
static void
test_byte_at_every_offset(void **state)
{
	enum { LEN = 21 };
	(void)state;

	for (unsigned int b = 0; b < 0x100; b++) {
		for (size_t off = 0; off < LEN; off++) {
			char s[LEN], want[LEN + 8];
			char *got;
			size_t len;

			memset(s, 'a', LEN);
			s[off] = (char)b;
			if (b < 0x80) {
				assert_like_jansson(s, LEN);
				continue;
			}
			/* A lone byte >= 0x80 is invalid UTF-8: U+FFFD in its place. */
			want[0] = '"';
			memset(want + 1, 'a', off);
			memcpy(want + 1 + off, FFFD, 3);
			memset(want + 4 + off, 'a', LEN - 1 - off);
			want[LEN + 3] = '"';
			want[LEN + 4] = '\0';
			got = string_text(s, LEN, &len);
			assert_string_equal(got, want);
			free(got);
		}
	}
}

static void
test_invalid_utf8_replaced(void **state)
{
	size_t len;
	char *got;

	(void)state;
	got = string_text("a\xff"
			  "b\xc3",
			  4, &len);
	assert_string_equal(got, "\"a" FFFD "b" FFFD "\"");
	free(got);
	/* An encoded surrogate: each of its three bytes is replaced. */
	got = string_text("\xed\xa0\x80", 3, &len);
	assert_string_equal(got, "\"" FFFD FFFD FFFD "\"");
	free(got);
}

static void
test_structure(void **state)
{
	struct jsonw w;
	size_t len;
	char *text;

	(void)state;
	jsonw_init(&w, 1); /* grows from the smallest buffer */
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "status", "accepted");
	jsonw_member_str(&w, "skipped", NULL);
	jsonw_member_uint(&w, "n", 18446744073709551615ull);
	jsonw_key(&w, "events");
	jsonw_array_begin(&w);
	for (int i = 0; i < 3; i++) {
		jsonw_object_begin(&w);
		jsonw_member_uint(&w, "i", (unsigned long long)i);
		jsonw_member_strn(&w, "s", "x\"y", 3);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_key(&w, "empty");
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_member_raw(&w, "data", "{\"a\":[1,2]}", 11);
	jsonw_object_end(&w);
	text = jsonw_take(&w, &len);
	assert_int_equal(len, strlen(text));
	assert_string_equal(text,
			    "{\"status\":\"accepted\",\"n\":18446744073709551615,\"events\":"
			    "[{\"i\":0,\"s\":\"x\\\"y\"},{\"i\":1,\"s\":\"x\\\"y\"},"
			    "{\"i\":2,\"s\":\"x\\\"y\"}],\"empty\":{},\"data\":{\"a\":[1,2]}}");
	free(text);
	assert_null(w.buf);
	jsonw_fini(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_like_jansson),
		cmocka_unit_test(test_random_strings),
		cmocka_unit_test(test_byte_at_every_offset),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_structure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
