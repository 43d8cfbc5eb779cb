// SPDX-License-Identifier: MIT
/*
 * publish: hiredis async connection management and the dedup+XADD script.
 * Every command's callback is the single place its operation is settled; a NULL
 * reply (connection lost or freed) is a normal outcome, reported as -ENOTCONN.
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
#include "hookstream/xalloc.h"
#include "publish_int.h"

#define PUBLISH_BACKOFF_MIN_MS 100u
#define PUBLISH_BACKOFF_MAX_MS 5000u

/*
 * KEYS: stream, seen key, per event. ARGV: dedup ttl (ms), trim ("0": none,
 * "<n>": MAXLEN ~ n, "m<id>": MINID ~ id),
 * fields per event, then each event's field/value pairs. Returns per event
 * {1, new entry id} or {0, original entry id}. The seen key holds the entry id
 * so a duplicate can be answered with where the original went.
 */
static const char publish_script[] =
	"local ttl, maxlen, per = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
	"local out = {}\n"
	"for i = 1, #KEYS / 2 do\n"
	"  local stream, seen = KEYS[2 * i - 1], KEYS[2 * i]\n"
	"  local prev = redis.call('GET', seen)\n"
	"  if prev then\n"
	/* A write all the same (value and TTL unchanged): it advances this
	 * connection's replication offset, so a WAIT after a duplicate also
	 * waits for the original entry to reach the replicas. */
	"    redis.call('SET', seen, prev, 'KEEPTTL')\n"
	"    out[i] = {0, prev}\n"
	"  else\n"
	"    local args = {}\n"
	"    local base = 3 + (i - 1) * per\n"
	"    for j = 1, per do args[j] = ARGV[base + j] end\n"
	"    local id\n"
	"    if maxlen == '0' then\n"
	"      id = redis.call('XADD', stream, '*', unpack(args))\n"
	"    elseif string.sub(maxlen, 1, 1) == 'm' then\n"
	"      id = redis.call('XADD', stream, 'MINID', '~', string.sub(maxlen, 2), '*', "
	"unpack(args))\n"
	"    else\n"
	"      id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(args))\n"
	"    end\n"
	"    redis.call('SET', seen, id, 'PX', ttl)\n"
	"    out[i] = {1, id}\n"
	"  end\n"
	"end\n"
	"return out\n";

/* One script call, kept until its reply so NOSCRIPT can be retried with EVAL. */
struct publish_op {
	struct pubnode *pub;
	publish_done_cb cb;
	void *arg;
	size_t n;
	bool retried;
	bool plain;			    /* a bare XADD: the reply is the entry id */
	struct publish_item_result *stored; /* kept while WAIT runs */
	bool asking;			    /* Redis Cluster ASK: send ASKING first */
	int argc;
	const char **argv;
	size_t *argvlen;
};

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

static void
publisher_handshake_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct pubnode *p = c->data;
	redisReply *reply = r;
	const char *step = privdata;

	p->pending--;
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

void
pubnode_set_streams(struct pubnode *p, const char *const *streams, size_t n)
{
	size_t had = p->opt.nstreams;

	p->opt.streams = streams;
	p->opt.nstreams = n;
	/* Streams are only ever added (a reload keeps the old categories
	 * first): create the new ones' groups now, ahead of any event. */
	if (p->state == PUBLISHER_READY && n > had)
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
		/* Sentinels can lag behind a failover: write only to a master. */
		const char *argv[1] = { "ROLE" };

		redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "ROLE", 1, argv, NULL);
		p->pending++;
	}
	/* Groups before the script: no event can be added ahead of its readers. */
	publisher_send_groups(p, 0);
	{
		const char *argv[3] = { "SCRIPT", "LOAD", publish_script };

		redisAsyncCommandArgv(p->ac, publisher_handshake_cb, "SCRIPT LOAD", 3, argv, NULL);
		p->pending++;
	}
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
	p->backoff_ms = PUBLISH_BACKOFF_MIN_MS;
	p->retry_timer = evtimer_new(base, publisher_retry_cb, p);
	p->connect_timer = evtimer_new(base, publisher_connect_timeout_cb, p);
	if (p->retry_timer == NULL || p->connect_timer == NULL)
		abort();
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
	free(p->master_host);
	event_free(p->retry_timer);
	event_free(p->connect_timer);
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

static void
publish_op_free(struct publish_op *op)
{
	free(op->stored);
	free(op);
}

static void publish_reply_cb(redisAsyncContext *c, void *r, void *privdata);

static int
publish_send(struct pubnode *p, struct publish_op *op)
{
	/* ASKING holds for the next command only: it goes right before, in the
	 * same pipeline (its +OK needs no callback). */
	if (op->asking && !op->retried &&
	    redisAsyncCommandArgv(p->ac, NULL, NULL, 1, (const char *[]){ "ASKING" }, NULL) !=
		    REDIS_OK)
		return -EAGAIN;
	if (redisAsyncCommandArgv(p->ac, publish_reply_cb, op, op->argc, op->argv, op->argvlen) !=
	    REDIS_OK)
		return -EAGAIN;
	p->pending++;
	return 0;
}

static void
publish_fail(struct publish_op *op, int status, const char *error)
{
	struct publish_result res = { .status = status, .error = error };

	op->cb(op->arg, &res);
	publish_op_free(op);
}

/* The replicas' answer to the WAIT sent after a stored write. */
static void
publish_wait_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct publish_op *op = privdata;
	redisReply *reply = r;
	struct publish_result res = { .n = op->n, .items = op->stored };

	(void)c;
	op->pub->pending--;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		/* Stored on the master; whether a replica has it is unknown. */
		res.replicas = -1;
		res.replicas_short = true;
	} else {
		res.replicas = reply->integer;
		res.replicas_short = reply->integer < (long long)op->pub->opt.wait_replicas;
	}
	op->cb(op->arg, &res);
	publish_op_free(op);
}

/* Stored: answer now, or first WAIT for the replicas. */
static void
publish_done(struct pubnode *p, struct publish_op *op, const struct publish_item_result *items)
{
	struct publish_result res = { .n = op->n, .items = items };
	char nrep[24], tmo[24];
	const char *argv[3] = { "WAIT", nrep, tmo };

	if (p->opt.wait_replicas > 0 && p->ac != NULL) {
		snprintf(nrep, sizeof(nrep), "%u", p->opt.wait_replicas);
		snprintf(tmo, sizeof(tmo), "%u", p->opt.wait_timeout_ms);
		op->stored = xmalloc(op->n * sizeof(*op->stored));
		memcpy(op->stored, items, op->n * sizeof(*op->stored));
		if (redisAsyncCommandArgv(p->ac, publish_wait_cb, op, 3, argv, NULL) == REDIS_OK) {
			p->pending++;
			return;
		}
		res.replicas = -1;
		res.replicas_short = true;
	}
	op->cb(op->arg, &res);
	publish_op_free(op);
}

static void
publish_reply_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct publish_op *op = privdata;
	struct pubnode *p = op->pub;
	redisReply *reply = r;
	struct publish_item_result items[64];

	(void)c;
	p->pending--;
	if (reply == NULL) {
		publish_fail(op, -ENOTCONN, "redis connection lost");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (!op->retried && strncmp(reply->str, "NOSCRIPT", 8) == 0 &&
		    p->state == PUBLISHER_READY && p->ac != NULL) {
			/* Redis lost its script cache (restart, SCRIPT FLUSH): EVAL
			 * runs and caches it again. */
			op->retried = true;
			op->argv[0] = "EVAL";
			op->argvlen[0] = 4;
			op->argv[1] = publish_script;
			op->argvlen[1] = sizeof(publish_script) - 1;
			if (publish_send(p, op) == 0)
				return;
		}
		/* Redirections are routine in a cluster; a failing script is not. */
		log_fields(strncmp(reply->str, "MOVED ", 6) == 0 ||
					   strncmp(reply->str, "ASK ", 4) == 0
				   ? LOG_LEVEL_DEBUG
			   : strncmp(reply->str, "TRYAGAIN", 8) == 0 ||
					   strncmp(reply->str, "CLUSTERDOWN", 11) == 0
				   ? LOG_LEVEL_WARN
				   : LOG_LEVEL_ERROR,
			   "redis rejected the publish script",
			   (struct log_field[]){ LOG_STR("error", reply->str) }, 1);
		/* A master demoted by a failover: find the new one. */
		if (strncmp(reply->str, "READONLY", 8) == 0 && p->state == PUBLISHER_READY &&
		    p->ac != NULL) {
			p->state = PUBLISHER_CONNECTING;
			redisAsyncDisconnect(p->ac);
		}
		/* The text goes to the caller: MOVED/ASK/TRYAGAIN matter to the
		 * cluster layer. */
		publish_fail(op, -EIO, reply->str);
		return;
	}
	if (op->plain) {
		if (reply->type != REDIS_REPLY_STRING || reply->len >= PUBLISH_ENTRY_ID_MAX) {
			publish_fail(op, -EIO, "unexpected reply to XADD");
			return;
		}
		items[0].duplicate = false;
		memcpy(items[0].entry_id, reply->str, reply->len);
		items[0].entry_id[reply->len] = '\0';
		publish_done(p, op, items);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != op->n) {
		publish_fail(op, -EIO, "unexpected reply from the publish script");
		return;
	}
	for (size_t i = 0; i < op->n; i++) {
		redisReply *e = reply->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_STRING ||
		    e->element[1]->len >= PUBLISH_ENTRY_ID_MAX) {
			publish_fail(op, -EIO, "unexpected reply from the publish script");
			return;
		}
		items[i].duplicate = e->element[0]->integer == 0;
		memcpy(items[i].entry_id, e->element[1]->str, e->element[1]->len);
		items[i].entry_id[e->element[1]->len] = '\0';
	}
	publish_done(p, op, items);
}

int
pubnode_submit(struct pubnode *p, const struct publish_item *items, size_t n, bool asking,
	       publish_done_cb cb, void *arg)
{
	char ttl[24], maxlen[24], per[8];
	const char *head[6] = { "EVALSHA", p->sha, NULL, ttl, maxlen, per };
	size_t headlen[6];
	char nkeys[24];
	size_t argc, bytes = 0, nfields;
	struct publish_op *op;
	char *blob;

	if (p->state != PUBLISHER_READY || p->ac == NULL || n == 0 || n > 64)
		return -EAGAIN;
	nfields = items[0].nfields;
	snprintf(nkeys, sizeof(nkeys), "%zu", 2 * n);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)p->opt.dedup_ttl_ms);
	if (p->opt.retention_ms > 0) {
		struct timespec now;
		uint64_t now_ms;

		clock_gettime(CLOCK_REALTIME, &now);
		now_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
		snprintf(maxlen, sizeof(maxlen), "m%llu-0",
			 (unsigned long long)(now_ms > p->opt.retention_ms
						      ? now_ms - p->opt.retention_ms
						      : 0));
	} else {
		snprintf(maxlen, sizeof(maxlen), "%llu", (unsigned long long)p->opt.maxlen);
	}
	snprintf(per, sizeof(per), "%zu", nfields);
	head[2] = nkeys;
	for (size_t i = 0; i < 6; i++) {
		headlen[i] = strlen(head[i]);
		bytes += headlen[i];
	}
	argc = 6 + 2 * n + n * nfields;
	for (size_t i = 0; i < n; i++) {
		bytes += strlen(items[i].stream) + strlen(items[i].seen_key);
		for (size_t f = 0; f < nfields; f++)
			bytes += items[i].lens[f];
	}
	/* One allocation: op, argv, lengths and a copy of every argument. */
	op = xmalloc(sizeof(*op) + argc * (sizeof(char *) + sizeof(size_t)) + bytes);
	op->pub = p;
	op->cb = cb;
	op->arg = arg;
	op->n = n;
	op->retried = false;
	op->plain = false;
	op->stored = NULL;
	op->asking = asking;
	op->argc = (int)argc;
	op->argv = (const char **)(op + 1);
	op->argvlen = (size_t *)(op->argv + argc);
	blob = (char *)(op->argvlen + argc);
	{
		size_t a = 0;

#define PUBLISH_ARG(ptr, len)                                                                      \
	do {                                                                                       \
		memcpy(blob, (ptr), (len));                                                        \
		op->argv[a] = blob;                                                                \
		op->argvlen[a++] = (len);                                                          \
		blob += (len);                                                                     \
	} while (0)
		for (size_t i = 0; i < 3; i++)
			PUBLISH_ARG(head[i], headlen[i]);
		for (size_t i = 0; i < n; i++) {
			PUBLISH_ARG(items[i].stream, strlen(items[i].stream));
			PUBLISH_ARG(items[i].seen_key, strlen(items[i].seen_key));
		}
		for (size_t i = 3; i < 6; i++)
			PUBLISH_ARG(head[i], headlen[i]);
		for (size_t i = 0; i < n; i++)
			for (size_t f = 0; f < nfields; f++)
				PUBLISH_ARG(items[i].fields[f], items[i].lens[f]);
#undef PUBLISH_ARG
	}
	if (publish_send(p, op) < 0) {
		publish_op_free(op);
		return -EAGAIN;
	}
	return 0;
}

int
pubnode_append(struct pubnode *p, const char *stream, uint64_t maxlen, const char *const *fields,
	       const size_t *lens, size_t nfields, publish_done_cb cb, void *arg)
{
	char ml[24];
	const char *head[5] = { "XADD", stream, "MAXLEN", "~", ml };
	size_t nhead = maxlen > 0 ? 5 : 2, argc = nhead + 1 + nfields, bytes = 1;
	struct publish_op *op;
	char *blob;
	size_t a = 0;

	if (p->state != PUBLISHER_READY || p->ac == NULL)
		return -EAGAIN;
	snprintf(ml, sizeof(ml), "%llu", (unsigned long long)maxlen);
	for (size_t i = 0; i < nhead; i++)
		bytes += strlen(head[i]);
	for (size_t i = 0; i < nfields; i++)
		bytes += lens[i];
	op = xmalloc(sizeof(*op) + argc * (sizeof(char *) + sizeof(size_t)) + bytes);
	memset(op, 0, sizeof(*op));
	op->pub = p;
	op->cb = cb;
	op->arg = arg;
	op->n = 1;
	op->plain = true;
	op->argc = (int)argc;
	op->argv = (const char **)(op + 1);
	op->argvlen = (size_t *)(op->argv + argc);
	blob = (char *)(op->argvlen + argc);
	for (size_t i = 0; i <= nhead + nfields; i++) {
		const char *src = i < nhead ? head[i] : i == nhead ? "*" : fields[i - nhead - 1];
		size_t len = i < nhead ? strlen(head[i]) : i == nhead ? 1 : lens[i - nhead - 1];

		memcpy(blob, src, len);
		op->argv[a] = blob;
		op->argvlen[a++] = len;
		blob += len;
	}
	if (publish_send(p, op) < 0) {
		publish_op_free(op);
		return -EAGAIN;
	}
	return 0;
}
