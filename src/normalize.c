// SPDX-License-Identifier: MIT
/*
 * normalize: the pure heart of a request. The payload stored as "data" is the
 * sender's bytes with only card numbers changed (JSON), or the form's fields as
 * a JSON object of strings; the tree the rules read is parsed once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hookstream/classify.h"
#include "hookstream/config.h"
#include "hookstream/envelope.h"
#include "hookstream/form.h"
#include "hookstream/jsonmem.h"
#include "hookstream/jsonparse.h"
#include "hookstream/normalize.h"
#include "hookstream/redact.h"
#include "hookstream/utf8.h"
#include "hookstream/xalloc.h"

enum normalize_kind
normalize_kind_of(const char *ct)
{
	const char *slash;
	size_t n;

	if (ct == NULL)
		return NORMALIZE_UNSUPPORTED;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return NORMALIZE_JSON;
	if (n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		return NORMALIZE_FORM;
	slash = memchr(ct, '/', n);
	/* application/<anything>+json, e.g. application/cloudevents+json */
	if (slash != NULL && slash - ct == 11 && strncasecmp(ct, "application", 11) == 0 &&
	    n >= 17 && strncasecmp(ct + n - 5, "+json", 5) == 0)
		return NORMALIZE_JSON;
	return NORMALIZE_UNSUPPORTED;
}

static int
normalize_fail(struct normalize_error *err, int status, const char *code, const char *msg)
{
	err->status = status;
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", msg);
	return -EINVAL;
}

/* redact_fields / drop_fields on a form's object of strings. */
static size_t
normalize_form_fields(const struct config *cfg, json_t *obj)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nredact_fields; i++) {
		if (json_object_get(obj, cfg->redact_fields[i]) != NULL) {
			json_object_set_new(obj, cfg->redact_fields[i], json_string("[REDACTED]"));
			n++;
		}
	}
	for (size_t i = 0; i < cfg->ndrop_fields; i++)
		n += json_object_del(obj, cfg->drop_fields[i]) == 0;
	return n;
}

/* Parse the body: the tree for the rules and the payload text to store. */
static int
normalize_parse(const struct normalize_request *req, json_t **tree, char **data, size_t *data_len,
		size_t *redactions, size_t *fields, struct normalize_error *err)
{
	enum normalize_kind kind = normalize_kind_of(req->content_type);

	if (kind == NORMALIZE_UNSUPPORTED)
		return normalize_fail(err, 415, "unsupported_content_type",
				      "send the notification as application/json (or "
				      "application/x-www-form-urlencoded)");
	if (kind == NORMALIZE_FORM) {
		struct form_error ferr;

		json_t *stored;

		if (form_parse(req->raw, req->raw_len, tree, &ferr) < 0)
			return normalize_fail(err, 400, ferr.code, ferr.message);
		stored = form_masked(*tree, req->cfg->pan_exempt_fields,
				     req->cfg->npan_exempt_fields, redactions);
		*fields = normalize_form_fields(req->cfg, stored);
		/* The rules must not see what was redacted or dropped either. */
		normalize_form_fields(req->cfg, *tree);
		*data = jsonmem_dumps(stored, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(stored);
		if (*data == NULL)
			abort();
		*data_len = strlen(*data);
		return 0;
	} else {
		struct jsonparse_result res;
		struct jsonparse_error jerr;

		struct jsonparse_options opt = {
			.max_depth = (unsigned int)req->cfg->max_depth,
			.mask_keys = req->cfg->redact_fields,
			.nmask = req->cfg->nredact_fields,
			.drop_keys = req->cfg->drop_fields,
			.ndrop = req->cfg->ndrop_fields,
			.exempt_keys = req->cfg->pan_exempt_fields,
			.nexempt = req->cfg->npan_exempt_fields,
			/* Event ids are built from the real values (then hashed when
			 * they hold a card number): masked ids could merge two
			 * payments. Everything taken from the tree is masked below. */
			.unmasked_tree = true,
		};

		if (jsonparse_ex(req->raw, req->raw_len, &opt, &res, &jerr) < 0) {
			err->status = 400;
			err->code = jerr.code;
			snprintf(err->message, sizeof(err->message), "%s (line %u, column %u)",
				 jerr.message, jerr.line, jerr.column);
			return -EINVAL;
		}
		if (!json_is_object(res.root)) {
			jsonparse_result_fini(&res);
			return normalize_fail(err, 400, "not_an_object",
					      "the body must be a JSON object");
		}
		*tree = json_incref(res.root);
		*data = jsonparse_apply_edits(req->raw, req->raw_len, &res, data_len);
		*redactions = res.redactions;
		*fields = res.fields_masked + res.fields_dropped;
		/* Whitespace around the value is not part of it: a trailing newline
		 * would otherwise split the envelope over two lines. */
		{
			size_t b = strspn(*data, " \t\r\n"), e = *data_len;

			while (e > b && strchr(" \t\r\n", (*data)[e - 1]) != NULL)
				e--;
			memmove(*data, *data + b, e - b);
			(*data)[e - b] = '\0';
			*data_len = e - b;
		}
		jsonparse_result_fini(&res);
		return 0;
	}
}

/* A text taken from the tree, masked: the tree holds numbers as their
 * lexemes, so a text that is a number whose value is a card number however
 * written ("4.111111111111111E15") becomes that number masked, like the
 * payload's; any other text has its card numbers masked in place. */
static void
normalize_mask_text(char **s)
{
	char pan[REDACT_NUMBER_MAX];
	size_t n;

	if (*s == NULL)
		return;
	n = strlen(*s);
	if (redact_number(*s, n, pan) > 0) {
		free(*s);
		*s = xstrdup(pan);
	} else {
		redact_pans(*s, n);
	}
}

/* An event id holds a card number: as digits anywhere, or as one of the
 * ':'-joined parts when that part is a number spelled otherwise. */
static bool
normalize_id_holds_card(const char *id)
{
	size_t digits = 0, len = 0, found;
	bool exponent = false;
	char pan[REDACT_NUMBER_MAX];
	char *copy;

	/* Most ids cannot hold one: fewer than 13 digits in all, and no
	 * exponent after a digit ("411111e10" spells 16 digits with 8; "E2E-"
	 * is none). */
	for (; id[len] != '\0'; len++) {
		const char *x = id + len + 1;

		if (id[len] < '0' || id[len] > '9')
			continue;
		digits++;
		if (*x == 'e' || *x == 'E') {
			x += x[1] == '+' || x[1] == '-' ? 2 : 1;
			exponent = exponent || (*x >= '0' && *x <= '9');
		}
	}
	if (digits < 13 && !exponent)
		return false;
	copy = xmalloc(len + 1);
	memcpy(copy, id, len + 1);
	/* '.' and '_' group digits in ids too ("4111_1111_1111_1111"); ':' is
	 * the join of the parts, each checked on its own below. */
	found = redact_pans_sep(copy, len, "._");
	free(copy);
	for (const char *p = id; found == 0 && p != NULL;) {
		const char *colon = strchr(p, ':');
		size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);

		found = redact_number(p, n, pan);
		p = colon != NULL ? colon + 1 : NULL;
	}
	return found > 0;
}

/* What the rules took from the (unmasked) tree is masked before it is stored;
 * an event id holding a card number becomes the SHA-256 of that id, so it
 * stays unique without revealing it. */
static void
normalize_mask_result(struct classify_result *cr)
{
	normalize_mask_text(&cr->subject);
	normalize_mask_text(&cr->status);
	normalize_mask_text(&cr->substatus);
	normalize_mask_text(&cr->canonical);
	normalize_mask_text(&cr->time);
	normalize_mask_text(&cr->type);
	/* A hash made by classify is already what a card-bearing id becomes
	 * (its hex may hold a Luhn-valid digit run by chance; that is not a card
	 * number). A sender's id that merely starts with "sha256:" is checked
	 * like any other. */
	if (!cr->id_hashed && normalize_id_holds_card(cr->event_id)) {
		char *id = classify_sha256_id(cr->event_id, strlen(cr->event_id));

		free(cr->event_id);
		cr->event_id = id;
		cr->id_hashed = true;
	}
}

/* a, b, c, d and e end to end, in a new string (xasprintf's printf costs more
 * than the rest of building the stream and seen key names). */
static char *
normalize_join(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	const char *part[5] = { a, b, c, d, e };
	size_t len[5], total = 1, at = 0;
	char *out;

	for (size_t i = 0; i < 5; i++) {
		len[i] = strlen(part[i]);
		total += len[i];
	}
	out = xmalloc(total);
	for (size_t i = 0; i < 5; i++) {
		memcpy(out + at, part[i], len[i]);
		at += len[i];
	}
	out[at] = '\0';
	return out;
}

static void
normalize_event_fill(const struct normalize_request *req, const struct classify_result *cr,
		     const char *data, size_t data_len, size_t index, size_t count,
		     struct normalize_event *ev)
{
	struct envelope_input ei = {
		.id = cr->event_id,
		.source = req->route->path,
		.type = cr->type,
		.subject = cr->subject,
		.time = cr->time,
		.category = cr->category,
		.status = cr->canonical,
		.senderstatus = cr->status,
		.sendersubstatus = cr->substatus,
		.sourceip = req->source_ip,
		.receivedat = req->received_at,
		.rule = cr->rule,
		.verifiedby = req->verified_by,
		.clientcert = req->client_cert,
		.data = data,
		.data_len = data_len,
		.batch_index = index,
		.batch_size = count,
	};

	ev->stream = normalize_join(req->cfg->stream_prefix, ":", cr->category, "", "");
	ev->event_id = xstrdup(cr->event_id);
	/* Hash-tagged to the stream's slot so the script runs on one Cluster node. */
	ev->seen_key = normalize_join("{", ev->stream, "}:seen:", ev->event_id, "");
	ev->category = cr->category;
	ev->type = xstrdup(cr->type);
	ev->envelope = envelope_build(&ei, &ev->envelope_len);
	ev->fields[0] = "event_id";
	ev->fields[1] = ev->event_id;
	ev->fields[2] = "category";
	ev->fields[3] = ev->category;
	ev->fields[4] = "type";
	ev->fields[5] = ev->type;
	ev->fields[6] = "source_ip";
	ev->fields[7] = req->source_ip;
	ev->fields[8] = "received_at";
	ev->fields[9] = req->received_at;
	ev->fields[10] = "event";
	ev->fields[11] = ev->envelope;
	for (size_t i = 0; i < NORMALIZE_FIELDS - 1; i++)
		ev->lens[i] = strlen(ev->fields[i]);
	ev->lens[NORMALIZE_FIELDS - 1] = ev->envelope_len;
}

int
normalize_request(const struct normalize_request *req, struct normalize_result *out,
		  struct normalize_error *err)
{
	struct classify_input ci;
	struct classify_result *cr;
	json_t *tree = NULL;
	char *data = NULL;
	size_t data_len = 0, n;

	memset(out, 0, sizeof(*out));
	/* Every jansson value of this request dies before it returns. */
	jsonmem_scope_begin();
	if (normalize_parse(req, &tree, &data, &data_len, &out->redactions, &out->fields_redacted,
			    err) < 0) {
		jsonmem_scope_end();
		return -EINVAL;
	}
	ci = (struct classify_input){ .body = tree,
				      .query = req->query,
				      .route_category = req->route->category,
				      .raw = req->raw,
				      .raw_len = req->raw_len };
	n = classify_run_all(req->cfg->rules, &ci, &cr);
	for (size_t i = 0; i < n; i++)
		normalize_mask_result(&cr[i]);
	out->events = xcalloc(n, sizeof(*out->events));
	out->nevents = n;
	for (size_t i = 0; i < n; i++)
		normalize_event_fill(req, &cr[i], data, data_len, i, n, &out->events[i]);
	/* The category strings of cr are borrowed from rules/route, so they
	 * outlive cr. */
	classify_results_free(cr, n);
	free(data);
	json_decref(tree);
	jsonmem_scope_end();
	return 0;
}

void
normalize_result_fini(struct normalize_result *res)
{
	for (size_t i = 0; i < res->nevents; i++) {
		struct normalize_event *ev = &res->events[i];

		free(ev->stream);
		free(ev->seen_key);
		free(ev->event_id);
		free(ev->type);
		free(ev->envelope);
	}
	free(res->events);
	memset(res, 0, sizeof(*res));
}

static bool
normalize_word_byte(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_' || c == '.' || c == '-' || c == '+';
}

/* A byte of a JSON number. */
static bool
normalize_number_byte(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* The end of the number token that starts at s[i] in an unparsed body: the
 * bytes a JSON number may hold, neither preceded nor followed by a word byte
 * (so nothing inside a word, a hex string or a date); i when there is none. */
static size_t
normalize_number_token(const char *s, size_t len, size_t i)
{
	size_t j = i;

	if (i > 0 && normalize_word_byte(s[i - 1]))
		return i;
	while (j < len && normalize_number_byte(s[j]))
		j++;
	return j < len && normalize_word_byte(s[j]) ? i : j;
}

char *
normalize_invalid_body(const char *raw, size_t len, size_t max, bool *truncated)
{
	char *copy = xmalloc(len + 1);
	char *out = xmalloc(max + 1);
	size_t o = 0, i = 0;

	memcpy(copy, raw, len);
	redact_pans(copy, len);
	*truncated = false;
	while (i < len) {
		const unsigned char *s = (const unsigned char *)copy + i;
		size_t n = utf8_seq_len(s, len - i);
		char esc[REDACT_NUMBER_MAX + 2];
		size_t elen, end;

		/* A card number the digit scan cannot see, spelled as a float
		 * ("4.111111111111111E15"), is written as the payload would store
		 * it: its value, masked, as a string. The quotes also keep its
		 * first digits from joining a digit group before it. */
		if ((*s == '-' || (*s >= '0' && *s <= '9')) &&
		    (end = normalize_number_token(copy, len, i)) > i &&
		    (elen = redact_number(copy + i, end - i, esc + 1)) > 0) {
			esc[0] = '"';
			esc[++elen] = '"';
			elen++;
			if (o + elen > max) {
				*truncated = true;
				break;
			}
			memcpy(out + o, esc, elen);
			o += elen;
			i = end;
			continue;
		}
		if (n == 1 && *s >= 0x20 && *s != 0x7f && *s != '\\') {
			esc[0] = (char)*s;
			elen = 1;
		} else if (n == 1 && *s == '\\') {
			memcpy(esc, "\\\\", 2);
			elen = 2;
		} else if (n > 1) {
			memcpy(esc, s, n);
			elen = n;
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", *s);
			elen = 4;
			n = 1;
		}
		if (o + elen > max) {
			*truncated = true;
			break;
		}
		memcpy(out + o, esc, elen);
		o += elen;
		i += n;
	}
	/* A cut inside a number or a word could leave a card number that the
	 * whole was not (the first 16 digits of a 20-digit reference, or
	 * "4.111111111111111E15" of "4.111111111111111E15a"): the number cut
	 * off at the end is left out. */
	if (*truncated && i < len && normalize_word_byte(copy[i])) {
		size_t b = o;
		bool digit = false;

		while (b > 0 && normalize_number_byte(out[b - 1])) {
			b--;
			digit |= out[b] >= '0' && out[b] <= '9';
		}
		if (digit)
			o = b;
	}
	out[o] = '\0';
	free(copy);
	return out;
}
