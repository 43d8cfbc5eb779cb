/* SPDX-License-Identifier: MIT */
/*
 * json_check: test helpers over jsonparse trees. Equality that respects keys
 * holding NUL (json_equal() looks keys up with strlen()), and a walk that finds
 * any string or key still holding a card number (see pan_check.h).
 */
#ifndef HOOKSTREAM_TESTS_JSON_CHECK_H
#define HOOKSTREAM_TESTS_JSON_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "pan_check.h"

static inline bool
json_check_equal(json_t *a, json_t *b)
{

	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
			       0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!json_check_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		for (void *it = json_object_iter(a); it != NULL;
		     it = json_object_iter_next(a, it)) {
			json_t *other = json_object_getn(b, json_object_iter_key(it),
							 json_object_iter_key_len(it));

			if (other == NULL || !json_check_equal(json_object_iter_value(it), other))
				return false;
		}
		return true;
	default:
		return true;
	}
}

/* A number lexeme whose value is no card number ("0.4111111111111111"), though
 * its digits hold one. */
static inline bool
json_check_number_not_pan(const char *s, size_t n)
{
	return pan_check_is_number(s, n) && !pan_check_number_value(s, n);
}

/* The first string or key in v holding a card number, or NULL. With numbers,
 * a value that reads as a number lexeme whose value is no card number is let
 * through. */
static inline const char *
json_check_find_pan(json_t *v, bool numbers)
{
	const char *hit;
	size_t at, n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (!pan_check_find(json_string_value(v), json_string_length(v), &at, &n))
			return NULL;
		if (numbers &&
		    json_check_number_not_pan(json_string_value(v), json_string_length(v)))
			return NULL;
		return json_string_value(v);
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((hit = json_check_find_pan(json_array_get(v, i), numbers)) != NULL)
				return hit;
		return NULL;
	case JSON_OBJECT:
		for (void *it = json_object_iter(v); it != NULL;
		     it = json_object_iter_next(v, it)) {
			const char *key = json_object_iter_key(it);

			if (pan_check_find(key, json_object_iter_key_len(it), &at, &n))
				return key;
			hit = json_check_find_pan(json_object_iter_value(it), numbers);
			if (hit != NULL)
				return hit;
		}
		return NULL;
	default:
		return NULL;
	}
}

#endif
