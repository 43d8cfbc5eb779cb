/* SPDX-License-Identifier: MIT */
/*
 * form: application/x-www-form-urlencoded bodies (FPX-style posts) to a JSON
 * object of strings. Duplicate names are refused like duplicate JSON keys;
 * form_masked gives the copy to store, with card numbers masked. Pure.
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

/* Parse len bytes into a new object (*out) of the fields as sent (card
 * numbers included). Returns 0, or -EINVAL with *err filled. */
HS_WUR int form_parse(const char *data, size_t len, json_t **out, struct form_error *err);

/* A new object like obj with card numbers masked in names and values, except
 * the values of the nexempt fields named in exempt (names are always
 * checked); *redactions counts them. */
json_t *form_masked(const json_t *obj, char *const *exempt, size_t nexempt, size_t *redactions);

#endif
