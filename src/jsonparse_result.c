// SPDX-License-Identifier: MIT
/*
 * jsonparse_result: what a parse leaves behind: the payload to store (the raw
 * bytes with the BOM dropped and every edit applied) and its release. Kept
 * apart from the parser, which is long enough on its own.
 */
#include <stdlib.h>
#include <string.h>

#include "hookstream/jsonparse.h"
#include "hookstream/xalloc.h"

char *
jsonparse_apply_edits(const char *data, size_t len, const struct jsonparse_result *res,
		      size_t *out_len)
{
	size_t size = len - res->bom, at = res->bom, o = 0;
	char *out;

	for (size_t i = 0; i < res->nedits; i++)
		size = size - res->edits[i].len + res->edits[i].text_len;
	out = xmalloc(size + 1);
	for (size_t i = 0; i < res->nedits; i++) {
		const struct jsonparse_edit *e = &res->edits[i];

		memcpy(out + o, data + at, e->offset - at);
		o += e->offset - at;
		memcpy(out + o, e->text, e->text_len);
		o += e->text_len;
		at = e->offset + e->len;
	}
	memcpy(out + o, data + at, len - at);
	o += len - at;
	/* A terminator costs nothing and lets callers treat the payload as text. */
	out[o] = '\0';
	*out_len = o;
	return out;
}

void
jsonparse_result_fini(struct jsonparse_result *res)
{
	if (res == NULL)
		return;
	json_decref(res->root);
	for (size_t i = 0; i < res->nedits; i++)
		free(res->edits[i].text);
	free(res->edits);
	memset(res, 0, sizeof(*res));
}
