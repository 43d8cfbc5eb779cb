// SPDX-License-Identifier: MIT
/*
 * fuzz_httpframe: libFuzzer target for the request framer. The first two bytes
 * pick the limits, the next four the sizes of the pieces the rest is fed in (0:
 * an empty feed first). Events must come in a legal order with *consumed in
 * range, REJECT must be terminal, and the split must not change where any
 * request ends: the pieces give the same events as one whole feed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/httpframe.h"
#include "hookstream/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_httpframe: " __VA_ARGS__);                           \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define FUZZ_HEADER 6 /* limit bytes + split bytes */
#define FUZZ_SPLITS 4

/* An event other than NEED_MORE, at an offset into the stream. */
struct fuzz_event {
	enum httpframe_event ev;
	size_t at;
};

struct fuzz_run {
	struct httpframe f;
	struct fuzz_event *events; /* at most one per byte, plus the last COMPLETE */
	size_t nevents;
	bool in_body;		/* between HEAD_DONE and COMPLETE */
	bool must_complete_now; /* HEAD_DONE of a request without a body */
	bool dead;
	size_t request_start; /* stream offset of the request's first byte */
	size_t body_start;    /* stream offset just after its head */
	const char *stream;   /* the whole input, for the target's bytes */
	struct httpframe_info head;
};

static void
fuzz_check_reject(const struct httpframe_info *info)
{
	static const struct {
		const char *error;
		int status;
	} known[] = {
		{ "bad_request", 400 },		  { "bad_method", 400 },
		{ "bad_version", 400 },		  { "bad_content_length", 400 },
		{ "bad_transfer_encoding", 400 }, { "conflicting_length", 400 },
		{ "body_not_allowed", 400 },	  { "bad_chunk", 400 },
		{ "body_too_large", 413 },	  { "header_too_large", 431 },
		{ "method_not_allowed", 405 },	  { "expectation_failed", 417 },
	};
	bool found = false;

	CHECK(info->error != NULL && info->message != NULL && info->message[0] != '\0',
	      "REJECT without error or message");
	for (size_t i = 0; i < HS_ARRAY_LEN(known); i++)
		if (strcmp(info->error, known[i].error) == 0) {
			CHECK(info->status == known[i].status, "%s with status %d", info->error,
			      info->status);
			found = true;
		}
	CHECK(found, "unknown error %s", info->error);
}

static void
fuzz_check_head(const struct fuzz_run *r, const struct httpframe_info *info, size_t end)
{
	size_t max_head = r->f.limits.max_head;

	CHECK(end - r->request_start <= max_head, "head of %zu bytes passed max_head %zu",
	      end - r->request_start, max_head);
	CHECK(end - r->request_start >= strlen("GET / HTTP/1.0\n\n"), "head of %zu bytes",
	      end - r->request_start);
	CHECK(info->content_length <= r->f.limits.max_body, "Content-Length %llu over %llu",
	      (unsigned long long)info->content_length, (unsigned long long)r->f.limits.max_body);
	CHECK(!info->chunked || (info->content_length == 0 && info->http11),
	      "chunked with Content-Length %llu or in HTTP/1.0",
	      (unsigned long long)info->content_length);
	CHECK(!info->expect_continue ||
		      (info->http11 && (info->chunked || info->content_length > 0)),
	      "100-continue without an HTTP/1.1 body");
	/* The target the gate hands to evhttp's URI parser: inside the request
	 * line, after the method and a space, no space or control byte in it. */
	CHECK(info->target_len > 0 && info->target_at > 0 &&
		      r->request_start + info->target_at + info->target_len < end,
	      "target at %zu+%zu outside a head of %zu bytes", info->target_at, info->target_len,
	      end - r->request_start);
	CHECK(r->stream[r->request_start + info->target_at - 1] == ' ',
	      "no space before the target");
	for (size_t i = 0; i < info->target_len; i++) {
		unsigned char c = (unsigned char)r->stream[r->request_start + info->target_at + i];

		CHECK(c > 0x20 && c != 0x7f, "byte 0x%02x in the target", c);
	}
}

/* Feed data[0, len), which starts at stream offset base, until all is taken. */
static void
fuzz_feed(struct fuzz_run *r, const char *data, size_t len, size_t base)
{
	size_t off = 0;
	bool again = true;

	while (again && !r->dead) {
		const struct httpframe_info *info = NULL;
		size_t consumed = SIZE_MAX, at;
		enum httpframe_event ev;

		ev = httpframe_feed(&r->f, len > off ? data + off : NULL, len - off, &consumed,
				    &info);
		CHECK(info == &r->f.info, "info does not point into the framer");
		CHECK(consumed <= len - off, "consumed %zu of %zu", consumed, len - off);
		CHECK(!r->must_complete_now || (ev == HTTPFRAME_COMPLETE && consumed == 0),
		      "request without a body: event %d, consumed %zu after HEAD_DONE", ev,
		      consumed);
		r->must_complete_now = false;
		off += consumed;
		at = base + off;
		again = false;
		switch (ev) {
		case HTTPFRAME_NEED_MORE:
			CHECK(off == len, "NEED_MORE with %zu bytes left", len - off);
			break;
		case HTTPFRAME_HEAD_DONE:
			CHECK(!r->in_body, "HEAD_DONE inside a body");
			fuzz_check_head(r, info, at);
			r->head = *info;
			r->in_body = true;
			r->body_start = at;
			r->must_complete_now = !info->chunked && info->content_length == 0;
			again = true; /* even with nothing left: a bodiless request completes */
			break;
		case HTTPFRAME_COMPLETE:
			CHECK(r->in_body, "COMPLETE without HEAD_DONE");
			CHECK(info->chunked == r->head.chunked &&
				      info->content_length == r->head.content_length &&
				      info->http11 == r->head.http11 &&
				      info->expect_continue == r->head.expect_continue,
			      "info changed between HEAD_DONE and COMPLETE");
			if (!info->chunked)
				CHECK(at - r->body_start == info->content_length,
				      "body of %zu bytes, Content-Length %llu", at - r->body_start,
				      (unsigned long long)info->content_length);
			else
				CHECK(at - r->body_start >= strlen("0\n\n"),
				      "chunked body of %zu bytes", at - r->body_start);
			r->in_body = false;
			r->request_start = at;
			again = off < len;
			break;
		case HTTPFRAME_REJECT: {
			const struct httpframe_info *info2 = NULL;
			struct httpframe_info saved = *info;

			CHECK(consumed >= 1, "REJECT without examining a byte");
			fuzz_check_reject(info);
			r->dead = true;
			/* Terminal and sticky: same answer, nothing taken, same info. */
			for (size_t n = 0; n <= 1; n++) {
				consumed = SIZE_MAX;
				CHECK(httpframe_feed(&r->f, n ? "GET / HTTP/1.1\r\n\r\n" : NULL,
						     n ? 18 : 0, &consumed,
						     &info2) == HTTPFRAME_REJECT,
				      "REJECT is not sticky");
				CHECK(consumed == 0, "consumed %zu after REJECT", consumed);
				CHECK(info2->status == saved.status &&
					      info2->error == saved.error &&
					      info2->message == saved.message,
				      "info changed after REJECT");
			}
			break;
		}
		default:
			CHECK(false, "unknown event %d", ev);
		}
		if (ev != HTTPFRAME_NEED_MORE) {
			r->events[r->nevents].ev = ev;
			r->events[r->nevents++].at = at;
		}
	}
}

static void
fuzz_run_init(struct fuzz_run *r, const struct httpframe_limits *limits, size_t len)
{
	memset(r, 0, sizeof(*r));
	httpframe_init(&r->f, limits);
	CHECK(r->f.limits.max_head <= HTTPFRAME_HEAD_MAX, "max_head not clamped");
	/* Each event but a bodiless COMPLETE takes a byte; a COMPLETE follows a HEAD_DONE. */
	r->events = xcalloc(2 * len + 2, sizeof(*r->events));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t heads[] = { 16, 32, 64, 256, 1024, 16384, 65536, 1000000 };
	static const uint64_t bodies[] = {
		0, 1, 10, 4096, 1048576, INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX
	};
	struct httpframe_limits limits;
	struct fuzz_run whole, split;
	size_t splits[FUZZ_SPLITS], len, pos = 0;
	const char *in;

	if (size < FUZZ_HEADER)
		return 0;
	limits.max_head = heads[data[0] % HS_ARRAY_LEN(heads)];
	limits.max_body = bodies[data[1] % HS_ARRAY_LEN(bodies)];
	for (size_t i = 0; i < FUZZ_SPLITS; i++)
		splits[i] = data[2 + i];
	in = (const char *)data + FUZZ_HEADER;
	len = size - FUZZ_HEADER;

	fuzz_run_init(&whole, &limits, len);
	whole.stream = in;
	fuzz_feed(&whole, in, len, 0);

	fuzz_run_init(&split, &limits, len);
	split.stream = in;
	for (size_t k = 0; pos < len && !split.dead; k++) {
		size_t n = splits[k % FUZZ_SPLITS];

		if (n == 0) {
			fuzz_feed(&split, in + pos, 0, pos);
			n = 1;
		}
		if (n > len - pos)
			n = len - pos;
		fuzz_feed(&split, in + pos, n, pos);
		pos += n;
	}

	CHECK(split.nevents == whole.nevents, "%zu events in pieces, %zu whole", split.nevents,
	      whole.nevents);
	for (size_t i = 0; i < whole.nevents; i++)
		CHECK(split.events[i].ev == whole.events[i].ev &&
			      split.events[i].at == whole.events[i].at,
		      "event %zu: %d at %zu in pieces, %d at %zu whole", i, split.events[i].ev,
		      split.events[i].at, whole.events[i].ev, whole.events[i].at);
	free(whole.events);
	free(split.events);
	return 0;
}
