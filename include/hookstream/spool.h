/* SPDX-License-Identifier: MIT */
/*
 * spool: the durable local log used while Redis cannot take an event.
 *
 * Appends are written and fdatasync'ed by one writer thread with group
 * commit: whatever arrives while a write+fsync runs goes into the next one,
 * so a burst costs a few fsyncs, not one per request, and the event loop never
 * blocks on the disk. A request is answered only from its append's callback.
 *
 * Records (spoolrec.h) go to segment files DIR/seg-<16 digits>.log. Once
 * Redis is back, segments are replayed oldest first, record by record,
 * through the publisher (the dedup script: a record stored twice is a
 * duplicate, not a second entry); a segment is deleted only when every record
 * in it is acknowledged. Damaged records (a torn tail after a power loss) are
 * logged, counted and skipped; the whole records around them are kept.
 * DIR is locked (flock): one process per spool directory.
 */
#ifndef HOOKSTREAM_SPOOL_H
#define HOOKSTREAM_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/compiler.h"
#include "hookstream/publish.h"

struct event_base;

struct spool_options {
	const char *dir;	/* created (0700) when missing */
	uint64_t max_bytes;	/* appends past this fail with -ENOSPC */
	uint64_t segment_bytes; /* a segment is closed past this size; 0: 8 MiB */
	/* Other spool directories whose segments this spool replays (and
	 * deletes) before its own, e.g. those of workers that no longer exist.
	 * Missing ones are skipped; ones another process locks are left alone. */
	const char *const *adopt;
	size_t nadopt;
};

struct spool_stats {
	uint64_t bytes;		  /* on disk and being written */
	uint64_t records;	  /* not yet acknowledged by Redis */
	bool writable;		  /* the last write succeeded */
	uint64_t appended;	  /* records made durable */
	uint64_t syncs;		  /* group commits (write + fdatasync) that succeeded */
	uint64_t write_errors;	  /* appends that failed (disk full, I/O error) */
	uint64_t full;		  /* appends refused past max_bytes */
	uint64_t replayed;	  /* records acknowledged by Redis on replay */
	uint64_t replay_errors;	  /* replay attempts Redis did not acknowledge */
	uint64_t corrupt_records; /* damaged spans skipped */
	uint64_t corrupt_bytes;
	uint64_t segments_deleted;
};

/* 0 when the append is durable; otherwise -errno (-ENOSPC, -EIO, -ECANCELED). */
typedef void (*spool_done_cb)(void *arg, int err);

struct spool;

/* mkdir dir (0700); when it was created, its entry is made durable in its
 * parent (fsync of the parent directory), as a new segment's is in dir.
 * 0, or -errno (EEXIST is success). */
int spool_mkdir(const char *dir);

/* Open (and lock, and scan) dir; replay starts once pub is ready. */
struct spool *spool_open(struct event_base *base, struct publisher *pub,
			 const struct spool_options *opt, char *err, size_t errlen);

/*
 * Finish the write in progress (its callbacks fire with its result), fail the
 * appends not yet handed to the writer with -ECANCELED, stop the thread and
 * free. Records not yet replayed stay on disk for the next start. NULL-safe.
 * Free the publisher first: replay callbacks point here.
 */
void spool_free(struct spool *sp);

/* True while records wait on disk or in the writer: new events go behind
 * them so replay keeps arrival order. */
bool spool_backlog(const struct spool *sp);

/* False when an append would be refused (over max_bytes, or the last write failed). */
bool spool_accepting(const struct spool *sp);

/*
 * Append one record; cb fires once it is durable (or failed). Returns 0, or
 * -ENOSPC at once when it would pass max_bytes (cb is never called then).
 * The items' bytes are copied before return.
 */
HS_WUR int spool_append_events(struct spool *sp, const struct publish_item *items, size_t n,
			       spool_done_cb cb, void *arg);

HS_WUR int spool_append_record(struct spool *sp, const char *stream, uint64_t maxlen,
			       const char *const *fields, const size_t *lens, size_t nfields,
			       spool_done_cb cb, void *arg);

void spool_get_stats(const struct spool *sp, struct spool_stats *st);

#endif
