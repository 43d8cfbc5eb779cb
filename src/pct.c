// SPDX-License-Identifier: MIT
/* pct: one percent-decoder, strict about escapes (a bad one is an error). */
#include <stdlib.h>

#include "hookstream/pct.h"
#include "hookstream/xalloc.h"

static int
pct_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
pct_decode(const char *b, const char *e, bool plus, bool no_nul, size_t *n)
{
	char *out = xmalloc((size_t)(e - b) + 1), *o = out;

	while (b < e) {
		if (*b == '+' && plus) {
			*o++ = ' ';
			b++;
		} else if (*b == '%') {
			int hi = e - b >= 3 ? pct_hex(b[1]) : -1;
			int lo = e - b >= 3 ? pct_hex(b[2]) : -1;

			if (hi < 0 || lo < 0 || (no_nul && hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			b += 3;
		} else {
			*o++ = *b++;
		}
	}
	*o = '\0';
	if (n != NULL)
		*n = (size_t)(o - out);
	return out;
}
