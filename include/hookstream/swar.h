/* SPDX-License-Identifier: MIT */
/*
 * swar: eight bytes at a time in a uint64_t, for the scans that look for a
 * few special bytes in long runs of plain ones (JSON strings). Each test sets
 * the high bit of a byte that matches; it can also flag bytes after a true
 * match (borrows), never miss one: exact for "no such byte in the word", so a
 * caller skips words that test clean and walks a flagged word byte by byte.
 */
#ifndef HOOKSTREAM_SWAR_H
#define HOOKSTREAM_SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES  UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t
swar_load(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Some byte of v equals c. */
static inline uint64_t
swar_has(uint64_t v, unsigned char c)
{
	uint64_t x = v ^ (SWAR_ONES * c);

	return (x - SWAR_ONES) & ~x & SWAR_HIGHS;
}

/* Some byte of v is below n (n <= 128). */
static inline uint64_t
swar_has_below(uint64_t v, unsigned char n)
{
	return (v - SWAR_ONES * n) & ~v & SWAR_HIGHS;
}

#endif
