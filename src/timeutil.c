// SPDX-License-Identifier: MIT
/* timeutil: RFC 3339 timestamps and clocks (pure helpers). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hookstream/timeutil.h"

char *
timeutil_rfc3339(const struct timespec *ts, char *buf)
{
	struct tm tm;
	time_t secs = ts->tv_sec;

	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, TIMEUTIL_RFC3339_LEN - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, TIMEUTIL_RFC3339_LEN - n, ".%03dZ", (int)(ts->tv_nsec / 1000000L) % 1000);
	return buf;
}

struct timespec
timeutil_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

uint64_t
timeutil_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool
timeutil_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int
timeutil_num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static bool
timeutil_fields_ok(int year, int mon, int day, int hour, int min, int sec)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	/* A day the calendar has (2027-02-29 and 2026-11-31 are none); no
	 * leap second: nothing downstream can place :60 on a time line. */
	if (mon < 1 || mon > 12 || day < 1)
		return false;
	return day <= days[mon - 1] + (mon == 2 && leap) && hour <= 23 && min <= 59 && sec <= 59;
}

bool
timeutil_offset_valid(const char *o)
{
	if (strcmp(o, "Z") == 0)
		return true;
	return strlen(o) == 6 && (o[0] == '+' || o[0] == '-') && timeutil_digits(o + 1, 2) &&
	       o[3] == ':' && timeutil_digits(o + 4, 2) && timeutil_num(o + 1, 2) <= 14 &&
	       timeutil_num(o + 4, 2) <= 59;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)" */
static bool
timeutil_is_rfc3339(const char *s)
{
	size_t n = strlen(s), i = 19;

	if (n < 20 || !timeutil_digits(s, 4) || s[4] != '-' || !timeutil_digits(s + 5, 2) ||
	    s[7] != '-' || !timeutil_digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') ||
	    !timeutil_digits(s + 11, 2) || s[13] != ':' || !timeutil_digits(s + 14, 2) ||
	    s[16] != ':' || !timeutil_digits(s + 17, 2))
		return false;
	if (!timeutil_fields_ok(timeutil_num(s, 4), timeutil_num(s + 5, 2), timeutil_num(s + 8, 2),
				timeutil_num(s + 11, 2), timeutil_num(s + 14, 2),
				timeutil_num(s + 17, 2)))
		return false;
	if (s[i] == '.') {
		size_t f = ++i;

		while (isdigit((unsigned char)s[i]))
			i++;
		if (i == f || i - f > 9)
			return false;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		return true;
	return timeutil_offset_valid(s + i) && s[i] != 'Z';
}

bool
timeutil_normalize(const char *in, const char *offset, char *out)
{
	size_t n = strlen(in);

	if (offset == NULL)
		offset = "Z";
	if (n < TIMEUTIL_RFC3339_LEN && timeutil_is_rfc3339(in)) {
		memcpy(out, in, n + 1);
		return true;
	}
	if ((n == 10 || n == 13) && timeutil_digits(in, n)) {
		long long v = 0;
		struct timespec ts;

		for (size_t i = 0; i < n; i++)
			v = v * 10 + (in[i] - '0');
		ts.tv_sec = (time_t)(n == 13 ? v / 1000 : v);
		ts.tv_nsec = n == 13 ? (long)(v % 1000) * 1000000L : 0;
		timeutil_rfc3339(&ts, out);
		if (n == 10) /* whole seconds: no invented milliseconds */
			memmove(out + 19, "Z", 2);
		return true;
	}
	if (n == 14 && timeutil_digits(in, n)) {
		if (!timeutil_fields_ok(timeutil_num(in, 4), timeutil_num(in + 4, 2),
					timeutil_num(in + 6, 2), timeutil_num(in + 8, 2),
					timeutil_num(in + 10, 2), timeutil_num(in + 12, 2)))
			return false;
		snprintf(out, TIMEUTIL_RFC3339_LEN, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%s", in, in + 4,
			 in + 6, in + 8, in + 10, in + 12, offset);
		return true;
	}
	return false;
}
