// SPDX-License-Identifier: MIT
/*
 * redact: card number (PAN) detection and masking over raw bytes. It owns the
 * one definition of "looks like a card number" used for stored payloads, so the
 * rule lives here and nowhere else: digit sequences, grouping, Luhn, masking.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/redact.h"
#include "hookstream/xalloc.h"

#define REDACT_MIN_DIGITS 13
#define REDACT_MAX_DIGITS 19
#define REDACT_KEEP_HEAD  6
#define REDACT_KEEP_TAIL  4

static bool
redact_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
redact_is_sep(char c)
{
	return c == ' ' || c == '-';
}

bool
redact_luhn_ok(const char *s, size_t len)
{
	unsigned int sum = 0;
	size_t ndigits = 0;

	/* From the right: every second digit is doubled, 2*d > 9 folds to 2*d - 9. */
	for (size_t i = len; i-- > 0;) {
		unsigned int d;

		if (!redact_is_digit(s[i]))
			continue;
		d = (unsigned int)(s[i] - '0');
		if (ndigits++ % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	/* An empty string "passes" arithmetically but is no number at all. */
	return ndigits > 0 && sum % 10 == 0;
}

static size_t
redact_count_digits(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += redact_is_digit(s[i]);
	return n;
}

/* Mask s[0, len), which holds ndigits digits: all but the first 6 and last 4
 * digits become '*'; separators stay where they are. */
static void
redact_mask(char *s, size_t len, size_t ndigits)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		if (!redact_is_digit(s[i]))
			continue;
		if (k >= REDACT_KEEP_HEAD && k < ndigits - REDACT_KEEP_TAIL)
			s[i] = '*';
		k++;
	}
}

/*
 * A number's value, not its spelling, decides: trailing zeros of the mantissa
 * are counted (not stored) so that "4111111111111111.000" and "4.1e15" cost no
 * room, and the exponent saturates far beyond any 19-digit value.
 */
size_t
redact_number(const char *s, size_t len, char *out)
{
	char digits[REDACT_MAX_DIGITS];
	size_t i = 0, n = 0, zeros = 0, frac = 0, o = 0;
	long long exp = 0, scale;
	bool point = false, eneg = false;

	if (i < len && s[i] == '-')
		out[o++] = s[i++];
	/* RFC 8259's grammar, so that any text can be asked: a digit first, no
	 * leading zero before another digit, a digit after the point. */
	if (i == len || !redact_is_digit(s[i]) ||
	    (s[i] == '0' && i + 1 < len && redact_is_digit(s[i + 1])))
		return 0;
	for (; i < len && (redact_is_digit(s[i]) || s[i] == '.'); i++) {
		if (s[i] == '.') {
			if (point || i + 1 == len || !redact_is_digit(s[i + 1]))
				return 0;
			point = true;
			continue;
		}
		frac += point;
		if (s[i] == '0') {
			zeros += n > 0; /* leading zeros are no digits of the value */
			continue;
		}
		if (n + zeros >= REDACT_MAX_DIGITS)
			return 0; /* 20 significant digits: never a card number */
		for (; zeros > 0; zeros--)
			digits[n++] = '0';
		digits[n++] = s[i];
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i == len || !redact_is_digit(s[i]))
			return 0;
		for (; i < len && redact_is_digit(s[i]); i++)
			if (exp < 1000000)
				exp = exp * 10 + (s[i] - '0');
	}
	if (i != len || n == 0)
		return 0;
	/* The value is digits * 10^scale. */
	scale = (long long)zeros + (eneg ? -exp : exp) - (long long)frac;
	if (scale < 0 || (unsigned long long)scale > REDACT_MAX_DIGITS - n ||
	    n + (size_t)scale < REDACT_MIN_DIGITS)
		return 0;
	memcpy(out + o, digits, n);
	memset(out + o + n, '0', (size_t)scale);
	n += (size_t)scale;
	if (!redact_luhn_ok(out + o, n))
		return 0;
	redact_mask(out + o, n, n);
	out[o + n] = '\0';
	return o + n;
}

/* End of the digit sequence starting at buf[i] (a digit): digits, each gap a
 * single separator followed by a digit. */
static size_t
redact_seq_end(const char *buf, size_t len, size_t i)
{
	while (i < len) {
		if (redact_is_digit(buf[i]))
			i++;
		else if (redact_is_sep(buf[i]) && i + 1 < len && redact_is_digit(buf[i + 1]))
			i += 2;
		else
			break;
	}
	return i;
}

/* The whole of s[0, len) is a PAN: mask it and say so. */
static bool
redact_try_whole(char *s, size_t len)
{
	size_t n = redact_count_digits(s, len);

	if (n < REDACT_MIN_DIGITS || n > REDACT_MAX_DIGITS || !redact_luhn_ok(s, len))
		return false;
	redact_mask(s, len, n);
	return true;
}

/*
 * Windows of consecutive digit groups of the sequence s[0, len) ("1234 4111
 * 1111 1111 1111" holds "4111 1111 1111 1111"): from each group, the longest
 * window of 13-19 digits that passes Luhn is masked, and the search goes on
 * after it. A single group of 13-19 digits is a window of one. Groups are
 * walked in place: any number of them, no table to outgrow.
 */
static size_t
redact_group_windows(char *s, size_t len)
{
	size_t count = 0, i = 0;

	while (i < len) {
		size_t a, j, digits = 0, best = 0;

		while (i < len && !redact_is_digit(s[i]))
			i++;
		if (i >= len)
			break;
		a = j = i;
		for (;;) {
			size_t g = j;

			while (g < len && redact_is_digit(s[g]))
				g++;
			digits += g - j;
			if (digits > REDACT_MAX_DIGITS)
				break;
			if (digits >= REDACT_MIN_DIGITS && redact_luhn_ok(s + a, g - a))
				best = g;
			if (g + 1 < len && redact_is_sep(s[g]) && redact_is_digit(s[g + 1]))
				j = g + 1;
			else
				break;
		}
		if (best > 0) {
			redact_mask(s + a, best - a, redact_count_digits(s + a, best - a));
			count++;
			i = best;
		} else {
			while (i < len && redact_is_digit(s[i]))
				i++;
		}
	}
	return count;
}

/*
 * One maximal sequence s[0, len). First the sequence as a whole ("4111 1111
 * 1111 1111"). If that is no PAN (too long, say "1234 4111111111111111" or
 * "4111 1111 1111 1111 12 29"), windows of whole groups are tried. Masking such a run leaves
 * its first 6 digits joined to the groups before it, and its last 4 to the
 * groups after; those pieces are new sequences that could pass on their own,
 * so each is tried as a whole once more. Nothing further can appear: every
 * piece left then is either already checked or at most 6 digits long.
 */
static size_t
redact_sequence(char *s, size_t len)
{
	size_t count = 0, i = 0;

	if (redact_try_whole(s, len))
		return 1;
	count = redact_group_windows(s, len);
	if (count == 0)
		return 0;
	for (i = 0; i < len;) {
		size_t end;

		if (!redact_is_digit(s[i])) {
			i++;
			continue;
		}
		end = redact_seq_end(s, len, i);
		count += redact_try_whole(s + i, end - i);
		i = end;
	}
	return count;
}

static size_t
redact_pass(char *buf, size_t len)
{
	size_t count = 0, i = 0;

	while (i < len) {
		size_t end;

		if (!redact_is_digit(buf[i])) {
			i++;
			continue;
		}
		/* buf[i - 1] is not a digit, and not a separator after a digit, or the
		 * previous sequence would have run through here. */
		end = redact_seq_end(buf, len, i);
		if (redact_count_digits(buf + i, end - i) >= REDACT_MIN_DIGITS)
			count += redact_sequence(buf + i, end - i);
		i = end;
	}
	return count;
}

/*
 * Masking splits digit sequences, and the pieces left (with their neighbours)
 * can form a new card number, so passes repeat until nothing changes. Each
 * pass masks at least three more digits; the cap only matters for hostile
 * input built to chain windows, and every pass still masks.
 */
size_t
redact_pans(char *buf, size_t len)
{
	size_t count = 0, c;

	for (int pass = 0; pass < 16 && (c = redact_pass(buf, len)) > 0; pass++)
		count += c;
	return count;
}

size_t
redact_pans_sep(char *buf, size_t len, const char *seps)
{
	char small[256], *copy = len <= sizeof(small) ? small : xmalloc(len);
	bool sep[256] = { false };
	size_t count;

	for (const unsigned char *s = (const unsigned char *)seps; *s != '\0'; s++)
		sep[*s] = true;
	/* Mask a copy where those separators read as '-', then carry its '*'
	 * over (the separators themselves stay as they were). */
	for (size_t i = 0; i < len; i++)
		copy[i] = sep[(unsigned char)buf[i]] ? '-' : buf[i];
	count = redact_pans(copy, len);
	for (size_t i = 0; count > 0 && i < len; i++)
		if (copy[i] == '*' && buf[i] != '*')
			buf[i] = '*';
	if (copy != small)
		free(copy);
	return count;
}
