// SPDX-License-Identifier: MIT
/*
 * fuzz_misc: libFuzzer target for the small parsers. The input up to its
 * first NUL is a Redis URL and a jsonpath (looked up in a fixed document,
 * with the text after the NUL as the query string); the whole input is INI
 * text. Each must succeed with a well-formed result or fail with a message.
 * The whole input is also a string for jsonw, whose text must load with
 * jansson and, for valid UTF-8, be exactly what jansson's dump writes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/ini.h"
#include "hookstream/jsonpath.h"
#include "hookstream/jsonw.h"
#include "hookstream/redis_url.h"
#include "hookstream/utf8.h"
#include "hookstream/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_misc: " __VA_ARGS__);                                \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Shapes the rules walk: nesting, arrays, every scalar type, odd key characters. */
static const char fuzz_doc[] =
	"{\"eventType\": \"PAYMENT\", \"a\": {\"b\": [1, 2.5, {\"c\": \"x\"}], \"d\": null,"
	" \"e\": true, \"f\": false}, \"tokens\": [{\"tokenUniqueReference\": \"DWSPMC1\","
	" \"status\": \"ACTIVE\"}], \"n\": 0.1, \"big\": 1e300, \"tiny\": 5e-324,"
	" \"neg\": -0.0, \"int\": -9223372036854775808, \"k-1\": {\"x:y\": {\"@z\": {\"$w\":"
	" \"deep\"}}}, \"arr\": [[[[\"in\"]]]], \"w\": {\"one\": {}, \"two\": {\"c\": \"2\"}},"
	" \"nul\": \"a\\u0000b\", \"utf\": \"\\u00e9\"}";

static void
fuzz_redis(const char *text, size_t small)
{
	struct redis_url u;
	/* The redacted text is no longer than the URL plus the fixed parts
	 * (default ports written out: up to 16 sentinels or seeds). */
	size_t blen = strlen(text) + 256;
	char *buf = xmalloc(blen), *cut;
	const char *why = NULL;

	memset(&u, 0x5a, sizeof(u));
	if (redis_url_parse(text, &u, &why) != 0) {
		CHECK(why != NULL && why[0] != '\0', "redis_url: failure without a reason");
		CHECK(u.host == NULL && u.path == NULL && u.user == NULL && u.password == NULL &&
			      u.hosts == NULL && u.master == NULL && u.nhosts == 0,
		      "redis_url: failure left strings");
		redis_url_fini(&u);
		free(buf);
		return;
	}
	if (u.kind == REDIS_URL_TCP) {
		CHECK(u.host != NULL && u.host[0] != '\0' && u.path == NULL, "redis_url: TCP host");
		CHECK(u.port >= 1 && u.port <= 65535, "redis_url: port %d", u.port);
	} else if (u.kind == REDIS_URL_SENTINEL || u.kind == REDIS_URL_CLUSTER) {
		CHECK(u.nhosts >= 1 && u.nhosts <= 16 && u.hosts != NULL && u.host == NULL &&
			      u.path == NULL,
		      "redis_url: %s hosts", u.kind == REDIS_URL_CLUSTER ? "cluster" : "sentinel");
		for (size_t i = 0; i < u.nhosts; i++)
			CHECK(u.hosts[i].host != NULL && u.hosts[i].host[0] != '\0' &&
				      u.hosts[i].port >= 1 && u.hosts[i].port <= 65535,
			      "redis_url: host %zu", i);
		CHECK(u.kind == REDIS_URL_CLUSTER ? u.master == NULL && u.db == 0
						  : u.master != NULL && u.master[0] != '\0',
		      "redis_url: master name");
	} else {
		CHECK(u.kind == REDIS_URL_UNIX, "redis_url: kind %d", (int)u.kind);
		CHECK(u.path != NULL && u.path[0] == '/' && u.host == NULL, "redis_url: unix path");
	}
	CHECK(u.db >= 0, "redis_url: db %d", u.db);
	redis_url_redacted(&u, buf, blen);
	CHECK(u.password == NULL || strstr(buf, "***") != NULL, "redacted \"%s\" hides nothing",
	      buf);
	/* Exactly small bytes, so ASan sees a write past them. */
	cut = xmalloc(small);
	redis_url_redacted(&u, cut, small);
	CHECK(strncmp(cut, buf, small - 1) == 0, "cut redaction is not a prefix");
	free(cut);
	free(buf);
	redis_url_fini(&u);
	CHECK(u.host == NULL && u.password == NULL && u.hosts == NULL && u.master == NULL,
	      "redis_url_fini left strings");
	redis_url_fini(NULL);
}

static void
fuzz_jsonpath(const json_t *doc, const char *text, const char *query)
{
	struct jsonpath *p = (struct jsonpath *)&p; /* must be overwritten */
	const char *why = NULL;
	const json_t *v;
	char *s;

	if (jsonpath_compile(text, &p, &why) != 0) {
		CHECK(p == NULL, "jsonpath: failure left a path");
		CHECK(why != NULL && why[0] != '\0', "jsonpath: failure without a reason");
		return;
	}
	CHECK(p != NULL && strcmp(jsonpath_text(p), text) == 0, "jsonpath: text changed");
	CHECK(jsonpath_is_query(p) == (text[0] == '?'), "jsonpath: query flag");
	v = jsonpath_get(p, doc);
	CHECK(!jsonpath_is_query(p) || v == NULL, "jsonpath: query path found a value");
	s = jsonpath_get_text(p, doc, query);
	if (!jsonpath_is_query(p)) {
		bool scalar =
			v != NULL && !json_is_null(v) && !json_is_object(v) && !json_is_array(v);

		CHECK((s != NULL) == scalar, "jsonpath: text %s for a %s", s ? "given" : "missing",
		      scalar ? "scalar" : "non-scalar");
		if (v != NULL && json_is_real(v))
			CHECK(strtod(s, NULL) == json_real_value(v),
			      "jsonpath: \"%s\" does not read back", s);
	}
	free(s);
	/* A path for documents is still a name for the query string. */
	if (query != NULL)
		free(jsonpath_query_param(query, text));
	jsonpath_free(p);
	jsonpath_free(NULL);
}

struct fuzz_ini {
	const char *text;
	size_t len;
	unsigned int lines; /* newlines + 1 */
	unsigned int last_line;
	char *section; /* last header seen, "" before */
};

static bool
fuzz_trimmed(const char *s)
{
	size_t n = strlen(s);

	return strpbrk(s, "\n") == NULL &&
	       (n == 0 || (strchr(" \t\r", s[0]) == NULL && strchr(" \t\r", s[n - 1]) == NULL));
}

static void
fuzz_ini_line(struct fuzz_ini *fi, unsigned int line)
{
	CHECK(line >= 1 && line <= fi->lines, "ini: line %u of %u", line, fi->lines);
	CHECK(line > fi->last_line, "ini: line %u after line %u", line, fi->last_line);
	fi->last_line = line;
}

static int
fuzz_ini_value_cb(void *arg, const char *section, const char *key, const char *value,
		  unsigned int line, struct ini_error *err)
{
	struct fuzz_ini *fi = arg;

	fuzz_ini_line(fi, line);
	CHECK(strcmp(section, fi->section) == 0, "ini: section \"%s\", header was \"%s\"", section,
	      fi->section);
	CHECK(key[0] != '\0' && strchr(key, '=') == NULL && fuzz_trimmed(key), "ini: key \"%s\"",
	      key);
	CHECK(key[0] != '#' && key[0] != ';' && key[0] != '[', "ini: key \"%s\" from a comment",
	      key);
	CHECK(fuzz_trimmed(value), "ini: value \"%s\"", value);
	if (strcmp(key, "stop") == 0) {
		err->line = line;
		snprintf(err->message, sizeof(err->message), "stopped");
		return -ECANCELED;
	}
	return 0;
}

static int
fuzz_ini_section_cb(void *arg, const char *section, unsigned int line, struct ini_error *err)
{
	struct fuzz_ini *fi = arg;

	(void)err;
	fuzz_ini_line(fi, line);
	CHECK(section[0] != '\0' && fuzz_trimmed(section), "ini: section \"%s\"", section);
	free(fi->section);
	fi->section = xstrdup(section);
	return 0;
}

static void
fuzz_ini(const char *text, size_t len)
{
	static const struct ini_handler h = { fuzz_ini_value_cb, fuzz_ini_section_cb };
	struct fuzz_ini fi = { text, len, 1, 0, xstrdup("") };
	struct ini_error err;
	int rc;

	for (size_t i = 0; i < len; i++)
		fi.lines += text[i] == '\n';
	memset(&err, 'x', sizeof(err));
	rc = ini_parse(text, len, &h, &fi, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ECANCELED, "ini: rc %d", rc);
	if (rc == 0)
		CHECK(memchr(text, '\0', len) == NULL, "ini: NUL byte accepted");
	if (rc == -EINVAL) {
		CHECK(err.line >= 1 && err.line <= fi.lines && err.line > fi.last_line,
		      "ini: error on line %u (%u lines, last callback %u)", err.line, fi.lines,
		      fi.last_line);
		CHECK(err.message[0] != '\0' && memchr(err.message, '\0', sizeof(err.message)),
		      "ini: message empty or unterminated");
	}
	free(fi.section);
}

static void
fuzz_jsonw(const char *s, size_t n)
{
	struct jsonw w;
	json_error_t jerr;
	json_t *back;
	size_t len, bad;
	const char *why;
	char *text;

	jsonw_init(&w, 1);
	jsonw_object_begin(&w);
	jsonw_key(&w, "k");
	jsonw_array_begin(&w);
	jsonw_object_begin(&w);
	jsonw_member_strn(&w, "s", s, n);
	jsonw_object_end(&w);
	jsonw_array_end(&w);
	jsonw_member_uint(&w, "n", n);
	jsonw_object_end(&w);
	text = jsonw_take(&w, &len);
	CHECK(strlen(text) == len, "jsonw: length %zu, strlen %zu", len, strlen(text));
	CHECK(utf8_check((const unsigned char *)text, len, &bad, &why), "jsonw: invalid UTF-8");
	back = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
	CHECK(back != NULL, "jsonw: jansson cannot load the output: %s", jerr.text);
	if (utf8_check((const unsigned char *)s, n, &bad, &why)) {
		json_t *str = json_array_get(json_object_get(back, "k"), 0);
		json_t *v = json_object_get(str, "s");
		json_t *orig = json_stringn(s, n);
		char *dump = json_dumps(orig, JSON_ENCODE_ANY | JSON_COMPACT);
		const char *at = strstr(text, "\"s\":");

		CHECK(v != NULL && json_string_length(v) == n &&
			      memcmp(json_string_value(v), s, n) == 0,
		      "jsonw: string does not round-trip");
		CHECK(dump != NULL && at != NULL && strncmp(at + 4, dump, strlen(dump)) == 0,
		      "jsonw: escaping differs from jansson's: %s vs %s", at, dump);
		free(dump);
		json_decref(orig);
	}
	json_decref(back);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *doc;
	char *buf = xmalloc(size + 1);
	const char *query = NULL;

	if (doc == NULL) {
		json_error_t jerr;

		doc = json_loads(fuzz_doc, JSON_ALLOW_NUL, &jerr);
		CHECK(doc != NULL, "fixed document: %s", jerr.text);
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (strlen(buf) < size)
		query = buf + strlen(buf) + 1;

	fuzz_redis(buf, 1 + size % 64);
	fuzz_jsonpath(doc, buf, query);
	fuzz_ini((const char *)data, size);
	fuzz_jsonw((const char *)data, size);
	free(buf);
	return 0;
}
