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

#include "hookstream/spool.h"

enum metrics_outcome {
	METRICS_PUBLISHED = 0,
	METRICS_DUPLICATE,
	METRICS_FAILED,
	METRICS_SPOOLED,
	METRICS_OUTCOMES,
};

/* Names the counters are labelled with (copied). */
struct metrics_names {
	const char *const *routes; /* configured route paths */
	size_t nroutes;
	const char *const *categories;
	size_t ncategories;
};

/* At most this many route and category labels (a reload adds, never removes). */
#define METRICS_MAX_NAMES 64

struct metrics; /* opaque */

/* New zeroed counters labelled with names. */
struct metrics *metrics_new(const struct metrics_names *names);
void metrics_free(struct metrics *m);

/* Add the route and category names not known yet (after a reload); counters
 * of names no longer configured stay (Prometheus counters never go back). */
void metrics_add_names(struct metrics *m, const struct metrics_names *names);

/* route: a configured route path, or NULL (counted as "other"). */
void metrics_count_request(struct metrics *m, const char *route, int status);
void metrics_count_event(struct metrics *m, const char *category, enum metrics_outcome outcome);

/* One answered request: its latency (seconds) and body size (bytes). */
void metrics_observe_request(struct metrics *m, double seconds, size_t body_bytes);

/* One Redis round trip of a publish (seconds). */
void metrics_observe_publish(struct metrics *m, double seconds);

/* A request refused for this error code (the "error" of the JSON answer). */
void metrics_count_rejection(struct metrics *m, const char *code);

/* An unparseable body recorded in <prefix>:invalid. */
void metrics_count_invalid(struct metrics *m);

/* Card numbers masked, and redact_fields/drop_fields applied. */
void metrics_count_redactions(struct metrics *m, size_t card_numbers, size_t fields);

struct metrics_gauges {
	int redis_connected;
	long long inflight;
	long long connections;
	uint64_t reloads_ok, reloads_failed; /* SIGHUP reloads by result */
	bool spool_enabled;
	struct spool_stats spool; /* when spool_enabled */
	/* library versions for hookstream_build_info (borrowed, may be NULL) */
	const char *libevent, *hiredis, *jansson, *openssl;
};

/* Write the Prometheus text exposition of the sum of n workers' counters. */
void metrics_render(struct metrics *const *workers, size_t n, const struct metrics_gauges *g,
		    FILE *out);

#endif
