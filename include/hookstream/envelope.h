/* SPDX-License-Identifier: MIT */
/*
 * envelope: builds the CloudEvents 1.0 structured event stored in the stream's
 * "event" field. The payload is spliced in as JSON text, never re-serialized, so
 * numbers and strings keep their exact bytes. Pure.
 */
#ifndef HOOKSTREAM_ENVELOPE_H
#define HOOKSTREAM_ENVELOPE_H

#include <stddef.h>

struct envelope_input {
	const char *id;		     /* event id (required) */
	const char *source;	     /* the route path (required) */
	const char *type;	     /* "<category>.<word>" (required) */
	const char *subject;	     /* NULL to omit */
	const char *time;	     /* the sender's time, or NULL to use receivedat */
	const char *category;	     /* extension "category" (required) */
	const char *status;	     /* extension "status": canonical word, NULL to omit */
	const char *senderstatus;    /* extension "senderstatus", NULL to omit */
	const char *sendersubstatus; /* extension "sendersubstatus", NULL to omit */
	const char *sourceip;	     /* extension "sourceip" (required) */
	const char *receivedat;	     /* extension "receivedat", RFC 3339 (required) */
	const char *rule;	     /* extension "rule" (required) */
	const char *verifiedby; /* extension "verifiedby": the signature scheme checked, or NULL */
	const char
		*clientcert; /* extension "clientcert": the verified TLS client subject, or NULL */
	const char *data;    /* valid JSON text, spliced as "data" (required) */
	size_t data_len;
	size_t batch_index; /* extensions "batchindex"/"batchsize" when batch_size > 1 */
	size_t batch_size;
};

/* Build the event JSON; returns a new NUL-terminated string (free()) and its
 * length in *len. Attribute strings that are not valid UTF-8 have the bad bytes
 * replaced by U+FFFD so the result is always valid JSON. */
char *envelope_build(const struct envelope_input *in, size_t *len);

#endif
