// SPDX-License-Identifier: MIT
/*
 * redis_url: the Redis address forms hookstream accepts. Hostnames are kept as
 * given (hiredis resolves them); numbers are range-checked so a typo is a
 * startup error, not a connection to the wrong place.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/pct.h"
#include "hookstream/redis_url.h"
#include "hookstream/xalloc.h"

/* Parse a decimal in [min, max] from [b, e). */
static bool
redis_url_number(const char *b, const char *e, long min, long max, int *out)
{
	long v = 0;

	if (b == e || e - b > 9)
		return false;
	for (; b < e; b++) {
		if (!isdigit((unsigned char)*b))
			return false;
		v = v * 10 + (*b - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

static int
redis_url_fail(struct redis_url *out, const char **why, const char *msg)
{
	redis_url_fini(out);
	*why = msg;
	return -EINVAL;
}

static int
redis_url_parse_unix(const char *rest, struct redis_url *out, const char **why)
{
	const char *q = strchr(rest, '?');
	const char *end = q ? q : rest + strlen(rest);

	if (*rest != '/')
		return redis_url_fail(out, why,
				      "unix:// needs an absolute path (unix:///run/redis.sock)");
	out->kind = REDIS_URL_UNIX;
	out->path = pct_decode(rest, end, false, true, NULL);
	if (out->path == NULL)
		return redis_url_fail(out, why, "bad percent-escape in socket path");
	if (q != NULL) {
		if (strncmp(q, "?db=", 4) != 0 ||
		    !redis_url_number(q + 4, q + strlen(q), 0, 1000000, &out->db))
			return redis_url_fail(out, why, "the only query parameter is db=<number>");
	}
	return 0;
}

/* One host[:port] or [v6]:port in [p, e). */
static const char *
redis_url_hostport(const char *p, const char *e, int default_port, char **host, int *port)
{
	const char *hostb, *hoste, *portb = NULL;

	*port = default_port;
	if (p < e && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(e - p));

		if (close == NULL)
			return "unterminated [IPv6] host";
		hostb = p + 1;
		hoste = close;
		if (close + 1 < e) {
			if (close[1] != ':')
				return "expected :port after ]";
			portb = close + 2;
		}
	} else {
		const char *colon = memchr(p, ':', (size_t)(e - p));

		hostb = p;
		hoste = colon ? colon : e;
		if (colon != NULL)
			portb = colon + 1;
	}
	if (hostb == hoste)
		return "missing host";
	for (const char *c = hostb; c < hoste; c++)
		if (!isalnum((unsigned char)*c) && strchr(".-_:", *c) == NULL)
			return "bad character in host";
	if (portb != NULL && !redis_url_number(portb, e, 1, 65535, port))
		return "port must be a number from 1 to 65535";
	*host = xstrndup(hostb, (size_t)(hoste - hostb));
	return NULL;
}

/* [[user]:password@] at p (before slash): into out; returns where the hosts start. */
static const char *
redis_url_credentials(const char *p, const char *slash, struct redis_url *out, const char **why)
{
	const char *at = memrchr(p, '@', (size_t)(slash - p));
	const char *colon;

	*why = NULL;
	if (at == NULL)
		return p;
	colon = memchr(p, ':', (size_t)(at - p));
	if (colon == NULL) {
		*why = "credentials must be [user]:password@";
		return NULL;
	}
	if (colon > p) {
		out->user = pct_decode(p, colon, false, true, NULL);
		if (out->user == NULL) {
			*why = "bad percent-escape in user";
			return NULL;
		}
	}
	out->password = pct_decode(colon + 1, at, false, true, NULL);
	if (out->password == NULL) {
		*why = "bad percent-escape in password";
		return NULL;
	}
	return at + 1;
}

/* A comma-separated host[:port] list in [p, end) into out->hosts. */
static const char *
redis_url_hosts(const char *p, const char *end, int default_port, struct redis_url *out)
{
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		struct redis_url_host h;
		const char *bad;

		if (out->nhosts == 16)
			return "at most 16 hosts";
		bad = redis_url_hostport(p, e, default_port, &h.host, &h.port);
		if (bad != NULL)
			return bad;
		out->hosts = xrealloc(out->hosts, (out->nhosts + 1) * sizeof(*out->hosts));
		out->hosts[out->nhosts++] = h;
		p = comma ? comma + 1 : e;
	}
	return out->nhosts == 0 ? "missing host" : NULL;
}

/* redis+cluster://[cred@]host[:port],...[/]: seed nodes (database 0 only). */
static int
redis_url_parse_cluster(const char *p, struct redis_url *out, const char **why)
{
	const char *end = p + strlen(p);
	const char *slash = strchr(p, '/');

	out->kind = REDIS_URL_CLUSTER;
	if (slash != NULL && slash + 1 != end)
		return redis_url_fail(out, why,
				      "redis+cluster:// has no database (a cluster has only 0)");
	if (slash == NULL)
		slash = end;
	p = redis_url_credentials(p, slash, out, why);
	if (p == NULL)
		return redis_url_fail(out, why, *why);
	*why = redis_url_hosts(p, slash, 6379, out);
	return *why != NULL ? redis_url_fail(out, why, *why) : 0;
}

static int
redis_url_parse_sentinel(const char *p, struct redis_url *out, const char **why)
{
	const char *end = p + strlen(p);
	const char *slash = strchr(p, '/'), *name, *name_end;

	out->kind = REDIS_URL_SENTINEL;
	if (slash == NULL)
		return redis_url_fail(out, why,
				      "redis+sentinel:// needs /<master name> after the sentinels");
	p = redis_url_credentials(p, slash, out, why);
	if (p == NULL)
		return redis_url_fail(out, why, *why);
	*why = redis_url_hosts(p, slash, 26379, out);
	if (*why != NULL)
		return redis_url_fail(out, why, *why);
	name = slash + 1;
	name_end = strchr(name, '/');
	if (name_end == NULL)
		name_end = end;
	if (name == name_end)
		return redis_url_fail(out, why,
				      "redis+sentinel:// needs /<master name> after the sentinels");
	for (const char *c = name; c < name_end; c++)
		if (!isalnum((unsigned char)*c) && strchr(".-_", *c) == NULL)
			return redis_url_fail(out, why, "bad character in master name");
	out->master = xstrndup(name, (size_t)(name_end - name));
	if (name_end < end && name_end + 1 < end &&
	    !redis_url_number(name_end + 1, end, 0, 1000000, &out->db))
		return redis_url_fail(
			out, why,
			"database must be a number (redis+sentinel://host:port/master/0)");
	return 0;
}

int
redis_url_parse(const char *text, struct redis_url *out, const char **why)
{
	const char *p, *slash, *end, *bad;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncmp(text, "unix://", 7) == 0)
		return redis_url_parse_unix(text + 7, out, why);
	if (strncmp(text, "redis+sentinel://", 17) == 0)
		return redis_url_parse_sentinel(text + 17, out, why);
	if (strncmp(text, "redis+cluster://", 16) == 0)
		return redis_url_parse_cluster(text + 16, out, why);
	if (strncmp(text, "rediss://", 9) == 0)
		return redis_url_fail(out, why,
				      "rediss:// (TLS to Redis) is not supported by hiredis 0.14");
	if (strncmp(text, "redis://", 8) != 0)
		return redis_url_fail(out, why,
				      "expected redis://host:port[/db], unix:///path or "
				      "redis+sentinel://host:port,.../master");
	out->kind = REDIS_URL_TCP;
	p = text + 8;
	end = p + strlen(p);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = end;
	p = redis_url_credentials(p, slash, out, why);
	if (p == NULL)
		return redis_url_fail(out, why, *why);
	bad = redis_url_hostport(p, slash, 6379, &out->host, &out->port);
	if (bad != NULL)
		return redis_url_fail(out, why, bad);
	if (slash < end && slash + 1 < end &&
	    !redis_url_number(slash + 1, end, 0, 1000000, &out->db))
		return redis_url_fail(out, why, "database must be a number (redis://host:port/0)");
	return 0;
}

void
redis_url_fini(struct redis_url *u)
{
	if (u == NULL)
		return;
	free(u->host);
	free(u->path);
	free(u->user);
	for (size_t i = 0; i < u->nhosts; i++)
		free(u->hosts[i].host);
	free(u->hosts);
	free(u->master);
	if (u->password != NULL) {
		explicit_bzero(u->password, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof(*u));
}

const char *
redis_url_redacted(const struct redis_url *u, char *buf, size_t len)
{
	const char *cred = u->password ? "***@" : "";
	const char *user = u->user ? u->user : "";
	const char *colon = u->password ? ":" : "";

	if (u->kind == REDIS_URL_UNIX) {
		snprintf(buf, len, "unix://%s?db=%d", u->path, u->db);
	} else if (u->kind == REDIS_URL_SENTINEL || u->kind == REDIS_URL_CLUSTER) {
		size_t n = (size_t)snprintf(buf, len, "redis+%s://%s%s%s",
					    u->kind == REDIS_URL_CLUSTER ? "cluster" : "sentinel",
					    user, colon, cred);

		for (size_t i = 0; i < u->nhosts && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n,
					      strchr(u->hosts[i].host, ':') ? "%s[%s]:%d"
									    : "%s%s:%d",
					      i ? "," : "", u->hosts[i].host, u->hosts[i].port);
		if (n < len && u->kind == REDIS_URL_SENTINEL)
			snprintf(buf + n, len - n, "/%s/%d", u->master, u->db);
	} else if (strchr(u->host, ':') != NULL)
		snprintf(buf, len, "redis://%s%s%s[%s]:%d/%d", user, colon, cred, u->host, u->port,
			 u->db);
	else
		snprintf(buf, len, "redis://%s%s%s%s:%d/%d", user, colon, cred, u->host, u->port,
			 u->db);
	return buf;
}
