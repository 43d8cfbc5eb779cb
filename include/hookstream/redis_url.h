/* SPDX-License-Identifier: MIT */
/*
 * redis_url: parses where Redis is. redis://[[user]:password@]host[:port][/db]
 * (host may be [IPv6]; user and password percent-decoded),
 * unix:///path[?db=N], and
 * redis+sentinel://[[user]:password@]host[:port],host[:port].../master[/db]
 * (sentinels, default port 26379; the credentials and db are the master's),
 * and redis+cluster://[[user]:password@]host[:port],... (seed nodes of a
 * Redis Cluster; database 0).
 * Pure.
 */
#ifndef HOOKSTREAM_REDIS_URL_H
#define HOOKSTREAM_REDIS_URL_H

#include <stddef.h>

#include "hookstream/compiler.h"

enum redis_url_kind {
	REDIS_URL_TCP,
	REDIS_URL_UNIX,
	REDIS_URL_SENTINEL,
	REDIS_URL_CLUSTER,
};

struct redis_url_host {
	char *host; /* without brackets; owned */
	int port;
};

struct redis_url {
	enum redis_url_kind kind;
	char *host;	/* TCP: host without brackets; owned */
	int port;	/* TCP: 1..65535, default 6379 */
	char *path;	/* UNIX: socket path; owned */
	char *user;	/* NULL when absent; owned */
	char *password; /* NULL when absent; owned; secret */
	int db;		/* 0.. */
	/* SENTINEL: the sentinels and the master's name; CLUSTER: seed nodes */
	struct redis_url_host *hosts; /* owned */
	size_t nhosts;
	char *master; /* owned */
};

/* Parse text into *out (caller calls redis_url_fini). On error returns -EINVAL
 * and points *why at a static message; *out is left empty. */
HS_WUR int redis_url_parse(const char *text, struct redis_url *out, const char **why);

void redis_url_fini(struct redis_url *u);

/* Write the URL with the password replaced by "***" (for logs) into buf. */
const char *redis_url_redacted(const struct redis_url *u, char *buf, size_t len);

#endif
