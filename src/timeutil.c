// SPDX-License-Identifier: MIT
/* timeutil: RFC 3339 timestamps and clocks (pure helpers). */
#include <stdio.h>

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
