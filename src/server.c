// SPDX-License-Identifier: MIT
/*
 * server: evhttp on the worker's loop, behind the gate: request ids, routing,
 * the checks a request passes before it is accepted (source, route, method,
 * length, signature, capacity), answers and their log lines and counters, and
 * the listener's lifecycle. What happens to an accepted request is in
 * server_request.c. A client that hangs up meanwhile is normal: evhttp frees
 * the detached request when we answer it.
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
#include "hookstream/httpframe.h"
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
#include "server_int.h"

static void
server_request_id(struct server *s, struct evhttp_request *req, char *out, size_t len)
{
	const char *given =
		evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
	size_t n = given ? strlen(given) : 0;
	bool ok = n > 0 && n < len;

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]) != NULL;
	if (ok) {
		memcpy(out, given, n + 1);
		/* It is logged and stored: it must not carry a card number, also
		 * not one grouped by the '.', '_' or ':' the id may hold. */
		redact_pans_sep(out, n, "._:");
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
void
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
void
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

json_t *
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
	char request_id[SERVER_REQUEST_ID_LEN];
	uint64_t record_bytes;
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
	/* The gate checked the limit this connection started with; a reload may
	 * have lowered it since. */
	if (len > s->cfg->max_body) {
		server_reject(s, req, t0, route->path, request_id, source_ip, 413, "body_too_large",
			      "request body exceeds the size limit");
		return;
	}
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
	/* Kept in the <prefix>:invalid record: a header is sender text too. */
	if (rq->content_type != NULL)
		redact_pans(rq->content_type, strlen(rq->content_type));
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
	/* An event's record is its envelope and fields: the body as data (masked
	 * or turned from a form into JSON: under 4 times it), texts taken from it
	 * (subject, statuses, time: under 4 times it again) and bounded
	 * attributes. Only a large batch can come near the limit. */
	record_bytes =
		(uint64_t)rq->norm.nevents * (8 * (uint64_t)len + 16384) > SPOOLREC_MAX_PAYLOAD
			? request_record_bytes(rq)
			: 0;
	if (record_bytes > SPOOLREC_MAX_PAYLOAD) {
		/* Each event of a batch holds the whole body: with a large
		 * max_body, 64 of them can outgrow what one script call and one
		 * spool record may hold. Refused, but kept. */
		nerr = (struct normalize_error){ .status = 413, .code = "too_many_events" };
		snprintf(nerr.message, sizeof(nerr.message),
			 "%zu events of a %zu-byte body would take %llu bytes, over the %u a "
			 "notification may; send fewer events per notification",
			 rq->norm.nevents, len, (unsigned long long)record_bytes,
			 (unsigned int)SPOOLREC_MAX_PAYLOAD);
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
	/* The gate bounds both, with the limits a connection started with. Were
	 * evhttp's own lower (after a reload lowered them), evhttp would answer
	 * an older connection's request by itself, an answer the gate's filter
	 * never writes out: its limits stay at the highest the configuration
	 * allows, and server_request_cb applies the current max_body. */
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)HTTPFRAME_HEAD_MAX + 1024);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)CONFIG_MAX_BODY_MAX);
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
