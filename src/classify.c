// SPDX-License-Identifier: MIT
/*
 * classify: rule tables built from configuration and the matcher run on every
 * notification. Paths are compiled at load time; a request only walks them.
 * Nothing from an allowed sender is dropped: no match means "unclassified".
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/classify.h"
#include "hookstream/jsonpath.h"
#include "hookstream/redact.h"
#include "hookstream/timeutil.h"
#include "hookstream/xalloc.h"

#define CLASSIFY_ID_MAX	  200 /* longer composite ids are hashed */
#define CLASSIFY_WORD_MAX 48

struct classify_pathlist {
	struct jsonpath **paths;
	bool *item; /* "item.x": read x from the batch item, not the root */
	size_t n;
};

/* Where paths are read: the body, the query, and the batch item if any. */
struct classify_ctx {
	const struct classify_input *in;
	const json_t *item;
};

struct classify_rule {
	char *name;
	char *category;
	struct jsonpath *items; /* array whose elements are one event each */
	char **types;
	size_t ntypes;
	struct classify_pathlist has, subject, status, substatus, time;
	struct classify_pathlist *ids; /* alternatives; each joins its paths */
	size_t nids;
	char *verb;
	char *unknown_status; /* word for a status the table does not list */
	char *time_offset;    /* offset of local times without one (FPX: +08:00) */
	unsigned int keys_seen;
};

struct classify_status {
	char *code;
	char *word;
};

struct classify_rules {
	struct classify_pathlist type_fields;
	struct classify_rule *rules;
	size_t nrules;
	bool building;
	struct classify_status *status;
	size_t nstatus;
};

static void
classify_pathlist_fini(struct classify_pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		jsonpath_free(l->paths[i]);
	free(l->paths);
	free(l->item);
	l->paths = NULL;
	l->item = NULL;
	l->n = 0;
}

static void
classify_rule_fini(struct classify_rule *rule)
{
	free(rule->name);
	free(rule->category);
	jsonpath_free(rule->items);
	for (size_t i = 0; i < rule->ntypes; i++)
		free(rule->types[i]);
	free(rule->types);
	classify_pathlist_fini(&rule->has);
	classify_pathlist_fini(&rule->subject);
	classify_pathlist_fini(&rule->status);
	classify_pathlist_fini(&rule->substatus);
	classify_pathlist_fini(&rule->time);
	for (size_t i = 0; i < rule->nids; i++)
		classify_pathlist_fini(&rule->ids[i]);
	free(rule->ids);
	free(rule->verb);
	free(rule->unknown_status);
	free(rule->time_offset);
}

struct classify_rules *
classify_rules_new(void)
{
	return xcalloc(1, sizeof(struct classify_rules));
}

void
classify_rules_free(struct classify_rules *r)
{
	if (r == NULL)
		return;
	classify_pathlist_fini(&r->type_fields);
	for (size_t i = 0; i < r->nrules; i++)
		classify_rule_fini(&r->rules[i]);
	free(r->rules);
	for (size_t i = 0; i < r->nstatus; i++) {
		free(r->status[i].code);
		free(r->status[i].word);
	}
	free(r->status);
	free(r);
}

/* Split a list on commas (or on sep) into trimmed, non-empty items; calls fn on
 * each. Returns the first non-zero fn result. */
static int
classify_split(const char *list, char sep, int (*fn)(void *arg, const char *item, char *err),
	       void *arg, char *err)
{
	const char *s = list;

	while (*s != '\0') {
		const char *e = strchr(s, sep), *b = s, *t;
		char *item;
		int rc;

		if (e == NULL)
			e = s + strlen(s);
		t = e;
		while (b < t && isspace((unsigned char)*b))
			b++;
		while (t > b && isspace((unsigned char)t[-1]))
			t--;
		s = *e ? e + 1 : e;
		if (b == t)
			continue;
		item = xstrndup(b, (size_t)(t - b));
		rc = fn(arg, item, err);
		free(item);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
classify_add_path(void *arg, const char *item, char *err)
{
	struct classify_pathlist *l = arg;
	bool relative = strncmp(item, "item.", 5) == 0;
	struct jsonpath *p;
	const char *why;

	if (jsonpath_compile(relative ? item + 5 : item, &p, &why) < 0) {
		snprintf(err, CLASSIFY_ERR_MAX, "bad path '%s': %s", item, why);
		return -EINVAL;
	}
	l->paths = xrealloc(l->paths, (l->n + 1) * sizeof(*l->paths));
	l->item = xrealloc(l->item, (l->n + 1) * sizeof(*l->item));
	l->item[l->n] = relative;
	l->paths[l->n++] = p;
	return 0;
}

static int
classify_parse_paths(struct classify_pathlist *l, const char *list, char *err)
{
	classify_pathlist_fini(l);
	if (classify_split(list, ',', classify_add_path, l, err) < 0)
		return -EINVAL;
	if (l->n == 0) {
		snprintf(err, CLASSIFY_ERR_MAX, "expected at least one path");
		return -EINVAL;
	}
	return 0;
}

int
classify_set_type_fields(struct classify_rules *r, const char *list, char *err)
{
	classify_pathlist_fini(&r->type_fields);
	if (classify_split(list, ',', classify_add_path, &r->type_fields, err) < 0)
		return -EINVAL;
	return 0;
}

bool
classify_category_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || !islower((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    strchr("._-", name[i]) == NULL)
			return false;
	return true;
}

int
classify_rule_begin(struct classify_rules *r, const char *name, char *err)
{
	struct classify_rule *rule;

	for (size_t i = 0; i < r->nrules; i++) {
		if (strcmp(r->rules[i].name, name) == 0) {
			snprintf(err, CLASSIFY_ERR_MAX, "rule '%s' is defined twice", name);
			return -EINVAL;
		}
	}
	r->rules = xrealloc(r->rules, (r->nrules + 1) * sizeof(*r->rules));
	rule = &r->rules[r->nrules++];
	memset(rule, 0, sizeof(*rule));
	rule->name = xstrdup(name);
	r->building = true;
	return 0;
}

static int
classify_add_type(void *arg, const char *item, char *err)
{
	struct classify_rule *rule = arg;

	(void)err;
	rule->types = xrealloc(rule->types, (rule->ntypes + 1) * sizeof(*rule->types));
	rule->types[rule->ntypes++] = xstrdup(item);
	return 0;
}

static int
classify_add_id(void *arg, const char *item, char *err)
{
	struct classify_rule *rule = arg;
	struct classify_pathlist alt = { 0 };

	if (classify_split(item, '+', classify_add_path, &alt, err) < 0) {
		classify_pathlist_fini(&alt);
		return -EINVAL;
	}
	rule->ids = xrealloc(rule->ids, (rule->nids + 1) * sizeof(*rule->ids));
	rule->ids[rule->nids++] = alt;
	return 0;
}

static bool
classify_word_valid(const char *w)
{
	size_t n = strlen(w);

	if (n == 0 || n > CLASSIFY_WORD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)w[i]) && !isdigit((unsigned char)w[i]) && w[i] != '_')
			return false;
	return true;
}

int
classify_rule_set(struct classify_rules *r, const char *key, const char *value, char *err)
{
	static const char *const keys[] = {
		"category", "type", "has",   "subject",	       "status",    "time",
		"id",	    "verb", "items", "unknown_status", "substatus", "time_offset"
	};
	struct classify_rule *rule;
	unsigned int bit = 0;

	if (!r->building || r->nrules == 0) {
		snprintf(err, CLASSIFY_ERR_MAX, "rule key outside a [rule NAME] section");
		return -EINVAL;
	}
	rule = &r->rules[r->nrules - 1];
	for (size_t i = 0; i < HS_ARRAY_LEN(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			bit = 1u << i;
	if (bit == 0) {
		snprintf(err, CLASSIFY_ERR_MAX,
			 "unknown rule key '%s' (expected category, type, has, subject, status, "
			 "substatus, time, time_offset, id, verb, items or unknown_status)",
			 key);
		return -EINVAL;
	}
	if (rule->keys_seen & bit) {
		snprintf(err, CLASSIFY_ERR_MAX, "rule key '%s' given twice", key);
		return -EINVAL;
	}
	rule->keys_seen |= bit;
	if (strcmp(key, "category") == 0) {
		if (!classify_category_valid(value) || strcmp(value, CLASSIFY_UNCLASSIFIED) == 0) {
			snprintf(err, CLASSIFY_ERR_MAX,
				 "bad category '%s' (lower-case letters, digits, '.', '_', '-')",
				 value);
			return -EINVAL;
		}
		rule->category = xstrdup(value);
		return 0;
	}
	if (strcmp(key, "verb") == 0 || strcmp(key, "unknown_status") == 0) {
		if (!classify_word_valid(value)) {
			snprintf(err, CLASSIFY_ERR_MAX, "bad %s '%s' (lower-case word)", key,
				 value);
			return -EINVAL;
		}
		if (key[0] == 'v')
			rule->verb = xstrdup(value);
		else
			rule->unknown_status = xstrdup(value);
		return 0;
	}
	if (strcmp(key, "type") == 0) {
		if (classify_split(value, ',', classify_add_type, rule, err) < 0)
			return -EINVAL;
		if (rule->ntypes == 0) {
			snprintf(err, CLASSIFY_ERR_MAX, "type needs at least one pattern");
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "id") == 0) {
		if (classify_split(value, ',', classify_add_id, rule, err) < 0)
			return -EINVAL;
		return 0;
	}
	if (strcmp(key, "time_offset") == 0) {
		if (!timeutil_offset_valid(value)) {
			snprintf(err, CLASSIFY_ERR_MAX,
				 "bad time_offset '%s' (Z, +HH:MM or -HH:MM)", value);
			return -EINVAL;
		}
		rule->time_offset = xstrdup(value);
		return 0;
	}
	if (strcmp(key, "items") == 0) {
		const char *why;

		if (jsonpath_compile(value, &rule->items, &why) < 0 ||
		    jsonpath_is_query(rule->items)) {
			snprintf(err, CLASSIFY_ERR_MAX, "bad items path '%s': %s", value,
				 rule->items ? "must point into the body" : why);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "has") == 0)
		return classify_parse_paths(&rule->has, value, err);
	if (strcmp(key, "subject") == 0)
		return classify_parse_paths(&rule->subject, value, err);
	if (strcmp(key, "status") == 0)
		return classify_parse_paths(&rule->status, value, err);
	if (strcmp(key, "substatus") == 0)
		return classify_parse_paths(&rule->substatus, value, err);
	return classify_parse_paths(&rule->time, value, err);
}

int
classify_rule_end(struct classify_rules *r, char *err)
{
	struct classify_rule *rule;

	if (!r->building)
		return 0;
	r->building = false;
	rule = &r->rules[r->nrules - 1];
	if (rule->category == NULL) {
		snprintf(err, CLASSIFY_ERR_MAX, "rule '%s' has no category", rule->name);
		return -EINVAL;
	}
	if (rule->ntypes == 0 && rule->has.n == 0) {
		snprintf(err, CLASSIFY_ERR_MAX,
			 "rule '%s' matches nothing: give it 'type' patterns or 'has' markers",
			 rule->name);
		return -EINVAL;
	}
	return 0;
}

int
classify_status_set(struct classify_rules *r, const char *code, const char *word, char *err)
{
	for (size_t i = 0; i < r->nstatus; i++) {
		if (strcmp(r->status[i].code, code) == 0) {
			snprintf(err, CLASSIFY_ERR_MAX, "status code '%s' is listed twice", code);
			return -EINVAL;
		}
	}
	if (!classify_word_valid(word)) {
		snprintf(err, CLASSIFY_ERR_MAX,
			 "bad canonical word '%s' (lower-case letters, digits and '_')", word);
		return -EINVAL;
	}
	r->status = xrealloc(r->status, (r->nstatus + 1) * sizeof(*r->status));
	r->status[r->nstatus].code = xstrdup(code);
	r->status[r->nstatus].word = xstrdup(word);
	r->nstatus++;
	return 0;
}

size_t
classify_categories(const struct classify_rules *r, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nrules; i++) {
		bool dup = false;

		for (size_t j = 0; j < n; j++)
			dup = dup || strcmp(out[j], r->rules[i].category) == 0;
		if (!dup && n < max)
			out[n++] = r->rules[i].category;
	}
	return n;
}

/* --- matching ------------------------------------------------------------ */

/* The text at path i of l in ctx (new), or NULL; its length in *len. */
static char *
classify_textn(const struct classify_pathlist *l, size_t i, const struct classify_ctx *ctx,
	       size_t *len)
{
	if (l->item != NULL && l->item[i])
		return ctx->item ? jsonpath_get_textn(l->paths[i], ctx->item, NULL, len) : NULL;
	return jsonpath_get_textn(l->paths[i], ctx->in->body, ctx->in->query, len);
}

static char *
classify_text(const struct classify_pathlist *l, size_t i, const struct classify_ctx *ctx)
{
	size_t len;

	return classify_textn(l, i, ctx, &len);
}

static char *
classify_first_text(const struct classify_pathlist *l, const struct classify_ctx *ctx)
{
	for (size_t i = 0; i < l->n; i++) {
		char *s = classify_text(l, i, ctx);

		if (s != NULL && *s != '\0')
			return s;
		free(s);
	}
	return NULL;
}

static bool
classify_has_all(const struct classify_pathlist *l, const struct classify_ctx *ctx)
{
	const struct classify_input *in = ctx->in;

	for (size_t i = 0; i < l->n; i++) {
		if (jsonpath_is_query(l->paths[i]) || l->item[i]) {
			char *s = classify_text(l, i, ctx);
			bool ok = s != NULL;

			free(s);
			if (!ok)
				return false;
		} else {
			/* A member set to null is no marker ("productConfig":null on a
			 * token status change). */
			const json_t *v = jsonpath_get(l->paths[i], in->body);

			if (v == NULL || json_is_null(v))
				return false;
		}
	}
	return true;
}

char *
classify_sha256_id(const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *out = xmalloc(7 + 64 + 1);

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		abort();
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = '\0';
	return out;
}

/* The first id alternative whose parts are all present, joined with ':';
 * *hashed says whether it is a sha256:<hex> made here. */
static char *
classify_event_id(const struct classify_rule *rule, const struct classify_ctx *ctx, bool *hashed)
{
	const struct classify_input *in = ctx->in;

	for (size_t a = 0; rule != NULL && a < rule->nids; a++) {
		const struct classify_pathlist *alt = &rule->ids[a];
		char *joined = NULL;
		size_t len = 0;
		bool complete = true;

		bool nul = false;

		for (size_t i = 0; i < alt->n && complete; i++) {
			size_t plen = 0;
			char *part = classify_textn(alt, i, ctx, &plen);

			if (part == NULL || plen == 0) {
				complete = false;
				free(part);
				break;
			}
			/* A "\u0000" inside: the bytes after it would be cut from a C
			 * string, and "a\u0000x", "a\u0000y" both read as "a". */
			nul = nul || memchr(part, '\0', plen) != NULL;
			joined = xrealloc(joined, len + plen + 2);
			if (len > 0)
				joined[len++] = ':';
			memcpy(joined + len, part, plen);
			len += plen;
			joined[len] = '\0';
			free(part);
		}
		if (complete && joined != NULL) {
			if (len > CLASSIFY_ID_MAX || nul) {
				char *h = classify_sha256_id(joined, len);

				free(joined);
				*hashed = true;
				return h;
			}
			*hashed = false;
			return joined;
		}
		free(joined);
	}
	*hashed = true;
	return classify_sha256_id(in->raw, in->raw_len);
}

/* The canonical word for a sender status: the table, else the code itself
 * lower-cased with anything but [a-z0-9] turned into '_'. */
static const char *
classify_table_word(const struct classify_rules *r, const char *code)
{
	for (size_t i = 0; code != NULL && i < r->nstatus; i++)
		if (strcmp(r->status[i].code, code) == 0)
			return r->status[i].word;
	return NULL;
}

/* The canonical word: the table's word for the substatus (the finer state,
 * e.g. PENDAUTH under ACSP), else for the status, else the rule's
 * unknown_status, else the status lower-cased with [^a-z0-9] as '_' (and
 * the '*' of a card number masked in it kept). */
static char *
classify_canonical(const struct classify_rules *r, const struct classify_rule *rule,
		   const char *status, const char *substatus)
{
	const char *word = classify_table_word(r, substatus);
	char pan[REDACT_NUMBER_MAX];
	const char *masked;
	char *copy = NULL, *w;
	size_t n;

	if (word == NULL)
		word = classify_table_word(r, status);
	if (word != NULL)
		return xstrdup(word);
	if (rule != NULL && rule->unknown_status != NULL)
		return xstrdup(rule->unknown_status);
	/* Card numbers are masked before the word is made: the word turns
	 * separators into '_', where the digit scan that masks it later no
	 * longer sees a grouped number ("4111 1111 1111 1111" would become
	 * "4111_1111_1111_1111"), and a number spelled as a float would spell
	 * every digit ("4.111111111111111E15", "4_111111111111111e15"). */
	n = strlen(status);
	if (redact_number(status, n, pan) > 0) {
		masked = pan;
		n = strlen(pan);
	} else {
		copy = xstrndup(status, n);
		redact_pans(copy, n);
		masked = copy;
	}
	if (n > CLASSIFY_WORD_MAX)
		n = CLASSIFY_WORD_MAX;
	w = xstrndup(masked, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		bool mask = c == '*' && (masked == pan || status[i] != '*');

		w[i] = mask ? '*' : isalnum(c) && c < 0x80 ? (char)tolower(c) : '_';
	}
	free(copy);
	return w;
}

static const struct classify_rule *
classify_match(const struct classify_rules *r, const struct classify_ctx *ctx,
	       const char *only_category)
{
	char *explicit_type = classify_first_text(&r->type_fields, ctx);
	const struct classify_rule *found = NULL;

	/* Tier 2: explicit type values, every rule in order. */
	for (size_t i = 0; explicit_type != NULL && found == NULL && i < r->nrules; i++) {
		const struct classify_rule *rule = &r->rules[i];

		if (only_category != NULL && strcmp(only_category, rule->category) != 0)
			continue;
		for (size_t t = 0; t < rule->ntypes; t++) {
			if (fnmatch(rule->types[t], explicit_type, 0) == 0) {
				found = rule;
				break;
			}
		}
	}
	free(explicit_type);
	/* Tier 3: structural markers. */
	for (size_t i = 0; found == NULL && i < r->nrules; i++) {
		const struct classify_rule *rule = &r->rules[i];

		if (only_category != NULL && strcmp(only_category, rule->category) != 0)
			continue;
		if (rule->has.n > 0 && classify_has_all(&rule->has, ctx))
			found = rule;
	}
	return found;
}

/* The sender's time as RFC 3339 (new), or NULL: CloudEvents "time" must be
 * RFC 3339, so anything else stays only in data and receipt time stands in. */
static char *
classify_time(const struct classify_rule *rule, const struct classify_ctx *ctx)
{
	char *raw = classify_first_text(&rule->time, ctx);
	char norm[TIMEUTIL_RFC3339_LEN];
	char *out = NULL;

	if (raw != NULL && timeutil_normalize(raw, rule->time_offset, norm))
		out = xstrdup(norm);
	free(raw);
	return out;
}

static void
classify_fill(const struct classify_rules *r, const struct classify_rule *rule,
	      const struct classify_ctx *ctx, struct classify_result *out)
{
	const struct classify_input *in = ctx->in;
	const char *word;

	memset(out, 0, sizeof(*out));
	if (in->route_category != NULL) {
		out->category = in->route_category;
		out->rule = rule ? rule->name : "route";
	} else if (rule != NULL) {
		out->category = rule->category;
		out->rule = rule->name;
	} else {
		out->category = CLASSIFY_UNCLASSIFIED;
		out->rule = "none";
	}
	if (rule != NULL) {
		out->subject = classify_first_text(&rule->subject, ctx);
		out->status = classify_first_text(&rule->status, ctx);
		out->substatus = classify_first_text(&rule->substatus, ctx);
		out->time = classify_time(rule, ctx);
	}
	out->event_id = classify_event_id(rule, ctx, &out->id_hashed);
	if (out->status != NULL)
		out->canonical = classify_canonical(r, rule, out->status, out->substatus);
	word = out->canonical ? out->canonical : (rule && rule->verb ? rule->verb : "received");
	out->type = xasprintf("%s.%s", out->category, word);
}

static void classify_distinct_ids(struct classify_result *res, size_t n);

size_t
classify_run_all(const struct classify_rules *r, const struct classify_input *in,
		 struct classify_result **out)
{
	struct classify_ctx ctx = { .in = in };
	const struct classify_rule *rule;
	const json_t *items = NULL;
	size_t n = 1;

	/* A pinned route still uses a rule of its category to find subject,
	 * status and id; it never changes the category. */
	rule = classify_match(r, &ctx, in->route_category);
	if (rule != NULL && rule->items != NULL) {
		items = jsonpath_get(rule->items, in->body);
		if (json_is_array(items) && json_array_size(items) > 0)
			n = json_array_size(items);
		else
			items = NULL;
	}
	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		ctx.item = items ? json_array_get(items, i) : NULL;
		classify_fill(r, rule, &ctx, &(*out)[i]);
	}
	if (n > 1)
		classify_distinct_ids(*out, n);
	return n;
}

static int
classify_cmp_id(const void *a, const void *b, void *arg)
{
	const struct classify_result *res = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(res[i].event_id, res[j].event_id);

	return c != 0 ? c : (i > j) - (i < j);
}

/*
 * Items of one batch whose ids come out the same (an id taken from the
 * message rather than the item, or the body's hash) would be deduplicated
 * against each other: every one after the first would be dropped as a
 * duplicate of it. Each of those gets its place in the batch added
 * ("BIZ1#0", "BIZ1#1"), the same on a byte-identical retry.
 */
static void
classify_distinct_ids(struct classify_result *res, size_t n)
{
	size_t *order = xcalloc(n, sizeof(*order));
	bool *shared = xcalloc(n, sizeof(*shared));

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* Sorted by id (then position): equal ids are neighbours. qsort_r:
	 * worker threads classify at once. */
	qsort_r(order, n, sizeof(*order), classify_cmp_id, res);
	for (size_t k = 1; k < n; k++)
		if (strcmp(res[order[k]].event_id, res[order[k - 1]].event_id) == 0)
			shared[order[k]] = shared[order[k - 1]] = true;
	for (size_t i = 0; i < n; i++) {
		if (shared[i]) {
			char *id = xasprintf("%s#%zu", res[i].event_id, i);

			free(res[i].event_id);
			res[i].event_id = id;
		}
	}
	free(shared);
	free(order);
}

void
classify_run(const struct classify_rules *r, const struct classify_input *in,
	     struct classify_result *out)
{
	struct classify_result *all;
	size_t n = classify_run_all(r, in, &all);

	*out = all[0];
	for (size_t i = 1; i < n; i++)
		classify_result_fini(&all[i]);
	free(all);
}

void
classify_results_free(struct classify_result *res, size_t n)
{
	for (size_t i = 0; res != NULL && i < n; i++)
		classify_result_fini(&res[i]);
	free(res);
}

void
classify_result_fini(struct classify_result *res)
{
	if (res == NULL)
		return;
	free(res->type);
	free(res->event_id);
	free(res->subject);
	free(res->status);
	free(res->substatus);
	free(res->canonical);
	free(res->time);
	memset(res, 0, sizeof(*res));
}
