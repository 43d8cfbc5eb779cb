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

int
redis_url_parse(const char *text, struct redis_url *out, const char **why)
{
	const char *p, *at, *hostb, *hoste, *slash, *portb = NULL, *end;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncmp(text, "unix://", 7) == 0)
		return redis_url_parse_unix(text + 7, out, why);
	if (strncmp(text, "rediss://", 9) == 0)
		return redis_url_fail(out, why,
				      "rediss:// (TLS to Redis) is not supported by hiredis 0.14");
	if (strncmp(text, "redis://", 8) != 0)
		return redis_url_fail(out, why, "expected redis://host:port[/db] or unix:///path");
	out->kind = REDIS_URL_TCP;
	p = text + 8;
	end = p + strlen(p);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = end;
	at = memrchr(p, '@', (size_t)(slash - p));
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (colon == NULL)
			return redis_url_fail(out, why, "credentials must be [user]:password@");
		if (colon > p) {
			out->user = pct_decode(p, colon, false, true, NULL);
			if (out->user == NULL)
				return redis_url_fail(out, why, "bad percent-escape in user");
		}
		out->password = pct_decode(colon + 1, at, false, true, NULL);
		if (out->password == NULL)
			return redis_url_fail(out, why, "bad percent-escape in password");
		p = at + 1;
	}
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(slash - p));

		if (close == NULL)
			return redis_url_fail(out, why, "unterminated [IPv6] host");
		hostb = p + 1;
		hoste = close;
		if (close + 1 < slash) {
			if (close[1] != ':')
				return redis_url_fail(out, why, "expected :port after ]");
			portb = close + 2;
		}
	} else {
		const char *colon = memchr(p, ':', (size_t)(slash - p));

		hostb = p;
		hoste = colon ? colon : slash;
		if (colon != NULL)
			portb = colon + 1;
	}
	if (hostb == hoste)
		return redis_url_fail(out, why, "missing host");
	for (const char *c = hostb; c < hoste; c++)
		if (!isalnum((unsigned char)*c) && strchr(".-_:", *c) == NULL)
			return redis_url_fail(out, why, "bad character in host");
	out->host = xstrndup(hostb, (size_t)(hoste - hostb));
	if (portb != NULL && !redis_url_number(portb, slash, 1, 65535, &out->port))
		return redis_url_fail(out, why, "port must be a number from 1 to 65535");
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

	if (u->kind == REDIS_URL_UNIX)
		snprintf(buf, len, "unix://%s?db=%d", u->path, u->db);
	else if (strchr(u->host, ':') != NULL)
		snprintf(buf, len, "redis://%s%s%s[%s]:%d/%d", user, colon, cred, u->host, u->port,
			 u->db);
	else
		snprintf(buf, len, "redis://%s%s%s%s:%d/%d", user, colon, cred, u->host, u->port,
			 u->db);
	return buf;
}
