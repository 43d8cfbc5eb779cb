// SPDX-License-Identifier: MIT
/*
 * log: formats one line per call into a stack buffer. A thread whose event
 * loop is attached (log_batch_attach) collects its info and debug lines and
 * writes them with one write(2) per turn of the loop, from a zero timer; a
 * warning or error writes what is collected at once, itself last. Other
 * threads write each line at once. All writes hold one mutex, so lines from
 * several threads never interleave, even when a write is partial.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hookstream/log.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"

#define LOG_LINE_MAX 4096
/* A turn at 64 connections collects ~34 access lines of ~330 bytes. */
#define LOG_BATCH_MAX (32 * 1024)

static enum log_level log_min_level = LOG_LEVEL_INFO;
static enum log_format log_line_format = LOG_FORMAT_JSON;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

struct log_buf {
	char data[LOG_LINE_MAX];
	size_t len;
	bool json; /* the format, read once per line: a reload may change it */
};

struct log_batch {
	struct event *flush_ev; /* zero timer on the thread's loop */
	size_t len;
	char data[LOG_BATCH_MAX];
};

static pthread_mutex_t log_write_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct log_batch *log_thread_batch;

/* Write it all, or give up when stderr is gone: there is nowhere left to say so. */
static void
log_write(const char *p, size_t n)
{
	pthread_mutex_lock(&log_write_mu);
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&log_write_mu);
}

static void
log_batch_write(struct log_batch *lb)
{
	if (lb->len > 0)
		log_write(lb->data, lb->len);
	lb->len = 0;
}

static void
log_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_batch_write(arg);
}

void
log_batch_attach(struct event_base *base)
{
	struct log_batch *lb;

	if (log_thread_batch != NULL)
		return;
	lb = xmalloc(sizeof(*lb));
	lb->len = 0;
	lb->flush_ev = evtimer_new(base, log_batch_cb, lb);
	if (lb->flush_ev == NULL)
		abort();
	log_thread_batch = lb;
}

void
log_batch_detach(void)
{
	struct log_batch *lb = log_thread_batch;

	if (lb == NULL)
		return;
	log_thread_batch = NULL;
	log_batch_write(lb);
	event_free(lb->flush_ev);
	free(lb);
}

/* Collect the line, or write it (with what is collected before it). */
static void
log_emit(enum log_level level, const char *line, size_t n)
{
	static const struct timeval zero = { 0, 0 };
	struct log_batch *lb = log_thread_batch;

	if (lb == NULL) {
		log_write(line, n);
		return;
	}
	if (n > sizeof(lb->data) - lb->len)
		log_batch_write(lb);
	memcpy(lb->data + lb->len, line, n);
	lb->len += n;
	if (level >= LOG_LEVEL_WARN)
		log_batch_write(lb);
	else if (!evtimer_pending(lb->flush_ev, NULL))
		evtimer_add(lb->flush_ev, &zero);
}

void
log_setup(enum log_level level, enum log_format format)
{
	/* A reload sets these on the main thread while workers log. */
	__atomic_store_n(&log_min_level, level, __ATOMIC_RELAXED);
	__atomic_store_n(&log_line_format, format, __ATOMIC_RELAXED);
}

bool
log_enabled(enum log_level level)
{
	return level >= __atomic_load_n(&log_min_level, __ATOMIC_RELAXED);
}

static void
log_put(struct log_buf *b, const char *s, size_t n)
{
	/* Keep room for the closing brace and newline. */
	if (n > sizeof(b->data) - 8 - b->len)
		n = sizeof(b->data) - 8 - b->len;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static HS_PRINTF(2, 3) void log_printf(struct log_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		log_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The access line is written for every request: no printf on its path. */
static void
log_puts(struct log_buf *b, const char *s)
{
	log_put(b, s, strlen(s));
}

static void
log_put_int(struct log_buf *b, long long v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	log_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Three decimals, as "%.3f" prints them (printf only outside the usual range). */
static void
log_put_ms(struct log_buf *b, double ms)
{
	long long us;
	char frac[4];

	if (!(ms >= 0 && ms < 1e12)) {
		log_printf(b, "%.3f", ms);
		return;
	}
	us = (long long)(ms * 1000.0 + 0.5);
	frac[0] = '.';
	frac[1] = (char)('0' + us / 100 % 10);
	frac[2] = (char)('0' + us / 10 % 10);
	frac[3] = (char)('0' + us % 10);
	log_put_int(b, us / 1000);
	log_put(b, frac, sizeof(frac));
}

/* RFC 3339 UTC with milliseconds; the part up to the seconds is formatted
 * once a second per thread. */
static void
log_put_ts(struct log_buf *b)
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[TIMEUTIL_RFC3339_LEN];
	struct timespec now = timeutil_now();
	int ms = (int)(now.tv_nsec / 1000000L) % 1000;
	char frac[5];

	if (now.tv_sec != cached_sec) {
		timeutil_rfc3339(&now, cached);
		cached_sec = now.tv_sec;
	}
	frac[0] = '.';
	frac[1] = (char)('0' + ms / 100);
	frac[2] = (char)('0' + ms / 10 % 10);
	frac[3] = (char)('0' + ms % 10);
	frac[4] = 'Z';
	log_put(b, cached, 19); /* YYYY-MM-DDTHH:MM:SS */
	log_put(b, frac, sizeof(frac));
}

/* JSON string body, or text value (quoted when it has spaces or quotes). */
static void
log_put_escaped(struct log_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	const char *run = s;
	bool quote = b->json || strpbrk(s, " \"=") != NULL || *s == '\0';

	if (quote)
		log_put(b, "\"", 1);
	for (; *p; p++) {
		char esc[6];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
		} else {
			continue;
		}
		log_put(b, run, (size_t)((const char *)p - run));
		log_put(b, esc, esc[1] == 'u' ? 6 : 2);
		run = (const char *)p + 1;
	}
	log_put(b, run, (size_t)((const char *)p - run));
	if (quote)
		log_put(b, "\"", 1);
}

static void
log_begin(struct log_buf *b, enum log_level level, const char *msg)
{
	/* Level names padded to five for the text format. */
	static const char *const padded[] = { "debug", "info ", "warn ", "error" };

	b->len = 0;
	b->json = __atomic_load_n(&log_line_format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON;
	if (b->json) {
		log_put(b, "{\"ts\":\"", 7);
		log_put_ts(b);
		log_put(b, "\",\"level\":\"", 11);
		log_puts(b, log_level_names[level]);
		log_put(b, "\",\"msg\":", 8);
	} else {
		log_put_ts(b);
		log_put(b, " ", 1);
		log_puts(b, padded[level]);
		log_put(b, " ", 1);
	}
	log_put_escaped(b, msg);
}

static void
log_field_put(struct log_buf *b, const struct log_field *f)
{
	if (f->kind == LOG_KIND_STR && f->s == NULL)
		return;
	if (b->json) {
		log_put(b, ",\"", 2);
		log_puts(b, f->key);
		log_put(b, "\":", 2);
	} else {
		log_put(b, " ", 1);
		log_puts(b, f->key);
		log_put(b, "=", 1);
	}
	switch (f->kind) {
	case LOG_KIND_STR:
		log_put_escaped(b, f->s);
		break;
	case LOG_KIND_INT:
		log_put_int(b, f->i);
		break;
	case LOG_KIND_MS:
		log_put_ms(b, f->ms);
		break;
	}
}

static void
log_end(struct log_buf *b, enum log_level level)
{
	if (b->json)
		b->data[b->len++] = '}';
	b->data[b->len++] = '\n';
	log_emit(level, b->data, b->len);
}

void
log_fields(enum log_level level, const char *msg, const struct log_field *fields, size_t n)
{
	struct log_buf b;

	if (!log_enabled(level))
		return;
	log_begin(&b, level, msg);
	for (size_t i = 0; i < n; i++)
		log_field_put(&b, &fields[i]);
	log_end(&b, level);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fields(level, msg, NULL, 0);
}
