/* SPDX-License-Identifier: MIT */
/*
 * gate: the bufferevent filter placed under evhttp on every webhook connection.
 * It checks the peer against the allowlist on the first bytes, frames each
 * request with httpframe before evhttp sees it, answers "100 Continue" itself,
 * and turns a refused connection or request into a tiny synthetic request that
 * the server answers with a JSON error: a stranger's or an oversized body is
 * never buffered.
 */
#ifndef HOOKSTREAM_GATE_H
#define HOOKSTREAM_GATE_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "hookstream/access.h"
#include "hookstream/httpframe.h"
#include "hookstream/tls.h"

struct event_base;
struct bufferevent;
struct evhttp_request;

struct gate_options {
	const struct access_list *allow;   /* borrowed; outlives the gate */
	const struct access_list *trusted; /* proxies: let in, X-Forwarded-For decides (borrowed) */
	uint64_t max_connections;	   /* beyond it: 503 and close */
	struct httpframe_limits limits;
	SSL_CTX *tls; /* borrowed; NULL: plain HTTP. New connections use the current one */
};

/* Per connection; owned by the filter bufferevent (freed with it). */
struct gate_conn {
	struct gate *gate;
	struct bufferevent *under;  /* the socket bufferevent */
	struct bufferevent *filter; /* what evhttp owns */
	struct gate_conn *next;	    /* hash chain */
	struct httpframe frame;
	size_t fed;		  /* bytes at the start of input already framed */
	uint64_t forwarded;	  /* requests passed to evhttp */
	uint64_t handled;	  /* requests the server has started */
	unsigned int outstanding; /* forwarded requests not yet answered */
	bool decided;
	bool allowed;
	bool via_proxy;	 /* the peer is a trusted proxy */
	bool over_limit; /* opened beyond max_connections */
	bool continue_pending;
	uint64_t reject_seq; /* forwarded-number of the synthetic request, 0: none */
	int reject_status;
	const char *reject_error;    /* static */
	const char *reject_message;  /* static */
	char peer[INET6_ADDRSTRLEN]; /* numeric, IPv4-mapped shown as IPv4 */
	bool tls;		     /* under is an OpenSSL bufferevent */
	bool identity_loaded;
	bool has_identity;
	struct tls_identity identity; /* the verified client certificate (mTLS) */
};

struct gate;

struct gate *gate_new(const struct gate_options *opt);
void gate_free(struct gate *g);

/* The verified client certificate of a TLS connection, or NULL (plain HTTP,
 * no client certificate). Read once per connection. */
const struct tls_identity *gate_conn_identity(struct gate_conn *conn);

/* New options for the connections accepted from now on (pointers borrowed). */
void gate_set_options(struct gate *g, const struct gate_options *opt);

/* Replace the allowlist (borrowed) for connections decided from now on. */
void gate_set_allow(struct gate *g, const struct access_list *allow);

/* For evhttp_set_bevcb(http, gate_bevcb, gate). */
struct bufferevent *gate_bevcb(struct event_base *base, void *arg);

/* The gate state of a request's connection (borrowed, valid during the request
 * callback only), or NULL when the connection is gone. */
struct gate_conn *gate_conn_of(struct gate *g, struct evhttp_request *req);

/* The server started handling one request of conn: returns true when that
 * request is the synthetic one standing for a refusal (conn->reject_*). */
bool gate_begin_request(struct gate_conn *conn);

/* Number of open connections. */
uint64_t gate_connections(const struct gate *g);

/* Register on req that its completion frees a slot for "100 Continue". */
void gate_watch_request(struct gate_conn *conn, struct evhttp_request *req);

#endif
