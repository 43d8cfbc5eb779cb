// SPDX-License-Identifier: MIT
/*
 * metrics: fixed-shape counter arrays, one set per worker, summed on scrape.
 * The shape (routes, categories, status codes) is known at start, so counting
 * is an index and an atomic add: nothing allocates on the request path.
 */
#include <stdlib.h>

#include "hookstream/metrics.h"
#include "hookstream/xalloc.h"
#include "hs_version.h"

static const int metrics_codes[] = { 200, 202, 400, 401, 403, 404, 405, 408, 411,
				     413, 415, 431, 500, 501, 503 };
#define METRICS_NCODES (sizeof(metrics_codes) / sizeof(metrics_codes[0]) + 1) /* + other */

static const char *const metrics_outcome_names[] = { "published", "duplicate", "failed" };

struct metrics {
	struct metrics_names names;
	uint64_t *requests; /* [(nroutes + 1) * METRICS_NCODES] */
	uint64_t *events;   /* [ncategories * METRICS_OUTCOMES] */
	uint64_t redacted_cards;
	uint64_t redacted_fields;
};

struct metrics *
metrics_new(const struct metrics_names *names)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->names = *names;
	m->requests = xcalloc((names->nroutes + 1) * METRICS_NCODES, sizeof(uint64_t));
	m->events = xcalloc(names->ncategories * METRICS_OUTCOMES + 1, sizeof(uint64_t));
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->requests);
	free(m->events);
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
metrics_count_request(struct metrics *m, size_t route_idx, int status)
{
	if (route_idx > m->names.nroutes)
		route_idx = m->names.nroutes;
	__atomic_fetch_add(&m->requests[route_idx * METRICS_NCODES + metrics_code_index(status)],
			   1, __ATOMIC_RELAXED);
}

void
metrics_count_event(struct metrics *m, size_t category_idx, enum metrics_outcome outcome)
{
	if (category_idx >= m->names.ncategories || outcome >= METRICS_OUTCOMES)
		return;
	__atomic_fetch_add(&m->events[category_idx * METRICS_OUTCOMES + outcome], 1,
			   __ATOMIC_RELAXED);
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

void
metrics_render(struct metrics *const *workers, size_t n, const struct metrics_gauges *g,
	       FILE *out)
{
	const struct metrics_names *nm;

	fprintf(out, "# HELP hookstream_build_info Build information.\n"
		     "# TYPE hookstream_build_info gauge\n"
		     "hookstream_build_info{version=\"%s\"} 1\n",
		HOOKSTREAM_VERSION);
	fprintf(out, "# HELP hookstream_redis_connected 1 while the Redis connection is ready.\n"
		     "# TYPE hookstream_redis_connected gauge\n"
		     "hookstream_redis_connected %d\n",
		g->redis_connected);
	fprintf(out, "# HELP hookstream_inflight_requests Requests waiting for Redis.\n"
		     "# TYPE hookstream_inflight_requests gauge\n"
		     "hookstream_inflight_requests %lld\n",
		g->inflight);
	if (n == 0)
		return;
	nm = &workers[0]->names;
	fprintf(out, "# HELP hookstream_requests_total HTTP requests answered, by route and "
		     "status code.\n# TYPE hookstream_requests_total counter\n");
	for (size_t r = 0; r <= nm->nroutes; r++) {
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
				r < nm->nroutes ? nm->routes[r] : "other", code,
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
			"# HELP hookstream_redactions_total Values masked before storing, by kind.\n"
			"# TYPE hookstream_redactions_total counter\n"
			"hookstream_redactions_total{kind=\"card_number\"} %llu\n"
			"hookstream_redactions_total{kind=\"field\"} %llu\n",
			(unsigned long long)cards, (unsigned long long)fields);
	}
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
}
