/* SPDX-License-Identifier: MIT */
/*
 * httpframe: finds where each HTTP/1.x request on a connection ends, one byte at a
 * time, and refuses whatever evhttp 2.1.12 might frame differently (request
 * smuggling) or would have to buffer beyond the limits. Only the start of the
 * current line is kept, so a connection costs a small fixed struct.
 */
#include "hookstream/httpframe.h"

#include <string.h>

/* Where in the current line the framer is (f->line_state). */
enum httpframe_line {
	HTTPFRAME_L_METHOD = 0,
	HTTPFRAME_L_TARGET,
	HTTPFRAME_L_VERSION,
	HTTPFRAME_L_FIELD_START, /* first byte of a header or trailer line */
	HTTPFRAME_L_NAME,
	HTTPFRAME_L_VALUE_LEAD, /* whitespace before a field value */
	HTTPFRAME_L_VALUE,
	HTTPFRAME_L_VALUE_TAIL, /* whitespace after a value the framer interprets */
	HTTPFRAME_L_CHUNK_SIZE,
};

/* The header whose value is being read (f->field). */
enum httpframe_field {
	HTTPFRAME_F_OTHER = 0,
	HTTPFRAME_F_CONTENT_LENGTH,
	HTTPFRAME_F_TRANSFER_ENCODING,
	HTTPFRAME_F_EXPECT,
};

/* f->flags */
#define HTTPFRAME_CR	      0x01u /* previous byte was CR: only LF may follow */
#define HTTPFRAME_BODY_METHOD 0x02u /* POST, PUT or PATCH: a body is allowed */
#define HTTPFRAME_SEEN_CL     0x04u /* a Content-Length header was seen */
#define HTTPFRAME_SEEN_TE     0x08u /* a Transfer-Encoding header was seen */
#define HTTPFRAME_SEEN_EXPECT 0x10u /* an Expect header was seen */
#define HTTPFRAME_CONTINUE    0x20u /* the first Expect header is 100-continue */

#define HTTPFRAME_CHUNK_DIGITS 16 /* hex digits of a uint64_t */
#define HTTPFRAME_METHOD_MAX   7  /* "OPTIONS", "CONNECT" */
#define HTTPFRAME_VERSION_LEN  8  /* "HTTP/1.1" */

static const char MSG_METHOD[] = "unknown or unsupported request method";
static const char MSG_VERSION[] = "HTTP version must be HTTP/1.0 or HTTP/1.1";
static const char MSG_BARE_CR[] = "CR not followed by LF";
static const char MSG_TE[] = "Transfer-Encoding must be exactly \"chunked\"";

/* evhttp's methods, case-sensitive. Webhooks only need bodies on POST, PUT and PATCH,
 * and evhttp does not agree with itself on the others (see head_end()). */
static const struct {
	const char *name;
	bool body;
} httpframe_methods[] = {
	{ "GET", false },  { "HEAD", false },	{ "POST", true },
	{ "PUT", true },   { "DELETE", false }, { "OPTIONS", false },
	{ "PATCH", true }, { "TRACE", false },	{ "CONNECT", false },
};

static enum httpframe_event
reject(struct httpframe *f, int status, const char *error, const char *message)
{
	f->state = HTTPFRAME_S_DEAD;
	f->info.status = status;
	f->info.error = error;
	f->info.message = message;
	return HTTPFRAME_REJECT;
}

static enum httpframe_event
bad_request(struct httpframe *f, const char *message)
{
	return reject(f, 400, "bad_request", message);
}

static enum httpframe_event
bad_chunk(struct httpframe *f, const char *message)
{
	return reject(f, 400, "bad_chunk", message);
}

static enum httpframe_event
too_large(struct httpframe *f)
{
	return reject(f, 413, "body_too_large", "request body exceeds the size limit");
}

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Spelled out rather than <ctype.h>: the wire syntax must not depend on the locale. */
static unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * evhttp reads lengths with strtoll(), which saturates above INT64_MAX; a bigger
 * length would be a different number to evhttp than to us, so it is never allowed.
 */
static uint64_t
body_limit(const struct httpframe *f)
{
	return f->limits.max_body < INT64_MAX ? f->limits.max_body : INT64_MAX;
}

/* Keep the start of a token; line_len goes on counting past what fits. */
static void
keep(struct httpframe *f, unsigned char c)
{
	if (f->line_len < sizeof(f->line))
		f->line[f->line_len] = (char)c;
	f->line_len++;
}

/* Is the kept token exactly word (lower case), compared without case? */
static bool
kept_is(const struct httpframe *f, const char *word)
{
	size_t n = strlen(word);

	if (f->line_len != n || n > sizeof(f->line))
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)f->line[i]) != (unsigned char)word[i])
			return false;
	return true;
}

/* Forget everything about the request that ended; limits stay, and info stays
 * until the next request starts so the caller can still read it at COMPLETE. */
static enum httpframe_event
complete(struct httpframe *f)
{
	f->state = HTTPFRAME_S_HEAD;
	f->remaining = 0;
	f->body_total = 0;
	f->head_len = 0;
	f->line_state = HTTPFRAME_L_METHOD;
	f->flags = 0;
	f->line_len = 0;
	f->field = HTTPFRAME_F_OTHER;
	f->match = 0;
	return HTTPFRAME_COMPLETE;
}

static enum httpframe_event
method_end(struct httpframe *f)
{
	for (size_t i = 0; i < HS_ARRAY_LEN(httpframe_methods); i++) {
		if (f->line_len == strlen(httpframe_methods[i].name) &&
		    memcmp(f->line, httpframe_methods[i].name, f->line_len) == 0) {
			/* evhttp answers CONNECT without a Content-Length on a
			 * connection it keeps open: the body would run into the
			 * next answer. Refused here (the synthetic answer is framed). */
			if (strcmp(httpframe_methods[i].name, "CONNECT") == 0)
				return reject(f, 405, "method_not_allowed",
					      "notifications are sent with POST");
			if (httpframe_methods[i].body)
				f->flags |= HTTPFRAME_BODY_METHOD;
			f->line_state = HTTPFRAME_L_TARGET;
			f->line_len = 0;
			return HTTPFRAME_NEED_MORE;
		}
	}
	return reject(f, 400, "bad_method", MSG_METHOD);
}

static enum httpframe_event
version_end(struct httpframe *f)
{
	if (f->line_len != HTTPFRAME_VERSION_LEN || memcmp(f->line, "HTTP/1.", 7) != 0 ||
	    (f->line[7] != '0' && f->line[7] != '1'))
		return reject(f, 400, "bad_version", MSG_VERSION);
	f->info.http11 = f->line[7] == '1';
	f->line_state = HTTPFRAME_L_FIELD_START;
	return HTTPFRAME_NEED_MORE;
}

/* The colon after a field name: decide which header this is. Trailers carry no
 * framing meaning (evhttp has read the body by then), so they are all "other". */
static enum httpframe_event
name_end(struct httpframe *f)
{
	if (f->line_len == 0)
		return bad_request(f, "header line with an empty name");
	f->field = HTTPFRAME_F_OTHER;
	f->match = 0;
	f->line_state = HTTPFRAME_L_VALUE_LEAD;
	if (f->state != HTTPFRAME_S_HEAD)
		return HTTPFRAME_NEED_MORE;

	/* evhttp_find_header() answers with the first of repeated headers while
	 * another hop may take the last: a repeat of either length header is refused. */
	if (kept_is(f, "content-length")) {
		if (f->flags & HTTPFRAME_SEEN_CL)
			return reject(f, 400, "bad_content_length",
				      "repeated Content-Length header");
		f->flags |= HTTPFRAME_SEEN_CL;
		f->field = HTTPFRAME_F_CONTENT_LENGTH;
	} else if (kept_is(f, "transfer-encoding")) {
		if (f->flags & HTTPFRAME_SEEN_TE)
			return reject(f, 400, "bad_transfer_encoding",
				      "repeated Transfer-Encoding header");
		f->flags |= HTTPFRAME_SEEN_TE;
		f->field = HTTPFRAME_F_TRANSFER_ENCODING;
	} else if (kept_is(f, "expect") && !(f->flags & HTTPFRAME_SEEN_EXPECT)) {
		/* Only the first Expect counts: it is the one evhttp answers. */
		f->flags |= HTTPFRAME_SEEN_EXPECT;
		f->field = HTTPFRAME_F_EXPECT;
	}
	return HTTPFRAME_NEED_MORE;
}

/*
 * One byte of a value that must equal word (lower case) up to case and
 * surrounding whitespace. evhttp strips only spaces in front of a header value,
 * but splits Transfer-Encoding into OWS-trimmed tokens: tab_lead says whether a
 * leading tab still gives the same value to evhttp.
 */
static bool
value_matches(struct httpframe *f, unsigned char c, const char *word, bool tab_lead)
{
	size_t n = strlen(word);

	switch (f->line_state) {
	case HTTPFRAME_L_VALUE_LEAD:
		if (c == ' ' || (c == '\t' && tab_lead))
			return true;
		if (c == '\t')
			return false;
		f->line_state = HTTPFRAME_L_VALUE;
		break;
	case HTTPFRAME_L_VALUE_TAIL:
		return is_ows(c);
	default:
		break;
	}
	if (f->match < n && ascii_lower(c) == (unsigned char)word[f->match]) {
		f->match++;
		return true;
	}
	if (f->match == n && is_ows(c)) {
		f->line_state = HTTPFRAME_L_VALUE_TAIL;
		return true;
	}
	return false;
}

/* Content-Length: OWS 1*DIGIT OWS. No sign, no list: evhttp's strtoll() would
 * take "+5" and stop at ",", and a list can hide two different lengths. */
static enum httpframe_event
content_length_byte(struct httpframe *f, unsigned char c)
{
	if (c >= '0' && c <= '9' && f->line_state != HTTPFRAME_L_VALUE_TAIL) {
		uint64_t cl = f->info.content_length;
		unsigned int d = c - '0';

		/* Saturate: the 413 is decided with the other checks at the end of the head. */
		f->info.content_length = cl > (UINT64_MAX - d) / 10 ? UINT64_MAX : cl * 10 + d;
		f->line_state = HTTPFRAME_L_VALUE;
		return HTTPFRAME_NEED_MORE;
	}
	if (is_ows(c)) {
		if (f->line_state == HTTPFRAME_L_VALUE)
			f->line_state = HTTPFRAME_L_VALUE_TAIL;
		return HTTPFRAME_NEED_MORE;
	}
	return reject(f, 400, "bad_content_length", "Content-Length must be one decimal number");
}

static enum httpframe_event
value_byte(struct httpframe *f, unsigned char c)
{
	switch (f->field) {
	case HTTPFRAME_F_CONTENT_LENGTH:
		return content_length_byte(f, c);
	case HTTPFRAME_F_TRANSFER_ENCODING:
		if (!value_matches(f, c, "chunked", true))
			return reject(f, 400, "bad_transfer_encoding", MSG_TE);
		return HTTPFRAME_NEED_MORE;
	case HTTPFRAME_F_EXPECT:
		/* Another expectation is answered 417 at the head's end;
		 * "Expect:<TAB>100-continue" is one of those to evhttp. */
		if (!value_matches(f, c, "100-continue", false))
			f->field = HTTPFRAME_F_OTHER;
		return HTTPFRAME_NEED_MORE;
	default:
		return HTTPFRAME_NEED_MORE;
	}
}

static enum httpframe_event
field_end(struct httpframe *f)
{
	switch (f->field) {
	case HTTPFRAME_F_CONTENT_LENGTH:
		if (f->line_state == HTTPFRAME_L_VALUE_LEAD)
			return reject(f, 400, "bad_content_length", "empty Content-Length");
		break;
	case HTTPFRAME_F_TRANSFER_ENCODING:
		if (f->match != strlen("chunked"))
			return reject(f, 400, "bad_transfer_encoding", MSG_TE);
		break;
	case HTTPFRAME_F_EXPECT:
		if (f->match == strlen("100-continue"))
			f->flags |= HTTPFRAME_CONTINUE;
		break;
	default:
		break;
	}
	f->line_state = HTTPFRAME_L_FIELD_START;
	f->line_len = 0;
	return HTTPFRAME_NEED_MORE;
}

/*
 * The empty line ending the head: decide the body. evhttp 2.1.12 skips any body
 * of HEAD and TRACE and would parse it as the next request, while it reads one
 * for GET, DELETE, OPTIONS and CONNECT: a body is refused on all of them.
 */
static enum httpframe_event
head_end(struct httpframe *f)
{
	bool te = f->flags & HTTPFRAME_SEEN_TE;
	uint64_t cl = f->info.content_length;

	if (te && (f->flags & HTTPFRAME_SEEN_CL))
		return reject(f, 400, "conflicting_length",
			      "both Content-Length and Transfer-Encoding are present");
	if (te && !f->info.http11)
		return reject(f, 400, "bad_transfer_encoding",
			      "Transfer-Encoding is not allowed in an HTTP/1.0 request");
	if ((te || cl > 0) && !(f->flags & HTTPFRAME_BODY_METHOD))
		return reject(f, 400, "body_not_allowed", "this request method takes no body");
	if (cl > body_limit(f))
		return too_large(f);
	/* evhttp would answer another expectation itself, where it reads a body
	 * of an HTTP/1.1 request, with a 417 of its own that the gate's filter
	 * never writes out (and a connection that then dies badly): refused
	 * here, in the same cases, with the relay's own answer. */
	if ((f->flags & HTTPFRAME_SEEN_EXPECT) && !(f->flags & HTTPFRAME_CONTINUE) &&
	    f->info.http11 && (te || cl > 0))
		return reject(f, 417, "expectation_failed",
			      "the only expectation supported is Expect: 100-continue");

	f->info.chunked = te;
	f->info.expect_continue =
		(f->flags & HTTPFRAME_CONTINUE) && f->info.http11 && (te || cl > 0);
	f->line_len = 0;
	if (te) {
		f->state = HTTPFRAME_S_CHUNK_SIZE;
		f->line_state = HTTPFRAME_L_CHUNK_SIZE;
	} else {
		/* remaining 0: the next call returns COMPLETE without consuming. */
		f->state = HTTPFRAME_S_BODY;
		f->remaining = cl;
	}
	return HTTPFRAME_HEAD_DONE;
}

static enum httpframe_event
chunk_size_end(struct httpframe *f)
{
	/* evhttp would skip an empty line here; we want exactly one CRLF after data. */
	if (f->line_len == 0)
		return bad_chunk(f, "empty chunk-size line");
	f->body_total += f->remaining;
	f->line_len = 0;
	if (f->remaining > 0) {
		f->state = HTTPFRAME_S_CHUNK_DATA;
		return HTTPFRAME_NEED_MORE;
	}
	f->state = HTTPFRAME_S_TRAILER;
	f->line_state = HTTPFRAME_L_FIELD_START;
	f->head_len = 0;
	return HTTPFRAME_NEED_MORE;
}

/*
 * A chunk-size line is 1*HEXDIG and nothing else. evhttp 2.1.12 fails a request
 * whose size is followed by ';' (it accepts only end of line or a space after the
 * digits), so extensions are refused here with a clear error instead.
 */
static enum httpframe_event
chunk_size_byte(struct httpframe *f, unsigned char c)
{
	int v = hex_value(c);

	if (v < 0)
		return bad_chunk(f, "chunk size must be hex digits only (no extensions)");
	if (f->line_len == HTTPFRAME_CHUNK_DIGITS)
		return bad_chunk(f, "chunk size longer than 16 hex digits");
	f->line_len++;
	/* At most 16 digits, so this cannot wrap. */
	f->remaining = f->remaining * 16 + (unsigned int)v;
	/* body_total <= body_limit() always holds, so the subtraction cannot wrap. */
	if (f->remaining > body_limit(f) - f->body_total)
		return too_large(f);
	return HTTPFRAME_NEED_MORE;
}

/* An LF (after an optional CR) ends the current line. */
static enum httpframe_event
line_end(struct httpframe *f)
{
	if (f->state == HTTPFRAME_S_CHUNK_CRLF) {
		f->state = HTTPFRAME_S_CHUNK_SIZE;
		f->line_state = HTTPFRAME_L_CHUNK_SIZE;
		f->remaining = 0;
		f->line_len = 0;
		return HTTPFRAME_NEED_MORE;
	}
	switch (f->line_state) {
	case HTTPFRAME_L_METHOD:
		if (f->line_len == 0)
			return bad_request(f, "empty line before the request line");
		return bad_request(f, "incomplete request line");
	case HTTPFRAME_L_TARGET:
		return bad_request(f, "incomplete request line");
	case HTTPFRAME_L_VERSION:
		return version_end(f);
	case HTTPFRAME_L_FIELD_START:
		if (f->state == HTTPFRAME_S_TRAILER)
			return complete(f);
		return head_end(f);
	case HTTPFRAME_L_NAME:
		return bad_request(f, "header line without a colon");
	case HTTPFRAME_L_CHUNK_SIZE:
		return chunk_size_end(f);
	default:
		return field_end(f);
	}
}

/* One byte of a line other than CR and LF. */
static enum httpframe_event
line_byte(struct httpframe *f, unsigned char c)
{
	if (f->state == HTTPFRAME_S_CHUNK_CRLF)
		return bad_chunk(f, "chunk data not followed by CRLF");
	if (f->line_state == HTTPFRAME_L_CHUNK_SIZE)
		return chunk_size_byte(f, c);
	/* A tab passes here only to be judged by the field states below. */
	if (is_ctl(c) && !(c == '\t' && f->line_state >= HTTPFRAME_L_FIELD_START))
		return bad_request(f, "control character in the request head");

	switch (f->line_state) {
	case HTTPFRAME_L_METHOD:
		if (c == ' ')
			return method_end(f);
		if (f->line_len == HTTPFRAME_METHOD_MAX)
			return reject(f, 400, "bad_method", MSG_METHOD);
		keep(f, c);
		return HTTPFRAME_NEED_MORE;
	case HTTPFRAME_L_TARGET:
		if (c != ' ') {
			f->line_len++;
			return HTTPFRAME_NEED_MORE;
		}
		if (f->line_len == 0)
			return bad_request(f, "empty request target or repeated space");
		/* head_len counts this space already. */
		f->info.target_len = f->line_len;
		f->info.target_at = f->head_len - 1 - f->line_len;
		f->line_state = HTTPFRAME_L_VERSION;
		f->line_len = 0;
		return HTTPFRAME_NEED_MORE;
	case HTTPFRAME_L_VERSION:
		if (c == ' ')
			return bad_request(f, "space in the request target or after the version");
		if (f->line_len == HTTPFRAME_VERSION_LEN)
			return reject(f, 400, "bad_version", MSG_VERSION);
		keep(f, c);
		return HTTPFRAME_NEED_MORE;
	case HTTPFRAME_L_FIELD_START:
		/* evhttp would join a folded line to the previous header's value. */
		if (is_ows(c))
			return bad_request(f, "obsolete line folding");
		f->line_state = HTTPFRAME_L_NAME;
		f->line_len = 0;
		__attribute__((fallthrough)); /* this byte starts the name */
	case HTTPFRAME_L_NAME:
		if (c == ':')
			return name_end(f);
		if (is_ows(c))
			return bad_request(f, "whitespace between header name and colon");
		if (!is_tchar(c))
			return bad_request(f, "invalid character in header name");
		keep(f, c);
		return HTTPFRAME_NEED_MORE;
	default:
		return value_byte(f, c);
	}
}

/* One byte of a line-oriented part: request line, header, chunk framing, trailer. */
static enum httpframe_event
frame_byte(struct httpframe *f, unsigned char c)
{
	bool head = f->state == HTTPFRAME_S_HEAD;
	bool fields = head || f->state == HTTPFRAME_S_TRAILER;

	if (fields) {
		if (head && f->head_len == 0)
			memset(&f->info, 0, sizeof(f->info));
		/* Counted first, so the limit holds even for a line that never ends. */
		if (++f->head_len > f->limits.max_head)
			return reject(f, 431, "header_too_large",
				      head ? "request head too large" : "trailers too large");
	}
	if (f->flags & HTTPFRAME_CR) {
		/* evbuffer's EOL_CRLF keeps a lone CR inside the line; refuse it. */
		if (c != '\n')
			return fields ? bad_request(f, MSG_BARE_CR) : bad_chunk(f, MSG_BARE_CR);
		f->flags &= ~HTTPFRAME_CR;
		return line_end(f);
	}
	if (c == '\r') {
		f->flags |= HTTPFRAME_CR;
		return HTTPFRAME_NEED_MORE;
	}
	if (c == '\n')
		return line_end(f);
	return line_byte(f, c);
}

void
httpframe_init(struct httpframe *f, const struct httpframe_limits *limits)
{
	memset(f, 0, sizeof(*f));
	f->limits = *limits;
	if (f->limits.max_head > HTTPFRAME_HEAD_MAX)
		f->limits.max_head = HTTPFRAME_HEAD_MAX;
	f->state = HTTPFRAME_S_HEAD;
	f->line_state = HTTPFRAME_L_METHOD;
}

enum httpframe_event
httpframe_feed(struct httpframe *f, const char *data, size_t len, size_t *consumed,
	       const struct httpframe_info **info)
{
	enum httpframe_event ev = HTTPFRAME_NEED_MORE;
	size_t i = 0;

	*info = &f->info;
	if (f->state == HTTPFRAME_S_DEAD) {
		*consumed = 0;
		return HTTPFRAME_REJECT;
	}
	for (;;) {
		if (f->state == HTTPFRAME_S_BODY && f->remaining == 0) {
			ev = complete(f);
			break;
		}
		if (i == len)
			break;
		if (f->state == HTTPFRAME_S_BODY || f->state == HTTPFRAME_S_CHUNK_DATA) {
			/* Body bytes are not looked at, only counted. */
			size_t n = len - i;

			if (n > f->remaining)
				n = (size_t)f->remaining;
			i += n;
			f->remaining -= n;
			if (f->state == HTTPFRAME_S_CHUNK_DATA && f->remaining == 0)
				f->state = HTTPFRAME_S_CHUNK_CRLF;
			continue;
		}
		ev = frame_byte(f, (unsigned char)data[i++]);
		if (ev != HTTPFRAME_NEED_MORE)
			break;
	}
	*consumed = i;
	return ev;
}
