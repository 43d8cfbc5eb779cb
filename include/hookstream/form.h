/* SPDX-License-Identifier: MIT */
/*
 * form: application/x-www-form-urlencoded bodies (FPX-style posts) to a JSON
 * object of strings. Duplicate names are refused like duplicate JSON keys; card
 * numbers in names and values are masked. Pure.
 */
#ifndef HOOKSTREAM_FORM_H
#define HOOKSTREAM_FORM_H

#include <jansson.h>
#include <stddef.h>

#include "hookstream/compiler.h"

struct form_error {
	const char *code; /* static: "invalid_form", "duplicate_key", "invalid_utf8" */
	char message[192];
};

/* Parse len bytes into a new object (*out); *redactions counts masked card
 * numbers. Returns 0, or -EINVAL with *err filled. */
HS_WUR int form_parse(const char *data, size_t len, json_t **out, size_t *redactions,
		      struct form_error *err);

#endif
