// SPDX-License-Identifier: MIT
/*
 * test_ini: unit tests for the INI line splitter. Every callback is recorded as
 * one line of text ("[section]@LINE" or "section|key|value@LINE"), so a case is
 * an input and the record it must produce; a failure prints both records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/ini.h"

struct recorder {
	char *log;
	size_t len, cap;
	unsigned int calls;
	unsigned int fail_at_line; /* a callback for this line returns fail_rc */
	int fail_rc;
};

static void rec_append(struct recorder *r, const char *fmt, ...) HS_PRINTF(2, 3);

static void
rec_append(struct recorder *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (r->len + (size_t)n + 1 > r->cap) {
		r->cap = (r->len + (size_t)n + 1) * 2;
		r->log = realloc(r->log, r->cap);
		assert_non_null(r->log);
	}
	va_start(ap, fmt);
	vsnprintf(r->log + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	r->len += (size_t)n;
}

static int
rec_value_cb(void *arg, const char *section, const char *key, const char *value, unsigned int line,
	     struct ini_error *err)
{
	struct recorder *r = arg;

	r->calls++;
	rec_append(r, "%s|%s|%s@%u\n", section, key, value, line);
	if (r->fail_at_line == line) {
		err->line = line;
		snprintf(err->message, sizeof(err->message), "callback refused");
		return r->fail_rc;
	}
	return 0;
}

static int
rec_section_cb(void *arg, const char *section, unsigned int line, struct ini_error *err)
{
	struct recorder *r = arg;

	r->calls++;
	rec_append(r, "[%s]@%u\n", section, line);
	if (r->fail_at_line == line) {
		err->line = line;
		snprintf(err->message, sizeof(err->message), "section refused");
		return r->fail_rc;
	}
	return 0;
}

static const struct ini_handler rec_handler = {
	.on_value = rec_value_cb,
	.on_section = rec_section_cb,
};

/* Parse len bytes; returns the return code, the record in *log (new). */
static int
run(const char *text, size_t len, struct recorder *r, struct ini_error *err)
{
	int rc;

	r->len = 0;
	r->cap = 64;
	r->log = malloc(r->cap);
	assert_non_null(r->log);
	r->log[0] = '\0';
	memset(err, 0x55, sizeof(*err));
	rc = ini_parse(text, len, &rec_handler, r, err);
	return rc;
}

static void
test_valid_table(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		size_t len; /* 0: strlen(text) */
		const char *want;
	} cases[] = {
		{ "empty input", "", 0, "" },
		{ "global key", "a = 1\n", 0, "|a|1@1\n" },
		{ "no final newline", "a = 1", 0, "|a|1@1\n" },
		{ "sections", "x = 0\n[one]\na = 1\n[two]\nb = 2\n", 0,
		  "|x|0@1\n[one]@2\none|a|1@3\n[two]@4\ntwo|b|2@5\n" },
		{ "section name trimmed", "[  route /x \t]\nk=v\n", 0,
		  "[route /x]@1\nroute /x|k|v@2\n" },
		{ "header with spaces around", "   [s]   \n", 0, "[s]@1\n" },
		{ "hash comment", "# a = 1\nb = 2\n", 0, "|b|2@2\n" },
		{ "semicolon comment", "; a = 1\nb = 2\n", 0, "|b|2@2\n" },
		{ "indented comments", "  # x\n\t; y\nb = 2\n", 0, "|b|2@3\n" },
		{ "comment without '='", "# no equals here [\n", 0, "" },
		{ "hash inside value", "a = x#y # not a comment\n", 0,
		  "|a|x#y # not a comment@1\n" },
		{ "semicolon inside value", "a = x;y\n", 0, "|a|x;y@1\n" },
		{ "equals inside value", "a = b=c==d\n", 0, "|a|b=c==d@1\n" },
		{ "no spaces", "a=b\n", 0, "|a|b@1\n" },
		{ "trimming", " \t key \t =  \t value with  inner  spaces \t \n", 0,
		  "|key|value with  inner  spaces@1\n" },
		{ "key with a space", "my key = v\n", 0, "|my key|v@1\n" },
		{ "empty value", "a =\nb=\nc =   \n", 0, "|a|@1\n|b|@2\n|c|@3\n" },
		{ "CRLF lines", "[s]\r\na = 1\r\n# c\r\n\r\nb = two words\r\n", 0,
		  "[s]@1\ns|a|1@2\ns|b|two words@5\n" },
		{ "lone CR line is blank", "\r\na=1\r\n", 0, "|a|1@2\n" },
		{ "BOM on line 1",
		  "\xef\xbb\xbf"
		  "a = 1\n",
		  0, "|a|1@1\n" },
		{ "BOM before a header", "\xef\xbb\xbf[s]\nk=v\n", 0, "[s]@1\ns|k|v@2\n" },
		{ "blank and whitespace lines count", "\n\n  \n\t\na = 1\n\n[s]\n", 0,
		  "|a|1@5\n[s]@7\n" },
		{ "repeated keys are passed on", "a = 1\na = 2\n", 0, "|a|1@1\n|a|2@2\n" },
		{ "UTF-8 value kept", "a = caf\xc3\xa9\n", 0, "|a|caf\xc3\xa9@1\n" },
		{ "len shorter than text", "a = 1\nb = 2\n", 6, "|a|1@1\n" },
		{ "len cuts inside a line", "a = 12345\n", 6, "|a|12@1\n" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct recorder r = { 0 };
		struct ini_error err;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		int rc = run(cases[i].text, len, &r, &err);

		if (rc != 0)
			fail_msg("%s: ret %d, want 0 (line %u: %s)", cases[i].name, rc, err.line,
				 err.message);
		if (strcmp(r.log, cases[i].want) != 0)
			fail_msg("%s: got\n%s---\nwant\n%s---", cases[i].name, r.log,
				 cases[i].want);
		if (err.line != 0 || err.message[0] != '\0')
			fail_msg("%s: err not cleared on success (line %u)", cases[i].name,
				 err.line);
		free(r.log);
	}
}

static void
test_syntax_errors(void **state)
{
	static const char unterminated[] = "section header must end with ']'";
	static const char empty_section[] = "empty section name";
	static const char no_eq[] = "expected 'key = value'";
	static const char no_key[] = "missing key before '='";
	static const char nul[] = "NUL byte in line";
	static const struct {
		const char *name;
		const char *text;
		size_t len; /* 0: strlen(text) */
		unsigned int line;
		const char *message;
		const char *want_log; /* callbacks made before the error */
	} cases[] = {
		{ "unterminated section", "[route /x\n", 0, 1, unterminated, "" },
		{ "lone bracket", "[\n", 0, 1, unterminated, "" },
		{ "text after ]", "a=1\n[s] x\n", 0, 2, unterminated, "|a|1@1\n" },
		{ "inline comment after header", "[s] # c\n", 0, 1, unterminated, "" },
		{ "empty section", "[]\n", 0, 1, empty_section, "" },
		{ "blank section", "[  \t ]\n", 0, 1, empty_section, "" },
		{ "missing '='", "a = 1\n\njustakey\nb = 2\n", 0, 3, no_eq, "|a|1@1\n" },
		{ "close bracket only", "]\n", 0, 1, no_eq, "" },
		{ "empty key", "= v\n", 0, 1, no_key, "" },
		{ "blank key", "[s]\n  \t = v\n", 0, 2, no_key, "[s]@1\n" },
		{ "CRLF error line", "a=1\r\nb=2\r\nbad\r\n", 0, 3, no_eq, "|a|1@1\n|b|2@2\n" },
		{ "NUL in value", "a = 1\nb = x\0y\nc = 3\n", 20, 2, nul, "|a|1@1\n" },
		{ "NUL in comment", "# x\0\n", 5, 1, nul, "" },
		{ "NUL alone on last line", "a=1\n\0", 5, 2, nul, "|a|1@1\n" },
		/* A BOM is only a BOM on line 1; later it is part of a key line. */
		{ "BOM on line 2", "a=1\n\xef\xbb\xbf[s]\n", 0, 2, no_eq, "|a|1@1\n" },
		{ "error line after 1000 lines", NULL, 0, 1001, no_eq, NULL },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct recorder r = { 0 };
		struct ini_error err;
		char *text = (char *)cases[i].text;
		size_t len = cases[i].len;
		int rc;

		if (text == NULL) {
			/* 1000 comment/blank/key lines, then a bad one. */
			text = malloc(1000 * 8 + 16);
			assert_non_null(text);
			len = 0;
			for (int l = 0; l < 1000; l++)
				len += (size_t)sprintf(text + len, "%s\n",
						       l % 3 == 0   ? "# c"
						       : l % 3 == 1 ? ""
								    : "k = v");
			len += (size_t)sprintf(text + len, "oops\n");
		} else if (len == 0) {
			len = strlen(text);
		}
		rc = run(text, len, &r, &err);
		if (rc != -EINVAL)
			fail_msg("%s: ret %d, want %d", cases[i].name, rc, -EINVAL);
		if (err.line != cases[i].line)
			fail_msg("%s: line %u, want %u", cases[i].name, err.line, cases[i].line);
		if (strcmp(err.message, cases[i].message) != 0)
			fail_msg("%s: message \"%s\", want \"%s\"", cases[i].name, err.message,
				 cases[i].message);
		if (cases[i].want_log != NULL && strcmp(r.log, cases[i].want_log) != 0)
			fail_msg("%s: callbacks before the error:\n%s---\nwant\n%s---",
				 cases[i].name, r.log, cases[i].want_log);
		if (text != cases[i].text)
			free(text);
		free(r.log);
	}
}

/* A callback's negative return stops the parse at once and is returned as is. */
static void
test_callback_error_stops(void **state)
{
	static const char text[] = "a = 1\n[s]\nb = 2\nc = 3\n[t]\nd = 4\n";
	struct recorder r = { .fail_at_line = 3, .fail_rc = -42 };
	struct ini_error err;
	int rc;
	(void)state;

	rc = run(text, strlen(text), &r, &err);
	assert_int_equal(rc, -42);
	assert_string_equal(r.log, "|a|1@1\n[s]@2\ns|b|2@3\n");
	assert_int_equal(r.calls, 3);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.message, "callback refused");
	free(r.log);

	/* The same from a section callback. */
	r = (struct recorder){ .fail_at_line = 5, .fail_rc = -ENOENT };
	rc = run(text, strlen(text), &r, &err);
	assert_int_equal(rc, -ENOENT);
	assert_string_equal(r.log, "|a|1@1\n[s]@2\ns|b|2@3\ns|c|3@4\n[t]@5\n");
	assert_string_equal(err.message, "section refused");
	free(r.log);
}

/* on_section may be NULL: headers still change the section passed to on_value. */
static void
test_without_section_callback(void **state)
{
	static const struct ini_handler h = { .on_value = rec_value_cb };
	static const char text[] = "a=1\n[x]\nb=2\n[ y ]\nc=3\n";
	struct recorder r = { 0 };
	struct ini_error err;
	(void)state;

	r.cap = 16;
	r.log = calloc(1, r.cap);
	assert_non_null(r.log);
	assert_int_equal(ini_parse(text, strlen(text), &h, &r, &err), 0);
	assert_string_equal(r.log, "|a|1@1\nx|b|2@3\ny|c|3@5\n");
	free(r.log);
}

/* No line length limit: a 10 KB value (and key) arrive intact, byte for byte. */
static void
test_long_lines(void **state)
{
	const size_t vlen = 10 * 1024, klen = 3000;
	size_t tlen = 0;
	char *text = malloc(klen + vlen + 64);
	char *want_key = malloc(klen + 1), *want_value = malloc(vlen + 1);
	struct recorder r = { 0 };
	struct ini_error err;
	char *bar1, *bar2, *at;
	(void)state;

	assert_non_null(text);
	assert_non_null(want_key);
	assert_non_null(want_value);
	for (size_t i = 0; i < klen; i++)
		want_key[i] = (char)('a' + i % 26);
	want_key[klen] = '\0';
	/* Vary the bytes so a cut or a shifted copy cannot look right. */
	for (size_t i = 0; i < vlen; i++)
		want_value[i] = (char)("0123456789,./#=;: "[i % 17]);
	want_value[0] = 'X';
	want_value[vlen - 1] = 'Z';
	want_value[vlen] = '\0';
	tlen += (size_t)sprintf(text, "short = 1\n%s = ", want_key);
	memcpy(text + tlen, want_value, vlen);
	tlen += vlen;
	tlen += (size_t)sprintf(text + tlen, "\r\nafter = 2\n");

	assert_int_equal(run(text, tlen, &r, &err), 0);
	/* Record: "|short|1@1\n|KEY|VALUE@2\n|after|2@3\n" */
	bar1 = strstr(r.log, "\n|") + 2;
	bar2 = strchr(bar1, '|');
	at = strstr(bar2, "@2\n");
	assert_non_null(bar2);
	assert_non_null(at);
	assert_int_equal((size_t)(bar2 - bar1), klen);
	assert_memory_equal(bar1, want_key, klen);
	assert_int_equal((size_t)(at - bar2 - 1), vlen);
	assert_memory_equal(bar2 + 1, want_value, vlen);
	assert_string_equal(at, "@2\n|after|2@3\n");
	free(r.log);
	free(text);
	free(want_key);
	free(want_value);
}

/* Many long lines of growing length: the line buffer is reused and regrown. */
static void
test_growing_lines(void **state)
{
	char *text = malloc(64 * 1024);
	struct recorder r = { 0 };
	struct ini_error err;
	size_t tlen = 0;
	char *p;
	unsigned int n = 0;
	(void)state;

	assert_non_null(text);
	for (unsigned int l = 1; l <= 40; l++) {
		size_t len = (l * 37) % 900 + 1;

		tlen += (size_t)sprintf(text + tlen, "k%u = ", l);
		memset(text + tlen, 'a' + (int)(l % 26), len);
		tlen += len;
		text[tlen++] = '\n';
	}
	assert_int_equal(run(text, tlen, &r, &err), 0);
	p = r.log;
	for (unsigned int l = 1; l <= 40; l++) {
		size_t len = (l * 37) % 900 + 1;
		char head[32];
		int hl = snprintf(head, sizeof(head), "|k%u|", l);

		if (strncmp(p, head, (size_t)hl) != 0)
			fail_msg("line %u: record starts \"%.40s\", want \"%s\"", l, p, head);
		p += hl;
		for (size_t i = 0; i < len; i++)
			if (p[i] != 'a' + (int)(l % 26))
				fail_msg("line %u: byte %zu is '%c'", l, i, p[i]);
		p += len;
		assert_true(strncmp(p, "@", 1) == 0);
		p = strchr(p, '\n') + 1;
		n++;
	}
	assert_int_equal(n, 40);
	assert_string_equal(p, "");
	free(r.log);
	free(text);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_without_section_callback),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_growing_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
