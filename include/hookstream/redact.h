/* SPDX-License-Identifier: MIT */
/*
 * redact: finds full card numbers (PANs) and masks them. A PAN is a run of 13
 * to 19 digits, optionally grouped by single spaces or dashes, that passes the
 * Luhn check and is not part of a longer digit run. Masking keeps the first 6
 * and last 4 digits ("411111******1111"), separators included in place. Pure.
 */
#ifndef HOOKSTREAM_REDACT_H
#define HOOKSTREAM_REDACT_H

#include <stdbool.h>
#include <stddef.h>

/* Mask every PAN in buf[0, len) in place (same length). Returns how many. */
size_t redact_pans(char *buf, size_t len);

/* True when the JSON number lexeme s[0, len) is a PAN (digits only, 13-19,
 * Luhn-valid): such a number must be stored as a masked string instead. */
bool redact_number_is_pan(const char *s, size_t len);

/* Luhn check over the digits of s[0, len) (non-digits ignored). */
bool redact_luhn_ok(const char *s, size_t len);

#endif
