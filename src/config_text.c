// SPDX-License-Identifier: MIT
/*
 * config_text: settings as text, outside the loader: a listen address parsed,
 * a value printed for the startup log (secrets masked), and two
 * configurations compared for what only a restart can change.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/config.h"
#include "hookstream/redis_url.h"
#include "hookstream/xalloc.h"

int
config_parse_address(const char *text, char **host, int *port, const char **why)
{
	const char *colon, *hb, *he;
	unsigned char buf[16];
	char *h;
	long p = 0;

	*host = NULL;
	if (*text == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':') {
			*why = "expected [IPv6]:port";
			return -EINVAL;
		}
		hb = text + 1;
		he = close;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL) {
			*why = "expected host:port";
			return -EINVAL;
		}
		hb = text;
		he = colon;
	}
	if (colon[1] == '\0' || strlen(colon + 1) > 5) {
		*why = "port must be a number from 1 to 65535";
		return -EINVAL;
	}
	for (const char *c = colon + 1; *c; c++) {
		if (!isdigit((unsigned char)*c)) {
			*why = "port must be a number from 1 to 65535";
			return -EINVAL;
		}
		p = p * 10 + (*c - '0');
	}
	if (p < 1 || p > 65535) {
		*why = "port must be a number from 1 to 65535";
		return -EINVAL;
	}
	h = xstrndup(hb, (size_t)(he - hb));
	if (inet_pton(*text == '[' ? AF_INET6 : AF_INET, h, buf) != 1) {
		free(h);
		*why = *text == '[' ? "host must be a numeric IPv6 address inside [ ]"
				    : "host must be a numeric IPv4 address (IPv6 as [::1]:port)";
		return -EINVAL;
	}
	*host = h;
	*port = (int)p;
	return 0;
}

const char *
config_value_text(const struct config *cfg, const struct config_key *k, char *buf, size_t len)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	const char *text;

	switch (k->type) {
	case CONFIG_UINT:
		snprintf(buf, len, "%llu",
			 (unsigned long long)*(const uint64_t *)(const void *)((const char *)cfg +
									       k->offset));
		return buf;
	case CONFIG_LEVEL:
		snprintf(buf, len, "%s", levels[cfg->log_level]);
		return buf;
	case CONFIG_FORMAT:
		snprintf(buf, len, "%s", cfg->log_format == LOG_FORMAT_JSON ? "json" : "text");
		return buf;
	case CONFIG_REDIS:
		return redis_url_redacted(&cfg->redis, buf, len);
	default:
		text = *(char *const *)(const void *)((const char *)cfg + k->offset);
		snprintf(buf, len, "%s",
			 k->secret ? (text && *text ? "***" : "") : (text ? text : ""));
		return buf;
	}
}

/* What a running process cannot change: its sockets, its Redis connection,
 * its spool and what the publisher was built with. */
static const char *const config_restart_only[] = {
	"listen",	   "admin_listen",  "redis_url",     "spool_dir",
	"spool_max_bytes", "stream_prefix", "stream_maxlen", "stream_retention",
	"dedup_ttl",	   "groups",	    "wait_replicas", "wait_replicas_timeout",
	"workers",
};

size_t
config_restart_changes(const struct config *old, const struct config *cur, const char **names,
		       size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < HS_ARRAY_LEN(config_restart_only); i++) {
		const char *name = config_restart_only[i];
		const struct config_key *k = NULL;
		char a[512], b[512];
		bool same;

		for (size_t j = 0; j < config_nkeys && k == NULL; j++)
			if (strcmp(config_keys[j].name, name) == 0)
				k = &config_keys[j];
		if (k == NULL)
			abort(); /* the list names a key the table lost: a build bug */
		if (k->type == CONFIG_REDIS)
			/* the text itself: a password change is a change too */
			same = strcmp(old->redis_url_text, cur->redis_url_text) == 0;
		else
			same = strcmp(config_value_text(old, k, a, sizeof(a)),
				      config_value_text(cur, k, b, sizeof(b))) == 0;
		if (!same && n < max)
			names[n++] = name;
	}
	return n;
}
