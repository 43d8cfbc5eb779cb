// SPDX-License-Identifier: MIT
/*
 * fuzz_spoolrec: libFuzzer target for the spool record format. The input is
 * read as a spool segment, the way spool.c's segment scan reads one: a whole
 * record is decoded (and skipped when it does not decode), damage is skipped
 * with spoolrec_resync, a torn tail ends the walk. Every decoded record is
 * encoded again and must come back byte for byte (the format has one encoding
 * per content) and decode to the same content; every prefix of a whole record
 * must scan as truncated; resync must land on the first whole record after
 * the damage. The input is also decoded as a bare payload (the checksum would
 * hide most mutations of one from the walk), which must re-encode to itself,
 * and stored as field values of an APPEND and an EVENTS record, which must
 * round-trip.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/spoolrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_spoolrec: " __VA_ARGS__);                            \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Big (an EVENTS record holds 64 items): kept off the stack. */
static struct spoolrec fuzz_rec, fuzz_again;

static bool
fuzz_same_fields(const char *const *a, const size_t *al, size_t an, const char *const *b,
		 const size_t *bl, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t j = 0; j < an; j++)
		if (al[j] != bl[j] || memcmp(a[j], b[j], al[j]) != 0 || b[j][bl[j]] != '\0')
			return false;
	return true;
}

static bool
fuzz_same_name(const char *a, const char *b)
{
	return a != NULL && b != NULL && b[0] != '\0' && strcmp(a, b) == 0;
}

/* Same content; b's strings are also checked to be NUL-terminated. */
static bool
fuzz_same(const struct spoolrec *a, const struct spoolrec *b)
{
	if (a->kind != b->kind || a->nitems != b->nitems)
		return false;
	if (a->kind == SPOOLREC_APPEND)
		return fuzz_same_name(a->stream, b->stream) && a->maxlen == b->maxlen &&
		       fuzz_same_fields(a->fields, a->lens, a->nfields, b->fields, b->lens,
					b->nfields);
	for (size_t i = 0; i < a->nitems; i++) {
		const struct publish_item *x = &a->items[i], *y = &b->items[i];

		if (!fuzz_same_name(x->stream, y->stream) ||
		    !fuzz_same_name(x->seen_key, y->seen_key) ||
		    !fuzz_same_fields(x->fields, x->lens, x->nfields, y->fields, y->lens,
				      y->nfields) ||
		    y->nfields != b->items[0].nfields)
			return false;
	}
	return true;
}

/* buf holds exactly one record: it must scan whole and decode into out. */
static void
fuzz_decode_one(const struct spoolrec_buf *buf, struct spoolrec *out)
{
	const char *payload = NULL;
	size_t plen = 0, rl = 0;
	enum spoolrec_scan s = spoolrec_next(buf->data, buf->len, &payload, &plen, &rl);

	CHECK(s == SPOOLREC_WHOLE, "encoded record scans as %d", (int)s);
	CHECK(rl == buf->len && plen + SPOOLREC_HEADER == rl &&
		      payload == buf->data + SPOOLREC_HEADER,
	      "encoded record: rec_len %zu, plen %zu of %zu bytes", rl, plen, buf->len);
	CHECK(spoolrec_decode(payload, plen, out) == 0, "encoded record does not decode");
}

/* rec was decoded from the rl bytes at whole: encode it again and compare. */
static void
fuzz_reencode(const char *whole, size_t rl, const struct spoolrec *rec)
{
	struct spoolrec_buf b = { 0 };

	if (rec->kind == SPOOLREC_EVENTS) {
		CHECK(rec->nitems >= 1 && rec->nitems <= SPOOLREC_MAX_ITEMS, "nitems %zu",
		      rec->nitems);
		spoolrec_encode_events(&b, rec->items, rec->nitems);
	} else {
		CHECK(rec->kind == SPOOLREC_APPEND && rec->nitems == 0, "kind %d, nitems %zu",
		      (int)rec->kind, rec->nitems);
		CHECK(rec->nfields <= SPOOLREC_MAX_FIELDS, "nfields %zu", rec->nfields);
		spoolrec_encode_append(&b, rec->stream, rec->maxlen, rec->fields, rec->lens,
				       rec->nfields);
	}
	CHECK(b.len == rl && memcmp(b.data, whole, rl) == 0,
	      "re-encoding differs (%zu bytes, was %zu)", b.len, rl);
	fuzz_decode_one(&b, &fuzz_again);
	CHECK(fuzz_same(rec, &fuzz_again), "re-encoding decodes to other content");
	spoolrec_buf_fini(&b);
}

/* Walk a segment's bytes as the spool's reader does. */
static void
fuzz_walk(const char *data, size_t len)
{
	size_t at = 0;

	while (at < len) {
		const char *p = data + at, *payload = NULL;
		size_t left = len - at, plen = 0, rl = 0, skip;
		enum spoolrec_scan s = spoolrec_next(p, left, &payload, &plen, &rl);

		if (s == SPOOLREC_TRUNCATED) {
			/* Only a header that asks for more than is left, or a short magic. */
			if (left >= SPOOLREC_HEADER) {
				uint32_t n = (uint32_t)(unsigned char)p[4] |
					     (uint32_t)(unsigned char)p[5] << 8 |
					     (uint32_t)(unsigned char)p[6] << 16 |
					     (uint32_t)(unsigned char)p[7] << 24;

				CHECK(memcmp(p, SPOOLREC_MAGIC, 4) == 0 &&
					      n <= SPOOLREC_MAX_PAYLOAD &&
					      n > left - SPOOLREC_HEADER,
				      "TRUNCATED with %zu bytes left, length %u", left, n);
			} else {
				CHECK(memcmp(p, SPOOLREC_MAGIC, left < 4 ? left : 4) == 0,
				      "TRUNCATED without the magic");
			}
			break;
		}
		if (s == SPOOLREC_WHOLE) {
			CHECK(rl <= left && plen + SPOOLREC_HEADER == rl &&
				      payload == p + SPOOLREC_HEADER,
			      "WHOLE: rec_len %zu, plen %zu, %zu bytes left", rl, plen, left);
			for (size_t k = 0; k < rl; k++) {
				const char *q;
				size_t ql, qr;

				CHECK(spoolrec_next(p, k, &q, &ql, &qr) == SPOOLREC_TRUNCATED,
				      "prefix %zu of a %zu-byte record is not TRUNCATED", k, rl);
			}
			if (spoolrec_decode(payload, plen, &fuzz_rec) == 0)
				fuzz_reencode(p, rl, &fuzz_rec);
			at += rl; /* whole but undecodable: skipped as the reader does */
			continue;
		}
		CHECK(s == SPOOLREC_BAD, "scan result %d", (int)s);
		skip = spoolrec_resync(p, left);
		CHECK(skip > 0 && skip <= left, "resync %zu of %zu", skip, left);
		/* The first whole record after the damage, or the end. */
		for (size_t k = 1; k < skip; k++) {
			const char *q;
			size_t ql, qr;

			CHECK(spoolrec_next(p + k, left - k, &q, &ql, &qr) != SPOOLREC_WHOLE,
			      "resync skipped a whole record at %zu (went to %zu)", k, skip);
		}
		if (skip < left) {
			const char *q;
			size_t ql, qr;

			CHECK(spoolrec_next(p + skip, left - skip, &q, &ql, &qr) == SPOOLREC_WHOLE,
			      "resync to %zu: no whole record there", skip);
		}
		at += skip;
	}
}

/*
 * The input as a bare payload, past the checksum that mutations rarely keep
 * right: when it decodes, its re-encoding's payload must be the input itself.
 */
static void
fuzz_payload(const char *data, size_t size)
{
	char hdr[SPOOLREC_HEADER];
	struct spoolrec_buf b = { 0 };

	if (spoolrec_decode(data, size, &fuzz_rec) != 0)
		return;
	if (fuzz_rec.kind == SPOOLREC_EVENTS)
		spoolrec_encode_events(&b, fuzz_rec.items, fuzz_rec.nitems);
	else
		spoolrec_encode_append(&b, fuzz_rec.stream, fuzz_rec.maxlen, fuzz_rec.fields,
				       fuzz_rec.lens, fuzz_rec.nfields);
	CHECK(b.len == SPOOLREC_HEADER + size && memcmp(b.data + SPOOLREC_HEADER, data, size) == 0,
	      "payload re-encodes differently (%zu bytes, was %zu)", b.len - SPOOLREC_HEADER, size);
	/* With that header, the whole record must pass the walk's checks too. */
	memcpy(hdr, b.data, sizeof(hdr));
	fuzz_walk(b.data, b.len);
	CHECK(memcmp(hdr, b.data, sizeof(hdr)) == 0, "walk changed the record");
	spoolrec_buf_fini(&b);
}

/* The input as field values, split evenly: encode, then decode the same. */
static void
fuzz_encode(const char *data, size_t size)
{
	static struct publish_item items[SPOOLREC_MAX_ITEMS];
	static const char *fields[SPOOLREC_MAX_FIELDS];
	static size_t lens[SPOOLREC_MAX_FIELDS];
	static char streams[SPOOLREC_MAX_ITEMS][32], keys[SPOOLREC_MAX_ITEMS][64];
	struct spoolrec_buf b = { 0 };
	size_t nf, ni;
	uint64_t maxlen = 0;

	if (size == 0)
		return;
	nf = (size_t)(unsigned char)data[0] % (SPOOLREC_MAX_FIELDS + 1) & ~(size_t)1;
	for (size_t j = 0; j < nf; j++) {
		fields[j] = data + j * size / nf;
		lens[j] = (j + 1) * size / nf - j * size / nf;
	}
	memcpy(&maxlen, data, size < sizeof(maxlen) ? size : sizeof(maxlen));
	spoolrec_encode_append(&b, "hs:invalid", maxlen, fields, lens, nf);
	fuzz_decode_one(&b, &fuzz_rec);
	CHECK(fuzz_rec.kind == SPOOLREC_APPEND && fuzz_rec.nitems == 0 &&
		      strcmp(fuzz_rec.stream, "hs:invalid") == 0 && fuzz_rec.maxlen == maxlen &&
		      fuzz_same_fields(fields, lens, nf, fuzz_rec.fields, fuzz_rec.lens,
				       fuzz_rec.nfields),
	      "APPEND round trip");
	fuzz_walk(b.data, b.len);
	spoolrec_buf_fini(&b);

	/* Many items only for short inputs: each item repeats the whole input. */
	ni = 1 + (size > 1 ? (size_t)(unsigned char)data[1] : 0) %
			 (size <= 512 ? SPOOLREC_MAX_ITEMS : 4);
	nf = nf > PUBLISH_FIELDS_MAX ? PUBLISH_FIELDS_MAX : nf;
	for (size_t i = 0; i < ni; i++) {
		snprintf(streams[i], sizeof(streams[i]), "hs:s%zu", i);
		snprintf(keys[i], sizeof(keys[i]), "{hs:s%zu}:seen:%zu", i, size);
		items[i].stream = streams[i];
		items[i].seen_key = keys[i];
		items[i].nfields = nf;
		for (size_t j = 0; j < nf; j++) {
			/* Item i's fields start at a different piece. */
			items[i].fields[j] = fields[(j + i) % nf];
			items[i].lens[j] = lens[(j + i) % nf];
		}
	}
	spoolrec_encode_events(&b, items, ni);
	fuzz_decode_one(&b, &fuzz_rec);
	CHECK(fuzz_rec.kind == SPOOLREC_EVENTS && fuzz_rec.nitems == ni, "EVENTS: %zu items",
	      fuzz_rec.nitems);
	for (size_t i = 0; i < ni; i++) {
		const struct publish_item *x = &items[i], *y = &fuzz_rec.items[i];

		CHECK(fuzz_same_name(x->stream, y->stream) &&
			      fuzz_same_name(x->seen_key, y->seen_key) &&
			      fuzz_same_fields(x->fields, x->lens, x->nfields, y->fields, y->lens,
					       y->nfields),
		      "EVENTS round trip, item %zu", i);
	}
	spoolrec_buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_walk((const char *)data, size);
	fuzz_payload((const char *)data, size);
	fuzz_encode((const char *)data, size);
	return 0;
}
