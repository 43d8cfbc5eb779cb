// SPDX-License-Identifier: MIT
/*
 * publish_cluster: the public publisher. For one Redis (or a Sentinel-managed
 * master) it is one pubnode. For a Redis Cluster (redis+cluster://) it keeps
 * the slot map (CLUSTER SLOTS, refreshed every few seconds and at once after
 * a MOVED), one pubnode per master, and sends each event to the master that
 * owns its stream's slot (the dedup key is hash-tagged to the same slot, so
 * the script runs on one node). A MOVED or ASK answer is followed at once
 * when the node it names is connected; anything else fails the call (the
 * request is then spooled or answered 503, and retried).
 */
#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/cluster.h"
#include "hookstream/log.h"
#include "hookstream/publish.h"
#include "hookstream/spoolrec.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"
#include "publish_int.h"

#define CLUSTER_REFRESH_MS     10000
#define CLUSTER_REFRESH_MIN_MS 100
#define CLUSTER_MAX_REDIRECTS  3

struct cnode {
	/* this master, with the cluster's credentials; on the heap, because its
	 * pubnode keeps the pointer while cnodes move between arrays */
	struct redis_url *url;
	struct pubnode *pn;
	const char **streams; /* the streams of its slots, for consumer groups */
	size_t nstreams;
};

struct publisher {
	struct event_base *base;
	struct publish_options opt; /* opt.url borrowed */
	struct pubnode *single;	    /* not a cluster */
	/* cluster */
	struct cluster_map map; /* owner indexes into nodes */
	struct cnode *nodes;
	size_t nnodes;
	redisAsyncContext *seed; /* CLUSTER SLOTS under way */
	size_t seed_next;
	struct event *refresh_timer;
	uint64_t last_refresh_us;
	bool stopping;
	const char *const *streams; /* borrowed (worker) */
	size_t nstreams;
};

/* ---- slot map ---- */

static size_t
cluster_node_index(const struct publisher *p, const char *host, int port)
{
	size_t i = 0;

	while (i < p->nnodes &&
	       !(p->nodes[i].url->port == port && strcmp(p->nodes[i].url->host, host) == 0))
		i++;
	return i;
}

/* Give each node the streams its slots hold (only ever added to: the
 * pubnode creates groups on the new ones). */
static void
cluster_assign_streams(struct publisher *p)
{
	for (size_t s = 0; s < p->nstreams; s++) {
		const char *name = p->streams[s];
		uint16_t o = p->map.owner[cluster_key_slot(name, strlen(name))];
		struct cnode *n;
		bool known = false;

		if (o == CLUSTER_NO_NODE)
			continue;
		n = &p->nodes[o];
		for (size_t i = 0; i < n->nstreams && !known; i++)
			known = strcmp(n->streams[i], name) == 0;
		if (known)
			continue;
		n->streams = xrealloc(n->streams, (n->nstreams + 1) * sizeof(*n->streams));
		n->streams[n->nstreams++] = name;
		pubnode_set_streams(n->pn, n->streams, n->nstreams);
	}
}

static void
cnode_fini(struct cnode *n)
{
	pubnode_free(n->pn);
	redis_url_fini(n->url);
	free(n->url);
	free(n->streams);
}

/* Adopt a new map: keep the connections to masters still in it, open the
 * new ones, drop the rest (their calls fail and are retried). */
static void
cluster_install(struct publisher *p, struct cluster_map *m)
{
	struct cnode *nodes = xcalloc(m->nnodes ? m->nnodes : 1, sizeof(*nodes));
	bool *kept = xcalloc(p->nnodes + 1, sizeof(*kept));

	for (size_t i = 0; i < m->nnodes; i++) {
		size_t old = cluster_node_index(p, m->nodes[i].host, m->nodes[i].port);
		struct publish_options o = p->opt;

		if (old < p->nnodes) {
			nodes[i] = p->nodes[old];
			kept[old] = true;
			continue;
		}
		nodes[i].url = xmalloc(sizeof(*nodes[i].url));
		*nodes[i].url = (struct redis_url){
			.kind = REDIS_URL_TCP,
			.host = xstrdup(m->nodes[i].host),
			.port = m->nodes[i].port,
			.user = p->opt.url->user ? xstrdup(p->opt.url->user) : NULL,
			.password = p->opt.url->password ? xstrdup(p->opt.url->password) : NULL,
		};
		o.url = nodes[i].url;
		o.streams = NULL;
		o.nstreams = 0;
		o.one_slot_per_call = true;
		nodes[i].pn = pubnode_new(p->base, &o);
		log_fields(LOG_LEVEL_INFO, "redis cluster master added",
			   (struct log_field[]){ LOG_STR("host", m->nodes[i].host),
						 LOG_INT("port", m->nodes[i].port) },
			   2);
	}
	for (size_t i = 0; i < p->nnodes; i++)
		if (!kept[i])
			cnode_fini(&p->nodes[i]);
	free(kept);
	free(p->nodes);
	p->nodes = nodes;
	p->nnodes = m->nnodes;
	cluster_map_fini(&p->map);
	p->map = *m;
	cluster_assign_streams(p);
}

static void cluster_refresh(struct publisher *p);

static void
cluster_slots_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct publisher *p = c->data;
	redisReply *reply = r;
	const char *seed_host = privdata;
	struct cluster_map m;
	bool ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY;

	if (reply == NULL || p->stopping)
		return;
	cluster_map_init(&m);
	for (size_t i = 0; ok && i < reply->elements; i++) {
		redisReply *e = reply->element[i], *addr;
		const char *host;

		ok = e->type == REDIS_REPLY_ARRAY && e->elements >= 3 &&
		     e->element[0]->type == REDIS_REPLY_INTEGER &&
		     e->element[1]->type == REDIS_REPLY_INTEGER &&
		     e->element[2]->type == REDIS_REPLY_ARRAY && e->element[2]->elements >= 2;
		if (!ok)
			break;
		addr = e->element[2];
		ok = addr->element[0]->type == REDIS_REPLY_STRING &&
		     addr->element[1]->type == REDIS_REPLY_INTEGER;
		if (!ok)
			break;
		/* "" or "?": the node did not say; it is the one asked */
		host = addr->element[0]->len > 0 && strcmp(addr->element[0]->str, "?") != 0
			       ? addr->element[0]->str
			       : seed_host;
		ok = cluster_map_add(&m, (unsigned int)e->element[0]->integer,
				     (unsigned int)e->element[1]->integer, host,
				     (int)addr->element[1]->integer) == 0;
	}
	if (ok && cluster_map_complete(&m)) {
		cluster_install(p, &m);
	} else {
		log_fields(LOG_LEVEL_WARN, "redis cluster slot map incomplete or unreadable",
			   (struct log_field[]){ LOG_STR("error", reply->type == REDIS_REPLY_ERROR
									  ? reply->str
									  : "not every slot has "
									    "a master") },
			   1);
		cluster_map_fini(&m);
	}
	redisAsyncDisconnect(c);
}

static void
cluster_seed_connect_cb(const redisAsyncContext *c, int status)
{
	struct publisher *p = c->data;

	if (status != REDIS_OK) {
		/* freed by hiredis; no disconnect callback follows */
		log_fields(LOG_LEVEL_WARN, "redis cluster node unreachable",
			   (struct log_field[]){ LOG_STR("error", c->errstr) }, 1);
		p->seed = NULL;
	}
}

static void
cluster_seed_disconnect_cb(const redisAsyncContext *c, int status)
{
	struct publisher *p = c->data;

	(void)status;
	p->seed = NULL;
}

/* Ask one node (the known masters in turn, else the URL's seeds) for the
 * slot map. */
static void
cluster_refresh(struct publisher *p)
{
	const struct redis_url *u = p->opt.url;
	size_t total = p->nnodes + u->nhosts, k;
	const char *host;
	int port;
	redisAsyncContext *ac;

	if (p->stopping)
		return;
	if (p->seed != NULL) {
		redisAsyncContext *seed = p->seed;

		/* A node that takes the connection and never answers CLUSTER
		 * SLOTS must not stop every later refresh: past the connect
		 * timeout, it is dropped and the next node asked. */
		if (timeutil_mono_us() - p->last_refresh_us <
		    (uint64_t)p->opt.connect_timeout_ms * 1000u)
			return;
		log_warn(
			"redis cluster node did not answer CLUSTER SLOTS in time; asking the next");
		/* Connected, hiredis runs the disconnect callback (which clears
		 * p->seed); not connected, none: clear it here first. */
		if (!(seed->c.flags & REDIS_CONNECTED))
			p->seed = NULL;
		redisAsyncFree(seed);
		p->seed = NULL;
	}
	p->last_refresh_us = timeutil_mono_us();
	k = p->seed_next++ % total;
	if (k < p->nnodes) {
		host = p->nodes[k].url->host;
		port = p->nodes[k].url->port;
	} else {
		host = u->hosts[k - p->nnodes].host;
		port = u->hosts[k - p->nnodes].port;
	}
	ac = redisAsyncConnect(host, port);
	if (ac == NULL)
		abort();
	if (ac->err) {
		redisAsyncFree(ac);
		return; /* the timer tries the next one */
	}
	ac->data = p;
	p->seed = ac;
	redisLibeventAttach(ac, p->base);
	redisAsyncSetConnectCallback(ac, cluster_seed_connect_cb);
	redisAsyncSetDisconnectCallback(ac, cluster_seed_disconnect_cb);
	if (u->password != NULL) {
		const char *argv[3] = { "AUTH", u->user ? u->user : u->password, u->password };

		redisAsyncCommandArgv(ac, NULL, NULL, u->user ? 3 : 2, argv, NULL);
	}
	/* the host string lives as long as the node or the URL: past this call */
	redisAsyncCommandArgv(ac, cluster_slots_cb, (void *)host, 2,
			      (const char *[]){ "CLUSTER", "SLOTS" }, NULL);
}

static void
cluster_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct publisher *p = arg;
	struct timeval tv = { 0, 0 };
	bool complete = p->nnodes > 0 && cluster_map_complete(&p->map);

	(void)fd;
	(void)what;
	cluster_refresh(p);
	/* Until there is a whole map, ask again soon (next node). */
	tv.tv_sec = complete ? CLUSTER_REFRESH_MS / 1000 : 0;
	tv.tv_usec = complete ? 0 : 250000;
	evtimer_add(p->refresh_timer, &tv);
}

/* A MOVED, an unknown slot, a lost node: refresh soon (rate-limited). */
static void
cluster_want_refresh(struct publisher *p)
{
	struct timeval tv = { 0, CLUSTER_REFRESH_MIN_MS * 1000 };

	if (timeutil_mono_us() - p->last_refresh_us >= CLUSTER_REFRESH_MIN_MS * 1000u)
		tv.tv_usec = 0;
	evtimer_add(p->refresh_timer, &tv);
}

/* ---- routed calls ---- */

struct cpart;

/* One publish_submit/publish_append split over the masters involved. */
struct ccall {
	struct publisher *p;
	publish_done_cb cb;
	void *arg;
	bool plain; /* publish_append */
	struct spoolrec_buf buf;
	struct spoolrec rec; /* the call's items, decoded from buf (stable copies) */
	size_t nparts, done;
	int status;
	const char *error;
	char error_text[128];
	bool replicas_short;
	long long replicas;
	struct publish_item_result results[SPOOLREC_MAX_ITEMS];
	struct cpart {
		struct ccall *call;
		size_t node;
		unsigned int slot; /* one script call holds one slot's keys */
		size_t n;
		size_t idx[SPOOLREC_MAX_ITEMS]; /* positions in rec.items */
		unsigned int redirects;
	} parts[SPOOLREC_MAX_ITEMS];
};

static int cpart_send(struct cpart *part, bool asking);
static void cpart_done(struct cpart *part, const struct publish_result *res);

static void
cpart_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cpart_done(arg, &(struct publish_result){ .status = -ENOTCONN,
						  .error = "redis connection lost" });
}

static void
ccall_finish(struct ccall *call)
{
	struct publish_result res = {
		.status = call->status,
		.error = call->error,
		.n = call->status == 0 ? (call->plain ? 1 : call->rec.nitems) : 0,
		.items = call->results,
		.replicas = call->replicas,
		.replicas_short = call->replicas_short,
	};

	call->cb(call->arg, &res);
	spoolrec_buf_fini(&call->buf);
	free(call);
}

static void
cpart_done(struct cpart *part, const struct publish_result *res)
{
	struct ccall *call = part->call;

	if (res->status != 0 && call->status == 0) {
		call->status = res->status;
		snprintf(call->error_text, sizeof(call->error_text), "%s",
			 res->error ? res->error : "redis error");
		call->error = call->error_text;
	}
	if (res->status == 0) {
		for (size_t i = 0; i < part->n && i < res->n; i++)
			call->results[part->idx[i]] = res->items[i];
		call->replicas_short = call->replicas_short || res->replicas_short;
		if (call->replicas < 0 || res->replicas < call->replicas)
			call->replicas = res->replicas;
	}
	if (++call->done == call->nparts)
		ccall_finish(call);
}

static void
cpart_cb(void *arg, const struct publish_result *res)
{
	struct cpart *part = arg;
	struct publisher *p = part->call->p;
	bool ask;
	unsigned int slot;
	char host[256];
	int port;

	if (res->status == -EIO && res->error != NULL && !p->stopping) {
		if (cluster_parse_redirect(res->error, &ask, &slot, host, sizeof(host), &port)) {
			size_t to = cluster_node_index(p, host, port);

			if (!ask)
				cluster_want_refresh(p);
			/* Follow it now when that master is connected; a MOVED also
			 * fixes the map for the next calls. */
			if (to < p->nnodes && part->redirects < CLUSTER_MAX_REDIRECTS &&
			    pubnode_ready(p->nodes[to].pn)) {
				if (!ask)
					p->map.owner[slot] = (uint16_t)to;
				part->node = to;
				part->redirects++;
				if (cpart_send(part, ask) == 0)
					return;
			}
		} else if (strncmp(res->error, "CLUSTERDOWN", 11) == 0 ||
			   strncmp(res->error, "TRYAGAIN", 8) == 0) {
			cluster_want_refresh(p);
		}
	}
	if (res->status == -ENOTCONN)
		cluster_want_refresh(p);
	cpart_done(part, res);
}

static int
cpart_send(struct cpart *part, bool asking)
{
	struct ccall *call = part->call;
	struct pubnode *pn = call->p->nodes[part->node].pn;

	if (call->plain) {
		const struct spoolrec *r = &call->rec;

		return pubnode_append(pn, r->stream, r->maxlen, r->fields, r->lens, r->nfields,
				      asking, cpart_cb, part);
	}
	{
		struct publish_item items[SPOOLREC_MAX_ITEMS];

		for (size_t i = 0; i < part->n; i++)
			items[i] = call->rec.items[part->idx[i]];
		return pubnode_submit(pn, items, part->n, asking, cpart_cb, part);
	}
}

/* The master owning stream, or p->nnodes when unknown or not connected. */
static size_t
cluster_route(struct publisher *p, const char *stream)
{
	uint16_t o = p->map.owner[cluster_key_slot(stream, strlen(stream))];

	if (o == CLUSTER_NO_NODE || o >= p->nnodes) {
		cluster_want_refresh(p);
		return p->nnodes;
	}
	return pubnode_ready(p->nodes[o].pn) ? o : p->nnodes;
}

/* Split call over its masters and send; -EAGAIN (nothing sent) when one of
 * them is unknown or not connected. */
static int
ccall_start(struct ccall *call)
{
	struct publisher *p = call->p;
	size_t n = call->plain ? 1 : call->rec.nitems;

	for (size_t i = 0; i < n; i++) {
		const char *stream = call->plain ? call->rec.stream : call->rec.items[i].stream;
		size_t node = cluster_route(p, stream), k = 0;
		unsigned int slot = cluster_key_slot(stream, strlen(stream));

		if (node == p->nnodes)
			return -EAGAIN;
		/* By slot, not only by master: two streams on one master are in
		 * two slots, and a script call with keys of both is refused. */
		while (k < call->nparts &&
		       (call->parts[k].node != node || call->parts[k].slot != slot))
			k++;
		if (k == call->nparts)
			call->parts[call->nparts++] =
				(struct cpart){ .call = call, .node = node, .slot = slot, .n = 0 };
		call->parts[k].idx[call->parts[k].n++] = i;
	}
	for (size_t k = 0; k < call->nparts; k++) {
		if (cpart_send(&call->parts[k], false) < 0) {
			static const struct timeval now = { 0, 0 };

			/* Only the first can be withdrawn cleanly. The masters were all
			 * ready a moment ago, so this is a lost connection: fail the
			 * part from the loop (never inside this call). */
			if (k == 0)
				return -EAGAIN;
			if (event_base_once(p->base, -1, EV_TIMEOUT, cpart_lost_cb, &call->parts[k],
					    &now) < 0)
				abort();
		}
	}
	return 0;
}

static struct ccall *
ccall_new(struct publisher *p, publish_done_cb cb, void *arg, bool plain)
{
	struct ccall *call = xcalloc(1, sizeof(*call));

	call->p = p;
	call->cb = cb;
	call->arg = arg;
	call->plain = plain;
	call->replicas = -1;
	return call;
}

/* Decode the call's own copy of what it stores. */
static void
ccall_decode(struct ccall *call)
{
	const char *payload;
	size_t plen, rl;

	if (spoolrec_next(call->buf.data, call->buf.len, &payload, &plen, &rl) != SPOOLREC_WHOLE ||
	    spoolrec_decode(payload, plen, &call->rec) < 0)
		abort(); /* encoded just now */
}

/* ---- the public API ---- */

struct publisher *
publisher_new(struct event_base *base, const struct publish_options *opt)
{
	struct publisher *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->opt = *opt;
	p->streams = opt->streams;
	p->nstreams = opt->nstreams;
	if (opt->url->kind != REDIS_URL_CLUSTER) {
		p->single = pubnode_new(base, opt);
		return p;
	}
	cluster_map_init(&p->map);
	p->refresh_timer = evtimer_new(base, cluster_timer_cb, p);
	if (p->refresh_timer == NULL)
		abort();
	cluster_timer_cb(-1, 0, p);
	return p;
}

void
publisher_free(struct publisher *p)
{
	if (p == NULL)
		return;
	p->stopping = true;
	if (p->single != NULL)
		pubnode_free(p->single);
	if (p->seed != NULL) {
		redisAsyncContext *seed = p->seed;

		p->seed = NULL;
		redisAsyncFree(seed);
	}
	for (size_t i = 0; i < p->nnodes; i++)
		cnode_fini(&p->nodes[i]);
	free(p->nodes);
	cluster_map_fini(&p->map);
	if (p->refresh_timer != NULL)
		event_free(p->refresh_timer);
	free(p);
}

bool
publisher_ready(const struct publisher *p)
{
	if (p->single != NULL)
		return pubnode_ready(p->single);
	if (p->nnodes == 0 || !cluster_map_complete(&p->map))
		return false;
	for (size_t i = 0; i < p->nnodes; i++)
		if (!pubnode_ready(p->nodes[i].pn))
			return false;
	return true;
}

size_t
publisher_pending(const struct publisher *p)
{
	size_t n = 0;

	if (p->single != NULL)
		return pubnode_pending(p->single);
	for (size_t i = 0; i < p->nnodes; i++)
		n += pubnode_pending(p->nodes[i].pn);
	return n;
}

void
publisher_set_streams(struct publisher *p, const char *const *streams, size_t n)
{
	p->streams = streams;
	p->nstreams = n;
	if (p->single != NULL)
		pubnode_set_streams(p->single, streams, n);
	else
		cluster_assign_streams(p);
}

/* Decode the encoded call and send it; freed at once when nothing was sent. */
static int
ccall_run(struct ccall *call)
{
	int rc;

	ccall_decode(call);
	rc = ccall_start(call);
	if (rc < 0) {
		spoolrec_buf_fini(&call->buf);
		free(call);
	}
	return rc;
}

int
publish_submit(struct publisher *p, const struct publish_item *items, size_t n, publish_done_cb cb,
	       void *arg)
{
	struct ccall *call;

	if (p->single != NULL)
		return pubnode_submit(p->single, items, n, false, cb, arg);
	if (n == 0 || n > SPOOLREC_MAX_ITEMS)
		return -EAGAIN;
	call = ccall_new(p, cb, arg, false);
	spoolrec_encode_events(&call->buf, items, n);
	return ccall_run(call);
}

int
publish_append(struct publisher *p, const char *stream, uint64_t maxlen, const char *const *fields,
	       const size_t *lens, size_t nfields, publish_done_cb cb, void *arg)
{
	struct ccall *call;

	if (p->single != NULL)
		return pubnode_append(p->single, stream, maxlen, fields, lens, nfields, false, cb,
				      arg);
	call = ccall_new(p, cb, arg, true);
	spoolrec_encode_append(&call->buf, stream, maxlen, fields, lens, nfields);
	return ccall_run(call);
}
