/* SPDX-License-Identifier: MIT */
/*
 * normalize: one request body in, the stream entries to store out. Chooses the
 * body parser by content type (strict JSON, or form-encoded for FPX-style
 * posts), masks card numbers, classifies, and builds each event's envelope and
 * flat stream fields. Used by the server and by "hookstream classify". Pure.
 */
#ifndef HOOKSTREAM_NORMALIZE_H
#define HOOKSTREAM_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "hookstream/compiler.h"

struct config;
struct config_route;

#define NORMALIZE_FIELDS 12 /* name/value strings per stream entry */

struct normalize_request {
	const struct config *cfg;	  /* borrowed */
	const struct config_route *route; /* borrowed */
	const char *query;		  /* raw query string or NULL */
	const char *content_type;	  /* the header value, or NULL */
	const char *source_ip;
	const char *received_at; /* RFC 3339 */
	const char *verified_by; /* signature scheme that passed, or NULL */
	const char *client_cert; /* verified TLS client certificate subject, or NULL */
	const char *raw;	 /* the body as received */
	size_t raw_len;
};

struct normalize_event {
	char *stream;	/* "<prefix>:<category>" */
	char *seen_key; /* "{<stream>}:seen:<event id>" */
	char *event_id;
	const char *category; /* borrowed from the config (or "unclassified") */
	char *type;
	char *envelope; /* the CloudEvents JSON */
	size_t envelope_len;
	/* Flat entry fields: event_id, category, type, source_ip, received_at,
	 * event; pointers into this struct and the request (valid while both are). */
	const char *fields[NORMALIZE_FIELDS];
	size_t lens[NORMALIZE_FIELDS];
};

struct normalize_result {
	struct normalize_event *events; /* owned */
	size_t nevents;			/* >= 1 on success */
	size_t redactions;		/* card numbers masked */
	size_t fields_redacted;		/* redact_fields / drop_fields applied */
};

struct normalize_error {
	int status;	  /* 400 or 415 */
	const char *code; /* static: invalid_json, duplicate_key, too_deep, invalid_utf8,
			     empty_body, not_an_object, invalid_form, unsupported_content_type */
	char message[256];
};

enum normalize_kind {
	NORMALIZE_JSON,
	NORMALIZE_FORM,
	NORMALIZE_UNSUPPORTED,
};

/* Which parser a Content-Type value selects (NULL: unsupported). */
enum normalize_kind normalize_kind_of(const char *content_type);

/* Returns 0 and fills *out (normalize_result_fini), or -EINVAL with *err. */
HS_WUR int normalize_request(const struct normalize_request *req, struct normalize_result *out,
			     struct normalize_error *err);

void normalize_result_fini(struct normalize_result *res);

/*
 * The body kept in <prefix>:invalid: card numbers masked, control bytes and
 * invalid UTF-8 escaped as \xNN (backslash as \\), cut at max bytes of output.
 * Returns a new string; *truncated says whether it was cut.
 */
char *normalize_invalid_body(const char *raw, size_t len, size_t max, bool *truncated);

#endif
