// SPDX-License-Identifier: MIT
/*
 * admin: a separate evhttp so that health checks and scrapes never compete with
 * the webhook allowlist or limits, and can be firewalled apart from it.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/admin.h"
#include "hookstream/config.h"
#include "hookstream/xalloc.h"

struct admin {
	struct evhttp *http;
	struct admin_probe probe;
};

static void
admin_send(struct evhttp_request *req, int code, const char *ctype, const char *body, size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL)
		abort();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	/* HEAD: the status and headers only. evhttp leaves Content-Length out for
	 * HEAD but would send the bytes, which a keep-alive client then reads as
	 * the next answer. */
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	static const char ok[] = "{\"status\":\"ok\"}\n";

	if (path == NULL)
		path = "/";
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		static const char m[] =
			"{\"error\":\"method_not_allowed\",\"message\":\"use GET\"}\n";

		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		admin_send(req, 405, "application/json", m, sizeof(m) - 1);
	} else if (strcmp(path, "/healthz") == 0) {
		admin_send(req, 200, "application/json", ok, sizeof(ok) - 1);
	} else if (strcmp(path, "/readyz") == 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		bool r;

		if (f == NULL)
			abort();
		r = a->probe.ready(a->probe.arg, f);
		fclose(f);
		admin_send(req, r ? 200 : 503, "application/json", text, len);
		free(text);
	} else if (strcmp(path, "/metrics") == 0) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (f == NULL)
			abort();
		a->probe.render_metrics(a->probe.arg, f);
		fclose(f);
		admin_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
		free(text);
	} else {
		static const char nf[] = "{\"error\":\"not_found\",\"message\":\"try /healthz, "
					 "/readyz or /metrics\"}\n";

		admin_send(req, 404, "application/json", nf, sizeof(nf) - 1);
	}
}

struct admin *
admin_new(struct event_base *base, const char *listen, const struct admin_probe *probe, char *err,
	  size_t errlen)
{
	struct admin *a = xcalloc(1, sizeof(*a));
	char *host = NULL;
	int port;
	const char *why;

	a->probe = *probe;
	a->http = evhttp_new(base);
	if (a->http == NULL)
		abort();
	evhttp_set_gencb(a->http, admin_request_cb, a);
	evhttp_set_timeout(a->http, 10);
	evhttp_set_max_body_size(a->http, 4096);
	if (config_parse_address(listen, &host, &port, &why) < 0) {
		snprintf(err, errlen, "admin_listen: %s", why);
		goto fail;
	}
	if (evhttp_bind_socket(a->http, host, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "cannot listen on %s (admin): %s", listen, strerror(errno));
		goto fail;
	}
	free(host);
	return a;
fail:
	free(host);
	admin_free(a);
	return NULL;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);
	free(a);
}
