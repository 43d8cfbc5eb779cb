// SPDX-License-Identifier: MIT
/*
 * envelope: CloudEvents attributes are written with jsonw (jansson's escaping,
 * invalid UTF-8 as U+FFFD), then the payload's own bytes are spliced in as
 * "data". The payload was validated as JSON before it got here.
 */
#include "hookstream/envelope.h"
#include "hookstream/jsonw.h"

char *
envelope_build(const struct envelope_input *in, size_t *len)
{
	struct jsonw w;

	jsonw_init(&w, 640 + in->data_len);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "specversion", "1.0");
	jsonw_member_str(&w, "id", in->id);
	jsonw_member_str(&w, "source", in->source);
	jsonw_member_str(&w, "type", in->type);
	jsonw_member_str(&w, "subject", in->subject);
	jsonw_member_str(&w, "time", in->time ? in->time : in->receivedat);
	jsonw_member_str(&w, "datacontenttype", "application/json");
	jsonw_member_str(&w, "category", in->category);
	jsonw_member_str(&w, "status", in->status);
	jsonw_member_str(&w, "senderstatus", in->senderstatus);
	jsonw_member_str(&w, "sendersubstatus", in->sendersubstatus);
	jsonw_member_str(&w, "sourceip", in->sourceip);
	jsonw_member_str(&w, "receivedat", in->receivedat);
	jsonw_member_str(&w, "rule", in->rule);
	jsonw_member_str(&w, "verifiedby", in->verifiedby);
	jsonw_member_str(&w, "clientcert", in->clientcert);
	if (in->batch_size > 1) {
		jsonw_member_uint(&w, "batchindex", (unsigned long long)in->batch_index);
		jsonw_member_uint(&w, "batchsize", (unsigned long long)in->batch_size);
	}
	jsonw_member_raw(&w, "data", in->data, in->data_len);
	jsonw_object_end(&w);
	return jsonw_take(&w, len);
}
