// SPDX-License-Identifier: MIT
/*
 * publish_sentinel: finding a Sentinel-managed master. The sentinels are
 * asked in turn for SENTINEL get-master-addr-by-name; the address named is
 * handed to pubnode_connect, which checks with ROLE that it is a master. A
 * lost connection or a READONLY reply brings the node back here.
 */
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/log.h"
#include "hookstream/publish.h"
#include "hookstream/xalloc.h"
#include "publish_int.h"

static void
publisher_sentinel_reply_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct pubnode *p = c->data;
	redisReply *reply = r;
	const struct redis_url_host *s = privdata;

	if (reply == NULL || p->stopping)
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    reply->element[1]->type == REDIS_REPLY_STRING) {
		int port = atoi(reply->element[1]->str);

		if (port > 0 && port < 65536) {
			free(p->master_host);
			p->master_host = xstrdup(reply->element[0]->str);
			p->master_port = port;
			p->have_master = true;
			log_fields(LOG_LEVEL_INFO, "redis sentinel named the master",
				   (struct log_field[]){ LOG_STR("sentinel", s->host),
							 LOG_STR("master", p->opt.url->master),
							 LOG_STR("host", p->master_host),
							 LOG_INT("port", port) },
				   4);
		}
	} else {
		log_fields(LOG_LEVEL_WARN, "redis sentinel does not know the master",
			   (struct log_field[]){ LOG_STR("sentinel", s->host),
						 LOG_STR("master", p->opt.url->master),
						 LOG_STR("error", reply->type == REDIS_REPLY_ERROR
									  ? reply->str
									  : "no address") },
			   3);
	}
	redisAsyncDisconnect(c);
}

static void
publisher_sentinel_connect_cb(const redisAsyncContext *c, int status)
{
	struct pubnode *p = c->data;

	if (status != REDIS_OK) {
		/* hiredis frees the context; no disconnect callback follows. */
		log_fields(LOG_LEVEL_WARN, "redis sentinel connect failed",
			   (struct log_field[]){ LOG_STR("error", c->errstr) }, 1);
		evtimer_del(p->connect_timer);
		p->sac = NULL;
		pubnode_discover(p);
	}
}

static void
publisher_sentinel_disconnect_cb(const redisAsyncContext *c, int status)
{
	struct pubnode *p = c->data;

	(void)status;
	evtimer_del(p->connect_timer);
	p->sac = NULL;
	if (p->stopping)
		return;
	if (p->have_master) {
		p->sentinels_tried = 0;
		pubnode_connect(p);
	} else {
		pubnode_discover(p);
	}
}

/* Ask the next sentinel where the master is; after a whole round without an
 * answer, back off and start again. */
void
pubnode_discover(struct pubnode *p)
{
	const struct redis_url *u = p->opt.url;
	const struct redis_url_host *s;
	struct timeval tv = { p->opt.connect_timeout_ms / 1000,
			      (p->opt.connect_timeout_ms % 1000) * 1000 };
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", u->master };
	redisAsyncContext *sac;

	if (p->stopping)
		return;
	if (p->sentinels_tried >= u->nhosts) {
		p->sentinels_tried = 0;
		pubnode_schedule_retry(p);
		return;
	}
	s = &u->hosts[p->sentinel_next % u->nhosts];
	p->sentinel_next++;
	p->sentinels_tried++;
	sac = redisAsyncConnect(s->host, s->port);
	if (sac == NULL)
		abort();
	if (sac->err) {
		log_fields(LOG_LEVEL_WARN, "redis sentinel connect failed",
			   (struct log_field[]){ LOG_STR("error", sac->errstr) }, 1);
		redisAsyncFree(sac);
		pubnode_discover(p);
		return;
	}
	sac->data = p;
	p->sac = sac;
	p->state = PUBLISHER_CONNECTING;
	redisLibeventAttach(sac, p->base);
	redisAsyncSetConnectCallback(sac, publisher_sentinel_connect_cb);
	redisAsyncSetDisconnectCallback(sac, publisher_sentinel_disconnect_cb);
	redisAsyncCommandArgv(sac, publisher_sentinel_reply_cb, (void *)s, 3, argv, NULL);
	evtimer_add(p->connect_timer, &tv);
}
