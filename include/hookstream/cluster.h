/* SPDX-License-Identifier: MIT */
/*
 * cluster: Redis Cluster key-slot routing (pure). CRC16 as the Redis Cluster
 * specification defines it (XMODEM: polynomial 0x1021, initial value 0),
 * hash tags ("{...}": only the part between the first '{' and the next '}'
 * is hashed, when it is not empty), and a slot map built from CLUSTER SLOTS
 * ranges, answering which node owns a key. hiredis 0.14 has no cluster
 * support; the publisher routes with this.
 */
#ifndef HOOKSTREAM_CLUSTER_H
#define HOOKSTREAM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/compiler.h"

#define CLUSTER_SLOTS	  16384
#define CLUSTER_NO_NODE	  UINT16_MAX
#define CLUSTER_MAX_NODES 1024

uint16_t cluster_crc16(const char *buf, size_t len);

/* The slot (0..16383) of a key, hash tags honoured. */
unsigned int cluster_key_slot(const char *key, size_t len);

struct cluster_node {
	char *host; /* owned */
	int port;
};

/* Which master owns each slot. */
struct cluster_map {
	uint16_t owner[CLUSTER_SLOTS]; /* index into nodes, or CLUSTER_NO_NODE */
	struct cluster_node *nodes;
	size_t nnodes;
};

void cluster_map_init(struct cluster_map *m);
void cluster_map_fini(struct cluster_map *m);

/*
 * Slots first..last belong to host:port (one CLUSTER SLOTS range; the node is
 * added once however many ranges it has). -1 for a bad range or port, or too
 * many nodes.
 */
HS_WUR int cluster_map_add(struct cluster_map *m, unsigned int first, unsigned int last,
			   const char *host, int port);

/* The node owning key, or NULL when its slot is not covered. */
const struct cluster_node *cluster_map_node(const struct cluster_map *m, const char *key,
					    size_t len);

/* True when every slot has an owner. */
bool cluster_map_complete(const struct cluster_map *m);

/*
 * A MOVED or ASK redirection ("MOVED 3999 127.0.0.1:6381"): its slot and
 * address (host copied into host, up to hostlen). false for any other text.
 */
HS_WUR bool cluster_parse_redirect(const char *err, bool *ask, unsigned int *slot, char *host,
				   size_t hostlen, int *port);

#endif
