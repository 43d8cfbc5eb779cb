// SPDX-License-Identifier: MIT
/*
 * test_config: unit tests for the config loader. Configs are loaded from text
 * in memory with explicit envp arrays (never the test's own environment), and
 * errors are compared whole, FILE:LINE included. One test holds the key table
 * and conf/hookstream.conf together: a key missing from the file, or documented
 * with another default, fails it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/config.h"
#include "hookstream/ini.h"

#ifndef HS_SOURCE_ROOT
#error "HS_SOURCE_ROOT must name the source tree"
#endif

#define CONF_PATH HS_SOURCE_ROOT "/conf/hookstream.conf"
#define NAME	  "t.conf"
/* The smallest text that loads: an allowlist and one route. */
#define BASE "allow = 10.0.0.0/8\n[route /x]\n"

static const char allow_empty_msg[] =
	"allow: the allowlist is empty, so every notification would be refused; set allow (or "
	"HOOKSTREAM_ALLOW) to the sender's addresses or CIDR prefixes";

static char *const no_env[] = { NULL };

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct config *
load_ok(const char *text, char *const *envp)
{
	struct config_error err;
	struct config *cfg = (struct config *)(uintptr_t)1;
	int rc = config_load_text(NAME, text, strlen(text), envp, &cfg, &err);

	if (rc != 0)
		fail_msg("load of\n%s---\nret %d, want 0: %s", text, rc, err.message);
	assert_non_null(cfg);
	return cfg;
}

/* Load must fail with exactly want (or, with prefix set, a message starting with it). */
static void
load_fails(const char *text, char *const *envp, const char *want, bool prefix)
{
	struct config_error err;
	struct config *cfg = (struct config *)(uintptr_t)1;
	int rc;

	memset(&err, 'x', sizeof(err));
	rc = config_load_text(NAME, text, strlen(text), envp, &cfg, &err);
	if (rc != -EINVAL) {
		if (rc == 0)
			config_free(cfg);
		fail_msg("load of\n%s---\nret %d, want %d (-EINVAL); message \"%s\"", text, rc,
			 -EINVAL, rc == 0 ? "" : err.message);
	}
	if (cfg != NULL)
		fail_msg("load of\n%s---\nfailed but *out was not set to NULL", text);
	if (memchr(err.message, '\0', sizeof(err.message)) == NULL)
		fail_msg("load of\n%s---\nmessage not NUL-terminated", text);
	if (prefix ? strncmp(err.message, want, strlen(want)) != 0 : strcmp(err.message, want) != 0)
		fail_msg("load of\n%s---\nmessage:\n  \"%s\"\nwant%s:\n  \"%s\"", text, err.message,
			 prefix ? " (prefix)" : "", want);
}

static const struct config_key *
key_named(const char *name)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	fail_msg("no key '%s' in config_keys[]", name);
	return NULL;
}

static uint64_t
uint_field(const struct config *cfg, const struct config_key *k)
{
	uint64_t v;

	memcpy(&v, (const char *)cfg + k->offset, sizeof(v));
	return v;
}

static const char *
text_field(const struct config *cfg, const struct config_key *k)
{
	const char *s;

	memcpy(&s, (const char *)cfg + k->offset, sizeof(s));
	return s;
}

/* --- the built-in default ------------------------------------------------ */

static void
test_builtin_text_is_the_file(void **state)
{
	size_t len;
	char *file = read_file(CONF_PATH, &len);
	(void)state;

	if (config_default_text_len != len)
		fail_msg("config_default_text_len is %zu, conf/hookstream.conf has %zu bytes",
			 config_default_text_len, len);
	assert_memory_equal(config_default_text, file, len);
	free(file);
}

static void
test_builtin_default_loads(void **state)
{
	static char *const env[] = { (char *)"HOOKSTREAM_ALLOW=127.0.0.1", NULL };
	static const struct {
		const char *path, *category;
	} routes[] = {
		{ "/webhook", NULL },
		{ "/webhook/payment", "payment.status" },
		{ "/webhook/token", "token.status" },
		{ "/webhook/card", "card.metadata" },
		{ "/webhook/vts/panMetadata", "card.metadata" },
		{ "/webhook/fpx", "payment.status" },
	};
	struct config_error err;
	struct config *cfg;
	const char *cats[8];
	size_t ncats;
	(void)state;

	if (config_load(NULL, env, &cfg, &err) != 0)
		fail_msg("built-in default with HOOKSTREAM_ALLOW: %s", err.message);
	assert_string_equal(cfg->source, CONFIG_BUILTIN_NAME);
	assert_string_equal(cfg->listen, "0.0.0.0:8080");
	assert_string_equal(cfg->admin_listen, "0.0.0.0:9090");
	assert_string_equal(cfg->redis_url_text, "redis://127.0.0.1:6379");
	assert_int_equal(cfg->redis.kind, REDIS_URL_TCP);
	assert_string_equal(cfg->redis.host, "127.0.0.1");
	assert_int_equal(cfg->redis.port, 6379);
	assert_int_equal(cfg->redis.db, 0);
	assert_null(cfg->redis.user);
	assert_null(cfg->redis.password);
	assert_string_equal(cfg->allow_text, "127.0.0.1");
	assert_int_equal(cfg->allow.count, 1);
	assert_true(access_allows_str(&cfg->allow, "127.0.0.1"));
	assert_false(access_allows_str(&cfg->allow, "127.0.0.2"));
	assert_string_equal(cfg->stream_prefix, "paynet");
	assert_int_equal(cfg->stream_maxlen, 1000000);
	assert_int_equal(cfg->dedup_ttl, 604800);
	assert_string_equal(cfg->groups_text, "");
	assert_int_equal(cfg->ngroups, 0);
	assert_null(cfg->groups);
	assert_int_equal(cfg->max_body, 1048576);
	assert_int_equal(cfg->max_header, 16384);
	assert_int_equal(cfg->request_timeout, 30);
	assert_int_equal(cfg->publish_timeout, 5000);
	assert_int_equal(cfg->retry_after, 5);
	assert_int_equal(cfg->shutdown_timeout, 10);
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg->log_format, LOG_FORMAT_JSON);
	assert_string_equal(
		cfg->type_fields,
		"eventType, event_type, EventType, type, event, EventCode, msgType, "
		"fpx_msgType, Notification.EventInfo.EventCode, Notification.EventCode, "
		"BusMsg.AppHdr.MsgDefIdr, ?eventType");

	assert_int_equal(cfg->nroutes, HS_ARRAY_LEN(routes));
	for (size_t i = 0; i < HS_ARRAY_LEN(routes); i++) {
		assert_string_equal(cfg->routes[i].path, routes[i].path);
		if (routes[i].category == NULL)
			assert_null(cfg->routes[i].category);
		else
			assert_string_equal(cfg->routes[i].category, routes[i].category);
	}
	assert_non_null(cfg->rules);
	ncats = classify_categories(cfg->rules, cats, HS_ARRAY_LEN(cats));
	assert_int_equal(ncats, 3);
	assert_string_equal(cats[0], "payment.status");
	assert_string_equal(cats[1], "token.status");
	assert_string_equal(cats[2], "card.metadata");
	config_free(cfg);
}

/* Reading the shipped file from disk gives the same settings as the built-in text. */
static void
test_shipped_file_loads(void **state)
{
	static char *const env[] = { (char *)"HOOKSTREAM_ALLOW=192.0.2.0/24", NULL };
	struct config_error err;
	struct config *file, *builtin;
	(void)state;

	if (config_load(CONF_PATH, env, &file, &err) != 0)
		fail_msg("%s: %s", CONF_PATH, err.message);
	if (config_load(NULL, env, &builtin, &err) != 0)
		fail_msg("built-in: %s", err.message);
	assert_string_equal(file->source, CONF_PATH);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type == CONFIG_UINT)
			assert_int_equal(uint_field(file, k), uint_field(builtin, k));
		else if (k->type != CONFIG_LEVEL && k->type != CONFIG_FORMAT)
			assert_string_equal(text_field(file, k), text_field(builtin, k));
	}
	assert_int_equal(file->nroutes, builtin->nroutes);
	config_free(file);
	config_free(builtin);
}

static void
test_builtin_without_allow_fails(void **state)
{
	static char *const other_env[] = { (char *)"PATH=/usr/bin", (char *)"HOME=/root", NULL };
	char *const *envs[] = { NULL, no_env, other_env };
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(envs); i++) {
		struct config_error err;
		struct config *cfg = NULL;
		char want[600];
		int rc = config_load(NULL, envs[i], &cfg, &err);

		/* the line of "allow =" in conf/hookstream.conf */
		const char *at = strstr(config_default_text, "\nallow =\n");
		unsigned int line = 2;

		assert_non_null(at);
		for (const char *c = config_default_text; c < at; c++)
			line += *c == '\n';
		snprintf(want, sizeof(want), "%s:%u: %s", CONFIG_BUILTIN_NAME, line,
			 allow_empty_msg);
		assert_int_equal(rc, -EINVAL);
		assert_null(cfg);
		assert_string_equal(err.message, want);
	}
}

/* --- the key table and the documentation --------------------------------- */

struct doc_key {
	char key[64];
	char value[1024];
	unsigned int line;
};

struct doc_scan {
	struct doc_key keys[64];
	size_t n;
	int overflow;
};

static int
doc_value_cb(void *arg, const char *section, const char *key, const char *value, unsigned int line,
	     struct ini_error *err)
{
	struct doc_scan *s = arg;

	(void)err;
	if (section[0] != '\0')
		return 0;
	if (s->n == HS_ARRAY_LEN(s->keys)) {
		s->overflow = 1;
		return 0;
	}
	snprintf(s->keys[s->n].key, sizeof(s->keys[s->n].key), "%s", key);
	snprintf(s->keys[s->n].value, sizeof(s->keys[s->n].value), "%s", value);
	s->keys[s->n].line = line;
	s->n++;
	return 0;
}

/* The text of line number line (1-based) in text, without its newline. */
static void
doc_line(const char *text, size_t len, unsigned int line, char *out, size_t outlen)
{
	const char *p = text, *end = text + len;
	const char *eol;

	for (unsigned int l = 1; l < line && p < end; l++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		p = eol ? eol + 1 : end;
	}
	eol = memchr(p, '\n', (size_t)(end - p));
	snprintf(out, outlen, "%.*s", (int)((eol ? eol : end) - p), p);
}

/*
 * Check that text documents every key of the table, once, before the first
 * section, as "key = <default>" right below a "#" comment, and nothing else.
 * Returns the number of problems; each is appended to report, one per line.
 */
static int
doc_problems(const char *text, size_t len, char *report, size_t rlen)
{
	static const struct ini_handler h = { .on_value = doc_value_cb };
	struct doc_scan *scan = calloc(1, sizeof(*scan));
	struct ini_error ierr;
	size_t used = 0;
	int problems = 0;

#define DOC_PROBLEM(...)                                                                           \
	do {                                                                                       \
		problems++;                                                                        \
		if (used < rlen)                                                                   \
			used += (size_t)snprintf(report + used, rlen - used, __VA_ARGS__);         \
	} while (0)

	assert_non_null(scan);
	report[0] = '\0';
	if (ini_parse(text, len, &h, scan, &ierr) != 0)
		DOC_PROBLEM("line %u: %s\n", ierr.line, ierr.message);
	if (scan->overflow)
		DOC_PROBLEM("more than %zu keys\n", HS_ARRAY_LEN(scan->keys));
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		const struct doc_key *found = NULL;
		unsigned int count = 0;

		for (size_t j = 0; j < scan->n; j++) {
			if (strcmp(scan->keys[j].key, k->name) == 0) {
				found = found ? found : &scan->keys[j];
				count++;
			}
		}
		if (found == NULL) {
			DOC_PROBLEM("key '%s' is not documented (want a line \"%s = %s\")\n",
				    k->name, k->name, k->def);
			continue;
		}
		if (count > 1)
			DOC_PROBLEM("key '%s' appears %u times\n", k->name, count);
		if (strcmp(found->value, k->def) != 0)
			DOC_PROBLEM("line %u: %s = '%s', but the table's default is '%s'\n",
				    found->line, k->name, found->value, k->def);
		if (found->line > 1) {
			char prev[256];

			doc_line(text, len, found->line - 1, prev, sizeof(prev));
			if (prev[0] != '#')
				DOC_PROBLEM("line %u: key '%s' has no comment above it (line %u is "
					    "\"%s\")\n",
					    found->line, k->name, found->line - 1, prev);
		} else {
			DOC_PROBLEM("line 1: key '%s' has no comment above it\n", k->name);
		}
	}
	for (size_t j = 0; j < scan->n; j++) {
		bool known = false;

		for (size_t i = 0; i < config_nkeys; i++)
			known = known || strcmp(scan->keys[j].key, config_keys[i].name) == 0;
		if (!known)
			DOC_PROBLEM("line %u: '%s' is not a key of the table\n", scan->keys[j].line,
				    scan->keys[j].key);
	}
#undef DOC_PROBLEM
	free(scan);
	return problems;
}

static void
test_every_key_documented_with_its_default(void **state)
{
	char report[4096];
	size_t len;
	char *file = read_file(CONF_PATH, &len);
	int n;
	(void)state;

	n = doc_problems(file, len, report, sizeof(report));
	if (n != 0)
		fail_msg("conf/hookstream.conf and config_keys[] disagree (%d problems):\n%s", n,
			 report);
	free(file);
}

/* A documentation text generated from the table, with one thing wrong. */
static char *
doc_generate(const char *skip, const char *bad_default, const char *no_comment, const char *extra)
{
	size_t cap = 16384, used = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (skip != NULL && strcmp(k->name, skip) == 0)
			continue;
		if (no_comment == NULL || strcmp(k->name, no_comment) != 0)
			used += (size_t)snprintf(text + used, cap - used, "# %s\n", k->doc);
		used += (size_t)snprintf(text + used, cap - used, "%s = %s\n\n", k->name,
					 bad_default && strcmp(k->name, bad_default) == 0 ? "42"
											  : k->def);
		assert_true(used < cap);
	}
	if (extra != NULL)
		used += (size_t)snprintf(text + used, cap - used, "# extra\n%s = 1\n", extra);
	used += (size_t)snprintf(text + used, cap - used, "[route /x]\nlisten = 1\n");
	assert_true(used < cap);
	return text;
}

/* The check above must be able to fail: feed it broken documentation. */
static void
test_doc_check_catches_drift(void **state)
{
	static const struct {
		const char *skip, *bad, *nocomment, *extra;
		const char *want;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, NULL },
		{ "dedup_ttl", NULL, NULL, NULL, "key 'dedup_ttl' is not documented" },
		{ "allow", NULL, NULL, NULL, "key 'allow' is not documented" },
		{ NULL, "max_body", NULL, NULL, "max_body = '42', but the table's default is" },
		{ NULL, "allow", NULL, NULL, "allow = '42', but the table's default is ''" },
		{ NULL, NULL, "retry_after", NULL, "key 'retry_after' has no comment above it" },
		{ NULL, NULL, NULL, "max_bodies", "'max_bodies' is not a key of the table" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char *text = doc_generate(cases[i].skip, cases[i].bad, cases[i].nocomment,
					  cases[i].extra);
		char report[4096];
		int n = doc_problems(text, strlen(text), report, sizeof(report));

		if (cases[i].want == NULL) {
			if (n != 0)
				fail_msg("case %zu: generated documentation has problems:\n%s", i,
					 report);
		} else if (n != 1 || strstr(report, cases[i].want) == NULL) {
			print_error("generated text:\n%s---\n", text);
			fail_msg("case %zu: %d problems:\n%swant exactly one containing \"%s\"", i,
				 n, report, cases[i].want);
		}
		free(text);
	}
}

/* A file that sets nothing gives exactly the table's defaults. */
static void
test_table_defaults_applied(void **state)
{
	struct config *cfg = load_ok(BASE, no_env);
	(void)state;

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		switch (k->type) {
		case CONFIG_UINT: {
			uint64_t want = strtoull(k->def, NULL, 10);

			if (uint_field(cfg, k) != want)
				fail_msg("%s: %" PRIu64 ", want the default %" PRIu64, k->name,
					 uint_field(cfg, k), want);
			assert_true(want >= k->min && want <= k->max);
			break;
		}
		case CONFIG_LEVEL:
			assert_string_equal(k->def, "info");
			assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
			break;
		case CONFIG_FORMAT:
			assert_string_equal(k->def, "json");
			assert_int_equal(cfg->log_format, LOG_FORMAT_JSON);
			break;
		case CONFIG_CIDRS:
			/* allow is the one set by the test; others keep their default. */
			assert_string_equal(text_field(cfg, k),
					    strcmp(k->name, "allow") == 0 ? "10.0.0.0/8" : k->def);
			break;
		default:
			if (text_field(cfg, k) == NULL || strcmp(text_field(cfg, k), k->def) != 0)
				fail_msg("%s: '%s', want the default '%s'", k->name,
					 text_field(cfg, k) ? text_field(cfg, k) : "(null)",
					 k->def);
		}
	}
	assert_string_equal(cfg->source, NAME);
	config_free(cfg);
}

/* --- keys in the file ---------------------------------------------------- */

static void
test_values_from_file(void **state)
{
	static const char text[] = "listen = [::1]:8081\n"
				   "admin_listen = 127.0.0.1:9\n"
				   "redis_url = redis://user:p%40ss@redis.internal:6380/2\n"
				   "allow = 10.0.0.0/8, 2001:db8::/32, 192.0.2.7\n"
				   "stream_prefix = hs:pn_1.x-y\n"
				   "stream_maxlen = 0\n"
				   "dedup_ttl = 31536000\n"
				   "groups = audit, billing.v2,, ops-team:1\tbi\n"
				   "max_body = 67108864\n"
				   "max_header = 1024\n"
				   "request_timeout = 3600\n"
				   "publish_timeout = 10\n"
				   "retry_after = 0\n"
				   "shutdown_timeout = 0\n"
				   "log_level = debug\n"
				   "log_format = text\n"
				   "type_fields = kind, meta.kind, *.t[0], ?ev\n"
				   "[route /in]\n";
	static const char *const groups[] = { "audit", "billing.v2", "ops-team:1", "bi" };
	struct config *cfg = load_ok(text, no_env);
	(void)state;

	assert_string_equal(cfg->listen, "[::1]:8081");
	assert_string_equal(cfg->admin_listen, "127.0.0.1:9");
	assert_string_equal(cfg->redis_url_text, "redis://user:p%40ss@redis.internal:6380/2");
	assert_string_equal(cfg->redis.host, "redis.internal");
	assert_int_equal(cfg->redis.port, 6380);
	assert_int_equal(cfg->redis.db, 2);
	assert_string_equal(cfg->redis.user, "user");
	assert_string_equal(cfg->redis.password, "p@ss");
	assert_int_equal(cfg->allow.count, 3);
	assert_string_equal(cfg->stream_prefix, "hs:pn_1.x-y");
	assert_int_equal(cfg->stream_maxlen, 0);
	assert_int_equal(cfg->dedup_ttl, 31536000);
	assert_int_equal(cfg->ngroups, HS_ARRAY_LEN(groups));
	for (size_t i = 0; i < HS_ARRAY_LEN(groups); i++)
		assert_string_equal(cfg->groups[i], groups[i]);
	assert_int_equal(cfg->max_body, 67108864);
	assert_int_equal(cfg->max_header, 1024);
	assert_int_equal(cfg->request_timeout, 3600);
	assert_int_equal(cfg->publish_timeout, 10);
	assert_int_equal(cfg->retry_after, 0);
	assert_int_equal(cfg->shutdown_timeout, 0);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->log_format, LOG_FORMAT_TEXT);
	assert_string_equal(cfg->type_fields, "kind, meta.kind, *.t[0], ?ev");
	config_free(cfg);
}

static void
test_log_levels(void **state)
{
	static const struct {
		const char *text;
		enum log_level level;
	} cases[] = {
		{ "debug", LOG_LEVEL_DEBUG },
		{ "info", LOG_LEVEL_INFO },
		{ "warn", LOG_LEVEL_WARN },
		{ "error", LOG_LEVEL_ERROR },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char text[128];
		struct config *cfg;

		snprintf(text, sizeof(text), "log_level = %s\n" BASE, cases[i].text);
		cfg = load_ok(text, no_env);
		if (cfg->log_level != cases[i].level)
			fail_msg("log_level = %s: got %d, want %d", cases[i].text,
				 (int)cfg->log_level, (int)cases[i].level);
		config_free(cfg);
	}
}

static void
test_unknown_key(void **state)
{
	(void)state;
	load_fails("allow = 10.0.0.0/8\n\n# comment\nalow = 10.0.0.0/8\n[route /x]\n", no_env,
		   NAME ":4: unknown key 'alow'", false);
	/* Case matters: keys are lower case. */
	load_fails("Listen = 0.0.0.0:1\n" BASE, no_env, NAME ":1: unknown key 'Listen'", false);
	/* Routes and status are sections, not keys. */
	load_fails("route = /x\n" BASE, no_env, NAME ":1: unknown key 'route'", false);
}

static void
test_key_given_twice(void **state)
{
	(void)state;
	load_fails("listen = 0.0.0.0:1\n# c\nallow = 10.0.0.0/8\n\nlisten = 0.0.0.0:2\n"
		   "[route /x]\n",
		   no_env, NAME ":5: listen: given twice (first on line 1)", false);
	/* Same value twice is still twice. */
	load_fails("\n\n\nmax_body = 5\nmax_body = 5\n" BASE, no_env,
		   NAME ":5: max_body: given twice (first on line 4)", false);
	/* An empty value counts as given. */
	load_fails("groups =\nallow = 10.0.0.0/8\ngroups = a\n[route /x]\n", no_env,
		   NAME ":3: groups: given twice (first on line 1)", false);
}

static void
test_bad_numbers(void **state)
{
	static const char *const bad[] = {
		"abc",
		"-1",
		"1.5",
		"",
		"+5",
		"0x10",
		"1e3",
		"5 5",
		"5s",
		"99999999999999999999999",
		"18446744073709551616",
		"18446744073709551615",
		"99999999999999999999",
	};
	(void)state;

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		char extra[3][32];

		if (k->type != CONFIG_UINT)
			continue;
		/* Just outside the bounds. */
		snprintf(extra[0], sizeof(extra[0]), "%" PRIu64, k->max + 1);
		snprintf(extra[1], sizeof(extra[1]), "%" PRIu64, k->min - 1);
		snprintf(extra[2], sizeof(extra[2]), "%" PRIu64, k->max * 10);
		for (size_t j = 0; j < HS_ARRAY_LEN(bad) + 3; j++) {
			const char *v =
				j < HS_ARRAY_LEN(bad) ? bad[j] : extra[j - HS_ARRAY_LEN(bad)];
			char text[256], want[256];

			if (j == HS_ARRAY_LEN(bad) + 1 && k->min == 0)
				continue; /* 0 - 1 wraps; covered by "-1" */
			snprintf(text, sizeof(text), "allow = 10.0.0.0/8\n%s = %s\n[route /x]\n",
				 k->name, v);
			snprintf(want, sizeof(want),
				 NAME ":2: %s: expected a whole number from %" PRIu64 " to %" PRIu64
				      ", got '%s'",
				 k->name, k->min, k->max, v);
			load_fails(text, no_env, want, false);
		}
		/* The bounds themselves are accepted. */
		for (int b = 0; b < 2; b++) {
			uint64_t want = b ? k->max : k->min;
			char text[256];
			struct config *cfg;

			/* Trimming by age needs trimming by count switched off. */
			snprintf(text, sizeof(text), "%s = %" PRIu64 "\n%s" BASE, k->name, want,
				 strcmp(k->name, "stream_retention") == 0 ? "stream_maxlen = 0\n"
									  : "");
			cfg = load_ok(text, no_env);
			if (uint_field(cfg, k) != want)
				fail_msg("%s = %" PRIu64 ": stored %" PRIu64, k->name, want,
					 uint_field(cfg, k));
			config_free(cfg);
		}
	}
}

static void
test_bad_values(void **state)
{
	static const struct {
		const char *line;
		const char *want;
	} cases[] = {
		{ "log_level = verbose",
		  "log_level: expected debug, info, warn or error, got 'verbose'" },
		{ "log_level = INFO",
		  "log_level: expected debug, info, warn or error, got 'INFO'" },
		{ "log_level =", "log_level: expected debug, info, warn or error, got ''" },
		{ "log_format = xml", "log_format: expected json or text, got 'xml'" },
		{ "stream_retention = 60",
		  "stream_retention: trim by age or by count, not both; set stream_maxlen = 0 to "
		  "keep events for stream_retention seconds" },
		{ "stream_prefix =",
		  "stream_prefix: expected 1-64 letters, digits or . _ - : (no { }: each "
		  "stream's keys carry their own Cluster hash tag), got ''" },
		{ "stream_prefix = pay net",
		  "stream_prefix: expected 1-64 letters, digits or . _ - : (no { }: each "
		  "stream's keys carry their own Cluster hash tag), got 'pay net'" },
		{ "stream_prefix = {paynet}",
		  "stream_prefix: expected 1-64 letters, digits or . _ - : (no { }: each "
		  "stream's keys carry their own Cluster hash tag), got '{paynet}'" },
		{ "stream_prefix = a*",
		  "stream_prefix: expected 1-64 letters, digits or . _ - : (no { }: each "
		  "stream's keys carry their own Cluster hash tag), got 'a*'" },
		{ "groups = ok, bad/name",
		  "groups: group names use letters, digits, '.', '_', '-', ':'" },
		{ "allow = 10.1.2.3/8",
		  "allow: '10.1.2.3/8': host bits set below the prefix length; did you mean "
		  "10.0.0.0/8?" },
		{ "allow = 10.0.0.0/8, example.com",
		  "allow: 'example.com': not an IPv4 or IPv6 address" },
		{ "type_fields = a..b", "type_fields: bad path 'a..b': expected a key name "
					"(letters, digits, _ - : @ $)" },
		{ "type_fields = type, x.", "type_fields: bad path 'x.': path ends with '.'" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char text[256], want[512];

		snprintf(text, sizeof(text), "# first\n%s\n%s", cases[i].line,
			 strncmp(cases[i].line, "allow", 5) == 0 ? "[route /x]\n" : BASE);
		snprintf(want, sizeof(want), NAME ":2: %s", cases[i].want);
		load_fails(text, no_env, want, false);
	}
}

/* A 64-byte prefix is the longest accepted. */
static void
test_stream_prefix_length(void **state)
{
	char text[256], want[256], p[70];
	struct config *cfg;
	(void)state;

	memset(p, 'p', 64);
	p[64] = '\0';
	snprintf(text, sizeof(text), "stream_prefix = %s\n" BASE, p);
	cfg = load_ok(text, no_env);
	assert_string_equal(cfg->stream_prefix, p);
	config_free(cfg);

	p[64] = 'p';
	p[65] = '\0';
	snprintf(text, sizeof(text), "stream_prefix = %s\n" BASE, p);
	snprintf(want, sizeof(want),
		 NAME ":1: stream_prefix: expected 1-64 letters, digits or . _ - : (no { }: each "
		      "stream's keys carry their own Cluster hash tag), got '%s'",
		 p);
	load_fails(text, no_env, want, false);
}

/* --- addresses ----------------------------------------------------------- */

static void
test_parse_address(void **state)
{
	static const char port_msg[] = "port must be a number from 1 to 65535";
	static const char v4_msg[] = "host must be a numeric IPv4 address (IPv6 as [::1]:port)";
	static const char v6_msg[] = "host must be a numeric IPv6 address inside [ ]";
	static const struct {
		const char *text;
		const char *host; /* NULL: invalid */
		int port;
		const char *why;
	} cases[] = {
		{ "0.0.0.0:8080", "0.0.0.0", 8080, NULL },
		{ "127.0.0.1:1", "127.0.0.1", 1, NULL },
		{ "192.0.2.1:65535", "192.0.2.1", 65535, NULL },
		{ "[::1]:9", "::1", 9, NULL },
		{ "[::]:8080", "::", 8080, NULL },
		{ "[2001:db8::1]:443", "2001:db8::1", 443, NULL },
		{ "127.0.0.1:0", NULL, 0, port_msg },
		{ "127.0.0.1:65536", NULL, 0, port_msg },
		{ "127.0.0.1:123456", NULL, 0, port_msg },
		{ "127.0.0.1:99999", NULL, 0, port_msg },
		{ "127.0.0.1:-1", NULL, 0, port_msg },
		{ "127.0.0.1:+80", NULL, 0, port_msg },
		{ "127.0.0.1:8o", NULL, 0, port_msg },
		{ "127.0.0.1: 80", NULL, 0, port_msg },
		{ "127.0.0.1:", NULL, 0, port_msg },
		{ "[::1]:", NULL, 0, port_msg },
		{ "[::1]:0", NULL, 0, port_msg },
		{ "127.0.0.1", NULL, 0, "expected host:port" },
		{ "", NULL, 0, "expected host:port" },
		{ "[::1]", NULL, 0, "expected [IPv6]:port" },
		{ "[::1]9", NULL, 0, "expected [IPv6]:port" },
		{ "[::1:80", NULL, 0, "expected [IPv6]:port" },
		{ "localhost:8080", NULL, 0, v4_msg },
		{ "example.com:80", NULL, 0, v4_msg },
		{ ":8080", NULL, 0, v4_msg },
		{ "::1:80", NULL, 0, v4_msg },
		{ "1.2.3:80", NULL, 0, v4_msg },
		{ "[127.0.0.1]:80", NULL, 0, v6_msg },
		{ "[localhost]:80", NULL, 0, v6_msg },
		{ "[]:80", NULL, 0, v6_msg },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char *host = (char *)"untouched";
		const char *why = NULL;
		int port = -1;
		int rc = config_parse_address(cases[i].text, &host, &port, &why);

		if (cases[i].host != NULL) {
			if (rc != 0)
				fail_msg("\"%s\": ret %d (%s), want 0", cases[i].text, rc,
					 why ? why : "");
			if (strcmp(host, cases[i].host) != 0 || port != cases[i].port)
				fail_msg("\"%s\": got host \"%s\" port %d, want \"%s\" %d",
					 cases[i].text, host, port, cases[i].host, cases[i].port);
			free(host);
		} else {
			if (rc != -EINVAL)
				fail_msg("\"%s\": ret %d, want -EINVAL", cases[i].text, rc);
			if (host != NULL)
				fail_msg("\"%s\": *host not NULL after an error", cases[i].text);
			if (why == NULL || strcmp(why, cases[i].why) != 0)
				fail_msg("\"%s\": why \"%s\", want \"%s\"", cases[i].text,
					 why ? why : "(null)", cases[i].why);
		}
	}
}

static void
test_listen_in_config(void **state)
{
	static const char *const keys[] = { "listen", "admin_listen" };
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(keys); i++) {
		char text[256], want[512];
		struct config *cfg;

		snprintf(text, sizeof(text), "%s = [::1]:9\n" BASE, keys[i]);
		cfg = load_ok(text, no_env);
		assert_string_equal(text_field(cfg, key_named(keys[i])), "[::1]:9");
		config_free(cfg);

		snprintf(text, sizeof(text), "\n%s = 127.0.0.1:0\n" BASE, keys[i]);
		snprintf(want, sizeof(want),
			 NAME ":2: %s: port must be a number from 1 to 65535, got '127.0.0.1:0'",
			 keys[i]);
		load_fails(text, no_env, want, false);

		snprintf(text, sizeof(text), "%s = localhost:8080\n" BASE, keys[i]);
		snprintf(want, sizeof(want),
			 NAME ":1: %s: host must be a numeric IPv4 address (IPv6 as [::1]:port), "
			      "got 'localhost:8080'",
			 keys[i]);
		load_fails(text, no_env, want, false);

		snprintf(text, sizeof(text), "%s = 0.0.0.0\n" BASE, keys[i]);
		snprintf(want, sizeof(want), NAME ":1: %s: expected host:port, got '0.0.0.0'",
			 keys[i]);
		load_fails(text, no_env, want, false);
	}
}

/* --- redis_url ----------------------------------------------------------- */

static void
test_redis_url_errors_hide_password(void **state)
{
	static const struct {
		const char *url;
		const char *why;
	} cases[] = {
		{ "redis://:s3cretpw@h:0", "port must be a number from 1 to 65535" },
		{ "redis://app:s3cretpw@h/x", "database must be a number (redis://host:port/0)" },
		{ "rediss://:s3cretpw@h:6379",
		  "rediss:// (TLS to Redis) is not supported by hiredis 0.14" },
		{ "redis://:s3cretpw%zz@h", "bad percent-escape in password" },
		{ "redis://:s3cretpw%00@h", "bad percent-escape in password" },
		{ "redis://s3cretpw@h", "credentials must be [user]:password@" },
		{ "http://:s3cretpw@h", "expected redis://host:port[/db], unix:///path or "
					"redis+sentinel://host:port,.../master" },
		{ "redis://:s3cretpw@", "missing host" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char text[256], want[512], envvar[256];
		char *env[] = { envvar, NULL };
		struct config_error err;
		struct config *cfg;

		snprintf(text, sizeof(text), "\n\nredis_url = %s\n" BASE, cases[i].url);
		snprintf(want, sizeof(want), NAME ":3: redis_url: %s", cases[i].why);
		load_fails(text, no_env, want, false);

		snprintf(envvar, sizeof(envvar), "HOOKSTREAM_REDIS_URL=%s", cases[i].url);
		snprintf(want, sizeof(want), "HOOKSTREAM_REDIS_URL: redis_url: %s", cases[i].why);
		load_fails(BASE, env, want, false);

		/* Belt and braces: whatever the message, never the secret. */
		assert_int_equal(config_load_text(NAME, text, strlen(text), no_env, &cfg, &err),
				 -EINVAL);
		if (strstr(err.message, "s3cret") != NULL)
			fail_msg("\"%s\": message shows the password: %s", cases[i].url,
				 err.message);
	}
}

static void
test_redis_url_unix(void **state)
{
	struct config *cfg = load_ok("redis_url = unix:///run/redis/r.sock?db=4\n" BASE, no_env);
	(void)state;

	assert_int_equal(cfg->redis.kind, REDIS_URL_UNIX);
	assert_string_equal(cfg->redis.path, "/run/redis/r.sock");
	assert_int_equal(cfg->redis.db, 4);
	config_free(cfg);
}

/* --- environment --------------------------------------------------------- */

static void
test_env_overrides_file(void **state)
{
	static const char text[] = "listen = 0.0.0.0:1\n"
				   "groups = a, b\n"
				   "max_body = 100\n"
				   "log_level = error\n"
				   "stream_prefix = file\n"
				   "allow = 10.0.0.0/8\n"
				   "[route /x]\n";
	static char *const env[] = {
		(char *)"PATH=/usr/bin:/bin",
		(char *)"HOOKSTREAM_LISTEN=[::1]:2",
		(char *)"HOOKSTREAM_GROUPS=",
		(char *)"HOOKSTREAM_MAX_BODY=200",
		(char *)"HOOKSTREAM_LOG_LEVEL=debug",
		(char *)"HOOKSTREAM_LOG_FORMAT=text",
		(char *)"HOOKSTREAM_ALLOW=192.0.2.0/24,::1",
		(char *)"HOOKSTREAM_REDIS_URL=unix:///tmp/r.sock",
		(char *)"HOOKSTREAMX=ignored, not our prefix",
		(char *)"NOT_HOOKSTREAM_FOO=1",
		(char *)"HOOKSTREAM_NOEQUALS",
		NULL,
	};
	struct config *cfg = load_ok(text, env);
	(void)state;

	assert_string_equal(cfg->listen, "[::1]:2");
	assert_string_equal(cfg->groups_text, "");
	assert_int_equal(cfg->ngroups, 0);
	assert_int_equal(cfg->max_body, 200);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->log_format, LOG_FORMAT_TEXT);
	/* Not overridden: the file's value stays. */
	assert_string_equal(cfg->stream_prefix, "file");
	assert_string_equal(cfg->allow_text, "192.0.2.0/24,::1");
	assert_int_equal(cfg->allow.count, 2);
	assert_false(access_allows_str(&cfg->allow, "10.0.0.1"));
	assert_true(access_allows_str(&cfg->allow, "192.0.2.9"));
	assert_int_equal(cfg->redis.kind, REDIS_URL_UNIX);
	assert_string_equal(cfg->redis.path, "/tmp/r.sock");
	config_free(cfg);
}

/* Without a file value the environment still applies over the table default. */
static void
test_env_over_default(void **state)
{
	static char *const env[] = { (char *)"HOOKSTREAM_GROUPS=g1,g2",
				     (char *)"HOOKSTREAM_TYPE_FIELDS=kind",
				     (char *)"HOOKSTREAM_DEDUP_TTL=60", NULL };
	struct config *cfg = load_ok(BASE, env);
	(void)state;

	assert_int_equal(cfg->ngroups, 2);
	assert_string_equal(cfg->groups[0], "g1");
	assert_string_equal(cfg->groups[1], "g2");
	assert_string_equal(cfg->type_fields, "kind");
	assert_int_equal(cfg->dedup_ttl, 60);
	config_free(cfg);
}

static void
test_env_empty_allow_fails(void **state)
{
	static char *const env[] = { (char *)"HOOKSTREAM_ALLOW=", NULL };
	static char *const spaces[] = { (char *)"HOOKSTREAM_ALLOW= , ", NULL };
	char want[600];
	(void)state;

	snprintf(want, sizeof(want), "HOOKSTREAM_ALLOW: %s", allow_empty_msg);
	load_fails(BASE, env, want, false);
	load_fails(BASE, spaces, want, false);

	/* The file's own empty allow names its line; a missing one names the file. */
	snprintf(want, sizeof(want), NAME ":3: %s", allow_empty_msg);
	load_fails("# c\n\nallow =\n[route /x]\n", no_env, want, false);
	snprintf(want, sizeof(want), NAME ": %s", allow_empty_msg);
	load_fails("[route /x]\n", no_env, want, false);
}

static void
test_env_errors_name_the_variable(void **state)
{
	static const struct {
		const char *var;
		const char *want;
	} cases[] = {
		{ "HOOKSTREAM_MAX_BODY=abc",
		  "HOOKSTREAM_MAX_BODY: max_body: expected a whole number from 1 to 67108864, got "
		  "'abc'" },
		{ "HOOKSTREAM_MAX_BODY=",
		  "HOOKSTREAM_MAX_BODY: max_body: expected a whole number from 1 to 67108864, got "
		  "''" },
		{ "HOOKSTREAM_MAX_BODY= 5",
		  "HOOKSTREAM_MAX_BODY: max_body: expected a whole number from 1 to 67108864, got "
		  "' 5'" },
		{ "HOOKSTREAM_LISTEN=localhost:80",
		  "HOOKSTREAM_LISTEN: listen: host must be a numeric IPv4 address (IPv6 as "
		  "[::1]:port), got 'localhost:80'" },
		{ "HOOKSTREAM_ALLOW=10.1.2.3/8",
		  "HOOKSTREAM_ALLOW: allow: '10.1.2.3/8': host bits set below the prefix length; "
		  "did you mean 10.0.0.0/8?" },
		{ "HOOKSTREAM_LOG_FORMAT=yaml",
		  "HOOKSTREAM_LOG_FORMAT: log_format: expected json or text, got 'yaml'" },
		{ "HOOKSTREAM_TYPE_FIELDS=a[", "HOOKSTREAM_TYPE_FIELDS: type_fields: bad path "
					       "'a[': array index must be [N] with "
					       "a number" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char *env[] = { (char *)cases[i].var, NULL };

		load_fails(BASE, env, cases[i].want, false);
	}
}

/* A typo in a variable name must not leave the default silently in force; the
 * message leads with the variable, like every other environment error. */
static void
test_env_unknown_variable(void **state)
{
	static const char *const vars[] = {
		"HOOKSTREAM_FOO=1",
		"HOOKSTREAM_ALOW=10.0.0.0/8",
		"HOOKSTREAM_=1",
		"HOOKSTREAM_CONFIGFILE=/x",
		/* Routes are tables and live only in the file. */
		"HOOKSTREAM_ROUTE=/x",
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(vars); i++) {
		char *env[] = { (char *)"HOOKSTREAM_LISTEN=0.0.0.0:1", (char *)vars[i], NULL };
		struct config_error err;
		struct config *cfg = NULL;
		char want[80];
		int rc;

		snprintf(want, sizeof(want), "%.*s: ", (int)strcspn(vars[i], "="), vars[i]);
		rc = config_load_text(NAME, BASE, strlen(BASE), env, &cfg, &err);
		if (rc != -EINVAL) {
			config_free(cfg);
			fail_msg("%s: ret %d, want -EINVAL", vars[i], rc);
		}
		assert_null(cfg);
		if (strncmp(err.message, want, strlen(want)) != 0 ||
		    strstr(err.message, "no such key") == NULL)
			fail_msg("%s: message \"%s\", want \"%s... no such key ...\"", vars[i],
				 err.message, want);
	}
}

static void
test_env_config_variable_ignored(void **state)
{
	static char *const env[] = { (char *)"HOOKSTREAM_CONFIG=/nonexistent/hookstream.conf",
				     (char *)"HOOKSTREAM_ALLOW=10.0.0.0/8", NULL };
	static char *const empty[] = { (char *)"HOOKSTREAM_CONFIG=",
				       (char *)"HOOKSTREAM_ALLOW=10.0.0.0/8", NULL };
	struct config *cfg;
	(void)state;

	cfg = load_ok("[route /x]\n", env);
	assert_string_equal(cfg->source, NAME);
	assert_string_equal(cfg->allow_text, "10.0.0.0/8");
	config_free(cfg);
	cfg = load_ok("[route /x]\n", empty);
	config_free(cfg);
}

/* --- routes -------------------------------------------------------------- */

static void
test_routes(void **state)
{
	static const char text[] = "allow = 10.0.0.0/8\n"
				   "[route /plain]\n"
				   "[route   /pay]\n"
				   "category = payment.status\n"
				   "[route /empty]\n"
				   "category =\n"
				   "[route /a/b-c_d.e~f%20]\n"
				   "category = x-1_y.z\n";
	struct config *cfg = load_ok(text, no_env);
	const struct config_route *r;
	(void)state;

	assert_int_equal(cfg->nroutes, 4);
	r = config_route_find(cfg, "/plain");
	assert_non_null(r);
	assert_string_equal(r->path, "/plain");
	assert_null(r->category);
	r = config_route_find(cfg, "/pay");
	assert_non_null(r);
	assert_string_equal(r->category, "payment.status");
	r = config_route_find(cfg, "/empty");
	assert_non_null(r);
	assert_null(r->category);
	r = config_route_find(cfg, "/a/b-c_d.e~f%20");
	assert_non_null(r);
	assert_string_equal(r->category, "x-1_y.z");
	/* Exact match only: no prefixes, no trailing slash, no case folding. */
	assert_null(config_route_find(cfg, "/pay/"));
	assert_null(config_route_find(cfg, "/pa"));
	assert_null(config_route_find(cfg, "/pay/more"));
	assert_null(config_route_find(cfg, "/PAY"));
	assert_null(config_route_find(cfg, "/"));
	assert_null(config_route_find(cfg, ""));
	config_free(cfg);
}

static void
test_route_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ BASE "\n[route /x]\n", NAME ":4: [route /x] is defined twice" },
		{ BASE "category = a\n[route  /x]\n", NAME ":4: [route /x] is defined twice" },
		{ "allow = 10.0.0.0/8\n[route x]\n",
		  NAME ":2: [route x]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ "allow = 10.0.0.0/8\n[route /a b]\n",
		  NAME ":2: [route /a b]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ "allow = 10.0.0.0/8\n[route /a?b=1]\n",
		  NAME ":2: [route /a?b=1]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ "allow = 10.0.0.0/8\n[route /a#b]\n",
		  NAME ":2: [route /a#b]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ "allow = 10.0.0.0/8\n[route /a\tb]\n",
		  NAME ":2: [route /a\tb]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ "allow = 10.0.0.0/8\n[route /hook\"x]\n",
		  NAME ":2: [route /hook\"x]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ "allow = 10.0.0.0/8\n[route /a\\b]\n",
		  NAME ":2: [route /a\\b]: a route is a path starting with '/', "
		       "without spaces, controls, '?', '#', '\"' or '\\'" },
		{ BASE "categroy = payment.status\n",
		  NAME ":3: unknown route key 'categroy' (expected category, success_status, "
		       "success_body, success_content_type, signature_scheme, signature_secrets, "
		       "signature_header, signature_tolerance or client_cert_names)" },
		{ BASE "listen = 0.0.0.0:1\n",
		  NAME ":3: unknown route key 'listen' (expected category, success_status, "
		       "success_body, success_content_type, signature_scheme, signature_secrets, "
		       "signature_header, signature_tolerance or client_cert_names)" },
		{ BASE "category = Payment.Status\n",
		  NAME ":3: category: bad category 'Payment.Status' (lower-case letters, digits, "
		       "'.', '_', '-')" },
		{ BASE "category = 1payment\n",
		  NAME ":3: category: bad category '1payment' (lower-case letters, digits, '.', "
		       "'_', '-')" },
		{ BASE "category = a\ncategory = b\n",
		  NAME ":4: category: given twice in [route /x]" },
		{ "allow = 10.0.0.0/8\n[route]\n",
		  NAME ":2: unknown section [route] (expected [route /path], [rule NAME] or "
		       "[status])" },
		{ "allow = 10.0.0.0/8\n",
		  NAME ": no [route /path] section: nothing would be accepted" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		load_fails(cases[i].text, no_env, cases[i].want, false);
}

/* A path of 256 bytes is accepted, 257 refused. */
static void
test_route_path_length(void **state)
{
	char path[300], text[400], want[512];
	struct config *cfg;
	(void)state;

	path[0] = '/';
	memset(path + 1, 'p', 255);
	path[256] = '\0';
	snprintf(text, sizeof(text), "allow = 10.0.0.0/8\n[route %s]\n", path);
	cfg = load_ok(text, no_env);
	assert_non_null(config_route_find(cfg, path));
	config_free(cfg);

	path[256] = 'p';
	path[257] = '\0';
	snprintf(text, sizeof(text), "allow = 10.0.0.0/8\n[route %s]\n", path);
	snprintf(want, sizeof(want),
		 NAME ":2: [route %s]: a route is a path starting with '/', "
		      "without spaces, controls, '?', '#', '\"' or '\\'",
		 path);
	load_fails(text, no_env, want, false);
}

/* --- rules and status ---------------------------------------------------- */

static void
test_rules_load(void **state)
{
	static const char text[] = BASE "[rule one]\n"
					"category = alpha.beta\n"
					"type = a.*\n"
					"[rule two]\n"
					"category = gamma\n"
					"has = x, y.z[0]\n"
					"subject = x\n"
					"status = y.s\n"
					"time = t\n"
					"id = i, x + y.s\n"
					"verb = seen\n"
					"[rule three]\n"
					"category = alpha.beta\n"
					"has = ?q\n"
					"[status]\n"
					"OK = succeeded\n";
	struct config *cfg = load_ok(text, no_env);
	const char *cats[4];
	(void)state;

	assert_int_equal(classify_categories(cfg->rules, cats, HS_ARRAY_LEN(cats)), 2);
	assert_string_equal(cats[0], "alpha.beta");
	assert_string_equal(cats[1], "gamma");
	config_free(cfg);
}

static void
test_rule_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ BASE "[rule r]\ncategory = a\ntype = x\ncolour = red\n",
		  NAME ":6: unknown rule key 'colour' (expected category, type, has, subject, "
		       "status, substatus, time, time_offset, id, verb, items or unknown_status)" },
		{ BASE "[rule r]\ncategory = a\nhas = x\n[rule r]\n",
		  NAME ":6: rule 'r' is defined twice" },
		{ BASE "[rule r]\ncategory = a\ncategory = b\n",
		  NAME ":5: rule key 'category' given twice" },
		{ BASE "[rule r]\ncategory = a\nhas = x..y\n",
		  NAME ":5: bad path 'x..y': expected a key name (letters, digits, _ - : @ $)" },
		{ BASE "[rule r]\ncategory = a\nhas = ,\n", NAME ":5: expected at least one path" },
		{ BASE "[rule r]\ncategory = a\ntype = ,\n",
		  NAME ":5: type needs at least one pattern" },
		{ BASE "[rule r]\ncategory = unclassified\n", NAME
		  ":4: bad category 'unclassified' (lower-case letters, digits, '.', '_', '-')" },
		{ BASE "[rule r]\ncategory = Pay\n",
		  NAME ":4: bad category 'Pay' (lower-case letters, digits, '.', '_', '-')" },
		{ BASE "[rule r]\ncategory = a\nhas = x\nverb = Done\n",
		  NAME ":6: bad verb 'Done' (lower-case word)" },
		{ BASE "[rule r]\ncategory = a\nhas = x\nid = a + b..c\n",
		  NAME ":6: bad path 'b..c': expected a key name (letters, digits, _ - : @ $)" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		load_fails(cases[i].text, no_env, cases[i].want, false);
}

/*
 * An incomplete rule is only noticed when its section ends; the message must
 * still point at the rule's own "[rule NAME]" line, not at whatever follows it
 * (or at nothing, at the end of the file).
 */
static void
test_incomplete_rule_names_its_header_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		/* Followed by another section. */
		{ BASE "[rule r]\ntype = a.*\n\n# next\n[status]\nOK = ok\n",
		  NAME ":3: rule 'r' has no category" },
		{ BASE "[rule r]\ncategory = a\nsubject = x\n[route /y]\n",
		  NAME ":3: rule 'r' matches nothing: give it 'type' patterns or 'has' markers" },
		/* Last in the file. */
		{ BASE "[rule r]\ntype = a.*\n", NAME ":3: rule 'r' has no category" },
		{ BASE "\n[rule r]\ncategory = a\n\n\n",
		  NAME ":4: rule 'r' matches nothing: give it 'type' patterns or 'has' markers" },
		{ BASE "[rule ok]\ncategory = a\nhas = x\n[rule r]\n",
		  NAME ":6: rule 'r' has no category" },
	};
	int bad = 0;
	(void)state;

	/* Every case is reported before failing: the pattern of wrong lines is the clue. */
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct config_error err;
		struct config *cfg = NULL;
		int rc = config_load_text(NAME, cases[i].text, strlen(cases[i].text), no_env, &cfg,
					  &err);

		if (rc != -EINVAL) {
			config_free(cfg);
			fail_msg("case %zu: ret %d, want -EINVAL", i, rc);
		}
		if (strcmp(err.message, cases[i].want) != 0) {
			print_error("case %zu:\n%s---\n  got  \"%s\"\n  want \"%s\"\n", i,
				    cases[i].text, err.message, cases[i].want);
			bad++;
		}
	}
	if (bad)
		fail_msg("%d of %zu incomplete rules reported on the wrong line", bad,
			 HS_ARRAY_LEN(cases));
}

static void
test_status_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ BASE "[status]\nACSC = succeeded\nRJCT = failed\nACSC = succeeded\n",
		  NAME ":6: status code 'ACSC' is listed twice" },
		{ BASE "[status]\nACSC = succeeded\n[route /y]\n[status]\nACSC = failed\n",
		  NAME ":7: status code 'ACSC' is listed twice" },
		{ BASE "[status]\nACSC = Succeeded\n",
		  NAME ":4: bad canonical word 'Succeeded' (lower-case letters, digits and '_')" },
		{ BASE "[status]\nACSC =\n",
		  NAME ":4: bad canonical word '' (lower-case letters, digits and '_')" },
		{ BASE "[status]\nACSC = pending.auth\n", NAME
		  ":4: bad canonical word 'pending.auth' (lower-case letters, digits and '_')" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		load_fails(cases[i].text, no_env, cases[i].want, false);
}

static void
test_unknown_section_and_syntax(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ BASE "\n[routes /y]\n",
		  NAME ":4: unknown section [routes /y] (expected [route /path], [rule NAME] or "
		       "[status])" },
		{ "[global]\n" BASE,
		  NAME ":1: unknown section [global] (expected [route /path], [rule NAME] or "
		       "[status])" },
		{ BASE "[Status]\n",
		  NAME ":3: unknown section [Status] (expected [route /path], [rule NAME] or "
		       "[status])" },
		{ "allow = 10.0.0.0/8\n# c\nlisten\n[route /x]\n",
		  NAME ":3: expected 'key = value'" },
		{ BASE "[route /y\n", NAME ":3: section header must end with ']'" },
		{ "\r\n\r\n= 1\r\n", NAME ":3: missing key before '='" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		load_fails(cases[i].text, no_env, cases[i].want, false);
}

/* Values keep '#' and '=' (no inline comments); a CRLF file and a BOM load. */
static void
test_file_syntax_details(void **state)
{
	static const char text[] = "\xef\xbb\xbf# hookstream\r\n"
				   "stream_prefix = a:b\r\n"
				   "allow = 10.0.0.0/8\r\n"
				   "[route /x]\r\n"
				   "category = payment.status\r\n";
	struct config *cfg = load_ok(text, no_env);
	(void)state;

	assert_string_equal(cfg->stream_prefix, "a:b");
	assert_string_equal(cfg->routes[0].category, "payment.status");
	config_free(cfg);

	/* A '#' after a value is part of it, so this prefix is refused, not truncated. */
	load_fails("stream_prefix = pn # comment\n" BASE, no_env,
		   NAME ":1: stream_prefix: expected 1-64 letters, digits or . _ - : (no { }: each "
			"stream's keys carry their own Cluster hash tag), got 'pn # "
			"comment'",
		   false);
}

static void
test_load_missing_file(void **state)
{
	struct config_error err;
	struct config *cfg = (struct config *)(uintptr_t)1;
	int rc;
	(void)state;

	rc = config_load("/nonexistent/dir/hookstream.conf", no_env, &cfg, &err);
	assert_int_equal(rc, -ENOENT);
	assert_null(cfg);
	assert_string_equal(
		err.message,
		"/nonexistent/dir/hookstream.conf: cannot open: No such file or directory");
}

static void
test_free_null(void **state)
{
	(void)state;
	config_free(NULL);
}

static void
test_tls_settings(void **state)
{
	struct config *cfg;

	(void)state;
	load_fails("allow = 10.0.0.1\ntls_cert = /c.pem\n[route /x]\n", no_env,
		   NAME ":2: tls_cert: tls_cert and tls_key are set together (or neither, for "
			"plain HTTP)",
		   false);
	load_fails("allow = 10.0.0.1\ntls_key = /k.pem\n[route /x]\n", no_env,
		   NAME ":2: tls_key: tls_cert and tls_key are set together (or neither, for "
			"plain HTTP)",
		   false);
	load_fails("allow = 10.0.0.1\ntls_client_ca = /ca.pem\n[route /x]\n", no_env,
		   NAME ":2: tls_client_ca: client certificates need TLS: set tls_cert and "
			"tls_key too",
		   false);
	load_fails("allow = 10.0.0.1\n[route /x]\nclient_cert_names = CN=a\n", no_env,
		   NAME ":3: client_cert_names: [route /x] pins client certificates, which "
			"needs tls_client_ca",
		   false);
	load_fails("allow = 10.0.0.1\ntls_cert = /c\ntls_key = /k\ntls_client_ca = /ca\n"
		   "[route /x]\nclient_cert_names = O=Partner\n",
		   no_env,
		   NAME ":6: client_cert_names: each entry is CN=<common name> or "
			"DNS:<subjectAltName>",
		   false);
	cfg = load_ok("allow = 10.0.0.1\ntls_cert = /c\ntls_key = /k\ntls_client_ca = /ca\n"
		      "[route /x]\nclient_cert_names = CN=a, DNS:b.example\n[route /y]\n",
		      no_env);
	assert_string_equal(cfg->routes[0].client_cert_names, "CN=a, DNS:b.example");
	assert_null(cfg->routes[1].client_cert_names);
	assert_string_equal(cfg->tls_client_ca, "/ca");
	config_free(cfg);
}

/* A reference keeps the configuration alive after the loader's is dropped. */
static void
test_ref_counts(void **state)
{
	struct config *cfg = load_ok("allow = 10.0.0.1\n[route /x]\n", no_env);

	(void)state;
	assert_ptr_equal(config_ref(cfg), cfg);
	config_free(cfg);
	/* still usable (ASan would flag a use after free) */
	assert_string_equal(cfg->allow_text, "10.0.0.1");
	config_free(cfg);
}

static void
test_restart_changes(void **state)
{
	char *const env_pw[] = { "HOOKSTREAM_REDIS_URL=redis://:other@127.0.0.1:6379", NULL };
	struct config *a = load_ok("allow = 10.0.0.1\n[route /x]\n", no_env);
	struct config *same =
		load_ok("allow = 10.0.0.2, 10.0.0.3\nlog_level = debug\n"
			"max_body = 100\npublish_timeout = 100\n"
			"[route /x]\n[route /y]\n[rule extra]\ncategory = x.y\nhas = a\n",
			no_env);
	struct config *b = load_ok("allow = 10.0.0.1\nlisten = 127.0.0.1:1\ndedup_ttl = 5\n"
				   "groups = g1\nspool_dir = /tmp/x\n[route /x]\n",
				   no_env);
	struct config *pw = load_ok("allow = 10.0.0.1\n[route /x]\n", env_pw);
	const char *names[16];
	size_t n;

	(void)state;
	/* allowlist, log level, limits, timeouts and rules reload */
	assert_int_equal(config_restart_changes(a, same, names, 16), 0);
	n = config_restart_changes(a, b, names, 16);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "listen");
	assert_string_equal(names[1], "spool_dir");
	assert_string_equal(names[2], "dedup_ttl");
	assert_string_equal(names[3], "groups");
	/* at most max names */
	assert_int_equal(config_restart_changes(a, b, names, 1), 1);
	assert_string_equal(names[0], "listen");
	/* a Redis password change is a change, though the log text masks it */
	n = config_restart_changes(a, pw, names, 16);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "redis_url");
	config_free(a);
	config_free(same);
	config_free(b);
	config_free(pw);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_text_is_the_file),
		cmocka_unit_test(test_builtin_default_loads),
		cmocka_unit_test(test_shipped_file_loads),
		cmocka_unit_test(test_builtin_without_allow_fails),
		cmocka_unit_test(test_every_key_documented_with_its_default),
		cmocka_unit_test(test_doc_check_catches_drift),
		cmocka_unit_test(test_table_defaults_applied),
		cmocka_unit_test(test_values_from_file),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_key_given_twice),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_stream_prefix_length),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_listen_in_config),
		cmocka_unit_test(test_redis_url_errors_hide_password),
		cmocka_unit_test(test_redis_url_unix),
		cmocka_unit_test(test_env_overrides_file),
		cmocka_unit_test(test_env_over_default),
		cmocka_unit_test(test_env_empty_allow_fails),
		cmocka_unit_test(test_env_errors_name_the_variable),
		cmocka_unit_test(test_env_unknown_variable),
		cmocka_unit_test(test_env_config_variable_ignored),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_route_path_length),
		cmocka_unit_test(test_rules_load),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_incomplete_rule_names_its_header_line),
		cmocka_unit_test(test_status_errors),
		cmocka_unit_test(test_unknown_section_and_syntax),
		cmocka_unit_test(test_file_syntax_details),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_ref_counts),
		cmocka_unit_test(test_tls_settings),
		cmocka_unit_test(test_restart_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
