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
#include <stdint.h>

#include "hookstream/publish.h"

struct publish_op;

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
	/* The stall watch: replies counted, and since when commands have been
	 * waiting with none (0: not waiting, or answered since the last look). */
	struct event *watch_timer;
	uint64_t replies, watch_replies;
	uint64_t quiet_since_us;
	unsigned int backoff_ms;
	bool stopping;
	bool setup_sent; /* this connection's groups and SCRIPT LOAD are sent */
	size_t pending;
	char sha[41];
	/* Sentinel: the master as last discovered, and the sentinel asked. */
	redisAsyncContext *sac;
	size_t sentinel_next; /* the next sentinel to ask */
	size_t sentinels_tried;
	bool have_master;
	char *master_host;
	int master_port;
	/* Submissions of this turn of the loop, sent as one script call by
	 * flush_ev (publish_ops.c); scratch holds the command being written. */
	struct publish_op **queue;
	size_t nqueue, queue_cap, queue_events, queue_bytes;
	struct event *flush_ev;
	char *scratch;
	size_t scratch_cap;
};

/* Events in one script call at most, and bytes of arguments past which no
 * other submission joins it; commands up to PUBLISH_SCRATCH_KEEP are written
 * in a buffer kept for the next. */
#define PUBLISH_BATCH_MAX    64
#define PUBLISH_BATCH_BYTES  (256u * 1024u)
#define PUBLISH_SCRATCH_KEEP (512u * 1024u)

/* publish_ops.c: the dedup+XADD script (loaded at every connect). */
extern const char publish_script[];
extern const size_t publish_script_len;

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
			  bool asking, publish_done_cb cb, void *arg);

/* publish.c, for publish_sentinel.c: connect to the master (after a
 * discovery), or back off and try again. */
void pubnode_connect(struct pubnode *p);

/* publish_ops.c: send what is queued now; the flush event's callback; settle
 * what is queued with -ENOTCONN (the node is being freed). */
void pubnode_flush(struct pubnode *p);
void pubnode_flush_cb(evutil_socket_t fd, short what, void *arg);
void pubnode_fail_queued(struct pubnode *p);
void pubnode_schedule_retry(struct pubnode *p);

/* publish_sentinel.c: ask the next sentinel where the master is; once named,
 * pubnode_connect; after a whole round without an answer, back off. */
void pubnode_discover(struct pubnode *p);

#endif
