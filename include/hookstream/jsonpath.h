/* SPDX-License-Identifier: MIT */
/*
 * jsonpath: the small path language of classification rules. "a.b.c" walks
 * object keys, "name[3]" indexes an array, "*" matches any key at that level
 * (first match in document order), "?name" reads a query-string parameter.
 * Pure.
 */
#ifndef HOOKSTREAM_JSONPATH_H
#define HOOKSTREAM_JSONPATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hookstream/compiler.h"

struct jsonpath; /* opaque, immutable once compiled */

/* Compile text into a new path (free with jsonpath_free). On error returns
 * -EINVAL with a static message in *why. */
HS_WUR int jsonpath_compile(const char *text, struct jsonpath **out, const char **why);

void jsonpath_free(struct jsonpath *p);

/* The source text of the path (borrowed, lives as long as p). */
const char *jsonpath_text(const struct jsonpath *p);

/* True for "?name" paths, which read the query string, not the body. */
bool jsonpath_is_query(const struct jsonpath *p);

/* The value at p inside root (borrowed from root), or NULL. Query paths give NULL. */
const json_t *jsonpath_get(const struct jsonpath *p, const json_t *root);

/*
 * The scalar text at p: a string's content, a number's JSON text, true/false.
 * Query paths read query (raw, percent-encoded query string; may be NULL).
 * Returns a new string, or NULL when absent, null, an object or an array.
 */
char *jsonpath_get_text(const struct jsonpath *p, const json_t *root, const char *query);

/* The same, with the text's length in *len: a JSON string may hold "\u0000",
 * which strlen() would stop at. */
char *jsonpath_get_textn(const struct jsonpath *p, const json_t *root, const char *query,
			 size_t *len);

/* The percent-decoded value of the first parameter name in a raw query string
 * ("a=1&eventType=X"); a new string, or NULL when absent or badly encoded. */
char *jsonpath_query_param(const char *query, const char *name);

#endif
