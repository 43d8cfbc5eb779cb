// SPDX-License-Identifier: MIT
/*
 * server_request: an accepted notification's way into Redis or the local
 * spool, and its answer. A request is freed only when it is answered and no
 * Redis or spool callback is owed to it; the answer is given exactly once,
 * by whichever comes first (Redis, the spool, the publish timeout).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/config.h"
#include "hookstream/jsonw.h"
#include "hookstream/metrics.h"
#include "hookstream/normalize.h"
#include "hookstream/publish.h"
#include "hookstream/redact.h"
#include "hookstream/spool.h"
#include "hookstream/spoolrec.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"
#include "server_int.h"

void
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
void
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

/* One answer entry: {"status", "event_id", "stream"[, "entry_id"], left open
 * for the caller to close (the first entry is the body, which may go on with
 * "events"). */
static void
request_event_json(struct jsonw *w, const struct normalize_event *ev, const char *status,
		   const char *entry_id)
{
	jsonw_object_begin(w);
	jsonw_member_str(w, "status", status);
	jsonw_member_str(w, "event_id", ev->event_id);
	jsonw_member_str(w, "stream", ev->stream);
	jsonw_member_str(w, "entry_id", entry_id);
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
		struct jsonw w;
		size_t len;
		char *text;

		jsonw_init(&w, 256 + (n > 1 ? n * 192 : 0));
		request_event_json(&w, first,
				   res == NULL ? "spooled"
				   : fresh     ? "accepted"
					       : "duplicate",
				   res ? res->items[0].entry_id : NULL);
		if (n > 1) {
			jsonw_key(&w, "events");
			jsonw_array_begin(&w);
			for (size_t i = 0; i < n; i++) {
				request_event_json(&w, &rq->norm.events[i],
						   res == NULL		     ? "spooled"
						   : res->items[i].duplicate ? "duplicate"
									     : "accepted",
						   res ? res->items[i].entry_id : NULL);
				jsonw_object_end(&w);
			}
			jsonw_array_end(&w);
		}
		jsonw_object_end(&w);
		jsonw_raw(&w, "\n", 1);
		text = jsonw_take(&w, &len);
		server_send(s, rq->req, rq->t0_us, rq->route->path, rq->request_id, rq->source_ip,
			    "application/json", text, len, &o);
		free(text);
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

uint64_t
request_record_bytes(const struct request *rq)
{
	struct publish_item items[SPOOLREC_MAX_ITEMS];

	if (rq->norm.nevents == 0 || rq->norm.nevents > SPOOLREC_MAX_ITEMS)
		return 0;
	request_items(rq, items);
	return spoolrec_events_payload(items, rq->norm.nevents);
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
void
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
void
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

/* An allowed sender's body did not parse: keep it in <prefix>:invalid, then
 * answer the 4xx (or 503 when it cannot be kept, so the sender retries). */
void
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
