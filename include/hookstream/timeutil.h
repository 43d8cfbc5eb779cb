/* SPDX-License-Identifier: MIT */
/* timeutil: wall-clock timestamps in the one format hookstream writes. Pure. */
#ifndef HOOKSTREAM_TIMEUTIL_H
#define HOOKSTREAM_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define TIMEUTIL_RFC3339_LEN 40

/* Format ts as RFC 3339 UTC with milliseconds ("2026-11-26T10:55:35.123Z")
 * into buf (at least TIMEUTIL_RFC3339_LEN bytes). Returns buf. */
char *timeutil_rfc3339(const struct timespec *ts, char *buf);

/*
 * A sender's event time as RFC 3339, or false when it is none of the forms
 * senders use: RFC 3339 itself (kept as written), Unix seconds (10 digits) or
 * milliseconds (13 digits, both written in UTC), or YYYYMMDDhhmmss (FPX) read
 * at offset ("+08:00", "-05:30" or "Z"; NULL means "Z"). out holds at least
 * TIMEUTIL_RFC3339_LEN bytes.
 */
bool timeutil_normalize(const char *in, const char *offset, char *out);

/* True for "Z" or "+HH:MM"/"-HH:MM" with HH <= 14, MM <= 59. */
bool timeutil_offset_valid(const char *offset);

/* Current CLOCK_REALTIME / CLOCK_MONOTONIC time. */
struct timespec timeutil_now(void);
uint64_t timeutil_mono_us(void);

#endif
