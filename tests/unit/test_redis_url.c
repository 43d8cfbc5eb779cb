// SPDX-License-Identifier: MIT
/*
 * test_redis_url: unit tests for the Redis address parser and its redacted
 * form. Valid URLs are checked field by field; invalid ones by the exact
 * message and an emptied result; no redacted form may carry the password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/redis_url.h"

#define PORT_MSG "port must be a number from 1 to 65535"
#define DB_MSG	 "database must be a number (redis://host:port/0)"
#define SCHEME_MSG                                                                                 \
	"expected redis://host:port[/db], unix:///path or redis+sentinel://host:port,.../master"
#define UNIX_ABS_MSG "unix:// needs an absolute path (unix:///run/redis.sock)"
#define UNIX_Q_MSG   "the only query parameter is db=<number>"

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#define Q(s) ((s) ? "\"" : ""), ((s) ? (s) : "NULL"), ((s) ? "\"" : "")

static void
test_valid(void **state)
{
	static const struct {
		const char *text;
		enum redis_url_kind kind;
		const char *host;
		int port;
		const char *path;
		const char *user;
		const char *password;
		int db;
		const char *redacted;
	} cases[] = {
		{ "redis://h", REDIS_URL_TCP, "h", 6379, NULL, NULL, NULL, 0, "redis://h:6379/0" },
		{ "redis://h:1", REDIS_URL_TCP, "h", 1, NULL, NULL, NULL, 0, "redis://h:1/0" },
		{ "redis://h:65535", REDIS_URL_TCP, "h", 65535, NULL, NULL, NULL, 0,
		  "redis://h:65535/0" },
		{ "redis://127.0.0.1:6379/3", REDIS_URL_TCP, "127.0.0.1", 6379, NULL, NULL, NULL, 3,
		  "redis://127.0.0.1:6379/3" },
		{ "redis://h/", REDIS_URL_TCP, "h", 6379, NULL, NULL, NULL, 0, "redis://h:6379/0" },
		{ "redis://h/15", REDIS_URL_TCP, "h", 6379, NULL, NULL, NULL, 15,
		  "redis://h:6379/15" },
		{ "redis://redis-1.internal_x.example:7000", REDIS_URL_TCP,
		  "redis-1.internal_x.example", 7000, NULL, NULL, NULL, 0,
		  "redis://redis-1.internal_x.example:7000/0" },
		{ "redis://:pass@h:1", REDIS_URL_TCP, "h", 1, NULL, NULL, "pass", 0,
		  "redis://:***@h:1/0" },
		{ "redis://user:pass@h:1/2", REDIS_URL_TCP, "h", 1, NULL, "user", "pass", 2,
		  "redis://user:***@h:1/2" },
		{ "redis://:p%40ss@h", REDIS_URL_TCP, "h", 6379, NULL, NULL, "p@ss", 0,
		  "redis://:***@h:6379/0" },
		{ "redis://u%3Ax:p%3a%2F%25@h", REDIS_URL_TCP, "h", 6379, NULL, "u:x", "p:/%", 0,
		  "redis://u:x:***@h:6379/0" },
		/* The last '@' ends the credentials; the first ':' splits them. */
		{ "redis://u:p@ss:w@h", REDIS_URL_TCP, "h", 6379, NULL, "u", "p@ss:w", 0,
		  "redis://u:***@h:6379/0" },
		{ "redis://:@h", REDIS_URL_TCP, "h", 6379, NULL, NULL, "", 0,
		  "redis://:***@h:6379/0" },
		{ "redis://[::1]:6380", REDIS_URL_TCP, "::1", 6380, NULL, NULL, NULL, 0,
		  "redis://[::1]:6380/0" },
		{ "redis://[::1]", REDIS_URL_TCP, "::1", 6379, NULL, NULL, NULL, 0,
		  "redis://[::1]:6379/0" },
		{ "redis://:pw@[2001:db8::7]:1/9", REDIS_URL_TCP, "2001:db8::7", 1, NULL, NULL,
		  "pw", 9, "redis://:***@[2001:db8::7]:1/9" },
		{ "unix:///run/r.sock", REDIS_URL_UNIX, NULL, 6379, "/run/r.sock", NULL, NULL, 0,
		  "unix:///run/r.sock?db=0" },
		{ "unix:///run/r.sock?db=4", REDIS_URL_UNIX, NULL, 6379, "/run/r.sock", NULL, NULL,
		  4, "unix:///run/r.sock?db=4" },
		{ "unix:///run/my%20redis.sock", REDIS_URL_UNIX, NULL, 6379, "/run/my redis.sock",
		  NULL, NULL, 0, "unix:///run/my redis.sock?db=0" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct redis_url u;
		const char *why = NULL;
		char buf[256];
		int rc;

		memset(&u, 0x5a, sizeof(u));
		rc = redis_url_parse(cases[i].text, &u, &why);
		if (rc != 0)
			fail_msg("\"%s\": ret %d (%s), want 0", cases[i].text, rc, why ? why : "");
		if (u.kind != cases[i].kind || u.db != cases[i].db ||
		    (cases[i].kind == REDIS_URL_TCP && u.port != cases[i].port) ||
		    !str_eq(u.host, cases[i].host) || !str_eq(u.path, cases[i].path) ||
		    !str_eq(u.user, cases[i].user) || !str_eq(u.password, cases[i].password))
			fail_msg("\"%s\":\n  got  kind %d host %s%s%s port %d path %s%s%s user "
				 "%s%s%s "
				 "password %s%s%s db %d\n  want kind %d host %s%s%s port %d path "
				 "%s%s%s "
				 "user %s%s%s password %s%s%s db %d",
				 cases[i].text, (int)u.kind, Q(u.host), u.port, Q(u.path),
				 Q(u.user), Q(u.password), u.db, (int)cases[i].kind,
				 Q(cases[i].host), cases[i].port, Q(cases[i].path),
				 Q(cases[i].user), Q(cases[i].password), cases[i].db);
		assert_ptr_equal(redis_url_redacted(&u, buf, sizeof(buf)), buf);
		if (strcmp(buf, cases[i].redacted) != 0)
			fail_msg("\"%s\": redacted \"%s\", want \"%s\"", cases[i].text, buf,
				 cases[i].redacted);
		redis_url_fini(&u);
		assert_null(u.host);
		assert_null(u.password);
	}
}

static void
test_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "rediss://h:6380", "rediss:// (TLS to Redis) is not supported by hiredis 0.14" },
		{ "rediss://:pw@h", "rediss:// (TLS to Redis) is not supported by hiredis 0.14" },
		{ "http://h:6379", SCHEME_MSG },
		{ "redis:/h", SCHEME_MSG },
		{ "h:6379", SCHEME_MSG },
		{ "", SCHEME_MSG },
		{ "redis://", "missing host" },
		{ "redis://:1", "missing host" },
		{ "redis:///0", "missing host" },
		{ "redis://:pw@", "missing host" },
		{ "redis://[]:1", "missing host" },
		{ "redis://h:0", PORT_MSG },
		{ "redis://h:65536", PORT_MSG },
		{ "redis://h:99999999999", PORT_MSG },
		{ "redis://h:x", PORT_MSG },
		{ "redis://h:", PORT_MSG },
		{ "redis://h:-1", PORT_MSG },
		{ "redis://h:+1", PORT_MSG },
		{ "redis://h:1:2", PORT_MSG },
		{ "redis://h:1 ", PORT_MSG },
		{ "redis://[::1]:0", PORT_MSG },
		{ "redis://[::1]:", PORT_MSG },
		{ "redis://h/x", DB_MSG },
		{ "redis://h/-1", DB_MSG },
		{ "redis://h/1/2", DB_MSG },
		{ "redis://h/1000001", DB_MSG },
		{ "redis://h/1?x", DB_MSG },
		{ "redis://[::1", "unterminated [IPv6] host" },
		{ "redis://[::1/0", "unterminated [IPv6] host" },
		{ "redis://[::1]6380", "expected :port after ]" },
		{ "redis://user@h", "credentials must be [user]:password@" },
		{ "redis://@h", "credentials must be [user]:password@" },
		{ "redis://h h", "bad character in host" },
		{ "redis://h?db=1", "bad character in host" },
		{ "redis://h%41", "bad character in host" },
		{ "unix://relative.sock", UNIX_ABS_MSG },
		{ "unix://", UNIX_ABS_MSG },
		{ "unix://?db=1", UNIX_ABS_MSG },
		{ "unix:///p?foo=1", UNIX_Q_MSG },
		{ "unix:///p?db=", UNIX_Q_MSG },
		{ "unix:///p?db=x", UNIX_Q_MSG },
		{ "unix:///p?db=1&x=2", UNIX_Q_MSG },
		{ "unix:///p?DB=1", UNIX_Q_MSG },
		{ "unix:///p%zz", "bad percent-escape in socket path" },
		{ "unix:///p%2", "bad percent-escape in socket path" },
		{ "unix:///p%00x", "bad percent-escape in socket path" },
		{ "redis://:p%zz@h", "bad percent-escape in password" },
		{ "redis://:p%4@h", "bad percent-escape in password" },
		{ "redis://:p%@h", "bad percent-escape in password" },
		{ "redis://:p%00@h", "bad percent-escape in password" },
		{ "redis://u%g0:p@h", "bad percent-escape in user" },
		{ "redis://u%00:p@h", "bad percent-escape in user" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct redis_url u;
		const char *why = NULL;
		int rc;

		memset(&u, 0x5a, sizeof(u));
		rc = redis_url_parse(cases[i].text, &u, &why);
		if (rc != -EINVAL) {
			if (rc == 0)
				redis_url_fini(&u);
			fail_msg("\"%s\": ret %d, want -EINVAL", cases[i].text, rc);
		}
		if (why == NULL || strcmp(why, cases[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", cases[i].text,
				 why ? why : "(null)", cases[i].why);
		if (u.host != NULL || u.path != NULL || u.user != NULL || u.password != NULL)
			fail_msg("\"%s\": result not left empty after an error", cases[i].text);
		/* Safe to fini again, as a caller's cleanup would. */
		redis_url_fini(&u);
	}
}

/* The TLS refusal says why, so an operator does not hunt for a typo. */
static void
test_tls_message_mentions_tls(void **state)
{
	struct redis_url u;
	const char *why = NULL;
	(void)state;

	assert_int_equal(redis_url_parse("rediss://redis.example:6380/0", &u, &why), -EINVAL);
	assert_non_null(why);
	if (strstr(why, "TLS") == NULL)
		fail_msg("message does not mention TLS: \"%s\"", why);
}

/* No redacted form, at any buffer size, carries the password or its encoding. */
static void
test_redacted_never_has_password(void **state)
{
	static const char *const urls[] = {
		"redis://:Sup3rS3cret@h:1",
		"redis://admin:Sup3rS3cret@10.0.0.1:6379/1",
		"redis://admin:Sup%33rS3cret@[::1]:6379",
		"redis://:Sup3rS3cret@redis.example/7",
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(urls); i++) {
		struct redis_url u;
		const char *why = NULL;
		char buf[256];

		if (redis_url_parse(urls[i], &u, &why) != 0)
			fail_msg("\"%s\": %s", urls[i], why);
		assert_non_null(u.password);
		for (size_t len = 1; len <= sizeof(buf); len++) {
			const char *s = redis_url_redacted(&u, buf, len);

			assert_true(strlen(s) < len);
			if (strstr(s, "Sup3r") != NULL || strstr(s, "S3cret") != NULL) {
				print_error("redacted: %s\n", s);
				fail_msg("\"%s\" (buffer %zu): redacted form shows the password",
					 urls[i], len);
			}
			if (strstr(s, "%33") != NULL)
				fail_msg("\"%s\": redacted form shows the encoded password: %s",
					 urls[i], s);
		}
		assert_non_null(strstr(buf, "***@"));
		redis_url_fini(&u);
	}
}

static void
test_fini_null_and_twice(void **state)
{
	struct redis_url u;
	const char *why;
	(void)state;

	redis_url_fini(NULL);
	assert_int_equal(redis_url_parse("redis://u:p@h:1/2", &u, &why), 0);
	redis_url_fini(&u);
	assert_null(u.host);
	assert_null(u.user);
	assert_null(u.password);
	redis_url_fini(&u);
}

static void
test_sentinel(void **state)
{
	struct redis_url u;
	const char *why = NULL;
	char buf[256];
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "redis+sentinel://h1:26379", "redis+sentinel:// needs /<master name> after the "
					       "sentinels" },
		{ "redis+sentinel://h1/", "redis+sentinel:// needs /<master name> after the "
					  "sentinels" },
		{ "redis+sentinel:///mymaster", "missing host" },
		{ "redis+sentinel://h1,,h2/m", "missing host" },
		{ "redis+sentinel://h1:0/m", "port must be a number from 1 to 65535" },
		{ "redis+sentinel://h1/m y", "bad character in master name" },
		{ "redis+sentinel://h1/m/x", "database must be a number "
					     "(redis+sentinel://host:port/master/0)" },
		{ "redis+sentinel://pw@h1/m", "credentials must be [user]:password@" },
	};

	(void)state;
	assert_int_equal(
		redis_url_parse("redis+sentinel://:s3cr%40t@h1,h2:26380,[::1]:7/mymaster/2", &u,
				&why),
		0);
	assert_int_equal(u.kind, REDIS_URL_SENTINEL);
	assert_int_equal(u.nhosts, 3);
	assert_string_equal(u.hosts[0].host, "h1");
	assert_int_equal(u.hosts[0].port, 26379);
	assert_string_equal(u.hosts[1].host, "h2");
	assert_int_equal(u.hosts[1].port, 26380);
	assert_string_equal(u.hosts[2].host, "::1");
	assert_int_equal(u.hosts[2].port, 7);
	assert_string_equal(u.master, "mymaster");
	assert_int_equal(u.db, 2);
	assert_string_equal(u.password, "s3cr@t");
	assert_null(u.user);
	assert_string_equal(redis_url_redacted(&u, buf, sizeof(buf)),
			    "redis+sentinel://:***@h1:26379,h2:26380,[::1]:7/mymaster/2");
	assert_null(strstr(buf, "s3cr"));
	redis_url_fini(&u);

	assert_int_equal(redis_url_parse("redis+sentinel://10.0.0.1/m", &u, &why), 0);
	assert_int_equal(u.db, 0);
	assert_string_equal(redis_url_redacted(&u, buf, sizeof(buf)),
			    "redis+sentinel://10.0.0.1:26379/m/0");
	redis_url_fini(&u);

	for (size_t i = 0; i < HS_ARRAY_LEN(bad); i++) {
		memset(&u, 0x5a, sizeof(u));
		why = NULL;
		if (redis_url_parse(bad[i].text, &u, &why) != -EINVAL)
			fail_msg("\"%s\" parsed", bad[i].text);
		if (why == NULL || strcmp(why, bad[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", bad[i].text,
				 why ? why : "(null)", bad[i].why);
		assert_null(u.hosts);
		assert_null(u.master);
		assert_null(u.password);
	}
}

static void
test_cluster_url(void **state)
{
	struct redis_url u;
	const char *why = NULL;
	char buf[256];

	(void)state;
	assert_int_equal(redis_url_parse("redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2", &u, &why),
			 0);
	assert_int_equal(u.kind, REDIS_URL_CLUSTER);
	assert_int_equal(u.nhosts, 2);
	assert_string_equal(u.hosts[0].host, "10.0.0.1");
	assert_int_equal(u.hosts[0].port, 7000);
	assert_int_equal(u.hosts[1].port, 6379);
	assert_string_equal(u.user, "u");
	assert_string_equal(u.password, "pw");
	assert_null(u.master);
	assert_string_equal(redis_url_redacted(&u, buf, sizeof(buf)),
			    "redis+cluster://u:***@10.0.0.1:7000,10.0.0.2:6379");
	redis_url_fini(&u);
	assert_int_equal(redis_url_parse("redis+cluster://h:1/", &u, &why), 0);
	redis_url_fini(&u);
	assert_int_equal(redis_url_parse("redis+cluster://h:1/3", &u, &why), -EINVAL);
	assert_string_equal(why, "redis+cluster:// has no database (a cluster has only 0)");
	assert_int_equal(redis_url_parse("redis+cluster://", &u, &why), -EINVAL);
	assert_string_equal(why, "missing host");
	assert_int_equal(redis_url_parse("redis+cluster://h:99999", &u, &why), -EINVAL);
	assert_string_equal(why, "port must be a number from 1 to 65535");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_tls_message_mentions_tls),
		cmocka_unit_test(test_redacted_never_has_password),
		cmocka_unit_test(test_fini_null_and_twice),
		cmocka_unit_test(test_sentinel),
		cmocka_unit_test(test_cluster_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
