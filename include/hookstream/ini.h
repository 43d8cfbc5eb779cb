/* SPDX-License-Identifier: MIT */
/*
 * ini: splits INI-style text into (section, key, value, line) tuples. Lines of
 * any length, "#"/";" comment lines, no inline comments, no continuation lines:
 * what the operator wrote on one line is one value. Pure.
 */
#ifndef HOOKSTREAM_INI_H
#define HOOKSTREAM_INI_H

#include <stddef.h>

#include "hookstream/compiler.h"

struct ini_error {
	unsigned int line; /* 1-based; 0 when not tied to a line */
	char message[256];
};

/*
 * Called once per "key = value" line. section is "" before the first header.
 * All strings are borrowed for the duration of the call. Return 0 to go on; a
 * negative value stops parsing and is returned by ini_parse (the callback fills
 * err itself in that case).
 */
struct ini_handler {
	int (*on_value)(void *arg, const char *section, const char *key, const char *value,
			unsigned int line, struct ini_error *err);
	/* Called for each "[section]" header; may be NULL. Same conventions. */
	int (*on_section)(void *arg, const char *section, unsigned int line, struct ini_error *err);
};

/* Parse len bytes of text. Returns 0, a callback's negative value, or -EINVAL
 * for a syntax error (err filled: line and message). */
HS_WUR int ini_parse(const char *text, size_t len, const struct ini_handler *h, void *arg,
		     struct ini_error *err);

#endif
