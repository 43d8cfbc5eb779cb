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

/* redact_pans, with each byte of seps also taken as a group separator (as
 * ' ' and '-' are): "4111.1111.1111.1111" with seps ".". For texts whose
 * digit groups are joined that way by construction (request ids, event ids). */
size_t redact_pans_sep(char *buf, size_t len, const char *seps);

/* Room redact_number needs: a sign, 19 digits and a NUL. */
#define REDACT_NUMBER_MAX 21

/* When s[0, len) is exactly one JSON number (RFC 8259's grammar; any other
 * text gives 0) and its value is a PAN (an integer of
 * 13-19 digits passing Luhn, however written: "4111111111111111",
 * "-4111111111111111", "4111111111111111.0", "4.111111111111111E15"), writes
 * it masked to out ("411111******1111", with a leading '-' if negative, NUL-
 * terminated; at most REDACT_NUMBER_MAX bytes) and returns its length; else
 * 0. Such a number must be stored as that masked string instead. A fraction's
 * digits ("0.4111111111111111") are no card number: the value is not one. */
size_t redact_number(const char *s, size_t len, char *out);

/* Luhn check over the digits of s[0, len) (non-digits ignored). */
bool redact_luhn_ok(const char *s, size_t len);

#endif
