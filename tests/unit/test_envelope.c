// SPDX-License-Identifier: MIT
/*
 * test_envelope: unit tests for the CloudEvents envelope. The output is parsed
 * back with jansson and every attribute checked; the payload must appear byte
 * for byte as "data" (it is spliced, never re-serialised), even when jansson
 * itself could not represent its numbers.
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
#include "hookstream/envelope.h"

#define FFFD "\xef\xbf\xbd"

static const char *const attr_order[] = {
	"specversion", "id",	       "source",	  "type",
	"subject",     "time",	       "datacontenttype", "category",
	"status",      "senderstatus", "sourceip",	  "receivedat",
	"rule",	       "data",
};

static struct envelope_input
full_input(const char *data)
{
	struct envelope_input in = {
		.id = "E2E-1:ACSC:CLEARED",
		.source = "/webhook/payment",
		.type = "payment.status.succeeded",
		.subject = "E2E-1",
		.time = "2024-05-01T10:00:00Z",
		.category = "payment.status",
		.status = "succeeded",
		.senderstatus = "ACSC",
		.sourceip = "192.0.2.7",
		.receivedat = "2024-05-01T10:00:01.123Z",
		.rule = "duitnow_pay_status",
		.data = data,
		.data_len = strlen(data),
	};

	return in;
}

/* Build, and check the framing every envelope must have: NUL at len, and the
 * payload's exact bytes as the last member. Returns the text (free()). */
static char *
build_checked(const struct envelope_input *in, size_t *lenp)
{
	static const char key[] = ",\"data\":";
	size_t len = 0xdead;
	char *out = envelope_build(in, &len);
	const char *found;

	assert_non_null(out);
	if (strlen(out) != len)
		fail_msg("length %zu, but strlen of the output is %zu: %s", len, strlen(out), out);
	if (len < sizeof(key) + in->data_len + 1 ||
	    memcmp(out + len - 1 - in->data_len - (sizeof(key) - 1), key, sizeof(key) - 1) != 0 ||
	    memcmp(out + len - 1 - in->data_len, in->data, in->data_len) != 0 ||
	    out[len - 1] != '}') {
		print_error("output: %s\n", out);
		fail_msg("output does not end with ,\"data\":%.*s}", (int)in->data_len, in->data);
	}
	/* The payload bytes occur in the output as one contiguous substring. */
	found = strstr(out, in->data);
	if (found == NULL) {
		print_error("output: %s\n", out);
		fail_msg("data %.*s not found in the output", (int)in->data_len, in->data);
	}
	*lenp = len;
	return out;
}

static json_t *
parse_checked(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (v == NULL)
		fail_msg("output is not valid JSON (%s at %d): %s", jerr.text, jerr.position, text);
	assert_true(json_is_object(v));
	return v;
}

static void
expect_attr(const json_t *obj, const char *key, const char *want)
{
	const json_t *v = json_object_get(obj, key);

	if (want == NULL) {
		if (v != NULL) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);

			fail_msg("attribute \"%s\" present (%s), want it omitted", key, s);
		}
		return;
	}
	if (!json_is_string(v))
		fail_msg("attribute \"%s\" missing or not a string, want \"%s\"", key, want);
	if (strlen(want) != json_string_length(v) || strcmp(json_string_value(v), want) != 0)
		fail_msg("attribute \"%s\": got \"%s\", want \"%s\"", key, json_string_value(v),
			 want);
}

static void
test_exact_text(void **state)
{
	static const char want[] =
		"{\"specversion\":\"1.0\",\"id\":\"E2E-1:ACSC:CLEARED\",\"source\":"
		"\"/webhook/payment\",\"type\":\"payment.status.succeeded\",\"subject\":\"E2E-1\","
		"\"time\":\"2024-05-01T10:00:00Z\",\"datacontenttype\":\"application/json\","
		"\"category\":\"payment.status\",\"status\":\"succeeded\",\"senderstatus\":"
		"\"ACSC\","
		"\"sourceip\":\"192.0.2.7\",\"receivedat\":\"2024-05-01T10:00:01.123Z\","
		"\"rule\":\"duitnow_pay_status\",\"data\":{\"a\":1}}";
	struct envelope_input in = full_input("{\"a\":1}");
	size_t len;
	char *out = build_checked(&in, &len);
	(void)state;

	assert_string_equal(out, want);
	assert_int_equal(len, sizeof(want) - 1);
	free(out);
}

static void
test_all_attributes(void **state)
{
	static const char data[] =
		"{\"endToEndId\":\"E2E-1\",\"paymentStatus\":{\"code\":\"ACSC\"}}";
	struct envelope_input in = full_input(data);
	json_t *obj, *want_data;
	const char *key;
	json_t *v;
	size_t len, i = 0;
	char *out = build_checked(&in, &len);
	(void)state;

	obj = parse_checked(out, len);
	expect_attr(obj, "specversion", "1.0");
	expect_attr(obj, "id", in.id);
	expect_attr(obj, "source", in.source);
	expect_attr(obj, "type", in.type);
	expect_attr(obj, "subject", in.subject);
	expect_attr(obj, "time", in.time);
	expect_attr(obj, "datacontenttype", "application/json");
	expect_attr(obj, "category", in.category);
	expect_attr(obj, "status", in.status);
	expect_attr(obj, "senderstatus", in.senderstatus);
	expect_attr(obj, "sourceip", in.sourceip);
	expect_attr(obj, "receivedat", in.receivedat);
	expect_attr(obj, "rule", in.rule);
	assert_int_equal(json_object_size(obj), HS_ARRAY_LEN(attr_order));
	/* Members in the documented order, data last. */
	json_object_foreach(obj, key, v)
	{
		assert_true(i < HS_ARRAY_LEN(attr_order));
		if (strcmp(key, attr_order[i]) != 0)
			fail_msg("member %zu is \"%s\", want \"%s\"", i, key, attr_order[i]);
		i++;
	}
	want_data = json_loads(data, 0, NULL);
	assert_non_null(want_data);
	assert_true(json_equal(json_object_get(obj, "data"), want_data));
	json_decref(want_data);
	json_decref(obj);
	free(out);
}

/* NULL subject, status and senderstatus are left out; NULL time is receivedat. */
static void
test_optional_attributes_omitted(void **state)
{
	struct envelope_input in = full_input("[]");
	json_t *obj;
	size_t len;
	char *out;
	(void)state;

	in.subject = NULL;
	in.status = NULL;
	in.senderstatus = NULL;
	in.time = NULL;
	out = build_checked(&in, &len);
	obj = parse_checked(out, len);
	expect_attr(obj, "subject", NULL);
	expect_attr(obj, "status", NULL);
	expect_attr(obj, "senderstatus", NULL);
	expect_attr(obj, "time", "2024-05-01T10:00:01.123Z");
	expect_attr(obj, "receivedat", "2024-05-01T10:00:01.123Z");
	expect_attr(obj, "id", in.id);
	assert_int_equal(json_object_size(obj), HS_ARRAY_LEN(attr_order) - 3);
	assert_null(strstr(out, "\"subject\""));
	assert_null(strstr(out, "\"status\""));
	assert_null(strstr(out, "\"senderstatus\""));
	json_decref(obj);
	free(out);

	/* Each one alone. */
	for (int which = 0; which < 3; which++) {
		static const char *const keys[] = { "subject", "status", "senderstatus" };

		in = full_input("{}");
		if (which == 0)
			in.subject = NULL;
		else if (which == 1)
			in.status = NULL;
		else
			in.senderstatus = NULL;
		out = build_checked(&in, &len);
		obj = parse_checked(out, len);
		expect_attr(obj, keys[which], NULL);
		expect_attr(obj, "time", "2024-05-01T10:00:00Z");
		assert_int_equal(json_object_size(obj), HS_ARRAY_LEN(attr_order) - 1);
		json_decref(obj);
		free(out);
	}
}

/* Attribute text that needs escaping comes back unchanged. */
static void
test_attributes_escaped(void **state)
{
	static const char *const values[] = {
		"quote \" backslash \\ slash /",
		"control \x01\x1f\t\n\r\b\f",
		"</script><!--",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
		"\xef\xbf\xbd already a replacement",
		"",
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(values); i++) {
		struct envelope_input in = full_input("{}");
		json_t *obj;
		size_t len;
		char *out;

		in.subject = values[i];
		in.senderstatus = values[i];
		in.id = values[i];
		out = build_checked(&in, &len);
		obj = parse_checked(out, len);
		expect_attr(obj, "subject", values[i]);
		expect_attr(obj, "senderstatus", values[i]);
		expect_attr(obj, "id", values[i]);
		json_decref(obj);
		free(out);
	}
}

static void
test_invalid_utf8_replaced(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "ab\xff"
		  "cd",
		  "ab" FFFD "cd" },
		{ "\xc3\x28", FFFD "(" },
		{ "\xc3", FFFD },
		{ "x\x80y", "x" FFFD "y" },
		/* Overlong, surrogate, above U+10FFFF, 5-byte form: every byte replaced. */
		{ "\xc0\xaf", FFFD FFFD },
		{ "\xed\xa0\x80", FFFD FFFD FFFD },
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD },
		/* Cut short at the end of the string. */
		{ "ok\xe2\x82", "ok" FFFD FFFD },
		/* Valid sequences around bad bytes survive. */
		{ "\xc3\xa9\xff\xe2\x82\xac\xfe\xf0\x9d\x84\x9e",
		  "\xc3\xa9" FFFD "\xe2\x82\xac" FFFD "\xf0\x9d\x84\x9e" },
		{ "\xff\xff\xff", FFFD FFFD FFFD },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct envelope_input in = full_input("{\"ok\":true}");
		json_t *obj;
		size_t len;
		char *out;

		in.subject = cases[i].in;
		in.senderstatus = cases[i].in;
		in.source = cases[i].in;
		out = build_checked(&in, &len);
		obj = parse_checked(out, len);
		expect_attr(obj, "subject", cases[i].want);
		expect_attr(obj, "senderstatus", cases[i].want);
		expect_attr(obj, "source", cases[i].want);
		/* The other attributes are untouched. */
		expect_attr(obj, "id", "E2E-1:ACSC:CLEARED");
		expect_attr(obj, "rule", "duitnow_pay_status");
		json_decref(obj);
		free(out);
	}
}

/*
 * Numbers jansson cannot hold (1e400 overflows a double, 2^64 + 1 a json_int_t)
 * must still be stored exactly as sent. The output cannot be parsed by jansson
 * as a whole, so the attributes are checked on the text before ",\"data\":".
 */
static void
test_data_bytes_preserved(void **state)
{
	static const char *const datas[] = {
		"{\"amount\":1e400,\"id\":18446744073709551617}",
		"{\"amount\":10.10,\"minor\":1050,\"neg\":-0.0,\"exp\":1E+2,\"pi\":3."
		"14159265358979323846264}",
		"{ \"spaced\" :\t[ 1 , 2 ]\n,\r\n\"s\":\"\\u00e9\\ud83d\\ude00\\/\"}",
		"{\"k\":\"caf\xc3\xa9\",\"dup_free\":null}",
		"[1e400,18446744073709551617]",
		"\"just a string\"",
		"18446744073709551617",
		"null",
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(datas); i++) {
		struct envelope_input in = full_input(datas[i]);
		size_t len, alen;
		char *out = build_checked(&in, &len);
		char *attrs;
		json_t *obj;

		/* "{...attrs" + ",\"data\":" + data + "}" */
		alen = len - 1 - in.data_len - strlen(",\"data\":");
		attrs = malloc(alen + 2);
		assert_non_null(attrs);
		memcpy(attrs, out, alen);
		attrs[alen] = '}';
		attrs[alen + 1] = '\0';
		obj = parse_checked(attrs, alen + 1);
		expect_attr(obj, "id", in.id);
		expect_attr(obj, "rule", in.rule);
		assert_int_equal(json_object_size(obj), HS_ARRAY_LEN(attr_order) - 1);
		json_decref(obj);
		free(attrs);
		free(out);
	}
}

/* The data slice is taken by length, not up to a NUL. */
static void
test_data_by_length(void **state)
{
	static const char buf[] = "{\"a\":1}GARBAGE";
	struct envelope_input in = full_input(buf);
	json_t *obj;
	size_t len;
	char *out;
	(void)state;

	in.data_len = 7;
	out = envelope_build(&in, &len);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	assert_null(strstr(out, "GARBAGE"));
	obj = parse_checked(out, len);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(obj, "data"), "a")), 1);
	json_decref(obj);
	free(out);
}

/* A large payload is copied whole. */
static void
test_large_data(void **state)
{
	const size_t n = 1 << 20;
	char *data = malloc(n + 16);
	struct envelope_input in;
	size_t len;
	char *out;
	(void)state;

	assert_non_null(data);
	data[0] = '"';
	for (size_t i = 1; i < n - 1; i++)
		data[i] = (char)('a' + i % 26);
	data[n - 1] = '"';
	data[n] = '\0';
	in = full_input(data);
	out = build_checked(&in, &len);
	assert_int_equal(memcmp(out + len - 1 - n, data, n), 0);
	free(out);
	free(data);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_text),
		cmocka_unit_test(test_all_attributes),
		cmocka_unit_test(test_optional_attributes_omitted),
		cmocka_unit_test(test_attributes_escaped),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_data_bytes_preserved),
		cmocka_unit_test(test_data_by_length),
		cmocka_unit_test(test_large_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
