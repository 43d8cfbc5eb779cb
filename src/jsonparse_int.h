/* SPDX-License-Identifier: MIT */
/*
 * jsonparse_int: the parser state shared by jsonparse.c (the grammar) and
 * jsonparse_fields.c (redact_fields / drop_fields). Not a public header.
 */
#ifndef HOOKSTREAM_JSONPARSE_INT_H
#define HOOKSTREAM_JSONPARSE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "hookstream/jsonparse.h"

/* Each level costs a few stack frames; a caller's max_depth above this is
 * capped so that no configuration can turn a deep body into a stack overflow. */
#define JSONPARSE_DEPTH_CAP 1024

struct jp_level {
	size_t off, n;
};

struct jp {
	const char *data;
	size_t len;
	size_t pos;
	unsigned int max_depth;
	const struct jsonparse_options *opt;
	json_t *tomb;	   /* stands for a dropped member until its object is complete */
	size_t last_comma; /* offset of the last ',' between members, for drops */
	bool exempt;	   /* the scalar being parsed is exempt from the card check */
	struct jsonparse_result *res;
	struct jsonparse_error *err;
	size_t edits_cap;
	/* Decoded strings; used as a stack so an object key survives while its
	 * value (which may hold more strings) is parsed. */
	char *buf;
	size_t buf_len, buf_cap;
	/* Reused by each string's card-number check (one buffer per parse, not
	 * an allocation per string). */
	char *scratch;
	size_t scratch_cap;
	/* The key (offset into buf) of each open member, by depth; SIZE_MAX for
	 * an array element. Read by field rules written as paths. Last, and
	 * never zeroed: an entry is written when its level opens (16 KiB of
	 * memset per request was 6% of the daemon's instructions). */
	struct jp_level path[JSONPARSE_DEPTH_CAP + 1];
};

/* Record a replacement of data[offset, offset+len) by text (stolen). */
void jp_edit(struct jp *p, size_t offset, size_t len, char *text, size_t text_len);

/* Does a field rule match the member being parsed at depth? */
bool jp_key_in(const struct jp *p, char *const *rules, size_t nrules, unsigned int depth);

/* Forget the edits made inside a value that is replaced or removed whole. */
void jp_edits_truncate(struct jp *p, size_t keep);

/* Widen a dropped member's edit over one comma (see jsonparse_fields.c). */
void jp_drop_comma(struct jp *p, bool followed, bool first);

/* Remove the tombstones of dropped members from a finished object. */
void jp_remove_tombs(struct jp *p, json_t *obj);

#endif
