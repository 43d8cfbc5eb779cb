// SPDX-License-Identifier: MIT
/*
 * utf8: the one strict UTF-8 decoder of the project, so that the JSON parser,
 * the form parser and the escaping of unparseable bodies agree on what valid
 * text is.
 */
#include "hookstream/utf8.h"

#include <stdint.h>
#include <string.h>

#include "hookstream/swar.h"

/*
 * Strict UTF-8 (Unicode table 3-7): no overlongs, no encoded surrogates, nothing
 * above U+10FFFF. Returns false with *bad at the first byte of the bad sequence.
 */
bool
utf8_check(const unsigned char *s, size_t len, size_t *bad, const char **why)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c, lo = 0x80, hi = 0xbf;
		size_t n;

		/* ASCII, most of any body: eight bytes at a time. */
		while (len - i >= 8 && !(swar_load(s + i) & SWAR_HIGHS))
			i += 8;
		if (i >= len)
			break;
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		*bad = i;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			*why = c < 0xc0	  ? "unexpected UTF-8 continuation byte"
			       : c < 0xc2 ? "overlong UTF-8 encoding"
					  : "invalid UTF-8 lead byte";
			return false;
		}
		if (i + 1 >= len || s[i + 1] < lo || s[i + 1] > hi) {
			if (i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0xbf)
				*why = c == 0xed   ? "UTF-16 surrogate encoded in UTF-8"
				       : c == 0xf4 ? "UTF-8 code point above U+10FFFF"
						   : "overlong UTF-8 encoding";
			else
				*why = "truncated UTF-8 sequence";
			return false;
		}
		for (size_t k = 2; k <= n; k++) {
			if (i + k >= len || s[i + k] < 0x80 || s[i + k] > 0xbf) {
				*why = "truncated UTF-8 sequence";
				return false;
			}
		}
		i += n + 1;
	}
	return true;
}

size_t
utf8_seq_len(const unsigned char *s, size_t left)
{
	size_t bad;
	const char *why;
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

	if (left == 0 || n > left)
		return 0;
	return utf8_check(s, n, &bad, &why) ? n : 0;
}
