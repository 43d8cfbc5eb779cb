// SPDX-License-Identifier: MIT
/*
 * test_access: unit tests for the allowlist parser and matcher. Tables hold the
 * cases; a failure names the case and prints what came back next to what was
 * expected. Lists that allow everything (0.0.0.0/0, ::/0) make "not allowed"
 * results mean something: only the rejection of the input can cause them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "hookstream/access.h"

#define ALLOW_ALL "0.0.0.0/0, ::/0"

/* Parse text that must be valid; a failure prints the parser's own error. */
static void
parse_ok(const char *text, struct access_list *list)
{
	struct access_error err = { 0 };
	int ret = access_list_parse(text, list, &err);

	if (ret != 0)
		fail_msg("parse \"%s\": ret %d, want 0: %s at %zu \"%s\"", text, ret,
			 err.message ? err.message : "(null)", err.offset, err.token);
}

/* The list in access_prefix_format form, entries joined by one space. */
static void
list_format(const struct access_list *list, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < list->count; i++) {
		char one[64];

		access_prefix_format(&list->prefixes[i], one, sizeof(one));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", one);
		assert_true(used < len);
	}
}

static void
test_parse_valid(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "192.0.2.7", "192.0.2.7/32" },
		{ "192.0.2.7/32", "192.0.2.7/32" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "::1", "::1/128" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "::/0", "::/0" },
		{ "128.0.0.0/1", "128.0.0.0/1" },
		{ "192.0.2.6/31", "192.0.2.6/31" },
		{ "8000::/1", "8000::/1" },
		{ "2001:db8::/127", "2001:db8::/127" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
		/* The IPv6 spelling of an IPv4 prefix is the same prefix. */
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "::ffff:0:0/96", "0.0.0.0/0" },
		{ "2001:0DB8:0000::/32", "2001:db8::/32" },
		{ "10.0.0.0/8,192.0.2.7", "10.0.0.0/8 192.0.2.7/32" },
		{ "10.0.0.0/8, 192.0.2.7, 2001:db8::/32, ::1",
		  "10.0.0.0/8 192.0.2.7/32 2001:db8::/32 ::1/128" },
		{ "10.0.0.0/8 192.0.2.7", "10.0.0.0/8 192.0.2.7/32" },
		{ " \t10.0.0.0/8,,\n, 192.0.2.7\r\n\v\f::1 ,", "10.0.0.0/8 192.0.2.7/32 ::1/128" },
		{ ",,,10.0.0.0/8", "10.0.0.0/8" },
		{ "10.0.0.0/8,10.0.0.0/8", "10.0.0.0/8 10.0.0.0/8" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct access_list list;
		char got[512];

		parse_ok(cases[i].text, &list);
		list_format(&list, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("parse \"%s\": got \"%s\", want \"%s\"", cases[i].text, got,
				 cases[i].want);
		access_list_fini(&list);
	}
}

static void
test_parse_stored_form(void **state)
{
	static const uint8_t ten[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0 };
	static const uint8_t doc[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct access_list list, mapped;
	(void)state;

	parse_ok("10.0.0.0/8, 2001:db8::/32, 192.0.2.7, ::1", &list);
	assert_int_equal(list.count, 4);
	assert_memory_equal(list.prefixes[0].addr, ten, 16);
	assert_int_equal(list.prefixes[0].bits, 104);
	assert_memory_equal(list.prefixes[1].addr, doc, 16);
	assert_int_equal(list.prefixes[1].bits, 32);
	assert_int_equal(list.prefixes[2].bits, 128);
	assert_int_equal(list.prefixes[3].bits, 128);

	parse_ok("::ffff:10.0.0.0/104", &mapped);
	assert_int_equal(mapped.count, 1);
	assert_memory_equal(mapped.prefixes[0].addr, list.prefixes[0].addr, 16);
	assert_int_equal(mapped.prefixes[0].bits, list.prefixes[0].bits);

	access_list_fini(&mapped);
	access_list_fini(&list);
}

static void
test_parse_empty_input(void **state)
{
	static const char *const inputs[] = { "", " ", ",", ",,,", " ,\t\n, \r\n" };
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(inputs); i++) {
		struct access_list list = { .count = 99 };

		parse_ok(inputs[i], &list);
		if (list.count != 0)
			fail_msg("parse \"%s\": %zu entries, want 0", inputs[i], list.count);
		assert_false(access_allows_str(&list, "10.0.0.1"));
		access_list_fini(&list);
	}
}

/* Past the first eight entries the array must grow, and every entry still count. */
static void
test_parse_many_entries(void **state)
{
	char text[300 * 16];
	struct access_list list;
	size_t used = 0;
	(void)state;

	for (unsigned int i = 0; i < 300; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "10.%u.%u.0/24, ",
					 i / 256, i % 256);
	parse_ok(text, &list);
	assert_int_equal(list.count, 300);
	assert_true(access_allows_str(&list, "10.0.0.1"));
	assert_true(access_allows_str(&list, "10.1.43.255"));
	assert_false(access_allows_str(&list, "10.1.44.0"));
	access_list_fini(&list);
}

static void
test_parse_errors(void **state)
{
	static const char bad_addr[] = "not an IPv4 or IPv6 address";
	static const char zone[] = "zone id not allowed (peers are matched without their %zone)";
	static const char empty[] = "missing prefix length after '/'";
	static const char syntax[] = "prefix length must be a decimal number";
	static const char zero[] = "prefix length has a leading zero";
	static const char range4[] = "prefix length out of range for IPv4 (0-32)";
	static const char range6[] = "prefix length out of range for IPv6 (0-128)";
	static const char host[] = "host bits set below the prefix length";
	static const struct {
		const char *text;
		size_t offset;
		const char *message;
		const char *token;
		const char *hint;
	} cases[] = {
		{ "10.0.0.0/", 0, empty, "10.0.0.0/", "" },
		{ "/8", 0, bad_addr, "/8", "" },
		{ "/", 0, bad_addr, "/", "" },
		{ "10.0.0.0/8/8", 0, syntax, "10.0.0.0/8/8", "" },
		{ "10.0.0.0//8", 0, syntax, "10.0.0.0//8", "" },
		{ "10.0.0.0/+8", 0, syntax, "10.0.0.0/+8", "" },
		{ "10.0.0.0/-1", 0, syntax, "10.0.0.0/-1", "" },
		{ "10.0.0.0/8x", 0, syntax, "10.0.0.0/8x", "" },
		{ "10.0.0.0/0x8", 0, syntax, "10.0.0.0/0x8", "" },
		{ "::/1:", 0, syntax, "::/1:", "" },
		{ "10.0.0.0/08", 0, zero, "10.0.0.0/08", "" },
		{ "0.0.0.0/00", 0, zero, "0.0.0.0/00", "" },
		{ "::/000", 0, zero, "::/000", "" },
		{ "10.0.0.0/33", 0, range4, "10.0.0.0/33", "" },
		{ "10.0.0.0/128", 0, range4, "10.0.0.0/128", "" },
		{ "10.0.0.0/99999999999999999999", 0, range4, "10.0.0.0/99999999999999999999", "" },
		{ "::/129", 0, range6, "::/129", "" },
		{ "::ffff:10.0.0.0/129", 0, range6, "::ffff:10.0.0.0/129", "" },
		{ "10.1.2.3/8", 0, host, "10.1.2.3/8", "10.0.0.0/8" },
		{ "10.0.0.1/0", 0, host, "10.0.0.1/0", "0.0.0.0/0" },
		{ "192.0.2.7/31", 0, host, "192.0.2.7/31", "192.0.2.6/31" },
		{ "2001:db8::1/32", 0, host, "2001:db8::1/32", "2001:db8::/32" },
		{ "2001:db8::1/127", 0, host, "2001:db8::1/127", "2001:db8::/127" },
		{ "::1/0", 0, host, "::1/0", "::/0" },
		{ "::ffff:10.1.0.0/104", 0, host, "::ffff:10.1.0.0/104", "10.0.0.0/8" },
		{ "fe80::1%eth0", 0, zone, "fe80::1%eth0", "" },
		{ "fe80::%1/64", 0, zone, "fe80::%1/64", "" },
		{ "10.0.0.1%eth0", 0, zone, "10.0.0.1%eth0", "" },
		{ "10.0.0.256", 0, bad_addr, "10.0.0.256", "" },
		{ "10.0.0", 0, bad_addr, "10.0.0", "" },
		{ "10.0.0.0.0/8", 0, bad_addr, "10.0.0.0.0/8", "" },
		{ "010.0.0.1", 0, bad_addr, "010.0.0.1", "" },
		{ "0x0a.0.0.1", 0, bad_addr, "0x0a.0.0.1", "" },
		{ "1::2::3", 0, bad_addr, "1::2::3", "" },
		{ "gggg::/16", 0, bad_addr, "gggg::/16", "" },
		{ "[::1]", 0, bad_addr, "[::1]", "" },
		{ "localhost", 0, bad_addr, "localhost", "" },
		/* One byte longer than INET6_ADDRSTRLEN - 1, the longest valid spelling. */
		{ "0000:0000:0000:0000:0000:ffff:255.255.255.2555", 0, bad_addr,
		  "0000:0000:0000:0000:0000:ffff:255.255.255.2555", "" },
		{ "10.0.0.0;192.0.2.1", 0, bad_addr, "10.0.0.0;192.0.2.1", "" },
		/* Offsets point at the bad entry, past good entries and separators. */
		{ "10.0.0.0/8, 192.0.2.1, 10.1.2.3/8", 23, host, "10.1.2.3/8", "10.0.0.0/8" },
		{ "10.0.0.0/8,\n  192.0.2.300", 14, bad_addr, "192.0.2.300", "" },
		{ " ,,\t::1, ::1/", 9, empty, "::1/", "" },
		/* Only the first bad entry is reported. */
		{ "bad1, bad2", 0, bad_addr, "bad1", "" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct access_error err;
		struct access_list list;
		int ret;

		/* Filled, so a missing NUL or an untouched field shows up as a mismatch. */
		memset(&err, 0x55, sizeof(err));
		err.message = NULL;
		ret = access_list_parse(cases[i].text, &list, &err);
		if (ret != -EINVAL)
			fail_msg("parse \"%s\": ret %d, want %d", cases[i].text, ret, -EINVAL);
		if (err.offset != cases[i].offset)
			fail_msg("parse \"%s\": offset %zu, want %zu", cases[i].text, err.offset,
				 cases[i].offset);
		if (err.message == NULL || strcmp(err.message, cases[i].message) != 0)
			fail_msg("parse \"%s\": message \"%s\", want \"%s\"", cases[i].text,
				 err.message ? err.message : "(null)", cases[i].message);
		if (strcmp(err.token, cases[i].token) != 0)
			fail_msg("parse \"%s\": token \"%s\", want \"%s\"", cases[i].text,
				 err.token, cases[i].token);
		if (strcmp(err.hint, cases[i].hint) != 0)
			fail_msg("parse \"%s\": hint \"%s\", want \"%s\"", cases[i].text, err.hint,
				 cases[i].hint);
		if (list.prefixes != NULL || list.count != 0)
			fail_msg("parse \"%s\": list not empty after error (%zu entries)",
				 cases[i].text, list.count);
	}
}

/* Good entries parsed before the bad one must be freed (LSan checks) and not leak out. */
static void
test_parse_error_leaves_output_empty(void **state)
{
	struct access_prefix junk;
	struct access_list list = { .prefixes = &junk, .count = 7 };
	struct access_error err;
	(void)state;

	assert_int_equal(access_list_parse("10.0.0.0/8, ::1, 192.0.2.0/24, x", &list, &err),
			 -EINVAL);
	assert_null(list.prefixes);
	assert_int_equal(list.count, 0);
	assert_int_equal(err.offset, 31);
	assert_string_equal(err.token, "x");
}

static void
test_parse_error_without_err(void **state)
{
	struct access_list list;
	(void)state;

	assert_int_equal(access_list_parse("10.0.0.0/8, 10.1.2.3/8", &list, NULL), -EINVAL);
	assert_null(list.prefixes);
	assert_int_equal(list.count, 0);
}

/* The token is cut to fit and marked with "..." so an operator sees it was cut. */
static void
test_parse_error_token_truncated(void **state)
{
	static const size_t lens[] = { 62, 63, 64, 100, 5000 };
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(lens); i++) {
		size_t len = lens[i];
		char *text = malloc(len + 8);
		struct access_error err;
		struct access_list list;
		char want[64];

		assert_non_null(text);
		memcpy(text, "::1, ", 5);
		memset(text + 5, 'a', len);
		text[5 + len] = '\0';
		if (len <= 63) {
			memset(want, 'a', len);
			want[len] = '\0';
		} else {
			memset(want, 'a', 60);
			memcpy(want + 60, "...", 4);
		}

		assert_int_equal(access_list_parse(text, &list, &err), -EINVAL);
		assert_int_equal(err.offset, 5);
		assert_string_equal(err.token, want);
		free(text);
	}
}

static void
test_allows_table(void **state)
{
	static const struct {
		const char *list;
		const char *peer;
		bool want;
	} cases[] = {
		/* IPv4 /8: first and last inside, the neighbours outside. */
		{ "10.0.0.0/8", "10.0.0.0", true },
		{ "10.0.0.0/8", "10.255.255.255", true },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "10.0.0.0/8", "11.0.0.0", false },
		/* A prefix that does not end on a byte. */
		{ "10.0.0.0/12", "10.15.255.255", true },
		{ "10.0.0.0/12", "10.16.0.0", false },
		{ "172.16.0.0/12", "172.31.255.255", true },
		{ "172.16.0.0/12", "172.15.255.255", false },
		{ "172.16.0.0/12", "172.32.0.0", false },
		/* /0 of each family. */
		{ "0.0.0.0/0", "0.0.0.0", true },
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "0.0.0.0/0", "::ffff:192.0.2.1", true },
		{ "0.0.0.0/0", "::1", false },
		{ "0.0.0.0/0", "::", false },
		{ "0.0.0.0/0", "2001:db8::1", false },
		{ "0.0.0.0/0", "::192.0.2.1", false },
		{ "::/0", "::", true },
		{ "::/0", "::1", true },
		{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "::/0", "192.0.2.1", true },
		{ "::/0", "::ffff:192.0.2.1", true },
		/* /1 */
		{ "128.0.0.0/1", "128.0.0.0", true },
		{ "128.0.0.0/1", "255.255.255.255", true },
		{ "128.0.0.0/1", "127.255.255.255", false },
		{ "0.0.0.0/1", "127.255.255.255", true },
		{ "0.0.0.0/1", "128.0.0.0", false },
		{ "8000::/1", "8000::", true },
		{ "8000::/1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "8000::/1", "192.0.2.1", false },
		/* /31 and /32 */
		{ "192.0.2.6/31", "192.0.2.6", true },
		{ "192.0.2.6/31", "192.0.2.7", true },
		{ "192.0.2.6/31", "192.0.2.5", false },
		{ "192.0.2.6/31", "192.0.2.8", false },
		{ "192.0.2.7/32", "192.0.2.7", true },
		{ "192.0.2.7", "192.0.2.7", true },
		{ "192.0.2.7/32", "192.0.2.6", false },
		{ "192.0.2.7/32", "192.0.2.8", false },
		{ "255.255.255.255", "255.255.255.255", true },
		{ "255.255.255.255", "255.255.255.254", false },
		/* IPv6 /32, /127 and /128 */
		{ "2001:db8::/32", "2001:db8::", true },
		{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "2001:db8::/32", "2001:db9::", false },
		{ "2001:db8:8000::/33", "2001:db8:ffff::1", true },
		{ "2001:db8:8000::/33", "2001:db8:7fff::1", false },
		{ "2001:db8::/127", "2001:db8::", true },
		{ "2001:db8::/127", "2001:db8::1", true },
		{ "2001:db8::/127", "2001:db8::2", false },
		{ "2001:db8::/127", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "2001:db8::1/128", "2001:db8::1", true },
		{ "2001:db8::1", "2001:db8::1", true },
		{ "2001:db8::1/128", "2001:db8::", false },
		{ "2001:db8::1/128", "2001:db8::2", false },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", false },
		/* IPv4 entries and IPv4-mapped peers. */
		{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
		{ "10.0.0.0/8", "::ffff:a01:203", true },
		{ "10.0.0.0/8", "::ffff:11.0.0.0", false },
		{ "192.0.2.7", "::ffff:192.0.2.7", true },
		{ "10.0.0.0/8", "::10.1.2.3", false },
		{ "10.0.0.0/8", "64:ff9b::10.1.2.3", false },
		{ "10.0.0.0/8", "a01:203::", false },
		/* IPv4-mapped entries and IPv4 peers. */
		{ "::ffff:10.0.0.0/104", "10.1.2.3", true },
		{ "::ffff:10.0.0.0/104", "11.0.0.0", false },
		{ "::ffff:10.0.0.0/104", "::ffff:10.255.255.255", true },
		{ "::ffff:0:0/96", "203.0.113.9", true },
		{ "::ffff:0:0/96", "::1", false },
		{ "::ffff:192.0.2.7", "192.0.2.7", true },
		/* IPv6 prefixes cover IPv4 peers exactly when they contain ::ffff:0:0/96. */
		{ "::/8", "10.0.0.1", true },
		{ "::/96", "10.0.0.1", false },
		{ "::/96", "::10.0.0.1", true },
		{ "2001:db8::/32", "10.0.0.1", false },
		/* Several entries: any one of them is enough. */
		{ "10.0.0.0/8, 192.0.2.7, 2001:db8::/32", "10.0.0.1", true },
		{ "10.0.0.0/8, 192.0.2.7, 2001:db8::/32", "192.0.2.7", true },
		{ "10.0.0.0/8, 192.0.2.7, 2001:db8::/32", "2001:db8::7", true },
		{ "10.0.0.0/8, 192.0.2.7, 2001:db8::/32", "192.0.2.8", false },
		{ "10.0.0.0/8, 192.0.2.7, 2001:db8::/32", "2001:db9::", false },
		{ "", "10.0.0.1", false },
		{ "", "::1", false },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct access_list list;
		bool got;

		parse_ok(cases[i].list, &list);
		got = access_allows_str(&list, cases[i].peer);
		if (got != cases[i].want)
			fail_msg("list \"%s\" peer \"%s\": got %s, want %s", cases[i].list,
				 cases[i].peer, got ? "allowed" : "denied",
				 cases[i].want ? "allowed" : "denied");
		access_list_fini(&list);
	}
}

/* A peer as accept() would return it; port and scope id set to show they are ignored. */
static void
sockaddr_of(int family, const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(8080);
		if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
			fail_msg("bad IPv4 test address \"%s\"", text);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(8080);
		sin6->sin6_scope_id = 2;
		if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
			fail_msg("bad IPv6 test address \"%s\"", text);
	}
}

static void
test_allows_sockaddr(void **state)
{
	static const struct {
		const char *list;
		const char *peer;
		int family;
		bool want;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0", AF_INET, true },
		{ "10.0.0.0/8", "10.255.255.255", AF_INET, true },
		{ "10.0.0.0/8", "9.255.255.255", AF_INET, false },
		{ "10.0.0.0/8", "11.0.0.0", AF_INET, false },
		{ "192.0.2.7", "192.0.2.7", AF_INET, true },
		{ "192.0.2.7", "192.0.2.6", AF_INET, false },
		{ "192.0.2.7", "192.0.2.8", AF_INET, false },
		{ "::ffff:10.0.0.0/104", "10.1.2.3", AF_INET, true },
		{ "::ffff:10.0.0.0/104", "11.0.0.0", AF_INET, false },
		{ "0.0.0.0/0", "203.0.113.9", AF_INET, true },
		{ "::/0", "203.0.113.9", AF_INET, true },
		{ "2001:db8::/32", "32.1.13.184", AF_INET, false },
		{ "2001:db8::/32", "2001:db8::1", AF_INET6, true },
		{ "2001:db8::/32", "2001:db9::1", AF_INET6, false },
		{ "2001:db8::7", "2001:db8::7", AF_INET6, true },
		{ "2001:db8::7", "2001:db8::6", AF_INET6, false },
		{ "fe80::/10", "fe80::1", AF_INET6, true },
		{ "10.0.0.0/8", "::ffff:10.1.2.3", AF_INET6, true },
		{ "10.0.0.0/8", "::ffff:11.0.0.0", AF_INET6, false },
		{ "10.0.0.0/8", "::10.1.2.3", AF_INET6, false },
		{ "0.0.0.0/0", "::ffff:203.0.113.9", AF_INET6, true },
		{ "0.0.0.0/0", "::1", AF_INET6, false },
		{ "::/0", "::1", AF_INET6, true },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct sockaddr_storage ss;
		struct access_list list;
		bool got;

		sockaddr_of(cases[i].family, cases[i].peer, &ss);
		parse_ok(cases[i].list, &list);
		got = access_allows(&list, (const struct sockaddr *)&ss);
		if (got != cases[i].want)
			fail_msg("list \"%s\" %s peer \"%s\": got %s, want %s", cases[i].list,
				 cases[i].family == AF_INET ? "sockaddr_in" : "sockaddr_in6",
				 cases[i].peer, got ? "allowed" : "denied",
				 cases[i].want ? "allowed" : "denied");
		access_list_fini(&list);
	}
}

/* Families other than IPv4/IPv6 and NULLs are denied even by a list that allows all. */
static void
test_allows_other_families_and_null(void **state)
{
	struct sockaddr_storage ok, unspec;
	struct access_list list;
	struct sockaddr_un un;
	(void)state;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, "/run/hookstream.sock", sizeof("/run/hookstream.sock"));
	sockaddr_of(AF_INET6, "::1", &ok);
	/* A valid address under another family must not be read as one. */
	sockaddr_of(AF_INET6, "::1", &unspec);
	unspec.ss_family = AF_UNSPEC;

	parse_ok(ALLOW_ALL, &list);
	assert_true(access_allows(&list, (const struct sockaddr *)&ok));
	assert_false(access_allows(&list, (const struct sockaddr *)&un));
	assert_false(access_allows(&list, (const struct sockaddr *)&unspec));
	assert_false(access_allows(&list, NULL));
	assert_false(access_allows(NULL, (const struct sockaddr *)&ok));
	assert_false(access_allows_str(&list, NULL));
	assert_false(access_allows_str(NULL, "::1"));
	access_list_fini(&list);
}

static void
test_allows_str_zone(void **state)
{
	static const struct {
		const char *list;
		const char *peer;
		bool want;
	} cases[] = {
		{ "fe80::/10", "fe80::1%eth0", true },
		{ "fe80::/10", "fe80::1%2", true },
		{ "fe80::/10", "fe80::1", true },
		{ "fe80::/10", "fec0::1%eth0", false },
		{ "2001:db8::1", "2001:db8::1%eth0", true },
		{ "2001:db8::1", "2001:db8::2%eth0", false },
		/* A zone does not make garbage before it acceptable. */
		{ ALLOW_ALL, "fe80::1%eth0", true },
		{ ALLOW_ALL, "fe80::1%", false },
		{ ALLOW_ALL, "%eth0", false },
		{ ALLOW_ALL, "fe80::1x%eth0", false },
		/* IPv4 has no zones; a resolver never produces one. */
		{ ALLOW_ALL, "10.0.0.1%eth0", false },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct access_list list;
		bool got;

		parse_ok(cases[i].list, &list);
		got = access_allows_str(&list, cases[i].peer);
		if (got != cases[i].want)
			fail_msg("list \"%s\" peer \"%s\": got %s, want %s", cases[i].list,
				 cases[i].peer, got ? "allowed" : "denied",
				 cases[i].want ? "allowed" : "denied");
		access_list_fini(&list);
	}
}

static void
test_allows_str_garbage(void **state)
{
	static const char *const peers[] = {
		"",
		" ",
		" 10.0.0.1",
		"10.0.0.1 ",
		"10.0.0.1\n",
		"[::1]",
		"[::1]:80",
		"10.0.0.1:80",
		"10.0.0.1/32",
		"::1/128",
		"10.0.0.0/8",
		"localhost",
		"10.0.0",
		"10.0.0.256",
		"010.0.0.1",
		"0x0a000001",
		"167772161",
		"1::2::3",
		":::",
		"::ffff:010.0.0.1",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000",
		"0000:0000:0000:0000:0000:ffff:255.255.255.2555",
		"10.0.0.1,10.0.0.2",
	};
	struct access_list list;
	char huge[1024];
	(void)state;

	parse_ok(ALLOW_ALL, &list);
	for (size_t i = 0; i < HS_ARRAY_LEN(peers); i++)
		if (access_allows_str(&list, peers[i]))
			fail_msg("peer \"%s\": allowed, want denied", peers[i]);

	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_false(access_allows_str(&list, huge));
	/* The longest valid spelling still fits the parser's buffer. */
	assert_true(access_allows_str(&list, "0000:0000:0000:0000:0000:ffff:255.255.255.255"));
	access_list_fini(&list);
}

/* Canonical text survives parse -> format unchanged, and the output parses back to it. */
static void
test_format_round_trip(void **state)
{
	static const char *const texts[] = {
		"0.0.0.0/0",
		"10.0.0.0/8",
		"128.0.0.0/1",
		"172.16.0.0/12",
		"192.0.2.6/31",
		"192.0.2.7/32",
		"255.255.255.255/32",
		"::/0",
		"::/1",
		"8000::/1",
		"2001:db8::/32",
		"2001:db8:8000::/33",
		"2001:db8::/127",
		"::1/128",
		"fe80::/10",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		"::fffe:0:0/95",
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(texts); i++) {
		struct access_list first, second;
		char buf[64];

		parse_ok(texts[i], &first);
		assert_int_equal(first.count, 1);
		access_prefix_format(&first.prefixes[0], buf, sizeof(buf));
		if (strcmp(buf, texts[i]) != 0)
			fail_msg("format of \"%s\": got \"%s\"", texts[i], buf);
		parse_ok(buf, &second);
		assert_int_equal(second.count, 1);
		assert_memory_equal(second.prefixes[0].addr, first.prefixes[0].addr, 16);
		assert_int_equal(second.prefixes[0].bits, first.prefixes[0].bits);
		access_list_fini(&second);
		access_list_fini(&first);
	}
}

static void
test_format_hand_built(void **state)
{
	struct access_prefix v4 = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 0 },
				    120 };
	struct access_prefix v6 = { { 0x20, 0x01, 0x0d, 0xb8 }, 32 };
	/* The ::ffff:0:0 pattern only reads as IPv4 from /96 on. */
	struct access_prefix short_mapped = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 80 };
	char buf[64];
	(void)state;

	assert_string_equal(access_prefix_format(&v4, buf, sizeof(buf)), "192.0.2.0/24");
	assert_string_equal(access_prefix_format(&v6, buf, sizeof(buf)), "2001:db8::/32");
	assert_string_equal(access_prefix_format(&short_mapped, buf, sizeof(buf)),
			    "::ffff:0.0.0.0/80");
}

static void
test_format_small_buffer(void **state)
{
	struct access_prefix v4 = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0 },
				    104 };
	char buf[16];
	(void)state;

	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(access_prefix_format(&v4, buf, 5), buf);
	assert_string_equal(buf, "10.0");
	assert_int_equal(buf[5], 'X');

	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(access_prefix_format(&v4, buf, 0), buf);
	assert_int_equal(buf[0], 'X');

	assert_string_equal(access_prefix_format(&v4, buf, 11), "10.0.0.0/8");
	assert_string_equal(access_prefix_format(&v4, buf, 10), "10.0.0.0/");
}

static void
test_fini_is_null_safe_and_repeatable(void **state)
{
	struct access_list list;
	(void)state;

	access_list_fini(NULL);
	parse_ok("10.0.0.0/8", &list);
	access_list_fini(&list);
	assert_null(list.prefixes);
	assert_int_equal(list.count, 0);
	access_list_fini(&list);
	assert_false(access_allows_str(&list, "10.0.0.1"));
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_stored_form),
		cmocka_unit_test(test_parse_empty_input),
		cmocka_unit_test(test_parse_many_entries),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_error_leaves_output_empty),
		cmocka_unit_test(test_parse_error_without_err),
		cmocka_unit_test(test_parse_error_token_truncated),
		cmocka_unit_test(test_allows_table),
		cmocka_unit_test(test_allows_sockaddr),
		cmocka_unit_test(test_allows_other_families_and_null),
		cmocka_unit_test(test_allows_str_zone),
		cmocka_unit_test(test_allows_str_garbage),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_hand_built),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_fini_is_null_safe_and_repeatable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
