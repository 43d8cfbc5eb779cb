// SPDX-License-Identifier: MIT
/*
 * spool: segment files, a writer thread with group commit, and replay.
 *
 * Threads: the event loop owns every field of struct spool except the
 * hand-over slots (handed, done, quit) guarded by mu. The loop hands the writer
 * one job at a time; while it runs, new appends gather in the next job. The
 * writer reports through an eventfd the loop watches.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hookstream/log.h"
#include "hookstream/spool.h"
#include "hookstream/spoolrec.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"
#include "spool_int.h"

void
spool_segment_name(uint64_t seq, char out[32])
{
	snprintf(out, 32, "seg-%016" PRIu64 ".log", seq);
}

/* ---- the writer thread ---- */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
writer_run_job(struct spool *sp, struct spool_job *job)
{
	struct stat stbuf;
	int err;

	if (sp->wfd >= 0 && sp->wseq != job->seq) {
		close(sp->wfd);
		sp->wfd = -1;
	}
	if (sp->wfd < 0) {
		char name[32];

		spool_segment_name(job->seq, name);
		sp->wfd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (sp->wfd < 0)
			return -errno;
		sp->wseq = job->seq;
		/* The new name must survive a crash as well as the bytes. */
		if (fsync(sp->dirfd) < 0)
			return -errno;
	}
	if (fstat(sp->wfd, &stbuf) < 0)
		return -errno;
	err = write_all(sp->wfd, job->bytes.data, job->bytes.len);
	if (err == 0 && fdatasync(sp->wfd) < 0)
		err = -errno;
	if (err != 0) {
		/* Leave no half record behind; when even that fails, the reader
		 * skips the damage by its checksum. Either way the next job
		 * starts a new segment. */
		if (ftruncate(sp->wfd, stbuf.st_size) == 0)
			(void)fdatasync(sp->wfd);
		close(sp->wfd);
		sp->wfd = -1;
	}
	return err;
}

static void *
writer_main(void *arg)
{
	struct spool *sp = arg;

	pthread_mutex_lock(&sp->mu);
	for (;;) {
		struct spool_job *job;
		uint64_t one = 1;

		while (sp->handed == NULL && !sp->quit)
			pthread_cond_wait(&sp->cv, &sp->mu);
		if (sp->handed == NULL)
			break;
		job = sp->handed;
		sp->handed = NULL;
		pthread_mutex_unlock(&sp->mu);
		job->err = writer_run_job(sp, job);
		pthread_mutex_lock(&sp->mu);
		sp->done = job;
		if (write(sp->efd, &one, sizeof(one)) < 0) {
			/* An eventfd write fails only on overflow; the loop still
			 * wakes for the counter already set. */
		}
	}
	pthread_mutex_unlock(&sp->mu);
	if (sp->wfd >= 0)
		close(sp->wfd);
	return NULL;
}

/* ---- segments ---- */

/* One of this spool's own segments (adopted ones are never written). */
static struct segment *
segment_find(struct spool *sp, uint64_t seq)
{
	for (struct segment *g = sp->segs; g != NULL; g = g->next)
		if (g->seq == seq && !g->adopted)
			return g;
	return NULL;
}

static struct segment *
segment_add_in(struct spool *sp, uint64_t seq, int dirfd, bool adopted)
{
	struct segment *g = xcalloc(1, sizeof(*g));

	g->seq = seq;
	g->dirfd = dirfd;
	g->adopted = adopted;
	if (sp->last != NULL)
		sp->last->next = g;
	else
		sp->segs = g;
	sp->last = g;
	return g;
}

/* Drop the oldest segment (its file is already unlinked). */
void
spool_segment_pop(struct spool *sp)
{
	struct segment *g = sp->segs;

	sp->segs = g->next;
	if (sp->last == g)
		sp->last = NULL;
	sp->disk_bytes -= g->bytes;
	sp->st.records -= g->records;
	sp->refused = false;
	free(g);
}

int
spool_read_file(int dirfd, const char *name, char **data, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat stbuf;
	size_t got = 0;

	*data = NULL;
	*len = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &stbuf) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	*data = xmalloc((size_t)stbuf.st_size + 1);
	while (got < (size_t)stbuf.st_size) {
		ssize_t r = read(fd, *data + got, (size_t)stbuf.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? -errno : 0;

			if (e != 0) {
				close(fd);
				free(*data);
				*data = NULL;
				return e;
			}
			break; /* shrank meanwhile: what was read is what there is */
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return 0;
}

/*
 * Walk a segment's bytes: record offsets into off/rlen (when not NULL) and
 * return the number of whole records. Damage is counted and logged once per
 * segment.
 */
size_t
spool_segment_scan(struct spool *sp, struct segment *g, const char *data, size_t len, size_t **off,
		   size_t **rlen)
{
	size_t at = 0, n = 0, cap = 0, bad = 0, bad_bytes = 0;
	bool torn = false;

	while (at < len) {
		const char *payload;
		size_t plen, rl;
		struct spoolrec rec;
		enum spoolrec_scan s = spoolrec_next(data + at, len - at, &payload, &plen, &rl);

		if (s == SPOOLREC_WHOLE && spoolrec_decode(payload, plen, &rec) == 0) {
			if (off != NULL) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					*off = xreallocarray(*off, cap, sizeof(**off));
					*rlen = xreallocarray(*rlen, cap, sizeof(**rlen));
				}
				(*off)[n] = at;
				(*rlen)[n] = rl;
			}
			n++;
			at += rl;
			continue;
		}
		{
			/* A record that runs past the end is a torn tail, or a
			 * damaged length in the middle: whole records after it are
			 * found by their checksums either way (none after a torn
			 * tail). */
			size_t skip = s == SPOOLREC_WHOLE ? rl /* checksum held, content did not */
							  : spoolrec_resync(data + at, len - at);

			torn = at + skip == len;
			bad++;
			bad_bytes += skip;
			at += skip;
		}
	}
	if (bad > 0 && !g->scanned) {
		char name[32];

		spool_segment_name(g->seq, name);
		sp->st.corrupt_records += bad;
		sp->st.corrupt_bytes += bad_bytes;
		log_fields(LOG_LEVEL_WARN,
			   torn ? "spool segment has a torn or damaged tail; skipping it"
				: "spool segment has damaged records; skipping them",
			   (struct log_field[]){
				   LOG_STR("segment", name),
				   LOG_INT("damaged_spans", bad),
				   LOG_INT("damaged_bytes", bad_bytes),
				   LOG_INT("whole_records", n),
			   },
			   4);
	}
	g->scanned = true;
	return n;
}

static struct segment *
segment_add(struct spool *sp, uint64_t seq)
{
	return segment_add_in(sp, seq, sp->dirfd, false);
}

/* The segments in dirfd (dir names it in messages), oldest first. */
static int
spool_load_dir(struct spool *sp, int dirfd, const char *dir, bool adopted, char *err, size_t errlen)
{
	DIR *d = fdopendir(dup(dirfd));
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (d == NULL) {
		snprintf(err, errlen, "spool_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long long seq;
		char tail[8], back[32];

		if (sscanf(de->d_name, "seg-%16llu.%4s", &seq, tail) != 2 ||
		    strcmp(tail, "log") != 0)
			continue;
		spool_segment_name(seq, back);
		if (strcmp(back, de->d_name) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			seqs = xreallocarray(seqs, cap, sizeof(*seqs));
		}
		seqs[n++] = seq;
	}
	closedir(d);
	/* Oldest first (insertion sort: a spool holds few segments). */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
			uint64_t t = seqs[j];

			seqs[j] = seqs[j - 1];
			seqs[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		char name[32], *data;
		size_t len;
		struct segment *g;
		int e;

		spool_segment_name(seqs[i], name);
		e = spool_read_file(dirfd, name, &data, &len);
		if (e < 0) {
			snprintf(err, errlen, "spool_dir %s: cannot read %s: %s", dir, name,
				 strerror(-e));
			free(data);
			free(seqs);
			return -1;
		}
		g = segment_add_in(sp, seqs[i], dirfd, adopted);
		g->bytes = len;
		g->records = spool_segment_scan(sp, g, data, len, NULL, NULL);
		sp->disk_bytes += len;
		sp->st.records += g->records;
		free(data);
	}
	if (!adopted)
		sp->cur_seq = n > 0 ? seqs[n - 1] + 1 : 1;
	if (n > 0)
		log_fields(LOG_LEVEL_INFO, "spool holds records from a previous run; replaying",
			   (struct log_field[]){ LOG_STR("dir", dir), LOG_INT("segments", n),
						 LOG_INT("records", sp->st.records),
						 LOG_INT("bytes", sp->disk_bytes) },
			   4);
	free(seqs);
	return 0;
}

/*
 * Another directory's leftovers (a spool of a worker that no longer exists):
 * lock it and queue its segments for replay ahead of ours. One that another
 * process holds is left alone.
 */
static int
spool_adopt(struct spool *sp, const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), lock;

	if (fd < 0)
		return errno == ENOENT
			       ? 0
			       : (snprintf(err, errlen, "spool_dir %s: %s", dir, strerror(errno)),
				  -1);
	lock = openat(fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		log_fields(LOG_LEVEL_WARN, "spool directory in use by another process; not adopted",
			   (struct log_field[]){ LOG_STR("dir", dir) }, 1);
		if (lock >= 0)
			close(lock);
		close(fd);
		return 0;
	}
	if (sp->nadopt == SPOOL_MAX_ADOPT) {
		close(lock);
		close(fd);
		snprintf(err, errlen, "spool_dir %s: too many spool directories to adopt", dir);
		return -1;
	}
	sp->adopt_fd[sp->nadopt] = fd;
	sp->adopt_lock[sp->nadopt] = lock;
	sp->nadopt++;
	return spool_load_dir(sp, fd, dir, true, err, errlen);
}

/* ---- appends ---- */

static struct spool_job *
job_new(void)
{
	return xcalloc(1, sizeof(struct spool_job));
}

static void
job_free(struct spool_job *job)
{
	if (job == NULL)
		return;
	spoolrec_buf_fini(&job->bytes);
	free(job->waiters);
	free(job);
}

static void
job_finish(struct spool_job *job, int err)
{
	for (size_t i = 0; i < job->nwaiters; i++)
		job->waiters[i].cb(job->waiters[i].arg, err);
	job_free(job);
}

static uint64_t
pending_bytes(const struct spool *sp)
{
	return (sp->filling ? sp->filling->bytes.len : 0) + (sp->busy ? sp->busy->bytes.len : 0);
}

/* Hand the gathered appends to the writer when it is idle. */
static void
spool_flush(struct spool *sp)
{
	struct segment *cur;

	if (sp->busy != NULL || sp->filling == NULL || sp->filling->bytes.len == 0)
		return;
	cur = segment_find(sp, sp->cur_seq);
	if (cur != NULL && cur->bytes >= sp->segment_bytes)
		sp->cur_seq++;
	if (segment_find(sp, sp->cur_seq) == NULL)
		segment_add(sp, sp->cur_seq);
	sp->busy = sp->filling;
	sp->filling = NULL;
	sp->busy->seq = sp->cur_seq;
	pthread_mutex_lock(&sp->mu);
	sp->handed = sp->busy;
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
}

static void
spool_done_cb_ev(evutil_socket_t fd, short what, void *arg)
{
	struct spool *sp = arg;
	struct spool_job *job;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing new */
	}
	pthread_mutex_lock(&sp->mu);
	job = sp->done;
	sp->done = NULL;
	pthread_mutex_unlock(&sp->mu);
	if (job == NULL)
		return;
	sp->busy = NULL;
	if (job->err == 0) {
		struct segment *g = segment_find(sp, job->seq);

		g->bytes += job->bytes.len;
		g->records += job->nrecords;
		sp->disk_bytes += job->bytes.len;
		sp->st.records += job->nrecords;
		sp->st.appended += job->nrecords;
		sp->st.syncs++;
		if (!sp->st.writable)
			log_info("spool is writable again");
		sp->st.writable = true;
	} else {
		sp->st.write_errors += job->nrecords;
		if (sp->st.writable)
			log_fields(LOG_LEVEL_ERROR, "spool write failed; answering 503",
				   (struct log_field[]){ LOG_STR("dir", sp->dir),
							 LOG_STR("error", strerror(-job->err)) },
				   2);
		sp->st.writable = false;
		sp->unwritable_since_us = timeutil_mono_us();
		/* Whatever is in that file stays readable; new bytes go to a new one. */
		sp->cur_seq++;
	}
	job_finish(job, job->err);
	spool_flush(sp);
	event_active(sp->kick_ev, EV_TIMEOUT, 0);
}

static int
spool_add(struct spool *sp, const struct spoolrec_buf *rec, spool_done_cb cb, void *arg)
{
	struct spool_job *job;

	if (sp->disk_bytes + pending_bytes(sp) + rec->len > sp->max_bytes) {
		sp->st.full++;
		/* Not ready while full; a record larger than the whole spool
		 * says nothing about the next. */
		if (rec->len <= sp->max_bytes)
			sp->refused = true;
		return -ENOSPC;
	}
	sp->refused = false;
	if (sp->filling == NULL)
		sp->filling = job_new();
	job = sp->filling;
	if (job->bytes.len == 0) {
		/* Adopt the encoded record instead of copying it. */
		spoolrec_buf_fini(&job->bytes);
		job->bytes = *rec;
	} else {
		if (job->bytes.cap - job->bytes.len < rec->len) {
			job->bytes.cap = (job->bytes.len + rec->len) * 2;
			job->bytes.data = xrealloc(job->bytes.data, job->bytes.cap);
		}
		memcpy(job->bytes.data + job->bytes.len, rec->data, rec->len);
		job->bytes.len += rec->len;
		free(rec->data);
	}
	job->nrecords++;
	if (job->nwaiters == job->capwaiters) {
		job->capwaiters = job->capwaiters ? job->capwaiters * 2 : 16;
		job->waiters = xreallocarray(job->waiters, job->capwaiters, sizeof(*job->waiters));
	}
	job->waiters[job->nwaiters++] = (struct spool_waiter){ cb, arg };
	spool_flush(sp);
	return 0;
}

int
spool_append_events(struct spool *sp, const struct publish_item *items, size_t n, spool_done_cb cb,
		    void *arg)
{
	struct spoolrec_buf rec = { 0 };
	int rc;

	spoolrec_encode_events(&rec, items, n);
	rc = spool_add(sp, &rec, cb, arg);
	if (rc < 0)
		spoolrec_buf_fini(&rec);
	return rc;
}

int
spool_append_record(struct spool *sp, const char *stream, uint64_t maxlen,
		    const char *const *fields, const size_t *lens, size_t nfields, spool_done_cb cb,
		    void *arg)
{
	struct spoolrec_buf rec = { 0 };
	int rc;

	spoolrec_encode_append(&rec, stream, maxlen, fields, lens, nfields);
	rc = spool_add(sp, &rec, cb, arg);
	if (rc < 0)
		spoolrec_buf_fini(&rec);
	return rc;
}

/* ---- lifecycle ---- */

int
spool_mkdir(const char *dir)
{
	char *parent, *slash;
	int fd, e = 0;

	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? 0 : -errno;
	parent = xstrdup(dir);
	slash = strrchr(parent, '/');
	while (slash != NULL && slash > parent && slash[1] == '\0') { /* "a/b/" */
		*slash = '\0';
		slash = strrchr(parent, '/');
	}
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		e = -errno;
	if (fd >= 0)
		close(fd);
	free(parent);
	return e;
}

struct spool *
spool_open(struct event_base *base, struct publisher *pub, const struct spool_options *opt,
	   char *err, size_t errlen)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	struct timeval tick = { 0, SPOOL_TICK_MS * 1000 };
	int e;

	sp->base = base;
	sp->pub = pub;
	sp->dir = xstrdup(opt->dir);
	sp->max_bytes = opt->max_bytes;
	sp->segment_bytes = opt->segment_bytes ? opt->segment_bytes : SPOOL_SEGMENT_DEFAULT;
	sp->dirfd = sp->lockfd = sp->efd = sp->wfd = -1;
	sp->st.writable = true;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cv, NULL);

	if ((e = spool_mkdir(sp->dir)) < 0) {
		snprintf(err, errlen, "spool_dir %s: cannot create it: %s", sp->dir, strerror(-e));
		goto fail;
	}
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		snprintf(err, errlen, "spool_dir %s: %s", sp->dir, strerror(errno));
		goto fail;
	}
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0) {
		snprintf(err, errlen, "spool_dir %s: cannot create its lock file: %s", sp->dir,
			 strerror(errno));
		goto fail;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen,
			 "spool_dir %s is in use by another hookstream process (give each "
			 "replica its own spool directory)",
			 sp->dir);
		goto fail;
	}
	for (size_t i = 0; i < opt->nadopt; i++)
		if (spool_adopt(sp, opt->adopt[i], err, errlen) < 0)
			goto fail;
	if (spool_load_dir(sp, sp->dirfd, sp->dir, false, err, errlen) < 0)
		goto fail;
	sp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sp->efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	sp->done_ev = event_new(base, sp->efd, EV_READ | EV_PERSIST, spool_done_cb_ev, sp);
	sp->tick_ev = event_new(base, -1, EV_PERSIST, spool_kick_cb, sp);
	sp->kick_ev = event_new(base, -1, 0, spool_kick_cb, sp);
	if (sp->done_ev == NULL || sp->tick_ev == NULL || sp->kick_ev == NULL)
		abort();
	event_add(sp->done_ev, NULL);
	event_add(sp->tick_ev, &tick);
	if (pthread_create(&sp->thread, NULL, writer_main, sp) != 0) {
		snprintf(err, errlen, "cannot start the spool writer thread");
		goto fail;
	}
	sp->thread_started = true;
	return sp;
fail:
	spool_free(sp);
	return NULL;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->thread_started) {
		pthread_mutex_lock(&sp->mu);
		sp->quit = true;
		pthread_cond_signal(&sp->cv);
		pthread_mutex_unlock(&sp->mu);
		pthread_join(sp->thread, NULL);
		/* The job it held is done: answer its requests with its result. */
		if (sp->done != NULL) {
			sp->busy = NULL;
			job_finish(sp->done, sp->done->err);
			sp->done = NULL;
		}
	}
	if (sp->filling != NULL)
		job_finish(sp->filling, -ECANCELED);
	sp->filling = NULL;
	spool_replay_free(sp->rp);
	while (sp->segs != NULL) {
		struct segment *g = sp->segs;

		sp->segs = g->next;
		free(g);
	}
	if (sp->done_ev)
		event_free(sp->done_ev);
	if (sp->tick_ev)
		event_free(sp->tick_ev);
	if (sp->kick_ev)
		event_free(sp->kick_ev);
	if (sp->efd >= 0)
		close(sp->efd);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	for (size_t i = 0; i < sp->nadopt; i++) {
		close(sp->adopt_lock[i]);
		close(sp->adopt_fd[i]);
	}
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->cv);
	free(sp->dir);
	free(sp);
}

bool
spool_backlog(const struct spool *sp)
{
	return sp->st.records > 0 || sp->busy != NULL ||
	       (sp->filling != NULL && sp->filling->nrecords > 0);
}

/* Readiness: the spool can take an event. After a failed write it is tried
 * again by the next event; readiness says so again SPOOL_UNWRITABLE_MS after
 * it (no event would ever come to an instance taken out of rotation). */
bool
spool_accepting(const struct spool *sp)
{
	bool writable = sp->st.writable ||
			timeutil_mono_us() - sp->unwritable_since_us >= SPOOL_UNWRITABLE_MS * 1000u;

	return writable && !sp->refused && sp->disk_bytes + pending_bytes(sp) < sp->max_bytes;
}

void
spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
	st->bytes = sp->disk_bytes + pending_bytes(sp);
}
