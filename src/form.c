// SPDX-License-Identifier: MIT
/*
 * form: decodes "a=1&b=x+y%21" pairs. Strict about what a bank's form post
 * can contain: a bad percent-escape or invalid UTF-8 is a 400, not a guess.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/form.h"
#include "hookstream/pct.h"
#include "hookstream/redact.h"
#include "hookstream/xalloc.h"

int
form_parse(const char *data, size_t len, json_t **out, struct form_error *err)
{
	const char *p = data, *end = data + len;
	json_t *obj = json_object(), *seen = json_object();
	size_t pairs = 0;
	char *masked;

	*out = NULL;
	if (obj == NULL || seen == NULL)
		abort();
	/* Senders often end the body with a newline. */
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		char *name, *value;
		size_t nlen, vlen;
		json_t *v;

		if (pe == p) {
			p = pe + 1;
			continue;
		}
		name = pct_decode(p, eq ? eq : pe, true, false, &nlen);
		value = eq ? pct_decode(eq + 1, pe, true, false, &vlen) : xstrdup("");
		if (!eq)
			vlen = 0;
		if (name == NULL || value == NULL || nlen == 0 || memchr(name, '\0', nlen) ||
		    memchr(value, '\0', vlen)) {
			err->code = "invalid_form";
			snprintf(err->message, sizeof(err->message),
				 "form field %zu is not valid (empty name, NUL or a bad %%-escape)",
				 pairs + 1);
			goto bad;
		}
		/* Duplicates are judged on the names as stored (card numbers masked):
		 * two names that mask alike would otherwise overwrite each other, and
		 * the message must not show a card number either. */
		masked = xstrndup(name, nlen);
		redact_pans(masked, nlen);
		if (json_object_get(seen, masked) != NULL) {
			err->code = "duplicate_key";
			snprintf(err->message, sizeof(err->message),
				 "form field '%.64s' is given twice", masked);
			/* Cutting the name can leave a new card-number-like run. */
			redact_pans(err->message, strlen(err->message));
			free(masked);
			goto bad;
		}
		json_object_set_new(seen, masked, json_true());
		free(masked);
		v = json_stringn(value, vlen);
		if (v == NULL || json_object_set_new(obj, name, v) != 0) {
			err->code = "invalid_utf8";
			snprintf(err->message, sizeof(err->message),
				 "form field %zu is not valid UTF-8 once decoded", pairs + 1);
			goto bad;
		}
		free(name);
		free(value);
		pairs++;
		p = amp ? amp + 1 : end;
		continue;
	bad:
		free(name);
		free(value);
		json_decref(obj);
		json_decref(seen);
		return -EINVAL;
	}
	json_decref(seen);
	if (pairs == 0) {
		json_decref(obj);
		err->code = "invalid_form";
		snprintf(err->message, sizeof(err->message), "the form body has no fields");
		return -EINVAL;
	}
	*out = obj;
	return 0;
}

static bool
form_exempt(const char *key, char *const *exempt, size_t nexempt)
{
	for (size_t i = 0; i < nexempt; i++)
		if (strcmp(key, exempt[i]) == 0)
			return true;
	return false;
}

json_t *
form_masked(const json_t *obj, char *const *exempt, size_t nexempt, size_t *redactions)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;

	if (out == NULL)
		abort();
	*redactions = 0;
	json_object_foreach((json_t *)obj, key, v)
	{
		char *k = xstrdup(key);
		char *s = xstrndup(json_string_value(v), json_string_length(v));

		if (!form_exempt(key, exempt, nexempt))
			*redactions += redact_pans(s, json_string_length(v));
		*redactions += redact_pans(k, strlen(k));
		/* Masking keeps the length and only writes ASCII '*': still UTF-8. */
		json_object_set_new(out, k, json_stringn(s, json_string_length(v)));
		free(k);
		free(s);
	}
	return out;
}
