/* SPDX-License-Identifier: MIT */
/*
 * jsonw: a small JSON text writer for the hot path (the envelope's attributes,
 * the 2xx answer). Strings are escaped exactly as jansson's compact dump does
 * ('"', '\\' and controls; "\u%04X" for controls without a short form), and
 * every byte of an invalid UTF-8 sequence becomes U+FFFD, so the output is
 * always valid JSON in valid UTF-8. Objects and arrays are written by the
 * caller in order; the writer only tracks where a comma is due.
 */
#ifndef HOOKSTREAM_JSONW_H
#define HOOKSTREAM_JSONW_H

#include <stdbool.h>
#include <stddef.h>

#define JSONW_DEPTH_MAX 8

struct jsonw {
	char *buf; /* owned until jsonw_take(); NUL-terminated after each call */
	size_t len, cap;
	unsigned int depth;
	bool need_comma[JSONW_DEPTH_MAX];
	bool after_key; /* the next container is a member's value */
};

/* Start empty with room for hint bytes. */
void jsonw_init(struct jsonw *w, size_t hint);
void jsonw_fini(struct jsonw *w);

/* The text (caller frees) and its length; w is empty afterwards. */
char *jsonw_take(struct jsonw *w, size_t *len);

/* Bytes as they are (already JSON, or framing). */
void jsonw_raw(struct jsonw *w, const char *s, size_t n);

/* A JSON string of s[0, n), with no comma: the members below write theirs. */
void jsonw_string(struct jsonw *w, const char *s, size_t n);

/* Containers; begin writes the comma due before it, if any. */
void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);

/* "key": (with the comma due) before a container that is a member's value. */
void jsonw_key(struct jsonw *w, const char *key);

/* Members of the open object; a NULL string value writes nothing. */
void jsonw_member_str(struct jsonw *w, const char *key, const char *value);
void jsonw_member_strn(struct jsonw *w, const char *key, const char *value, size_t n);
/* A member whose value is JSON text already (spliced as it is). */
void jsonw_member_raw(struct jsonw *w, const char *key, const char *json, size_t n);
void jsonw_member_uint(struct jsonw *w, const char *key, unsigned long long value);

#endif
