/* SPDX-License-Identifier: MIT */
/*
 * server: the webhook listener. Routes, limits, content checks, and the
 * request state machine that settles exactly once both the HTTP answer and the
 * Redis callback of every notification.
 */
#ifndef HOOKSTREAM_SERVER_H
#define HOOKSTREAM_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct config;
struct publisher;
struct metrics;

struct server_deps {
	struct event_base *base;
	struct config *cfg;	 /* the server takes a reference */
	struct publisher *pub;	 /* borrowed */
	struct spool *spool;	 /* borrowed; NULL: no spool */
	SSL_CTX *tls;		 /* the server takes a reference; NULL: plain HTTP */
	bool reuseport;		 /* share the port with other workers (SO_REUSEPORT) */
	struct metrics *metrics; /* borrowed */
};

struct server;

/* Bind the webhook listener. Returns NULL with a message in err on failure. */
struct server *server_new(const struct server_deps *deps, char *err, size_t errlen);

/* Stop accepting new connections (drain); in-flight requests go on. */
void server_stop_accepting(struct server *s);

/* Shutting down and out of time: put every request still waiting for Redis
 * in the spool (each is answered once that is durable). Returns how many;
 * 0 without a spool. */
size_t server_spool_waiting(struct server *s);

/* Shutting down: from now on a request Redis does not take is answered 503
 * instead of being spooled (call before freeing the publisher and spool). */
void server_closing(struct server *s);

/* Serve the next connections and requests with cfg (the server takes a
 * reference); requests in flight finish with the configuration they began
 * with, established connections keep their source check. */
void server_reload(struct server *s, struct config *cfg, SSL_CTX *tls);

/* Requests accepted and not yet answered. */
size_t server_inflight(const struct server *s);

/* Open webhook connections. */
uint64_t server_connections(const struct server *s);

/* Free everything; requests still waiting for Redis are answered 503. NULL-safe. */
void server_free(struct server *s);

#endif
