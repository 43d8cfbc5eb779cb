// SPDX-License-Identifier: MIT
/*
 * worker: wires server, publisher and metrics for one event_base, and derives
 * what they share: the category list (metric labels, consumer-group streams).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hookstream/classify.h"
#include "hookstream/config.h"
#include "hookstream/metrics.h"
#include "hookstream/publish.h"
#include "hookstream/server.h"
#include "hookstream/spool.h"
#include "hookstream/worker.h"
#include "hookstream/xalloc.h"

#define WORKER_MAX_CATEGORIES METRICS_MAX_NAMES

struct worker {
	struct event_base *base;
	struct config *cfg;	 /* the current configuration (a reference) */
	struct config *boot_cfg; /* the first one: the publisher borrows its Redis URL */
	char *categories[WORKER_MAX_CATEGORIES];
	char *streams[WORKER_MAX_CATEGORIES];
	size_t ncategories;
	struct metrics *metrics;
	struct publisher *pub;
	struct spool *spool; /* NULL: no spool_dir */
	struct server *server;
};

/* Categories only ever grow (a reload keeps the old ones, in order). */
static void
worker_add_category(struct worker *w, const char *c)
{
	for (size_t i = 0; i < w->ncategories; i++)
		if (strcmp(w->categories[i], c) == 0)
			return;
	if (w->ncategories < WORKER_MAX_CATEGORIES) {
		w->categories[w->ncategories] = xstrdup(c);
		w->streams[w->ncategories] = xasprintf("%s:%s", w->cfg->stream_prefix, c);
		w->ncategories++;
	}
}

/* Learn cfg's routes and categories: metric labels, group streams. */
static void
worker_learn(struct worker *w, const struct config *cfg)
{
	const char *rule_cats[WORKER_MAX_CATEGORIES];
	size_t nrule = classify_categories(cfg->rules, rule_cats, WORKER_MAX_CATEGORIES);
	const char **paths = xcalloc(cfg->nroutes + 1, sizeof(*paths));
	struct metrics_names names;

	for (size_t i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].category != NULL)
			worker_add_category(w, cfg->routes[i].category);
	for (size_t i = 0; i < nrule; i++)
		worker_add_category(w, rule_cats[i]);
	worker_add_category(w, CLASSIFY_UNCLASSIFIED);
	for (size_t i = 0; i < cfg->nroutes; i++)
		paths[i] = cfg->routes[i].path;
	names = (struct metrics_names){ .routes = paths,
					.nroutes = cfg->nroutes,
					.categories = (const char *const *)w->categories,
					.ncategories = w->ncategories };
	if (w->metrics == NULL)
		w->metrics = metrics_new(&names);
	else
		metrics_add_names(w->metrics, &names);
	free(paths);
}

/*
 * The spool of worker index of count: spool_dir itself for one worker, else
 * spool_dir/w<index>. What another workers setting left behind is adopted
 * (replayed, then deleted): by the only worker, every w<N>; by worker 0 of
 * several, spool_dir's own segments and every w<N> with N >= count.
 */
static struct spool *
worker_spool(struct worker *w, const struct config *cfg, size_t index, size_t count, char *err,
	     size_t errlen)
{
	/* spool_max_bytes is the process's: each worker's spool a share. */
	struct spool_options sopt = { .max_bytes = cfg->spool_max_bytes / count };
	int e;
	char *own =
		count == 1 ? xstrdup(cfg->spool_dir) : xasprintf("%s/w%zu", cfg->spool_dir, index);
	char *adopt[65];
	size_t nadopt = 0;
	struct spool *sp;

	if (count > 1 && (e = spool_mkdir(cfg->spool_dir)) < 0) {
		snprintf(err, errlen, "spool_dir %s: cannot create it: %s", cfg->spool_dir,
			 strerror(-e));
		free(own);
		return NULL;
	}
	if (index == 0) {
		DIR *d = opendir(cfg->spool_dir);
		struct dirent *de;

		if (count > 1)
			adopt[nadopt++] = xstrdup(cfg->spool_dir);
		while (d != NULL && (de = readdir(d)) != NULL && nadopt < HS_ARRAY_LEN(adopt)) {
			unsigned int k;
			char back[32];

			if (sscanf(de->d_name, "w%u", &k) != 1)
				continue;
			snprintf(back, sizeof(back), "w%u", k);
			if (strcmp(back, de->d_name) == 0 && (count == 1 || k >= count))
				adopt[nadopt++] = xasprintf("%s/%s", cfg->spool_dir, de->d_name);
		}
		if (d != NULL)
			closedir(d);
	}
	sopt.dir = own;
	sopt.adopt = (const char *const *)adopt;
	sopt.nadopt = nadopt;
	sp = spool_open(w->base, w->pub, &sopt, err, errlen);
	for (size_t i = 0; i < nadopt; i++)
		free(adopt[i]);
	free(own);
	return sp;
}

/* How long Redis may answer nothing while commands wait before the
 * connection is made again: past a publish timeout (twice: one slow answer is
 * not a dead server), past a WAIT's own timeout, and never below 5 s. */
static unsigned int
worker_stall_ms(const struct config *cfg)
{
	uint64_t ms = 2 * cfg->publish_timeout;

	if (cfg->wait_replicas > 0 && cfg->wait_replicas_timeout + 1000 > ms)
		ms = cfg->wait_replicas_timeout + 1000;
	if (ms < 5000)
		ms = 5000;
	return ms > UINT32_MAX / 2 ? UINT32_MAX / 2 : (unsigned int)ms;
}

struct worker *
worker_new(struct event_base *base, struct config *cfg, SSL_CTX *tls, size_t index, size_t count,
	   char *err, size_t errlen)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	struct publish_options popt;
	struct server_deps deps;

	w->base = base;
	w->cfg = config_ref(cfg);
	w->boot_cfg = config_ref(cfg);
	worker_learn(w, cfg);

	popt = (struct publish_options){ .url = &cfg->redis,
					 .dedup_ttl_ms = cfg->dedup_ttl * 1000,
					 .maxlen = cfg->stream_maxlen,
					 .retention_ms = cfg->stream_retention * 1000,
					 .streams = (const char *const *)w->streams,
					 .nstreams = w->ncategories,
					 .groups = cfg->groups,
					 .ngroups = cfg->ngroups,
					 .connect_timeout_ms = 2000,
					 .wait_replicas = (unsigned int)cfg->wait_replicas,
					 .wait_timeout_ms =
						 (unsigned int)cfg->wait_replicas_timeout,
					 .stall_ms = worker_stall_ms(cfg) };
	w->pub = publisher_new(base, &popt);
	if (cfg->spool_dir[0] != '\0') {
		w->spool = worker_spool(w, cfg, index, count, err, errlen);
		if (w->spool == NULL) {
			worker_free(w);
			return NULL;
		}
	}
	deps = (struct server_deps){ .base = base,
				     .cfg = cfg,
				     .pub = w->pub,
				     .spool = w->spool,
				     .metrics = w->metrics,
				     .tls = tls,
				     .reuseport = count > 1 };
	w->server = server_new(&deps, err, errlen);
	if (w->server == NULL) {
		worker_free(w);
		return NULL;
	}
	return w;
}

void
worker_reload(struct worker *w, struct config *cfg, SSL_CTX *tls)
{
	config_ref(cfg);
	config_free(w->cfg);
	w->cfg = cfg;
	worker_learn(w, cfg);
	/* The publisher's group list lives in the boot configuration (groups
	 * cannot change without a restart); its streams may grow. */
	publisher_set_streams(w->pub, (const char *const *)w->streams, w->ncategories);
	server_reload(w->server, cfg, tls);
}

void
worker_stop_accepting(struct worker *w)
{
	server_stop_accepting(w->server);
}

size_t
worker_spool_waiting(struct worker *w)
{
	return server_spool_waiting(w->server);
}

size_t
worker_inflight(const struct worker *w)
{
	return server_inflight(w->server);
}

bool
worker_ready(const struct worker *w)
{
	/* With a spool, events are still taken (and kept) while Redis is away. */
	return publisher_ready(w->pub) || (w->spool != NULL && spool_accepting(w->spool));
}

bool
worker_spool_stats(const struct worker *w, struct spool_stats *st)
{
	if (w->spool == NULL)
		return false;
	spool_get_stats(w->spool, st);
	return true;
}

struct metrics *
worker_metrics(const struct worker *w)
{
	return w->metrics;
}

void
worker_add_gauges(const struct worker *w, struct metrics_gauges *g)
{
	g->redis_connected = g->redis_connected && publisher_ready(w->pub);
	g->inflight += (long long)server_inflight(w->server);
	g->connections += (long long)server_connections(w->server);
	if (w->spool != NULL) {
		g->spool_enabled = true;
		spool_get_stats(w->spool, &g->spool);
	}
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	/* Requests Redis gives back now are answered 503, not spooled. */
	if (w->server != NULL)
		server_closing(w->server);
	/* Redis first: its callbacks answer pending requests through the server
	 * and end the spool's replay; then the spool finishes its last write and
	 * answers the requests waiting on it. */
	publisher_free(w->pub);
	spool_free(w->spool);
	server_free(w->server);
	metrics_free(w->metrics);
	for (size_t i = 0; i < w->ncategories; i++) {
		free(w->categories[i]);
		free(w->streams[i]);
	}
	config_free(w->cfg);
	config_free(w->boot_cfg);
	free(w);
}
