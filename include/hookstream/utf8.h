/* SPDX-License-Identifier: MIT */
/* utf8: strict UTF-8 validation (Unicode table 3-7), shared by the parsers. Pure. */
#ifndef HOOKSTREAM_UTF8_H
#define HOOKSTREAM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0, len) is strict UTF-8: no overlongs, no encoded surrogates,
 * nothing above U+10FFFF. Otherwise *bad is the offset of the first byte of the
 * bad sequence and *why a static explanation. */
bool utf8_check(const unsigned char *s, size_t len, size_t *bad, const char **why);

/* Length (1-4) of the valid sequence at s (left bytes available), or 0. */
size_t utf8_seq_len(const unsigned char *s, size_t left);

#endif
