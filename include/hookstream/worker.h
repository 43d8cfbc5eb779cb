/* SPDX-License-Identifier: MIT */
/*
 * worker: one event loop's share of the relay: its webhook listener, its Redis
 * connection and its counters. Nothing here is shared between workers except
 * the immutable config.
 */
#ifndef HOOKSTREAM_WORKER_H
#define HOOKSTREAM_WORKER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct event_base;
struct config;
struct metrics;

struct worker;

/* Start a worker on base with cfg (both borrowed; they outlive it). Returns
 * NULL with a message in err when the listener cannot be bound. */
/* tls: the webhook listener's context (the server takes a reference), or
 * NULL. index of count: which worker this is (its spool directory, and
 * whether the port is shared). */
struct worker *worker_new(struct event_base *base, struct config *cfg, SSL_CTX *tls, size_t index,
			  size_t count, char *err, size_t errlen);

/* Serve with cfg from now on (see server_reload); cfg must differ from the
 * current one only in keys a reload may change (config_restart_changes). */
void worker_reload(struct worker *w, struct config *cfg, SSL_CTX *tls);

/* Stop accepting connections; in-flight requests continue. */
void worker_stop_accepting(struct worker *w);

/* Requests waiting for Redis. */
/* See server_spool_waiting. */
size_t worker_spool_waiting(struct worker *w);

size_t worker_inflight(const struct worker *w);

/* Redis connection ready. */
bool worker_ready(const struct worker *w);

/* The worker's counters (borrowed). */
struct spool_stats;
/* The spool's numbers; false when there is no spool. */
bool worker_spool_stats(const struct worker *w, struct spool_stats *st);

struct metrics *worker_metrics(const struct worker *w);

/* Gauges of this worker, added into g. */
struct metrics_gauges;
void worker_add_gauges(const struct worker *w, struct metrics_gauges *g);

/* Close Redis (pending requests are answered 503), the listener and free. NULL-safe. */
void worker_free(struct worker *w);

#endif
