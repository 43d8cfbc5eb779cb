/* SPDX-License-Identifier: MIT */
/*
 * publish_int: one Redis node's connection (publish.c), used by the public
 * publisher (publish_cluster.c) once for a single Redis or Sentinel, and once
 * per master for a Redis Cluster. The functions behave as their publisher_* /
 * publish_* namesakes in publish.h describe.
 */
#ifndef HOOKSTREAM_PUBLISH_INT_H
#define HOOKSTREAM_PUBLISH_INT_H

#include <stdbool.h>

#include "hookstream/publish.h"

struct pubnode;

struct pubnode *pubnode_new(struct event_base *base, const struct publish_options *opt);
void pubnode_free(struct pubnode *p);
bool pubnode_ready(const struct pubnode *p);
size_t pubnode_pending(const struct pubnode *p);
void pubnode_set_streams(struct pubnode *p, const char *const *streams, size_t n);

/* asking: a Redis Cluster ASK redirection, "ASKING" goes first. The result's
 * error is Redis's own text for an error reply (MOVED, ASK, TRYAGAIN...). */
HS_WUR int pubnode_submit(struct pubnode *p, const struct publish_item *items, size_t n,
			  bool asking, publish_done_cb cb, void *arg);
HS_WUR int pubnode_append(struct pubnode *p, const char *stream, uint64_t maxlen,
			  const char *const *fields, const size_t *lens, size_t nfields,
			  publish_done_cb cb, void *arg);

#endif
