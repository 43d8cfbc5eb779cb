// SPDX-License-Identifier: MIT
/*
 * access: the source allowlist. Every entry is kept as a 128-bit prefix, IPv4 as
 * ::ffff:a.b.c.d with 96 added to its length, so one byte-and-mask comparison
 * answers for IPv4 peers, IPv6 peers and the IPv4-mapped peers of a dual-stack
 * listener alike. Lists are tens of entries, so a linear scan is all it needs.
 */
#include "hookstream/access.h"
#include "hookstream/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bits of ::ffff:0:0/96 that precede the IPv4 address in the stored form. */
#define ACCESS_V4_SHIFT 96

static const char MSG_ADDRESS[] = "not an IPv4 or IPv6 address";
static const char MSG_ZONE[] = "zone id not allowed (peers are matched without their %zone)";
static const char MSG_PREFIX_EMPTY[] = "missing prefix length after '/'";
static const char MSG_PREFIX_SYNTAX[] = "prefix length must be a decimal number";
static const char MSG_PREFIX_ZERO[] = "prefix length has a leading zero";
static const char MSG_RANGE_V4[] = "prefix length out of range for IPv4 (0-32)";
static const char MSG_RANGE_V6[] = "prefix length out of range for IPv6 (0-128)";
static const char MSG_HOST_BITS[] = "host bits set below the prefix length";

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The only allocation in the module. */
static void *
access_realloc(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		abort();
	return xrealloc(ptr, nmemb * size);
}

/* Spelled out rather than isspace(): the config syntax must not depend on the locale. */
static bool
is_separator(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/*
 * Parse len bytes of a numeric address into the 16-byte form. A ':' decides the
 * family, so inet_pton alone judges the syntax and "1.2.3" or "010.0.0.1" stay
 * errors (glibc's inet_pton rejects both, unlike inet_aton).
 */
static bool
parse_address(const char *s, size_t len, uint8_t addr[16], bool *is_v4)
{
	char buf[INET6_ADDRSTRLEN];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*is_v4 = memchr(buf, ':', len) == NULL;
	if (!*is_v4)
		return inet_pton(AF_INET6, buf, addr) == 1;
	memcpy(addr, v4_mapped, sizeof(v4_mapped));
	return inet_pton(AF_INET, buf, addr + sizeof(v4_mapped)) == 1;
}

/* Keep the first bits of addr and clear the rest. */
static void
network_of(const uint8_t addr[16], unsigned int bits, uint8_t out[16])
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = bits > i * 8 ? bits - i * 8 : 0;

		if (keep > 8)
			keep = 8;
		out[i] = addr[i] & (uint8_t)(0xff00u >> keep);
	}
}

/*
 * Parse "addr[/len]". Returns NULL, or the static message for the first problem.
 * On MSG_HOST_BITS *p holds the entry as written, so the caller can suggest the
 * network.
 */
static const char *
parse_entry(const char *s, size_t len, struct access_prefix *p)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len;
	unsigned int max, shift, bits = 0;
	uint8_t net[16];
	bool is_v4;

	/* inet_pton would reject it anyway; say why, since "fe80::1%eth0" looks right. */
	if (memchr(s, '%', alen) != NULL)
		return MSG_ZONE;
	if (!parse_address(s, alen, p->addr, &is_v4))
		return MSG_ADDRESS;
	max = is_v4 ? 32 : 128;
	shift = is_v4 ? ACCESS_V4_SHIFT : 0;

	if (slash == NULL) {
		bits = max;
	} else {
		const char *d = slash + 1;
		size_t dlen = len - alen - 1;

		if (dlen == 0)
			return MSG_PREFIX_EMPTY;
		for (size_t i = 0; i < dlen; i++)
			if (d[i] < '0' || d[i] > '9')
				return MSG_PREFIX_SYNTAX;
		/* Like glibc's inet_pton for octets: "/08" is more likely a typo than a /8. */
		if (dlen > 1 && d[0] == '0')
			return MSG_PREFIX_ZERO;
		for (size_t i = 0; i < dlen; i++) {
			bits = bits * 10 + (unsigned int)(d[i] - '0');
			/* Checked per digit, so a long run of digits cannot overflow. */
			if (bits > max)
				return is_v4 ? MSG_RANGE_V4 : MSG_RANGE_V6;
		}
	}
	p->bits = bits + shift;

	network_of(p->addr, p->bits, net);
	if (memcmp(net, p->addr, sizeof(net)) != 0)
		return MSG_HOST_BITS;
	return NULL;
}

static int
entry_error(struct access_error *err, const char *entry, size_t offset, size_t len,
	    const char *message)
{
	if (err == NULL)
		return -EINVAL;
	err->offset = offset;
	err->message = message;
	err->hint[0] = '\0';
	if (len < sizeof(err->token)) {
		memcpy(err->token, entry, len);
		err->token[len] = '\0';
	} else {
		/* Keep the start, which the operator will recognize, and show that it was cut. */
		size_t keep = sizeof(err->token) - sizeof("...");

		memcpy(err->token, entry, keep);
		memcpy(err->token + keep, "...", sizeof("..."));
	}
	return -EINVAL;
}

int
access_list_parse(const char *text, struct access_list *out, struct access_error *err)
{
	struct access_prefix *prefixes = NULL;
	size_t count = 0, cap = 0, pos = 0;
	int ret = 0;

	out->prefixes = NULL;
	out->count = 0;
	while (text[pos] != '\0') {
		struct access_prefix p;
		const char *message;
		size_t start;

		if (is_separator(text[pos])) {
			pos++;
			continue;
		}
		start = pos;
		while (text[pos] != '\0' && !is_separator(text[pos]))
			pos++;

		message = parse_entry(text + start, pos - start, &p);
		if (message != NULL) {
			ret = entry_error(err, text + start, start, pos - start, message);
			if (message == MSG_HOST_BITS && err != NULL) {
				network_of(p.addr, p.bits, p.addr);
				access_prefix_format(&p, err->hint, sizeof(err->hint));
			}
			goto out;
		}
		if (count == cap) {
			cap = cap != 0 ? cap * 2 : 8;
			prefixes = access_realloc(prefixes, cap, sizeof(*prefixes));
		}
		prefixes[count++] = p;
	}
	out->prefixes = prefixes;
	out->count = count;
	prefixes = NULL;
out:
	free(prefixes);
	return ret;
}

void
access_list_fini(struct access_list *list)
{
	if (list == NULL)
		return;
	free(list->prefixes);
	list->prefixes = NULL;
	list->count = 0;
}

static bool
prefix_contains(const struct access_prefix *p, const uint8_t addr[16])
{
	unsigned int full = p->bits / 8, rest = p->bits % 8;

	if (memcmp(p->addr, addr, full) != 0)
		return false;
	/* rest == 0 also keeps a /128 from reading addr[16]. */
	return rest == 0 || ((p->addr[full] ^ addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static bool
list_contains(const struct access_list *list, const uint8_t addr[16])
{
	if (list == NULL)
		return false;
	for (size_t i = 0; i < list->count; i++)
		if (prefix_contains(&list->prefixes[i], addr))
			return true;
	return false;
}

bool
access_allows(const struct access_list *list, const struct sockaddr *sa)
{
	uint8_t addr[16];

	if (sa == NULL)
		return false;
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(addr, v4_mapped, sizeof(v4_mapped));
		memcpy(addr + sizeof(v4_mapped), &((const struct sockaddr_in *)sa)->sin_addr, 4);
		break;
	case AF_INET6:
		/* The scope id is ignored like a %zone in access_allows_str: fe80::/10
		 * admits link-local peers on every interface. */
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		break;
	default:
		return false;
	}
	return list_contains(list, addr);
}

bool
access_allows_str(const struct access_list *list, const char *text)
{
	uint8_t addr[16];
	size_t len;
	bool is_v4;

	if (text == NULL)
		return false;
	len = strcspn(text, "%");
	if (!parse_address(text, len, addr, &is_v4))
		return false;
	/* Only IPv6 has zones, and "fe80::1%" names none: neither comes from a resolver. */
	if (text[len] == '%' && (is_v4 || text[len + 1] == '\0'))
		return false;
	return list_contains(list, addr);
}

const char *
access_prefix_format(const struct access_prefix *p, char *buf, size_t len)
{
	bool is_v4 =
		p->bits >= ACCESS_V4_SHIFT && memcmp(p->addr, v4_mapped, sizeof(v4_mapped)) == 0;
	const void *src = is_v4 ? p->addr + sizeof(v4_mapped) : p->addr;
	char addr[INET6_ADDRSTRLEN];

	/* Cannot fail with INET6_ADDRSTRLEN bytes; "" keeps the output defined regardless. */
	if (inet_ntop(is_v4 ? AF_INET : AF_INET6, src, addr, sizeof(addr)) == NULL)
		addr[0] = '\0';
	(void)snprintf(buf, len, "%s/%u", addr, is_v4 ? p->bits - ACCESS_V4_SHIFT : p->bits);
	return buf;
}

/* ":<1-5 digits>" exactly. */
static bool
access_xff_port(const char *b, const char *e)
{
	if (e - b < 2 || e - b > 6 || *b != ':')
		return false;
	for (b++; b < e; b++)
		if (*b < '0' || *b > '9')
			return false;
	return true;
}

/* Parse one X-Forwarded-For entry [b, e) (trimmed, optional port) into addr. */
static bool
access_xff_entry(const char *b, const char *e, uint8_t *addr)
{
	bool is_v4;

	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (b < e && *b == '[') {
		const char *close = memchr(b, ']', (size_t)(e - b));

		/* "[v6]" or "[v6]:port", nothing else after the bracket. */
		if (close == NULL || (close + 1 < e && !access_xff_port(close + 1, e)))
			return false;
		return parse_address(b + 1, (size_t)(close - b - 1), addr, &is_v4);
	}
	/* "1.2.3.4:80": one colon means a port; IPv6 has several. */
	{
		const char *colon = memchr(b, ':', (size_t)(e - b));

		if (colon != NULL && memchr(colon + 1, ':', (size_t)(e - colon - 1)) == NULL) {
			if (!access_xff_port(colon, e))
				return false;
			e = colon;
		}
	}
	return b < e && parse_address(b, (size_t)(e - b), addr, &is_v4);
}

static void
access_format_addr(const uint8_t *addr, char *out, size_t outlen)
{
	bool is_v4 = memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0;

	if (inet_ntop(is_v4 ? AF_INET : AF_INET6, is_v4 ? addr + sizeof(v4_mapped) : addr, out,
		      (socklen_t)outlen) == NULL &&
	    outlen > 0)
		out[0] = '\0';
}

int
access_forwarded_client(const struct access_list *trusted, const char *xff, const char *peer,
			char *out, size_t outlen)
{
	uint8_t addr[16];
	const char *end;

	if (xff == NULL || xff[strspn(xff, " \t,")] == '\0') {
		(void)snprintf(out, outlen, "%s", peer);
		return 0;
	}
	end = xff + strlen(xff);
	while (end > xff) {
		const char *b = end;

		while (b > xff && b[-1] != ',')
			b--;
		if (b[strspn(b, " \t")] != ',' && b + strspn(b, " \t") < end) {
			if (!access_xff_entry(b, end, addr))
				return -EINVAL;
			access_format_addr(addr, out, outlen);
			if (!list_contains(trusted, addr))
				return 0;
		}
		end = b > xff ? b - 1 : xff;
	}
	/* Every hop was a trusted proxy: the left-most is as far as we can see. */
	return 0;
}
