// SPDX-License-Identifier: MIT
/*
 * log: formats one line per call into a stack buffer and writes it to stderr
 * in one write(2). Level and format are set once at startup and read-only after.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hookstream/log.h"
#include "hookstream/timeutil.h"

#define LOG_LINE_MAX 4096

static enum log_level log_min_level = LOG_LEVEL_INFO;
static enum log_format log_line_format = LOG_FORMAT_JSON;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

struct log_buf {
	char data[LOG_LINE_MAX];
	size_t len;
};

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

/* JSON string body, or text value (quoted when it has spaces or quotes). */
static void
log_put_escaped(struct log_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	bool json = __atomic_load_n(&log_line_format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON;
	bool quote = json || strpbrk(s, " \"=") != NULL || *s == '\0';

	if (quote)
		log_put(b, "\"", 1);
	for (; *p; p++) {
		char esc[6];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			log_put(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			log_put(b, esc, 6);
		} else {
			log_put(b, (const char *)p, 1);
		}
	}
	if (quote)
		log_put(b, "\"", 1);
}

static void
log_begin(struct log_buf *b, enum log_level level, const char *msg)
{
	char ts[TIMEUTIL_RFC3339_LEN];
	struct timespec now = timeutil_now();

	timeutil_rfc3339(&now, ts);
	b->len = 0;
	if (__atomic_load_n(&log_line_format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON) {
		log_printf(b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
			   log_level_names[level]);
		log_put_escaped(b, msg);
	} else {
		log_printf(b, "%s %-5s ", ts, log_level_names[level]);
		log_put_escaped(b, msg);
	}
}

static void
log_field_put(struct log_buf *b, const struct log_field *f)
{
	if (f->kind == LOG_KIND_STR && f->s == NULL)
		return;
	if (__atomic_load_n(&log_line_format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON)
		log_printf(b, ",\"%s\":", f->key);
	else
		log_printf(b, " %s=", f->key);
	switch (f->kind) {
	case LOG_KIND_STR:
		log_put_escaped(b, f->s);
		break;
	case LOG_KIND_INT:
		log_printf(b, "%lld", f->i);
		break;
	case LOG_KIND_MS:
		log_printf(b, "%.3f", f->ms);
		break;
	}
}

static void
log_end(struct log_buf *b)
{
	if (__atomic_load_n(&log_line_format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON)
		b->data[b->len++] = '}';
	b->data[b->len++] = '\n';
	if (write(STDERR_FILENO, b->data, b->len) < 0) {
		/* stderr is gone; there is nowhere left to say so */
	}
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
	log_end(&b);
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
