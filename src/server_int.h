/* SPDX-License-Identifier: MIT */
/*
 * server_int: what server.c (HTTP side: routing, checks, answers, the
 * listener) and server_request.c (an accepted request's way to Redis or the
 * spool, and its answer) share. One event-loop thread.
 */
#ifndef HOOKSTREAM_SERVER_INT_H
#define HOOKSTREAM_SERVER_INT_H

#include <arpa/inet.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/config.h"
#include "hookstream/normalize.h"
#include "hookstream/timeutil.h"

struct server {
	struct event_base *base;
	struct config *cfg; /* a reference; replaced by a reload */
	SSL_CTX *tls;	    /* a reference, or NULL: plain HTTP */
	struct publisher *pub;
	struct spool *spool; /* NULL: no spool */
	bool closing;	     /* shutting down: failures are 503, not spooled */
	bool draining;	     /* no new connections; answers close theirs */
	struct metrics *metrics;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct gate *gate;
	const struct timeval *publish_tv; /* common timeout */
	size_t inflight;
	struct request *waiting; /* accepted, not yet answered (inflight of them) */
	/* 403 lines are rate-limited: a flood from a stranger must not fill disks. */
	uint64_t refused_window_us;
	unsigned int refused_logged;
	uint64_t refused_suppressed;
	char id_prefix[12];
	uint64_t id_counter;
};

/* A sender's X-Request-Id of up to 64 characters, or one of ours, and a NUL. */
#define SERVER_REQUEST_ID_LEN 65

struct request {
	struct server *srv;
	struct config *cfg;	    /* the configuration it started with (a reference) */
	struct evhttp_request *req; /* NULL once answered */
	struct event *timer;
	uint64_t t0_us;
	uint64_t publish_t0_us;
	const struct config_route *route;
	struct normalize_result norm; /* the events being stored */
	bool invalid;		      /* storing the <prefix>:invalid record */
	int invalid_status;	      /* the 4xx owed once that record is stored */
	const char *invalid_code;     /* static */
	char *invalid_message;
	char *invalid_stream;
	char *invalid_body; /* escaped, capped, masked */
	bool invalid_truncated;
	char invalid_nbytes[24];
	char invalid_status_text[8];
	char *content_type;
	struct request *prev, *next; /* in srv->waiting while not answered */
	bool pub_pending;	     /* a Redis callback is owed */
	bool spool_pending;	     /* a spool callback is owed */
	char request_id[SERVER_REQUEST_ID_LEN];
	char source_ip[INET6_ADDRSTRLEN];
	char received_at[TIMEUTIL_RFC3339_LEN];
};

/* What one finished request logs and counts. */
struct request_outcome {
	int status;
	const char *category;
	const char *event_id;
	const char *error;
	const char *outcome;
	size_t events;
};

/* Send status with body bytes, then count and log the request once. */
void server_send(struct server *s, struct evhttp_request *req, uint64_t t0_us, const char *route,
		 const char *request_id, const char *source_ip, const char *content_type,
		 const char *body, size_t len, const struct request_outcome *o);

/* Send a JSON body (stolen). */
void server_answer(struct server *s, struct evhttp_request *req, uint64_t t0_us, const char *route,
		   const char *request_id, const char *source_ip, json_t *body,
		   const struct request_outcome *o);

/* {"error": code, "message": message} */
json_t *server_error_body(const char *code, const char *message);

/* server_request.c */
void request_free(struct request *rq);
void request_release(struct request *rq);
void request_spool(struct request *rq);
void request_submit(struct request *rq);
/* The bytes rq's events take as one spool record (what one script call
 * carries), or 0 when they cannot be one record. */
uint64_t request_record_bytes(const struct request *rq);
void request_store_invalid(struct request *rq, const struct normalize_error *nerr, const char *raw,
			   size_t len);

#endif
