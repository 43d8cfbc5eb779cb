/* SPDX-License-Identifier: MIT */
/*
 * spool_int: what spool.c (segments, the writer thread, appends) and
 * spool_replay.c (replay into Redis) share. Event-loop thread only, except
 * the hand-over slots documented in struct spool.
 */
#ifndef HOOKSTREAM_SPOOL_INT_H
#define HOOKSTREAM_SPOOL_INT_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/spool.h"
#include "hookstream/spoolrec.h"

#define SPOOL_SEGMENT_DEFAULT (8u << 20)
#define SPOOL_REPLAY_WINDOW   128
#define SPOOL_TICK_MS	      100
#define SPOOL_RETRY_MS	      1000
#define SPOOL_UNWRITABLE_MS   5000 /* readiness tries a spool that failed again after this */
#define SPOOL_MAX_ADOPT	      64

struct spool_waiter {
	spool_done_cb cb;
	void *arg;
};

struct spool_job {
	uint64_t seq; /* the segment it is written to */
	struct spoolrec_buf bytes;
	size_t nrecords;
	struct spool_waiter *waiters;
	size_t nwaiters, capwaiters;
	int err; /* set by the writer */
};

struct segment {
	uint64_t seq;
	int dirfd;	  /* the directory it is in (borrowed from the spool) */
	bool adopted;	  /* another directory's: replayed and deleted, never written */
	uint64_t bytes;	  /* durable bytes */
	uint64_t records; /* whole records (after a scan) or durable appends */
	bool scanned;	  /* damage already counted and logged */
	struct segment *next;
};

/* What a replayed record's answer needs to find its record: answers need not
 * come in order (Redis Cluster: records on different masters, redirects). */
struct replay_ctx {
	struct spool *sp;
	size_t idx;
};

/* The segment being replayed: its bytes and where each record starts. */
struct replay {
	struct segment *seg;
	char *data;
	size_t len;
	size_t *off, *rlen;
	size_t nrec;
	struct replay_ctx *ctx; /* one per record */
	bool *stored;		/* per record: acknowledged as stored */
	size_t nstored;
	size_t next;	 /* the next record to submit */
	size_t inflight; /* submitted, not yet answered */
	bool failed;	 /* an answer failed: resubmit the rest when none is in flight */
};

struct spool {
	struct event_base *base;
	struct publisher *pub;
	char *dir;
	int dirfd, lockfd;
	int adopt_fd[SPOOL_MAX_ADOPT], adopt_lock[SPOOL_MAX_ADOPT];
	size_t nadopt;
	uint64_t max_bytes, segment_bytes;

	struct segment *segs, *last; /* oldest first */
	uint64_t cur_seq;	     /* where the next job writes */
	uint64_t disk_bytes;	     /* durable, in live segments */
	struct spool_job *filling;   /* gathering appends */
	struct spool_job *busy;	     /* with the writer */
	struct replay *rp;
	bool refused; /* an append did not fit; until one fits or a segment is deleted */
	uint64_t unwritable_since_us; /* the last failed write (readiness retries later) */
	uint64_t retry_at_us;
	struct spool_stats st;

	struct event *done_ev, *tick_ev, *kick_ev;
	int efd;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spool_job *handed, *done; /* guarded by mu */
	bool quit;			 /* guarded by mu */
	/* writer-thread only */
	int wfd;
	uint64_t wseq;
};

/* "seg-<16 digits>.log" */
void spool_segment_name(uint64_t seq, char out[32]);

/* A whole file into *data (malloc'd) and *len; -errno. */
int spool_read_file(int dirfd, const char *name, char **data, size_t *len);

/* The whole records of a segment's bytes (offsets into off/rlen when not
 * NULL); damage is counted and logged once per segment. */
size_t spool_segment_scan(struct spool *sp, struct segment *g, const char *data, size_t len,
			  size_t **off, size_t **rlen);

/* Drop the oldest segment (its file already unlinked). */
void spool_segment_pop(struct spool *sp);

void spool_replay_free(struct replay *rp);

/* Tick and kick: move the replay on when Redis is ready. */
void spool_kick_cb(evutil_socket_t fd, short what, void *arg);

#endif
