// SPDX-License-Identifier: MIT
/*
 * cluster: key slots, the slot map and redirections (see cluster.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/cluster.h"
#include "hookstream/xalloc.h"

uint16_t
cluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
					     : (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned int
cluster_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open != NULL) {
		size_t rest = len - (size_t)(open - key) - 1;
		const char *close = memchr(open + 1, '}', rest);

		if (close != NULL && close > open + 1)
			return cluster_crc16(open + 1, (size_t)(close - open - 1)) &
			       (CLUSTER_SLOTS - 1);
	}
	return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
}

void
cluster_map_init(struct cluster_map *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < CLUSTER_SLOTS; i++)
		m->owner[i] = CLUSTER_NO_NODE;
}

void
cluster_map_fini(struct cluster_map *m)
{
	for (size_t i = 0; i < m->nnodes; i++)
		free(m->nodes[i].host);
	free(m->nodes);
	cluster_map_init(m);
}

int
cluster_map_add(struct cluster_map *m, unsigned int first, unsigned int last, const char *host,
		int port)
{
	size_t n = 0;

	if (first > last || last >= CLUSTER_SLOTS || port < 1 || port > 65535 || host == NULL ||
	    *host == '\0')
		return -1;
	while (n < m->nnodes && !(m->nodes[n].port == port && strcmp(m->nodes[n].host, host) == 0))
		n++;
	if (n == m->nnodes) {
		if (m->nnodes == CLUSTER_MAX_NODES)
			return -1;
		m->nodes = xrealloc(m->nodes, (m->nnodes + 1) * sizeof(*m->nodes));
		m->nodes[n] = (struct cluster_node){ .host = xstrdup(host), .port = port };
		m->nnodes++;
	}
	for (unsigned int s = first; s <= last; s++)
		m->owner[s] = (uint16_t)n;
	return 0;
}

const struct cluster_node *
cluster_map_node(const struct cluster_map *m, const char *key, size_t len)
{
	uint16_t o = m->owner[cluster_key_slot(key, len)];

	return o == CLUSTER_NO_NODE ? NULL : &m->nodes[o];
}

bool
cluster_map_complete(const struct cluster_map *m)
{
	for (size_t i = 0; i < CLUSTER_SLOTS; i++)
		if (m->owner[i] == CLUSTER_NO_NODE)
			return false;
	return true;
}

bool
cluster_parse_redirect(const char *err, bool *ask, unsigned int *slot, char *host, size_t hostlen,
		       int *port)
{
	const char *p, *colon;
	char *end;
	unsigned long s;
	long pt;

	if (strncmp(err, "MOVED ", 6) == 0)
		*ask = false;
	else if (strncmp(err, "ASK ", 4) == 0)
		*ask = true;
	else
		return false;
	p = err + (*ask ? 4 : 6);
	if (*p < '0' || *p > '9')
		return false;
	s = strtoul(p, &end, 10);
	if (end == p || *end != ' ' || s >= CLUSTER_SLOTS)
		return false;
	p = end + 1;
	colon = strrchr(p, ':');
	if (colon == NULL || colon == p || (size_t)(colon - p) >= hostlen)
		return false;
	if (colon[1] < '0' || colon[1] > '9')
		return false;
	pt = strtol(colon + 1, &end, 10);
	if (*end != '\0' || pt < 1 || pt > 65535)
		return false;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	/* "[::1]:7000" → "::1" */
	if (host[0] == '[' && colon > p + 1 && colon[-1] == ']') {
		memmove(host, host + 1, (size_t)(colon - p) - 2);
		host[colon - p - 2] = '\0';
	}
	*slot = (unsigned int)s;
	*port = (int)pt;
	return true;
}
