// SPDX-License-Identifier: MIT
/*
 * test_fields: redact_fields / drop_fields applied by jsonparse_ex. The stored
 * payload must stay valid JSON whatever member is dropped (first, middle, last,
 * only, nested, next to whitespace), and a dropped key still counts for the
 * duplicate-key check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hookstream/form.h"
#include "hookstream/jsonparse.h"

static char *mask[] = { "cvv", "cardholderName" };
static char *drop[] = { "pin", "secret" };

static const struct jsonparse_options opt = {
	.max_depth = 64,
	.mask_keys = mask,
	.nmask = 2,
	.drop_keys = drop,
	.ndrop = 2,
};

struct field_case {
	const char *in;
	const char *out; /* exact stored payload */
	size_t masked, dropped;
};

static void
test_payload_stays_valid(void **state)
{
	static const struct field_case cases[] = {
		{ "{\"pin\":1}", "{}", 0, 1 },
		{ "{\"pin\":1,\"a\":2}", "{\"a\":2}", 0, 1 },
		{ "{\"a\":2,\"pin\":1}", "{\"a\":2}", 0, 1 },
		{ "{\"a\":2,\"pin\":1,\"c\":3}", "{\"a\":2,\"c\":3}", 0, 1 },
		{ "{\"pin\":1,\"secret\":2}", "{}", 0, 2 },
		{ "{\"pin\":1,\"a\":0,\"secret\":2}", "{\"a\":0}", 0, 2 },
		{ "{ \"a\" : 1 , \"pin\" : [1,{\"x\":2}] , \"b\" : 2 }",
		  "{ \"a\" : 1 ,  \"b\" : 2 }", 0, 1 },
		{ "{\"x\":{\"pin\":1},\"y\":[{\"secret\":\"s\",\"k\":1}]}",
		  "{\"x\":{},\"y\":[{\"k\":1}]}", 0, 2 },
		{ "{\"cvv\":\"123\",\"n\":{\"cardholderName\":{\"first\":\"A\"}}}",
		  "{\"cvv\":\"[REDACTED]\",\"n\":{\"cardholderName\":\"[REDACTED]\"}}", 2, 0 },
		{ "{\"cvv\":4111111111111111}", "{\"cvv\":\"[REDACTED]\"}", 1, 0 },
		{ "{\"pin\":\"4111111111111111\",\"a\":\"4111111111111111\"}",
		  "{\"a\":\"411111******1111\"}", 0, 1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct field_case *c = &cases[i];
		struct jsonparse_result res, again;
		struct jsonparse_error err;
		size_t len;
		char *out;

		if (jsonparse_ex(c->in, strlen(c->in), &opt, &res, &err) != 0)
			fail_msg("%s: refused: %s", c->in, err.message);
		out = jsonparse_apply_edits(c->in, strlen(c->in), &res, &len);
		if (strcmp(out, c->out) != 0)
			fail_msg("%s\n  got  %s\n  want %s", c->in, out, c->out);
		if (res.fields_masked != c->masked || res.fields_dropped != c->dropped)
			fail_msg("%s: masked %zu dropped %zu, want %zu %zu", c->in,
				 res.fields_masked, res.fields_dropped, c->masked, c->dropped);
		/* The tree the rules read agrees with the payload. */
		if (jsonparse(out, len, 64, &again, &err) != 0)
			fail_msg("%s: stored payload does not parse: %s", c->in, err.message);
		if (!json_equal(again.root, res.root)) {
			char *t = json_dumps(res.root, JSON_COMPACT);

			fail_msg("%s: tree %s differs from payload %s", c->in, t, out);
		}
		jsonparse_result_fini(&again);
		jsonparse_result_fini(&res);
		free(out);
	}
}

static void
test_paths(void **state)
{
	static char *pmask[] = { "card.cvv", "tokens.*.tokenInfo.accountPanSuffix", "*.secret" };
	static char *pdrop[] = { "meta.debug" };
	static const struct jsonparse_options popt = {
		.max_depth = 64, .mask_keys = pmask, .nmask = 3, .drop_keys = pdrop, .ndrop = 1
	};
	static const struct field_case cases[] = {
		/* Only the cvv under card, not one elsewhere. */
		{ "{\"card\":{\"cvv\":\"1\"},\"cvv\":\"2\",\"x\":{\"card\":{\"cvv\":\"3\"}}}",
		  "{\"card\":{\"cvv\":\"[REDACTED]\"},\"cvv\":\"2\",\"x\":{\"card\":{\"cvv\":\"3\"}"
		  "}}",
		  1, 0 },
		/* "*" stands for an array element. */
		{ "{\"tokens\":[{\"tokenInfo\":{\"accountPanSuffix\":\"1111\"}},{\"tokenInfo\":{}}]"
		  "}",
		  "{\"tokens\":[{\"tokenInfo\":{\"accountPanSuffix\":\"[REDACTED]\"}},{"
		  "\"tokenInfo\":{}}]}",
		  1, 0 },
		/* "*" as the first segment: any top-level key, one level down only. */
		{ "{\"a\":{\"secret\":1,\"b\":{\"secret\":2}},\"secret\":3}",
		  "{\"a\":{\"secret\":\"[REDACTED]\",\"b\":{\"secret\":2}},\"secret\":3}", 1, 0 },
		{ "{\"meta\":{\"debug\":true,\"v\":1},\"debug\":1}",
		  "{\"meta\":{\"v\":1},\"debug\":1}", 0, 1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct field_case *c = &cases[i];
		struct jsonparse_result res;
		struct jsonparse_error err;
		size_t len;
		char *out;

		if (jsonparse_ex(c->in, strlen(c->in), &popt, &res, &err) != 0)
			fail_msg("%s: refused: %s", c->in, err.message);
		out = jsonparse_apply_edits(c->in, strlen(c->in), &res, &len);
		if (strcmp(out, c->out) != 0)
			fail_msg("%s\n  got  %s\n  want %s", c->in, out, c->out);
		if (res.fields_masked != c->masked || res.fields_dropped != c->dropped)
			fail_msg("%s: masked %zu dropped %zu, want %zu %zu", c->in,
				 res.fields_masked, res.fields_dropped, c->masked, c->dropped);
		jsonparse_result_fini(&res);
		free(out);
	}
}

static void
test_dropped_key_still_duplicate(void **state)
{
	static const char *const bodies[] = { "{\"pin\":1,\"pin\":2}",
					      "{\"a\":1,\"pin\":1,\"pin\":2}" };
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct jsonparse_result res;
		struct jsonparse_error err;

		assert_int_equal(jsonparse_ex(bodies[i], strlen(bodies[i]), &opt, &res, &err), -22);
		assert_string_equal(err.code, "duplicate_key");
	}
}

/*
 * pan_exempt_fields: 1764153600002 (a millisecond timestamp) passes Luhn. Its
 * value is left alone where it is named, and only there; containers under the
 * name, keys, and redact_fields still win.
 */
static void
test_pan_exempt(void **state)
{
	static char *emask[] = { "cvv" };
	static char *exempt[] = { "eventTime", "a.ts", "cvv" };
	static const struct jsonparse_options eopt = {
		.max_depth = 64, .mask_keys = emask, .nmask = 1, .exempt_keys = exempt, .nexempt = 3
	};
	static const struct {
		const char *in, *out;
		size_t redactions;
	} cases[] = {
		{ "{\"eventTime\":1764153600002,\"card\":4111111111111111}",
		  "{\"eventTime\":1764153600002,\"card\":\"411111******1111\"}", 1 },
		{ "{\"eventTime\":\"1764153600002\",\"x\":{\"eventTime\":1764153600002}}", NULL,
		  0 },
		/* Not exempt elsewhere: the same value is masked (a string, then). */
		{ "{\"when\":1764153600002}", "{\"when\":\"176415***0002\"}", 1 },
		{ "{\"a\":{\"ts\":1764153600002},\"ts\":1764153600002}",
		  "{\"a\":{\"ts\":1764153600002},\"ts\":\"176415***0002\"}", 1 },
		/* A container under the name is checked. */
		{ "{\"eventTime\":{\"pan\":\"4111111111111111\"}}",
		  "{\"eventTime\":{\"pan\":\"411111******1111\"}}", 1 },
		{ "{\"eventTime\":[4111111111111111]}", "{\"eventTime\":[\"411111******1111\"]}",
		  1 },
		/* redact_fields wins. */
		{ "{\"cvv\":\"4111111111111111\"}", "{\"cvv\":\"[REDACTED]\"}", 0 },
	};
	static const char form[] = "eventTime=1764153600002&when=1764153600002&"
				   "4111111111111111=x";
	struct form_error ferr;
	json_t *obj, *masked;
	size_t redactions;
	char *dump;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *want = cases[i].out ? cases[i].out : cases[i].in;
		struct jsonparse_result res, again;
		struct jsonparse_error err;
		size_t len;
		char *out;

		if (jsonparse_ex(cases[i].in, strlen(cases[i].in), &eopt, &res, &err) != 0)
			fail_msg("%s: refused: %s", cases[i].in, err.message);
		out = jsonparse_apply_edits(cases[i].in, strlen(cases[i].in), &res, &len);
		if (strcmp(out, want) != 0 || res.redactions != cases[i].redactions)
			fail_msg("%s\n  got  %s (%zu)\n  want %s (%zu)", cases[i].in, out,
				 res.redactions, want, cases[i].redactions);
		if (jsonparse_ex(out, len, &eopt, &again, &err) != 0 ||
		    !json_equal(again.root, res.root))
			fail_msg("%s: the tree differs from the payload %s", cases[i].in, out);
		jsonparse_result_fini(&again);
		jsonparse_result_fini(&res);
		free(out);
	}
	/* A form: the named field's value only; a name is always checked. */
	assert_int_equal(form_parse(form, strlen(form), &obj, &ferr), 0);
	masked = form_masked(obj, exempt, 3, &redactions);
	dump = json_dumps(masked, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"411111******1111\":\"x\",\"eventTime\":\"1764153600002\","
				  "\"when\":\"176415***0002\"}");
	assert_int_equal(redactions, 2);
	free(dump);
	json_decref(masked);
	json_decref(obj);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_stays_valid),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_dropped_key_still_duplicate),
		cmocka_unit_test(test_pan_exempt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
