/* SPDX-License-Identifier: MIT */
/*
 * jsonmem: jansson's allocator. Outside a scope it is xmalloc/free. Inside a
 * scope (one per thread; normalize_request opens one per request) jansson's
 * allocations come from a per-thread arena that is reset as a whole when the
 * scope ends: parsing a body builds ~100 small jansson allocations that all
 * die together, and glibc spent about a quarter of the daemon's instructions
 * on them. Nothing jansson allocates inside a scope may outlive it: strings
 * jansson returns (json_dumps) are copied out with jsonmem_dumps.
 *
 * Under AddressSanitizer, the arena's memory is poisoned when the scope ends,
 * so a jansson value used after its request is still reported.
 */
#ifndef HOOKSTREAM_JSONMEM_H
#define HOOKSTREAM_JSONMEM_H

#include <jansson.h>
#include <stddef.h>

/* For json_set_alloc_funcs. */
void *jsonmem_malloc(size_t size);
void jsonmem_free(void *ptr);

/* Open and close the calling thread's scope (not nested). */
void jsonmem_scope_begin(void);
void jsonmem_scope_end(void);

/* json_dumps, as a string the caller frees with free() (NULL on failure). */
char *jsonmem_dumps(const json_t *v, size_t flags);

/* Release the calling thread's arena (at thread exit). */
void jsonmem_thread_fini(void);

#endif
