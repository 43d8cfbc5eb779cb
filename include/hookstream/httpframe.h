/* SPDX-License-Identifier: MIT */
/*
 * httpframe: an incremental HTTP/1.x request framer. It finds where each request
 * on a connection ends (head + Content-Length or chunked body) and rejects what a
 * careful server must not pass on: oversized heads and bodies, conflicting or
 * repeated Content-Length / Transfer-Encoding, obsolete line folding, malformed
 * chunked framing, unknown methods. It does not build a request object: evhttp
 * parses the requests the framer lets through. Pure: no I/O, no allocation.
 */
#ifndef HOOKSTREAM_HTTPFRAME_H
#define HOOKSTREAM_HTTPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/compiler.h"

#define HTTPFRAME_HEAD_MAX 65536 /* hard upper bound for limits.max_head */

struct httpframe_limits {
	size_t max_head;   /* bytes of request line + headers + final empty line; <=
			      HTTPFRAME_HEAD_MAX */
	uint64_t max_body; /* decoded body bytes (Content-Length or sum of chunk sizes) */
};

enum httpframe_event {
	HTTPFRAME_NEED_MORE, /* every byte given was consumed; the request is not complete */
	HTTPFRAME_HEAD_DONE, /* the head ended at *consumed; info describes it; feed the rest */
	HTTPFRAME_COMPLETE,  /* the request ended at *consumed; the framer is reset for the next */
	HTTPFRAME_REJECT,    /* framing error: info->status/error/message say why; terminal */
};

struct httpframe_info {
	/* filled at HTTPFRAME_HEAD_DONE (and kept until COMPLETE) */
	bool expect_continue; /* HTTP/1.1 head with "Expect: 100-continue" and a body to come */
	bool chunked;
	uint64_t content_length; /* 0 when chunked or absent */
	bool http11;		 /* request line said HTTP/1.1 */
	size_t target_at;	 /* the request target: bytes [target_at, target_at + */
	size_t target_len;	 /* target_len) of this request, counted from its first byte */
	/* filled at HTTPFRAME_REJECT. error is bad_request, bad_method, bad_version,
	 * bad_content_length, bad_transfer_encoding, conflicting_length, body_not_allowed
	 * or bad_chunk (400), method_not_allowed (405, CONNECT), body_too_large (413),
	 * expectation_failed (417) or header_too_large (431). */
	int status;	     /* 400, 405, 413, 417 or 431 */
	const char *error;   /* short code: "bad_request", "body_too_large", "header_too_large", ...
				(static) */
	const char *message; /* human explanation (static) */
};

enum httpframe_state {
	HTTPFRAME_S_HEAD = 0,
	HTTPFRAME_S_BODY,	/* Content-Length body */
	HTTPFRAME_S_CHUNK_SIZE, /* reading a chunk-size line */
	HTTPFRAME_S_CHUNK_DATA, /* inside chunk data */
	HTTPFRAME_S_CHUNK_CRLF, /* CRLF after chunk data */
	HTTPFRAME_S_TRAILER,	/* trailer lines after the last chunk */
	HTTPFRAME_S_DEAD,	/* after a rejection */
};

/* Per-connection state; embed it and call httpframe_init(). Opaque to callers. */
struct httpframe {
	struct httpframe_limits limits;
	enum httpframe_state state;
	struct httpframe_info info;
	uint64_t remaining;	 /* body bytes left (CL) or chunk bytes left */
	uint64_t body_total;	 /* decoded body bytes seen so far */
	size_t head_len;	 /* bytes of the head (or trailer section) seen so far */
	unsigned int line_state; /* position inside the current line, framer-private */
	unsigned int flags;	 /* framer-private: which headers were seen */
	size_t line_len;	 /* bytes of the current token (may exceed what line[] holds) */
	unsigned char field;	 /* framer-private: which header the current value belongs to */
	unsigned char match;	 /* framer-private: bytes of an expected value matched so far */
	/* Only the start of each token is kept (method, version, header names); values
	 * are checked as they stream by: a connection costs bytes, not kilobytes. */
	char line[24];
};

/* Reset f for a new connection with the given limits (copied; a max_head above
 * HTTPFRAME_HEAD_MAX is clamped to it). */
void httpframe_init(struct httpframe *f, const struct httpframe_limits *limits);

/*
 * Feed the next len bytes of the connection (data may be NULL when len is 0).
 * Returns at the first event: *consumed is how many of the given bytes belong to
 * what was framed so far (for NEED_MORE always len). After HEAD_DONE or COMPLETE
 * the caller feeds the bytes after *consumed again. Every request gives exactly
 * one HEAD_DONE and then one COMPLETE: a request without a body (no or zero
 * Content-Length, not chunked) ends at its head, so the call after HEAD_DONE
 * returns COMPLETE with *consumed 0, even with len 0. At COMPLETE info still
 * describes the request that ended. At REJECT *consumed counts the bytes examined,
 * the offending one included; every further call returns REJECT, *consumed 0 and
 * the same info. info is borrowed: it points into f and stays valid until the
 * next call.
 */
HS_WUR enum httpframe_event httpframe_feed(struct httpframe *f, const char *data, size_t len,
					   size_t *consumed, const struct httpframe_info **info);

#endif
