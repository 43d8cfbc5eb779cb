/* SPDX-License-Identifier: MIT */
/* pct: percent-decoding for form bodies, query strings and Redis URLs. Pure. */
#ifndef HOOKSTREAM_PCT_H
#define HOOKSTREAM_PCT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Decode [b, e) into a new NUL-terminated string of *n bytes (n may be NULL).
 * With plus, '+' stands for a space (form encoding). Returns NULL for a bad
 * escape, and for "%00" when no_nul is set.
 */
char *pct_decode(const char *b, const char *e, bool plus, bool no_nul, size_t *n);

#endif
