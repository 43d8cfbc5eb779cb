// SPDX-License-Identifier: MIT
/*
 * fuzz_access: libFuzzer target for the allowlist. The input is up to three
 * NUL-separated strings: an access list, a probe address (also the peer) and
 * an X-Forwarded-For value. A list that parses must print back to itself and
 * admit its own networks; the string and sockaddr checks must agree; the
 * forwarded client must be a canonical address and fit any output buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/access.h"
#include "hookstream/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_access: " __VA_ARGS__);                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool
fuzz_is_separator(char c)
{
	return strchr(", \t\n\r\v\f", c) != NULL;
}

static void
fuzz_check_error(const char *text, const struct access_list *list, const struct access_error *err)
{
	size_t tlen = strnlen(err->token, sizeof(err->token));
	size_t cmp = tlen;

	CHECK(list->prefixes == NULL && list->count == 0, "failed parse left a list");
	CHECK(err->message != NULL && err->message[0] != '\0', "error without a message");
	CHECK(err->offset < strlen(text), "offset %zu beyond the text", err->offset);
	CHECK(!fuzz_is_separator(text[err->offset]), "offset %zu is on a separator", err->offset);
	CHECK(tlen > 0 && tlen < sizeof(err->token), "token empty or unterminated");
	/* A cut token ends in "..."; the rest is the entry as written. */
	if (tlen == sizeof(err->token) - 1 && strcmp(err->token + tlen - 3, "...") == 0)
		cmp = tlen - 3;
	CHECK(strncmp(err->token, text + err->offset, cmp) == 0, "token \"%s\" is not at %zu",
	      err->token, err->offset);
	CHECK(strnlen(err->hint, sizeof(err->hint)) < sizeof(err->hint), "hint unterminated");
	if (err->hint[0] != '\0') {
		struct access_list again;
		struct access_error err2;

		/* The suggestion must be something the parser takes. */
		CHECK(access_list_parse(err->hint, &again, &err2) == 0,
		      "hint \"%s\" does not parse: %s", err->hint, err2.message);
		CHECK(again.count == 1, "hint \"%s\" gives %zu entries", err->hint, again.count);
		access_list_fini(&again);
	}
}

/* Each entry prints back to an equal entry, and its network address is admitted. */
static void
fuzz_check_list(const struct access_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct access_prefix *p = &list->prefixes[i];
		struct access_list again;
		struct access_error err;
		char buf[64], *slash;

		CHECK(p->bits <= 128, "entry %zu has %u bits", i, p->bits);
		access_prefix_format(p, buf, sizeof(buf));
		CHECK(access_list_parse(buf, &again, &err) == 0, "\"%s\" does not parse: %s", buf,
		      err.message);
		CHECK(again.count == 1 && again.prefixes[0].bits == p->bits &&
			      memcmp(again.prefixes[0].addr, p->addr, 16) == 0,
		      "\"%s\" parses to another prefix", buf);
		access_list_fini(&again);
		slash = strchr(buf, '/');
		CHECK(slash != NULL, "\"%s\" has no prefix length", buf);
		*slash = '\0';
		CHECK(access_allows_str(list, buf), "network %s of entry %zu is not admitted", buf,
		      i);
	}
}

/* access_allows_str and access_allows answer alike, IPv4 and its mapped form too. */
static void
fuzz_check_probe(const struct access_list *list, const char *probe)
{
	bool allowed = access_allows_str(list, probe);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const char *zone = strchr(probe, '%');
	char mapped[64];

	CHECK(!access_allows(list, NULL), "NULL sockaddr allowed");
	CHECK(!access_allows_str(list, NULL), "NULL address allowed");
	if (zone == NULL && inet_pton(AF_INET, probe, &sin.sin_addr) == 1) {
		CHECK(access_allows(list, (const struct sockaddr *)&sin) == allowed,
		      "%s: sockaddr and string disagree", probe);
		snprintf(mapped, sizeof(mapped), "::ffff:%s", probe);
		CHECK(access_allows_str(list, mapped) == allowed, "%s and %s disagree", probe,
		      mapped);
		return;
	}
	if (zone == NULL && inet_pton(AF_INET6, probe, &sin6.sin6_addr) == 1) {
		CHECK(access_allows(list, (const struct sockaddr *)&sin6) == allowed,
		      "%s: sockaddr and string disagree", probe);
		return;
	}
	if (zone != NULL && (size_t)(zone - probe) < sizeof(mapped)) {
		/* A zone is ignored on IPv6, and refused when empty or on IPv4. */
		bool v6 = memchr(probe, ':', (size_t)(zone - probe)) != NULL;

		snprintf(mapped, sizeof(mapped), "%.*s", (int)(zone - probe), probe);
		if (!v6 || zone[1] == '\0')
			CHECK(!allowed, "%s allowed with a zone", probe);
		else
			CHECK(access_allows_str(list, mapped) == allowed, "%s and %s disagree",
			      probe, mapped);
		return;
	}
	CHECK(!allowed, "unparseable %s allowed", probe);
}

static void
fuzz_check_client(const struct access_list *trusted, const char *xff, const char *peer,
		  size_t small)
{
	char out[INET6_ADDRSTRLEN], *cut = xmalloc(small), again[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	bool empty = xff == NULL || xff[strspn(xff, " \t,")] == '\0';
	int rc, rc2;

	memset(out, 'x', sizeof(out));
	rc = access_forwarded_client(trusted, xff, peer, out, sizeof(out));
	CHECK(rc == 0 || rc == -EINVAL, "rc %d", rc);
	CHECK(!empty || rc == 0, "no header, yet rc %d", rc);
	/* The buffer is exactly small bytes, so ASan sees any write past it. */
	rc2 = access_forwarded_client(trusted, xff, peer, cut, small);
	CHECK(rc2 == rc, "rc %d with %zu bytes, %d with %zu", rc2, small, rc, sizeof(out));
	if (rc == 0) {
		CHECK(memchr(out, '\0', sizeof(out)) != NULL, "client unterminated");
		CHECK(memchr(cut, '\0', small) != NULL, "short client unterminated");
		CHECK(cut[0] == '\0' || strncmp(cut, out, strlen(cut)) == 0,
		      "short client \"%s\" is not a prefix of \"%s\"", cut, out);
	}
	free(cut);
	if (rc != 0)
		return;
	if (empty) {
		char want[INET6_ADDRSTRLEN];

		snprintf(want, sizeof(want), "%s", peer);
		CHECK(strcmp(out, want) == 0, "no header: client \"%s\", peer \"%s\"", out, peer);
		return;
	}
	/* Canonical numeric form, IPv4-mapped IPv6 written as IPv4. */
	if (inet_pton(AF_INET, out, bin) == 1) {
		inet_ntop(AF_INET, bin, again, sizeof(again));
	} else {
		CHECK(inet_pton(AF_INET6, out, bin) == 1, "client \"%s\" is not an address", out);
		CHECK(!IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)bin),
		      "client \"%s\" is IPv4-mapped", out);
		inet_ntop(AF_INET6, bin, again, sizeof(again));
	}
	CHECK(strcmp(out, again) == 0, "client \"%s\" is not canonical (\"%s\")", out, again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One copy, NUL-terminated, holds all three strings. */
	char *buf = xmalloc(size + 1), *text, *probe = NULL, *xff = NULL;
	struct access_list list;
	struct access_error err;

	memcpy(buf, data, size);
	buf[size] = '\0';
	text = buf;
	if (strlen(text) < size) {
		probe = text + strlen(text) + 1;
		if ((size_t)(probe - buf) + strlen(probe) < size)
			xff = probe + strlen(probe) + 1;
	}

	memset(&err, 0, sizeof(err));
	if (access_list_parse(text, &list, &err) != 0) {
		fuzz_check_error(text, &list, &err);
		/* An empty list still answers every question: never. */
		list.prefixes = NULL;
		list.count = 0;
	} else {
		fuzz_check_list(&list);
	}
	if (probe != NULL) {
		fuzz_check_probe(&list, probe);
		fuzz_check_client(&list, xff, probe, 1 + (size % INET6_ADDRSTRLEN));
	}
	access_list_fini(&list);
	free(buf);
	return 0;
}
