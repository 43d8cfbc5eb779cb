// SPDX-License-Identifier: MIT
/*
 * jsonparse_fields: redact_fields and drop_fields while parsing. A rule is a
 * key name (any depth) or a dotted path from the root; a dropped member's edit
 * takes one comma with it so the stored payload stays valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse_int.h"

/* One "key": value member of obj. The key is masked before the duplicate check
 * so that the message never shows a card number, and two card numbers that
 * mask alike cannot silently replace one another. */
/* Does one segment of a rule ("name" or "*") match path level d? */
static bool
jp_segment_is(const struct jp *p, unsigned int d, const char *seg, size_t len)
{
	if (len == 1 && seg[0] == '*')
		return true;
	return p->path[d].off != SIZE_MAX && p->path[d].n == len &&
	       memcmp(p->buf + p->path[d].off, seg, len) == 0;
}
/*
 * A field rule matches the member being parsed at depth: a plain name matches
 * that key at any depth; a dotted path ("card.cvv", "tokens.*.tokenInfo")
 * matches from the root, "*" standing for any key or any array element.
 */
static bool
jp_rule_matches(const struct jp *p, const char *rule, unsigned int depth)
{
	unsigned int d = 0;
	const char *seg = rule;

	if (strchr(rule, '.') == NULL)
		return jp_segment_is(p, depth - 1, rule, strlen(rule)) && rule[0] != '*';
	for (;;) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);

		if (d >= depth || !jp_segment_is(p, d, seg, len))
			return false;
		d++;
		if (dot == NULL)
			return d == depth;
		seg = dot + 1;
	}
}
bool
jp_key_in(const struct jp *p, char *const *rules, size_t nrules, unsigned int depth)
{
	for (size_t i = 0; i < nrules; i++)
		if (jp_rule_matches(p, rules[i], depth))
			return true;
	return false;
}
/* Forget the edits made inside a value that is replaced or removed whole. */
void
jp_edits_truncate(struct jp *p, size_t keep)
{
	for (size_t i = keep; i < p->res->nedits; i++)
		free(p->res->edits[i].text);
	p->res->nedits = keep;
}
/*
 * A dropped member's edit covers the member; widen it over one comma so the
 * object stays valid: the comma after it when another member follows, else the
 * comma before it (it was the last), else none (it was the only one).
 */
void
jp_drop_comma(struct jp *p, bool followed, bool first)
{
	struct jsonparse_edit *e = &p->res->edits[p->res->nedits - 1];

	if (followed) {
		e->len = p->pos + 1 - e->offset; /* up to and including the ',' at pos */
	} else if (!first) {
		e->len += e->offset - p->last_comma;
		e->offset = p->last_comma;
	}
}
void
jp_remove_tombs(struct jp *p, json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v)
	{
		if (v == p->tomb)
			json_object_del(obj, key);
	}
}
