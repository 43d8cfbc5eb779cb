// SPDX-License-Identifier: MIT
/*
 * metrics: fixed-shape counter arrays, one set per worker, summed on scrape.
 * The shape (routes, categories, status codes) is known at start, so counting
 * is an index and an atomic add: nothing allocates on the request path.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/metrics.h"
#include "hookstream/xalloc.h"
#include "hs_version.h"

static const int metrics_codes[] = { 200, 202, 400, 401, 403, 404, 405, 408,
				     411, 413, 415, 431, 500, 501, 503 };
#define METRICS_NCODES (sizeof(metrics_codes) / sizeof(metrics_codes[0]) + 1) /* + other */

static const char *const metrics_outcome_names[] = { "published", "duplicate", "failed",
						     "spooled" };

/* Every error code an answer can carry; anything else counts as "other". */
static const char *const metrics_reasons[] = {
	"source_not_allowed",	"client_certificate_not_allowed",
	"unknown_route",	"method_not_allowed",
	"length_required",	"unsupported_content_type",
	"body_too_large",	"header_too_large",
	"bad_request",		"bad_method",
	"bad_version",		"bad_content_length",
	"conflicting_length",	"bad_transfer_encoding",
	"body_not_allowed",	"bad_chunk",
	"expectation_failed",	"invalid_json",
	"duplicate_key",	"too_deep",
	"invalid_utf8",		"empty_body",
	"not_an_object",	"invalid_form",
	"signature_missing",	"signature_malformed",
	"signature_mismatch",	"signature_expired",
	"timestamp_missing",	"id_missing",
	"redis_unavailable",	"replicas_unconfirmed",
	"spool_full",		"spool_unavailable",
	"overloaded",		"too_many_events",
	"too_many_connections", "other",
};
#define METRICS_NREASONS (sizeof(metrics_reasons) / sizeof(metrics_reasons[0]))

static const double metrics_latency_le[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					     0.1,    0.25,  0.5,    1,	   2.5,	 5,	10 };
static const double metrics_size_le[] = { 256,	  1024,	   4096,    16384,   65536,
					  262144, 1048576, 4194304, 16777216 };
#define METRICS_NLAT  (sizeof(metrics_latency_le) / sizeof(metrics_latency_le[0]))
#define METRICS_NSIZE (sizeof(metrics_size_le) / sizeof(metrics_size_le[0]))

/* Cumulative when rendered; stored per bucket (+Inf last). Sums in
 * microseconds or bytes so they stay integers updated atomically. */
struct metrics_hist {
	uint64_t buckets[METRICS_NLAT + 1];
	uint64_t count;
	uint64_t sum; /* microseconds or bytes */
};

struct metrics {
	/* Names only grow (a reload adds, on the worker's thread); the admin
	 * thread reads them under names_lock. */
	pthread_mutex_t names_lock;
	char *routes[METRICS_MAX_NAMES]; /* index METRICS_MAX_NAMES is "other" */
	size_t nroutes;
	char *categories[METRICS_MAX_NAMES];
	size_t ncategories;
	uint64_t requests[(METRICS_MAX_NAMES + 1) * METRICS_NCODES];
	uint64_t events[METRICS_MAX_NAMES * METRICS_OUTCOMES];
	uint64_t redacted_cards;
	uint64_t redacted_fields;
	uint64_t rejections[METRICS_NREASONS];
	uint64_t invalid_recorded;
	struct metrics_hist request_latency;
	struct metrics_hist publish_latency;
	struct metrics_hist body_size;
};

static size_t
metrics_find(char *const *names, size_t n, const char *name)
{
	size_t i = 0;

	while (i < n && (name == NULL || strcmp(names[i], name) != 0))
		i++;
	return i;
}

static void
metrics_add(char **names, size_t *n, const char *const *add, size_t nadd)
{
	for (size_t i = 0; i < nadd; i++)
		if (metrics_find(names, *n, add[i]) == *n && *n < METRICS_MAX_NAMES)
			names[(*n)++] = xstrdup(add[i]);
}

void
metrics_add_names(struct metrics *m, const struct metrics_names *names)
{
	pthread_mutex_lock(&m->names_lock);
	metrics_add(m->routes, &m->nroutes, names->routes, names->nroutes);
	metrics_add(m->categories, &m->ncategories, names->categories, names->ncategories);
	pthread_mutex_unlock(&m->names_lock);
}

struct metrics *
metrics_new(const struct metrics_names *names)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->names_lock, NULL);
	metrics_add_names(m, names);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nroutes; i++)
		free(m->routes[i]);
	for (size_t i = 0; i < m->ncategories; i++)
		free(m->categories[i]);
	pthread_mutex_destroy(&m->names_lock);
	free(m);
}

static size_t
metrics_code_index(int status)
{
	for (size_t i = 0; i < METRICS_NCODES - 1; i++)
		if (metrics_codes[i] == status)
			return i;
	return METRICS_NCODES - 1;
}

void
metrics_count_request(struct metrics *m, const char *route, int status)
{
	size_t route_idx = metrics_find(m->routes, m->nroutes, route);

	if (route_idx == m->nroutes)
		route_idx = METRICS_MAX_NAMES; /* "other" */

	__atomic_fetch_add(&m->requests[route_idx * METRICS_NCODES + metrics_code_index(status)], 1,
			   __ATOMIC_RELAXED);
}

void
metrics_count_event(struct metrics *m, const char *category, enum metrics_outcome outcome)
{
	size_t category_idx = metrics_find(m->categories, m->ncategories, category);

	if (category_idx >= m->ncategories || outcome >= METRICS_OUTCOMES)
		return;
	__atomic_fetch_add(&m->events[category_idx * METRICS_OUTCOMES + outcome], 1,
			   __ATOMIC_RELAXED);
}

static void
metrics_hist_add(struct metrics_hist *h, const double *le, size_t n, double v, uint64_t sum)
{
	size_t i = 0;

	while (i < n && v > le[i])
		i++;
	__atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum, sum, __ATOMIC_RELAXED);
}

void
metrics_observe_request(struct metrics *m, double seconds, size_t body_bytes)
{
	metrics_hist_add(&m->request_latency, metrics_latency_le, METRICS_NLAT, seconds,
			 (uint64_t)(seconds * 1e6));
	metrics_hist_add(&m->body_size, metrics_size_le, METRICS_NSIZE, (double)body_bytes,
			 body_bytes);
}

void
metrics_observe_publish(struct metrics *m, double seconds)
{
	metrics_hist_add(&m->publish_latency, metrics_latency_le, METRICS_NLAT, seconds,
			 (uint64_t)(seconds * 1e6));
}

void
metrics_count_rejection(struct metrics *m, const char *code)
{
	size_t i = 0;

	while (i < METRICS_NREASONS - 1 && (code == NULL || strcmp(metrics_reasons[i], code) != 0))
		i++;
	__atomic_fetch_add(&m->rejections[i], 1, __ATOMIC_RELAXED);
}

void
metrics_count_invalid(struct metrics *m)
{
	__atomic_fetch_add(&m->invalid_recorded, 1, __ATOMIC_RELAXED);
}

void
metrics_count_redactions(struct metrics *m, size_t card_numbers, size_t fields)
{
	if (card_numbers > 0)
		__atomic_fetch_add(&m->redacted_cards, card_numbers, __ATOMIC_RELAXED);
	if (fields > 0)
		__atomic_fetch_add(&m->redacted_fields, fields, __ATOMIC_RELAXED);
}

static uint64_t
metrics_sum(struct metrics *const *w, size_t n, size_t which, size_t idx)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++) {
		const uint64_t *arr = which == 0 ? w[i]->requests : w[i]->events;

		s += __atomic_load_n(&arr[idx], __ATOMIC_RELAXED);
	}
	return s;
}

static uint64_t
metrics_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void
metrics_render_hist(struct metrics *const *w, size_t n, size_t which, const char *name,
		    const char *help, const double *le, size_t nle, double sum_scale, FILE *out)
{
	uint64_t cum = 0, count = 0, sum = 0;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t b = 0; b <= nle; b++) {
		for (size_t i = 0; i < n; i++) {
			const struct metrics_hist *h = which == 0   ? &w[i]->request_latency
						       : which == 1 ? &w[i]->publish_latency
								    : &w[i]->body_size;

			cum += metrics_load(&h->buckets[b]);
			if (b == 0) {
				count += metrics_load(&h->count);
				sum += metrics_load(&h->sum);
			}
		}
		if (b < nle)
			/* %.15g: every bound as written (%g wrote 1048576 as
			 * "1.04858e+06"). */
			fprintf(out, "%s_bucket{le=\"%.15g\"} %llu\n", name, le[b],
				(unsigned long long)cum);
		else
			fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				(unsigned long long)cum);
	}
	fprintf(out, "%s_sum %.6f\n%s_count %llu\n", name, (double)sum * sum_scale, name,
		(unsigned long long)count);
}

/* Rejections, the invalid record and the histograms. */
static void
metrics_render_more(struct metrics *const *w, size_t n, FILE *out)
{
	uint64_t invalid = 0;

	fprintf(out, "# HELP hookstream_rejections_total Requests refused, by error code.\n"
		     "# TYPE hookstream_rejections_total counter\n");
	for (size_t r = 0; r < METRICS_NREASONS; r++) {
		uint64_t v = 0;

		for (size_t i = 0; i < n; i++)
			v += metrics_load(&w[i]->rejections[r]);
		fprintf(out, "hookstream_rejections_total{reason=\"%s\"} %llu\n",
			metrics_reasons[r], (unsigned long long)v);
	}
	for (size_t i = 0; i < n; i++)
		invalid += metrics_load(&w[i]->invalid_recorded);
	fprintf(out,
		"# HELP hookstream_invalid_recorded_total Unparseable bodies kept in "
		"<prefix>:invalid.\n# TYPE hookstream_invalid_recorded_total counter\n"
		"hookstream_invalid_recorded_total %llu\n",
		(unsigned long long)invalid);
	metrics_render_hist(w, n, 0, "hookstream_request_duration_seconds",
			    "Time from request to answer.", metrics_latency_le, METRICS_NLAT, 1e-6,
			    out);
	metrics_render_hist(w, n, 1, "hookstream_publish_duration_seconds",
			    "Redis round trip of a publish.", metrics_latency_le, METRICS_NLAT,
			    1e-6, out);
	metrics_render_hist(w, n, 2, "hookstream_request_body_bytes", "Request body sizes.",
			    metrics_size_le, METRICS_NSIZE, 1, out);
}

void
metrics_render(struct metrics *const *workers, size_t n, const struct metrics_gauges *g, FILE *out)
{
	struct metrics *nm;

	fprintf(out,
		"# HELP hookstream_build_info Build information.\n"
		"# TYPE hookstream_build_info gauge\n"
		"hookstream_build_info{version=\"%s\",libevent=\"%s\",hiredis=\"%s\","
		"jansson=\"%s\",openssl=\"%s\"} 1\n",
		HOOKSTREAM_VERSION, g->libevent ? g->libevent : "", g->hiredis ? g->hiredis : "",
		g->jansson ? g->jansson : "", g->openssl ? g->openssl : "");
	fprintf(out,
		"# HELP hookstream_open_connections Webhook connections open now.\n"
		"# TYPE hookstream_open_connections gauge\n"
		"hookstream_open_connections %lld\n",
		g->connections);
	fprintf(out,
		"# HELP hookstream_redis_connected 1 while the Redis connection is ready.\n"
		"# TYPE hookstream_redis_connected gauge\n"
		"hookstream_redis_connected %d\n",
		g->redis_connected);
	fprintf(out,
		"# HELP hookstream_inflight_requests Requests waiting for Redis.\n"
		"# TYPE hookstream_inflight_requests gauge\n"
		"hookstream_inflight_requests %lld\n",
		g->inflight);
	fprintf(out,
		"# HELP hookstream_config_reloads_total Configuration reloads (SIGHUP) by result.\n"
		"# TYPE hookstream_config_reloads_total counter\n"
		"hookstream_config_reloads_total{result=\"ok\"} %llu\n"
		"hookstream_config_reloads_total{result=\"refused\"} %llu\n",
		(unsigned long long)g->reloads_ok, (unsigned long long)g->reloads_failed);
	if (g->spool_enabled) {
		const struct spool_stats *sp = &g->spool;

		fprintf(out,
			"# HELP hookstream_spool_bytes Bytes in the local spool (on disk and being "
			"written).\n"
			"# TYPE hookstream_spool_bytes gauge\n"
			"hookstream_spool_bytes %llu\n"
			"# HELP hookstream_spool_records Spooled records not yet acknowledged by "
			"Redis.\n"
			"# TYPE hookstream_spool_records gauge\n"
			"hookstream_spool_records %llu\n"
			"# HELP hookstream_spool_writable 1 while the last spool write succeeded.\n"
			"# TYPE hookstream_spool_writable gauge\n"
			"hookstream_spool_writable %d\n"
			"# HELP hookstream_spool_appends_total Spool appends by result.\n"
			"# TYPE hookstream_spool_appends_total counter\n"
			"hookstream_spool_appends_total{result=\"written\"} %llu\n"
			"hookstream_spool_appends_total{result=\"write_error\"} %llu\n"
			"hookstream_spool_appends_total{result=\"full\"} %llu\n"
			"# HELP hookstream_spool_syncs_total Group commits (write + fdatasync) of "
			"the spool; appends per sync show the batching.\n"
			"# TYPE hookstream_spool_syncs_total counter\n"
			"hookstream_spool_syncs_total %llu\n"
			"# HELP hookstream_spool_replayed_total Spooled records stored in Redis on "
			"replay.\n"
			"# TYPE hookstream_spool_replayed_total counter\n"
			"hookstream_spool_replayed_total %llu\n"
			"# HELP hookstream_spool_replay_errors_total Replay attempts Redis did not "
			"acknowledge (retried).\n"
			"# TYPE hookstream_spool_replay_errors_total counter\n"
			"hookstream_spool_replay_errors_total %llu\n"
			"# HELP hookstream_spool_corrupt_records_total Damaged spool spans skipped "
			"(torn tail, bad checksum).\n"
			"# TYPE hookstream_spool_corrupt_records_total counter\n"
			"hookstream_spool_corrupt_records_total %llu\n"
			"# HELP hookstream_spool_corrupt_bytes_total Bytes in damaged spool "
			"spans.\n"
			"# TYPE hookstream_spool_corrupt_bytes_total counter\n"
			"hookstream_spool_corrupt_bytes_total %llu\n",
			(unsigned long long)sp->bytes, (unsigned long long)sp->records,
			sp->writable ? 1 : 0, (unsigned long long)sp->appended,
			(unsigned long long)sp->write_errors, (unsigned long long)sp->full,
			(unsigned long long)sp->syncs, (unsigned long long)sp->replayed,
			(unsigned long long)sp->replay_errors,
			(unsigned long long)sp->corrupt_records,
			(unsigned long long)sp->corrupt_bytes);
	}
	if (n == 0)
		return;
	/* Every worker adds the same names in the same order; a worker that
	 * has not applied a reload yet only lacks the newest (zero) ones. */
	nm = workers[0];
	pthread_mutex_lock(&nm->names_lock);
	fprintf(out, "# HELP hookstream_requests_total HTTP requests answered, by route and "
		     "status code.\n# TYPE hookstream_requests_total counter\n");
	for (size_t r = 0; r <= METRICS_MAX_NAMES; r++) {
		if (r >= nm->nroutes && r < METRICS_MAX_NAMES)
			continue;
		for (size_t c = 0; c < METRICS_NCODES; c++) {
			uint64_t v = metrics_sum(workers, n, 0, r * METRICS_NCODES + c);
			char code[16];

			if (v == 0)
				continue;
			if (c < METRICS_NCODES - 1)
				snprintf(code, sizeof(code), "%d", metrics_codes[c]);
			else
				snprintf(code, sizeof(code), "other");
			fprintf(out, "hookstream_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
				r < METRICS_MAX_NAMES ? nm->routes[r] : "other", code,
				(unsigned long long)v);
		}
	}
	{
		uint64_t cards = 0, fields = 0;

		for (size_t i = 0; i < n; i++) {
			cards += __atomic_load_n(&workers[i]->redacted_cards, __ATOMIC_RELAXED);
			fields += __atomic_load_n(&workers[i]->redacted_fields, __ATOMIC_RELAXED);
		}
		fprintf(out,
			"# HELP hookstream_redactions_total Values masked before storing, by "
			"kind.\n"
			"# TYPE hookstream_redactions_total counter\n"
			"hookstream_redactions_total{kind=\"card_number\"} %llu\n"
			"hookstream_redactions_total{kind=\"field\"} %llu\n",
			(unsigned long long)cards, (unsigned long long)fields);
	}
	metrics_render_more(workers, n, out);
	fprintf(out, "# HELP hookstream_events_total Events by category and outcome.\n"
		     "# TYPE hookstream_events_total counter\n");
	for (size_t c = 0; c < nm->ncategories; c++) {
		for (size_t o = 0; o < METRICS_OUTCOMES; o++) {
			fprintf(out,
				"hookstream_events_total{category=\"%s\",outcome=\"%s\"} %llu\n",
				nm->categories[c], metrics_outcome_names[o],
				(unsigned long long)metrics_sum(workers, n, 1,
								c * METRICS_OUTCOMES + o));
		}
	}
	pthread_mutex_unlock(&nm->names_lock);
}
