// SPDX-License-Identifier: MIT
/*
 * main: command line, startup order, signals (through libevent, never work in a
 * raw handler), drain on SIGTERM/SIGINT and the exit status.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hookstream/admin.h"
#include "hookstream/cli.h"
#include "hookstream/config.h"
#include "hookstream/jsonmem.h"
#include "hookstream/log.h"
#include "hookstream/metrics.h"
#include "hookstream/timeutil.h"
#include "hookstream/tls.h"
#include "hookstream/worker.h"
#include "hookstream/xalloc.h"
#include "hs_version.h"

extern char **environ;

struct app;

/* What a worker thread shows the main thread (admin, drain), copied on its
 * own loop every SLOT_SNAP_MS. */
struct slot_snap {
	struct metrics_gauges g;
	bool ready;
	size_t inflight;
};

/*
 * One worker. With workers = 1 it runs on the main loop (threaded false) and
 * is read directly; with more, each has its own thread and loop, and the main
 * thread reaches it only through messages (event_base_once) and its snapshot.
 */
struct slot {
	struct app *app;
	size_t index;
	struct event_base *base;
	struct worker *w;
	bool threaded;
	bool thread_started;
	pthread_t thread;
	struct event *snap_timer;
	bool draining; /* its loop: stop once nothing is in flight (threaded) */
	pthread_mutex_t mu;
	struct slot_snap snap; /* guarded by mu */
	bool drained;	       /* guarded by mu: its loop stopped with nothing in flight */
};

#define SLOT_SNAP_MS 20

struct app {
	struct event_base *base;
	const char *config_path; /* NULL: the built-in configuration */
	struct config *cfg;
	SSL_CTX *tls; /* the webhook listener's, or NULL */
	uint64_t reloads_ok, reloads_failed;
	struct slot *slots;
	size_t nslots;
	struct admin *admin;
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *drain_timer;
	uint64_t drain_deadline_us;
	bool draining;
	bool spooled_at_deadline;
	int exit_status;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: hookstream [-c FILE] [--check-config] [--version] [--help]\n"
		"       hookstream classify [-c FILE] [BODY_FILE|-] [--path P] [--content-type T]\n"
		"       hookstream healthcheck [-c FILE] [--ready]\n"
		"\n"
		"Receives webhook notifications and publishes them to Redis Streams.\n"
		"\n"
		"  -c, --config FILE   read FILE (default: $HOOKSTREAM_CONFIG, else the built-in\n"
		"                      defaults, identical to conf/hookstream.conf)\n"
		"      --check-config  validate configuration file and environment, then exit\n"
		"      --version       print the version and exit\n"
		"  -h, --help          print this help and exit\n"
		"\n"
		"Every setting can be overridden with HOOKSTREAM_<KEY>, e.g. HOOKSTREAM_ALLOW.\n");
}

/* This worker's gauges, readiness and requests in flight (on the main thread). */
static struct slot_snap
slot_read(struct slot *sl)
{
	struct slot_snap snap = { .g = { .redis_connected = 1 } };

	if (sl->w == NULL)
		return snap;
	if (!sl->threaded) {
		worker_add_gauges(sl->w, &snap.g);
		snap.ready = worker_ready(sl->w);
		snap.inflight = worker_inflight(sl->w);
		return snap;
	}
	pthread_mutex_lock(&sl->mu);
	snap = sl->snap;
	pthread_mutex_unlock(&sl->mu);
	return snap;
}

/*
 * A draining worker thread decides for itself that it is done: the main
 * thread's copy of its count can be 20 ms old, and a request accepted in
 * between would be answered 503 when the worker is freed. On its own loop the
 * count is exact; once it is 0 the loop stops, so no request is taken after.
 */
static void
slot_check_drained(struct slot *sl)
{
	if (!sl->threaded || !sl->draining || worker_inflight(sl->w) > 0)
		return;
	pthread_mutex_lock(&sl->mu);
	sl->drained = true;
	pthread_mutex_unlock(&sl->mu);
	event_base_loopexit(sl->base, NULL);
}

/* Requests a draining worker still has in flight (on the main thread): exact
 * for the inline worker, and for a thread 0 only once it said so. */
static size_t
slot_left(struct slot *sl)
{
	size_t left;

	if (sl->w == NULL)
		return 0;
	if (!sl->threaded)
		return worker_inflight(sl->w);
	pthread_mutex_lock(&sl->mu);
	left = sl->drained ? 0 : sl->snap.inflight > 0 ? sl->snap.inflight : 1;
	pthread_mutex_unlock(&sl->mu);
	return left;
}

/* The worker's own copy of its numbers for the main thread (its loop). */
static void
slot_snap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *sl = arg;
	struct slot_snap snap = { .g = { .redis_connected = 1 } };

	(void)fd;
	(void)what;
	worker_add_gauges(sl->w, &snap.g);
	snap.ready = worker_ready(sl->w);
	snap.inflight = worker_inflight(sl->w);
	pthread_mutex_lock(&sl->mu);
	sl->snap = snap;
	pthread_mutex_unlock(&sl->mu);
	slot_check_drained(sl);
}

/* Every worker's gauges added up; readiness needs every worker ready (the
 * kernel gives connections to any of them). */
static bool
app_gauges(struct app *a, struct metrics_gauges *g, size_t *inflight)
{
	bool ready = a->nslots > 0;

	*inflight = 0;
	for (size_t i = 0; i < a->nslots; i++) {
		struct slot_snap sn = slot_read(&a->slots[i]);
		const struct spool_stats *sp = &sn.g.spool;

		ready = ready && sn.ready && a->slots[i].w != NULL;
		*inflight += sn.inflight;
		g->redis_connected = g->redis_connected && sn.g.redis_connected;
		g->inflight += sn.g.inflight;
		g->connections += sn.g.connections;
		if (!sn.g.spool_enabled)
			continue;
		g->spool.writable =
			g->spool_enabled ? g->spool.writable && sp->writable : sp->writable;
		g->spool_enabled = true;
		g->spool.bytes += sp->bytes;
		g->spool.records += sp->records;
		g->spool.appended += sp->appended;
		g->spool.syncs += sp->syncs;
		g->spool.write_errors += sp->write_errors;
		g->spool.full += sp->full;
		g->spool.replayed += sp->replayed;
		g->spool.replay_errors += sp->replay_errors;
		g->spool.corrupt_records += sp->corrupt_records;
		g->spool.corrupt_bytes += sp->corrupt_bytes;
		g->spool.segments_deleted += sp->segments_deleted;
	}
	return ready;
}

static size_t
app_inflight(struct app *a)
{
	struct metrics_gauges g = { .redis_connected = 1 };
	size_t inflight;

	(void)app_gauges(a, &g, &inflight);
	return inflight;
}

static bool
app_ready(void *arg, FILE *out)
{
	struct app *a = arg;
	struct metrics_gauges g = { .redis_connected = 1 };
	size_t inflight;
	bool ready = app_gauges(a, &g, &inflight) && !a->draining;

	fprintf(out, "{\"status\":\"%s\"", ready ? "ok" : "unavailable");
	if (!ready)
		fprintf(out, ",\"reason\":\"%s\"",
			a->draining	  ? "shutting down"
			: g.spool_enabled ? "redis not connected and the spool cannot take events"
					  : "redis not connected");
	fprintf(out, ",\"redis\":\"%s\"", g.redis_connected ? "connected" : "disconnected");
	if (g.spool_enabled)
		fprintf(out, ",\"spool\":{\"records\":%llu,\"bytes\":%llu,\"writable\":%s}",
			(unsigned long long)g.spool.records, (unsigned long long)g.spool.bytes,
			g.spool.writable ? "true" : "false");
	if (a->nslots > 1)
		fprintf(out, ",\"workers\":%zu", a->nslots);
	fputs("}\n", out);
	return ready;
}

static void
app_render_metrics(void *arg, FILE *out)
{
	struct app *a = arg;
	struct metrics *m[64];
	size_t n = 0, inflight;
	static char hiredis[16];
	struct metrics_gauges g = { .redis_connected = 1,
				    .libevent = event_get_version(),
				    .hiredis = hiredis,
				    .jansson = JANSSON_VERSION,
				    .openssl = OpenSSL_version(OPENSSL_VERSION) };

	snprintf(hiredis, sizeof(hiredis), "%d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
	for (size_t i = 0; i < a->nslots && n < HS_ARRAY_LEN(m); i++)
		if (a->slots[i].w != NULL)
			m[n++] = worker_metrics(a->slots[i].w);
	(void)app_gauges(a, &g, &inflight);
	g.reloads_ok = a->reloads_ok;
	g.reloads_failed = a->reloads_failed;
	metrics_render(m, n, &g, out);
}

/* Run fn(arg) on the worker's loop: now for the inline worker, else as a
 * message to its thread. */
static void
slot_post(struct slot *sl, event_callback_fn fn, void *arg)
{
	static const struct timeval now = { 0, 0 };

	if (!sl->threaded)
		fn(-1, EV_TIMEOUT, arg);
	else if (event_base_once(sl->base, -1, EV_TIMEOUT, fn, arg, &now) < 0)
		abort();
}

static void
slot_stop_accepting_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *sl = arg;

	(void)fd;
	(void)what;
	worker_stop_accepting(sl->w);
	sl->draining = true;
	slot_check_drained(sl);
}

static void
slot_spool_waiting_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *sl = arg;
	size_t n = worker_spool_waiting(sl->w);

	(void)fd;
	(void)what;
	if (n > 0)
		log_fields(
			LOG_LEVEL_WARN,
			"shutdown timeout; spooling the requests still waiting for redis",
			(struct log_field[]){ LOG_INT("worker", sl->index), LOG_INT("spooled", n) },
			2);
}

struct reload_msg {
	struct slot *sl;
	struct config *cfg; /* a reference for this message */
	SSL_CTX *tls;	    /* likewise, or NULL */
};

static void
slot_reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reload_msg *m = arg;

	(void)fd;
	(void)what;
	worker_reload(m->sl->w, m->cfg, m->tls);
	config_free(m->cfg);
	SSL_CTX_free(m->tls);
	free(m);
}

static void *
slot_thread(void *arg)
{
	struct slot *sl = arg;

	log_batch_attach(sl->base);
	event_base_dispatch(sl->base);
	log_batch_detach();
	jsonmem_thread_fini();
	return NULL;
}

/* Stop every worker thread (their loops end) and free every worker. */
static void
app_stop_workers(struct app *a)
{
	for (size_t i = 0; i < a->nslots; i++)
		if (a->slots[i].thread_started)
			event_base_loopexit(a->slots[i].base, NULL);
	for (size_t i = 0; i < a->nslots; i++) {
		struct slot *sl = &a->slots[i];

		if (sl->thread_started) {
			pthread_join(sl->thread, NULL);
			sl->thread_started = false;
		}
		if (sl->snap_timer != NULL) {
			event_free(sl->snap_timer);
			sl->snap_timer = NULL;
		}
		worker_free(sl->w);
		sl->w = NULL;
	}
}

static void
app_finish(struct app *a)
{
	app_stop_workers(a);
	admin_free(a->admin);
	a->admin = NULL;
	event_base_loopbreak(a->base);
}

static void
app_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct app *a = arg;
	size_t left = 0;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < a->nslots; i++)
		left += slot_left(&a->slots[i]);
	if (left == 0) {
		log_info("drained; exiting");
		app_finish(a);
		return;
	}
	if (timeutil_mono_us() >= a->drain_deadline_us) {
		if (!a->spooled_at_deadline && a->cfg->spool_dir[0] != '\0') {
			/* A local fsync away: a little more time for those answers. */
			a->spooled_at_deadline = true;
			log_fields(LOG_LEVEL_WARN, "shutdown timeout; spooling what still waits",
				   (struct log_field[]){ LOG_INT("inflight", left) }, 1);
			for (size_t i = 0; i < a->nslots; i++)
				slot_post(&a->slots[i], slot_spool_waiting_cb, &a->slots[i]);
			a->drain_deadline_us = timeutil_mono_us() + 2000000u;
		} else {
			log_fields(LOG_LEVEL_WARN, "shutdown timeout; answering the rest 503",
				   (struct log_field[]){ LOG_INT("inflight", left) }, 1);
			app_finish(a);
			return;
		}
	}
	{
		struct timeval tv = { 0, 20000 };

		evtimer_add(a->drain_timer, &tv);
	}
}

/*
 * SIGHUP: load the file (and environment) again; a configuration that does
 * not load, or that changes what only a restart can change, is refused and
 * the running one keeps serving. Otherwise it takes over at once for new
 * connections and requests; requests in flight finish with the old one.
 */
/* The TLS context cfg asks for: 0 with *out NULL (plain HTTP) or a context;
 * -1 with the reason in err. */
static int
app_tls(const struct config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
	*out = NULL;
	if (cfg->tls_cert[0] == '\0')
		return 0;
	*out = tls_context_new(cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca, err, errlen);
	return *out != NULL ? 0 : -1;
}

static void
app_reload(struct app *a)
{
	struct config *cfg = NULL;
	struct config_error cerr;
	SSL_CTX *tls = NULL;
	char terr[512];
	const char *changed[16];
	size_t n;

	if (config_load(a->config_path, environ, &cfg, &cerr) < 0) {
		a->reloads_failed++;
		log_fields(LOG_LEVEL_ERROR,
			   "reload refused: the new configuration is invalid; the running one "
			   "stays",
			   (struct log_field[]){ LOG_STR("error", cerr.message) }, 1);
		return;
	}
	n = config_restart_changes(a->cfg, cfg, changed, HS_ARRAY_LEN(changed));
	if ((a->cfg->tls_cert[0] != '\0') != (cfg->tls_cert[0] != '\0') &&
	    n < HS_ARRAY_LEN(changed))
		changed[n++] = "tls_cert (TLS on or off)";
	if (n > 0) {
		char keys[256] = "";

		for (size_t i = 0; i < n; i++)
			snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s",
				 i ? ", " : "", changed[i]);
		a->reloads_failed++;
		log_fields(LOG_LEVEL_ERROR,
			   "reload refused: these keys only change with a restart; the running "
			   "configuration stays",
			   (struct log_field[]){ LOG_STR("keys", keys) }, 1);
		config_free(cfg);
		return;
	}
	if (app_tls(cfg, &tls, terr, sizeof(terr)) < 0) {
		a->reloads_failed++;
		log_fields(LOG_LEVEL_ERROR,
			   "reload refused: the new TLS certificate or key does not load; the "
			   "running configuration stays",
			   (struct log_field[]){ LOG_STR("error", terr) }, 1);
		config_free(cfg);
		return;
	}
	log_setup(cfg->log_level, cfg->log_format);
	for (size_t i = 0; i < a->nslots; i++) {
		struct reload_msg *m = xmalloc(sizeof(*m));

		if (tls != NULL)
			SSL_CTX_up_ref(tls);
		*m = (struct reload_msg){ .sl = &a->slots[i], .cfg = config_ref(cfg), .tls = tls };
		slot_post(&a->slots[i], slot_reload_cb, m);
	}
	SSL_CTX_free(a->tls);
	a->tls = tls;
	config_free(a->cfg);
	a->cfg = cfg;
	a->reloads_ok++;
	log_fields(LOG_LEVEL_INFO, "configuration reloaded",
		   (struct log_field[]){ LOG_STR("config", cfg->source),
					 LOG_INT("routes", cfg->nroutes),
					 LOG_INT("allow", cfg->allow.count) },
		   3);
}

static void
app_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct app *a = arg;

	(void)what;
	if (sig == SIGHUP) {
		if (!a->draining)
			app_reload(a);
		return;
	}
	if (a->draining) {
		log_warn("second signal: exiting now");
		app_finish(a);
		return;
	}
	a->draining = true;
	log_fields(LOG_LEVEL_INFO, "shutting down: no new connections, finishing in-flight",
		   (struct log_field[]){ LOG_STR("signal", sig == SIGTERM ? "TERM" : "INT"),
					 LOG_INT("inflight", app_inflight(a)) },
		   2);
	for (size_t i = 0; i < a->nslots; i++)
		slot_post(&a->slots[i], slot_stop_accepting_cb, &a->slots[i]);
	a->drain_deadline_us = timeutil_mono_us() + a->cfg->shutdown_timeout * 1000000u;
	app_drain_cb(-1, 0, a);
}

/* Every connection is a descriptor: take the hard limit, and say when even
 * that is below what max_connections asks for. */
static void
app_raise_nofile(const struct config *cfg)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < cfg->max_connections * cfg->workers + 64 * cfg->workers)
		log_fields(LOG_LEVEL_WARN, "open file limit is below max_connections x workers",
			   (struct log_field[]){ LOG_INT("nofile", rl.rlim_cur),
						 LOG_INT("max_connections", cfg->max_connections),
						 LOG_INT("workers", cfg->workers) },
			   3);
}

static const char *
app_config_path(const char *opt)
{
	const char *env = getenv("HOOKSTREAM_CONFIG");

	if (opt != NULL)
		return opt;
	if (env != NULL && *env != '\0')
		return env;
	return NULL;
}

/* The effective configuration, one field per key, secrets masked. */
static void
app_log_start(const struct app *a)
{
	struct log_field fields[64];
	char values[64][256];
	size_t n = 0;

	fields[n++] = LOG_STR("version", HOOKSTREAM_VERSION);
	fields[n++] = LOG_STR("config", a->cfg->source);
	for (size_t i = 0; i < config_nkeys && n < HS_ARRAY_LEN(fields); i++) {
		config_value_text(a->cfg, &config_keys[i], values[i], sizeof(values[i]));
		fields[n++] = LOG_STR(config_keys[i].name, values[i]);
	}
	log_fields(LOG_LEVEL_INFO, "hookstream starting", fields, n);
	log_fields(LOG_LEVEL_INFO, "libraries",
		   (struct log_field[]){ LOG_STR("libevent", event_get_version()),
					 LOG_STR("jansson", JANSSON_VERSION),
					 LOG_STR("openssl", OpenSSL_version(OPENSSL_VERSION)) },
		   3);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a = { .exit_status = 0 };
	struct config_error cerr;
	const char *config_opt = NULL;
	bool check_only = false;
	char err[512];
	int opt;

	if (argc > 1 && strcmp(argv[1], "classify") == 0)
		return cli_classify(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "healthcheck") == 0)
		return cli_healthcheck(argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_opt = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'V':
			printf("hookstream %s (libevent %s, jansson %s, hiredis %d.%d.%d, %s)\n",
			       HOOKSTREAM_VERSION, event_get_version(), JANSSON_VERSION,
			       HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
			       OpenSSL_version(OPENSSL_VERSION));
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hookstream: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	/* Per-request arena inside normalize_request, xmalloc/free elsewhere. */
	json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
	event_set_mem_functions(xmalloc, xrealloc, free);

	a.config_path = app_config_path(config_opt);
	if (config_load(a.config_path, environ, &a.cfg, &cerr) < 0) {
		fprintf(stderr, "hookstream: %s\n", cerr.message);
		return 2;
	}
	if (app_tls(a.cfg, &a.tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "hookstream: %s\n", err);
		config_free(a.cfg);
		return 2;
	}
	if (check_only) {
		printf("%s: configuration OK (%zu routes, %zu allowlist entries)\n", a.cfg->source,
		       a.cfg->nroutes, a.cfg->allow.count);
		SSL_CTX_free(a.tls);
		config_free(a.cfg);
		return 0;
	}
	log_setup(a.cfg->log_level, a.cfg->log_format);
	signal(SIGPIPE, SIG_IGN);
	app_raise_nofile(a.cfg);

	/* Several loops post to each other: libevent must lock. Not needed (nor
	 * paid for) with one. */
	if (a.cfg->workers > 1 && evthread_use_pthreads() < 0) {
		fprintf(stderr, "hookstream: cannot enable libevent threads\n");
		SSL_CTX_free(a.tls);
		config_free(a.cfg);
		return 1;
	}
	a.base = event_base_new();
	if (a.base == NULL) {
		fprintf(stderr, "hookstream: cannot create the event loop\n");
		SSL_CTX_free(a.tls);
		config_free(a.cfg);
		return 1;
	}
	app_log_start(&a);
	a.nslots = (size_t)a.cfg->workers;
	a.slots = xcalloc(a.nslots, sizeof(*a.slots));
	for (size_t i = 0; i < a.nslots; i++) {
		struct slot *sl = &a.slots[i];

		sl->app = &a;
		sl->index = i;
		sl->threaded = a.nslots > 1;
		pthread_mutex_init(&sl->mu, NULL);
		sl->base = sl->threaded ? event_base_new() : a.base;
		if (sl->base == NULL)
			abort();
		sl->w = worker_new(sl->base, a.cfg, a.tls, i, a.nslots, err, sizeof(err));
		if (sl->w == NULL) {
			log_error("%s", err);
			a.exit_status = 1;
			goto out;
		}
		if (sl->threaded) {
			struct timeval tv = { 0, SLOT_SNAP_MS * 1000 };

			sl->snap_timer = event_new(sl->base, -1, EV_PERSIST, slot_snap_cb, sl);
			if (sl->snap_timer == NULL)
				abort();
			event_add(sl->snap_timer, &tv);
			slot_snap_cb(-1, 0, sl);
		}
	}
	for (size_t i = 0; i < a.nslots; i++) {
		struct slot *sl = &a.slots[i];

		if (sl->threaded) {
			if (pthread_create(&sl->thread, NULL, slot_thread, sl) != 0) {
				log_error("cannot start worker thread %zu", i);
				a.exit_status = 1;
				goto out;
			}
			sl->thread_started = true;
		}
	}
	a.admin = admin_new(a.base, a.cfg->admin_listen,
			    &(struct admin_probe){ .ready = app_ready,
						   .render_metrics = app_render_metrics,
						   .arg = &a },
			    err, sizeof(err));
	if (a.admin == NULL) {
		log_error("%s", err);
		a.exit_status = 1;
		goto out;
	}
	a.sig_term = evsignal_new(a.base, SIGTERM, app_signal_cb, &a);
	a.sig_int = evsignal_new(a.base, SIGINT, app_signal_cb, &a);
	a.sig_hup = evsignal_new(a.base, SIGHUP, app_signal_cb, &a);
	a.drain_timer = evtimer_new(a.base, app_drain_cb, &a);
	if (!a.sig_term || !a.sig_int || !a.sig_hup || !a.drain_timer)
		abort();
	evsignal_add(a.sig_term, NULL);
	evsignal_add(a.sig_int, NULL);
	evsignal_add(a.sig_hup, NULL);
	log_info("listening");

	log_batch_attach(a.base);
	event_base_dispatch(a.base);
out:
	app_stop_workers(&a);
	log_batch_detach();
	admin_free(a.admin);
	if (a.sig_term)
		event_free(a.sig_term);
	if (a.sig_int)
		event_free(a.sig_int);
	if (a.sig_hup)
		event_free(a.sig_hup);
	if (a.drain_timer)
		event_free(a.drain_timer);
	/* Freeing the signal events put the default handlers back; the exit is
	 * decided and under way, so a late TERM/INT must not turn it into a kill. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	for (size_t i = 0; i < a.nslots; i++) {
		if (a.slots[i].threaded && a.slots[i].base != NULL)
			event_base_free(a.slots[i].base);
		pthread_mutex_destroy(&a.slots[i].mu);
	}
	free(a.slots);
	event_base_free(a.base);
	SSL_CTX_free(a.tls);
	config_free(a.cfg);
	libevent_global_shutdown();
	log_info("stopped");
	jsonmem_thread_fini();
	return a.exit_status;
}
