// SPDX-License-Identifier: MIT
/*
 * publish_ops: what one node is asked to store, and its answers.
 *
 * Submissions made during one turn of the event loop are coalesced into one
 * call of the dedup+XADD script (up to PUBLISH_BATCH_MAX events): with 64
 * senders, many requests become ready together, and one script call for all
 * of them costs Redis far less than one each. A submission is an op (one
 * caller's events, its callback); what goes on the wire is a batch (one or
 * more ops). Each op's arguments are written as RESP once, when submitted;
 * the batch's command is their concatenation behind a common header.
 *
 * Every batch's callback is the single place its ops are settled; a NULL
 * reply (connection lost or freed) is a normal outcome, reported to each op
 * as -ENOTCONN. A script that fails fails every op of its batch, which is
 * what a failure of one op's own call did: the senders retry, and the events
 * that were stored before the failure come back as duplicates.
 */
#include <errno.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookstream/cluster.h"
#include "hookstream/log.h"
#include "hookstream/publish.h"
#include "hookstream/xalloc.h"
#include "publish_int.h"

/*
 * KEYS: stream, seen key, per event. ARGV: dedup ttl (ms), trim ("0": none,
 * "<n>": MAXLEN ~ n, "m<id>": MINID ~ id),
 * fields per event, then each event's field/value pairs. Returns a flat array,
 * two elements per event: 1 and the new entry id, or 0 and the original entry
 * id. The seen key holds the entry id so a duplicate can be answered with
 * where the original went.
 *
 * Lean on purpose (callgrind on redis-server, 32 events per call, ~1.4 KB
 * entries): the field/value arguments go to XADD straight from ARGV with
 * unpack(ARGV, i, j) rather than through a per-event table (11% of Redis's
 * instructions per event), and the reply is flat rather than a table per
 * event (another 5%).
 */
const char publish_script[] =
	"local ttl, maxlen, per = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
	"local call, out = redis.call, {}\n"
	"for i = 1, #KEYS / 2 do\n"
	"  local stream, seen = KEYS[2 * i - 1], KEYS[2 * i]\n"
	"  local prev = call('GET', seen)\n"
	"  if prev then\n"
	/* A write all the same (value and TTL unchanged): it advances this
	 * connection's replication offset, so a WAIT after a duplicate also
	 * waits for the original entry to reach the replicas. */
	"    call('SET', seen, prev, 'KEEPTTL')\n"
	"    out[2 * i - 1], out[2 * i] = 0, prev\n"
	"  else\n"
	"    local first = 4 + (i - 1) * per\n"
	"    local last = first + per - 1\n"
	"    local id\n"
	"    if maxlen == '0' then\n"
	"      id = call('XADD', stream, '*', unpack(ARGV, first, last))\n"
	"    elseif string.sub(maxlen, 1, 1) == 'm' then\n"
	"      id = call('XADD', stream, 'MINID', '~', string.sub(maxlen, 2), '*', "
	"unpack(ARGV, first, last))\n"
	"    else\n"
	"      id = call('XADD', stream, 'MAXLEN', '~', maxlen, '*', "
	"unpack(ARGV, first, last))\n"
	"    end\n"
	"    call('SET', seen, id, 'PX', ttl)\n"
	"    out[2 * i - 1], out[2 * i] = 1, id\n"
	"  end\n"
	"end\n"
	"return out\n";
const size_t publish_script_len = sizeof(publish_script) - 1;

/* One caller's submission: its events' arguments as RESP, keys then values. */
struct publish_op {
	publish_done_cb cb;
	void *arg;
	size_t n;	/* events */
	size_t nfields; /* field/value arguments per event */
	char *keys;	/* RESP of stream, seen key per event */
	size_t keys_len;
	char *vals; /* RESP of the field/value arguments */
	size_t vals_len;
	unsigned int slot; /* with one_slot_per_call: the slot of its keys */
};

/* One command on the wire: a script call for ops[], or a bare XADD (plain). */
struct publish_batch {
	struct pubnode *pub;
	bool plain;   /* a bare XADD: the reply is the entry id */
	bool asking;  /* Redis Cluster ASK: send ASKING first */
	bool retried; /* NOSCRIPT was answered once: sent again with EVAL */
	size_t n;     /* events, over all ops */
	size_t nops;
	struct publish_op **ops;
	struct publish_item_result *stored; /* kept while WAIT runs */
	char *cmd;			    /* plain: the whole XADD command */
	size_t cmd_len;
};

/* Decimal digits of v into o (no NUL); returns the count. */
static size_t
resp_digits(char *o, size_t v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		o[i] = tmp[n - 1 - i];
	return n;
}

/* Bytes resp_arg writes for an argument of len bytes, at most. */
#define RESP_ARG_MAX(len) ((len) + 26)

/* One RESP bulk string: $<len>\r\n<bytes>\r\n. Returns the bytes written. */
static size_t
resp_arg(char *o, const char *s, size_t len)
{
	size_t k = 0;

	o[k++] = '$';
	k += resp_digits(o + k, len);
	o[k++] = '\r';
	o[k++] = '\n';
	memcpy(o + k, s, len);
	k += len;
	o[k++] = '\r';
	o[k++] = '\n';
	return k;
}

static size_t
resp_arg_str(char *o, const char *s)
{
	return resp_arg(o, s, strlen(s));
}

static size_t
resp_count(char *o, size_t argc)
{
	size_t k = 0;

	o[k++] = '*';
	k += resp_digits(o + k, argc);
	o[k++] = '\r';
	o[k++] = '\n';
	return k;
}

static void
publish_batch_free(struct publish_batch *b)
{
	for (size_t i = 0; i < b->nops; i++)
		free(b->ops[i]);
	free(b->ops);
	free(b->stored);
	free(b->cmd);
	free(b);
}

/* Settle every op of b with the same failure. */
static void
publish_batch_fail(struct publish_batch *b, int status, const char *error)
{
	struct publish_result res = { .status = status, .error = error };

	for (size_t i = 0; i < b->nops; i++)
		b->ops[i]->cb(b->ops[i]->arg, &res);
	publish_batch_free(b);
}

/* Settle every op of b as stored, each with its slice of the results. */
static void
publish_batch_stored(struct publish_batch *b, const struct publish_item_result *items,
		     long long replicas, bool replicas_short)
{
	size_t at = 0;

	for (size_t i = 0; i < b->nops; i++) {
		struct publish_op *op = b->ops[i];
		struct publish_result res = { .n = op->n,
					      .items = items + at,
					      .replicas = replicas,
					      .replicas_short = replicas_short };

		at += op->n;
		op->cb(op->arg, &res);
	}
	publish_batch_free(b);
}

/* The script call for b's ops, EVALSHA (or EVAL after NOSCRIPT), in p's
 * scratch buffer or, when larger than PUBLISH_SCRATCH_KEEP, in *tmp (the
 * caller frees it): a burst of large bodies must not pin its peak. */
static size_t
publish_batch_command(struct pubnode *p, const struct publish_batch *b, char **cmd, char **tmp)
{
	size_t nfields = b->ops[0]->nfields, bytes = 512, k = 0;
	size_t argc = 6 + 2 * b->n + b->n * nfields;
	char maxlen[32];
	char *o;

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
	bytes += b->retried ? RESP_ARG_MAX(publish_script_len) : 0;
	for (size_t i = 0; i < b->nops; i++)
		bytes += b->ops[i]->keys_len + b->ops[i]->vals_len;
	if (bytes > PUBLISH_SCRATCH_KEEP) {
		o = *tmp = xmalloc(bytes);
	} else {
		if (bytes > p->scratch_cap) {
			p->scratch = xrealloc(p->scratch, PUBLISH_SCRATCH_KEEP);
			p->scratch_cap = PUBLISH_SCRATCH_KEEP;
		}
		o = p->scratch;
	}
	*cmd = o;
	k += resp_count(o + k, argc);
	if (b->retried) {
		k += resp_arg_str(o + k, "EVAL");
		k += resp_arg(o + k, publish_script, publish_script_len);
	} else {
		k += resp_arg_str(o + k, "EVALSHA");
		k += resp_arg(o + k, p->sha, 40);
	}
	{
		char nkeys[24];

		k += resp_arg(o + k, nkeys, resp_digits(nkeys, 2 * b->n));
	}
	for (size_t i = 0; i < b->nops; i++) {
		memcpy(o + k, b->ops[i]->keys, b->ops[i]->keys_len);
		k += b->ops[i]->keys_len;
	}
	{
		char num[24];

		k += resp_arg(o + k, num, resp_digits(num, (size_t)p->opt.dedup_ttl_ms));
		k += resp_arg_str(o + k, maxlen);
		k += resp_arg(o + k, num, resp_digits(num, nfields));
	}
	for (size_t i = 0; i < b->nops; i++) {
		memcpy(o + k, b->ops[i]->vals, b->ops[i]->vals_len);
		k += b->ops[i]->vals_len;
	}
	return k;
}

static void publish_reply_cb(redisAsyncContext *c, void *r, void *privdata);

static int
publish_batch_send(struct pubnode *p, struct publish_batch *b)
{
	char *cmd = b->cmd, *tmp = NULL;
	size_t len = b->cmd_len;
	int rc;

	if (p->state != PUBLISHER_READY || p->ac == NULL)
		return -EAGAIN;
	/* ASKING holds for the next command only: it goes right before, in the
	 * same pipeline (its +OK needs no callback). */
	if (b->asking && !b->retried &&
	    redisAsyncCommandArgv(p->ac, NULL, NULL, 1, (const char *[]){ "ASKING" }, NULL) !=
		    REDIS_OK)
		return -EAGAIN;
	if (!b->plain)
		len = publish_batch_command(p, b, &cmd, &tmp);
	rc = redisAsyncFormattedCommand(p->ac, publish_reply_cb, b, cmd, len) == REDIS_OK ? 0
											  : -EAGAIN;
	free(tmp);
	return rc;
}

/* The replicas' answer to the WAIT sent after a stored write. */
static void
publish_wait_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct publish_batch *b = privdata;
	redisReply *reply = r;

	(void)c;
	b->pub->pending--;
	b->pub->replies++;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
		/* Stored on the master; whether a replica has it is unknown. */
		publish_batch_stored(b, b->stored, -1, true);
	else
		publish_batch_stored(b, b->stored, reply->integer,
				     reply->integer < (long long)b->pub->opt.wait_replicas);
}

/* Stored: answer now, or first WAIT for the replicas. */
static void
publish_done(struct pubnode *p, struct publish_batch *b, const struct publish_item_result *items)
{
	char nrep[24], tmo[24];
	const char *argv[3] = { "WAIT", nrep, tmo };

	if (p->opt.wait_replicas > 0 && p->ac != NULL) {
		snprintf(nrep, sizeof(nrep), "%u", p->opt.wait_replicas);
		snprintf(tmo, sizeof(tmo), "%u", p->opt.wait_timeout_ms);
		b->stored = xmalloc(b->n * sizeof(*b->stored));
		memcpy(b->stored, items, b->n * sizeof(*b->stored));
		if (redisAsyncCommandArgv(p->ac, publish_wait_cb, b, 3, argv, NULL) == REDIS_OK) {
			p->pending++;
			return;
		}
		publish_batch_stored(b, items, -1, true);
		return;
	}
	publish_batch_stored(b, items, 0, false);
}

static void
publish_reply_error(struct pubnode *p, struct publish_batch *b, const redisReply *reply)
{
	if (!b->retried && strncmp(reply->str, "NOSCRIPT", 8) == 0 && !b->plain) {
		/* Redis lost its script cache (restart, SCRIPT FLUSH): EVAL
		 * runs and caches it again. */
		b->retried = true;
		if (publish_batch_send(p, b) == 0) {
			p->pending += b->nops;
			return;
		}
	}
	/* Redirections are routine in a cluster; a failing script is not. */
	log_fields(strncmp(reply->str, "MOVED ", 6) == 0 || strncmp(reply->str, "ASK ", 4) == 0
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
	publish_batch_fail(b, -EIO, reply->str);
}

/* A reply in a shape this relay does not know: nothing in b is taken as
 * stored (the senders retry; dedup answers any event that did land). */
static void
publish_batch_unexpected(struct publish_batch *b, const redisReply *reply, const char *what)
{
	log_fields(
		LOG_LEVEL_ERROR, what,
		(struct log_field[]){ LOG_INT("reply_type", reply->type),
				      LOG_INT("reply_elements", reply->type == REDIS_REPLY_ARRAY
									? (long long)reply->elements
									: -1),
				      LOG_INT("events", b->n) },
		3);
	publish_batch_fail(b, -EIO, what);
}

static void
publish_reply_cb(redisAsyncContext *c, void *r, void *privdata)
{
	struct publish_batch *b = privdata;
	struct pubnode *p = b->pub;
	redisReply *reply = r;
	struct publish_item_result items[PUBLISH_BATCH_MAX];

	(void)c;
	p->pending -= b->nops;
	p->replies++;
	if (reply == NULL) {
		publish_batch_fail(b, -ENOTCONN, "redis connection lost");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		publish_reply_error(p, b, reply);
		return;
	}
	if (b->plain) {
		if (reply->type != REDIS_REPLY_STRING || reply->len >= PUBLISH_ENTRY_ID_MAX) {
			publish_batch_unexpected(b, reply, "unexpected reply to XADD");
			return;
		}
		items[0].duplicate = false;
		memcpy(items[0].entry_id, reply->str, reply->len);
		items[0].entry_id[reply->len] = '\0';
		publish_done(p, b, items);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 * b->n) {
		publish_batch_unexpected(b, reply, "unexpected reply from the publish script");
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const redisReply *flag = reply->element[2 * i], *id = reply->element[2 * i + 1];

		if (flag->type != REDIS_REPLY_INTEGER ||
		    (flag->integer != 0 && flag->integer != 1) || id->type != REDIS_REPLY_STRING ||
		    id->len == 0 || id->len >= PUBLISH_ENTRY_ID_MAX) {
			publish_batch_unexpected(b, reply,
						 "unexpected reply from the publish script");
			return;
		}
		items[i].duplicate = flag->integer == 0;
		memcpy(items[i].entry_id, id->str, id->len);
		items[i].entry_id[id->len] = '\0';
	}
	publish_done(p, b, items);
}

/* A new batch holding the ops given (stolen). */
static struct publish_batch *
publish_batch_new(struct pubnode *p, struct publish_op **ops, size_t nops)
{
	struct publish_batch *b = xcalloc(1, sizeof(*b));

	b->pub = p;
	b->ops = ops;
	b->nops = nops;
	for (size_t i = 0; i < nops; i++)
		b->n += ops[i]->n;
	return b;
}

/* What is queued, as one batch (NULL when nothing is); the queue is empty after. */
static struct publish_batch *
publish_take_queue(struct pubnode *p)
{
	struct publish_batch *b;

	if (p->nqueue == 0)
		return NULL;
	b = publish_batch_new(p, p->queue, p->nqueue);
	p->queue = NULL;
	p->nqueue = p->queue_cap = p->queue_events = p->queue_bytes = 0;
	return b;
}

/* Send what is queued as one script call; the ops fail if that cannot be. */
void
pubnode_flush(struct pubnode *p)
{
	struct publish_batch *b = publish_take_queue(p);

	if (b == NULL)
		return;
	if (publish_batch_send(p, b) < 0) {
		p->pending -= b->nops;
		publish_batch_fail(b, -ENOTCONN, "redis connection lost");
	}
}

void
pubnode_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pubnode_flush(arg);
}

/* The RESP of items' arguments, in one allocation with the op. */
static struct publish_op *
publish_op_new(const struct publish_item *items, size_t n, publish_done_cb cb, void *arg)
{
	size_t nfields = items[0].nfields, keys = 0, vals = 0;
	struct publish_op *op;

	for (size_t i = 0; i < n; i++) {
		keys += RESP_ARG_MAX(strlen(items[i].stream)) +
			RESP_ARG_MAX(strlen(items[i].seen_key));
		for (size_t f = 0; f < nfields; f++)
			vals += RESP_ARG_MAX(items[i].lens[f]);
	}
	op = xmalloc(sizeof(*op) + keys + vals);
	op->cb = cb;
	op->arg = arg;
	op->n = n;
	op->nfields = nfields;
	op->keys = (char *)(op + 1);
	op->keys_len = 0;
	for (size_t i = 0; i < n; i++) {
		op->keys_len += resp_arg_str(op->keys + op->keys_len, items[i].stream);
		op->keys_len += resp_arg_str(op->keys + op->keys_len, items[i].seen_key);
	}
	op->vals = op->keys + op->keys_len;
	op->vals_len = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t f = 0; f < nfields; f++)
			op->vals_len += resp_arg(op->vals + op->vals_len, items[i].fields[f],
						 items[i].lens[f]);
	return op;
}

int
pubnode_submit(struct pubnode *p, const struct publish_item *items, size_t n, bool asking,
	       publish_done_cb cb, void *arg)
{
	struct publish_op *op;

	if (p->state != PUBLISHER_READY || p->ac == NULL || n == 0 || n > PUBLISH_BATCH_MAX)
		return -EAGAIN;
	for (size_t i = 1; i < n; i++)
		if (items[i].nfields != items[0].nfields)
			return -EINVAL;
	op = publish_op_new(items, n, cb, arg);
	if (asking) {
		/* ASKING must come right before its own command: what is
		 * queued goes first, then this op alone. */
		struct publish_batch *b;
		struct publish_op **ops = xmalloc(sizeof(*ops));

		pubnode_flush(p);
		ops[0] = op;
		b = publish_batch_new(p, ops, 1);
		b->asking = true;
		if (publish_batch_send(p, b) < 0) {
			b->nops = 0; /* not settled: the caller is told by the return */
			free(op);
			publish_batch_free(b);
			return -EAGAIN;
		}
		p->pending++;
		return 0;
	}
	/* One script call carries the same number of fields per event, at most
	 * PUBLISH_BATCH_MAX events and, past the first op, PUBLISH_BATCH_BYTES:
	 * large bodies gain nothing from sharing a call, and would only make
	 * the command (and its copies) bigger. */
	if (p->opt.one_slot_per_call)
		op->slot = cluster_key_slot(items[0].stream, strlen(items[0].stream));
	if (p->nqueue > 0 &&
	    (p->queue_events + n > PUBLISH_BATCH_MAX || p->queue[0]->nfields != op->nfields ||
	     p->queue_bytes + op->keys_len + op->vals_len > PUBLISH_BATCH_BYTES ||
	     (p->opt.one_slot_per_call && p->queue[0]->slot != op->slot)))
		pubnode_flush(p);
	if (p->nqueue == p->queue_cap) {
		p->queue_cap = p->queue_cap ? 2 * p->queue_cap : 16;
		p->queue = xreallocarray(p->queue, p->queue_cap, sizeof(*p->queue));
	}
	p->queue[p->nqueue++] = op;
	p->queue_events += n;
	p->queue_bytes += op->keys_len + op->vals_len;
	p->pending++;
	/* Flushed once the callbacks ready in this turn of the loop have run. */
	if (p->nqueue == 1)
		event_active(p->flush_ev, EV_TIMEOUT, 1);
	return 0;
}

int
pubnode_append(struct pubnode *p, const char *stream, uint64_t maxlen, const char *const *fields,
	       const size_t *lens, size_t nfields, bool asking, publish_done_cb cb, void *arg)
{
	char ml[24];
	size_t mllen = resp_digits(ml, (size_t)maxlen);
	size_t bytes = 64 + RESP_ARG_MAX(strlen(stream)) + RESP_ARG_MAX(mllen), k = 0;
	struct publish_batch *b;
	struct publish_op *op;

	if (p->state != PUBLISHER_READY || p->ac == NULL)
		return -EAGAIN;
	for (size_t i = 0; i < nfields; i++)
		bytes += RESP_ARG_MAX(lens[i]);
	op = xcalloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	op->n = 1;
	b = publish_batch_new(p, (struct publish_op **)xmalloc(sizeof(op)), 0);
	b->ops[0] = op;
	b->nops = 1;
	b->n = 1;
	b->plain = true;
	b->asking = asking;
	b->cmd = xmalloc(bytes);
	k += resp_count(b->cmd + k, (maxlen > 0 ? 5 : 2) + 1 + nfields);
	k += resp_arg_str(b->cmd + k, "XADD");
	k += resp_arg_str(b->cmd + k, stream);
	if (maxlen > 0) {
		k += resp_arg_str(b->cmd + k, "MAXLEN");
		k += resp_arg_str(b->cmd + k, "~");
		k += resp_arg(b->cmd + k, ml, mllen);
	}
	k += resp_arg_str(b->cmd + k, "*");
	for (size_t i = 0; i < nfields; i++)
		k += resp_arg(b->cmd + k, fields[i], lens[i]);
	b->cmd_len = k;
	/* Keep the order of submission: what is queued goes first. */
	pubnode_flush(p);
	if (publish_batch_send(p, b) < 0) {
		b->nops = 0;
		free(op);
		publish_batch_free(b);
		return -EAGAIN;
	}
	p->pending++;
	return 0;
}

/* Settle what is queued and not sent (the node is going away). */
void
pubnode_fail_queued(struct pubnode *p)
{
	struct publish_batch *b = publish_take_queue(p);

	if (b == NULL)
		return;
	p->pending -= b->nops;
	publish_batch_fail(b, -ENOTCONN, "redis connection lost");
}
