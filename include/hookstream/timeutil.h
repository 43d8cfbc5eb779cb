/* SPDX-License-Identifier: MIT */
/* timeutil: wall-clock timestamps in the one format hookstream writes. Pure. */
#ifndef HOOKSTREAM_TIMEUTIL_H
#define HOOKSTREAM_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define TIMEUTIL_RFC3339_LEN 32

/* Format ts as RFC 3339 UTC with milliseconds ("2026-11-26T10:55:35.123Z")
 * into buf (at least TIMEUTIL_RFC3339_LEN bytes). Returns buf. */
char *timeutil_rfc3339(const struct timespec *ts, char *buf);

/* Current CLOCK_REALTIME / CLOCK_MONOTONIC time. */
struct timespec timeutil_now(void);
uint64_t timeutil_mono_us(void);

#endif
