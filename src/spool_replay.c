// SPDX-License-Identifier: MIT
/*
 * spool_replay: the spool's way back into Redis. The oldest segment no write
 * still targets is read whole, its records are submitted in order through the
 * publisher (a window of SPOOL_REPLAY_WINDOW in flight), and the segment is
 * deleted once every record is acknowledged. Each answer is matched to its
 * own record (they need not come in order); after a failure, once nothing is
 * in flight, the records not acknowledged are submitted again (a record that
 * did land is a duplicate there, caught by the dedup script).
 */
#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookstream/log.h"
#include "hookstream/spool.h"
#include "hookstream/spoolrec.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"
#include "spool_int.h"

void
spool_replay_free(struct replay *rp)
{
	if (rp == NULL)
		return;
	free(rp->data);
	free(rp->off);
	free(rp->rlen);
	free(rp->ctx);
	free(rp->stored);
	free(rp);
}

/* The answer for one record. The replay it belongs to is alive: it is freed
 * only when nothing is in flight. */
static void
replay_cb(void *arg, const struct publish_result *res)
{
	const struct replay_ctx *ctx = arg;
	struct spool *sp = ctx->sp;
	struct replay *rp = sp->rp;

	rp->inflight--;
	/* Stored on a master whose replicas did not confirm (wait_replicas) is
	 * not yet safe enough to drop from the spool: retried like a failure
	 * (the retry is a duplicate, and waits for the replicas again). */
	if (res->status != 0 || res->replicas_short) {
		sp->st.replay_errors++;
		if (!rp->failed)
			log_fields(LOG_LEVEL_WARN, "spool replay interrupted; will retry",
				   (struct log_field[]){
					   LOG_STR("error", res->status != 0
								    ? res->error
								    : "replicas did not confirm") },
				   1);
		rp->failed = true;
	} else if (!rp->stored[ctx->idx]) {
		rp->stored[ctx->idx] = true;
		rp->nstored++;
		sp->st.replayed++;
		sp->st.records--;
		rp->seg->records--;
	}
	event_active(sp->kick_ev, EV_TIMEOUT, 0);
}

/* Load the oldest segment no job still writes to. */
static bool
replay_load(struct spool *sp)
{
	struct segment *g = sp->segs;
	struct replay *rp;
	char name[32];
	int e;

	if (g == NULL || (!g->adopted &&
			  (g->seq == sp->cur_seq || (sp->busy != NULL && sp->busy->seq == g->seq))))
		return false;
	spool_segment_name(g->seq, name);
	rp = xcalloc(1, sizeof(*rp));
	rp->seg = g;
	e = spool_read_file(g->dirfd, name, &rp->data, &rp->len);
	if (e == -ENOENT) /* a segment whose first write failed */
		e = 0;
	if (e < 0) {
		log_fields(LOG_LEVEL_ERROR, "cannot read spool segment; will retry",
			   (struct log_field[]){ LOG_STR("segment", name),
						 LOG_STR("error", strerror(-e)) },
			   2);
		spool_replay_free(rp);
		sp->retry_at_us = timeutil_mono_us() + SPOOL_RETRY_MS * 1000u;
		return false;
	}
	rp->nrec = spool_segment_scan(sp, g, rp->data, rp->len, &rp->off, &rp->rlen);
	rp->ctx = xcalloc(rp->nrec + 1, sizeof(*rp->ctx));
	rp->stored = xcalloc(rp->nrec + 1, sizeof(*rp->stored));
	for (size_t i = 0; i < rp->nrec; i++)
		rp->ctx[i] = (struct replay_ctx){ .sp = sp, .idx = i };
	/* The scan is the truth about what can be replayed. */
	sp->st.records -= g->records;
	g->records = rp->nrec;
	sp->st.records += g->records;
	sp->rp = rp;
	return true;
}

static void
replay_step(struct spool *sp)
{
	struct replay *rp = sp->rp;

	if (rp == NULL) {
		/* Nothing on disk waits but the segment being written: close it so
		 * it can be replayed (and new appends start a new one). */
		if (sp->segs != NULL && !sp->segs->adopted && sp->segs->seq == sp->cur_seq &&
		    sp->segs->bytes > 0)
			sp->cur_seq++;
		if (!replay_load(sp))
			return;
		rp = sp->rp;
	}
	if (rp->failed) {
		if (rp->inflight > 0)
			return;
		rp->next = 0; /* the records not stored, from the oldest */
		rp->failed = false;
		sp->retry_at_us = timeutil_mono_us() + SPOOL_RETRY_MS * 1000u;
		return;
	}
	while (rp->inflight < SPOOL_REPLAY_WINDOW && rp->next < rp->nrec) {
		const char *payload;
		size_t plen, rl;
		struct spoolrec rec;
		int rc;

		if (rp->stored[rp->next]) {
			rp->next++;
			continue;
		}
		if (spoolrec_next(rp->data + rp->off[rp->next], rp->rlen[rp->next], &payload, &plen,
				  &rl) != SPOOLREC_WHOLE ||
		    spoolrec_decode(payload, plen, &rec) < 0)
			abort(); /* checked by the scan that found it */
		if (rec.kind == SPOOLREC_EVENTS)
			rc = publish_submit(sp->pub, rec.items, rec.nitems, replay_cb,
					    &rp->ctx[rp->next]);
		else
			rc = publish_append(sp->pub, rec.stream, rec.maxlen, rec.fields, rec.lens,
					    rec.nfields, replay_cb, &rp->ctx[rp->next]);
		if (rc < 0)
			return; /* not connected: the tick retries */
		rp->inflight++;
		rp->next++;
	}
	if (rp->nstored == rp->nrec && rp->inflight == 0) {
		char name[32];

		spool_segment_name(rp->seg->seq, name);
		if (unlinkat(rp->seg->dirfd, name, 0) < 0 && errno != ENOENT) {
			log_fields(LOG_LEVEL_ERROR, "cannot delete a replayed spool segment",
				   (struct log_field[]){ LOG_STR("segment", name),
							 LOG_STR("error", strerror(errno)) },
				   2);
			sp->retry_at_us = timeutil_mono_us() + SPOOL_RETRY_MS * 1000u;
			return;
		}
		sp->st.segments_deleted++;
		spool_replay_free(rp);
		sp->rp = NULL;
		spool_segment_pop(sp);
		if (sp->segs == NULL && sp->busy == NULL &&
		    (sp->filling == NULL || sp->filling->nrecords == 0))
			log_info("spool replayed; empty again");
		event_active(sp->kick_ev, EV_TIMEOUT, 0);
	}
}

void
spool_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spool *sp = arg;

	(void)fd;
	(void)what;
	if (!publisher_ready(sp->pub) || timeutil_mono_us() < sp->retry_at_us)
		return;
	replay_step(sp);
}
