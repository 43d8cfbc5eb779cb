/* SPDX-License-Identifier: MIT */
/*
 * spoolrec: the spool's on-disk record format (pure: no I/O).
 *
 * A record is a 12-byte header and a payload:
 *   "HSR1" | u32 LE payload length | u32 LE crc32 (zlib) over the length
 *   bytes and the payload | payload
 * The payload:
 *   u8 kind | u8 nitems | nitems × item
 *   item, kind EVENTS: str stream | str seen_key | u8 nfields | nfields × str
 *   item, kind APPEND (nitems == 1): str stream | u64 LE maxlen | u8 nfields |
 *                                    nfields × str
 *   str: u32 LE length | bytes | one NUL (so a decoded string points into the
 *   buffer and is still a C string; values may hold NULs, their length counts)
 * Every integer is little-endian; a record is self-checking, so a reader can
 * tell a torn tail (power loss mid-write) from a whole record and can find the
 * next whole record after damage.
 */
#ifndef HOOKSTREAM_SPOOLREC_H
#define HOOKSTREAM_SPOOLREC_H

#include <stddef.h>
#include <stdint.h>

#include "hookstream/compiler.h"
#include "hookstream/publish.h"

#define SPOOLREC_MAGIC	     "HSR1"
#define SPOOLREC_HEADER	     12
#define SPOOLREC_MAX_PAYLOAD (256u << 20)
#define SPOOLREC_MAX_ITEMS   64
#define SPOOLREC_MAX_FIELDS  32 /* field/value arguments of an APPEND record */

enum spoolrec_kind {
	SPOOLREC_EVENTS = 1, /* stored through the dedup script (publish_submit) */
	SPOOLREC_APPEND = 2, /* one plain XADD (publish_append: <prefix>:invalid) */
};

/* A growable byte buffer records are encoded into. */
struct spoolrec_buf {
	char *data;
	size_t len, cap;
};

void spoolrec_buf_fini(struct spoolrec_buf *b);

/* Append one EVENTS record holding items[0..n) (1 <= n <= SPOOLREC_MAX_ITEMS).
 * Its payload must fit SPOOLREC_MAX_PAYLOAD: ask spoolrec_events_payload. */
void spoolrec_encode_events(struct spoolrec_buf *out, const struct publish_item *items, size_t n);

/* The payload bytes spoolrec_encode_events would write for items[0..n). A
 * batch repeats the whole body in each event, so a large one can pass
 * SPOOLREC_MAX_PAYLOAD where its body alone is far below max_body. */
uint64_t spoolrec_events_payload(const struct publish_item *items, size_t n);

/* Append one APPEND record (nfields <= SPOOLREC_MAX_FIELDS). */
void spoolrec_encode_append(struct spoolrec_buf *out, const char *stream, uint64_t maxlen,
			    const char *const *fields, const size_t *lens, size_t nfields);

/* A decoded payload; every pointer points into the payload it came from. */
struct spoolrec {
	enum spoolrec_kind kind;
	size_t nitems;				       /* EVENTS */
	struct publish_item items[SPOOLREC_MAX_ITEMS]; /* EVENTS */
	const char *stream;			       /* APPEND */
	uint64_t maxlen;			       /* APPEND */
	const char *fields[SPOOLREC_MAX_FIELDS];       /* APPEND */
	size_t lens[SPOOLREC_MAX_FIELDS];
	size_t nfields;
};

/* Decode a payload (one whose checksum held). 0, or -1 when it is malformed. */
HS_WUR int spoolrec_decode(const char *payload, size_t len, struct spoolrec *out);

enum spoolrec_scan {
	SPOOLREC_WHOLE,	    /* a whole, checked record starts at buf[0] */
	SPOOLREC_TRUNCATED, /* buf[0..len) is a valid beginning of a record: more bytes needed */
	SPOOLREC_BAD,	    /* no record starts at buf[0] */
};

/*
 * Look at the record starting at buf[0]. WHOLE sets *payload and *plen to its
 * payload and *rec_len to its whole size (header included).
 */
HS_WUR enum spoolrec_scan spoolrec_next(const char *buf, size_t len, const char **payload,
					size_t *plen, size_t *rec_len);

/* After damage at buf[0]: the offset (> 0) of the next whole record, or len. */
size_t spoolrec_resync(const char *buf, size_t len);

#endif
