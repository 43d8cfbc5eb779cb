// SPDX-License-Identifier: MIT
/*
 * jsonparse: a strict RFC 8259 recursive-descent parser that builds a jansson
 * tree. jansson's own loader cannot be used: it turns numbers into doubles and
 * rejects 1e400. Numbers become strings holding their lexeme; card numbers are
 * masked on the way, and each mask is also recorded as an edit of the raw bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/jsonparse.h"
#include "hookstream/redact.h"
#include "hookstream/swar.h"
#include "hookstream/utf8.h"
#include "hookstream/xalloc.h"
#include "jsonparse_int.h"

#define JSONPARSE_KEY_SHOWN 64 /* bytes of a duplicate key quoted in the message */

/* Two-character escapes: "\\" + jp_esc_name[i] stands for jp_esc_char[i]. The
 * '/' is last so that the encoder, looking at the first 7 only, never writes it. */
static const char jp_esc_name[] = "\"\\bfnrt/";
static const char jp_esc_char[] = "\"\\\b\f\n\r\t/";

static json_t *jp_value(struct jp *p, unsigned int depth);

static json_t *
jp_must(json_t *v)
{
	/* Only allocation failure makes these NULL (inputs are validated first),
	 * and allocation failure aborts in xmalloc in the daemon anyway. */
	if (v == NULL)
		abort();
	return v;
}

static void jp_fail(struct jp *p, const char *code, size_t offset, const char *fmt, ...)
	HS_PRINTF(4, 5);

static void
jp_fail(struct jp *p, const char *code, size_t offset, const char *fmt, ...)
{
	struct jsonparse_error *e = p->err;
	unsigned int line = 1;
	size_t bol = 0;
	va_list ap;

	for (size_t i = 0; i < offset && i < p->len; i++) {
		if (p->data[i] == '\n') {
			line++;
			bol = i + 1;
		}
	}
	e->code = code;
	e->offset = offset;
	e->line = line;
	e->column = (unsigned int)(offset - bol + 1);
	va_start(ap, fmt);
	(void)vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* "expected X" at the current position, worded for a body that just stops. */
static void
jp_expected(struct jp *p, const char *what)
{
	if (p->pos >= p->len)
		jp_fail(p, "invalid_json", p->pos, "unexpected end of input; expected %s", what);
	else
		jp_fail(p, "invalid_json", p->pos, "expected %s", what);
}

static void
jp_ws(struct jp *p)
{
	while (p->pos < p->len) {
		char c = p->data[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int
jp_peek(const struct jp *p)
{
	return p->pos < p->len ? (unsigned char)p->data[p->pos] : -1;
}

static void
jp_buf_put(struct jp *p, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (p->buf_cap - p->buf_len < n) {
		size_t cap = p->buf_cap;

		while (cap - p->buf_len < n)
			cap *= 2;
		p->buf = xrealloc(p->buf, cap);
		p->buf_cap = cap;
	}
	memcpy(p->buf + p->buf_len, s, n);
	p->buf_len += n;
}

static void
jp_buf_utf8(struct jp *p, unsigned long cp)
{
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	char b[4];

	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		b[i] = (char)(0x80 | (cp & 0x3f));
	b[0] = (char)(lead[n] | cp);
	jp_buf_put(p, b, n);
}

/* Four hex digits at data[at]; -1 if they are not there. */
static long
jp_hex4(const struct jp *p, size_t at)
{
	long v = 0;

	if (p->len - at < 4)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		char c = p->data[at + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* One escape at data[pos] == '\\'; appends its bytes to buf. */
static int
jp_escape(struct jp *p)
{
	size_t at = p->pos;
	const char *e;
	long cp, lo;
	char c;

	if (at + 1 >= p->len) {
		jp_fail(p, "invalid_json", p->len, "unexpected end of input in an escape");
		return -EINVAL;
	}
	c = p->data[at + 1];
	p->pos += 2;
	e = c != '\0' ? strchr(jp_esc_name, c) : NULL;
	if (e != NULL) {
		jp_buf_put(p, &jp_esc_char[e - jp_esc_name], 1);
		return 0;
	}
	if (c != 'u') {
		jp_fail(p, "invalid_json", at, "invalid escape in a string");
		return -EINVAL;
	}
	cp = jp_hex4(p, p->pos);
	if (cp < 0) {
		jp_fail(p, "invalid_json", at, "\\u must be followed by four hex digits");
		return -EINVAL;
	}
	p->pos += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff) {
		jp_fail(p, "invalid_json", at, "lone surrogate escape");
		return -EINVAL;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* A high surrogate is only meaningful with a low one right after it. */
		lo = -1;
		if (p->len - p->pos >= 6 && p->data[p->pos] == '\\' && p->data[p->pos + 1] == 'u')
			lo = jp_hex4(p, p->pos + 2);
		if (lo < 0xdc00 || lo > 0xdfff) {
			jp_fail(p, "invalid_json", at, "lone surrogate escape");
			return -EINVAL;
		}
		p->pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	jp_buf_utf8(p, (unsigned long)cp);
	return 0;
}

/*
 * The end of the run of plain string bytes at d[i, len): the first '"', '\\'
 * or control character, or len. UTF-8 is already validated, so bytes >= 0x80
 * are plain. Eight bytes at a time: a word with none of the three passes
 * whole (the tests are exact for "none"; a word they flag is walked byte by
 * byte).
 */
static size_t
jp_plain_run(const char *d, size_t i, size_t len)
{
	while (len - i >= 8) {
		uint64_t v = swar_load(d + i);

		if (swar_has(v, '"') | swar_has(v, '\\') | swar_has_below(v, 0x20))
			break;
		i += 8;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '"' || c == '\\' || c < 0x20)
			break;
	}
	return i;
}

/* The string token at data[pos] == '"', decoded onto the buf stack at *off. */
static int
jp_string(struct jp *p, size_t *off, size_t *n)
{
	size_t start = p->pos;

	*off = p->buf_len;
	p->pos++;
	for (;;) {
		size_t run = p->pos;
		unsigned char c;

		p->pos = jp_plain_run(p->data, p->pos, p->len);
		jp_buf_put(p, p->data + run, p->pos - run);
		if (p->pos >= p->len) {
			jp_fail(p, "invalid_json", p->len,
				"unexpected end of input in the string opened at byte %zu", start);
			return -EINVAL;
		}
		c = (unsigned char)p->data[p->pos];
		if (c == '"')
			break;
		if (c < 0x20) {
			jp_fail(p, "invalid_json", p->pos,
				"control character in a string (must be escaped)");
			return -EINVAL;
		}
		if (jp_escape(p) < 0)
			return -EINVAL;
	}
	p->pos++;
	*n = p->buf_len - *off;
	return 0;
}

/* JSON string encoding of s[0, n). Only '"', '\\' and controls are escaped:
 * the hex digits of a \u escape next to digits of the text could spell a card
 * number, and this way only a rare escaped control character still can. */
static char *
jp_encode(const char *s, size_t n, size_t *out_len)
{
	char *out = xmalloc(n * 6 + 2), *o = out;

	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = memchr(jp_esc_char, c, 7);

		if (esc != NULL) {
			*o++ = '\\';
			*o++ = jp_esc_name[esc - jp_esc_char];
		} else if (c < 0x20) {
			o += snprintf(o, 7, "\\u%04x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	*out_len = (size_t)(o - out);
	return out;
}

void
jp_edit(struct jp *p, size_t offset, size_t len, char *text, size_t text_len)
{
	struct jsonparse_result *r = p->res;

	if (r->nedits == p->edits_cap) {
		p->edits_cap = p->edits_cap ? 2 * p->edits_cap : 8;
		r->edits = xrealloc(r->edits, p->edits_cap * sizeof(*r->edits));
	}
	r->edits[r->nedits++] = (struct jsonparse_edit){
		.offset = offset, .len = len, .text = text, .text_len = text_len
	};
}

/* Room for n bytes in the parse's scratch buffer; its old content is lost. */
static char *
jp_scratch(struct jp *p, size_t n)
{
	if (n > p->scratch_cap) {
		size_t cap = p->scratch_cap > 0 ? p->scratch_cap : 256;

		while (cap < n)
			cap = cap <= SIZE_MAX / 2 ? cap * 2 : n;
		free(p->scratch);
		p->scratch = xmalloc(cap);
		p->scratch_cap = cap;
	}
	return p->scratch;
}

/*
 * Mask card numbers in the decoded string buf[off, off+n) taken from the token
 * data[start, pos). When anything was masked, or when the raw token spells a
 * card number the decoded text does not (hex digits of a \u escape next to
 * digits), the token is replaced by the decoded text re-encoded.
 */
static void
jp_redact_string(struct jp *p, size_t start, size_t off, size_t n, bool value)
{
	size_t tok = p->pos - start, text_len, masked;
	bool keep = value && p->opt != NULL && p->opt->unmasked_tree;
	char *s = p->buf + off;
	char *scratch, *raw;
	bool rewrite;
	char *text;

	/* The masked copy (first n + 1 bytes) and the raw token (tok bytes) can
	 * be needed at once. */
	scratch = jp_scratch(p, (keep ? n + 1 : 0) + tok);
	raw = keep ? scratch + n + 1 : scratch;
	/* With an unmasked tree the payload's copy is masked, not the tree's. */
	if (keep) {
		memcpy(scratch, s, n);
		s = scratch;
	}
	masked = redact_pans(s, n);
	rewrite = masked > 0;
	if (!rewrite && memchr(p->data + start, '\\', tok) != NULL) {
		memcpy(raw, p->data + start, tok);
		rewrite = redact_pans(raw, tok) > 0;
	}
	if (rewrite) {
		p->res->redactions += masked;
		text = jp_encode(s, n, &text_len);
		jp_edit(p, start, tok, text, text_len);
	}
}

static bool
jp_digit(const struct jp *p)
{
	return jp_peek(p) >= '0' && jp_peek(p) <= '9';
}

static void
jp_digits(struct jp *p)
{
	while (jp_digit(p))
		p->pos++;
}

static json_t *
jp_number(struct jp *p)
{
	size_t start = p->pos, n, masked;
	char pan[REDACT_NUMBER_MAX];
	char *text;

	if (jp_peek(p) == '-')
		p->pos++;
	if (jp_peek(p) == '0') {
		p->pos++;
		if (jp_digit(p)) {
			jp_fail(p, "invalid_json", start, "number has a leading zero");
			return NULL;
		}
	} else if (jp_digit(p)) {
		jp_digits(p);
	} else {
		jp_expected(p, "a digit after '-'");
		return NULL;
	}
	if (jp_peek(p) == '.') {
		p->pos++;
		if (!jp_digit(p)) {
			jp_expected(p, "a digit after the decimal point");
			return NULL;
		}
		jp_digits(p);
	}
	if (jp_peek(p) == 'e' || jp_peek(p) == 'E') {
		p->pos++;
		if (jp_peek(p) == '+' || jp_peek(p) == '-')
			p->pos++;
		if (!jp_digit(p)) {
			jp_expected(p, "a digit in the exponent");
			return NULL;
		}
		jp_digits(p);
	}
	n = p->pos - start;
	masked = p->exempt ? 0 : redact_number(p->data + start, n, pan);
	if (masked == 0)
		return jp_must(json_stringn_nocheck(p->data + start, n));
	/* The card number becomes a masked string, in the tree and in the payload. */
	text = xmalloc(masked + 2);
	text[0] = '"';
	memcpy(text + 1, pan, masked);
	text[masked + 1] = '"';
	p->res->redactions++;
	jp_edit(p, start, n, text, masked + 2);
	if (p->opt != NULL && p->opt->unmasked_tree)
		return jp_must(json_stringn_nocheck(p->data + start, n));
	return jp_must(json_stringn_nocheck(pan, masked));
}

static json_t *
jp_literal(struct jp *p, const char *word, json_t *v)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->data + p->pos, word, n) != 0) {
		jp_fail(p, "invalid_json", p->pos, "invalid literal (expected %s)", word);
		return NULL;
	}
	p->pos += n;
	return v;
}

/* Printable form of a key for a message: at most JSONPARSE_KEY_SHOWN bytes, cut
 * on a character boundary, controls and quotes escaped. */
static void
jp_key_shown(const char *key, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;

	/* Each step writes at most 4 bytes; "..." and the NUL need 4 more. */
	while (i < n && i < JSONPARSE_KEY_SHOWN && o + 8 <= size) {
		unsigned char c = (unsigned char)key[i];
		size_t clen = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		} else if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else {
			if (i + clen > n || i + clen > JSONPARSE_KEY_SHOWN)
				break;
			memcpy(out + o, key + i, clen);
			o += clen;
			i += clen;
			continue;
		}
		i++;
	}
	if (i < n && o + 4 <= size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Kept out of jp_member so its buffer is not on the stack once per level. */
static __attribute__((noinline)) void
jp_fail_duplicate(struct jp *p, size_t at, const char *key, size_t n)
{
	char shown[160];

	jp_key_shown(key, n, shown, sizeof(shown));
	jp_fail(p, "duplicate_key", at, "duplicate key \"%s\"", shown);
	/* The message is answered and stored; shortening the key can leave a
	 * digit run that passes for a card number. */
	redact_pans(p->err->message, strlen(p->err->message));
}

static int
jp_member(struct jp *p, json_t *obj, unsigned int depth, bool *dropped)
{
	size_t start = p->pos, off, n, vstart, edits_before;
	bool mask = false, drop = false, exempt = false;
	json_t *v;

	if (jp_peek(p) != '"') {
		if (jp_peek(p) == '\'')
			jp_fail(p, "invalid_json", p->pos, "strings must use double quotes");
		else
			jp_expected(p, "a string key (in double quotes)");
		return -EINVAL;
	}
	if (jp_string(p, &off, &n) < 0)
		return -EINVAL;
	jp_redact_string(p, start, off, n, false);
	if (json_object_getn(obj, p->buf + off, n) != NULL) {
		jp_fail_duplicate(p, start, p->buf + off, n);
		return -EINVAL;
	}
	jp_ws(p);
	if (jp_peek(p) != ':') {
		jp_expected(p, "':' after an object key");
		return -EINVAL;
	}
	p->pos++;
	jp_ws(p);
	if (p->opt != NULL) {
		p->path[depth - 1].off = off;
		p->path[depth - 1].n = n;
		mask = jp_key_in(p, p->opt->mask_keys, p->opt->nmask, depth);
		drop = jp_key_in(p, p->opt->drop_keys, p->opt->ndrop, depth);
		exempt = jp_key_in(p, p->opt->exempt_keys, p->opt->nexempt, depth);
	}
	vstart = p->pos;
	edits_before = p->res->nedits;
	/* Only a string or a number is exempt, never what a container holds. */
	p->exempt = exempt && jp_peek(p) != '{' && jp_peek(p) != '[';
	v = jp_value(p, depth);
	p->exempt = false;
	if (v == NULL)
		return -EINVAL;
	*dropped = false;
	if (drop) {
		/* The member goes; the caller removes its comma. Its key stays
		 * in the object as a tombstone until the object ends, so that a
		 * duplicate of it is still refused. */
		json_decref(v);
		jp_edits_truncate(p, edits_before);
		p->res->fields_dropped++;
		*dropped = true;
		jp_edit(p, start, p->pos - start, xstrdup(""), 0);
		if (p->tomb == NULL)
			p->tomb = jp_must(json_object());
		if (json_object_setn_new_nocheck(obj, p->buf + off, n, json_incref(p->tomb)) < 0)
			abort();
		p->buf_len = off;
		return 0;
	}
	if (mask) {
		static const char masked[] = "\"[REDACTED]\"";

		json_decref(v);
		jp_edits_truncate(p, edits_before);
		v = jp_must(json_string("[REDACTED]"));
		jp_edit(p, vstart, p->pos - vstart, xstrdup(masked), sizeof(masked) - 1);
		p->res->fields_masked++;
	}
	/* p->buf may have moved while the value was parsed; off has not. */
	if (json_object_setn_new_nocheck(obj, p->buf + off, n, v) < 0)
		abort();
	p->buf_len = off;
	return 0;
}

static int
jp_element(struct jp *p, json_t *arr, unsigned int depth)
{
	json_t *v;

	p->path[depth - 1].off = SIZE_MAX;
	v = jp_value(p, depth);

	if (v == NULL)
		return -EINVAL;
	if (json_array_append_new(arr, v) < 0)
		abort();
	return 0;
}

/* The array or object at data[pos], itself at the given depth. */
static json_t *
jp_container(struct jp *p, unsigned int depth)
{
	bool object = jp_peek(p) == '{';
	char close = object ? '}' : ']';
	json_t *c;

	if (depth > p->max_depth) {
		jp_fail(p, "too_deep", p->pos, "nesting deeper than %u levels", p->max_depth);
		return NULL;
	}
	c = jp_must(object ? json_object() : json_array());
	p->pos++;
	jp_ws(p);
	if (jp_peek(p) == close) {
		p->pos++;
		return c;
	}
	/* "kept": members of this object that stay in the payload; a dropped
	 * last member takes the comma before it only if one was kept. */
	for (size_t kept = 0, comma = 0, drops = 0;;) {
		bool dropped = false;

		jp_ws(p);
		if (jp_peek(p) == close) {
			jp_fail(p, "invalid_json", p->pos, "trailing comma before '%c'", close);
			goto fail;
		}
		if ((object ? jp_member(p, c, depth, &dropped) : jp_element(p, c, depth)) < 0)
			goto fail;
		jp_ws(p);
		if (dropped) {
			p->last_comma = comma;
			jp_drop_comma(p, jp_peek(p) == ',', kept == 0);
			drops++;
		} else {
			kept++;
		}
		if (jp_peek(p) == close) {
			p->pos++;
			if (drops > 0)
				jp_remove_tombs(p, c);
			return c;
		}
		if (jp_peek(p) != ',') {
			jp_expected(p, object ? "',' or '}' after an object member"
					      : "',' or ']' after an array element");
			goto fail;
		}
		/* A comma already swallowed by a drop is not the one before the
		 * next member. */
		comma = dropped ? comma : p->pos;
		p->pos++;
	}
fail:
	json_decref(c);
	return NULL;
}

/* A value at data[pos] (whitespace already skipped) inside depth containers. */
static json_t *
jp_value(struct jp *p, unsigned int depth)
{
	size_t start = p->pos, off, n;
	json_t *v;

	switch (jp_peek(p)) {
	case '{':
	case '[':
		return jp_container(p, depth + 1);
	case '"':
		if (jp_string(p, &off, &n) < 0)
			return NULL;
		if (!p->exempt)
			jp_redact_string(p, start, off, n, true);
		v = jp_must(json_stringn_nocheck(p->buf + off, n));
		p->buf_len = off;
		return v;
	case 't':
		return jp_literal(p, "true", json_true());
	case 'f':
		return jp_literal(p, "false", json_false());
	case 'n':
		return jp_literal(p, "null", json_null());
	case '\'':
		jp_fail(p, "invalid_json", p->pos, "strings must use double quotes");
		return NULL;
	case '/':
		jp_fail(p, "invalid_json", p->pos, "comments are not allowed in JSON");
		return NULL;
	default:
		if (jp_peek(p) == '-' || jp_digit(p))
			return jp_number(p);
		jp_expected(p, "a JSON value");
		return NULL;
	}
}

int
jsonparse(const char *data, size_t len, unsigned int max_depth, struct jsonparse_result *out,
	  struct jsonparse_error *err)
{
	struct jsonparse_options opt = { .max_depth = max_depth };

	return jsonparse_ex(data, len, &opt, out, err);
}

int
jsonparse_ex(const char *data, size_t len, const struct jsonparse_options *opt,
	     struct jsonparse_result *out, struct jsonparse_error *err)
{
	struct jsonparse_error spare;
	unsigned int max_depth = opt->max_depth;
	struct jp p;
	const char *why = NULL;
	size_t bad = 0;

	memset(&p, 0, offsetof(struct jp, path));
	p.data = data;
	p.len = len;
	p.max_depth = max_depth < JSONPARSE_DEPTH_CAP ? max_depth : JSONPARSE_DEPTH_CAP;
	p.opt = opt;
	p.res = out;
	p.err = err != NULL ? err : &spare;
	memset(out, 0, sizeof(*out));
	memset(p.err, 0, sizeof(*p.err));
	/* Never NULL, so an empty first string still has an address. */
	p.buf_cap = 256;
	p.buf = xmalloc(p.buf_cap);
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		out->bom = 3;
	p.pos = out->bom;
	if (len > out->bom &&
	    !utf8_check((const unsigned char *)data + out->bom, len - out->bom, &bad, &why)) {
		jp_fail(&p, "invalid_utf8", out->bom + bad, "%s", why);
		goto fail;
	}
	jp_ws(&p);
	if (p.pos == len) {
		jp_fail(&p, "empty_body", p.pos, "the body is empty");
		goto fail;
	}
	out->root = jp_value(&p, 0);
	if (out->root == NULL)
		goto fail;
	jp_ws(&p);
	if (p.pos != len) {
		jp_fail(&p, "invalid_json", p.pos, "unexpected data after the JSON value");
		goto fail;
	}
	free(p.buf);
	free(p.scratch);
	json_decref(p.tomb);
	return 0;
fail:
	free(p.buf);
	free(p.scratch);
	json_decref(p.tomb);
	jsonparse_result_fini(out);
	return -EINVAL;
}
