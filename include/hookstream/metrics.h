/* SPDX-License-Identifier: MIT */
/*
 * metrics: per-worker counters (requests by route and status, events by
 * category and outcome) and their Prometheus text rendering. Each worker writes
 * only its own counters (relaxed atomics), the admin endpoint sums them.
 */
#ifndef HOOKSTREAM_METRICS_H
#define HOOKSTREAM_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum metrics_outcome {
	METRICS_PUBLISHED = 0,
	METRICS_DUPLICATE,
	METRICS_FAILED,
	METRICS_OUTCOMES,
};

/* Names the counters are labelled with (borrowed; outlive the metrics). */
struct metrics_names {
	const char *const *routes; /* configured route paths */
	size_t nroutes;            /* index nroutes is "other" (unknown route / no route) */
	const char *const *categories;
	size_t ncategories;
};

struct metrics; /* opaque */

/* New zeroed counters for the given shape (names borrowed). */
struct metrics *metrics_new(const struct metrics_names *names);
void metrics_free(struct metrics *m);

/* route_idx == names->nroutes means "other". */
void metrics_count_request(struct metrics *m, size_t route_idx, int status);
void metrics_count_event(struct metrics *m, size_t category_idx, enum metrics_outcome outcome);

/* Card numbers masked, and redact_fields/drop_fields applied. */
void metrics_count_redactions(struct metrics *m, size_t card_numbers, size_t fields);

struct metrics_gauges {
	int redis_connected;
	long long inflight;
	long long connections;
};

/* Write the Prometheus text exposition of the sum of n workers' counters. */
void metrics_render(struct metrics *const *workers, size_t n, const struct metrics_gauges *g,
		    FILE *out);

#endif
