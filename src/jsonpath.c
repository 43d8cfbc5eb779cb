// SPDX-License-Identifier: MIT
/*
 * jsonpath: compiled lookup paths over jansson values. Compiled once at config
 * load, so a request only walks pointers; segments are bounded (a path is
 * written by an operator, not a sender).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/jsonmem.h"
#include "hookstream/jsonpath.h"
#include "hookstream/pct.h"
#include "hookstream/xalloc.h"

#define JSONPATH_MAX_SEGMENTS 32

enum jsonpath_seg_kind {
	JSONPATH_KEY,
	JSONPATH_ANY,
	JSONPATH_INDEX,
};

struct jsonpath_seg {
	enum jsonpath_seg_kind kind;
	char *key;
	size_t index;
};

struct jsonpath {
	char *text;
	char *query; /* "?name": the parameter name; segs unused */
	size_t nsegs;
	struct jsonpath_seg segs[];
};

void
jsonpath_free(struct jsonpath *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsegs; i++)
		free(p->segs[i].key);
	free(p->query);
	free(p->text);
	free(p);
}

static bool
jsonpath_key_char(char c)
{
	/* Keys in notifications are identifiers; "-" and ":" occur in the wild. */
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':' || c == '@' ||
	       c == '$';
}

int
jsonpath_compile(const char *text, struct jsonpath **out, const char **why)
{
	struct jsonpath *p = xcalloc(1, sizeof(*p) + JSONPATH_MAX_SEGMENTS * sizeof(p->segs[0]));
	const char *s = text;

	*out = NULL;
	p->text = xstrdup(text);
	if (*s == '?') {
		s++;
		if (*s == '\0')
			goto bad_name;
		for (const char *c = s; *c; c++)
			if (!jsonpath_key_char(*c) && *c != '.')
				goto bad_name;
		p->query = xstrdup(s);
		*out = p;
		return 0;
	}
	if (*s == '\0') {
		*why = "empty path";
		goto fail;
	}
	while (*s != '\0') {
		const char *b = s;

		if (p->nsegs + 2 > JSONPATH_MAX_SEGMENTS) {
			*why = "path has too many segments";
			goto fail;
		}
		if (*s == '*') {
			p->segs[p->nsegs++].kind = JSONPATH_ANY;
			s++;
		} else {
			while (jsonpath_key_char(*s))
				s++;
			if (s == b) {
				*why = "expected a key name (letters, digits, _ - : @ $)";
				goto fail;
			}
			p->segs[p->nsegs].kind = JSONPATH_KEY;
			p->segs[p->nsegs++].key = xstrndup(b, (size_t)(s - b));
		}
		while (*s == '[') {
			size_t idx = 0;
			const char *d = ++s;

			while (isdigit((unsigned char)*s) && s - d < 6)
				idx = idx * 10 + (size_t)(*s++ - '0');
			if (s == d || *s != ']') {
				*why = "array index must be [N] with a number";
				goto fail;
			}
			s++;
			if (p->nsegs + 1 > JSONPATH_MAX_SEGMENTS) {
				*why = "path has too many segments";
				goto fail;
			}
			p->segs[p->nsegs].kind = JSONPATH_INDEX;
			p->segs[p->nsegs++].index = idx;
		}
		if (*s == '.') {
			s++;
			if (*s == '\0') {
				*why = "path ends with '.'";
				goto fail;
			}
		} else if (*s != '\0') {
			*why = "unexpected character in path";
			goto fail;
		}
	}
	*out = p;
	return 0;
bad_name:
	*why = "?name needs a query parameter name";
fail:
	jsonpath_free(p);
	return -EINVAL;
}

const char *
jsonpath_text(const struct jsonpath *p)
{
	return p->text;
}

bool
jsonpath_is_query(const struct jsonpath *p)
{
	return p->query != NULL;
}

static const json_t *
jsonpath_walk(const struct jsonpath *p, size_t i, const json_t *v)
{
	for (; v != NULL && i < p->nsegs; i++) {
		const struct jsonpath_seg *seg = &p->segs[i];

		switch (seg->kind) {
		case JSONPATH_KEY:
			v = json_is_object(v) ? json_object_get(v, seg->key) : NULL;
			break;
		case JSONPATH_INDEX:
			v = json_is_array(v) ? json_array_get(v, seg->index) : NULL;
			break;
		case JSONPATH_ANY: {
			const char *k;
			json_t *child;

			if (!json_is_object(v))
				return NULL;
			/* The first child under which the rest of the path resolves. */
			json_object_foreach((json_t *)v, k, child)
			{
				const json_t *found = jsonpath_walk(p, i + 1, child);

				if (found != NULL)
					return found;
			}
			return NULL;
		}
		}
	}
	return v;
}

const json_t *
jsonpath_get(const struct jsonpath *p, const json_t *root)
{
	if (p->query != NULL)
		return NULL;
	return jsonpath_walk(p, 0, root);
}

char *
jsonpath_get_text(const struct jsonpath *p, const json_t *root, const char *query)
{
	return jsonpath_get_textn(p, root, query, NULL);
}

char *
jsonpath_get_textn(const struct jsonpath *p, const json_t *root, const char *query, size_t *len)
{
	const json_t *v;
	char *text;

	if (p->query != NULL) {
		/* Query values are decoded without NULs. */
		text = query ? jsonpath_query_param(query, p->query) : NULL;
		if (text != NULL && len != NULL)
			*len = strlen(text);
		return text;
	}
	v = jsonpath_get(p, root);
	if (v == NULL)
		return NULL;
	if (len != NULL && json_typeof(v) != JSON_STRING) {
		text = jsonpath_get_textn(p, root, query, NULL);
		if (text != NULL)
			*len = strlen(text);
		return text;
	}
	switch (json_typeof(v)) {
	case JSON_STRING: {
		/* Every byte, a "\u0000" too (xstrndup would stop at it). */
		size_t n = json_string_length(v);

		text = xmalloc(n + 1);
		memcpy(text, json_string_value(v), n);
		text[n] = '\0';
		if (len != NULL)
			*len = n;
		return text;
	}
	case JSON_REAL:
		/* The shortest text that reads back as the same double: 0.1 stays
		 * "0.1", not "0.10000000000000001". */
		for (int prec = 1;; prec++) {
			char *s = jsonmem_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(prec));

			if (s == NULL)
				abort();
			if (prec >= 17 || strtod(s, NULL) == json_real_value(v))
				return s;
			free(s);
		}
	case JSON_INTEGER:
	case JSON_TRUE:
	case JSON_FALSE: {
		char *s = jsonmem_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

		if (s == NULL)
			abort();
		return s;
	}
	default:
		return NULL;
	}
}

char *
jsonpath_query_param(const char *query, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *s = query; s != NULL && *s != '\0';) {
		const char *amp = strchr(s, '&');
		const char *end = amp ? amp : s + strlen(s);

		if ((size_t)(end - s) > nlen && strncmp(s, name, nlen) == 0 && s[nlen] == '=') {
			return pct_decode(s + nlen + 1, end, true, true, NULL);
		}
		s = amp ? amp + 1 : NULL;
	}
	return NULL;
}
