// SPDX-License-Identifier: MIT
/*
 * envelope: CloudEvents attributes are built with jansson (correct escaping),
 * then the payload's own bytes are spliced in as "data". The payload was
 * validated as JSON before it got here.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/envelope.h"
#include "hookstream/utf8.h"
#include "hookstream/xalloc.h"

/* Copy s replacing every byte of an invalid UTF-8 sequence by U+FFFD. */
static char *
envelope_utf8_fix(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t len = utf8_seq_len(p, (size_t)(end - p));

		if (len > 0) {
			memcpy(o, p, len);
			o += len;
			p += len;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		}
	}
	*o = '\0';
	return out;
}

static void
envelope_set(json_t *obj, const char *key, const char *value)
{
	json_t *v;

	if (value == NULL)
		return;
	v = json_string(value);
	if (v == NULL) {
		char *fixed = envelope_utf8_fix(value);

		v = json_string(fixed);
		free(fixed);
		if (v == NULL)
			abort();
	}
	json_object_set_new(obj, key, v);
}

char *
envelope_build(const struct envelope_input *in, size_t *len)
{
	static const char data_key[] = ",\"data\":";
	json_t *obj = json_object();
	char *attrs, *out;
	size_t alen;

	if (obj == NULL)
		abort();
	envelope_set(obj, "specversion", "1.0");
	envelope_set(obj, "id", in->id);
	envelope_set(obj, "source", in->source);
	envelope_set(obj, "type", in->type);
	envelope_set(obj, "subject", in->subject);
	envelope_set(obj, "time", in->time ? in->time : in->receivedat);
	envelope_set(obj, "datacontenttype", "application/json");
	envelope_set(obj, "category", in->category);
	envelope_set(obj, "status", in->status);
	envelope_set(obj, "senderstatus", in->senderstatus);
	envelope_set(obj, "sendersubstatus", in->sendersubstatus);
	envelope_set(obj, "sourceip", in->sourceip);
	envelope_set(obj, "receivedat", in->receivedat);
	envelope_set(obj, "rule", in->rule);
	envelope_set(obj, "verifiedby", in->verifiedby);
	envelope_set(obj, "clientcert", in->clientcert);
	if (in->batch_size > 1) {
		json_object_set_new(obj, "batchindex", json_integer((json_int_t)in->batch_index));
		json_object_set_new(obj, "batchsize", json_integer((json_int_t)in->batch_size));
	}
	attrs = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (attrs == NULL)
		abort();
	/* attrs is "{...}": drop the closing brace, append the payload. */
	alen = strlen(attrs) - 1;
	*len = alen + sizeof(data_key) - 1 + in->data_len + 1;
	out = xmalloc(*len + 1);
	memcpy(out, attrs, alen);
	memcpy(out + alen, data_key, sizeof(data_key) - 1);
	memcpy(out + alen + sizeof(data_key) - 1, in->data, in->data_len);
	out[*len - 1] = '}';
	out[*len] = '\0';
	free(attrs);
	return out;
}
