// SPDX-License-Identifier: MIT
/*
 * fuzz_jsonparse: libFuzzer target for the strict parser. A body that parses
 * must give a payload that parses again to the same tree with nothing left to
 * mask; a body that fails must give a well-formed error that quotes no card.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/json_check.h"
#include "hookstream/jsonparse.h"
#include "hookstream/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_jsonparse: " __VA_ARGS__);                           \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void
check_error(const struct jsonparse_error *err, size_t size)
{
	static const char *codes[] = { "invalid_json", "duplicate_key", "too_deep", "invalid_utf8",
				       "empty_body" };
	size_t len = strnlen(err->message, sizeof(err->message)), at, n;
	bool known = false;
	json_t *utf8;

	CHECK(err->code != NULL, "error without a code");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known |= strcmp(err->code, codes[i]) == 0;
	CHECK(known, "unknown code %s", err->code);
	CHECK(len > 0 && len < sizeof(err->message), "message empty or unterminated");
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)err->message[i] >= 0x20 && err->message[i] != 0x7f,
		      "control byte in message \"%s\"", err->message);
	utf8 = json_stringn(err->message, len);
	CHECK(utf8 != NULL, "message is not UTF-8: \"%s\"", err->message);
	json_decref(utf8);
	CHECK(!pan_check_find(err->message, len, &at, &n), "card number in \"%s\"", err->message);
	CHECK(err->offset <= size, "offset %zu beyond %zu", err->offset, size);
	CHECK(err->line >= 1 && err->column >= 1, "line %u column %u", err->line, err->column);
}

/*
 * Digits left in the raw payload may only be a number whose value is no card
 * number ("0.4111111111111111", by redact.h) or follow a "\u" whose hex digits
 * and the text after it happen to spell one (only a control character is
 * still written that way).
 */
static bool
raw_hit_allowed(const char *out, size_t at, size_t n, size_t len)
{
	static const char lexeme[] = "0123456789+-.eE";
	size_t b = at, e = at + n;

	while (b > 0 && out[b - 1] != '\0' && strchr(lexeme, out[b - 1]) != NULL)
		b--;
	while (e < len && out[e] != '\0' && strchr(lexeme, out[e]) != NULL)
		e++;
	if (json_check_number_not_pan(out + b, e - b))
		return true;
	return at >= 2 && out[at - 1] == 'u' && out[at - 2] == '\\';
}

/*
 * The same body under field rules (redact_fields, drop_fields and
 * pan_exempt_fields, names and paths): the payload must parse under the same
 * rules to the same tree with nothing more to mask, whatever member a drop
 * took out (its comma with it).
 */
static void
check_field_rules(const char *in, size_t size)
{
	static char *mask[] = { "cvv", "a.b" };
	static char *drop[] = { "pin", "*.x" };
	static char *exempt[] = { "t", "a.t" };
	static const struct jsonparse_options opt = { .max_depth = JSONPARSE_DEFAULT_MAX_DEPTH,
						      .mask_keys = mask,
						      .nmask = 2,
						      .drop_keys = drop,
						      .ndrop = 2,
						      .exempt_keys = exempt,
						      .nexempt = 2 };
	struct jsonparse_result res, again;
	struct jsonparse_error err;
	size_t out_len;
	char *out;

	CHECK(jsonparse_ex(in, size, &opt, &res, &err) == 0, "refused under field rules: %s",
	      err.message);
	out = jsonparse_apply_edits(in, size, &res, &out_len);
	CHECK(jsonparse_ex(out, out_len, &opt, &again, &err) == 0,
	      "payload under field rules does not parse: %s %s at %zu", err.code, err.message,
	      err.offset);
	CHECK(again.redactions == 0 && again.fields_dropped == 0,
	      "payload under field rules: %zu card numbers, %zu members to drop", again.redactions,
	      again.fields_dropped);
	CHECK(json_check_equal(res.root, again.root), "payload under field rules: another tree");
	free(out);
	jsonparse_result_fini(&again);
	jsonparse_result_fini(&res);
}

static bool
word_byte(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_' || c == '.' || c == '-' || c == '+';
}

/*
 * A body that does not parse is kept in <prefix>:invalid as text, whole or
 * cut. Where nothing was escaped (an escape's "\xNN" may join digits around
 * it), no digit run may be a card number, and no number standing alone (not
 * inside a word, by redact.h's grammar) may have one for its value.
 */
static void
check_invalid_body(const char *in, size_t size)
{
	/* An escape is at most 4 bytes per input byte, a masked number at most
	 * 4 per byte of its spelling ("59e11": 13 digits). */
	const size_t cuts[] = { size * 4 + 1, size / 2, size / 3 };
	bool cut = true;
	char *whole = normalize_invalid_body(in, size, cuts[0], &cut);
	size_t whole_len = strlen(whole);

	CHECK(!cut, "a body of %zu bytes cut at %zu", size, cuts[0]);
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		bool truncated = false;
		char *out = normalize_invalid_body(in, size, cuts[c], &truncated);
		size_t len = strlen(out), at, n;

		CHECK(len <= cuts[c], "invalid body of %zu bytes, more than %zu", len, cuts[c]);
		CHECK(truncated == (whole_len > cuts[c]) && memcmp(out, whole, len) == 0,
		      "cut at %zu: not a prefix of the whole, or wrongly flagged", cuts[c]);
		if (memchr(out, '\\', len) == NULL) {
			CHECK(!pan_check_find(out, len, &at, &n), "invalid body holds \"%.*s\"",
			      (int)n, out + at);
			for (size_t i = 0; i < len; i++) {
				size_t j = i;

				if ((out[i] != '-' && (out[i] < '0' || out[i] > '9')) ||
				    (i > 0 && word_byte(out[i - 1])))
					continue;
				while (j < len && strchr("0123456789.eE+-", out[j]) != NULL &&
				       out[j] != '\0')
					j++;
				if ((j == len || !word_byte(out[j])) &&
				    pan_check_is_number(out + i, j - i))
					CHECK(!pan_check_number_value(out + i, j - i),
					      "invalid body holds the number %.*s", (int)(j - i),
					      out + i);
			}
		}
		free(out);
	}
	free(whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *hit;
	struct jsonparse_result res, again;
	struct jsonparse_error err;
	size_t out_len, at = 0, n;
	char *out;

	if (jsonparse(in, size, JSONPARSE_DEFAULT_MAX_DEPTH, &res, &err) != 0) {
		check_error(&err, size);
		CHECK(res.root == NULL && res.nedits == 0, "failed parse left a result");
		check_invalid_body(in, size);
		return 0;
	}
	CHECK(res.bom == 0 || res.bom == 3, "bom %zu", res.bom);
	for (size_t i = 0; i < res.nedits; i++)
		CHECK(res.edits[i].offset >= res.bom &&
			      res.edits[i].offset + res.edits[i].len <= size &&
			      (i == 0 || res.edits[i - 1].offset + res.edits[i - 1].len <=
						 res.edits[i].offset),
		      "edit %zu out of order or range", i);
	out = jsonparse_apply_edits(in, size, &res, &out_len);
	CHECK(jsonparse(out, out_len, JSONPARSE_DEFAULT_MAX_DEPTH, &again, &err) == 0,
	      "payload does not parse: %s %s at %zu", err.code, err.message, err.offset);
	CHECK(again.bom == 0, "payload keeps a BOM");
	CHECK(again.redactions == 0, "payload still has %zu card numbers", again.redactions);
	CHECK(json_check_equal(res.root, again.root), "payload parses to another tree");
	hit = json_check_find_pan(res.root, true);
	CHECK(hit == NULL, "tree holds a card number: \"%s\"", hit);
	while (pan_check_find_from(out, out_len, at, &at, &n)) {
		CHECK(raw_hit_allowed(out, at, n, out_len), "payload holds \"%.*s\" at %zu", (int)n,
		      out + at, at);
		at++;
	}
	free(out);
	jsonparse_result_fini(&again);
	jsonparse_result_fini(&res);
	check_field_rules(in, size);
	return 0;
}
