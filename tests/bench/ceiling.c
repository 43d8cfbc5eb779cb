// SPDX-License-Identifier: MIT
/*
 * ceiling: the bare evhttp ceiling for tests/bench/bench.sh. One thread, one
 * event_base, default evhttp settings; every request is answered 202 with a
 * small JSON body and never touches Redis, so its rate bounds what hookstream
 * can reach on the same core with the same HTTP stack. Built a second time
 * with CEILING_GATE as ceiling-gate: the same server behind hookstream's gate
 * (allowlist check on the first bytes, request framing), which measures what
 * the pre-body source check costs on its own.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CEILING_GATE
#include <event2/bufferevent.h>

#include "hookstream/gate.h"

static struct gate *ceiling_gate;
#endif

static const char ceiling_body[] = "{\"status\":\"accepted\"}\n";

static void
ceiling_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *reply = arg;
#ifdef CEILING_GATE
	struct gate_conn *conn = gate_conn_of(ceiling_gate, req);
	struct bufferevent *bev =
		evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));

	/* What hookstream's server does per request around the gate. */
	if (conn == NULL || gate_begin_request(conn))
		abort();
	gate_watch_request(conn, req);
#endif

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	/* evhttp moves the buffer's contents out; one buffer serves every reply. */
	if (evbuffer_add(reply, ceiling_body, sizeof(ceiling_body) - 1) < 0)
		abort();
	evhttp_send_reply(req, 202, NULL, reply);
#ifdef CEILING_GATE
	bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);
#endif
}

static void
ceiling_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	if (event_base_loopexit(arg, NULL) < 0)
		abort();
}

static int
ceiling_parse_port(const char *s, unsigned short *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > USHRT_MAX)
		return -EINVAL;
	*port = (unsigned short)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	struct evbuffer *reply = NULL;
	struct event *sig_term = NULL, *sig_int = NULL;
	unsigned short port;
	int status = EXIT_FAILURE;

	if (argc != 2 || ceiling_parse_port(argv[1], &port) < 0) {
		fprintf(stderr, "usage: ceiling PORT  (listens on 127.0.0.1:PORT)\n");
		return 2;
	}
	/* A client that hangs up mid-reply must not kill the process. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "ceiling: cannot ignore SIGPIPE: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	base = event_base_new();
	http = base ? evhttp_new(base) : NULL;
	reply = evbuffer_new();
	sig_term = base ? evsignal_new(base, SIGTERM, ceiling_signal_cb, base) : NULL;
	sig_int = base ? evsignal_new(base, SIGINT, ceiling_signal_cb, base) : NULL;
	if (http == NULL || reply == NULL || sig_term == NULL || sig_int == NULL) {
		fprintf(stderr, "ceiling: out of memory setting up libevent\n");
		goto out;
	}
	if (evsignal_add(sig_term, NULL) < 0 || evsignal_add(sig_int, NULL) < 0) {
		fprintf(stderr, "ceiling: cannot watch signals\n");
		goto out;
	}
	evhttp_set_gencb(http, ceiling_request_cb, reply);
#ifdef CEILING_GATE
	{
		static struct access_list allow;
		struct access_error aerr;
		struct gate_options gopt = { .allow = &allow,
					     .limits = { .max_head = 16384, .max_body = 1048576 } };

		if (access_list_parse("127.0.0.1", &allow, &aerr) < 0)
			abort();
		ceiling_gate = gate_new(&gopt);
		evhttp_set_bevcb(http, gate_bevcb, ceiling_gate);
	}
#endif
	if (evhttp_bind_socket(http, "127.0.0.1", port) < 0) {
		fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%u: %s\n", port,
			strerror(errno));
		goto out;
	}
	if (event_base_dispatch(base) < 0) {
		fprintf(stderr, "ceiling: event loop failed\n");
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	if (sig_int != NULL)
		event_free(sig_int);
	if (sig_term != NULL)
		event_free(sig_term);
	if (http != NULL)
		evhttp_free(http);
	if (reply != NULL)
		evbuffer_free(reply);
	if (base != NULL)
		event_base_free(base);
	return status;
}
