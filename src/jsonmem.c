// SPDX-License-Identifier: MIT
/*
 * jsonmem: a bump allocator per thread for jansson values that live exactly
 * as long as one request's normalisation. Blocks are chained; when a scope
 * ends, the first block is kept for the next request and the others freed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/jsonmem.h"
#include "hookstream/xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define JSONMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSONMEM_ASAN 1
#endif
#endif
#ifdef JSONMEM_ASAN
#include <sanitizer/asan_interface.h>
#define JSONMEM_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define JSONMEM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define JSONMEM_POISON(p, n)   ((void)(p), (void)(n))
#define JSONMEM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define JSONMEM_BLOCK (64u * 1024u)
#define JSONMEM_ALIGN 16u

struct jsonmem_block {
	struct jsonmem_block *next;
	size_t size; /* bytes of data[] */
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct jsonmem_arena {
	struct jsonmem_block *head; /* the block being filled; older ones follow */
	bool open;
};

static _Thread_local struct jsonmem_arena jsonmem_cur;

static struct jsonmem_block *
jsonmem_block_new(size_t size, struct jsonmem_block *next)
{
	struct jsonmem_block *b = xmalloc(sizeof(*b) + size);

	b->next = next;
	b->size = size;
	b->used = 0;
	JSONMEM_POISON(b->data, size);
	return b;
}

static bool
jsonmem_owns(const struct jsonmem_arena *a, const void *ptr)
{
	const unsigned char *p = ptr;

	for (const struct jsonmem_block *b = a->head; b != NULL; b = b->next)
		if (p >= b->data && p < b->data + b->size)
			return true;
	return false;
}

void *
jsonmem_malloc(size_t size)
{
	struct jsonmem_arena *a = &jsonmem_cur;
	struct jsonmem_block *b;
	size_t need;
	void *p;

	if (!a->open)
		return xmalloc(size);
	if (size > SIZE_MAX - JSONMEM_ALIGN)
		abort();
	need = (size + JSONMEM_ALIGN - 1) & ~(size_t)(JSONMEM_ALIGN - 1);
	if (need == 0)
		need = JSONMEM_ALIGN;
	b = a->head;
	if (b == NULL || b->size - b->used < need) {
		size_t bsize = need > JSONMEM_BLOCK ? need : JSONMEM_BLOCK;

		b = jsonmem_block_new(bsize, a->head);
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	JSONMEM_UNPOISON(p, size);
	return p;
}

void
jsonmem_free(void *ptr)
{
	const struct jsonmem_arena *a = &jsonmem_cur;

	if (ptr == NULL)
		return;
	/* Arena memory goes back when the scope ends. */
	if (a->open && jsonmem_owns(a, ptr))
		return;
	free(ptr);
}

void
jsonmem_scope_begin(void)
{
	struct jsonmem_arena *a = &jsonmem_cur;

	if (a->open)
		abort();
	a->open = true;
}

void
jsonmem_scope_end(void)
{
	struct jsonmem_arena *a = &jsonmem_cur;
	struct jsonmem_block *keep;

	if (!a->open)
		abort();
	a->open = false;
	if (a->head == NULL)
		return;
	/* Keep the oldest block (the standard size), free the rest. */
	keep = a->head;
	while (keep->next != NULL) {
		struct jsonmem_block *next = keep->next;

		free(keep);
		keep = next;
	}
	if (keep->size != JSONMEM_BLOCK) {
		free(keep);
		a->head = NULL;
		return;
	}
	JSONMEM_POISON(keep->data, keep->size);
	keep->used = 0;
	a->head = keep;
}

char *
jsonmem_dumps(const json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags), *out;

	if (s == NULL)
		return NULL;
	out = xstrdup(s);
	jsonmem_free(s);
	return out;
}

void
jsonmem_thread_fini(void)
{
	struct jsonmem_arena *a = &jsonmem_cur;

	while (a->head != NULL) {
		struct jsonmem_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
	a->open = false;
}
