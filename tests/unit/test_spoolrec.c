// SPDX-License-Identifier: MIT
/*
 * test_spoolrec: unit tests for the spool record format. Records are made two
 * ways: by the encoder under test, and by hand here from the byte layout that
 * spoolrec.h documents (with zlib's crc32 called directly), so the encoder
 * cannot drift from the documented format unnoticed and the decoder is fed
 * payloads the encoder would never write. Inputs to the scanner and decoder
 * are copied into buffers of exactly their size, so an over-read shows up
 * under ASan (the build-asan tree).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "hookstream/compiler.h"
#include "hookstream/spoolrec.h"

/* ---- records and payloads built by hand, byte by byte ---- */

struct hb {
	unsigned char b[16384];
	size_t len;
};

static void
hb_bytes(struct hb *h, const void *p, size_t n)
{
	assert_true(n <= sizeof(h->b) - h->len);
	if (n > 0)
		memcpy(h->b + h->len, p, n);
	h->len += n;
}

static void
hb_u8(struct hb *h, unsigned int v)
{
	unsigned char c = (unsigned char)v;

	hb_bytes(h, &c, 1);
}

static void
hb_le(struct hb *h, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++)
		hb_u8(h, (unsigned int)(v >> (8 * i)) & 0xffu);
}

/* A str whose terminator byte is term (0 in a well-formed one). */
static void
hb_str_term(struct hb *h, const char *s, size_t n, unsigned int term)
{
	hb_le(h, n, 4);
	hb_bytes(h, s, n);
	hb_u8(h, term);
}

static void
hb_str(struct hb *h, const char *s, size_t n)
{
	hb_str_term(h, s, n, 0);
}

static void
hb_name(struct hb *h, const char *s)
{
	hb_str(h, s, strlen(s));
}

/* The crc32 the header documents: over the 4 length bytes, then the payload. */
static uint32_t
hb_crc(const unsigned char *len4, const unsigned char *payload, size_t plen)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, len4, 4);
	crc = crc32(crc, plen > 0 ? payload : (const Bytef *)"", (uInt)plen);
	return (uint32_t)crc;
}

/* Append to out a record (header and all) around payload p. */
static void
hb_record(struct hb *out, const struct hb *p)
{
	unsigned char len4[4];

	for (size_t i = 0; i < 4; i++)
		len4[i] = (unsigned char)(p->len >> (8 * i));
	hb_bytes(out, SPOOLREC_MAGIC, 4);
	hb_bytes(out, len4, 4);
	hb_le(out, hb_crc(len4, p->b, p->len), 4);
	hb_bytes(out, p->b, p->len);
}

/* A well-formed EVENTS payload: nitems items of nfields one-byte strings. */
static void
hb_events(struct hb *h, unsigned int nitems, unsigned int nfields)
{
	hb_u8(h, SPOOLREC_EVENTS);
	hb_u8(h, nitems);
	for (unsigned int i = 0; i < nitems; i++) {
		hb_name(h, "s");
		hb_name(h, "k");
		hb_u8(h, nfields);
		for (unsigned int j = 0; j < nfields; j++)
			hb_str(h, "v", 1);
	}
}

/* A well-formed APPEND payload with nfields one-byte strings. */
static void
hb_append(struct hb *h, unsigned int nfields)
{
	hb_u8(h, SPOOLREC_APPEND);
	hb_u8(h, 1);
	hb_name(h, "st");
	hb_le(h, 7, 8);
	hb_u8(h, nfields);
	for (unsigned int j = 0; j < nfields; j++)
		hb_str(h, "v", 1);
}

/* ---- calling the module on exact-size copies ---- */

static char *
dup_exact(const void *p, size_t n)
{
	char *d = malloc(n > 0 ? n : 1);

	assert_non_null(d);
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/* The copy stays until the next call: rec's pointers point into it. */
static int
decode_exact(const void *payload, size_t len, struct spoolrec *rec)
{
	static char *held;

	free(held);
	held = dup_exact(payload, len);
	return spoolrec_decode(held, len, rec);
}

static enum spoolrec_scan
next_exact(const void *buf, size_t len)
{
	char *d = dup_exact(buf, len);
	const char *payload = NULL;
	size_t plen = 0, rl = 0;
	enum spoolrec_scan s = spoolrec_next(d, len, &payload, &plen, &rl);

	if (s == SPOOLREC_WHOLE &&
	    (payload != d + SPOOLREC_HEADER || rl != plen + SPOOLREC_HEADER || rl > len))
		fail_msg("WHOLE with payload offset %td, plen %zu, rec_len %zu of %zu bytes",
			 payload - d, plen, rl, len);
	free(d);
	return s;
}

static size_t
resync_exact(const void *buf, size_t len)
{
	char *d = dup_exact(buf, len);
	size_t at = spoolrec_resync(d, len);

	free(d);
	return at;
}

static const char *
scan_name(enum spoolrec_scan s)
{
	return s == SPOOLREC_WHOLE ? "WHOLE" : s == SPOOLREC_TRUNCATED ? "TRUNCATED" : "BAD";
}

/*
 * The record at buf[at]: must be WHOLE, its payload right after the header,
 * and must decode. Returns its whole size.
 */
static size_t
take_record(const char *buf, size_t len, size_t at, struct spoolrec *rec, const char **payload,
	    size_t *plen)
{
	size_t rl = 0;
	enum spoolrec_scan s;

	assert_true(at <= len);
	*payload = NULL;
	*plen = 0;
	s = spoolrec_next(buf + at, len - at, payload, plen, &rl);
	if (s != SPOOLREC_WHOLE)
		fail_msg("record at %zu of %zu: %s, want WHOLE", at, len, scan_name(s));
	assert_ptr_equal(*payload, buf + at + SPOOLREC_HEADER);
	assert_int_equal(rl, *plen + SPOOLREC_HEADER);
	assert_true(rl <= len - at);
	if (spoolrec_decode(*payload, *plen, rec) != 0)
		fail_msg("record at %zu: decode failed", at);
	return rl;
}

/* ---- comparing decoded records with what was encoded ---- */

/* s[0..n] lies in the payload and s[n] is its NUL. */
static void
check_in_payload(const char *s, size_t n, const char *payload, size_t plen, const char *what,
		 size_t i, size_t j)
{
	uintptr_t p = (uintptr_t)payload, a = (uintptr_t)s;

	if (s == NULL)
		fail_msg("item %zu %s %zu: NULL", i, what, j);
	if (a < p || a - p >= plen || plen - (a - p) <= n)
		fail_msg("item %zu %s %zu: [%zu, +%zu] outside the %zu-byte payload", i, what, j,
			 (size_t)(a - p), n, plen);
	if (s[n] != '\0')
		fail_msg("item %zu %s %zu: not NUL-terminated", i, what, j);
}

static void
check_name(const char *got, const char *want, const char *payload, size_t plen, const char *what,
	   size_t i)
{
	if (got == NULL)
		fail_msg("item %zu %s: NULL, want \"%s\"", i, what, want);
	check_in_payload(got, strlen(want), payload, plen, what, i, 0);
	if (strcmp(got, want) != 0)
		fail_msg("item %zu %s: \"%s\", want \"%s\"", i, what, got, want);
}

static void
check_fields(const char *const *got, const size_t *glens, size_t gn, const char *const *want,
	     const size_t *wlens, size_t wn, const char *payload, size_t plen, size_t i)
{
	if (gn != wn)
		fail_msg("item %zu: %zu fields, want %zu", i, gn, wn);
	for (size_t j = 0; j < wn; j++) {
		if (glens[j] != wlens[j])
			fail_msg("item %zu field %zu: length %zu, want %zu", i, j, glens[j],
				 wlens[j]);
		check_in_payload(got[j], glens[j], payload, plen, "field", i, j);
		if (memcmp(got[j], want[j], wlens[j]) != 0)
			fail_msg("item %zu field %zu: content differs", i, j);
	}
}

static void
check_events(const struct spoolrec *rec, const struct publish_item *items, size_t n,
	     const char *payload, size_t plen)
{
	assert_int_equal(rec->kind, SPOOLREC_EVENTS);
	assert_int_equal(rec->nitems, n);
	for (size_t i = 0; i < n; i++) {
		const struct publish_item *g = &rec->items[i], *w = &items[i];

		check_name(g->stream, w->stream, payload, plen, "stream", i);
		check_name(g->seen_key, w->seen_key, payload, plen, "seen_key", i);
		check_fields(g->fields, g->lens, g->nfields, w->fields, w->lens, w->nfields,
			     payload, plen, i);
	}
}

static void
check_append(const struct spoolrec *rec, const char *stream, uint64_t maxlen,
	     const char *const *fields, const size_t *lens, size_t nfields, const char *payload,
	     size_t plen)
{
	assert_int_equal(rec->kind, SPOOLREC_APPEND);
	assert_int_equal(rec->nitems, 0);
	check_name(rec->stream, stream, payload, plen, "stream", 0);
	if (rec->maxlen != maxlen)
		fail_msg("maxlen %llu, want %llu", (unsigned long long)rec->maxlen,
			 (unsigned long long)maxlen);
	check_fields(rec->fields, rec->lens, rec->nfields, fields, lens, nfields, payload, plen, 0);
}

/* ---- sample content ---- */

#define VAL_MAX 300

static char streams[SPOOLREC_MAX_ITEMS][48];
static char keys[SPOOLREC_MAX_ITEMS][96];
static char vals[SPOOLREC_MAX_ITEMS][PUBLISH_FIELDS_MAX][VAL_MAX];

/*
 * Field j of item i: names are text (one of them empty); values are empty,
 * NUL-laden, every byte value, or plain text, depending on i and j.
 */
static size_t
make_field(size_t i, size_t j)
{
	char *d = vals[i][j];

	if (j % 2 == 0) {
		if (i % 7 == 0 && j == 2)
			return 0;
		return (size_t)snprintf(d, VAL_MAX, "name-%zu-%zu", i, j);
	}
	switch ((i + j / 2) % 4) {
	case 0:
		return 0;
	case 1: {
		const char nul[] = { 'x', 0, (char)i, 0, 0, 'y', 0 };

		memcpy(d, nul, sizeof(nul));
		return sizeof(nul);
	}
	case 2:
		for (size_t k = 0; k < 256; k++)
			d[k] = (char)(k + i);
		return 256;
	default:
		return (size_t)snprintf(d, VAL_MAX, "value %zu/%zu", i, j);
	}
}

/* n items of nfields fields each, every stream and key distinct. */
static void
make_items(struct publish_item *items, size_t n, size_t nfields)
{
	assert_true(n <= SPOOLREC_MAX_ITEMS && nfields <= PUBLISH_FIELDS_MAX);
	for (size_t i = 0; i < n; i++) {
		memset(&items[i], 0, sizeof(items[i]));
		snprintf(streams[i], sizeof(streams[i]), "hs:stream-%zu%.*s", i, (int)(i % 9),
			 "xxxxxxxxx");
		snprintf(keys[i], sizeof(keys[i]), "{%s}:seen:evt_%zu", streams[i], i * 7919);
		items[i].stream = streams[i];
		items[i].seen_key = keys[i];
		items[i].nfields = nfields;
		for (size_t j = 0; j < nfields; j++) {
			items[i].lens[j] = make_field(i, j);
			items[i].fields[j] = vals[i][j];
		}
	}
}

/* nfields APPEND fields taken from item 0..'s values. */
static void
make_append_fields(const char **fields, size_t *lens, size_t nfields)
{
	for (size_t j = 0; j < nfields; j++) {
		size_t i = j / PUBLISH_FIELDS_MAX + 1;

		lens[j] = make_field(i, j % PUBLISH_FIELDS_MAX);
		fields[j] = vals[i][j % PUBLISH_FIELDS_MAX];
	}
}

static struct spoolrec rec_a, rec_b;

/* ---- the byte format ---- */

/* The encoder writes exactly the documented bytes. */
static void
test_encode_matches_documented_format(void **state)
{
	static const char *const f[] = { "f", "v\0x" };
	static const size_t fl[] = { 1, 3 };
	struct publish_item it = { .stream = "s1", .seen_key = "key", .nfields = 2 };
	struct spoolrec_buf b = { 0 };
	struct hb p = { .len = 0 }, r = { .len = 0 };
	(void)state;

	spoolrec_encode_append(&b, "st", UINT64_C(0x0102030405060708), f, fl, 2);
	hb_u8(&p, 2);
	hb_u8(&p, 1);
	hb_str(&p, "st", 2);
	hb_bytes(&p, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	hb_u8(&p, 2);
	hb_str(&p, "f", 1);
	hb_str(&p, "v\0x", 3);
	hb_record(&r, &p);
	assert_int_equal(b.len, r.len);
	assert_memory_equal(b.data, r.b, r.len);
	/* The length is the payload's, little-endian, right after the magic. */
	assert_memory_equal(b.data, "HSR1", 4);
	assert_int_equal((unsigned char)b.data[4], p.len);
	assert_memory_equal(b.data + 5, "\0\0\0", 3);
	spoolrec_buf_fini(&b);

	it.fields[0] = f[0];
	it.fields[1] = f[1];
	it.lens[0] = fl[0];
	it.lens[1] = fl[1];
	spoolrec_encode_events(&b, &it, 1);
	p.len = r.len = 0;
	hb_u8(&p, 1);
	hb_u8(&p, 1);
	hb_str(&p, "s1", 2);
	hb_str(&p, "key", 3);
	hb_u8(&p, 2);
	hb_str(&p, "f", 1);
	hb_str(&p, "v\0x", 3);
	hb_record(&r, &p);
	assert_int_equal(b.len, r.len);
	assert_memory_equal(b.data, r.b, r.len);
	spoolrec_buf_fini(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	spoolrec_buf_fini(&b); /* twice is safe */
}

/* A hand-made record of an empty payload is whole (and then fails to decode). */
static void
test_next_empty_payload(void **state)
{
	struct hb p = { .len = 0 }, r = { .len = 0 };
	(void)state;

	hb_record(&r, &p);
	assert_int_equal(r.len, SPOOLREC_HEADER);
	assert_int_equal(next_exact(r.b, r.len), SPOOLREC_WHOLE);
	assert_int_equal(decode_exact(r.b + SPOOLREC_HEADER, 0, &rec_a), -1);
}

/* ---- round trips ---- */

static void
roundtrip_events(size_t n, size_t nfields)
{
	static struct publish_item items[SPOOLREC_MAX_ITEMS];
	struct spoolrec_buf b = { 0 };
	const char *payload;
	size_t plen, rl;

	make_items(items, n, nfields);
	spoolrec_encode_events(&b, items, n);
	rl = take_record(b.data, b.len, 0, &rec_a, &payload, &plen);
	assert_int_equal(rl, b.len);
	check_events(&rec_a, items, n, payload, plen);
	spoolrec_buf_fini(&b);
}

static void
test_events_roundtrip_one(void **state)
{
	(void)state;
	roundtrip_events(1, 2);
	roundtrip_events(1, 0);
	roundtrip_events(1, PUBLISH_FIELDS_MAX);
}

static void
test_events_roundtrip_max(void **state)
{
	(void)state;
	roundtrip_events(SPOOLREC_MAX_ITEMS, PUBLISH_FIELDS_MAX);
	roundtrip_events(SPOOLREC_MAX_ITEMS, 4);
	roundtrip_events(2, 0);
}

/* The sample content really has the hard cases the round trips claim to cover. */
static void
test_sample_content_has_nuls_and_empties(void **state)
{
	static struct publish_item items[SPOOLREC_MAX_ITEMS];
	size_t empty = 0, nul = 0, empty_name = 0;
	(void)state;

	make_items(items, SPOOLREC_MAX_ITEMS, PUBLISH_FIELDS_MAX);
	for (size_t i = 0; i < SPOOLREC_MAX_ITEMS; i++)
		for (size_t j = 0; j < PUBLISH_FIELDS_MAX; j++) {
			empty += items[i].lens[j] == 0 && j % 2 == 1;
			empty_name += items[i].lens[j] == 0 && j % 2 == 0;
			nul += items[i].lens[j] > 0 &&
			       memchr(items[i].fields[j], 0, items[i].lens[j] - 1) != NULL;
		}
	assert_true(empty > 0 && nul > 0 && empty_name > 0);
}

static void
test_append_roundtrip(void **state)
{
	static const uint64_t maxlens[] = { 0, 1, 1000, UINT64_C(1) << 63, UINT64_MAX };
	static const size_t counts[] = { 22, 0, 2, SPOOLREC_MAX_FIELDS };
	const char *fields[SPOOLREC_MAX_FIELDS];
	size_t lens[SPOOLREC_MAX_FIELDS];
	(void)state;

	for (size_t m = 0; m < HS_ARRAY_LEN(maxlens); m++)
		for (size_t c = 0; c < HS_ARRAY_LEN(counts); c++) {
			struct spoolrec_buf b = { 0 };
			const char *payload;
			size_t plen, rl;

			make_append_fields(fields, lens, counts[c]);
			spoolrec_encode_append(&b, "hs:invalid", maxlens[m], fields, lens,
					       counts[c]);
			rl = take_record(b.data, b.len, 0, &rec_a, &payload, &plen);
			assert_int_equal(rl, b.len);
			check_append(&rec_a, "hs:invalid", maxlens[m], fields, lens, counts[c],
				     payload, plen);
			spoolrec_buf_fini(&b);
		}
}

/* Records appended into one buffer (growing it a lot) are walked in order. */
static void
test_many_records_walked_in_order(void **state)
{
	enum { NREC = 12 };
	static struct publish_item items[SPOOLREC_MAX_ITEMS];
	const char *fields[SPOOLREC_MAX_FIELDS];
	size_t lens[SPOOLREC_MAX_FIELDS], ends[NREC], at = 0;
	struct spoolrec_buf b = { 0 };
	char *big = malloc(100000);
	(void)state;

	assert_non_null(big);
	for (size_t k = 0; k < 100000; k++)
		big[k] = (char)(k * 31 % 251);
	make_items(items, SPOOLREC_MAX_ITEMS, 6);
	make_append_fields(fields, lens, 22);
	for (size_t r = 0; r < NREC; r++) {
		if (r % 3 == 2) {
			spoolrec_encode_append(&b, r == 5 ? "big" : "hs:invalid", r, fields, lens,
					       r == 5 ? 2 : 22);
		} else {
			if (r == 4) {
				items[r].fields[1] = big;
				items[r].lens[1] = 100000;
			}
			{
				size_t before = b.len;

				spoolrec_encode_events(&b, items + r, 1 + r * 5);
				/* The size a request is checked against is the size written. */
				assert_int_equal(b.len - before - SPOOLREC_HEADER,
						 spoolrec_events_payload(items + r, 1 + r * 5));
			}
			items[r].fields[1] = vals[r][1];
			items[r].lens[1] = make_field(r, 1);
		}
		ends[r] = b.len;
	}
	for (size_t r = 0; r < NREC; r++) {
		const char *payload;
		size_t plen, rl = take_record(b.data, b.len, at, &rec_a, &payload, &plen);

		if (at + rl != ends[r])
			fail_msg("record %zu: ends at %zu, want %zu", r, at + rl, ends[r]);
		if (r % 3 == 2) {
			if (r == 5) {
				const char *bf[2] = { fields[0], fields[1] };
				size_t bl[2] = { lens[0], lens[1] };

				check_append(&rec_a, "big", r, bf, bl, 2, payload, plen);
			} else {
				check_append(&rec_a, "hs:invalid", r, fields, lens, 22, payload,
					     plen);
			}
		} else {
			if (r == 4) {
				items[r].fields[1] = big;
				items[r].lens[1] = 100000;
			}
			check_events(&rec_a, items + r, 1 + r * 5, payload, plen);
			items[r].fields[1] = vals[r][1];
			items[r].lens[1] = make_field(r, 1);
		}
		at += rl;
	}
	assert_int_equal(at, b.len);
	spoolrec_buf_fini(&b);
	free(big);
}

/* ---- the scanner: truncation and damage ---- */

/* A few small records of both kinds, hand-checked to round-trip first. */
static void
sample_record(struct spoolrec_buf *b, int which)
{
	static struct publish_item items[3];
	static const char *const f[] = { "a", "b\0c" };
	static const size_t fl[] = { 1, 3 };

	switch (which) {
	case 0:
		spoolrec_encode_append(b, "s", 5, f, fl, 2);
		break;
	case 1:
		make_items(items, 3, 2);
		spoolrec_encode_events(b, items, 3);
		break;
	case 2:
		spoolrec_encode_append(b, "inv", UINT64_MAX, f, fl, 0);
		break;
	default: {
		struct publish_item it = { .stream = "s", .seen_key = "k", .nfields = 2 };

		it.fields[0] = f[0];
		it.fields[1] = f[1];
		it.lens[0] = fl[0];
		it.lens[1] = fl[1];
		spoolrec_encode_events(b, &it, 1);
	}
	}
}

enum { NSAMPLES = 4 };

static void
test_every_prefix_is_truncated(void **state)
{
	(void)state;

	for (int w = 0; w < NSAMPLES; w++) {
		struct spoolrec_buf b = { 0 };

		sample_record(&b, w);
		/* Length 0 too: the code checks a 0-byte magic prefix, then the header. */
		for (size_t len = 0; len < b.len; len++) {
			enum spoolrec_scan s = next_exact(b.data, len);

			if (s != SPOOLREC_TRUNCATED)
				fail_msg("sample %d: prefix %zu of %zu: %s, want TRUNCATED", w, len,
					 b.len, scan_name(s));
		}
		assert_int_equal(next_exact(b.data, b.len), SPOOLREC_WHOLE);
		spoolrec_buf_fini(&b);
	}
}

/* The magic and the length field alone decide a short buffer's fate. */
static void
test_short_buffers(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum spoolrec_scan want;
	} cases[] = {
		{ "", 0, SPOOLREC_TRUNCATED },
		{ "H", 1, SPOOLREC_TRUNCATED },
		{ "HS", 2, SPOOLREC_TRUNCATED },
		{ "HSR", 3, SPOOLREC_TRUNCATED },
		{ "HSR1", 4, SPOOLREC_TRUNCATED },
		{ "HSR1\x05\0\0\0\0\0\0", 11, SPOOLREC_TRUNCATED },
		{ "X", 1, SPOOLREC_BAD },
		{ "HX", 2, SPOOLREC_BAD },
		{ "HSRX", 4, SPOOLREC_BAD },
		{ "HSR2", 4, SPOOLREC_BAD },
		{ "hsr1", 4, SPOOLREC_BAD },
		{ "\0SR1", 4, SPOOLREC_BAD },
		/* A declared length up to the maximum waits for more bytes... */
		{ "HSR1\x05\0\0\0\0\0\0\0", 12, SPOOLREC_TRUNCATED },
		{ "HSR1\0\0\0\x10\0\0\0\0", 12, SPOOLREC_TRUNCATED },
		/* ...one above it (256 MiB + 1, or all ones) is no record at all. */
		{ "HSR1\x01\0\0\x10\0\0\0\0", 12, SPOOLREC_BAD },
		{ "HSR1\xff\xff\xff\xff\0\0\0\0", 12, SPOOLREC_BAD },
		/* Whole but checksum wrong (the crc of an empty payload is not 0). */
		{ "HSR1\0\0\0\0\0\0\0\0", 12, SPOOLREC_BAD },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		enum spoolrec_scan s = next_exact(cases[i].bytes, cases[i].len);

		if (s != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, scan_name(s),
				 scan_name(cases[i].want));
	}
}

/*
 * What flipping bit j of byte k of the record at rec[0] must give, avail bytes
 * being in the buffer: only a changed length can ask for more bytes.
 */
static enum spoolrec_scan
flip_expect(const char *rec, size_t avail, size_t k, unsigned int j)
{
	uint64_t n = 0;

	if (k < 4 || k >= 8)
		return SPOOLREC_BAD;
	for (size_t i = 0; i < 4; i++)
		n |= (uint64_t)(unsigned char)rec[4 + i] << (8 * i);
	n ^= (uint64_t)1 << (8 * (k - 4) + j);
	if (n > SPOOLREC_MAX_PAYLOAD)
		return SPOOLREC_BAD;
	if (n > avail - SPOOLREC_HEADER)
		return SPOOLREC_TRUNCATED;
	return SPOOLREC_BAD; /* in the buffer, so the checksum decides */
}

static void
test_every_bit_flip_is_caught(void **state)
{
	size_t truncated = 0, bad = 0;
	(void)state;

	for (int w = 0; w < NSAMPLES; w++) {
		struct spoolrec_buf one = { 0 }, two = { 0 };
		size_t rl;

		sample_record(&one, w);
		rl = one.len;
		/* Alone, and followed by a good record (an enlarged length then may fit). */
		sample_record(&two, w);
		sample_record(&two, (w + 1) % NSAMPLES);
		sample_record(&two, w);
		for (size_t k = 0; k < rl; k++)
			for (unsigned int j = 0; j < 8; j++) {
				for (int pass = 0; pass < 2; pass++) {
					struct spoolrec_buf *b = pass == 0 ? &one : &two;
					enum spoolrec_scan want, s;
					size_t at;

					want = flip_expect(b->data, b->len, k, j);
					b->data[k] ^= (char)(1u << j);
					s = next_exact(b->data, b->len);
					if (s != want)
						fail_msg("sample %d (%s) byte %zu bit %u: %s, want "
							 "%s",
							 w, pass ? "followed" : "alone", k, j,
							 scan_name(s), scan_name(want));
					truncated += s == SPOOLREC_TRUNCATED;
					bad += s == SPOOLREC_BAD;
					/* The reader then finds the next good record, or the end.
					 */
					at = resync_exact(b->data, b->len);
					if (s == SPOOLREC_BAD && at != (pass == 0 ? b->len : rl))
						fail_msg("sample %d byte %zu bit %u: resync %zu", w,
							 k, j, at);
					b->data[k] ^= (char)(1u << j);
				}
			}
		assert_int_equal(next_exact(one.data, one.len), SPOOLREC_WHOLE);
		spoolrec_buf_fini(&one);
		spoolrec_buf_fini(&two);
	}
	/* Both outcomes happened, so the expectations were not vacuous. */
	assert_true(truncated > 0 && bad > 0);
}

/* ---- resync ---- */

static void
test_resync_garbage_then_record(void **state)
{
	static const char *const garbage[] = {
		"x",
		"\0",
		"garbage without the magic",
		"HSR",
		"HHSR",
		"HSRHSR",
		"HSR1",
		"HSR1\x04\0\0\0",
		"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
	};
	static const size_t glen[] = { 1, 1, 25, 3, 4, 6, 4, 8, 13 };
	struct spoolrec_buf rec = { 0 };
	(void)state;

	sample_record(&rec, 1);
	for (size_t g = 0; g < HS_ARRAY_LEN(garbage); g++) {
		struct hb h = { .len = 0 };
		size_t at;

		hb_bytes(&h, garbage[g], glen[g]);
		hb_bytes(&h, rec.data, rec.len);
		at = resync_exact(h.b, h.len);
		if (at != glen[g])
			fail_msg("garbage %zu: resync %zu, want %zu", g, at, glen[g]);
		assert_int_equal(next_exact(h.b + at, h.len - at), SPOOLREC_WHOLE);
	}
	spoolrec_buf_fini(&rec);
}

static void
test_resync_skips_damaged_record(void **state)
{
	/* The first byte, a length byte, a checksum byte, payload bytes. */
	static const size_t at[] = { 0, 4, 9, 13, 20 };
	struct spoolrec_buf b = { 0 };
	size_t first;
	(void)state;

	sample_record(&b, 1);
	first = b.len;
	sample_record(&b, 0);
	for (size_t i = 0; i < HS_ARRAY_LEN(at); i++) {
		b.data[at[i]] ^= 0x40;
		assert_int_not_equal(next_exact(b.data, b.len), SPOOLREC_WHOLE);
		if (resync_exact(b.data, b.len) != first)
			fail_msg("damage at %zu: resync %zu, want %zu", at[i],
				 resync_exact(b.data, b.len), first);
		b.data[at[i]] ^= 0x40;
	}
	/* From a good record too, resync moves on (> 0) to the next one. */
	assert_int_equal(resync_exact(b.data, b.len), first);
	spoolrec_buf_fini(&b);
}

static void
test_resync_nothing_valid(void **state)
{
	struct spoolrec_buf b = { 0 };
	struct hb h = { .len = 0 };
	(void)state;

	assert_int_equal(resync_exact("", 0), 0);
	for (size_t n = 1; n <= 40; n++)
		assert_int_equal(resync_exact("zzzzzzzzzzHSR1HSR1HSR1zzzzzzzzzzzzzzzzzzzz", n), n);
	/* Damage then a torn tail: no whole record, so the end. */
	sample_record(&b, 1);
	hb_bytes(&h, "junk", 4);
	hb_bytes(&h, b.data, b.len - 1);
	assert_int_equal(resync_exact(h.b, h.len), h.len);
	/* One good record at offset 0 only: nothing after it. */
	assert_int_equal(resync_exact(b.data, b.len), b.len);
	spoolrec_buf_fini(&b);
}

static void
test_resync_skips_fake_magic(void **state)
{
	struct spoolrec_buf good = { 0 };
	(void)state;

	sample_record(&good, 0);
	/* A fake header: short length, bad checksum; long length over the good record; too long. */
	for (int fake = 0; fake < 3; fake++) {
		struct hb h = { .len = 0 };
		size_t want;

		hb_bytes(&h, "zz", 2);
		hb_bytes(&h, "HSR1", 4);
		hb_le(&h, fake == 0 ? 4 : fake == 1 ? 4 + good.len : 0xffffffffu, 4);
		hb_le(&h, 0xdeadbeef, 4);
		hb_bytes(&h, "abcd", 4);
		want = h.len;
		hb_bytes(&h, good.data, good.len);
		assert_int_equal(next_exact(h.b + 2, h.len - 2), SPOOLREC_BAD);
		if (resync_exact(h.b, h.len) != want)
			fail_msg("fake %d: resync %zu, want %zu", fake, resync_exact(h.b, h.len),
				 want);
	}
	spoolrec_buf_fini(&good);
}

/* ---- the decoder's rejections ---- */

static void
expect_decode(const struct hb *p, int want, const char *what)
{
	int rc = decode_exact(p->b, p->len, &rec_a);

	if (rc != want)
		fail_msg("%s: decode %d, want %d", what, rc, want);
}

/* The well-formed hand-made payloads the rejections below are variations of. */
static void
test_decode_accepts_handmade(void **state)
{
	static const unsigned int ev[][2] = {
		{ 1, 0 }, { 1, 2 }, { 1, PUBLISH_FIELDS_MAX }, { SPOOLREC_MAX_ITEMS, 2 }
	};
	struct hb p;
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(ev); i++) {
		p.len = 0;
		hb_events(&p, ev[i][0], ev[i][1]);
		expect_decode(&p, 0, "events");
		assert_int_equal(rec_a.kind, SPOOLREC_EVENTS);
		assert_int_equal(rec_a.nitems, ev[i][0]);
		assert_int_equal(rec_a.items[ev[i][0] - 1].nfields, ev[i][1]);
		assert_string_equal(rec_a.items[ev[i][0] - 1].seen_key, "k");
	}
	for (unsigned int n = 0; n <= SPOOLREC_MAX_FIELDS; n += 2) {
		p.len = 0;
		hb_append(&p, n);
		expect_decode(&p, 0, "append");
		assert_int_equal(rec_a.kind, SPOOLREC_APPEND);
		assert_int_equal(rec_a.nfields, n);
		assert_int_equal(rec_a.maxlen, 7);
		assert_string_equal(rec_a.stream, "st");
	}
}

static void
test_decode_rejects_header_fields(void **state)
{
	static const unsigned int kinds[] = { 0, 3, 4, 0x81, 0xff };
	struct hb p;
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(kinds); i++) {
		p.len = 0;
		hb_events(&p, 1, 2);
		p.b[0] = (unsigned char)kinds[i];
		expect_decode(&p, -1, "unknown kind");
		p.len = 0;
		hb_append(&p, 2);
		p.b[0] = (unsigned char)kinds[i];
		expect_decode(&p, -1, "unknown kind (append body)");
	}
	p.len = 0;
	hb_events(&p, 0, 0);
	expect_decode(&p, -1, "events, nitems 0");
	p.len = 0;
	hb_append(&p, 2);
	p.b[1] = 0;
	expect_decode(&p, -1, "append, nitems 0");
	p.len = 0;
	hb_events(&p, SPOOLREC_MAX_ITEMS + 1, 2);
	expect_decode(&p, -1, "events, nitems 65");
	p.len = 0;
	hb_events(&p, 255, 0);
	expect_decode(&p, -1, "events, nitems 255");
	/* An APPEND record holds exactly one entry. */
	p.len = 0;
	hb_append(&p, 2);
	p.b[1] = 2;
	expect_decode(&p, -1, "append, nitems 2 (one body)");
	p.len = 0;
	hb_append(&p, 2);
	hb_bytes(&p, p.b + 2, p.len - 2);
	p.b[1] = 2;
	expect_decode(&p, -1, "append, nitems 2 (two bodies)");
	/* Shorter than kind and nitems. */
	p.len = 0;
	expect_decode(&p, -1, "empty payload");
	hb_u8(&p, SPOOLREC_EVENTS);
	expect_decode(&p, -1, "kind only");
}

static void
test_decode_rejects_field_counts(void **state)
{
	static const unsigned int odd_ev[] = { 1, 3, PUBLISH_FIELDS_MAX - 1 };
	static const unsigned int odd_ap[] = { 1, 21, SPOOLREC_MAX_FIELDS - 1 };
	static const unsigned int many_ev[] = { PUBLISH_FIELDS_MAX + 2, PUBLISH_FIELDS_MAX + 1, 100,
						255 };
	static const unsigned int many_ap[] = { SPOOLREC_MAX_FIELDS + 2, SPOOLREC_MAX_FIELDS + 1,
						254, 255 };
	struct hb p;
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(odd_ev); i++) {
		p.len = 0;
		hb_events(&p, 1, odd_ev[i]);
		expect_decode(&p, -1, "events, odd field count");
		p.len = 0;
		hb_append(&p, odd_ap[i]);
		expect_decode(&p, -1, "append, odd field count");
	}
	for (size_t i = 0; i < HS_ARRAY_LEN(many_ev); i++) {
		p.len = 0;
		hb_events(&p, 1, many_ev[i]);
		expect_decode(&p, -1, "events, too many fields");
		p.len = 0;
		hb_append(&p, many_ap[i]);
		expect_decode(&p, -1, "append, too many fields");
	}
	/* Items of one record have one shape. */
	p.len = 0;
	hb_u8(&p, SPOOLREC_EVENTS);
	hb_u8(&p, 2);
	for (unsigned int i = 0; i < 2; i++) {
		hb_name(&p, "s");
		hb_name(&p, "k");
		hb_u8(&p, i == 0 ? 2 : 4);
		for (unsigned int j = 0; j < (i == 0 ? 2u : 4u); j++)
			hb_str(&p, "v", 1);
	}
	expect_decode(&p, -1, "events, 2 then 4 fields");
	p.len = 0;
	hb_u8(&p, SPOOLREC_EVENTS);
	hb_u8(&p, 3);
	for (unsigned int i = 0; i < 3; i++) {
		hb_name(&p, "s");
		hb_name(&p, "k");
		hb_u8(&p, i == 2 ? 0 : 2);
		for (unsigned int j = 0; j < (i == 2 ? 0u : 2u); j++)
			hb_str(&p, "v", 1);
	}
	expect_decode(&p, -1, "events, 2, 2 then 0 fields");
}

/* One EVENTS item (or the APPEND body) with the given stream, key and value strs. */
static void
hb_events_raw(struct hb *p, const char *stream, size_t slen, unsigned int sterm, const char *key,
	      size_t klen, unsigned int kterm, unsigned int vterm)
{
	hb_u8(p, SPOOLREC_EVENTS);
	hb_u8(p, 1);
	hb_str_term(p, stream, slen, sterm);
	hb_str_term(p, key, klen, kterm);
	hb_u8(p, 2);
	hb_str(p, "f", 1);
	hb_str_term(p, "val", 3, vterm);
}

static void
hb_append_raw(struct hb *p, const char *stream, size_t slen, unsigned int sterm, unsigned int vterm)
{
	hb_u8(p, SPOOLREC_APPEND);
	hb_u8(p, 1);
	hb_str_term(p, stream, slen, sterm);
	hb_le(p, 0, 8);
	hb_u8(p, 2);
	hb_str(p, "f", 1);
	hb_str_term(p, "val", 3, vterm);
}

static void
test_decode_rejects_strings(void **state)
{
	struct hb p;
	(void)state;

	/* Controls: the same builders, well-formed, decode. */
	p.len = 0;
	hb_events_raw(&p, "s", 1, 0, "k", 1, 0, 0);
	expect_decode(&p, 0, "events control");
	p.len = 0;
	hb_append_raw(&p, "s", 1, 0, 0);
	expect_decode(&p, 0, "append control");

	/* A terminator that is not NUL, in each string. */
	p.len = 0;
	hb_events_raw(&p, "s", 1, 'x', "k", 1, 0, 0);
	expect_decode(&p, -1, "stream unterminated");
	p.len = 0;
	hb_events_raw(&p, "s", 1, 0, "k", 1, 'x', 0);
	expect_decode(&p, -1, "seen_key unterminated");
	p.len = 0;
	hb_events_raw(&p, "s", 1, 0, "k", 1, 0, 'x');
	expect_decode(&p, -1, "value unterminated");
	p.len = 0;
	hb_append_raw(&p, "s", 1, 0x01, 0);
	expect_decode(&p, -1, "append stream unterminated");
	p.len = 0;
	hb_append_raw(&p, "s", 1, 0, 0xff);
	expect_decode(&p, -1, "append value unterminated");
	/* The payload ends where the last terminator should be. */
	p.len = 0;
	hb_events_raw(&p, "s", 1, 0, "k", 1, 0, 0);
	p.len--;
	expect_decode(&p, -1, "last terminator missing");
	/* A length that runs past the end, or leaves no room for the NUL. */
	p.len = 0;
	hb_u8(&p, SPOOLREC_APPEND);
	hb_u8(&p, 1);
	hb_le(&p, 0xffffffffu, 4);
	hb_bytes(&p, "st", 3);
	expect_decode(&p, -1, "length 2^32-1");
	p.len = 0;
	hb_u8(&p, SPOOLREC_APPEND);
	hb_u8(&p, 1);
	hb_le(&p, 3, 4);
	hb_bytes(&p, "abc", 3);
	expect_decode(&p, -1, "no room for the NUL");

	/* Names are non-empty C strings; values may be empty or hold NULs. */
	p.len = 0;
	hb_events_raw(&p, "a\0b", 3, 0, "k", 1, 0, 0);
	expect_decode(&p, -1, "stream with a NUL");
	p.len = 0;
	hb_events_raw(&p, "\0", 1, 0, "k", 1, 0, 0);
	expect_decode(&p, -1, "stream that is a NUL");
	p.len = 0;
	hb_events_raw(&p, "s", 1, 0, "k\0", 2, 0, 0);
	expect_decode(&p, -1, "seen_key with a NUL");
	p.len = 0;
	hb_append_raw(&p, "st\0", 3, 0, 0);
	expect_decode(&p, -1, "append stream with a NUL");
	p.len = 0;
	hb_events_raw(&p, "", 0, 0, "k", 1, 0, 0);
	expect_decode(&p, -1, "empty stream");
	p.len = 0;
	hb_events_raw(&p, "s", 1, 0, "", 0, 0, 0);
	expect_decode(&p, -1, "empty seen_key");
	p.len = 0;
	hb_append_raw(&p, "", 0, 0, 0);
	expect_decode(&p, -1, "append, empty stream");
	p.len = 0;
	hb_u8(&p, SPOOLREC_APPEND);
	hb_u8(&p, 1);
	hb_name(&p, "s");
	hb_le(&p, 0, 8);
	hb_u8(&p, 2);
	hb_str(&p, "", 0);
	hb_str(&p, "\0\0", 2);
	expect_decode(&p, 0, "empty name, NUL value");
	assert_int_equal(rec_a.lens[0], 0);
	assert_int_equal(rec_a.lens[1], 2);
}

static void
test_decode_rejects_trailing_bytes(void **state)
{
	static const size_t extra[] = { 1, 2, 8, 100 };
	struct hb p;
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(extra); i++) {
		static const char zeros[100];

		p.len = 0;
		hb_events(&p, 2, 2);
		hb_bytes(&p, zeros, extra[i]);
		expect_decode(&p, -1, "events + trailing bytes");
		p.len = 0;
		hb_append(&p, 2);
		hb_bytes(&p, zeros, extra[i]);
		expect_decode(&p, -1, "append + trailing bytes");
		/* Trailing bytes that would be a whole second item. */
		p.len = 0;
		hb_events(&p, 1, 0);
		hb_name(&p, "s");
		hb_name(&p, "k");
		hb_u8(&p, 0);
		expect_decode(&p, -1, "events + an uncounted item");
	}
}

static void
test_decode_every_truncated_payload(void **state)
{
	(void)state;

	for (int w = 0; w < NSAMPLES; w++) {
		struct spoolrec_buf b = { 0 };
		const char *payload;
		size_t plen;

		sample_record(&b, w);
		(void)take_record(b.data, b.len, 0, &rec_b, &payload, &plen);
		for (size_t len = 0; len < plen; len++)
			if (decode_exact(payload, len, &rec_a) != -1)
				fail_msg("sample %d: payload prefix %zu of %zu decoded", w, len,
					 plen);
		spoolrec_buf_fini(&b);
	}
}

/* ---- the encoder's contract ---- */

static void
expect_abort(void (*fn)(int), int arg, const char *what)
{
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("%s: child status 0x%x, want SIGABRT", what, st);
}

static void
bad_encode(int which)
{
	static struct publish_item items[SPOOLREC_MAX_ITEMS + 1];
	const char *fields[SPOOLREC_MAX_FIELDS + 2] = { 0 };
	size_t lens[SPOOLREC_MAX_FIELDS + 2] = { 0 };
	struct spoolrec_buf b = { 0 };

	for (size_t j = 0; j < HS_ARRAY_LEN(fields); j++)
		fields[j] = "v";
	make_items(items, SPOOLREC_MAX_ITEMS, 2);
	switch (which) {
	case 0:
		spoolrec_encode_events(&b, items, 0);
		break;
	case 1:
		items[SPOOLREC_MAX_ITEMS] = items[0];
		spoolrec_encode_events(&b, items, SPOOLREC_MAX_ITEMS + 1);
		break;
	case 2:
		items[0].nfields = 3;
		spoolrec_encode_events(&b, items, 1);
		break;
	case 3:
		spoolrec_encode_append(&b, "s", 0, fields, lens, 3);
		break;
	case 5: /* what the decoder would refuse: never written */
		spoolrec_encode_append(&b, "", 0, fields, lens, 2);
		break;
	case 6:
		items[1].seen_key = "";
		spoolrec_encode_events(&b, items, 2);
		break;
	case 7:
		items[1].stream = "";
		spoolrec_encode_events(&b, items, 2);
		break;
	case 8:
		items[1].nfields = 0;
		spoolrec_encode_events(&b, items, 2);
		break;
	case 4:
		spoolrec_encode_append(&b, "s", 0, fields, lens, SPOOLREC_MAX_FIELDS + 2);
		break;
	default:
		break;
	}
}

static void
test_encode_aborts_on_bad_shape(void **state)
{
	static const char *const what[] = {
		"0 items",	   "65 items",		 "3 event fields",
		"3 append fields", "34 append fields",	 "empty append stream",
		"empty seen key",  "empty event stream", "items of different shapes"
	};
	(void)state;

	for (int i = 0; i < (int)HS_ARRAY_LEN(what); i++)
		expect_abort(bad_encode, i, what[i]);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_matches_documented_format),
		cmocka_unit_test(test_next_empty_payload),
		cmocka_unit_test(test_events_roundtrip_one),
		cmocka_unit_test(test_events_roundtrip_max),
		cmocka_unit_test(test_sample_content_has_nuls_and_empties),
		cmocka_unit_test(test_append_roundtrip),
		cmocka_unit_test(test_many_records_walked_in_order),
		cmocka_unit_test(test_every_prefix_is_truncated),
		cmocka_unit_test(test_short_buffers),
		cmocka_unit_test(test_every_bit_flip_is_caught),
		cmocka_unit_test(test_resync_garbage_then_record),
		cmocka_unit_test(test_resync_skips_damaged_record),
		cmocka_unit_test(test_resync_nothing_valid),
		cmocka_unit_test(test_resync_skips_fake_magic),
		cmocka_unit_test(test_decode_accepts_handmade),
		cmocka_unit_test(test_decode_rejects_header_fields),
		cmocka_unit_test(test_decode_rejects_field_counts),
		cmocka_unit_test(test_decode_rejects_strings),
		cmocka_unit_test(test_decode_rejects_trailing_bytes),
		cmocka_unit_test(test_decode_every_truncated_payload),
		cmocka_unit_test(test_encode_aborts_on_bad_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
