/* SPDX-License-Identifier: MIT */
/*
 * xalloc: the one allocation family. Out of memory aborts here, so no caller
 * carries an allocation-failure path; jansson and libevent are routed through
 * it at startup (hiredis 0.14 has no allocator hooks).
 */
#ifndef HOOKSTREAM_XALLOC_H
#define HOOKSTREAM_XALLOC_H

#include <stddef.h>

#include "hookstream/compiler.h"

/* Each returns new memory (caller frees with free()); never NULL. */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *ptr, size_t size) __attribute__((returns_nonnull));
/* xrealloc of n elements of size bytes; dies on overflow. */
void *xreallocarray(void *ptr, size_t n, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) HS_PRINTF(1, 2) __attribute__((returns_nonnull));

#endif
