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
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hookstream/classify.h"
#include "hookstream/config.h"
#include "hookstream/envelope.h"
#include "hookstream/gate.h"
#include "hookstream/log.h"
#include "hookstream/metrics.h"
#include "hookstream/publish.h"
#include "hookstream/server.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"

struct server {
	struct event_base *base;
	const struct config *cfg;
	struct publisher *pub;
	struct metrics *metrics;
	const char *const *categories;
	size_t ncategories;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct gate *gate;
	const struct timeval *publish_tv; /* common timeout */
	size_t inflight;
	uint32_t id_prefix;
	uint64_t id_counter;
};

struct request {
	struct server *srv;
	struct evhttp_request *req; /* NULL once answered */
	struct event *timer;
	uint64_t t0_us;
	size_t route_idx;
	size_t category_idx;
	const char *route;
	const char *category;
	char *stream;
	char *event_id;
	char request_id[48];
	char source_ip[INET6_ADDRSTRLEN];
};

/* What one finished request logs and counts. */
struct request_outcome {
	int status;
	const char *category;
	const char *event_id;
	const char *error;
	const char *outcome;
};

static void
server_request_id(struct server *s, struct evhttp_request *req, char *out, size_t len)
{
	const char *given = evhttp_find_header(evhttp_request_get_input_headers(req),
					       "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < len && n <= 64;

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]) != NULL;
	if (ok)
		memcpy(out, given, n + 1);
	else
		snprintf(out, len, "%08x%012llx", s->id_prefix,
			 (unsigned long long)++s->id_counter);
}

static size_t
server_category_index(const struct server *s, const char *category)
{
	for (size_t i = 0; i < s->ncategories; i++)
		if (strcmp(s->categories[i], category) == 0)
			return i;
	return s->ncategories;
}

/* Send status with a JSON body (stolen) and count + log the request. */
static void
server_answer(struct server *s, struct evhttp_request *req, uint64_t t0_us, size_t route_idx,
	      const char *route, const char *request_id, const char *source_ip, json_t *body,
	      const struct request_outcome *o)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct evbuffer *buf = evbuffer_new();
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	double ms = (double)(timeutil_mono_us() - t0_us) / 1000.0;

	if (buf == NULL || text == NULL)
		abort();
	json_decref(body);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "X-Request-Id", request_id);
	if (o->status == 503) {
		char ra[24];

		snprintf(ra, sizeof(ra), "%llu", (unsigned long long)s->cfg->retry_after);
		evhttp_add_header(h, "Retry-After", ra);
	}
	if (o->status == 405)
		evhttp_add_header(h, "Allow", "POST");
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	evhttp_send_reply(req, o->status, NULL, buf);
	evbuffer_free(buf);
	/* evhttp adds the answer to the gate's output before it enables writing,
	 * and a filter bufferevent does not look at its output again when writing
	 * is enabled: push it through (the bufferevent is refcounted, so this is
	 * safe even when the answer closes the connection). */
	if (bev != NULL)
		bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);

	metrics_count_request(s->metrics, route_idx, o->status);
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
			   LOG_MS("latency_ms", ms),
		   },
		   9);
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
server_reject(struct server *s, struct evhttp_request *req, uint64_t t0_us, size_t route_idx,
	      const char *route, const char *request_id, const char *source_ip, int status,
	      const char *code, const char *message)
{
	struct request_outcome o = { .status = status, .error = code, .outcome = "rejected" };

	server_answer(s, req, t0_us, route_idx, route, request_id, source_ip,
		      server_error_body(code, message), &o);
}

static void
request_free(struct request *rq)
{
	if (rq->timer != NULL)
		event_free(rq->timer);
	free(rq->stream);
	free(rq->event_id);
	free(rq);
}

static void
request_answer_unavailable(struct request *rq, const char *message)
{
	struct request_outcome o = { .status = 503,
				     .category = rq->category,
				     .event_id = rq->event_id,
				     .error = "redis_unavailable",
				     .outcome = "failed" };

	server_answer(rq->srv, rq->req, rq->t0_us, rq->route_idx, rq->route, rq->request_id,
		      rq->source_ip, server_error_body("redis_unavailable", message), &o);
	rq->req = NULL;
	rq->srv->inflight--;
}

static void
request_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct request *rq = arg;

	(void)fd;
	(void)what;
	if (rq->req == NULL)
		return;
	metrics_count_event(rq->srv->metrics, rq->category_idx, METRICS_FAILED);
	/* The event may still be stored later; the sender's retry then meets
	 * the dedup key and is answered "duplicate", never stored twice. */
	request_answer_unavailable(rq, "redis did not confirm the write in time; retry later");
}

static void
request_published_cb(void *arg, const struct publish_result *res)
{
	struct request *rq = arg;
	struct server *s = rq->srv;
	const struct publish_item_result *it;
	struct request_outcome o = { .category = rq->category, .event_id = rq->event_id };
	json_t *body;

	if (rq->req == NULL) {
		request_free(rq);
		return;
	}
	evtimer_del(rq->timer);
	if (res->status != 0) {
		metrics_count_event(s->metrics, rq->category_idx, METRICS_FAILED);
		request_answer_unavailable(rq, "redis could not store the event; retry later");
		request_free(rq);
		return;
	}
	it = &res->items[0];
	o.status = it->duplicate ? 200 : 202;
	o.outcome = it->duplicate ? "duplicate" : "published";
	metrics_count_event(s->metrics, rq->category_idx,
			    it->duplicate ? METRICS_DUPLICATE : METRICS_PUBLISHED);
	body = json_pack("{s:s, s:s, s:s, s:s}", "status", it->duplicate ? "duplicate" : "accepted",
			 "event_id", rq->event_id, "stream", rq->stream, "entry_id", it->entry_id);
	if (body == NULL)
		abort();
	server_answer(s, rq->req, rq->t0_us, rq->route_idx, rq->route, rq->request_id,
		      rq->source_ip, body, &o);
	rq->req = NULL;
	s->inflight--;
	request_free(rq);
}

static bool
server_content_type_ok(const char *ct)
{
	size_t n;
	const char *slash, *plus;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	slash = memchr(ct, '/', n);
	if (slash == NULL || (size_t)(slash - ct) != 11 || strncasecmp(ct, "application", 11) != 0)
		return false;
	/* application/<anything>+json, e.g. application/cloudevents+json */
	plus = n >= 5 ? ct + n - 5 : NULL;
	return plus != NULL && plus > slash + 1 && strncasecmp(plus, "+json", 5) == 0;
}

static size_t
server_route_index(const struct server *s, const char *path, const struct config_route **route)
{
	for (size_t i = 0; i < s->cfg->nroutes; i++) {
		if (strcmp(s->cfg->routes[i].path, path) == 0) {
			*route = &s->cfg->routes[i];
			return i;
		}
	}
	*route = NULL;
	return s->cfg->nroutes;
}

static void
server_request_cb(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	uint64_t t0 = timeutil_mono_us();
	struct gate_conn *conn = gate_conn_of(s->gate, req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const struct config_route *route;
	char request_id[48], received_at[TIMEUTIL_RFC3339_LEN];
	const char *source_ip = conn ? conn->peer : "-";
	struct classify_result cr;
	struct classify_input ci;
	struct envelope_input ei;
	struct publish_item item;
	struct timespec now;
	struct request *rq;
	json_error_t jerr;
	json_t *doc;
	size_t route_idx, len, evlen;
	char *event_json, *seen_key, msg[160];
	const unsigned char *raw;

	server_request_id(s, req, request_id, sizeof(request_id));
	if (conn == NULL) {
		/* The connection is already gone; nobody is left to answer. */
		evhttp_send_reply(req, 500, NULL, NULL);
		return;
	}
	if (gate_begin_request(conn)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		server_reject(s, req, t0, s->cfg->nroutes, "-", request_id, source_ip,
			      conn->reject_status, conn->reject_error, conn->reject_message);
		return;
	}
	gate_watch_request(conn, req);
	if (path == NULL || *path == '\0')
		path = "/";
	route_idx = server_route_index(s, path, &route);
	if (route == NULL) {
		server_reject(s, req, t0, route_idx, "other", request_id, source_ip, 404,
			      "unknown_route", "no webhook route at this path");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 405,
			      "method_not_allowed", "notifications are sent with POST");
		return;
	}
	if (evhttp_find_header(in, "Content-Length") == NULL &&
	    evhttp_find_header(in, "Transfer-Encoding") == NULL) {
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 411,
			      "length_required", "send a Content-Length (or chunked) body");
		return;
	}
	if (!server_content_type_ok(evhttp_find_header(in, "Content-Type"))) {
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 415,
			      "unsupported_content_type",
			      "send the notification as application/json");
		return;
	}
	len = evbuffer_get_length(body);
	raw = evbuffer_pullup(body, -1);
	if (raw == NULL)
		raw = (const unsigned char *)"";
	/* jansson's error text may quote the body; only the position is used. */
	doc = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "the body is not valid JSON (line %d, column %d)",
			 jerr.line, jerr.column);
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 400,
			      "invalid_json", msg);
		return;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 400,
			      "not_an_object", "the body must be a JSON object");
		return;
	}
	if (!publisher_ready(s->pub)) {
		json_decref(doc);
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 503,
			      "redis_unavailable", "redis is unreachable; retry later");
		return;
	}

	ci = (struct classify_input){ .body = doc,
				      .query = query,
				      .route_category = route->category,
				      .raw = raw,
				      .raw_len = len };
	classify_run(s->cfg->rules, &ci, &cr);
	now = timeutil_now();
	timeutil_rfc3339(&now, received_at);
	ei = (struct envelope_input){ .id = cr.event_id,
				      .source = route->path,
				      .type = cr.type,
				      .subject = cr.subject,
				      .time = cr.time,
				      .category = cr.category,
				      .status = cr.canonical,
				      .senderstatus = cr.status,
				      .sourceip = source_ip,
				      .receivedat = received_at,
				      .rule = cr.rule,
				      .data = (const char *)raw,
				      .data_len = len };
	event_json = envelope_build(&ei, &evlen);
	json_decref(doc);

	rq = xcalloc(1, sizeof(*rq));
	rq->srv = s;
	rq->req = req;
	rq->t0_us = t0;
	rq->route_idx = route_idx;
	rq->route = route->path;
	rq->category_idx = server_category_index(s, cr.category);
	rq->category = rq->category_idx < s->ncategories ? s->categories[rq->category_idx]
							  : CLASSIFY_UNCLASSIFIED;
	rq->stream = xasprintf("%s:%s", s->cfg->stream_prefix, cr.category);
	rq->event_id = cr.event_id;
	cr.event_id = NULL;
	memcpy(rq->request_id, request_id, sizeof(request_id));
	snprintf(rq->source_ip, sizeof(rq->source_ip), "%s", source_ip);
	/* Hash-tag the dedup key to its stream's slot (Redis Cluster). */
	seen_key = xasprintf("{%s}:seen:%s", rq->stream, rq->event_id);
	item = (struct publish_item){
		.stream = rq->stream,
		.seen_key = seen_key,
		.fields = { "event_id", rq->event_id, "category", cr.category, "type", cr.type,
			    "source_ip", source_ip, "received_at", received_at, "event",
			    event_json },
		.nfields = 12,
	};
	for (size_t i = 0; i < 11; i++)
		item.lens[i] = strlen(item.fields[i]);
	item.lens[11] = evlen;
	if (publish_submit(s->pub, &item, 1, request_published_cb, rq) < 0) {
		server_reject(s, req, t0, route_idx, route->path, request_id, source_ip, 503,
			      "redis_unavailable", "redis is unreachable; retry later");
		request_free(rq);
	} else {
		s->inflight++;
		rq->timer = evtimer_new(s->base, request_timeout_cb, rq);
		if (rq->timer == NULL)
			abort();
		evtimer_add(rq->timer, s->publish_tv);
	}
	free(seen_key);
	free(event_json);
	classify_result_fini(&cr);
}

struct server *
server_new(const struct server_deps *deps, char *err, size_t errlen)
{
	struct server *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = deps->cfg;
	struct gate_options gopt = {
		.allow = &cfg->allow,
		.limits = { .max_head = cfg->max_header, .max_body = cfg->max_body },
	};
	struct timeval tv = { (time_t)(cfg->publish_timeout / 1000),
			      (suseconds_t)(cfg->publish_timeout % 1000) * 1000 };
	char *host = NULL;
	int port = 0;
	const char *why;

	s->base = deps->base;
	s->cfg = cfg;
	s->pub = deps->pub;
	s->metrics = deps->metrics;
	s->categories = deps->categories;
	s->ncategories = deps->ncategories;
	s->id_prefix = arc4random();
	/* Every request uses the same timeout: libevent keeps those in a queue. */
	s->publish_tv = event_base_init_common_timeout(s->base, &tv);
	s->gate = gate_new(&gopt);
	s->http = evhttp_new(s->base);
	if (s->http == NULL || s->publish_tv == NULL)
		abort();
	evhttp_set_bevcb(s->http, gate_bevcb, s->gate);
	evhttp_set_gencb(s->http, server_request_cb, s);
	/* The gate already bounds both; evhttp's limits are a second fence. */
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)cfg->max_header + 1024);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_timeout(s->http, (int)cfg->request_timeout);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	if (config_parse_address(cfg->listen, &host, &port, &why) < 0) {
		snprintf(err, errlen, "listen: %s", why);
		goto fail;
	}
	s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
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
	if (s->sock != NULL) {
		evhttp_del_accept_socket(s->http, s->sock);
		s->sock = NULL;
	}
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
	free(s);
}
