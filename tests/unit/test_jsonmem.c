// SPDX-License-Identifier: MIT
/*
 * test_jsonmem: jansson's per-request arena. Inside a scope jansson's values
 * come from the arena and its frees are no-ops; the next scope reuses the
 * same memory; outside a scope it is plain malloc/free; large values get a
 * block of their own; strings handed out by jsonmem_dumps outlive the scope.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/jsonmem.h"

static json_t *
sample(void)
{
	json_error_t err;
	json_t *v = json_loads("{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}", 0, &err);

	assert_non_null(v);
	return v;
}

static void
test_scope_reuses_memory(void **state)
{
	json_t *v;
	void *first;

	(void)state;
	jsonmem_scope_begin();
	v = sample();
	first = v;
	assert_string_equal(json_string_value(json_object_get(v, "d")), "e");
	json_decref(v);
	jsonmem_scope_end();

	jsonmem_scope_begin();
	v = sample();
	/* The arena starts over: the same first address. */
	assert_ptr_equal(v, first);
	json_decref(v);
	jsonmem_scope_end();
}

static void
test_outside_a_scope_is_malloc(void **state)
{
	json_t *outer, *inner;

	(void)state;
	outer = sample(); /* plain malloc */
	jsonmem_scope_begin();
	inner = sample();
	assert_ptr_not_equal(outer, inner);
	/* A value made before the scope can be freed inside it. */
	json_decref(outer);
	json_decref(inner);
	jsonmem_scope_end();
	outer = sample();
	json_decref(outer);
}

static void
test_large_and_many(void **state)
{
	size_t big = 300 * 1024;
	char *text = malloc(big + 3);
	json_t *v;

	(void)state;
	assert_non_null(text);
	text[0] = '"';
	memset(text + 1, 'x', big);
	text[big + 1] = '"';
	text[big + 2] = '\0';
	for (int round = 0; round < 3; round++) {
		json_error_t err;

		jsonmem_scope_begin();
		/* Bigger than a block, and then many small values past the first block. */
		v = json_loads(text, JSON_DECODE_ANY, &err);
		assert_non_null(v);
		assert_int_equal(json_string_length(v), big);
		json_decref(v);
		for (int i = 0; i < 5000; i++) {
			json_t *o = json_pack("{s:i, s:s}", "i", i, "s", "value");

			assert_non_null(o);
			assert_int_equal(json_integer_value(json_object_get(o, "i")), i);
			json_decref(o);
		}
		jsonmem_scope_end();
	}
	free(text);
}

static void
test_dumps_outlives_the_scope(void **state)
{
	char *s;
	json_t *v;

	(void)state;
	jsonmem_scope_begin();
	v = sample();
	s = jsonmem_dumps(v, JSON_COMPACT);
	json_decref(v);
	jsonmem_scope_end();
	/* Another scope writes over the arena; s is unaffected. */
	jsonmem_scope_begin();
	v = json_pack("{s:s}", "overwrite", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
	json_decref(v);
	jsonmem_scope_end();
	assert_string_equal(s, "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_reuses_memory),
		cmocka_unit_test(test_outside_a_scope_is_malloc),
		cmocka_unit_test(test_large_and_many),
		cmocka_unit_test(test_dumps_outlives_the_scope),
	};
	int rc;

	json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	jsonmem_thread_fini();
	return rc;
}
