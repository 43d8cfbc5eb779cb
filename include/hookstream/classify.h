/* SPDX-License-Identifier: MIT */
/*
 * classify: the rule engine. Decides a notification's category (route, then
 * explicit type field, then structural markers, first match wins), and pulls
 * out its subject, status, time and event id. Rules come from configuration
 * ([rule NAME] sections, type_fields, [status]). Pure.
 */
#ifndef HOOKSTREAM_CLASSIFY_H
#define HOOKSTREAM_CLASSIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hookstream/compiler.h"

#define CLASSIFY_UNCLASSIFIED "unclassified"
#define CLASSIFY_ERR_MAX      256

struct classify_rules; /* opaque; immutable once classify_rules_finish succeeded */

struct classify_rules *classify_rules_new(void);
void classify_rules_free(struct classify_rules *r);

/*
 * Building the rules from configuration. Each returns 0, or -EINVAL with a
 * message in err (CLASSIFY_ERR_MAX bytes) naming what is wrong. Strings are
 * copied.
 */
HS_WUR int classify_set_type_fields(struct classify_rules *r, const char *list, char *err);
/* Start a new [rule NAME]; later classify_rule_set calls fill it. */
HS_WUR int classify_rule_begin(struct classify_rules *r, const char *name, char *err);
HS_WUR int classify_rule_set(struct classify_rules *r, const char *key, const char *value,
			     char *err);
/* One line of the [status] table: sender code -> canonical word. */
HS_WUR int classify_status_set(struct classify_rules *r, const char *code, const char *word,
			       char *err);
/* Check the rule being built is complete (category; type or has). */
HS_WUR int classify_rule_end(struct classify_rules *r, char *err);

/* True when name is a valid category ("payment.status": lower-case letters,
 * digits, '.', '_', '-'; starts with a letter; at most 64 bytes). */
bool classify_category_valid(const char *name);

/* Every distinct category a rule can produce, in rule order (borrowed). */
size_t classify_categories(const struct classify_rules *r, const char **out, size_t max);

struct classify_input {
	const json_t *body;	    /* borrowed; the parsed notification */
	const char *query;	    /* raw query string, or NULL */
	const char *route_category; /* category pinned by the route, or NULL */
	const void *raw;	    /* the raw body: the id of last resort hashes it */
	size_t raw_len;
};

struct classify_result {
	const char *category; /* borrowed (rules, input or CLASSIFY_UNCLASSIFIED) */
	const char *rule;     /* borrowed: the rule name, "route" or "none" */
	char *type;	      /* new: "<category>.<word>" ("unclassified.received") */
	char *event_id;	      /* new: sender id, object id + state, or sha256:<hex> of the body */
	bool id_hashed;	      /* event_id is a sha256:<hex> this made (not a sender's text) */
	char *subject;	      /* new or NULL */
	char *status;	      /* new or NULL: the sender's status code */
	char *substatus;      /* new or NULL: the sender's finer state (substate) */
	char *canonical;      /* new or NULL: the canonical word for status */
	char *time;	      /* new or NULL: the sender's event time */
};

/*
 * Classify in (borrowed for the call). A matching rule with "items" yields one
 * result per element of that array (paths written "item.x" read the element);
 * otherwise there is one result. Returns the count; *out is a new array
 * (classify_results_free).
 */
size_t classify_run_all(const struct classify_rules *r, const struct classify_input *in,
			struct classify_result **out);

void classify_results_free(struct classify_result *res, size_t n);

/* The first result of classify_run_all into *out (caller calls classify_result_fini). */
void classify_run(const struct classify_rules *r, const struct classify_input *in,
		  struct classify_result *out);

void classify_result_fini(struct classify_result *res);

/* "sha256:<64 hex>" of data: the id of last resort (new string). */
char *classify_sha256_id(const void *data, size_t len);

#endif
