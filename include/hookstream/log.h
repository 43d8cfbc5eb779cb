/* SPDX-License-Identifier: MIT */
/*
 * log: levelled, one line per event on stderr, JSON (default) or key=value text.
 * Lines from several threads never interleave. On a thread with an attached
 * event loop, info and debug lines are collected and written once per turn of
 * the loop (one write(2) for all the access lines of a turn); a warning or an
 * error is written at once, after what was collected. Callers pass message
 * and fields; bodies and secrets never belong here (the caller's duty, checked
 * by the integration tests).
 */
#ifndef HOOKSTREAM_LOG_H
#define HOOKSTREAM_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "hookstream/compiler.h"

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_format {
	LOG_FORMAT_JSON = 0,
	LOG_FORMAT_TEXT,
};

enum log_kind {
	LOG_KIND_STR,
	LOG_KIND_INT,
	LOG_KIND_MS, /* double milliseconds, printed with 3 decimals */
};

struct log_field {
	const char *key; /* static, plain ASCII */
	enum log_kind kind;
	const char *s; /* LOG_KIND_STR; NULL fields are skipped */
	long long i;
	double ms;
};

#define LOG_STR(k, v) ((struct log_field){ .key = (k), .kind = LOG_KIND_STR, .s = (v) })
#define LOG_INT(k, v) ((struct log_field){ .key = (k), .kind = LOG_KIND_INT, .i = (long long)(v) })
#define LOG_MS(k, v)  ((struct log_field){ .key = (k), .kind = LOG_KIND_MS, .ms = (v) })

/* Set level and format; call before any thread starts. Defaults: info, json. */
void log_setup(enum log_level level, enum log_format format);

bool log_enabled(enum log_level level);

struct event_base;

/* Collect this thread's info and debug lines, written by a zero timer on base
 * (so at most one turn of the loop late). Call on the thread that runs base. */
void log_batch_attach(struct event_base *base);

/* Write what is collected and stop collecting; before base is freed. */
void log_batch_detach(void);

/* A line with a formatted message and no fields. */
void log_msg(enum log_level level, const char *fmt, ...) HS_PRINTF(2, 3);

/* A line with a fixed message and fields (borrowed for the call). */
void log_fields(enum log_level level, const char *msg, const struct log_field *fields, size_t n);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
