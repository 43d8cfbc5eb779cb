// SPDX-License-Identifier: MIT
/*
 * test_normalize: the corpus in tests/data/normalize run through
 * normalize_request directly (the same cases test_corpus.py runs through
 * "hookstream classify" and end to end), with the built-in configuration.
 */
#include <dirent.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hookstream/config.h"
#include "hookstream/jsonmem.h"
#include "hookstream/jsonparse.h"
#include "hookstream/normalize.h"

#define CORPUS HS_SOURCE_ROOT "/tests/data/normalize"

static char *
read_file(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s/%s", CORPUS, dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		fail_msg("cannot read %s", path);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
sha256_id(const char *data, size_t len, char *out)
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (size_t i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/* Compare envelope[key] with the expected value (string or null). */
static void
check_attr(const char *name, size_t i, const json_t *env, const json_t *want, const char *key,
	   char *report, size_t size)
{
	const json_t *got = json_object_get(env, key);
	const char *g = json_string_value(got), *w = json_string_value(want);
	size_t used = strlen(report);

	if (want == NULL)
		return; /* not given: not checked */
	if (json_is_null(want) ? got == NULL : (g != NULL && w != NULL && strcmp(g, w) == 0))
		return;
	snprintf(report + used, size - used, "  %s event %zu %s: got %s, want %s\n", name, i, key,
		 g ? g : "(none)", w ? w : "null");
}

static void
run_case(const struct config *cfg, const char *name, char *report, size_t size)
{
	size_t blen, rlen, elen;
	char *body = read_file(name, "body", &blen);
	char *reqtext = read_file(name, "request.json", &rlen);
	char *exptext = read_file(name, "expect.json", &elen);
	json_t *reqj = json_loads(reqtext, 0, NULL), *exp = json_loads(exptext, 0, NULL);
	const char *path = json_string_value(json_object_get(reqj, "path"));
	const char *ctype = json_string_value(json_object_get(reqj, "content_type"));
	char route_path[512], *q;
	const struct config_route *route;
	struct normalize_request req;
	struct normalize_result res;
	struct normalize_error err;
	const json_t *events = json_object_get(exp, "events");
	int rc;

	if (reqj == NULL || exp == NULL || path == NULL)
		fail_msg("%s: malformed request.json/expect.json", name);
	snprintf(route_path, sizeof(route_path), "%s", path);
	q = strchr(route_path, '?');
	if (q != NULL)
		*q = '\0';
	route = config_route_find(cfg, route_path);
	if (route == NULL)
		fail_msg("%s: no route %s", name, route_path);
	req = (struct normalize_request){ .cfg = cfg,
					  .route = route,
					  .query = q ? strchr(path, '?') + 1 : NULL,
					  .content_type = ctype,
					  .source_ip = "127.0.0.1",
					  .received_at = "2026-11-26T12:00:00.000Z",
					  .raw = body,
					  .raw_len = blen };
	rc = normalize_request(&req, &res, &err);
	if (json_object_get(exp, "status") != NULL) {
		int want = (int)json_integer_value(json_object_get(exp, "status"));
		const char *code = json_string_value(json_object_get(exp, "error"));
		size_t used = strlen(report);

		if (rc == 0) {
			snprintf(report + used, size - used, "  %s: accepted, want %d %s\n", name,
				 want, code);
			normalize_result_fini(&res);
		} else if (err.status != want || strcmp(err.code, code) != 0) {
			snprintf(report + used, size - used, "  %s: got %d %s, want %d %s\n", name,
				 err.status, err.code, want, code);
		}
		goto out;
	}
	if (rc != 0) {
		size_t used = strlen(report);

		snprintf(report + used, size - used, "  %s: refused %d %s (%s)\n", name, err.status,
			 err.code, err.message);
		goto out;
	}
	if (res.nevents != json_array_size(events)) {
		size_t used = strlen(report);

		snprintf(report + used, size - used, "  %s: %zu events, want %zu\n", name,
			 res.nevents, json_array_size(events));
	}
	for (size_t i = 0; i < res.nevents && i < json_array_size(events); i++) {
		const json_t *w = json_array_get(events, i);
		struct jsonparse_result parsed;
		struct jsonparse_error perr;
		json_t *env = NULL;
		const json_t *wid = json_object_get(w, "event_id");
		char sha[80];
		json_t *want_id;

		/* Our parser, not jansson's: data may hold 1e400 or \u0000. */
		if (jsonparse(res.events[i].envelope, res.events[i].envelope_len, 1024, &parsed,
			      &perr) == 0) {
			env = json_incref(parsed.root);
			jsonparse_result_fini(&parsed);
		}
		if (env == NULL) {
			size_t used = strlen(report);

			snprintf(report + used, size - used, "  %s: event %zu is not JSON\n", name,
				 i);
			continue;
		}
		check_attr(name, i, env, json_object_get(w, "category"), "category", report, size);
		check_attr(name, i, env, json_object_get(w, "type"), "type", report, size);
		check_attr(name, i, env, json_object_get(w, "subject"), "subject", report, size);
		check_attr(name, i, env, json_object_get(w, "senderstatus"), "senderstatus", report,
			   size);
		check_attr(name, i, env, json_object_get(w, "status"), "status", report, size);
		check_attr(name, i, env, json_object_get(w, "rule"), "rule", report, size);
		check_attr(name, i, env, json_object_get(w, "time"), "time", report, size);
		if (json_is_string(wid) && strcmp(json_string_value(wid), "sha256-of-body") == 0) {
			sha256_id(body, blen, sha);
			want_id = json_string(sha);
		} else {
			want_id = json_incref((json_t *)wid);
		}
		check_attr(name, i, env, want_id, "id", report, size);
		json_decref(want_id);
		json_decref(env);
	}
	for (size_t i = 0; i < res.nevents; i++) {
		const json_t *v;
		size_t k;

		json_array_foreach(json_object_get(exp, "data_contains"), k, v)
		{
			if (strstr(res.events[i].envelope, json_string_value(v)) == NULL) {
				size_t used = strlen(report);

				snprintf(report + used, size - used, "  %s: data lacks %s\n", name,
					 json_string_value(v));
			}
		}
		json_array_foreach(json_object_get(exp, "data_not_contains"), k, v)
		{
			if (strstr(res.events[i].envelope, json_string_value(v)) != NULL) {
				size_t used = strlen(report);

				snprintf(report + used, size - used, "  %s: data holds %s\n", name,
					 json_string_value(v));
			}
		}
	}
	normalize_result_fini(&res);
out:
	json_decref(reqj);
	json_decref(exp);
	free(body);
	free(reqtext);
	free(exptext);
}

static void
test_corpus(void **state)
{
	static char *const env[] = { "HOOKSTREAM_ALLOW=127.0.0.1", NULL };
	struct config_error cerr;
	struct config *cfg;
	struct dirent *de;
	static char report[65536];
	size_t ncases = 0;
	DIR *d = opendir(CORPUS);

	(void)state;
	if (d == NULL)
		fail_msg("cannot open %s", CORPUS);
	if (config_load(NULL, env, &cfg, &cerr) != 0)
		fail_msg("built-in config: %s", cerr.message);
	report[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
			continue;
		run_case(cfg, de->d_name, report, sizeof(report));
		ncases++;
	}
	closedir(d);
	config_free(cfg);
	if (ncases < 50)
		fail_msg("only %zu corpus cases found in %s", ncases, CORPUS);
	if (report[0] != '\0')
		fail_msg("corpus mismatches:\n%s", report);
}

/* The body kept in <prefix>:invalid: escaped, cut, and with card numbers
 * masked, including numbers spelled as floats (the parser could not judge
 * them by their value: the body did not parse). */
static void
test_invalid_body(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want;
		bool truncated;
	} cases[] = {
		{ "{\"a\":1,", 100, "{\"a\":1,", false },
		{ "a\\b\x01\x7f\xff\xc3\xa9", 100, "a\\\\b\\x01\\x7f\\xff\xc3\xa9", false },
		{ "{\"pan\":\"4111111111111111\"", 100, "{\"pan\":\"411111******1111\"", false },
		{ "{\"pan\":4.111111111111111E15,", 100, "{\"pan\":\"411111******1111\",", false },
		{ "[-5.1051051051051e15]", 100, "[\"-510510******5100\"]", false },
		{ "[4111111111111111.000,4111111111111111e0 ", 100,
		  "[411111******1111.000,411111******1111e0 ", false },
		{ "{\"t\":4.11111111109e15}", 100, "{\"t\":\"411111******0000\"}", false },
		/* A shorter spelling is written out at its value's length. */
		{ "[411111111109e4", 100, "[\"411111******0000\"", false },
		/* Not a number standing alone, or not a card number. */
		{ "x4.111111111111111E15 4.111111111111111E15x", 100,
		  "x4.111111111111111E15 4.111111111111111E15x", false },
		{ "v1.4.111111111111111E15 sha256:ab4111111111e4", 100,
		  "v1.4.111111111111111E15 sha256:ab4111111111e4", false },
		{ "[4.111111111111112E15,1.2E+2,2026-11-26]", 100,
		  "[4.111111111111112E15,1.2E+2,2026-11-26]", false },
		/* Digit runs are judged as text, as everywhere in unparsed bytes. */
		{ "[0.4111111111111111]", 100, "[0.411111******1111]", false },
		{ "[04.111111111111111E15,4.111111111111111E15.5]", 100,
		  "[04.111111111111111E15,4.111111111111111E15.5]", false },
		/* A cut never leaves part of a card number. */
		{ "[4.111111111111111E15]", 10, "[", true },
		{ "[4.111111111111111E15]", 19, "[\"411111******1111\"", true },
		{ "[4111111111111111]", 8, "[411111*", true },
		{ "abcdef", 3, "abc", true },
		/* Nor a card number made by the cut: the cut number is left out. */
		{ "ref 41111111111111111111 x", 20, "ref ", true },
		{ "ref 00000000000000000000000", 21, "ref ", true },
		{ "t 1.2E+4111111111111111111", 12, "t ", true },
		{ "[4.111111111111111E15a]", 21, "[", true },
		{ "[4111111111111111_1]", 17, "[411111******", true }, /* masked */
		{ "a+-+-9", 5, "a+-+-", true },	   /* no digit before the cut: kept */
		{ "ab 12 34", 6, "ab 12 ", true }, /* cut between numbers */
		{ "", 10, "", false },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool truncated = !cases[i].truncated;
		char *got = normalize_invalid_body(cases[i].in, strlen(cases[i].in), cases[i].max,
						   &truncated);

		if (strcmp(got, cases[i].want) != 0 || truncated != cases[i].truncated)
			fail_msg("invalid body \"%s\" (max %zu): got \"%s\"%s, want \"%s\"%s",
				 cases[i].in, cases[i].max, got, truncated ? " (cut)" : "",
				 cases[i].want, cases[i].truncated ? " (cut)" : "");
		free(got);
	}
}

/* An event id that is a card number grouped by '_' or '.' is hashed like one
 * in digits or grouped by spaces (the payload keeps free text as sent: '_'
 * is no group separator there, it would mask too many references). */
static void
test_id_with_grouped_card_number_hashed(void **state)
{
	static const char *const bodies[] = {
		"{\"id\":\"4111_1111_1111_1111\",\"type\":\"charge.succeeded\"}",
		"{\"id\":\"evt.4111.1111.1111.1111\",\"type\":\"charge.succeeded\"}",
		/* 1000080000000000 spelled with 7 digits: no quick way out */
		"{\"id\":1.00008e15,\"type\":\"charge.succeeded\"}",
		"{\"id\":\"evt_2026_11_26\",\"type\":\"charge.succeeded\"}", /* no card */
	};
	static char *const env[] = { (char *)"HOOKSTREAM_ALLOW=127.0.0.1", NULL };
	struct config *cfg;
	struct config_error cerr;
	(void)state;

	if (config_load(NULL, env, &cfg, &cerr) != 0)
		fail_msg("built-in config: %s", cerr.message);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct normalize_request req = { .cfg = cfg,
						 .route = config_route_find(cfg, "/webhook"),
						 .content_type = "application/json",
						 .source_ip = "127.0.0.1",
						 .received_at = "2026-11-26T12:00:00.000Z",
						 .raw = bodies[i],
						 .raw_len = strlen(bodies[i]) };
		struct normalize_result res;
		struct normalize_error err;

		assert_non_null(req.route);
		assert_int_equal(normalize_request(&req, &res, &err), 0);
		assert_int_equal(res.nevents, 1);
		if (i < 3)
			assert_int_equal(strncmp(res.events[0].event_id, "sha256:", 7), 0);
		else
			assert_string_equal(res.events[0].event_id, "evt_2026_11_26");
		normalize_result_fini(&res);
	}
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_invalid_body),
		cmocka_unit_test(test_id_with_grouped_card_number_hashed),
	};
	int rc;

	/* As the daemon runs it: jansson's values of each request in the
	 * per-request arena (poisoned after the request under ASan). */
	json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	jsonmem_thread_fini();
	return rc;
}
