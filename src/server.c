// SPDX-License-Identifier: MIT
/*
 * server: evhttp on the worker's loop, behind the gate. One struct request per
 * accepted notification; it is freed only by its Redis callback (which hiredis
 * always calls, with NULL when the connection goes), while the HTTP answer is
 * sent exactly once by whichever comes first: that callback or the publish
 * timeout. A client that hangs up meanwhile is normal: evhttp frees the
 * detached request when we answer it.
 */
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hookstream/access.h"
#include "hookstream/classify.h"
#include "hookstream/config.h"
#include "hookstream/gate.h"
#include "hookstream/log.h"
#include "hookstream/metrics.h"
#include "hookstream/normalize.h"
#include "hookstream/publish.h"
#include "hookstream/redact.h"
#include "hookstream/server.h"
#include "hookstream/spool.h"
#include "hookstream/spoolrec.h"
#include "hookstream/timeutil.h"
#include "hookstream/verify.h"
#include "hookstream/xalloc.h"

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
	char request_id[48];
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

static void
server_request_id(struct server *s, struct evhttp_request *req, char *out, size_t len)
{
	const char *given =
		evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < len && n <= 64;

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]) != NULL;
	if (ok) {
		memcpy(out, given, n + 1);
		/* It is logged and stored: it must not carry a card number. */
		redact_pans(out, n);
	} else {
		/* Letters, then a hex counter after a '.': never a digit run that
		 * could pass for a card number in a log scanner. */
		snprintf(out, len, "%s.%llx", s->id_prefix, (unsigned long long)++s->id_counter);
	}
}

/* At most 10 refusal lines a second; the next line says how many were not
 * written ("suppressed"); the counters count every one. */
static bool
server_refusal_log_ok(struct server *s)
{
	uint64_t now = timeutil_mono_us();

	if (now - s->refused_window_us >= 1000000) {
		s->refused_window_us = now;
		s->refused_logged = 0;
	}
	if (s->refused_logged >= 10) {
		s->refused_suppressed++;
		return false;
	}
	s->refused_logged++;
	return true;
}

/* Send status with body bytes, then count and log the request once. */
static void
server_send(struct server *s, struct evhttp_request *req, uint64_t t0_us, const char *route,
	    const char *request_id, const char *source_ip, const char *content_type,
	    const char *body, size_t len, const struct request_outcome *o)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct evbuffer *buf = evbuffer_new();
	double ms = (double)(timeutil_mono_us() - t0_us) / 1000.0;
	size_t body_len;

	if (buf == NULL)
		abort();
	if (content_type != NULL)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Request-Id", request_id);
	if (o->status == 503) {
		char ra[24];

		snprintf(ra, sizeof(ra), "%llu", (unsigned long long)s->cfg->retry_after);
		evhttp_add_header(h, "Retry-After", ra);
	}
	if (o->status == 405)
		evhttp_add_header(h, "Allow", "POST");
	/* Draining: answer what was sent, but keep-alive senders move on. */
	if (s->draining && evhttp_find_header(h, "Connection") == NULL)
		evhttp_add_header(h, "Connection", "close");
	evbuffer_add(buf, body, len);
	/* Read before the reply: for a client that already left, sending frees req. */
	body_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	evhttp_send_reply(req, o->status, NULL, buf);
	evbuffer_free(buf);
	/* evhttp adds the answer to the gate's output before it enables writing,
	 * and a filter bufferevent does not look at its output again when writing
	 * is enabled: push it through (the bufferevent is refcounted, so this is
	 * safe even when the answer closes the connection). */
	if (bev != NULL)
		bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);

	if (o->status == 403 && !server_refusal_log_ok(s))
		goto counted;
	log_fields(o->status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "request",
		   (struct log_field[]){
			   LOG_STR("request_id", request_id),
			   LOG_STR("source_ip", source_ip),
			   LOG_STR("route", route),
			   LOG_INT("status", o->status),
			   LOG_STR("outcome", o->outcome),
			   LOG_STR("error", o->error),
			   LOG_STR("category", o->category),
			   LOG_STR("event_id", o->event_id),
			   LOG_INT("events", o->events),
			   LOG_MS("latency_ms", ms),
			   LOG_INT("suppressed", s->refused_suppressed),
		   },
		   /* "suppressed" only on refusal lines */
		   o->status == 403 ? 11 : 10);
	if (o->status == 403)
		s->refused_suppressed = 0;
counted:
	/* "-" and "other" are no configured path: counted as route "other" */
	metrics_count_request(s->metrics, route, o->status);
	metrics_observe_request(s->metrics, ms / 1000.0, body_len);
	if (o->error != NULL)
		metrics_count_rejection(s->metrics, o->error);
}

/* Send a JSON body (stolen). */
static void
server_answer(struct server *s, struct evhttp_request *req, uint64_t t0_us, const char *route,
	      const char *request_id, const char *source_ip, json_t *body,
	      const struct request_outcome *o)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len;

	if (text == NULL)
		abort();
	json_decref(body);
	len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	server_send(s, req, t0_us, route, request_id, source_ip, "application/json", text, len, o);
	free(text);
}

static json_t *
server_error_body(const char *code, const char *message)
{
	json_t *b = json_pack("{s:s, s:s}", "error", code, "message", message);

	if (b == NULL)
		abort();
	return b;
}

/* Answer a request that never reached Redis. */
static void
server_reject(struct server *s, struct evhttp_request *req, uint64_t t0_us, const char *route,
	      const char *request_id, const char *source_ip, int status, const char *code,
	      const char *message)
{
	struct request_outcome o = { .status = status, .error = code, .outcome = "rejected" };

	server_answer(s, req, t0_us, route, request_id, source_ip, server_error_body(code, message),
		      &o);
}

static void
request_free(struct request *rq)
{
	if (rq->timer != NULL)
		event_free(rq->timer);
	normalize_result_fini(&rq->norm);
	config_free(rq->cfg);
	free(rq->invalid_message);
	free(rq->invalid_stream);
	free(rq->invalid_body);
	free(rq->content_type);
	free(rq);
}

/* Answered: no longer in flight. */
static void
request_unlink(struct request *rq)
{
	struct server *s = rq->srv;

	if (rq->prev != NULL)
		rq->prev->next = rq->next;
	else
		s->waiting = rq->next;
	if (rq->next != NULL)
		rq->next->prev = rq->prev;
	rq->prev = rq->next = NULL;
	rq->req = NULL;
	s->inflight--;
}

/* Free once answered and no Redis or spool callback is owed to it. */
static void
request_release(struct request *rq)
{
	if (rq->req == NULL && !rq->pub_pending && !rq->spool_pending)
		request_free(rq);
}

static void
request_count_events(struct request *rq, enum metrics_outcome outcome)
{
	for (size_t i = 0; i < rq->norm.nevents; i++)
		metrics_count_event(rq->srv->metrics, rq->norm.events[i].category, outcome);
}

/* Answer an accepted request with an error (503: it may be retried). */
static void
request_answer_error(struct request *rq, int status, const char *code, const char *message)
{
	struct request_outcome o = {
		.status = status,
		.category = rq->norm.nevents ? rq->norm.events[0].category : NULL,
		.event_id = rq->norm.nevents ? rq->norm.events[0].event_id : NULL,
		.error = code,
		.outcome = "failed",
		.events = rq->norm.nevents,
	};

	if (!rq->invalid)
		request_count_events(rq, METRICS_FAILED);
	server_answer(rq->srv, rq->req, rq->t0_us, rq->route->path, rq->request_id, rq->source_ip,
		      server_error_body(code, message), &o);
	request_unlink(rq);
}

/* The <prefix>:invalid record is kept: now the 4xx can be given. */
static void
request_invalid_stored(struct request *rq)
{
	struct request_outcome o = { .status = rq->invalid_status,
				     .error = rq->invalid_code,
				     .outcome = "invalid" };

	metrics_count_invalid(rq->srv->metrics);
	server_answer(rq->srv, rq->req, rq->t0_us, rq->route->path, rq->request_id, rq->source_ip,
		      server_error_body(rq->invalid_code, rq->invalid_message), &o);
	request_unlink(rq);
}

/* A route with a literal success answer (e.g. FPX's "OK") gets it whether
 * the events were stored, duplicates or spooled. */
static bool
request_send_literal(struct request *rq, struct request_outcome *o)
{
	const struct config_route *route = rq->route;
	const char *b = route->success_body ? route->success_body : "";

	if (route->success_status == 0)
		return false;
	o->status = route->success_status;
	server_send(rq->srv, rq->req, rq->t0_us, route->path, rq->request_id, rq->source_ip,
		    route->success_content_type ? route->success_content_type
						: "text/plain; charset=utf-8",
		    o->status == 204 ? "" : b, o->status == 204 ? 0 : strlen(b), o);
	return true;
}

/* One answer entry: {"status", "event_id", "stream"[, "entry_id"]}. */
static json_t *
request_event_json(const struct normalize_event *ev, const char *status, const char *entry_id)
{
	json_t *e = json_pack("{s:s, s:s, s:s}", "status", status, "event_id", ev->event_id,
			      "stream", ev->stream);

	if (e == NULL)
		abort();
	if (entry_id != NULL)
		json_object_set_new(e, "entry_id", json_string(entry_id));
	return e;
}

/* Answer 2xx: the events are stored (res) or, with res NULL, spooled. */
static void
request_answer_ok(struct request *rq, const struct publish_result *res)
{
	struct server *s = rq->srv;
	const struct normalize_event *first = &rq->norm.events[0];
	size_t n = rq->norm.nevents, fresh = 0;
	const char *outcome;
	struct request_outcome o;
	json_t *body;

	for (size_t i = 0; i < n; i++) {
		const struct normalize_event *ev = &rq->norm.events[i];
		bool dup = res != NULL && res->items[i].duplicate;

		fresh += !dup;
		metrics_count_event(s->metrics, ev->category,
				    res == NULL ? METRICS_SPOOLED
				    : dup	? METRICS_DUPLICATE
						: METRICS_PUBLISHED);
	}
	/* A batch is a duplicate only when every one of its events is. */
	outcome = res == NULL ? "spooled" : fresh ? "published" : "duplicate";
	o = (struct request_outcome){ .status = fresh ? 202 : 200,
				      .category = first->category,
				      .event_id = first->event_id,
				      .outcome = outcome,
				      .events = n };
	if (!request_send_literal(rq, &o)) {
		body = request_event_json(first,
					  res == NULL ? "spooled"
					  : fresh     ? "accepted"
						      : "duplicate",
					  res ? res->items[0].entry_id : NULL);
		if (n > 1) {
			json_t *list = json_array();

			for (size_t i = 0; i < n; i++)
				json_array_append_new(
					list,
					request_event_json(&rq->norm.events[i],
							   res == NULL		     ? "spooled"
							   : res->items[i].duplicate ? "duplicate"
										     : "accepted",
							   res ? res->items[i].entry_id : NULL));
			json_object_set_new(body, "events", list);
		}
		server_answer(s, rq->req, rq->t0_us, rq->route->path, rq->request_id, rq->source_ip,
			      body, &o);
	}
	request_unlink(rq);
}

/* The fields of the <prefix>:invalid record (borrowed from rq): 22 of
 * SPOOLREC_MAX_FIELDS. */
static size_t
request_invalid_fields(const struct request *rq, const char **fields, size_t *lens)
{
	size_t n = 0;

#define INVALID_FIELD(k, v)                                                                        \
	do {                                                                                       \
		fields[n++] = (k);                                                                 \
		fields[n++] = (v);                                                                 \
	} while (0)
	INVALID_FIELD("reason", rq->invalid_code);
	INVALID_FIELD("message", rq->invalid_message);
	INVALID_FIELD("status", rq->invalid_status_text);
	INVALID_FIELD("source_ip", rq->source_ip);
	INVALID_FIELD("received_at", rq->received_at);
	INVALID_FIELD("route", rq->route->path);
	INVALID_FIELD("request_id", rq->request_id);
	INVALID_FIELD("content_type", rq->content_type ? rq->content_type : "");
	INVALID_FIELD("body_bytes", rq->invalid_nbytes);
	INVALID_FIELD("body_truncated", rq->invalid_truncated ? "true" : "false");
	INVALID_FIELD("body", rq->invalid_body);
#undef INVALID_FIELD
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(fields[i]);
	return n;
}

/* The publish items of rq's events (borrowed from rq). */
static void
request_items(const struct request *rq, struct publish_item *items)
{
	for (size_t i = 0; i < rq->norm.nevents; i++) {
		const struct normalize_event *ev = &rq->norm.events[i];

		items[i].stream = ev->stream;
		items[i].seen_key = ev->seen_key;
		items[i].nfields = NORMALIZE_FIELDS;
		memcpy(items[i].fields, ev->fields, sizeof(ev->fields));
		memcpy(items[i].lens, ev->lens, sizeof(ev->lens));
	}
}

static void
request_spooled_cb(void *arg, int err)
{
	struct request *rq = arg;

	rq->spool_pending = false;
	if (rq->req != NULL) {
		evtimer_del(rq->timer);
		if (err == 0 && rq->invalid)
			request_invalid_stored(rq);
		else if (err == 0)
			request_answer_ok(rq, NULL);
		else if (err == -ENOSPC)
			request_answer_error(rq, 503, "spool_full",
					     "redis is unreachable and the local spool is full; "
					     "retry later");
		else
			request_answer_error(rq, 503, "spool_unavailable",
					     "redis is unreachable and the local spool cannot be "
					     "written; retry later");
	}
	request_release(rq);
}

/* Keep rq in the spool; it is answered once that is durable (or failed). */
static void
request_spool(struct request *rq)
{
	struct server *s = rq->srv;
	const char *fields[SPOOLREC_MAX_FIELDS];
	size_t lens[SPOOLREC_MAX_FIELDS];
	struct publish_item items[SPOOLREC_MAX_ITEMS];
	int rc;

	if (rq->invalid) {
		size_t n = request_invalid_fields(rq, fields, lens);

		rc = spool_append_record(s->spool, rq->invalid_stream, rq->cfg->invalid_maxlen,
					 fields, lens, n, request_spooled_cb, rq);
	} else {
		request_items(rq, items);
		rc = spool_append_events(s->spool, items, rq->norm.nevents, request_spooled_cb, rq);
	}
	if (rc < 0) {
		request_answer_error(
			rq, 503, "spool_full",
			"redis is unreachable and the local spool is full; retry later");
		return;
	}
	rq->spool_pending = true;
	/* The disk gets the same time Redis had. */
	evtimer_add(rq->timer, s->publish_tv);
}

/* Redis did not take it: spool it when there is a spool, else 503. */
static void
request_fallback(struct request *rq, const char *message)
{
	if (rq->srv->spool != NULL && !rq->srv->closing && !rq->spool_pending)
		request_spool(rq);
	else
		request_answer_error(rq, 503, "redis_unavailable", message);
}

static void
request_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct request *rq = arg;

	(void)fd;
	(void)what;
	if (rq->req == NULL)
		return;
	/* The event may still be stored later; the sender's retry (or the
	 * spool's replay) then meets the dedup key: never stored twice. */
	if (rq->spool_pending)
		request_answer_error(rq, 503, "spool_unavailable",
				     "the local spool did not confirm the write in time; retry "
				     "later");
	else
		request_fallback(rq, "redis did not confirm the write in time; retry later");
	request_release(rq);
}

static void
request_published_cb(void *arg, const struct publish_result *res)
{
	struct request *rq = arg;

	rq->pub_pending = false;
	metrics_observe_publish(rq->srv->metrics,
				(double)(timeutil_mono_us() - rq->publish_t0_us) / 1e6);
	if (rq->req != NULL && res->status == 0 && res->replicas_short && !rq->spool_pending) {
		/* On the master, not confirmed by enough replicas in time. */
		evtimer_del(rq->timer);
		if (strcmp(rq->cfg->wait_replicas_fallback, "spool") == 0 && !rq->srv->closing)
			request_spool(rq);
		else
			request_answer_error(
				rq, 503, "replicas_unconfirmed",
				"redis replicas did not confirm the write in time; retry "
				"later");
	} else if (rq->req != NULL && res->status == 0 && res->replicas_short) {
		/* a spool write is on its way: its answer decides */
	} else if (rq->req != NULL) {
		if (res->status == 0) {
			/* Stored: answer now even when a spool write is also on its
			 * way (its replay will be a duplicate). */
			if (!rq->spool_pending)
				evtimer_del(rq->timer);
			if (rq->invalid)
				request_invalid_stored(rq);
			else
				request_answer_ok(rq, res);
		} else if (!rq->spool_pending) {
			evtimer_del(rq->timer);
			request_fallback(rq, "redis could not store the event; retry later");
		}
	}
	request_release(rq);
}

/* Where an accepted request goes: Redis, or the spool while Redis is away
 * or older events still wait in the spool (they go first). */
static void
request_submit(struct request *rq)
{
	struct server *s = rq->srv;
	struct publish_item items[SPOOLREC_MAX_ITEMS];
	int rc = -EAGAIN;

	s->inflight++;
	rq->next = s->waiting;
	if (s->waiting != NULL)
		s->waiting->prev = rq;
	s->waiting = rq;
	rq->publish_t0_us = timeutil_mono_us();
	rq->timer = evtimer_new(s->base, request_timeout_cb, rq);
	if (rq->timer == NULL)
		abort();
	if (s->spool == NULL || !spool_backlog(s->spool)) {
		if (rq->invalid) {
			const char *fields[SPOOLREC_MAX_FIELDS];
			size_t lens[SPOOLREC_MAX_FIELDS];
			size_t n = request_invalid_fields(rq, fields, lens);

			rc = publish_append(s->pub, rq->invalid_stream, rq->cfg->invalid_maxlen,
					    fields, lens, n, request_published_cb, rq);
		} else {
			request_items(rq, items);
			rc = publish_submit(s->pub, items, rq->norm.nevents, request_published_cb,
					    rq);
		}
	}
	if (rc == 0) {
		rq->pub_pending = true;
		evtimer_add(rq->timer, s->publish_tv);
	} else {
		request_fallback(rq, "redis is unreachable; retry later");
	}
	request_release(rq);
}

/*
 * The client behind a trusted proxy (X-Forwarded-For, every such header
 * joined), checked against the allowlist. False when it is not allowed or the
 * header is not made of addresses; client holds what was found, if anything.
 */
static bool
server_forwarded_client(const struct server *s, struct evkeyvalq *in, const char *peer,
			char *client, size_t len)
{
	char *xff = NULL;
	size_t xlen = 0;
	bool ok;

	for (struct evkeyval *h = in->tqh_first; h != NULL; h = h->next.tqe_next) {
		size_t vlen;

		if (strcasecmp(h->key, "X-Forwarded-For") != 0)
			continue;
		vlen = strlen(h->value);
		xff = xrealloc(xff, xlen + vlen + 2);
		if (xlen > 0)
			xff[xlen++] = ',';
		memcpy(xff + xlen, h->value, vlen + 1);
		xlen += vlen;
	}
	ok = access_forwarded_client(&s->cfg->trusted_proxies, xff, peer, client, len) == 0 &&
	     access_allows_str(&s->cfg->allow, client);
	free(xff);
	return ok;
}

static const char *
server_header_cb(void *arg, const char *name)
{
	return evhttp_find_header(arg, name);
}

/* An allowed sender's body did not parse: keep it in <prefix>:invalid, then
 * answer the 4xx (or 503 when it cannot be kept, so the sender retries). */
static void
request_store_invalid(struct request *rq, const struct normalize_error *nerr, const char *raw,
		      size_t len)
{
	rq->invalid = true;
	rq->invalid_status = nerr->status;
	rq->invalid_code = nerr->code;
	rq->invalid_message = xstrdup(nerr->message);
	/* Messages never quote a card number; masked once more before storing. */
	redact_pans(rq->invalid_message, strlen(rq->invalid_message));
	rq->invalid_stream = xasprintf("%s:invalid", rq->cfg->stream_prefix);
	rq->invalid_body =
		normalize_invalid_body(raw, len, rq->cfg->invalid_body_max, &rq->invalid_truncated);
	snprintf(rq->invalid_nbytes, sizeof(rq->invalid_nbytes), "%zu", len);
	snprintf(rq->invalid_status_text, sizeof(rq->invalid_status_text), "%d", nerr->status);
	request_submit(rq);
}

static void
server_request_cb(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	uint64_t t0 = timeutil_mono_us();
	struct gate_conn *conn = gate_conn_of(s->gate, req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *ctype = evhttp_find_header(in, "Content-Type");
	const char *source_ip = conn ? conn->peer : "-";
	const struct config_route *route;
	const struct tls_identity *client_id;
	struct normalize_request nreq;
	struct normalize_error nerr;
	struct verify_result vr;
	char client[INET6_ADDRSTRLEN] = "";
	struct timespec now;
	struct request *rq;
	char request_id[48];
	size_t len;
	const char *raw;

	server_request_id(s, req, request_id, sizeof(request_id));
	if (conn == NULL) {
		/* The connection is already gone; nobody is left to answer. */
		evhttp_send_reply(req, 500, NULL, NULL);
		return;
	}
	if (gate_begin_request(conn)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		server_reject(s, req, t0, "-", request_id, source_ip, conn->reject_status,
			      conn->reject_error, conn->reject_message);
		return;
	}
	gate_watch_request(conn, req);
	if (conn->via_proxy &&
	    !server_forwarded_client(s, in, conn->peer, client, sizeof(client))) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		server_reject(s, req, t0, "-", request_id, client[0] ? client : source_ip, 403,
			      "source_not_allowed",
			      "this source address is not allowed to post notifications");
		return;
	}
	if (conn->via_proxy)
		source_ip = client;
	if (path == NULL || *path == '\0')
		path = "/";
	route = config_route_find(s->cfg, path);
	if (route == NULL) {
		server_reject(s, req, t0, "other", request_id, source_ip, 404, "unknown_route",
			      "no webhook route at this path");
		return;
	}
	client_id = gate_conn_identity(conn);
	if (route->client_cert_names != NULL &&
	    !tls_identity_matches(client_id, route->client_cert_names)) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 403,
			      "client_certificate_not_allowed",
			      "this client certificate is not allowed on this route");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 405,
			      "method_not_allowed", "notifications are sent with POST");
		return;
	}
	if (evhttp_find_header(in, "Content-Length") == NULL &&
	    evhttp_find_header(in, "Transfer-Encoding") == NULL) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 411,
			      "length_required", "send a Content-Length (or chunked) body");
		return;
	}
	len = evbuffer_get_length(body);
	raw = (const char *)evbuffer_pullup(body, -1);
	if (raw == NULL)
		raw = "";
	/* Before anything is kept: an unauthenticated body is never stored. */
	if (!verify_request(&route->verify,
			    &(struct verify_headers){ .get = server_header_cb, .arg = in }, raw,
			    len, (int64_t)time(NULL), &vr)) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 401, vr.error,
			      vr.message);
		return;
	}
	if (s->spool == NULL && !publisher_ready(s->pub)) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 503,
			      "redis_unavailable", "redis is unreachable; retry later");
		return;
	}
	if (s->inflight >= s->cfg->max_inflight) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 503, "overloaded",
			      "too many notifications are waiting for redis; retry later");
		return;
	}

	rq = xcalloc(1, sizeof(*rq));
	rq->srv = s;
	rq->cfg = config_ref(s->cfg);
	rq->req = req;
	rq->t0_us = t0;
	rq->route = route;
	memcpy(rq->request_id, request_id, sizeof(request_id));
	snprintf(rq->source_ip, sizeof(rq->source_ip), "%s", source_ip);
	rq->content_type = ctype ? xstrdup(ctype) : NULL;
	now = timeutil_now();
	timeutil_rfc3339(&now, rq->received_at);

	nreq = (struct normalize_request){ .cfg = s->cfg,
					   .route = route,
					   .query = uri ? evhttp_uri_get_query(uri) : NULL,
					   .content_type = ctype,
					   .source_ip = rq->source_ip,
					   .received_at = rq->received_at,
					   .client_cert = client_id ? client_id->subject : NULL,
					   .verified_by = route->verify.scheme != VERIFY_NONE
								  ? vr.scheme
								  : NULL,
					   .raw = raw,
					   .raw_len = len };
	if (normalize_request(&nreq, &rq->norm, &nerr) < 0) {
		request_store_invalid(rq, &nerr, raw, len);
		return;
	}
	metrics_count_redactions(s->metrics, rq->norm.redactions, rq->norm.fields_redacted);
	if (rq->norm.nevents > (size_t)SPOOLREC_MAX_ITEMS) {
		/* Refused (one atomic script call holds at most 64), but kept. */
		nerr = (struct normalize_error){ .status = 413, .code = "too_many_events" };
		snprintf(nerr.message, sizeof(nerr.message),
			 "a notification may carry at most %zu events, this one has %zu",
			 (size_t)SPOOLREC_MAX_ITEMS, rq->norm.nevents);
		request_store_invalid(rq, &nerr, raw, len);
		return;
	}
	request_submit(rq);
}

static struct gate_options
server_gate_options(const struct config *cfg, SSL_CTX *tls)
{
	return (struct gate_options){
		.allow = &cfg->allow,
		.trusted = &cfg->trusted_proxies,
		.max_connections = cfg->max_connections,
		.limits = { .max_head = cfg->max_header, .max_body = cfg->max_body },
		.tls = tls,
	};
}

/* The settings taken from cfg (and tls) for the next connections and requests. */
static void
server_apply(struct server *s, struct config *cfg, SSL_CTX *tls)
{
	struct timeval tv = { (time_t)(cfg->publish_timeout / 1000),
			      (suseconds_t)(cfg->publish_timeout % 1000) * 1000 };
	struct gate_options gopt = server_gate_options(cfg, tls);

	config_ref(cfg);
	config_free(s->cfg);
	s->cfg = cfg;
	/* Connections made with the old context keep it (OpenSSL refcounts). */
	if (tls != NULL)
		SSL_CTX_up_ref(tls);
	SSL_CTX_free(s->tls);
	s->tls = tls;
	/* Every request uses the same timeout: libevent keeps those in a queue. */
	s->publish_tv = event_base_init_common_timeout(s->base, &tv);
	if (s->publish_tv == NULL)
		abort();
	gate_set_options(s->gate, &gopt);
	/* The gate already bounds both; evhttp's limits are a second fence. */
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)cfg->max_header + 1024);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_timeout(s->http, (int)cfg->request_timeout);
}

void
server_reload(struct server *s, struct config *cfg, SSL_CTX *tls)
{
	server_apply(s, cfg, tls);
}

struct server *
server_new(const struct server_deps *deps, char *err, size_t errlen)
{
	struct server *s = xcalloc(1, sizeof(*s));
	struct config *cfg = deps->cfg;
	struct gate_options gopt = server_gate_options(cfg, deps->tls);
	char *host = NULL;
	int port = 0;
	const char *why;

	s->base = deps->base;
	s->pub = deps->pub;
	s->spool = deps->spool;
	s->metrics = deps->metrics;
	for (size_t i = 0; i < 10; i++)
		s->id_prefix[i] = (char)('a' + arc4random_uniform(26));
	s->gate = gate_new(&gopt);
	s->http = evhttp_new(s->base);
	if (s->http == NULL)
		abort();
	server_apply(s, cfg, deps->tls);
	evhttp_set_bevcb(s->http, gate_bevcb, s->gate);
	evhttp_set_gencb(s->http, server_request_cb, s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	if (config_parse_address(cfg->listen, &host, &port, &why) < 0) {
		snprintf(err, errlen, "listen: %s", why);
		goto fail;
	}
	if (deps->reuseport) {
		/* Several workers on one port: each its own socket, the kernel
		 * spreads the connections (never set for one worker: a second
		 * process could then share the port without an error). */
		struct sockaddr_storage ss;
		int sslen = (int)sizeof(ss);
		struct evconnlistener *l = NULL;

		if (evutil_parse_sockaddr_port(cfg->listen, (struct sockaddr *)&ss, &sslen) == 0)
			l = evconnlistener_new_bind(s->base, NULL, NULL,
						    LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT |
							    LEV_OPT_CLOSE_ON_FREE |
							    LEV_OPT_CLOSE_ON_EXEC,
						    1024, (struct sockaddr *)&ss, sslen);
		s->sock = l != NULL ? evhttp_bind_listener(s->http, l) : NULL;
		if (l != NULL && s->sock == NULL)
			evconnlistener_free(l);
	} else {
		s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
	}
	if (s->sock == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, strerror(errno));
		goto fail;
	}
	free(host);
	return s;
fail:
	free(host);
	server_free(s);
	return NULL;
}

void
server_stop_accepting(struct server *s)
{
	s->draining = true;
	if (s->sock != NULL) {
		evhttp_del_accept_socket(s->http, s->sock);
		s->sock = NULL;
	}
}

size_t
server_spool_waiting(struct server *s)
{
	size_t n = 0;
	struct request *rq = s->waiting;

	if (s->spool == NULL)
		return 0;
	while (rq != NULL) {
		/* request_spool may answer (and unlink) rq at once */
		struct request *next = rq->next;

		if (!rq->spool_pending) {
			evtimer_del(rq->timer);
			request_spool(rq);
			n++;
			/* answered at once when the spool is full; freed if nothing
			 * else is owed to it */
			request_release(rq);
		}
		rq = next;
	}
	return n;
}

void
server_closing(struct server *s)
{
	s->closing = true;
}

size_t
server_inflight(const struct server *s)
{
	return s->inflight;
}

uint64_t
server_connections(const struct server *s)
{
	return gate_connections(s->gate);
}

void
server_free(struct server *s)
{
	if (s == NULL)
		return;
	if (s->http != NULL)
		evhttp_free(s->http);
	gate_free(s->gate);
	config_free(s->cfg);
	SSL_CTX_free(s->tls);
	free(s);
}
