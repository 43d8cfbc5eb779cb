// SPDX-License-Identifier: MIT
/*
 * gate: libevent 2.1 has no public hook between accept and body for server
 * requests, so a filter bufferevent returned from evhttp_set_bevcb sees each
 * connection's bytes first. Bytes are moved (not copied) to evhttp one whole,
 * framed request at a time. A refusal replaces the rest of the stream with a
 * synthetic "GET / ... Connection: close" that the server answers with JSON.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hookstream/gate.h"
#include "hookstream/xalloc.h"

static const char gate_synthetic[] =
	"GET / HTTP/1.1\r\nHost: hookstream\r\nConnection: close\r\n\r\n";
static const char gate_continue[] = "HTTP/1.1 100 Continue\r\n\r\n";

struct gate {
	struct gate_options opt;
	struct gate_conn **buckets;
	size_t nbuckets; /* power of two */
	uint64_t count;
};

static size_t
gate_hash(const struct gate *g, const void *bev)
{
	uintptr_t v = (uintptr_t)bev;

	v ^= v >> 17;
	v *= UINT64_C(0x9E3779B97F4A7C15) & UINTPTR_MAX;
	return (size_t)(v >> 7) & (g->nbuckets - 1);
}

static void
gate_grow(struct gate *g)
{
	size_t old = g->nbuckets;
	struct gate_conn **ob = g->buckets;

	g->nbuckets = old * 2;
	g->buckets = xcalloc(g->nbuckets, sizeof(*g->buckets));
	for (size_t i = 0; i < old; i++) {
		struct gate_conn *c = ob[i], *next;

		for (; c != NULL; c = next) {
			size_t h = gate_hash(g, c->filter);

			next = c->next;
			c->next = g->buckets[h];
			g->buckets[h] = c;
		}
	}
	free(ob);
}

struct gate *
gate_new(const struct gate_options *opt)
{
	struct gate *g = xcalloc(1, sizeof(*g));

	g->opt = *opt;
	g->nbuckets = 256;
	g->buckets = xcalloc(g->nbuckets, sizeof(*g->buckets));
	return g;
}

void
gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	/* Connections freed after the gate (libevent may defer a free) must not
	 * reach back into it. */
	for (size_t i = 0; i < g->nbuckets; i++)
		for (struct gate_conn *c = g->buckets[i]; c != NULL; c = c->next)
			c->gate = NULL;
	free(g->buckets);
	free(g);
}

void
gate_set_allow(struct gate *g, const struct access_list *allow)
{
	g->opt.allow = allow;
}

const struct tls_identity *
gate_conn_identity(struct gate_conn *conn)
{
	if (!conn->tls)
		return NULL;
	if (!conn->identity_loaded) {
		SSL *ssl = bufferevent_openssl_get_ssl(conn->under);

		conn->identity_loaded = true;
		conn->has_identity = ssl != NULL && tls_identity_get(ssl, &conn->identity);
	}
	return conn->has_identity ? &conn->identity : NULL;
}

void
gate_set_options(struct gate *g, const struct gate_options *opt)
{
	g->opt = *opt;
}

uint64_t
gate_connections(const struct gate *g)
{
	return g->count;
}

static void
gate_unlink(struct gate_conn *conn)
{
	struct gate *g = conn->gate;
	struct gate_conn **pp = &g->buckets[gate_hash(g, conn->filter)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == conn) {
			*pp = conn->next;
			g->count--;
			return;
		}
	}
}

static void
gate_conn_free_cb(void *ctx)
{
	struct gate_conn *conn = ctx;

	tls_identity_fini(&conn->identity);
	if (conn->gate != NULL)
		gate_unlink(conn);
	free(conn);
}

/* Decide on the first bytes: is the socket peer allowed? */
static void
gate_decide(struct gate_conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = bufferevent_getfd(conn->under);

	conn->decided = true;
	conn->allowed = false;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, conn->peer,
			  sizeof(conn->peer));
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], conn->peer, sizeof(conn->peer));
		else
			inet_ntop(AF_INET6, a, conn->peer, sizeof(conn->peer));
	}
	conn->via_proxy = conn->gate->opt.trusted != NULL &&
			  access_allows(conn->gate->opt.trusted, (struct sockaddr *)&ss);
	/* A proxy is let in here; the client it names is checked per request. */
	conn->allowed =
		conn->via_proxy || access_allows(conn->gate->opt.allow, (struct sockaddr *)&ss);
}

static void
gate_reject(struct gate_conn *conn, struct evbuffer *src, struct evbuffer *dst, int status,
	    const char *error, const char *message)
{
	conn->reject_status = status;
	conn->reject_error = error;
	conn->reject_message = message;
	conn->reject_seq = ++conn->forwarded;
	evbuffer_drain(src, evbuffer_get_length(src));
	evbuffer_add(dst, gate_synthetic, sizeof(gate_synthetic) - 1);
	/* From here on input is drained as it arrives (never kept) until evhttp
	 * closes the connection after the answer; reading on lets a client that is
	 * still sending see the answer instead of a reset. */
}

/*
 * The request target of the head in src[0, ...), as evhttp will parse it.
 * A target evhttp cannot parse makes it answer by itself, with an answer the
 * filter never writes out, on a connection whose teardown then crashes
 * libevent (reproduced): the gate refuses those first.
 */
static bool
gate_target_ok(struct evbuffer *src, const struct httpframe_info *info)
{
	char small[256], *buf = small;
	struct evbuffer_ptr pos;
	struct evhttp_uri *uri = NULL;

	if (info->target_len >= sizeof(small))
		buf = xmalloc(info->target_len + 1);
	if (evbuffer_ptr_set(src, &pos, info->target_at, EVBUFFER_PTR_SET) == 0 &&
	    evbuffer_copyout_from(src, &pos, buf, info->target_len) ==
		    (ev_ssize_t)info->target_len) {
		buf[info->target_len] = '\0';
		uri = evhttp_uri_parse_with_flags(buf, EVHTTP_URI_NONCONFORMANT);
	}
	if (buf != small)
		free(buf);
	if (uri == NULL)
		return false;
	evhttp_uri_free(uri);
	return true;
}

static void
gate_send_continue(struct gate_conn *conn)
{
	conn->continue_pending = false;
	bufferevent_write(conn->under, gate_continue, sizeof(gate_continue) - 1);
}

static enum bufferevent_filter_result
gate_input_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
	      enum bufferevent_flush_mode mode, void *ctx)
{
	struct gate_conn *conn = ctx;
	struct evbuffer_iovec vec[16];
	struct evbuffer_ptr pos;
	bool forwarded = false;
	int nvec;

	(void)limit;
	(void)mode;
	if (conn->reject_seq != 0) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_OK;
	}
	if (!conn->decided)
		gate_decide(conn);
	if (!conn->allowed) {
		gate_reject(conn, src, dst, 403, "source_not_allowed",
			    "this source address is not allowed to post notifications");
		return BEV_OK;
	}
	if (conn->over_limit) {
		gate_reject(conn, src, dst, 503, "too_many_connections",
			    "too many open connections; retry later");
		return BEV_OK;
	}
	while (evbuffer_get_length(src) > conn->fed) {
		bool moved = false;

		if (evbuffer_ptr_set(src, &pos, conn->fed, EVBUFFER_PTR_SET) < 0)
			break;
		nvec = evbuffer_peek(src, -1, &pos, vec, 16);
		for (int i = 0; i < nvec && i < 16 && !moved; i++) {
			const char *data = vec[i].iov_base;
			size_t left = vec[i].iov_len;

			while (left > 0 || i == nvec - 1) {
				const struct httpframe_info *info;
				size_t used = 0;
				enum httpframe_event ev =
					httpframe_feed(&conn->frame, data, left, &used, &info);

				conn->fed += used;
				data += used;
				left -= used;
				if (ev == HTTPFRAME_NEED_MORE)
					break;
				if (ev == HTTPFRAME_REJECT) {
					gate_reject(conn, src, dst, info->status, info->error,
						    info->message);
					return BEV_OK;
				}
				if (ev == HTTPFRAME_HEAD_DONE) {
					if (!gate_target_ok(src, info)) {
						gate_reject(conn, src, dst, 400, "bad_request",
							    "the request target cannot be parsed");
						return BEV_OK;
					}
					if (info->expect_continue) {
						if (conn->outstanding == 0)
							gate_send_continue(conn);
						else
							conn->continue_pending = true;
					}
					continue;
				}
				/* COMPLETE: hand the whole request to evhttp. Its
				 * body is here: a 100 Continue still owed for it
				 * would come after its answer, unasked. */
				conn->continue_pending = false;
				evbuffer_remove_buffer(src, dst, conn->fed);
				conn->fed = 0;
				conn->forwarded++;
				conn->outstanding++;
				moved = true;
				break;
			}
		}
		if (!moved)
			break;
		forwarded = true;
	}
	/*
	 * libevent calls this filter again for as long as it answers BEV_OK and
	 * input remains; the rest of a partial request stays in src until more
	 * bytes come, so say NEED_MORE once nothing was handed on. BEV_OK when
	 * something was, so that evhttp's read callback runs.
	 */
	return forwarded ? BEV_OK : BEV_NEED_MORE;
}

/*
 * Answers go straight to the socket. evhttp treats an answer as written as
 * soon as the filter's output is empty, and on "Connection: close" it then
 * shuts the socket down at once: bytes left queued in the socket bufferevent
 * would be lost. Writing them now (answers are small) also saves a loop turn.
 */
static enum bufferevent_filter_result
gate_output_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
	       enum bufferevent_flush_mode mode, void *ctx)
{
	struct gate_conn *conn = ctx;
	evutil_socket_t fd = bufferevent_getfd(conn->under);
	bool idle = evbuffer_get_length(dst) == 0;

	(void)limit;
	(void)mode;
	evbuffer_add_buffer(dst, src);
	if (conn->tls) {
		/* The same for TLS, through the connection's SSL, only when the
		 * OpenSSL bufferevent has no write of its own under way: a
		 * partial write leaves the rest to it, which then writes the
		 * very bytes OpenSSL expects next. */
		SSL *ssl = bufferevent_openssl_get_ssl(conn->under);

		while (idle && ssl != NULL && SSL_is_init_finished(ssl) &&
		       evbuffer_get_length(dst) > 0) {
			/* The whole answer in one record, so one write(): as two
			 * records, Nagle would hold the second for the client's
			 * delayed ACK (~40 ms). Answers are small. */
			size_t n = evbuffer_get_length(dst);
			int w;

			if (n > 16384)
				n = 16384; /* one TLS record at most */
			w = SSL_write(ssl, evbuffer_pullup(dst, (ev_ssize_t)n), (int)n);

			if (w <= 0) {
				ERR_clear_error();
				break;
			}
			evbuffer_drain(dst, (size_t)w);
		}
		return BEV_OK;
	}
	if (fd >= 0 && evbuffer_get_length(dst) > 0) {
		/* A short write leaves the rest to the socket bufferevent; an
		 * error is reported by it too. */
		(void)evbuffer_write(dst, fd);
	}
	return BEV_OK;
}

struct bufferevent *
gate_bevcb(struct event_base *base, void *arg)
{
	struct gate *g = arg;
	struct gate_conn *conn = xcalloc(1, sizeof(*conn));
	size_t h;

	conn->gate = g;
	httpframe_init(&conn->frame, &g->opt.limits);
	if (g->opt.tls != NULL) {
		SSL *ssl = SSL_new(g->opt.tls);

		if (ssl == NULL)
			abort();
		/* evhttp sets the socket; the handshake starts then. */
		conn->under = bufferevent_openssl_socket_new(
			base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		conn->tls = true;
	} else {
		conn->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (conn->under == NULL)
		abort();
	conn->filter = bufferevent_filter_new(conn->under, gate_input_cb, gate_output_cb,
					      BEV_OPT_CLOSE_ON_FREE, gate_conn_free_cb, conn);
	if (conn->filter == NULL)
		abort();
	/* evhttp has accepted already; the connection is answered and closed at
	 * its first bytes, before anything is buffered. */
	conn->over_limit = g->opt.max_connections > 0 && g->count >= g->opt.max_connections;
	if (g->count + 1 > g->nbuckets)
		gate_grow(g);
	h = gate_hash(g, conn->filter);
	conn->next = g->buckets[h];
	g->buckets[h] = conn;
	g->count++;
	return conn->filter;
}

struct gate_conn *
gate_conn_of(struct gate *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;

	if (evcon == NULL)
		return NULL;
	bev = evhttp_connection_get_bufferevent(evcon);
	for (struct gate_conn *c = g->buckets[gate_hash(g, bev)]; c != NULL; c = c->next)
		if (c->filter == bev)
			return c;
	return NULL;
}

bool
gate_begin_request(struct gate_conn *conn)
{
	conn->handled++;
	return conn->reject_seq != 0 && conn->handled == conn->reject_seq;
}

static void
gate_request_complete_cb(struct evhttp_request *req, void *arg)
{
	struct gate_conn *conn = arg;

	(void)req;
	if (conn->outstanding > 0)
		conn->outstanding--;
	if (conn->outstanding == 0 && conn->continue_pending)
		gate_send_continue(conn);
}

void
gate_watch_request(struct gate_conn *conn, struct evhttp_request *req)
{
	evhttp_request_set_on_complete_cb(req, gate_request_complete_cb, conn);
}
