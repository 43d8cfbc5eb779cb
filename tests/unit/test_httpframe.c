/* SPDX-License-Identifier: MIT */
/*
 * test_httpframe: unit tests for the request framer. Every case is fed whole, byte
 * by byte and cut at every possible point, and each way must give the same trace
 * of events ("H@37:cl=5 C@42": head done at byte 37, request complete at 42), so
 * a framer that depends on how TCP happened to cut the stream cannot pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/httpframe.h"

static_assert(sizeof(struct httpframe) < 256, "struct httpframe is per connection: keep it small");

#define TRACE_MAX 1024

static const struct httpframe_limits default_limits = { .max_head = 1024, .max_body = 1 << 20 };

struct frame_case {
	const char *in;
	size_t len;
	/* Expected trace; '$' stands for the input length, '#' for the end of the head
	 * (just past the first empty line) and '%' for the end of the first occurrence
	 * of after in the input, so no case needs counting by hand. */
	const char *want;
	const char *after;
};

#define CASE(in, want)                                                                             \
	{                                                                                          \
		in, sizeof(in) - 1, want, NULL                                                     \
	}
#define CASE_AT(in, after, want)                                                                   \
	{                                                                                          \
		in, sizeof(in) - 1, want, after                                                    \
	}

/* Append to a TRACE_MAX buffer; running out of room fails the test. */
static HS_PRINTF(3, 4) void append(char *out, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *used, TRACE_MAX - *used, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < TRACE_MAX - *used);
	*used += (size_t)n;
}

static HS_PRINTF(2, 3) void format(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, TRACE_MAX, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < TRACE_MAX);
}

/* The input as a C literal (truncated), for failure messages. */
static const char *
escaped(const char *in, size_t len)
{
	static char buf[512];
	size_t used = 0;

	for (size_t i = 0; i < len && used < sizeof(buf) - 8; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r')
			used += (size_t)sprintf(buf + used, "\\r");
		else if (c == '\n')
			used += (size_t)sprintf(buf + used, "\\n");
		else if (c == '\t')
			used += (size_t)sprintf(buf + used, "\\t");
		else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			used += (size_t)sprintf(buf + used, "\\x%02x", c);
		else
			buf[used++] = (char)c;
	}
	if (used >= sizeof(buf) - 8)
		used += (size_t)sprintf(buf + used, "...");
	buf[used] = '\0';
	return buf;
}

/* One event of the trace. Checks the contract that holds for every call. */
static bool
record(struct httpframe *f, enum httpframe_event ev, const struct httpframe_info *info, size_t at,
       char *out, size_t *used)
{
	const char *sep = *used ? " " : "";

	assert_non_null(info);
	switch (ev) {
	case HTTPFRAME_HEAD_DONE:
		if (info->chunked)
			append(out, used, "%sH@%zu:chunked", sep, at);
		else
			append(out, used, "%sH@%zu:cl=%llu", sep, at,
			       (unsigned long long)info->content_length);
		if (!info->http11)
			append(out, used, ",1.0");
		if (info->expect_continue)
			append(out, used, ",expect");
		return true;
	case HTTPFRAME_COMPLETE:
		append(out, used, "%sC@%zu", sep, at);
		return true;
	case HTTPFRAME_REJECT: {
		const struct httpframe_info *again;
		size_t consumed = 99;

		append(out, used, "%sR@%zu:%d %s", sep, at, info->status,
		       info->error ? info->error : "(null)");
		assert_non_null(info->message);
		/* Terminal: the same answer, nothing consumed, whatever comes next. */
		assert_int_equal(httpframe_feed(f, "GET / HTTP/1.1\r\n\r\n", 18, &consumed, &again),
				 HTTPFRAME_REJECT);
		assert_int_equal(consumed, 0);
		assert_int_equal(again->status, info->status);
		assert_string_equal(again->error, info->error);
		assert_string_equal(again->message, info->message);
		return false;
	}
	default:
		fail_msg("unexpected event %d", (int)ev);
		return false;
	}
}

/*
 * Feed in[0..len) as a first piece of cut bytes, then pieces of step bytes (0: all
 * the rest at once), and write the trace. After every event the rest of the piece
 * is fed again, even when nothing is left: that is how the COMPLETE of a
 * body-less request arrives.
 */
static void
trace_run(const struct httpframe_limits *limits, const char *in, size_t len, size_t cut,
	  size_t step, char *out)
{
	struct httpframe f;
	size_t used = 0, start = 0;

	out[0] = '\0';
	httpframe_init(&f, limits);
	do {
		size_t end = start == 0 && cut > 0 ? cut : step > 0 ? start + step : len;
		/* At most a HEAD_DONE and a COMPLETE per byte, plus the NEED_MORE. */
		size_t calls_left;

		if (end > len)
			end = len;
		calls_left = 2 * (end - start) + 3;
		for (;;) {
			const struct httpframe_info *info = NULL;
			size_t consumed = SIZE_MAX;
			enum httpframe_event ev;

			assert_true(calls_left-- > 0);
			ev = httpframe_feed(&f, end > start ? in + start : NULL, end - start,
					    &consumed, &info);
			assert_true(consumed <= end - start);
			start += consumed;
			if (ev == HTTPFRAME_NEED_MORE) {
				assert_int_equal(start, end);
				break;
			}
			if (!record(&f, ev, info, start, out, &used))
				return;
		}
	} while (start < len);
}

static size_t
head_end(const char *in, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (in[i] == '\n' && in[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && in[i] == '\n' && in[i - 1] == '\r' && in[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

static void
expand(const char *want, size_t len, size_t head, size_t after, char *out)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = want; *p; p++) {
		if (*p == '$')
			append(out, &used, "%zu", len);
		else if (*p == '#')
			append(out, &used, "%zu", head);
		else if (*p == '%')
			append(out, &used, "%zu", after);
		else
			append(out, &used, "%c", *p);
	}
}

static void
expect_same(const char *in, size_t len, const char *how, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("input \"%s\" fed %s\n  got:  %s\n  want: %s", escaped(in, len), how, got,
			 want);
}

static size_t
offset_after(const char *in, size_t len, const char *after)
{
	size_t n = after ? strlen(after) : 0;

	for (size_t i = 0; n && i + n <= len; i++)
		if (memcmp(in + i, after, n) == 0)
			return i + n;
	if (after)
		fail_msg("\"%s\" is not in the input", after);
	return 0;
}

/* The same trace whole and byte by byte; with all_cuts also cut once at every position. */
static void
check_trace_after(const struct httpframe_limits *limits, const char *in, size_t len,
		  const char *want, const char *after, bool all_cuts)
{
	char got[TRACE_MAX], exp[TRACE_MAX], how[TRACE_MAX];

	expand(want, len, head_end(in, len), offset_after(in, len, after), exp);

	trace_run(limits, in, len, 0, 0, got);
	expect_same(in, len, "whole", got, exp);

	trace_run(limits, in, len, 0, 1, got);
	expect_same(in, len, "byte by byte", got, exp);

	for (size_t i = 1; all_cuts && i < len; i++) {
		trace_run(limits, in, len, i, 0, got);
		format(how, "cut at %zu", i);
		expect_same(in, len, how, got, exp);
	}
}

static void
check_trace(const struct httpframe_limits *limits, const char *in, size_t len, const char *want)
{
	check_trace_after(limits, in, len, want, NULL, true);
}

static void
check_cases(const struct httpframe_limits *limits, const struct frame_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_trace_after(limits, cases[i].in, cases[i].len, cases[i].want, cases[i].after,
				  true);
}

static void
test_struct_is_small(void **state)
{
	(void)state;
	if (sizeof(struct httpframe) >= 256)
		fail_msg("sizeof(struct httpframe) = %zu, want < 256", sizeof(struct httpframe));
}

/* CONNECT is refused from its method, by the framer: evhttp's answer to it
 * has no Content-Length on a kept-open connection. */
static void
test_connect_refused(void **state)
{
	static const struct frame_case cases[] = {
		CASE("CONNECT example.com:443 HTTP/1.1\r\n\r\n", "R@8:405 method_not_allowed"),
		CASE("CONNECT h:1 HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
		     "R@8:405 method_not_allowed"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_accepts_requests_without_body(void **state)
{
	static const struct frame_case cases[] = {
		CASE("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("HEAD /x HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("DELETE /x HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("OPTIONS * HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("TRACE / HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET http://example.com/a?b=c&d HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.0\r\n\r\n", "H@$:cl=0,1.0 C@$"),
		/* A length of zero says there is no body, for any method. */
		CASE("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("HEAD / HTTP/1.1\r\nContent-Length: 000\r\n\r\n", "H@$:cl=0 C@$"),
		/* POST without a length: an empty body, evhttp's too; the route answers 411. */
		CASE("POST /hook HTTP/1.1\r\nHost: a\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("POST /hook HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("POST /hook HTTP/1.0\r\n\r\n", "H@$:cl=0,1.0 C@$"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_accepts_line_endings_and_header_forms(void **state)
{
	static const struct frame_case cases[] = {
		CASE("GET / HTTP/1.1\nHost: a\n\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.1\r\nHost: a\n\r\n", "H@$:cl=0 C@$"),
		CASE("POST / HTTP/1.1\nContent-Length: 5\n\nhello", "H@#:cl=5 C@$"),
		CASE("GET / HTTP/1.1\r\nX-Tab:\tv\tw\t\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.1\r\nX-Empty:\r\nX-Space: \r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.1\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", "H@$:cl=0 C@$"),
		/* Names longer than the framer keeps, and near misses, are other headers. */
		CASE("GET / HTTP/1.1\r\nX-A-Header-Name-Longer-Than-The-Kept-Bytes: v\r\n\r\n",
		     "H@$:cl=0 C@$"),
		CASE("POST / HTTP/1.1\r\nContent-Lengthy: 5\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("POST / HTTP/1.1\r\nContent-Lengt: 5\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("POST / HTTP/1.1\r\nX-Transfer-Encoding: gzip\r\n\r\n", "H@$:cl=0 C@$"),
		/* Content-Length: names without case, OWS around the digits, leading zeros. */
		CASE("POST / HTTP/1.1\r\ncontent-LENGTH: 5\r\n\r\nhello", "H@#:cl=5 C@$"),
		CASE("POST / HTTP/1.1\r\nContent-Length:5\r\n\r\nhello", "H@#:cl=5 C@$"),
		CASE("POST / HTTP/1.1\r\nContent-Length: \t 5 \t\r\n\r\nhello", "H@#:cl=5 C@$"),
		CASE("POST / HTTP/1.1\r\nContent-Length: 0005\r\n\r\nhello", "H@#:cl=5 C@$"),
		CASE("PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", "H@#:cl=3 C@$"),
		CASE("PATCH / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", "H@#:cl=3 C@$"),
		CASE("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", "H@#:cl=3,1.0 C@$"),
		/* Body bytes are not looked at: a request line or NUL inside is data. */
		CASE("POST / HTTP/1.1\r\nContent-Length: 22\r\n\r\nGET / HTTP/1.1\r\n\r\n\0\r\0\n",
		     "H@#:cl=22 C@$"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_accepts_chunked(void **state)
{
	static const struct frame_case cases[] = {
		CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		     "H@#:chunked C@$"),
		CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		     "H@#:chunked C@$"),
		CASE("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
		     "H@#:chunked C@$"),
		CASE("PUT / HTTP/1.1\r\ntransfer-encoding: CHUNKED\r\n\r\n"
		     "3\r\nabc\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
		     "H@#:chunked C@$"),
		CASE("PATCH / HTTP/1.1\r\nTransfer-Encoding: \t Chunked \t\r\n\r\n0\r\n\r\n",
		     "H@#:chunked C@$"),
		/* 16 hex digits are allowed, leading zeros included. */
		CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "0000000000000005\r\nhello\r\n0000000000000000\r\n\r\n",
		     "H@#:chunked C@$"),
		/* Chunk data is opaque, even when it looks like framing. */
		CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "8\r\n"
		     "0\r\n\r\n\r\r\n"
		     "\r\n"
		     "0\r\n\r\n",
		     "H@#:chunked C@$"),
		/* Trailers: header lines after the last chunk. */
		CASE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nContent-Length: 99\r\n\r\n",
		     "H@#:chunked C@$"),
		CASE("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n1\na\n0\nX: y\n\n",
		     "H@#:chunked C@$"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_expect_continue(void **state)
{
	static const struct frame_case cases[] = {
		CASE("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
		     "H@#:cl=2,expect C@$"),
		CASE("POST / HTTP/1.1\r\nContent-Length: 2\r\nexpect:  100-CONTINUE  \r\n\r\nab",
		     "H@#:cl=2,expect C@$"),
		CASE("POST / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "0\r\n\r\n",
		     "H@#:chunked,expect C@$"),
		/* The first Expect is the one evhttp answers. */
		CASE("POST / HTTP/1.1\r\nExpect: 100-continue\r\nExpect: x\r\nContent-Length: 2\r\n"
		     "\r\nab",
		     "H@#:cl=2,expect C@$"),
		CASE_AT("POST / HTTP/1.1\r\nExpect: x\r\nExpect: 100-continue\r\nContent-Length: "
			"2\r\n"
			"\r\nab",
			"\r\n\r\n", "R@%:417 expectation_failed"),
		/* No body to come, or HTTP/1.0: no flag, no error (evhttp reads no
		 * body there, and never looks at Expect). */
		CASE("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
		     "H@$:cl=0 C@$"),
		CASE("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", "H@$:cl=0 C@$"),
		CASE("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
		     "H@#:cl=2,1.0 C@$"),
		CASE("POST / HTTP/1.0\r\nExpect: x\r\nContent-Length: 2\r\n\r\nab",
		     "H@#:cl=2,1.0 C@$"),
		CASE("POST / HTTP/1.1\r\nExpect: x\r\nContent-Length: 0\r\n\r\n", "H@$:cl=0 C@$"),
		/* Another expectation with a body to come: 417 from the framer, not
		 * evhttp's own (which the gate would never write out). */
		CASE_AT("POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\nab",
			"\r\n\r\n", "R@%:417 expectation_failed"),
		CASE_AT("POST / HTTP/1.1\r\nExpect: foo\r\nTransfer-Encoding: chunked\r\n\r\n"
			"0\r\n\r\n",
			"\r\n\r\n", "R@%:417 expectation_failed"),
		CASE_AT("POST / HTTP/1.1\r\nExpect: 100-continue, x\r\nContent-Length: 2\r\n\r\nab",
			"\r\n\r\n", "R@%:417 expectation_failed"),
		CASE_AT("POST / HTTP/1.1\r\nExpect: 100-continu\r\nContent-Length: 2\r\n\r\nab",
			"\r\n\r\n", "R@%:417 expectation_failed"),
		CASE_AT("PUT / HTTP/1.1\r\nExpect:\r\nContent-Length: 2\r\n\r\nab", "\r\n\r\n",
			"R@%:417 expectation_failed"),
		/* evhttp keeps a leading tab in the value: another expectation. */
		CASE_AT("POST / HTTP/1.1\r\nExpect:\t100-continue\r\nContent-Length: 2\r\n\r\nab",
			"\r\n\r\n", "R@%:417 expectation_failed"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

#define GET_A	     "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
#define POST_HEAD    "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
#define CHUNKED_HEAD "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
#define CHUNKED_BODY "3\r\nabc\r\n0\r\n\r\n"
#define GET_10	     "GET /d HTTP/1.0\n\n"
#define LEN(s)	     (sizeof(s) - 1)

static void
test_pipelined(void **state)
{
	static const char two_gets[] = GET_A GET_A;
	static const char mixed[] = POST_HEAD "hello" CHUNKED_HEAD CHUNKED_BODY GET_A GET_10;
	static const char partial[] = GET_A POST_HEAD "hel";
	static const char smuggled[] = POST_HEAD "helloGET /x HTTP/1.1\r\n";
	char want[TRACE_MAX];
	size_t a = LEN(GET_A), b = LEN(POST_HEAD), c = LEN(CHUNKED_HEAD), d = LEN(CHUNKED_BODY);
	(void)state;

	format(want, "H@%zu:cl=0 C@%zu H@%zu:cl=0 C@%zu", a, a, 2 * a, 2 * a);
	check_trace(&default_limits, two_gets, LEN(two_gets), want);

	format(want, "H@%zu:cl=5 C@%zu H@%zu:chunked C@%zu H@%zu:cl=0 C@%zu H@%zu:cl=0,1.0 C@%zu",
	       b, b + 5, b + 5 + c, b + 5 + c + d, b + 5 + c + d + a, b + 5 + c + d + a, LEN(mixed),
	       LEN(mixed));
	check_trace(&default_limits, mixed, LEN(mixed), want);

	/* The second request is not complete yet: no event for it after its head. */
	format(want, "H@%zu:cl=0 C@%zu H@%zu:cl=5", a, a, a + b);
	check_trace(&default_limits, partial, LEN(partial), want);

	/* What follows the body is a new request, framed from its first byte. */
	format(want, "H@%zu:cl=5 C@%zu", b, b + 5);
	check_trace(&default_limits, smuggled, LEN(smuggled), want);
}

static void
test_limits_hold_after_complete(void **state)
{
	static const struct httpframe_limits small = { .max_head = 40, .max_body = 5 };
	static const char ok_then_big_body[] =
		POST_HEAD "hello"
			  "POST /b HTTP/1.1\r\nContent-Length: 6\r\n\r\n";
	static const char ok_then_big_head[] = GET_A "GET /a HTTP/1.1\r\n"
						     "Host: xxxxxxxxxxxxxxxxxxxxxx";
	char want[TRACE_MAX];
	size_t a = LEN(GET_A), b = LEN(POST_HEAD);
	(void)state;

	format(want, "H@%zu:cl=5 C@%zu R@%zu:413 body_too_large", b, b + 5, LEN(ok_then_big_body));
	check_trace(&small, ok_then_big_body, LEN(ok_then_big_body), want);

	format(want, "H@%zu:cl=0 C@%zu R@%zu:431 header_too_large", a, a, a + 41);
	check_trace(&small, ok_then_big_head, LEN(ok_then_big_head), want);
}

static void
test_rejects_request_line(void **state)
{
	static const struct frame_case cases[] = {
		/* Each input ends at the byte that decides. */
		CASE("\r\n", "R@$:400 bad_request"),
		CASE("\n", "R@$:400 bad_request"),
		CASE(" ", "R@$:400 bad_method"),
		CASE("get ", "R@$:400 bad_method"),
		CASE("Get ", "R@$:400 bad_method"),
		CASE("FOO ", "R@$:400 bad_method"),
		CASE("GETS ", "R@$:400 bad_method"),
		CASE("PRI ", "R@$:400 bad_method"),
		CASE("OPTIONSX", "R@$:400 bad_method"),
		CASE("GET\t", "R@$:400 bad_request"),
		CASE("GET\0", "R@$:400 bad_request"),
		CASE("GET  ", "R@$:400 bad_request"),
		CASE("GET\r\n", "R@$:400 bad_request"),
		CASE("GET /\r\n", "R@$:400 bad_request"),
		CASE("GET /\n", "R@$:400 bad_request"),
		CASE("GET /a\x01", "R@$:400 bad_request"),
		CASE("GET /a\x7f", "R@$:400 bad_request"),
		CASE("GET /a\0", "R@$:400 bad_request"),
		CASE("GET /a\t", "R@$:400 bad_request"),
		CASE("GET /a b ", "R@$:400 bad_request"),
		CASE("GET / HTTP/1.1 ", "R@$:400 bad_request"),
		CASE("GET / \r\n", "R@$:400 bad_version"),
		CASE("GET / HTTP/1.2\r\n", "R@$:400 bad_version"),
		CASE("GET / HTTP/2.0\r\n", "R@$:400 bad_version"),
		CASE("GET / HTTP/1\r\n", "R@$:400 bad_version"),
		CASE("GET / http/1.1\r\n", "R@$:400 bad_version"),
		CASE("GET / HTTP/1.10", "R@$:400 bad_version"),
		CASE("GET / HTTP/1.1\r\r", "R@$:400 bad_request"),
		CASE("GET /\rx", "R@$:400 bad_request"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

#define RL "POST / HTTP/1.1\r\n"

static void
test_rejects_header_lines(void **state)
{
	static const struct frame_case cases[] = {
		CASE(RL "X-A: b\0", "R@$:400 bad_request"),
		CASE(RL "X\0", "R@$:400 bad_request"),
		CASE(RL "\0", "R@$:400 bad_request"),
		CASE(RL "X-A: b\x01", "R@$:400 bad_request"),
		CASE(RL "X-A: b\x1f", "R@$:400 bad_request"),
		CASE(RL "X-A: b\x7f", "R@$:400 bad_request"),
		CASE(RL "X-A: b\x0b", "R@$:400 bad_request"),
		/* A CR not followed by LF: evbuffer keeps it inside the line. */
		CASE(RL "X-A: b\rc", "R@$:400 bad_request"),
		CASE(RL "X-A: b\r\r", "R@$:400 bad_request"),
		CASE(RL "\r\r", "R@$:400 bad_request"),
		CASE(RL "X-A\r ", "R@$:400 bad_request"),
		/* Obsolete line folding: evhttp would join the line to the previous value. */
		CASE(RL "X-A: b\r\n ", "R@$:400 bad_request"),
		CASE(RL "X-A: b\r\n\t", "R@$:400 bad_request"),
		CASE(RL " ", "R@$:400 bad_request"),
		CASE(RL "Transfer-Encoding: chunked\r\n ", "R@$:400 bad_request"),
		CASE(RL "Content-Length: 5\r\n ", "R@$:400 bad_request"),
		/* Whitespace before the colon: evhttp would store a different name. */
		CASE(RL "Transfer-Encoding ", "R@$:400 bad_request"),
		CASE(RL "Content-Length\t", "R@$:400 bad_request"),
		CASE(RL "X-A ", "R@$:400 bad_request"),
		CASE(RL "NoColon\r\n", "R@$:400 bad_request"),
		CASE(RL "NoColon\n", "R@$:400 bad_request"),
		CASE(RL ":", "R@$:400 bad_request"),
		CASE(RL "X@", "R@$:400 bad_request"),
		CASE(RL "X(", "R@$:400 bad_request"),
		CASE(RL "X\xc3", "R@$:400 bad_request"),
		CASE(RL "X-A: b\r\nY\r\n", "R@$:400 bad_request"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_rejects_content_length(void **state)
{
	static const struct frame_case cases[] = {
		CASE(RL "Content-Length: -", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: +", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 0x", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 5a", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 5,", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 5 5", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 5\xc2", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: \r\n", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length:\n", "R@$:400 bad_content_length"),
		/* Once is the limit, same value or not: hops disagree on which one counts. */
		CASE(RL "Content-Length: 5\r\nContent-Length:", "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 5\r\nX: y\r\ncontent-length:",
		     "R@$:400 bad_content_length"),
		CASE(RL "Content-Length: 0\r\nContent-Length:", "R@$:400 bad_content_length"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_rejects_transfer_encoding(void **state)
{
	static const struct frame_case cases[] = {
		CASE(RL "Transfer-Encoding: chunked,", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: g", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: i", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: chunkedx", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: chunked c", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: \"", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: chunk\r\n", "R@$:400 bad_transfer_encoding"),
		/* evhttp's C strings would stop at the NUL and read "chunked". */
		CASE(RL "Transfer-Encoding: chunked\0", "R@$:400 bad_request"),
		CASE(RL "Transfer-Encoding: \r\n", "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: chunked\r\nTransfer-Encoding:",
		     "R@$:400 bad_transfer_encoding"),
		CASE(RL "Transfer-Encoding: chunked\r\ntransfer-encoding:",
		     "R@$:400 bad_transfer_encoding"),
		/* Length and chunking together: the classic smuggling pair, either order. */
		CASE(RL "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		     "R@$:400 conflicting_length"),
		CASE(RL "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		     "R@$:400 conflicting_length"),
		CASE(RL "Transfer-Encoding: chunked\r\nContent-Length: 0\n\n",
		     "R@$:400 conflicting_length"),
		CASE("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		     "R@$:400 bad_transfer_encoding"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_rejects_body_on_other_methods(void **state)
{
	static const struct frame_case cases[] = {
		CASE("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "R@$:400 body_not_allowed"),
		CASE("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		     "R@$:400 body_not_allowed"),
		CASE("HEAD / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", "R@$:400 body_not_allowed"),
		CASE("DELETE / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", "R@$:400 body_not_allowed"),
		CASE("OPTIONS / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", "R@$:400 body_not_allowed"),
		CASE("TRACE / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", "R@$:400 body_not_allowed"),
		/* (CONNECT is refused at its method, test_connect_refused) */
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

#define TE_HEAD RL "Transfer-Encoding: chunked\r\n\r\n"

/*
 * Whole requests as an attacker would send them, each with a smuggled request
 * behind it; '%' is where the framer must stop, before evhttp could disagree.
 */
static void
test_rejects_smuggling_vectors(void **state)
{
	static const struct frame_case cases[] = {
		CASE_AT(RL "Host: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
			   "0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n",
			"chunked\r\n\r\n", "R@%:400 conflicting_length"),
		CASE_AT(RL "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
			   "5c\r\nGET /admin HTTP/1.1\r\n\r\n0\r\n\r\n",
			"4\r\n\r\n", "R@%:400 conflicting_length"),
		CASE_AT(RL "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
			"5\r\nContent-Length:", "R@%:400 bad_content_length"),
		CASE_AT(RL "Content-Length: 0\r\nContent-Length: 29\r\n\r\n"
			   "GET /admin HTTP/1.1\r\n\r\n",
			"0\r\nContent-Length:", "R@%:400 bad_content_length"),
		CASE_AT(RL "Content-Length: 0, 29\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", "0,",
			"R@%:400 bad_content_length"),
		CASE_AT(RL "Content-Length: -1\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", ": -",
			"R@%:400 bad_content_length"),
		CASE_AT(RL "Content-Length: +5\r\n\r\nhello", "+", "R@%:400 bad_content_length"),
		CASE_AT(RL "Content-Length: 0x5\r\n\r\nhello", "0x", "R@%:400 bad_content_length"),
		CASE_AT(RL "Content-Length: 1 0\r\n\r\n0123456789", "1 0",
			"R@%:400 bad_content_length"),
		CASE_AT(RL "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", "chunked,",
			"R@%:400 bad_transfer_encoding"),
		CASE_AT(RL "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", ": g",
			"R@%:400 bad_transfer_encoding"),
		CASE_AT(RL "Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
			": x", "R@%:400 bad_transfer_encoding"),
		CASE_AT(RL "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
			"chunked\r\nTransfer-Encoding:", "R@%:400 bad_transfer_encoding"),
		CASE_AT(RL "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "Transfer-Encoding ",
			"R@%:400 bad_request"),
		/* Folded: the empty first line is already refused; a fold after chunked too. */
		CASE_AT(RL "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", ":\r\n",
			"R@%:400 bad_transfer_encoding"),
		CASE_AT(RL "Transfer-Encoding: chunked\r\n identity\r\n\r\n0\r\n\r\n",
			"chunked\r\n ", "R@%:400 bad_request"),
		CASE_AT(RL "X: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "a\r\n ",
			"R@%:400 bad_request"),
		CASE_AT(RL "X: a\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "a\rT",
			"R@%:400 bad_request"),
		CASE_AT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			"chunked\r\n\r\n", "R@%:400 bad_transfer_encoding"),
		CASE_AT("GET / HTTP/1.1\r\nContent-Length: 29\r\n\r\nGET /admin HTTP/1.1\r\n\r\n",
			"29\r\n\r\n", "R@%:400 body_not_allowed"),
		CASE_AT(TE_HEAD "5\r\nhelloGET /admin HTTP/1.1\r\n\r\n", "helloG",
			"H@#:chunked R@%:400 bad_chunk"),
		CASE_AT(TE_HEAD "5;x\r\nhello\r\n0\r\n\r\n", "5;", "H@#:chunked R@%:400 bad_chunk"),
		CASE_AT(TE_HEAD "ffffffffffffffffff\r\nGET /admin HTTP/1.1\r\n\r\n", "ffffff",
			"H@#:chunked R@%:413 body_too_large"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

static void
test_rejects_chunk_framing(void **state)
{
	static const struct frame_case cases[] = {
		/* evhttp 2.1.12 fails "5;ext" itself: refused here with a clear reason. */
		CASE(TE_HEAD "5;", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5 ", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD " ", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "0x", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "-", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "+", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "g", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "\r\n", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5\rx", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "00000000000000005", "H@#:chunked R@$:400 bad_chunk"),
		/* Exactly one CRLF (or LF) after the data, nothing else. */
		CASE(TE_HEAD "5\r\nhelloX", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5\r\nhello5", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5\r\nhello\r\r", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5\r\nhello\r\n\r\n", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5\nhello\n\n", "H@#:chunked R@$:400 bad_chunk"),
		CASE(TE_HEAD "5\r\nhello ", "H@#:chunked R@$:400 bad_chunk"),
		/* Trailer lines are header lines. */
		CASE(TE_HEAD "0\r\nX\r\n", "H@#:chunked R@$:400 bad_request"),
		CASE(TE_HEAD "0\r\nX: a\r\n ", "H@#:chunked R@$:400 bad_request"),
		CASE(TE_HEAD "0\r\nX: a\0", "H@#:chunked R@$:400 bad_request"),
		CASE(TE_HEAD "0\r\nX: a\rb", "H@#:chunked R@$:400 bad_request"),
		CASE(TE_HEAD "0\r\nX ", "H@#:chunked R@$:400 bad_request"),
	};
	(void)state;
	check_cases(&default_limits, cases, HS_ARRAY_LEN(cases));
}

/* Fill buf with prefix, n copies of 'a' and suffix; returns the length. */
static size_t
build(char *buf, size_t size, const char *prefix, size_t n, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	assert_true(p + n + s < size);
	memcpy(buf, prefix, p + 1);
	memset(buf + p, 'a', n);
	memcpy(buf + p + n, suffix, s + 1);
	return p + n + s;
}

static void
test_head_limit_boundary(void **state)
{
	static const struct httpframe_limits limits = { .max_head = 100, .max_body = 10 };
	char buf[512];
	size_t len;
	(void)state;

	/* 16 + 3 + n + 4 bytes, CRs included: n = 77 is exactly max_head. */
	len = build(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ", 77, "\r\n\r\n");
	assert_int_equal(len, 100);
	check_trace(&limits, buf, len, "H@$:cl=0 C@$");
	len = build(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ", 78, "\r\n\r\n");
	check_trace(&limits, buf, len, "R@$:431 header_too_large");

	/* The same boundary with LF-only line endings (15 + 3 + n + 2). */
	len = build(buf, sizeof(buf), "GET / HTTP/1.1\nX: ", 80, "\n\n");
	assert_int_equal(len, 100);
	check_trace(&limits, buf, len, "H@$:cl=0 C@$");
	len = build(buf, sizeof(buf), "GET / HTTP/1.1\nX: ", 81, "\n\n");
	check_trace(&limits, buf, len, "R@$:431 header_too_large");

	/* The body does not count towards the head. */
	len = build(buf, sizeof(buf), "POST / HTTP/1.1\r\nContent-Length: 10\r\nX: ", 56,
		    "\r\n\r\n0123456789");
	assert_int_equal(len, 110);
	check_trace(&limits, buf, len, "H@100:cl=10 C@$");

	/* Decided at byte 101, without waiting for a line end that may never come. */
	len = build(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ", 300, "");
	check_trace(&limits, buf, len, "R@101:431 header_too_large");
	len = build(buf, sizeof(buf), "GET /", 300, "");
	check_trace(&limits, buf, len, "R@101:431 header_too_large");

	/* The trailer section has the same bound: 7 + n bytes after the last chunk. */
	len = build(buf, sizeof(buf), TE_HEAD "0\r\nX: ", 93, "\r\n\r\n");
	check_trace(&limits, buf, len, "H@#:chunked C@$");
	len = build(buf, sizeof(buf), TE_HEAD "0\r\nX: ", 94, "\r\n\r\n");
	check_trace(&limits, buf, len, "H@#:chunked R@$:431 header_too_large");
}

static void
test_head_limit_is_clamped(void **state)
{
	static const struct httpframe_limits limits = { .max_head = SIZE_MAX, .max_body = 10 };
	char *buf = malloc(HTTPFRAME_HEAD_MAX + 100);
	size_t len;
	(void)state;

	assert_non_null(buf);
	/* Too long to cut at every position: whole and byte by byte. */
	len = build(buf, HTTPFRAME_HEAD_MAX + 100, "GET /", HTTPFRAME_HEAD_MAX, "");
	check_trace_after(&limits, buf, len, "R@65537:431 header_too_large", NULL, false);
	free(buf);
}

static void
test_body_limit(void **state)
{
	static const struct httpframe_limits ten = { .max_head = 1024, .max_body = 10 };
	static const struct frame_case at_ten[] = {
		CASE(RL "Content-Length: 10\r\n\r\n0123456789", "H@#:cl=10 C@$"),
		CASE(RL "Content-Length: 11\r\n\r\n", "R@$:413 body_too_large"),
		CASE(RL "Content-Length: 99999999999999999999999999\r\n\r\n",
		     "R@$:413 body_too_large"),
		CASE(TE_HEAD "4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n", "H@#:chunked C@$"),
		CASE(TE_HEAD "a\r\n0123456789\r\n0\r\n\r\n", "H@#:chunked C@$"),
		/* Decided by the chunk-size line that announces too much. */
		CASE(TE_HEAD "4\r\nabcd\r\n7", "H@#:chunked R@$:413 body_too_large"),
		CASE(TE_HEAD "b", "H@#:chunked R@$:413 body_too_large"),
		CASE(TE_HEAD "0000000000000b", "H@#:chunked R@$:413 body_too_large"),
		CASE(TE_HEAD "a\r\n0123456789\r\n1", "H@#:chunked R@$:413 body_too_large"),
		/* A 400 about the framing comes before the 413 about the size. */
		CASE(RL "Content-Length: 11\r\nTransfer-Encoding: chunked\r\n\r\n",
		     "R@$:400 conflicting_length"),
		CASE("GET / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", "R@$:400 body_not_allowed"),
	};
	static const struct httpframe_limits mib = { .max_head = 1024, .max_body = 1 << 20 };
	static const struct frame_case at_mib[] = {
		/* 0xfffff fits 1 MiB, 0xffffff does not: 413 at the sixth digit. */
		CASE(TE_HEAD "ffffff", "H@#:chunked R@$:413 body_too_large"),
		CASE(TE_HEAD "fffff\r\n", "H@#:chunked"),
	};
	static const struct httpframe_limits zero = { .max_head = 1024, .max_body = 0 };
	static const struct frame_case at_zero[] = {
		CASE(RL "Content-Length: 0\r\n\r\n", "H@$:cl=0 C@$"),
		CASE(RL "\r\n", "H@$:cl=0 C@$"),
		CASE(RL "Content-Length: 1\r\n\r\n", "R@$:413 body_too_large"),
		CASE(TE_HEAD "0\r\n\r\n", "H@#:chunked C@$"),
		CASE(TE_HEAD "1", "H@#:chunked R@$:413 body_too_large"),
	};
	/* Unlimited still stops at INT64_MAX: evhttp's strtoll() saturates there. */
	static const struct httpframe_limits unlimited = { .max_head = 1024,
							   .max_body = UINT64_MAX };
	static const struct frame_case at_unlimited[] = {
		CASE(RL "Content-Length: 9223372036854775807\r\n\r\n",
		     "H@$:cl=9223372036854775807"),
		CASE(RL "Content-Length: 9223372036854775808\r\n\r\n", "R@$:413 body_too_large"),
		CASE(RL "Content-Length: 18446744073709551615\r\n\r\n", "R@$:413 body_too_large"),
		CASE(RL "Content-Length: 18446744073709551616\r\n\r\n", "R@$:413 body_too_large"),
		CASE(TE_HEAD "7fffffffffffffff\r\n", "H@#:chunked"),
		CASE(TE_HEAD "8000000000000000", "H@#:chunked R@$:413 body_too_large"),
		CASE(TE_HEAD "ffffffffffffffff", "H@#:chunked R@$:413 body_too_large"),
		CASE(TE_HEAD "1\r\na\r\n7fffffffffffffff", "H@#:chunked R@$:413 body_too_large"),
	};
	(void)state;
	check_cases(&ten, at_ten, HS_ARRAY_LEN(at_ten));
	check_cases(&mib, at_mib, HS_ARRAY_LEN(at_mib));
	check_cases(&zero, at_zero, HS_ARRAY_LEN(at_zero));
	check_cases(&unlimited, at_unlimited, HS_ARRAY_LEN(at_unlimited));
}

static void
test_chunk_size_overflow(void **state)
{
	static const struct httpframe_limits unlimited = { .max_head = 1024,
							   .max_body = UINT64_MAX };
	static const char in[] = TE_HEAD "ffffffffffffffffff\r\n";
	char want[TRACE_MAX];
	(void)state;

	/* Never wraps: refused at the 16th digit, long before a uint64_t overflows. */
	format(want, "H@#:chunked R@%zu:413 body_too_large", LEN(TE_HEAD) + 16);
	check_trace(&unlimited, in, LEN(in), want);
	format(want, "H@#:chunked R@%zu:413 body_too_large", LEN(TE_HEAD) + 6);
	check_trace(&default_limits, in, LEN(in), want);
}

static void
test_reject_is_terminal(void **state)
{
	struct httpframe f;
	const struct httpframe_info *info = NULL;
	size_t consumed = 0;
	(void)state;

	httpframe_init(&f, &default_limits);
	assert_int_equal(httpframe_feed(&f, "GET / HTTP/1.1\r\nA\0B", 19, &consumed, &info),
			 HTTPFRAME_REJECT);
	assert_int_equal(consumed, 18);
	assert_int_equal(info->status, 400);
	assert_string_equal(info->error, "bad_request");
	for (int i = 0; i < 3; i++) {
		const struct httpframe_info *again = NULL;

		assert_int_equal(httpframe_feed(&f, i == 2 ? NULL : "\r\n\r\n", i == 2 ? 0 : 4,
						&consumed, &again),
				 HTTPFRAME_REJECT);
		assert_int_equal(consumed, 0);
		assert_ptr_equal(again, info);
		assert_int_equal(again->status, 400);
		assert_string_equal(again->error, "bad_request");
	}
}

static void
test_zero_length_feeds(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\n\r\n";
	static const char post[] = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n";
	struct httpframe f;
	const struct httpframe_info *info = NULL;
	size_t consumed = 99;
	(void)state;

	httpframe_init(&f, &default_limits);
	assert_int_equal(httpframe_feed(&f, NULL, 0, &consumed, &info), HTTPFRAME_NEED_MORE);
	assert_int_equal(consumed, 0);
	assert_non_null(info);

	/* A body-less request: COMPLETE comes from the next call, even an empty one. */
	assert_int_equal(httpframe_feed(&f, get, LEN(get), &consumed, &info), HTTPFRAME_HEAD_DONE);
	assert_int_equal(consumed, LEN(get));
	assert_int_equal(httpframe_feed(&f, NULL, 0, &consumed, &info), HTTPFRAME_COMPLETE);
	assert_int_equal(consumed, 0);
	assert_int_equal(httpframe_feed(&f, NULL, 0, &consumed, &info), HTTPFRAME_NEED_MORE);

	/* A body still to come: an empty call changes nothing. */
	assert_int_equal(httpframe_feed(&f, post, LEN(post), &consumed, &info),
			 HTTPFRAME_HEAD_DONE);
	assert_int_equal(httpframe_feed(&f, NULL, 0, &consumed, &info), HTTPFRAME_NEED_MORE);
	assert_int_equal(consumed, 0);
	assert_int_equal(httpframe_feed(&f, "ab", 2, &consumed, &info), HTTPFRAME_COMPLETE);
	assert_int_equal(consumed, 2);
}

static void
test_info_lifetime(void **state)
{
	static const char in[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
				 "GET / HTTP/1.0\r\n\r\n";
	struct httpframe f;
	const struct httpframe_info *info = NULL;
	size_t consumed, off = 0;
	(void)state;

	httpframe_init(&f, &default_limits);
	assert_int_equal(httpframe_feed(&f, in, LEN(in), &consumed, &info), HTTPFRAME_HEAD_DONE);
	off += consumed;
	assert_true(info->chunked);
	assert_true(info->http11);
	/* At COMPLETE the info still describes the request that ended... */
	assert_int_equal(httpframe_feed(&f, in + off, LEN(in) - off, &consumed, &info),
			 HTTPFRAME_COMPLETE);
	off += consumed;
	assert_true(info->chunked);
	/* ...and the next request starts from a clean one. */
	assert_int_equal(httpframe_feed(&f, in + off, LEN(in) - off, &consumed, &info),
			 HTTPFRAME_HEAD_DONE);
	assert_false(info->chunked);
	assert_false(info->http11);
	assert_false(info->expect_continue);
	assert_int_equal(info->content_length, 0);
	assert_int_equal(info->status, 0);
	assert_null(info->error);
}

/* Where the request target is, for the gate to parse it as evhttp will: in
 * every request of a pipelined stream, fed whole or a byte at a time. */
static void
test_target_position(void **state)
{
	static const char in[] = "POST /webhook?a=b HTTP/1.1\r\nContent-Length: 2\r\n\r\nab"
				 "GET http://h/x%20y HTTP/1.1\r\n\r\n"
				 "OPTIONS * HTTP/1.0\r\n\r\n";
	static const char *const want[] = { "/webhook?a=b", "http://h/x%20y", "*" };
	(void)state;

	for (size_t step = 0; step < 2; step++) {
		struct httpframe f;
		const struct httpframe_info *info = NULL;
		size_t off = 0, start = 0, k = 0;

		httpframe_init(&f, &default_limits);
		while (off < LEN(in)) {
			size_t consumed = 0, n = step == 0 ? LEN(in) - off : 1;
			enum httpframe_event ev = httpframe_feed(&f, in + off, n, &consumed, &info);

			off += consumed;
			if (ev == HTTPFRAME_HEAD_DONE) {
				assert_true(k < HS_ARRAY_LEN(want));
				if (info->target_len != strlen(want[k]) ||
				    memcmp(in + start + info->target_at, want[k],
					   info->target_len) != 0)
					fail_msg("request %zu: target \"%.*s\", want \"%s\"", k,
						 (int)info->target_len,
						 in + start + info->target_at, want[k]);
				k++;
			} else if (ev == HTTPFRAME_COMPLETE) {
				start = off;
			} else {
				assert_int_equal(ev, HTTPFRAME_NEED_MORE);
			}
		}
		assert_int_equal(k, HS_ARRAY_LEN(want));
	}
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_position),
		cmocka_unit_test(test_struct_is_small),
		cmocka_unit_test(test_accepts_requests_without_body),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_accepts_line_endings_and_header_forms),
		cmocka_unit_test(test_accepts_chunked),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_limits_hold_after_complete),
		cmocka_unit_test(test_rejects_request_line),
		cmocka_unit_test(test_rejects_header_lines),
		cmocka_unit_test(test_rejects_content_length),
		cmocka_unit_test(test_rejects_transfer_encoding),
		cmocka_unit_test(test_rejects_body_on_other_methods),
		cmocka_unit_test(test_rejects_chunk_framing),
		cmocka_unit_test(test_rejects_smuggling_vectors),
		cmocka_unit_test(test_head_limit_boundary),
		cmocka_unit_test(test_head_limit_is_clamped),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_chunk_size_overflow),
		cmocka_unit_test(test_reject_is_terminal),
		cmocka_unit_test(test_zero_length_feeds),
		cmocka_unit_test(test_info_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
