/* SPDX-License-Identifier: MIT */
/* admin: the operator's listener: GET /healthz, /readyz and /metrics. */
#ifndef HOOKSTREAM_ADMIN_H
#define HOOKSTREAM_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct event_base;

/* What the admin endpoints ask the rest of the process (all on its loop). */
struct admin_probe {
	/* Ready to take notifications; writes a one-line JSON body to out. */
	bool (*ready)(void *arg, FILE *out);
	void (*render_metrics)(void *arg, FILE *out); /* Prometheus text */
	void *arg;
};

struct admin;

/* Bind listen ("host:port"); NULL with a message in err on failure. probe is copied. */
struct admin *admin_new(struct event_base *base, const char *listen,
			const struct admin_probe *probe, char *err, size_t errlen);
void admin_free(struct admin *a);

#endif
