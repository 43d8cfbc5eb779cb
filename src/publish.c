// SPDX-License-Identifier: MIT
/*
 * publish: one node's hiredis async connection: connect, handshake (AUTH,
 * SELECT, ROLE, groups, SCRIPT LOAD), reconnect with backoff. What is
 * published over it, and the answers, are publish_ops.c's.
 */
#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookstream/log.h"
#include "hookstream/publish.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"
#include "publish_int.h"

#define PUBLISH_BACKOFF_MIN_MS 100u
#define PUBLISH_BACKOFF_MAX_MS 5000u

void
pubnode_schedule_retry(struct pubnode *p)
{
	struct timeval tv;
	unsigned int delay;

	p->state = PUBLISHER_DOWN;
	p->ac = NULL;
	/* Whatever went wrong, ask the sentinels again: a failover is the
	 * likeliest reason a master stops answering. */
	p->have_master = false;
	if (p->stopping)
		return;
	/* Full jitter in [backoff/2, backoff]: many relays restarting together
	 * must not reconnect to Redis in lockstep. */
	delay = p->backoff_ms / 2 + arc4random_uniform(p->backoff_ms / 2 + 1);
	p->backoff_ms = p->backoff_ms * 2 > PUBLISH_BACKOFF_MAX_MS ? PUBLISH_BACKOFF_MAX_MS
								   : p->backoff_ms * 2;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(p->retry_timer, &tv);
}

static void
publisher_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pubnode_connect(arg);
}

static void publisher_send_setup(struct pubnode *p);

static void
publisher_handshake_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct pubnode *p = c->data;
	redisReply *reply = r;
	const char *step = privdata;

	p->pending--;
	p->replies++;
	if (reply == NULL || p->stopping)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		/* A group that exists is what we wanted. */
		if (strcmp(step, "XGROUP") == 0 && strncmp(reply->str, "BUSYGROUP", 9) == 0)
			return;
		log_fields(
			LOG_LEVEL_ERROR, "redis handshake failed",
			(struct log_field[]){ LOG_STR("step", step), LOG_STR("error", reply->str) },
			2);
		if (strcmp(step, "XGROUP") != 0 && p->state == PUBLISHER_HANDSHAKE) {
			p->state = PUBLISHER_CONNECTING;
			redisAsyncDisconnect(c);
		}
		return;
	}
	if (strcmp(step, "ROLE") == 0) {
		bool master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
			      reply->element[0]->type == REDIS_REPLY_STRING &&
			      strcmp(reply->element[0]->str, "master") == 0;

		if (!master && p->state == PUBLISHER_HANDSHAKE) {
			log_fields(LOG_LEVEL_WARN,
				   "the server the sentinels named is not a master (yet); asking "
				   "again",
				   (struct log_field[]){ LOG_STR("host", p->master_host) }, 1);
			p->state = PUBLISHER_CONNECTING;
			redisAsyncDisconnect(c);
		} else if (master && p->state == PUBLISHER_HANDSHAKE) {
			/* Only now anything that writes: a replica gets none. */
			publisher_send_setup(p);
		}
		return;
	}
	if (strcmp(step, "SCRIPT LOAD") == 0 && p->state == PUBLISHER_HANDSHAKE) {
		if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
			log_error("redis SCRIPT LOAD returned no sha1");
			redisAsyncDisconnect(c);
			return;
		}
		memcpy(p->sha, reply->str, 40);
		p->sha[40] = '\0';
		p->state = PUBLISHER_READY;
		p->backoff_ms = PUBLISH_BACKOFF_MIN_MS;
		log_info("redis connection ready");
	}
}

/* XGROUP CREATE ... MKSTREAM for every group on streams[from..]. */
static void
publisher_send_groups(struct pubnode *p, size_t from)
{
	for (size_t s = from; s < p->opt.nstreams; s++) {
		for (size_t g = 0; g < p->opt.ngroups; g++) {
			const char *argv[6] = { "XGROUP",	  "CREATE", p->opt.streams[s],
						p->opt.groups[g], "$",	    "MKSTREAM" };

			redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "XGROUP", 6, argv,
					      NULL);
			p->pending++;
		}
	}
}

/* The connection's writes: groups first (no event can be added ahead of its
 * readers), then the script. */
static void
publisher_send_setup(struct pubnode *p)
{
	const char *argv[3] = { "SCRIPT", "LOAD", publish_script };

	p->setup_sent = true;
	publisher_send_groups(p, 0);
	redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "SCRIPT LOAD", 3, argv, NULL);
	p->pending++;
}

void
pubnode_set_streams(struct pubnode *p, const char *const *streams, size_t n)
{
	size_t had = p->opt.nstreams;

	p->opt.streams = streams;
	p->opt.nstreams = n;
	/* Streams are only ever added (a reload keeps the old categories
	 * first): create the new ones' groups now, ahead of any event. During
	 * the handshake too: it sent the groups of the streams it knew, and
	 * events follow these commands on the same connection. */
	if ((p->state == PUBLISHER_READY || p->state == PUBLISHER_HANDSHAKE) && p->ac != NULL &&
	    p->setup_sent && n > had)
		publisher_send_groups(p, had);
}

static void
publisher_send_handshake(struct pubnode *p)
{
	const struct redis_url *u = p->opt.url;

	if (u->password != NULL) {
		const char *argv[3] = { "AUTH", u->user, u->password };

		if (u->user != NULL)
			redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "AUTH", 3, argv, NULL);
		else {
			argv[1] = u->password;
			redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "AUTH", 2, argv, NULL);
		}
		p->pending++;
	}
	if (u->db != 0) {
		char db[16];
		const char *argv[2] = { "SELECT", db };

		snprintf(db, sizeof(db), "%d", u->db);
		redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "SELECT", 2, argv, NULL);
		p->pending++;
	}
	if (u->kind == REDIS_URL_SENTINEL) {
		/* Sentinels can lag behind a failover: write only to a master, so
		 * the groups and the script wait for ROLE's answer. */
		const char *argv[1] = { "ROLE" };

		redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "ROLE", 1, argv, NULL);
		p->pending++;
		return;
	}
	publisher_send_setup(p);
}

static void
publisher_connect_cb(const redisAsyncContext *c, int status)
{
	struct pubnode *p = c->data;

	evtimer_del(p->connect_timer);
	if (status != REDIS_OK) {
		log_fields(LOG_LEVEL_WARN, "redis connect failed",
			   (struct log_field[]){ LOG_STR("error", c->errstr) }, 1);
		/* hiredis frees the context after this callback. */
		pubnode_schedule_retry(p);
		return;
	}
	p->state = PUBLISHER_HANDSHAKE;
	p->setup_sent = false;
	publisher_send_handshake(p);
}

static void
publisher_disconnect_cb(const redisAsyncContext *c, int status)
{
	struct pubnode *p = c->data;

	evtimer_del(p->connect_timer);
	if (!p->stopping)
		log_fields(LOG_LEVEL_WARN, "redis connection lost",
			   (struct log_field[]){
				   LOG_STR("error", status == REDIS_OK ? "closed" : c->errstr) },
			   1);
	pubnode_schedule_retry(p);
}

static void
publisher_connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pubnode *p = arg;
	redisAsyncContext *ac = p->ac;

	(void)fd;
	(void)what;
	if (p->sac != NULL) {
		/* A sentinel that does not answer in time: drop it, ask the next.
		 * Freeing a connected context runs its disconnect callback, which
		 * moves on; an unconnected one runs none, so move on here. */
		redisAsyncContext *sac = p->sac;

		log_warn("redis sentinel timed out");
		if (sac->c.flags & REDIS_CONNECTED) {
			redisAsyncFree(sac);
		} else {
			p->sac = NULL;
			redisAsyncFree(sac);
			pubnode_discover(p);
		}
		return;
	}
	if (p->state != PUBLISHER_CONNECTING || ac == NULL)
		return;
	log_warn("redis connect timed out");
	/* Not connected yet, so hiredis calls no disconnect callback here. */
	p->ac = NULL;
	redisAsyncFree(ac);
	pubnode_schedule_retry(p);
}

/*
 * hiredis 0.14 has no command timeout: a server that stops answering (paused,
 * cut off by a partition, a master the sentinels named that never finishes
 * the handshake) would keep the connection, and every request would time out
 * against it. Commands waiting with no reply at all for stall_ms: the
 * connection is dropped (their callbacks fail, as for a lost connection) and
 * made again after the backoff, asking the sentinels again.
 */
static void
pubnode_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pubnode *p = arg;
	redisAsyncContext *ac = p->ac;
	uint64_t now = timeutil_mono_us();
	bool waiting;

	(void)fd;
	(void)what;
	/* Any connected context: handshaking, ready, or being closed after a
	 * refusal (redisAsyncDisconnect waits for the replies owed first). */
	if (ac == NULL || p->stopping || !(ac->c.flags & REDIS_CONNECTED)) {
		p->quiet_since_us = 0;
		return;
	}
	waiting = ac->replies.head != NULL;
	if (!waiting || p->replies != p->watch_replies || p->quiet_since_us == 0) {
		p->watch_replies = p->replies;
		p->quiet_since_us = waiting ? now : 0;
		return;
	}
	if (now - p->quiet_since_us < (uint64_t)p->opt.stall_ms * 1000u)
		return;
	log_fields(LOG_LEVEL_WARN, "redis is not answering; reconnecting",
		   (struct log_field[]){
			   LOG_STR("state", p->state == PUBLISHER_READY	      ? "ready"
					    : p->state == PUBLISHER_HANDSHAKE ? "handshake"
									      : "closing"),
			   LOG_INT("quiet_ms", (long long)((now - p->quiet_since_us) / 1000)),
		   },
		   2);
	p->quiet_since_us = 0;
	/* A connected context: freeing it fails the waiting callbacks and runs
	 * the disconnect callback, which schedules the reconnect. */
	redisAsyncFree(ac);
}

void
pubnode_connect(struct pubnode *p)
{
	const struct redis_url *u = p->opt.url;
	struct timeval tv = { p->opt.connect_timeout_ms / 1000,
			      (p->opt.connect_timeout_ms % 1000) * 1000 };
	redisAsyncContext *ac;

	if (u->kind == REDIS_URL_SENTINEL && !p->have_master) {
		pubnode_discover(p);
		return;
	}
	if (u->kind == REDIS_URL_UNIX)
		ac = redisAsyncConnectUnix(u->path);
	else if (u->kind == REDIS_URL_SENTINEL)
		ac = redisAsyncConnect(p->master_host, p->master_port);
	else
		ac = redisAsyncConnect(u->host, u->port);
	if (ac == NULL)
		abort();
	if (ac->err) {
		log_fields(LOG_LEVEL_WARN, "redis connect failed",
			   (struct log_field[]){ LOG_STR("error", ac->errstr) }, 1);
		redisAsyncFree(ac);
		pubnode_schedule_retry(p);
		return;
	}
	ac->data = p;
	p->ac = ac;
	p->state = PUBLISHER_CONNECTING;
	redisLibeventAttach(ac, p->base);
	redisAsyncSetConnectCallback(ac, publisher_connect_cb);
	redisAsyncSetDisconnectCallback(ac, publisher_disconnect_cb);
	evtimer_add(p->connect_timer, &tv);
}

struct pubnode *
pubnode_new(struct event_base *base, const struct publish_options *opt)
{
	struct pubnode *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->opt = *opt;
	if (p->opt.connect_timeout_ms == 0)
		p->opt.connect_timeout_ms = 2000;
	if (p->opt.stall_ms == 0)
		p->opt.stall_ms = 10000;
	p->backoff_ms = PUBLISH_BACKOFF_MIN_MS;
	p->retry_timer = evtimer_new(base, publisher_retry_cb, p);
	p->connect_timer = evtimer_new(base, publisher_connect_timeout_cb, p);
	p->flush_ev = event_new(base, -1, 0, pubnode_flush_cb, p);
	p->watch_timer = event_new(base, -1, EV_PERSIST, pubnode_watch_cb, p);
	if (p->retry_timer == NULL || p->connect_timer == NULL || p->flush_ev == NULL ||
	    p->watch_timer == NULL)
		abort();
	{
		/* A look every quarter of the stall time: a stall is seen within
		 * 1.25 times it. */
		struct timeval tv = { p->opt.stall_ms / 4000, (p->opt.stall_ms / 4 % 1000) * 1000 };

		evtimer_add(p->watch_timer, &tv);
	}
	pubnode_connect(p);
	return p;
}

void
pubnode_free(struct pubnode *p)
{
	if (p == NULL)
		return;
	p->stopping = true;
	if (p->ac != NULL) {
		redisAsyncContext *ac = p->ac;

		p->ac = NULL;
		redisAsyncFree(ac);
	}
	if (p->sac != NULL) {
		redisAsyncContext *sac = p->sac;

		p->sac = NULL;
		redisAsyncFree(sac);
	}
	pubnode_fail_queued(p);
	free(p->master_host);
	free(p->scratch);
	event_free(p->retry_timer);
	event_free(p->connect_timer);
	event_free(p->watch_timer);
	event_free(p->flush_ev);
	free(p);
}

bool
pubnode_ready(const struct pubnode *p)
{
	return p->state == PUBLISHER_READY;
}

size_t
pubnode_pending(const struct pubnode *p)
{
	return p->pending;
}
