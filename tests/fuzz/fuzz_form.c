// SPDX-License-Identifier: MIT
/*
 * fuzz_form: libFuzzer target for form bodies. A body that parses gives an
 * object of NUL-free strings; its masked copy has the same fields, each value
 * the same length, and no card number left (by the independent oracle in
 * pan_check.h). A body that fails gives a known code and a message that
 * quotes no card number.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/pan_check.h"
#include "hookstream/form.h"
#include "hookstream/redact.h"
#include "hookstream/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_form: " __VA_ARGS__);                                \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void
fuzz_check_error(const struct form_error *err)
{
	size_t len = strnlen(err->message, sizeof(err->message)), at, n;

	CHECK(err->code != NULL && (strcmp(err->code, "invalid_form") == 0 ||
				    strcmp(err->code, "duplicate_key") == 0 ||
				    strcmp(err->code, "invalid_utf8") == 0),
	      "unknown code %s", err->code ? err->code : "(null)");
	CHECK(len > 0 && len < sizeof(err->message), "message empty or unterminated");
	/* Messages are answered and logged: like jsonparse's, they quote no card. */
	CHECK(!pan_check_find(err->message, len, &at, &n), "card number in \"%s\"", err->message);
}

/* The masked copy: same fields under masked names, same lengths, no card left. */
static void
fuzz_check_masked(json_t *obj)
{
	size_t redactions = SIZE_MAX, expected = 0, at, n;
	json_t *masked = form_masked(obj, NULL, 0, &redactions), *v;
	const char *key;

	CHECK(masked != NULL && json_is_object(masked), "form_masked gave no object");
	json_object_foreach(obj, key, v)
	{
		size_t vlen = json_string_length(v);
		char *k = xstrdup(key), *s = xstrndup(json_string_value(v), vlen);
		json_t *mv;

		expected += redact_pans(k, strlen(k));
		expected += redact_pans(s, vlen);
		mv = json_object_get(masked, k);
		CHECK(mv != NULL && json_is_string(mv), "field \"%s\" missing after masking", key);
		CHECK(json_string_length(mv) == vlen && memcmp(json_string_value(mv), s, vlen) == 0,
		      "field \"%s\": masked value differs from the masked input", key);
		free(k);
		free(s);
	}
	CHECK(json_object_size(masked) == json_object_size(obj), "%zu fields became %zu",
	      json_object_size(obj), json_object_size(masked));
	CHECK(redactions == expected, "%zu redactions counted, %zu made", redactions, expected);
	json_object_foreach(masked, key, v)
	{
		CHECK(!pan_check_find(key, strlen(key), &at, &n), "card number left in name \"%s\"",
		      key);
		CHECK(!pan_check_find(json_string_value(v), json_string_length(v), &at, &n),
		      "card number left in field \"%s\": \"%.*s\"", key, (int)n,
		      json_string_value(v) + at);
	}
	json_decref(masked);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj = json_object(); /* must be overwritten */
	json_t *sentinel = obj, *v;
	struct form_error err = { NULL, { 0 } };
	const char *key;
	int rc;

	rc = form_parse((const char *)data, size, &obj, &err);
	if (rc != 0) {
		CHECK(rc == -EINVAL, "rc %d", rc);
		CHECK(obj == NULL, "failed parse left an object");
		fuzz_check_error(&err);
		json_decref(sentinel);
		return 0;
	}
	json_decref(sentinel);
	CHECK(obj != NULL && json_is_object(obj) && json_object_size(obj) > 0,
	      "parse gave no fields");
	json_object_foreach(obj, key, v)
	{
		CHECK(key[0] != '\0', "empty field name");
		CHECK(json_is_string(v), "field \"%s\" is not a string", key);
		CHECK(strlen(json_string_value(v)) == json_string_length(v),
		      "field \"%s\" holds a NUL", key);
	}
	fuzz_check_masked(obj);
	json_decref(obj);
	return 0;
}
