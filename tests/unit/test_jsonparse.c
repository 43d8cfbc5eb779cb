// SPDX-License-Identifier: MIT
/*
 * test_jsonparse: unit tests for the strict JSON parser. Valid bodies are
 * checked by their tree and stored payload, which must parse again to the same
 * tree and hold no card number; invalid ones by code, message and position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookstream/compiler.h"
#include "hookstream/jsonparse.h"
#include "json_check.h"

/* A literal and its length, so bodies may hold NUL bytes. */
#define B(s) s, sizeof(s) - 1

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *
dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	assert_non_null(s);
	return s;
}

/*
 * What every successful parse must give: a payload that parses again, to the
 * same tree, with nothing left to mask. Returns the payload (free()).
 */
static char *
check_payload(const char *in, size_t len, const struct jsonparse_result *res, bool raw_pan,
	      size_t *out_len)
{
	struct jsonparse_result again;
	struct jsonparse_error err;
	char *out = jsonparse_apply_edits(in, len, res, out_len);
	const char *hit;
	size_t at, n;

	if (jsonparse(out, *out_len, JSONPARSE_DEFAULT_MAX_DEPTH, &again, &err) != 0)
		fail_msg("payload \"%s\" of \"%.*s\" does not parse: %s %s at %zu", out, (int)len,
			 in, err.code, err.message, err.offset);
	if (again.redactions != 0 || again.nedits != 0)
		fail_msg("payload \"%s\": %zu more redactions, %zu edits", out, again.redactions,
			 again.nedits);
	if (!json_check_equal(again.root, res->root)) {
		char *a = dump(res->root), *b = dump(again.root);

		fail_msg("payload \"%s\" parses to another tree:\n  first %s\n  again %s", out, a,
			 b);
	}
	if (!raw_pan && pan_check_find(out, *out_len, &at, &n))
		fail_msg("payload \"%s\" holds a card number at %zu: \"%.*s\"", out, at, (int)n,
			 out + at);
	if ((hit = json_check_find_pan(res->root, raw_pan)) != NULL)
		fail_msg("tree of \"%.*s\" holds a card number: \"%s\"", (int)len, in, hit);
	jsonparse_result_fini(&again);
	return out;
}

static void
test_valid(void **state)
{
	static const struct {
		const char *in;
		const char *out;  /* stored payload; NULL: the input unchanged */
		const char *tree; /* compact dump of the tree */
		size_t redactions;
		size_t nedits;
		bool raw_pan; /* a number that is deliberately not a card number */
	} cases[] = {
		{ "{\"a\":1}", NULL, "{\"a\":\"1\"}", 0, 0, false },
		{ "{}", NULL, "{}", 0, 0, false },
		{ "[]", NULL, "[]", 0, 0, false },
		{ "[[],{}]", NULL, "[[],{}]", 0, 0, false },
		/* Any value is a root; the caller rejects non-objects itself. */
		{ "[1,\"x\",null]", NULL, "[\"1\",\"x\",null]", 0, 0, false },
		{ "\"s\"", NULL, "\"s\"", 0, 0, false },
		{ "null", NULL, "null", 0, 0, false },
		{ "true", NULL, "true", 0, 0, false },
		{ "false", NULL, "false", 0, 0, false },
		{ "42", NULL, "\"42\"", 0, 0, false },
		{ " \t\r\n{ \"a\" : [ 1 , 2 ] }\n", NULL, "{\"a\":[\"1\",\"2\"]}", 0, 0, false },
		/* Numbers keep their lexeme, whatever its size. */
		{ "[0,-0,-0.0e+0,1E-2,1e400,18446744073709551617,-0.0000000000000000000001e-999]",
		  NULL,
		  "[\"0\",\"-0\",\"-0.0e+0\",\"1E-2\",\"1e400\",\"18446744073709551617\","
		  "\"-0.0000000000000000000001e-999\"]",
		  0, 0, false },
		{ "{\"amount\":125.5,\"amount_s\":\"125.50\",\"minor\":12550}", NULL,
		  "{\"amount\":\"125.5\",\"amount_s\":\"125.50\",\"minor\":\"12550\"}", 0, 0,
		  false },
		{ "{\"amount\":125.50}", NULL, "{\"amount\":\"125.50\"}", 0, 0, false },
		/* Member order is kept. */
		{ "{\"b\":1,\"a\":2,\"c\":3}", NULL, "{\"b\":\"1\",\"a\":\"2\",\"c\":\"3\"}", 0, 0,
		  false },
		{ "{\"x\":{\"a\":1},\"a\":1}", NULL, "{\"x\":{\"a\":\"1\"},\"a\":\"1\"}", 0, 0,
		  false },
		{ "[{\"a\":1},{\"a\":2}]", NULL, "[{\"a\":\"1\"},{\"a\":\"2\"}]", 0, 0, false },
		{ "{\"a\\u0000b\":1,\"a\\u0000c\":2}", NULL,
		  "{\"a\\u0000b\":\"1\",\"a\\u0000c\":\"2\"}", 0, 0, false },
		/* Unicode: raw, escaped, surrogate pairs, limits of UTF-8. */
		{ "{\"cjk\":\"中文字\",\"ta\":\"தமிழ்\",\"emoji\":\"😀\",\"pair\":"
		  "\"\\ud83d\\ude00\"}",
		  NULL, "{\"cjk\":\"中文字\",\"ta\":\"தமிழ்\",\"emoji\":\"😀\",\"pair\":\"😀\"}", 0, 0,
		  false },
		{ "\"\\u4e2d\\u00e9\\uDBFF\\uDFFF\"", NULL, "\"中é\xf4\x8f\xbf\xbf\"", 0, 0,
		  false },
		{ "\"\xed\x9f\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbf\"", NULL,
		  "\"\xed\x9f\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbf\"", 0, 0, false },
		{ "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", NULL, "\"\\\"\\\\/\\b\\f\\n\\r\\t\"", 0, 0,
		  false },
		{ "\"a\\u0000b\"", NULL, "\"a\\u0000b\"", 0, 0, false },
		/* A BOM: stripped at the start, a character inside a string. */
		{ "\xef\xbb\xbf{\"a\":1}", "{\"a\":1}", "{\"a\":\"1\"}", 0, 0, false },
		{ "\"\xef\xbb\xbf\"", NULL, "\"\xef\xbb\xbf\"", 0, 0, false },
		/* Card numbers: strings, text, dashes, numbers, escapes, keys. */
		{ "{\"card\":\"4111111111111111\"}", "{\"card\":\"411111******1111\"}",
		  "{\"card\":\"411111******1111\"}", 1, 1, false },
		{ "{\"note\":\"card 4111 1111 1111 1111 exp\"}",
		  "{\"note\":\"card 4111 11** **** 1111 exp\"}",
		  "{\"note\":\"card 4111 11** **** 1111 exp\"}", 1, 1, false },
		{ "{\"pan\":\"4111-1111-1111-1111\"}", "{\"pan\":\"4111-11**-****-1111\"}",
		  "{\"pan\":\"4111-11**-****-1111\"}", 1, 1, false },
		{ "{\"pan\":4111111111111111}", "{\"pan\":\"411111******1111\"}",
		  "{\"pan\":\"411111******1111\"}", 1, 1, false },
		{ "{\"pan\" : 4111111111111111 }", "{\"pan\" : \"411111******1111\" }",
		  "{\"pan\":\"411111******1111\"}", 1, 1, false },
		{ "{\"pan\":\"\\u0034111111111111111\"}", "{\"pan\":\"411111******1111\"}",
		  "{\"pan\":\"411111******1111\"}", 1, 1, false },
		{ "{\"4111111111111111\":true}", "{\"411111******1111\":true}",
		  "{\"411111******1111\":true}", 1, 1, false },
		{ "[\"4222222222222\",4222222222222,\"4111111111111111110\",4111111111111111110]",
		  "[\"422222***2222\",\"422222***2222\",\"411111*********1110\","
		  "\"411111*********1110\"]",
		  "[\"422222***2222\",\"422222***2222\",\"411111*********1110\","
		  "\"411111*********1110\"]",
		  4, 4, false },
		{ "[4111111111111111,\"5500000000000004\",{\"4111111111111111\":5500000000000004}]",
		  "[\"411111******1111\",\"550000******0004\",{\"411111******1111\":"
		  "\"550000******0004\"}]",
		  "[\"411111******1111\",\"550000******0004\",{\"411111******1111\":"
		  "\"550000******0004\"}]",
		  4, 4, false },
		{ "\xef\xbb\xbf[4111111111111111, \"x\"]", "[\"411111******1111\", \"x\"]",
		  "[\"411111******1111\",\"x\"]", 1, 1, false },
		/* The masked string is re-encoded: escapes stay valid, \u00e9 becomes raw. */
		{ "\"tab\\there 4111111111111111 \\u00e9\"", "\"tab\\there 411111******1111 é\"",
		  "\"tab\\there 411111******1111 é\"", 1, 1, false },
		{ "\"\\\"4111111111111111\\\\\"", "\"\\\"411111******1111\\\\\"",
		  "\"\\\"411111******1111\\\\\"", 1, 1, false },
		{ "\"\\u00004111111111111111\"", "\"\\u0000411111******1111\"",
		  "\"\\u0000411111******1111\"", 1, 1, false },
		/* Not card numbers: Luhn fails, too short, too long. */
		{ "{\"a\":\"4111111111111112\",\"b\":4111111111111112}", NULL,
		  "{\"a\":\"4111111111111112\",\"b\":\"4111111111111112\"}", 0, 0, false },
		{ "[\"411111111117\",411111111117,\"41111111111111111115\",41111111111111111115]",
		  NULL,
		  "[\"411111111117\",\"411111111117\",\"41111111111111111115\","
		  "\"41111111111111111115\"]",
		  0, 0, false },
		/* The escape's hex digits and the text spell 1234567890123452 (Luhn-valid):
		 * the value holds no card number, but the raw token is rewritten. */
		{ "\"\\u1234567890123452\"", "\"ሴ567890123452\"", "\"ሴ567890123452\"", 0, 1,
		  false },
		/* A number whose value is a card number, however it is written,
		 * becomes the masked value as a string (redact.h). */
		{ "[-4111111111111111,4111111111111111.0,4.111111111111111E15]",
		  "[\"-411111******1111\",\"411111******1111\",\"411111******1111\"]",
		  "[\"-411111******1111\",\"411111******1111\",\"411111******1111\"]", 3, 3,
		  false },
		/* A fraction's digits are no card number: the value is none. */
		{ "[0.4111111111111111,4111111111111111.5]", NULL,
		  "[\"0.4111111111111111\",\"4111111111111111.5\"]", 0, 0, true },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		const char *in = cases[i].in;
		size_t len = strlen(in), out_len;
		struct jsonparse_result res;
		struct jsonparse_error err;
		const char *want_out = cases[i].out ? cases[i].out : in;
		char *tree, *out;

		if (jsonparse(in, len, JSONPARSE_DEFAULT_MAX_DEPTH, &res, &err) != 0)
			fail_msg("\"%s\": %s: %s at %zu (%u:%u)", in, err.code, err.message,
				 err.offset, err.line, err.column);
		tree = dump(res.root);
		if (strcmp(tree, cases[i].tree) != 0)
			fail_msg("\"%s\":\n  tree %s\n  want %s", in, tree, cases[i].tree);
		if (res.redactions != cases[i].redactions || res.nedits != cases[i].nedits)
			fail_msg("\"%s\": %zu redactions, %zu edits; want %zu, %zu", in,
				 res.redactions, res.nedits, cases[i].redactions, cases[i].nedits);
		for (size_t k = 1; k < res.nedits; k++)
			assert_true(res.edits[k - 1].offset + res.edits[k - 1].len <=
				    res.edits[k].offset);
		out = check_payload(in, len, &res, cases[i].raw_pan, &out_len);
		if (out_len != strlen(want_out) || memcmp(out, want_out, out_len) != 0)
			fail_msg("\"%s\":\n  payload %s\n  want    %s", in, out, want_out);
		assert_int_equal(res.bom, memcmp(in, "\xef\xbb\xbf", 3) == 0 ? 3 : 0);
		free(out);
		free(tree);
		jsonparse_result_fini(&res);
	}
}

#define UTF8_TRUNC "truncated UTF-8 sequence"
#define EOF_VALUE  "unexpected end of input; expected a JSON value"
#define NOT_VALUE  "expected a JSON value"

static void
test_invalid(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *code;
		const char *message;
		size_t offset;
		unsigned int line, column;
	} cases[] = {
		/* Numbers. */
		{ B("01"), "invalid_json", "number has a leading zero", 0, 1, 1 },
		{ B("[-01]"), "invalid_json", "number has a leading zero", 1, 1, 2 },
		{ B("1."), "invalid_json",
		  "unexpected end of input; expected a digit after the decimal point", 2, 1, 3 },
		{ B("[1.e5]"), "invalid_json", "expected a digit after the decimal point", 3, 1,
		  4 },
		{ B(".5"), "invalid_json", NOT_VALUE, 0, 1, 1 },
		{ B("1e"), "invalid_json",
		  "unexpected end of input; expected a digit in the exponent", 2, 1, 3 },
		{ B("[1e+]"), "invalid_json", "expected a digit in the exponent", 4, 1, 5 },
		{ B("+1"), "invalid_json", NOT_VALUE, 0, 1, 1 },
		{ B("-"), "invalid_json", "unexpected end of input; expected a digit after '-'", 1,
		  1, 2 },
		{ B("NaN"), "invalid_json", NOT_VALUE, 0, 1, 1 },
		{ B("Infinity"), "invalid_json", NOT_VALUE, 0, 1, 1 },
		{ B("-Infinity"), "invalid_json", "expected a digit after '-'", 1, 1, 2 },
		{ B("0x10"), "invalid_json", "unexpected data after the JSON value", 1, 1, 2 },
		/* JSON5 and friends. */
		{ B("[1,]"), "invalid_json", "trailing comma before ']'", 3, 1, 4 },
		{ B("{\"a\":1,}"), "invalid_json", "trailing comma before '}'", 7, 1, 8 },
		{ B("[,1]"), "invalid_json", NOT_VALUE, 1, 1, 2 },
		{ B("{,}"), "invalid_json", "expected a string key (in double quotes)", 1, 1, 2 },
		{ B("{'a':1}"), "invalid_json", "strings must use double quotes", 1, 1, 2 },
		{ B("['a']"), "invalid_json", "strings must use double quotes", 1, 1, 2 },
		{ B("{a:1}"), "invalid_json", "expected a string key (in double quotes)", 1, 1, 2 },
		{ B("// c\n{}"), "invalid_json", "comments are not allowed in JSON", 0, 1, 1 },
		{ B("/* c */ {}"), "invalid_json", "comments are not allowed in JSON", 0, 1, 1 },
		{ B("{\"a\":1 /* c */}"), "invalid_json",
		  "expected ',' or '}' after an object member", 7, 1, 8 },
		{ B("{} // c"), "invalid_json", "unexpected data after the JSON value", 3, 1, 4 },
		/* Structure. */
		{ B("[1 2]"), "invalid_json", "expected ',' or ']' after an array element", 3, 1,
		  4 },
		{ B("{\"a\" 1}"), "invalid_json", "expected ':' after an object key", 5, 1, 6 },
		{ B("{\"a\":1 \"b\":2}"), "invalid_json",
		  "expected ',' or '}' after an object member", 7, 1, 8 },
		{ B("{\n  \"a\": 1,\n  \"b\" 2\n}"), "invalid_json",
		  "expected ':' after an object key", 18, 3, 7 },
		{ B("{} x"), "invalid_json", "unexpected data after the JSON value", 3, 1, 4 },
		{ B("1 2"), "invalid_json", "unexpected data after the JSON value", 2, 1, 3 },
		{ B("{}{}"), "invalid_json", "unexpected data after the JSON value", 2, 1, 3 },
		{ B("tru"), "invalid_json", "invalid literal (expected true)", 0, 1, 1 },
		{ B("[nul]"), "invalid_json", "invalid literal (expected null)", 1, 1, 2 },
		{ B("True"), "invalid_json", NOT_VALUE, 0, 1, 1 },
		{ B("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"), "invalid_json", NOT_VALUE, 0, 1,
		  1 },
		/* Truncated bodies. */
		{ B("{\"a\":"), "invalid_json", EOF_VALUE, 5, 1, 6 },
		{ B("["), "invalid_json", EOF_VALUE, 1, 1, 2 },
		{ B("{"), "invalid_json",
		  "unexpected end of input; expected a string key (in double quotes)", 1, 1, 2 },
		{ B("{\"a\":1"), "invalid_json",
		  "unexpected end of input; expected ',' or '}' after an object member", 6, 1, 7 },
		{ B("[\"abc"), "invalid_json",
		  "unexpected end of input in the string opened at byte 1", 5, 1, 6 },
		{ B("\"ab\\"), "invalid_json", "unexpected end of input in an escape", 4, 1, 5 },
		{ B("\"\\u12"), "invalid_json", "\\u must be followed by four hex digits", 1, 1,
		  2 },
		/* Strings. */
		{ B("\"\\ud800\""), "invalid_json", "lone surrogate escape", 1, 1, 2 },
		{ B("\"\\udc00\""), "invalid_json", "lone surrogate escape", 1, 1, 2 },
		{ B("\"\\ud800\\u0041\""), "invalid_json", "lone surrogate escape", 1, 1, 2 },
		{ B("\"\\ud800x\""), "invalid_json", "lone surrogate escape", 1, 1, 2 },
		{ B("\"a\\udbff\""), "invalid_json", "lone surrogate escape", 2, 1, 3 },
		{ B("\"\\ude00\\ud83d\""), "invalid_json", "lone surrogate escape", 1, 1, 2 },
		{ B("\"\\ud800\\ud800\""), "invalid_json", "lone surrogate escape", 1, 1, 2 },
		{ B("\"\\u00g0\""), "invalid_json", "\\u must be followed by four hex digits", 1, 1,
		  2 },
		{ B("\"\\x\""), "invalid_json", "invalid escape in a string", 1, 1, 2 },
		{ B("\"\\U0041\""), "invalid_json", "invalid escape in a string", 1, 1, 2 },
		{ B("\"a\tb\""), "invalid_json", "control character in a string (must be escaped)",
		  2, 1, 3 },
		{ B("\"a\nb\""), "invalid_json", "control character in a string (must be escaped)",
		  2, 1, 3 },
		{ B("\"a\0b\""), "invalid_json", "control character in a string (must be escaped)",
		  2, 1, 3 },
		/* Empty bodies. */
		{ B(""), "empty_body", "the body is empty", 0, 1, 1 },
		{ B(" \n\t\r"), "empty_body", "the body is empty", 4, 2, 3 },
		{ B("\xef\xbb\xbf"), "empty_body", "the body is empty", 3, 1, 4 },
		{ B("\xef\xbb\xbf  "), "empty_body", "the body is empty", 5, 1, 6 },
		/* UTF-8, reported at the first byte of the bad sequence. */
		{ B("\"\xc0\x80\""), "invalid_utf8", "overlong UTF-8 encoding", 1, 1, 2 },
		{ B("\"\xc1\xbf\""), "invalid_utf8", "overlong UTF-8 encoding", 1, 1, 2 },
		{ B("\"\xe0\x80\x80\""), "invalid_utf8", "overlong UTF-8 encoding", 1, 1, 2 },
		{ B("\"\xf0\x80\x80\x80\""), "invalid_utf8", "overlong UTF-8 encoding", 1, 1, 2 },
		{ B("\"\xed\xa0\x80\""), "invalid_utf8", "UTF-16 surrogate encoded in UTF-8", 1, 1,
		  2 },
		{ B("\"\xed\xbf\xbf\""), "invalid_utf8", "UTF-16 surrogate encoded in UTF-8", 1, 1,
		  2 },
		{ B("\"\xf4\x90\x80\x80\""), "invalid_utf8", "UTF-8 code point above U+10FFFF", 1,
		  1, 2 },
		{ B("\"\xf5\x80\x80\x80\""), "invalid_utf8", "invalid UTF-8 lead byte", 1, 1, 2 },
		{ B("\"\xff\""), "invalid_utf8", "invalid UTF-8 lead byte", 1, 1, 2 },
		{ B("\x80"), "invalid_utf8", "unexpected UTF-8 continuation byte", 0, 1, 1 },
		{ B("\"\xe2\x82\""), "invalid_utf8", UTF8_TRUNC, 1, 1, 2 },
		{ B("\"\xe2\x82"), "invalid_utf8", UTF8_TRUNC, 1, 1, 2 },
		{ B("\"\xf0\x9f\x98\""), "invalid_utf8", UTF8_TRUNC, 1, 1, 2 },
		{ B("\"ok\xc3"), "invalid_utf8", UTF8_TRUNC, 3, 1, 4 },
		{ B("\xef\xbb\xbf\"\xc0\""), "invalid_utf8", "overlong UTF-8 encoding", 4, 1, 5 },
		{ B("{\"a\":\"ok\",\n\"b\":\"x\xff\"}"), "invalid_utf8", "invalid UTF-8 lead byte",
		  17, 2, 7 },
		/* Encoding problems win over syntax errors earlier in the body. */
		{ B("[1,] \"\xc0\x80\""), "invalid_utf8", "overlong UTF-8 encoding", 6, 1, 7 },
		/* A BOM anywhere but the start is not whitespace. */
		{ B(" \xef\xbb\xbf{}"), "invalid_json", NOT_VALUE, 1, 1, 2 },
		{ B("\xef\xbb\xbf\xef\xbb\xbf{}"), "invalid_json", NOT_VALUE, 3, 1, 4 },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct jsonparse_result res;
		struct jsonparse_error err;
		int rc;

		memset(&res, 0x5a, sizeof(res));
		rc = jsonparse(cases[i].in, cases[i].len, JSONPARSE_DEFAULT_MAX_DEPTH, &res, &err);
		if (rc != -EINVAL)
			fail_msg("case %zu \"%.*s\": ret %d, want -EINVAL", i, (int)cases[i].len,
				 cases[i].in, rc);
		if (strcmp(err.code, cases[i].code) != 0 ||
		    strcmp(err.message, cases[i].message) != 0 || err.offset != cases[i].offset ||
		    err.line != cases[i].line || err.column != cases[i].column)
			fail_msg("case %zu \"%.*s\":\n  got  %s \"%s\" at %zu (%u:%u)\n"
				 "  want %s \"%s\" at %zu (%u:%u)",
				 i, (int)cases[i].len, cases[i].in, err.code, err.message,
				 err.offset, err.line, err.column, cases[i].code, cases[i].message,
				 cases[i].offset, cases[i].line, cases[i].column);
		assert_null(res.root);
		assert_null(res.edits);
		assert_int_equal(res.nedits, 0);
		jsonparse_result_fini(&res);
	}
}

static void
test_duplicate_keys(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *message;
		size_t offset;
	} cases[] = {
		{ B("{\"a\":1,\"a\":2}"), "duplicate key \"a\"", 7 },
		{ B("{\"a\":1,\"b\":2,\"a\":3}"), "duplicate key \"a\"", 13 },
		/* Compared after unescaping. */
		{ B("{\"a\":1,\"\\u0061\":2}"), "duplicate key \"a\"", 7 },
		{ B("{\"é\":1,\"\\u00e9\":2}"), "duplicate key \"é\"", 8 },
		{ B("{\"x\":{\"\\ud83d\\ude00\":1,\"😀\":2}}"), "duplicate key \"😀\"", 23 },
		/* NUL does not cut the key short; quotes and controls are escaped. */
		{ B("{\"a\\u0000b\":1,\"a\\u0000b\":2}"), "duplicate key \"a\\x00b\"", 14 },
		{ B("{\"q\\\"\\\\\\n\":1,\"q\\\"\\\\\\n\":2}"), "duplicate key \"q\\\"\\\\\\x0a\"",
		  13 },
		/* The message shows the key masked, never the card number. */
		{ B("{\"4111111111111111\":1,\"4111111111111111\":2}"),
		  "duplicate key \"411111******1111\"", 22 },
		/* Two card numbers that mask alike would collide in the tree: refused. */
		{ B("{\"4111111111111111\":1,\"4111111000071111\":2}"),
		  "duplicate key \"411111******1111\"", 22 },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct jsonparse_result res;
		struct jsonparse_error err;

		assert_int_equal(jsonparse(cases[i].in, cases[i].len, JSONPARSE_DEFAULT_MAX_DEPTH,
					   &res, &err),
				 -EINVAL);
		if (strcmp(err.code, "duplicate_key") != 0 ||
		    strcmp(err.message, cases[i].message) != 0 || err.offset != cases[i].offset)
			fail_msg("\"%s\":\n  got  %s \"%s\" at %zu\n  want duplicate_key \"%s\" at "
				 "%zu",
				 cases[i].in, err.code, err.message, err.offset, cases[i].message,
				 cases[i].offset);
	}
}

/* Long keys are cut to 64 bytes on a character boundary, with "...". */
static void
test_duplicate_key_long(void **state)
{
	static const struct {
		const char *unit; /* as written in the body */
		const char *look; /* as shown in the message */
		size_t decoded;	  /* bytes once decoded */
		size_t shown;	  /* units shown; 0: fewer, as the message has room */
	} cases[] = {
		{ "k", "k", 1, 64 },   { "é", "é", 2, 32 },
		{ "中", "中", 3, 21 }, /* 63 bytes: the 22nd would cross 64 */
		{ "😀", "😀", 4, 16 },   { "\\u0001", "\\x01", 1, 0 },
	};
	(void)state;

	for (size_t c = 0; c < HS_ARRAY_LEN(cases); c++) {
		char key[2048], body[4200];
		struct jsonparse_result res;
		struct jsonparse_error err;
		size_t k = 0, ulen = strlen(cases[c].unit), llen = strlen(cases[c].look), n = 0;
		const char *m;

		for (int i = 0; i < 200; i++) {
			memcpy(key + k, cases[c].unit, ulen);
			k += ulen;
		}
		key[k] = '\0';
		(void)snprintf(body, sizeof(body), "{\"%s\":1,\"%s\":2}", key, key);
		assert_int_equal(jsonparse(body, strlen(body), 64, &res, &err), -EINVAL);
		assert_string_equal(err.code, "duplicate_key");
		m = err.message;
		if (strncmp(m, "duplicate key \"", 15) != 0)
			fail_msg("\"%s\" x 200: message \"%s\"", cases[c].unit, m);
		for (m += 15; strncmp(m, cases[c].look, llen) == 0; m += llen)
			n++;
		if (strcmp(m, "...\"") != 0 || n * cases[c].decoded > 64 ||
		    (cases[c].shown ? n != cases[c].shown : n < 16))
			fail_msg("\"%s\" x 200: message \"%s\" shows %zu, want %zu", cases[c].unit,
				 err.message, n, cases[c].shown);
	}
}

/* A hash lookup per key: 100k members parse in well under a second. */
static void
test_many_keys(void **state)
{
	size_t n = 100000, cap = n * 24 + 64, len = 0;
	char *body = malloc(cap);
	struct jsonparse_result res;
	struct jsonparse_error err;
	double t0, ms;
	(void)state;

	assert_non_null(body);
	body[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, cap - len, "%s\"key%zu\":%zu", i ? "," : "", i,
					i);
	memcpy(body + len, "}", 2);
	t0 = now_ms();
	assert_int_equal(jsonparse(body, len + 1, 64, &res, &err), 0);
	ms = now_ms() - t0;
	assert_int_equal(json_object_size(res.root), n);
	jsonparse_result_fini(&res);
	if (ms > 2000)
		fail_msg("100k keys took %.0f ms", ms);

	len += (size_t)snprintf(body + len, cap - len, ",\"key77777\":0}");
	t0 = now_ms();
	assert_int_equal(jsonparse(body, len, 64, &res, &err), -EINVAL);
	ms = now_ms() - t0;
	assert_string_equal(err.code, "duplicate_key");
	assert_string_equal(err.message, "duplicate key \"key77777\"");
	if (ms > 2000)
		fail_msg("100k keys with a duplicate took %.0f ms", ms);
	free(body);
}

/* depth containers: "[[[...]]]" or {"a":{"a":...}}, closed or not. */
static char *
nested(size_t depth, bool object, bool closed, size_t *len)
{
	char *s = malloc(depth * 6 + 8);
	size_t n = 0;

	assert_non_null(s);
	for (size_t i = 0; i < depth; i++) {
		if (object) {
			memcpy(s + n, "{\"a\":", 5);
			n += 5;
		} else {
			s[n++] = '[';
		}
	}
	if (object)
		s[n++] = '1';
	for (size_t i = 0; closed && i < depth; i++)
		s[n++] = object ? '}' : ']';
	*len = n;
	return s;
}

static void
test_depth(void **state)
{
	static const struct {
		size_t depth;
		unsigned int max;
		bool ok;
	} cases[] = {
		{ 1, 1, true },
		{ 2, 1, false },
		{ 1, 0, false },
		{ 5, 5, true },
		{ 6, 5, false },
		{ 64, 64, true },
		{ 65, 64, false },
		{ 10000, 64, false },
		{ 1024, UINT_MAX, true },
		{ 1025, UINT_MAX, false },
		{ 10000, UINT_MAX, false },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		for (int kind = 0; kind < 4; kind++) {
			bool object = kind & 1, closed = kind & 2;
			struct jsonparse_result res;
			struct jsonparse_error err;
			size_t len, limit = cases[i].max < 1024 ? cases[i].max : 1024;
			char *s = nested(cases[i].depth, object, closed, &len);
			double t0 = now_ms(), ms;
			int rc = jsonparse(s, len, cases[i].max, &res, &err);

			ms = now_ms() - t0;
			if (cases[i].ok && closed) {
				if (rc != 0)
					fail_msg("depth %zu max %u %s: %s %s", cases[i].depth,
						 cases[i].max, object ? "objects" : "arrays",
						 err.code, err.message);
				jsonparse_result_fini(&res);
			} else if (cases[i].ok) {
				assert_string_equal(err.code, "invalid_json");
			} else {
				size_t at = limit * (object ? 5 : 1);

				if (rc != -EINVAL || strcmp(err.code, "too_deep") != 0 ||
				    err.offset != at)
					fail_msg("depth %zu max %u %s: rc %d %s at %zu, want "
						 "too_deep at %zu",
						 cases[i].depth, cases[i].max,
						 object ? "objects" : "arrays", rc,
						 rc ? err.code : "ok", rc ? err.offset : 0, at);
			}
			if (ms > 200)
				fail_msg("depth %zu took %.0f ms", cases[i].depth, ms);
			free(s);
		}
	}
}

/* Every proper prefix of an object body is rejected, never crashes. */
static void
test_truncated_prefixes(void **state)
{
	static const char body[] =
		"\xef\xbb\xbf {\"a\": [1, -2.5e+3, true, false, null, \"s\\u00e9\\ud83d\\ude00\"],"
		" \"card\": 4111111111111111, \"t\": \"4111 1111 1111 1111\", \"n\": {}}";
	(void)state;

	for (size_t len = 0; len < sizeof(body) - 1; len++) {
		struct jsonparse_result res;
		struct jsonparse_error err;
		bool blank = len <= 4;

		if (jsonparse(body, len, 64, &res, &err) != -EINVAL)
			fail_msg("prefix of %zu bytes parsed", len);
		if (strcmp(err.code, blank ? "empty_body" : "invalid_json") != 0 &&
		    !(strcmp(err.code, "invalid_utf8") == 0 && len < 3))
			fail_msg("prefix of %zu bytes: %s %s", len, err.code, err.message);
		assert_null(res.root);
	}
}

static void
test_nul_kept(void **state)
{
	static const char body[] = "{\"k\\u0000\":\"a\\u0000b\"}";
	struct jsonparse_result res;
	struct jsonparse_error err;
	json_t *v;
	void *it;
	(void)state;

	assert_int_equal(jsonparse(B(body), 64, &res, &err), 0);
	assert_int_equal(json_object_size(res.root), 1);
	it = json_object_iter(res.root);
	assert_int_equal(json_object_iter_key_len(it), 2);
	assert_memory_equal(json_object_iter_key(it), "k", 2);
	v = json_object_iter_value(it);
	assert_int_equal(json_string_length(v), 3);
	assert_memory_equal(json_string_value(v), "a\0b", 3);
	jsonparse_result_fini(&res);
}

/* Every ASCII byte at every offset of a string longer than two words: the
 * string scan (8 bytes at a time) stops at exactly '"', '\\' and controls. */
static void
test_string_byte_at_every_offset(void **state)
{
	enum { LEN = 21 };
	(void)state;

	for (unsigned int b = 0; b < 0x80; b++) {
		for (size_t off = 0; off < LEN; off++) {
			char body[LEN + 4];
			struct jsonparse_result res;
			struct jsonparse_error err;
			int rc;

			body[0] = '[';
			body[1] = '"';
			memset(body + 2, 'a', LEN);
			body[2 + off] = (char)b;
			body[2 + LEN] = '"';
			body[3 + LEN] = ']';
			rc = jsonparse(body, sizeof(body), 64, &res, &err);
			if (b == '"' || b == '\\') {
				assert_int_equal(rc, -EINVAL);
				continue;
			}
			if (b < 0x20) {
				assert_int_equal(rc, -EINVAL);
				assert_int_equal(err.offset, 2 + off);
				assert_non_null(strstr(err.message, "control character"));
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(json_string_length(json_array_get(res.root, 0)), LEN);
			assert_memory_equal(json_string_value(json_array_get(res.root, 0)),
					    body + 2, LEN);
			jsonparse_result_fini(&res);
		}
	}
}

static void
test_fini_null_and_twice(void **state)
{
	struct jsonparse_result res;
	struct jsonparse_error err;
	(void)state;

	jsonparse_result_fini(NULL);
	assert_int_equal(jsonparse(B("[4111111111111111]"), 64, &res, &err), 0);
	jsonparse_result_fini(&res);
	assert_null(res.root);
	assert_null(res.edits);
	jsonparse_result_fini(&res);
	/* err is optional. */
	assert_int_equal(jsonparse(B("[1,]"), 64, &res, NULL), -EINVAL);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_duplicate_key_long),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_nul_kept),
		cmocka_unit_test(test_string_byte_at_every_offset),
		cmocka_unit_test(test_fini_null_and_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
