/* SPDX-License-Identifier: MIT */
/*
 * access: the source allowlist. Parses comma-separated IPv4/IPv6 addresses and
 * CIDR prefixes and answers whether a peer address is inside it. Pure: no I/O,
 * no logging, no event loop. IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4
 * entries, so a dual-stack listener behaves like an IPv4 one.
 */
#ifndef HOOKSTREAM_ACCESS_H
#define HOOKSTREAM_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hookstream/compiler.h"

/* One prefix, stored as 16 bytes (IPv4 as ::ffff:a.b.c.d) plus a prefix length
 * counted on the 128-bit form (an IPv4 /24 is stored as /120). */
struct access_prefix {
	uint8_t addr[16];
	unsigned int bits;
};

struct access_list {
	struct access_prefix *prefixes; /* owned */
	size_t count;
};

/* Parser error: byte offset into the input and a static human message. hint
 * carries the one part that cannot be static: for "host bits set" the network
 * the operator probably meant, so a caller can print "did you mean 10.0.0.0/8?". */
struct access_error {
	size_t offset;
	const char *message; /* static string, never freed */
	char token[64];	     /* the offending entry, truncated, NUL-terminated */
	char hint[64];	     /* "10.0.0.0/8" for host bits set, otherwise "" */
};

/*
 * Parse "10.0.0.0/8, 192.0.2.7, 2001:db8::/32, ::1" into a new list.
 * Entries are separated by commas and/or whitespace; empty entries are skipped.
 * A host address without a prefix means /32 (IPv4) or /128 (IPv6). Host bits set
 * below the prefix (10.1.2.3/8) are an error: the operator probably meant
 * something else. On success *out is filled (caller calls access_list_fini) and 0
 * is returned; on error -EINVAL and *err describes the first bad entry, *out is
 * left empty. An input with no entries gives an empty list (not an error here;
 * the caller decides whether empty is acceptable).
 */
HS_WUR int access_list_parse(const char *text, struct access_list *out, struct access_error *err);

/* Free the prefixes; the list becomes empty. NULL-safe. */
void access_list_fini(struct access_list *list);

/* True when the address (AF_INET or AF_INET6 sockaddr) is inside the list.
 * Any other family, or NULL, is never allowed. */
bool access_allows(const struct access_list *list, const struct sockaddr *sa);

/* Same check for a numeric address string ("192.0.2.1", "::1", "fe80::1%eth0":
 * a zone suffix is ignored). Unparseable text is never allowed. */
bool access_allows_str(const struct access_list *list, const char *addr);

/*
 * The real client behind trusted proxies. xff is the X-Forwarded-For value
 * (several headers joined with ","), possibly NULL. Walking from the right, the
 * first address not inside trusted is the client; when every address is
 * trusted (or there is none) the left-most one is, and with no header at all
 * the peer itself. Entries may carry a port ("1.2.3.4:5", "[::1]:5"), which is
 * dropped. The client is written in canonical numeric form (IPv4-mapped
 * IPv6 as IPv4) into out. Returns 0, or -EINVAL when an entry is not an
 * address (a forged or broken header: refuse the request).
 */
HS_WUR int access_forwarded_client(const struct access_list *trusted, const char *xff,
				   const char *peer, char *out, size_t outlen);

/* Format a prefix back to text ("10.0.0.0/8", "2001:db8::/32") into buf.
 * Returns buf. IPv4 prefixes are printed in IPv4 form. */
const char *access_prefix_format(const struct access_prefix *p, char *buf, size_t len);

#endif
