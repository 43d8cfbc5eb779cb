/* SPDX-License-Identifier: MIT */
/*
 * jsonparse: strict RFC 8259 parsing of notification bodies. Rejects duplicate
 * keys (naming the key), nesting deeper than a bound, invalid UTF-8 and lone
 * surrogate escapes; strips one leading UTF-8 BOM. Never rejects a number for
 * its size: numbers are kept as their exact lexeme. Card numbers (see redact.h)
 * are masked while parsing, in the tree and in the list of edits that turns the
 * raw bytes into the stored payload. Pure.
 */
#ifndef HOOKSTREAM_JSONPARSE_H
#define HOOKSTREAM_JSONPARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hookstream/compiler.h"

#define JSONPARSE_DEFAULT_MAX_DEPTH 64 /* max_depth is capped at 1024 whatever the caller asks */

struct jsonparse_error {
	const char *code;    /* static: "invalid_json", "duplicate_key", "too_deep", "invalid_utf8",
				"empty_body" */
	char message[192];   /* human text; never quotes body content except a duplicate key name */
	size_t offset;	     /* byte offset of the problem in the input */
	unsigned int line;   /* 1-based */
	unsigned int column; /* 1-based, in bytes */
};

/* A replacement of raw[offset, offset+len) by text (for the stored payload). */
struct jsonparse_edit {
	size_t offset;
	size_t len;
	char *text; /* owned */
	size_t text_len;
};

struct jsonparse_result {
	json_t *root;		      /* new reference: the parsed value (any JSON type) */
	struct jsonparse_edit *edits; /* owned, sorted by offset, non-overlapping */
	size_t nedits;
	size_t redactions;     /* card numbers masked */
	size_t fields_masked;  /* values replaced because of their key name */
	size_t fields_dropped; /* members removed because of their key name */
	size_t bom;	       /* bytes of BOM skipped at the start (0 or 3) */
};

/*
 * Parse len bytes. Numbers appear in root as JSON strings holding their exact
 * lexeme ("125.50", "1e400", "18446744073709551617"), so rules read them as
 * text and nothing is converted to floating point. Object member order is kept.
 * Returns 0 and fills *out (caller calls jsonparse_result_fini), or -EINVAL and
 * fills *err.
 */
HS_WUR int jsonparse(const char *data, size_t len, unsigned int max_depth,
		     struct jsonparse_result *out, struct jsonparse_error *err);

/* Field rules applied while parsing: a plain name matches that key at any
 * depth; a dotted path matches from the root, "*" = any key or array element. */
struct jsonparse_options {
	unsigned int max_depth;
	char *const *mask_keys; /* values become "[REDACTED]" */
	size_t nmask;
	char *const *drop_keys; /* members are removed */
	size_t ndrop;
	/* A string or number value here is not checked for card numbers (a
	 * timestamp or reference of 13-19 digits that passes Luhn by chance);
	 * objects and arrays under such a name still are, and so are keys. */
	char *const *exempt_keys;
	size_t nexempt;
	/* Leave card numbers in the tree's values (the payload edits still mask
	 * them): for callers that mask what they take from the tree themselves. */
	bool unmasked_tree;
};

/* jsonparse with field rules; opt is borrowed for the call. */
HS_WUR int jsonparse_ex(const char *data, size_t len, const struct jsonparse_options *opt,
			struct jsonparse_result *out, struct jsonparse_error *err);

/*
 * The payload to store: data with the BOM dropped and every edit applied.
 * Returns a new buffer (free()) and its length in *out_len. The result is valid
 * JSON whenever data parsed.
 */
char *jsonparse_apply_edits(const char *data, size_t len, const struct jsonparse_result *res,
			    size_t *out_len);

void jsonparse_result_fini(struct jsonparse_result *res);

#endif
