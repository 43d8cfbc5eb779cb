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

/* True when s[0, n) is a whole JSON number lexeme. */
static inline bool
pan_check_is_number(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	for (d = i; pan_check_digit(s, i, n); i++)
		;
	if (i == d || (s[d] == '0' && i - d > 1))
		return false;
	if (i < n && s[i] == '.') {
		for (d = ++i; pan_check_digit(s, i, n); i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; pan_check_digit(s, i, n); i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

/*
 * True when the number lexeme s[0, n) has a card number for its value (an
 * integer of 13-19 digits passing Luhn), however it is written. Apart from
 * redact_number(): the decimal point is moved by the exponent and the digits
 * are read off on both sides of it.
 */
static inline bool
pan_check_number_value(const char *s, size_t n)
{
	size_t i = s[0] == '-', ds = i, nint = 0, nd = 0, got = 0;
	long long exp = 0, point;
	bool eneg = false;
	char value[20];

	while (pan_check_digit(s, ds + nint, n))
		nint++;
	nd = nint;
	i = ds + nint;
	if (i < n && s[i] == '.')
		for (i++; pan_check_digit(s, i, n); i++)
			nd++;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (s[i] == '+' || s[i] == '-')
			eneg = s[i++] == '-';
		for (; i < n; i++)
			exp = exp > 100000000 ? exp : exp * 10 + (s[i] - '0');
	}
	point = (long long)nint + (eneg ? -exp : exp);
	/* Mantissa digit k, the '.' skipped; zeros past its end. */
#define PAN_CHECK_MDIGIT(k) ((k) >= nd ? '0' : s[ds + (k) + ((k) >= nint)])
	for (long long k = point < 0 ? 0 : point; k < (long long)nd; k++)
		if (PAN_CHECK_MDIGIT((size_t)k) != '0')
			return false; /* not an integer */
	for (long long k = 0; k < point; k++) {
		char c = PAN_CHECK_MDIGIT((size_t)k);

		if (got == 0 && k >= (long long)nd)
			return false; /* zero */
		if (got == 0 && c == '0')
			continue;
		if (got == sizeof(value))
			return false;
		value[got++] = c;
	}
#undef PAN_CHECK_MDIGIT
	return got >= 13 && got <= 19 && pan_check_luhn(value, got);
}

static inline bool
pan_check_find(const char *buf, size_t len, size_t *at, size_t *n)
{
	return pan_check_find_from(buf, len, 0, at, n);
}

#endif
