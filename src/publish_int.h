/* SPDX-License-Identifier: MIT */
/*
 * publish_int: one Redis node's connection (publish.c; a Sentinel-managed
 * master is found by publish_sentinel.c), used by the public
 * publisher (publish_cluster.c) once for a single Redis or Sentinel, and once
 * per master for a Redis Cluster. The functions behave as their publisher_* /
 * publish_* namesakes in publish.h describe.
 */
#ifndef HOOKSTREAM_PUBLISH_INT_H
#define HOOKSTREAM_PUBLISH_INT_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <stdbool.h>

#include "hookstream/publish.h"

enum publisher_state {
	PUBLISHER_DOWN,
	PUBLISHER_CONNECTING,
	PUBLISHER_HANDSHAKE,
	PUBLISHER_READY,
};

struct pubnode {
	struct event_base *base;
	struct publish_options opt;
	redisAsyncContext *ac;
	enum publisher_state state;
	struct event *retry_timer;
	struct event *connect_timer;
	unsigned int backoff_ms;
	bool stopping;
	size_t pending;
	char sha[41];
	/* Sentinel: the master as last discovered, and the sentinel asked. */
	redisAsyncContext *sac;
	size_t sentinel_next; /* the next sentinel to ask */
	size_t sentinels_tried;
	bool have_master;
	char *master_host;
	int master_port;
};

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

/* publish.c, for publish_sentinel.c: connect to the master (after a
 * discovery), or back off and try again. */
void pubnode_connect(struct pubnode *p);
void pubnode_schedule_retry(struct pubnode *p);

/* publish_sentinel.c: ask the next sentinel where the master is; once named,
 * pubnode_connect; after a whole round without an answer, back off. */
void pubnode_discover(struct pubnode *p);

#endif
