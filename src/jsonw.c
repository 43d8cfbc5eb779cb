// SPDX-License-Identifier: MIT
/*
 * jsonw: JSON text written straight into one growing buffer. It replaces
 * building a jansson object only to dump it: for the envelope's 16 attributes
 * that round trip cost more instructions than parsing the whole body.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/jsonw.h"
#include "hookstream/swar.h"
#include "hookstream/utf8.h"
#include "hookstream/xalloc.h"

void
jsonw_init(struct jsonw *w, size_t hint)
{
	memset(w, 0, sizeof(*w));
	w->cap = hint > 16 ? hint : 16;
	w->buf = xmalloc(w->cap);
	w->buf[0] = '\0';
}

void
jsonw_fini(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

char *
jsonw_take(struct jsonw *w, size_t *len)
{
	char *out = w->buf;

	if (len != NULL)
		*len = w->len;
	memset(w, 0, sizeof(*w));
	return out;
}

/* Room for n more bytes and the NUL. */
static char *
jsonw_room(struct jsonw *w, size_t n)
{
	if (n >= w->cap - w->len) {
		size_t cap = w->cap;

		while (n >= cap - w->len) {
			if (cap > SIZE_MAX / 2)
				abort();
			cap *= 2;
		}
		w->buf = xrealloc(w->buf, cap);
		w->cap = cap;
	}
	return w->buf + w->len;
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	char *o = jsonw_room(w, n);

	memcpy(o, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* The comma due before a value in the open container, if any. A value right
 * after jsonw_key() is the member's value: no comma. */
static void
jsonw_comma(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->need_comma[w->depth - 1])
		jsonw_raw(w, ",", 1);
	w->need_comma[w->depth - 1] = true;
}

/* A byte that stands for itself inside a JSON string: printable ASCII (and
 * DEL, which jansson leaves as it is) but '"' and '\\'. */
static inline bool
jsonw_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void
jsonw_string(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	/* Worst case: every byte an invalid one (3 bytes of U+FFFD) or a
	 * control (6 bytes of \u00XX), plus the quotes. */
	char *o;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	if (n > (SIZE_MAX - 3) / 6)
		abort();
	o = jsonw_room(w, n * 6 + 2);
	*o++ = '"';
	while (p < end) {
		const unsigned char *run = p;
		unsigned char c;

		while (end - p >= 8) {
			uint64_t v = swar_load(p);

			if ((v & SWAR_HIGHS) | swar_has(v, '"') | swar_has(v, '\\') |
			    swar_has_below(v, 0x20))
				break;
			p += 8;
		}
		while (p < end && jsonw_plain(*p))
			p++;
		memcpy(o, run, (size_t)(p - run));
		o += p - run;
		if (p == end)
			break;
		c = *p;
		if (c >= 0x80) {
			size_t len = utf8_seq_len(p, (size_t)(end - p));

			if (len == 0) {
				memcpy(o, "\xef\xbf\xbd", 3);
				o += 3;
				p++;
			} else {
				memcpy(o, p, len);
				o += len;
				p += len;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
			break;
		}
		p++;
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
	w->buf[w->len] = '\0';
}

static void
jsonw_open(struct jsonw *w, const char *bracket)
{
	jsonw_comma(w);
	jsonw_raw(w, bracket, 1);
	if (w->depth >= JSONW_DEPTH_MAX)
		abort();
	w->need_comma[w->depth++] = false;
}

static void
jsonw_close(struct jsonw *w, const char *bracket)
{
	if (w->depth == 0)
		abort();
	w->depth--;
	jsonw_raw(w, bracket, 1);
}

void
jsonw_object_begin(struct jsonw *w)
{
	jsonw_open(w, "{");
}

void
jsonw_object_end(struct jsonw *w)
{
	jsonw_close(w, "}");
}

void
jsonw_array_begin(struct jsonw *w)
{
	jsonw_open(w, "[");
}

void
jsonw_array_end(struct jsonw *w)
{
	jsonw_close(w, "]");
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_comma(w);
	jsonw_string(w, key, strlen(key));
	jsonw_raw(w, ":", 1);
	w->after_key = true;
}

void
jsonw_member_strn(struct jsonw *w, const char *key, const char *value, size_t n)
{
	jsonw_key(w, key);
	w->after_key = false;
	jsonw_string(w, value, n);
}

void
jsonw_member_str(struct jsonw *w, const char *key, const char *value)
{
	if (value != NULL)
		jsonw_member_strn(w, key, value, strlen(value));
}

void
jsonw_member_raw(struct jsonw *w, const char *key, const char *json, size_t n)
{
	jsonw_key(w, key);
	w->after_key = false;
	jsonw_raw(w, json, n);
}

void
jsonw_member_uint(struct jsonw *w, const char *key, unsigned long long value)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", value);

	jsonw_member_raw(w, key, num, (size_t)n);
}
