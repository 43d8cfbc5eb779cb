/* SPDX-License-Identifier: MIT */
/*
 * pan_check: a test oracle that finds unmasked card numbers in bytes, written
 * apart from src/redact.c (own Luhn, own scan) so the two check each other.
 * Same definition as redact.h: a window of whole separator-grouped digit runs
 * holding 13-19 digits, or a separator-free run of 13-19 digits, passing Luhn.
 */
#ifndef HOOKSTREAM_TESTS_PAN_CHECK_H
#define HOOKSTREAM_TESTS_PAN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

static inline bool
pan_check_digit(const char *s, size_t i, size_t len)
{
	return i < len && s[i] >= '0' && s[i] <= '9';
}

static inline bool
pan_check_luhn(const char *s, size_t len)
{
	int sum = 0, alt = 0, n = 0;

	for (size_t i = len; i-- > 0;) {
		int d;

		if (s[i] < '0' || s[i] > '9')
			continue;
		d = s[i] - '0';
		if (alt)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
		alt = !alt;
		n++;
	}
	return n > 0 && sum % 10 == 0;
}

/* True when buf[0, len) holds an unmasked card number starting at or after
 * from (buf before from still counts as context); *at and *n locate it. */
static inline bool
pan_check_find_from(const char *buf, size_t len, size_t from, size_t *at, size_t *n)
{
	for (size_t i = from; i < len; i++) {
		size_t j = i, digits = 0;

		if (!pan_check_digit(buf, i, len) || pan_check_digit(buf, i - 1, len))
			continue;
		/* A separator-free run starting here. */
		while (pan_check_digit(buf, j, len))
			j++;
		if (j - i >= 13 && j - i <= 19 && pan_check_luhn(buf + i, j - i)) {
			*at = i;
			*n = j - i;
			return true;
		}
		/* Every window of whole groups starting here (a group is a digit
		 * run; groups are joined by one ' ' or '-'): "4111 1111 1111 1111"
		 * inside "1234 4111 1111 1111 1111 12 29" counts. */
		for (j = i; j < len;) {
			size_t g = j;

			while (pan_check_digit(buf, g, len))
				g++;
			digits += g - j;
			if (digits > 19)
				break;
			if (digits >= 13 && pan_check_luhn(buf + i, g - i)) {
				*at = i;
				*n = g - i;
				return true;
			}
			if (g + 1 < len && (buf[g] == ' ' || buf[g] == '-') &&
			    pan_check_digit(buf, g + 1, len))
				j = g + 1;
			else
				break;
		}
	}
	return false;
}

static inline bool
pan_check_find(const char *buf, size_t len, size_t *at, size_t *n)
{
	return pan_check_find_from(buf, len, 0, at, n);
}

#endif
