// SPDX-License-Identifier: MIT
/*
 * spoolrec: encode and check spool records (see spoolrec.h for the format).
 * The checksum is zlib's crc32: the well-known one, fast, and a dependency
 * Debian already ships everywhere.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hookstream/spoolrec.h"
#include "hookstream/xalloc.h"

void
spoolrec_buf_fini(struct spoolrec_buf *b)
{
	free(b->data);
	*b = (struct spoolrec_buf){ 0 };
}

static void
buf_reserve(struct spoolrec_buf *b, size_t more)
{
	if (b->cap - b->len >= more)
		return;
	if (more > SIZE_MAX / 2 - b->len)
		abort();
	b->cap = b->cap ? b->cap : 256;
	while (b->cap - b->len < more)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
}

static void
put_bytes(struct spoolrec_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
put_u8(struct spoolrec_buf *b, unsigned int v)
{
	unsigned char c = (unsigned char)v;

	put_bytes(b, &c, 1);
}

static void
put_le(struct spoolrec_buf *b, uint64_t v, size_t width)
{
	unsigned char c[8];

	for (size_t i = 0; i < width; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	put_bytes(b, c, width);
}

static void
put_str(struct spoolrec_buf *b, const char *s, size_t n)
{
	if (n > UINT32_MAX)
		abort();
	put_le(b, n, 4);
	put_bytes(b, s, n);
	put_u8(b, 0);
}

static uint64_t
get_le(const unsigned char *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint32_t
record_crc(const char *len4, const char *payload, size_t plen)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)len4, 4);
	/* zlib takes uInt lengths: feed big payloads in pieces. */
	while (plen > 0) {
		uInt n = plen > (1u << 30) ? (1u << 30) : (uInt)plen;

		crc = crc32(crc, (const Bytef *)payload, n);
		payload += n;
		plen -= n;
	}
	return (uint32_t)crc;
}

/* Reserve the header, returning its offset; finish_record fills it in. */
static size_t
start_record(struct spoolrec_buf *b)
{
	size_t at = b->len;

	put_bytes(b, SPOOLREC_MAGIC, 4);
	put_le(b, 0, 8);
	return at;
}

static void
finish_record(struct spoolrec_buf *b, size_t at)
{
	size_t plen = b->len - at - SPOOLREC_HEADER;
	unsigned char *h = (unsigned char *)b->data + at;
	uint32_t crc;

	if (plen > SPOOLREC_MAX_PAYLOAD)
		abort(); /* bodies are bounded by max_body long before this */
	for (size_t i = 0; i < 4; i++)
		h[4 + i] = (unsigned char)(plen >> (8 * i));
	crc = record_crc((const char *)h + 4, b->data + at + SPOOLREC_HEADER, plen);
	for (size_t i = 0; i < 4; i++)
		h[8 + i] = (unsigned char)(crc >> (8 * i));
}

static void
put_fields(struct spoolrec_buf *b, const char *const *fields, const size_t *lens, size_t n,
	   size_t max)
{
	if (n > max || n % 2 != 0)
		abort();
	put_u8(b, (unsigned int)n);
	for (size_t i = 0; i < n; i++)
		put_str(b, fields[i], lens[i]);
}

void
spoolrec_encode_events(struct spoolrec_buf *out, const struct publish_item *items, size_t n)
{
	size_t at;

	/* Only what spoolrec_decode takes back: a record it would refuse is an
	 * event answered "spooled" and then lost. */
	if (n == 0 || n > SPOOLREC_MAX_ITEMS)
		abort();
	for (size_t i = 0; i < n; i++)
		if (items[i].stream[0] == '\0' || items[i].seen_key[0] == '\0' ||
		    items[i].nfields != items[0].nfields)
			abort();
	at = start_record(out);
	put_u8(out, SPOOLREC_EVENTS);
	put_u8(out, (unsigned int)n);
	for (size_t i = 0; i < n; i++) {
		put_str(out, items[i].stream, strlen(items[i].stream));
		put_str(out, items[i].seen_key, strlen(items[i].seen_key));
		put_fields(out, items[i].fields, items[i].lens, items[i].nfields,
			   PUBLISH_FIELDS_MAX);
	}
	finish_record(out, at);
}

uint64_t
spoolrec_events_payload(const struct publish_item *items, size_t n)
{
	/* As spoolrec_encode_events writes it: kind and count, then per item
	 * the stream, the seen key, a field count and the fields; a string is
	 * a 4-byte length, its bytes and a NUL. */
	uint64_t total = 2;

	for (size_t i = 0; i < n; i++) {
		total += 5 + strlen(items[i].stream) + 5 + strlen(items[i].seen_key) + 1;
		for (size_t f = 0; f < items[i].nfields; f++)
			total += 5 + (uint64_t)items[i].lens[f];
	}
	return total;
}

void
spoolrec_encode_append(struct spoolrec_buf *out, const char *stream, uint64_t maxlen,
		       const char *const *fields, const size_t *lens, size_t nfields)
{
	size_t at;

	if (stream[0] == '\0')
		abort(); /* spoolrec_decode would refuse it */
	at = start_record(out);
	put_u8(out, SPOOLREC_APPEND);
	put_u8(out, 1);
	put_str(out, stream, strlen(stream));
	put_le(out, maxlen, 8);
	put_fields(out, fields, lens, nfields, SPOOLREC_MAX_FIELDS);
	finish_record(out, at);
}

/* A cursor over a payload; every read checks the bytes left. */
struct cursor {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint64_t
take_le(struct cursor *c, size_t width)
{
	uint64_t v;

	if (c->bad || c->left < width) {
		c->bad = true;
		return 0;
	}
	v = get_le(c->p, width);
	c->p += width;
	c->left -= width;
	return v;
}

static const char *
take_str(struct cursor *c, size_t *len)
{
	uint64_t n = take_le(c, 4);
	const char *s;

	*len = 0;
	if (c->bad || c->left < n || c->left - n < 1 || c->p[n] != 0) {
		c->bad = true;
		return NULL;
	}
	s = (const char *)c->p;
	c->p += n + 1;
	c->left -= n + 1;
	*len = (size_t)n;
	return s;
}

/* A C string that must not hold a NUL before its end (stream and key names). */
static const char *
take_name(struct cursor *c)
{
	size_t n;
	const char *s = take_str(c, &n);

	if (s != NULL && (n == 0 || memchr(s, 0, n) != NULL))
		c->bad = true;
	return c->bad ? NULL : s;
}

static size_t
take_fields(struct cursor *c, const char **fields, size_t *lens, size_t max)
{
	uint64_t n = take_le(c, 1);

	if (n > max || n % 2 != 0) {
		c->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n && !c->bad; i++)
		fields[i] = take_str(c, &lens[i]);
	return (size_t)n;
}

int
spoolrec_decode(const char *payload, size_t len, struct spoolrec *out)
{
	struct cursor c = { (const unsigned char *)payload, len, false };
	uint64_t kind = take_le(&c, 1), n = take_le(&c, 1);

	memset(out, 0, sizeof(*out));
	if (c.bad || n == 0 || n > SPOOLREC_MAX_ITEMS)
		return -1;
	if (kind == SPOOLREC_APPEND) {
		if (n != 1)
			return -1;
		out->stream = take_name(&c);
		out->maxlen = take_le(&c, 8);
		out->nfields = take_fields(&c, out->fields, out->lens, SPOOLREC_MAX_FIELDS);
	} else if (kind == SPOOLREC_EVENTS) {
		for (size_t i = 0; i < n && !c.bad; i++) {
			out->items[i].stream = take_name(&c);
			out->items[i].seen_key = take_name(&c);
			out->items[i].nfields = take_fields(&c, out->items[i].fields,
							    out->items[i].lens, PUBLISH_FIELDS_MAX);
			/* Every item of one script call has the same shape. */
			if (!c.bad && out->items[i].nfields != out->items[0].nfields)
				c.bad = true;
		}
	} else {
		return -1;
	}
	if (c.bad || c.left != 0)
		return -1;
	out->kind = (enum spoolrec_kind)kind;
	out->nitems = kind == SPOOLREC_EVENTS ? (size_t)n : 0;
	return 0;
}

enum spoolrec_scan
spoolrec_next(const char *buf, size_t len, const char **payload, size_t *plen, size_t *rec_len)
{
	size_t magic = len < 4 ? len : 4;
	uint64_t n;

	if (memcmp(buf, SPOOLREC_MAGIC, magic) != 0)
		return SPOOLREC_BAD;
	if (len < SPOOLREC_HEADER)
		return SPOOLREC_TRUNCATED;
	n = get_le((const unsigned char *)buf + 4, 4);
	if (n > SPOOLREC_MAX_PAYLOAD)
		return SPOOLREC_BAD;
	if (len - SPOOLREC_HEADER < n)
		return SPOOLREC_TRUNCATED;
	if (record_crc(buf + 4, buf + SPOOLREC_HEADER, (size_t)n) !=
	    (uint32_t)get_le((const unsigned char *)buf + 8, 4))
		return SPOOLREC_BAD;
	*payload = buf + SPOOLREC_HEADER;
	*plen = (size_t)n;
	*rec_len = SPOOLREC_HEADER + (size_t)n;
	return SPOOLREC_WHOLE;
}

size_t
spoolrec_resync(const char *buf, size_t len)
{
	for (size_t at = 1; at + SPOOLREC_HEADER <= len; at++) {
		const char *m = memmem(buf + at, len - at, SPOOLREC_MAGIC, 4);
		const char *p;
		size_t plen, rlen;

		if (m == NULL)
			break;
		at = (size_t)(m - buf);
		if (spoolrec_next(m, len - at, &p, &plen, &rlen) == SPOOLREC_WHOLE)
			return at;
	}
	return len;
}
