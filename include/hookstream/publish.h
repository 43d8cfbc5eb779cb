/* SPDX-License-Identifier: MIT */
/*
 * publish: the worker's Redis connection (hiredis async on the worker's
 * event_base). Stores events with one Lua script that deduplicates and XADDs
 * atomically; commands are pipelined; the connection is re-established with
 * exponential backoff and jitter, and AUTH, SELECT, SCRIPT LOAD and the
 * consumer groups are redone on every connect.
 */
#ifndef HOOKSTREAM_PUBLISH_H
#define HOOKSTREAM_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/compiler.h"
#include "hookstream/redis_url.h"

struct event_base;

#define PUBLISH_FIELDS_MAX   16 /* field/value arguments per event */
#define PUBLISH_ENTRY_ID_MAX 48

struct publish_options {
	const struct redis_url *url; /* borrowed; outlives the publisher */
	uint64_t dedup_ttl_ms;
	uint64_t maxlen;	    /* 0: no trimming */
	uint64_t retention_ms;	    /* > 0: trim by age (MINID ~ now - retention) instead */
	const char *const *streams; /* borrowed: streams to create groups on */
	size_t nstreams;
	char *const *groups; /* borrowed */
	size_t ngroups;
	unsigned int connect_timeout_ms;
	unsigned int wait_replicas;   /* > 0: WAIT for them after every stored write */
	unsigned int wait_timeout_ms; /* WAIT's timeout */
	/* A connection that answers nothing for this long while commands wait
	 * (a hung or cut-off server, a handshake that never ends) is dropped and
	 * made again (Sentinel: the sentinels are asked again). 0: 10 s. */
	unsigned int stall_ms;
	/* Redis Cluster master: one script call holds the keys of one slot only
	 * (Redis refuses a multi-key command across slots with CROSSSLOT). */
	bool one_slot_per_call;
};

/* One event to store: its stream, its dedup key and its flat fields. */
struct publish_item {
	const char *stream;
	const char *seen_key;
	const char *fields[PUBLISH_FIELDS_MAX]; /* name, value, name, value... */
	size_t lens[PUBLISH_FIELDS_MAX];
	size_t nfields; /* even; the same for every item of one call */
};

struct publish_item_result {
	bool duplicate; /* the event id was seen: entry_id is the original entry */
	char entry_id[PUBLISH_ENTRY_ID_MAX];
};

struct publish_result {
	int status;	   /* 0 stored; -ENOTCONN connection lost; -EIO Redis error */
	const char *error; /* human text when status != 0 (borrowed for the callback) */
	size_t n;
	const struct publish_item_result *items; /* n results when status == 0 */
	/* With wait_replicas: how many replicas confirmed (-1 unknown: the
	 * connection went during WAIT), and whether that is fewer than wanted.
	 * The write itself is stored on the master either way (status 0). */
	long long replicas;
	bool replicas_short;
};

/* Called exactly once per accepted publish_submit, on the worker's loop; the
 * result is borrowed for the duration of the call. */
typedef void (*publish_done_cb)(void *arg, const struct publish_result *res);

struct publisher;

/* A new publisher that starts connecting at once (options and base borrowed). */
struct publisher *publisher_new(struct event_base *base, const struct publish_options *opt);

/* Drop the connection (pending callbacks fire with -ENOTCONN) and free. NULL-safe. */
void publisher_free(struct publisher *p);

/*
 * Replace the streams groups are created on (borrowed): streams[0..old n)
 * must be the previous list; groups on the added ones are created at once
 * when connected (and on every connect, as for the first ones).
 */
void publisher_set_streams(struct publisher *p, const char *const *streams, size_t n);

/* True while the connection is established and the handshake is done. */
bool publisher_ready(const struct publisher *p);

/* Commands sent and not yet answered. */
size_t publisher_pending(const struct publisher *p);

/*
 * Store n items atomically (one script call). Returns 0 and later calls cb
 * exactly once, or -EAGAIN at once (not connected; cb is never called). The
 * items' strings are copied before return.
 */
HS_WUR int publish_submit(struct publisher *p, const struct publish_item *items, size_t n,
			  publish_done_cb cb, void *arg);

/*
 * Append one entry to stream without deduplication (the <prefix>:invalid
 * record), trimmed with MAXLEN ~ maxlen (0: not trimmed). Same callback and
 * return contract as publish_submit; the result has n == 1, never duplicate.
 */
HS_WUR int publish_append(struct publisher *p, const char *stream, uint64_t maxlen,
			  const char *const *fields, const size_t *lens, size_t nfields,
			  publish_done_cb cb, void *arg);

#endif
