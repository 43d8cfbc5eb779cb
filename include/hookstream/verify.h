/* SPDX-License-Identifier: MIT */
/*
 * verify: webhook signature verification. Parses the [verify] secrets and
 * scheme at load time and checks each request's signature headers against the
 * raw body: a plain HMAC-SHA256 header, or Standard Webhooks v1
 * (standardwebhooks.com). Pure: no logging, no event loop; file: secrets are
 * read only while parsing configuration.
 */
#ifndef HOOKSTREAM_VERIFY_H
#define HOOKSTREAM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/compiler.h"

#define VERIFY_DEFAULT_HEADER	 "X-Signature"
#define VERIFY_DEFAULT_TOLERANCE 300 /* seconds; what the Standard Webhooks spec suggests */

/* The error codes of struct verify_result; the server answers each with 401. */
#define VERIFY_ERR_SIGNATURE_MISSING   "signature_missing"
#define VERIFY_ERR_SIGNATURE_MALFORMED "signature_malformed"
#define VERIFY_ERR_SIGNATURE_MISMATCH  "signature_mismatch"
#define VERIFY_ERR_SIGNATURE_EXPIRED   "signature_expired"
#define VERIFY_ERR_TIMESTAMP_MISSING   "timestamp_missing"
#define VERIFY_ERR_ID_MISSING	       "id_missing"

enum verify_scheme { VERIFY_NONE = 0, VERIFY_HMAC_SHA256, VERIFY_STANDARD_WEBHOOKS };

struct verify_secret {
	unsigned char *key; /* owned; never empty */
	size_t len;
};

struct verify_config {
	enum verify_scheme scheme;
	struct verify_secret *secrets; /* owned; several are accepted at once (rotation) */
	size_t nsecrets;
	char *header;	    /* hmac-sha256: the header carrying the signature (owned), else NULL */
	uint64_t tolerance; /* seconds; timestamped schemes */
};

/*
 * Parse configuration text into *out.
 *
 * scheme: "none", "hmac-sha256" or "standard-webhooks"; NULL means "none".
 *
 * secrets: comma-separated; blanks around each entry are trimmed, so a literal
 * secret holding a comma or edge blanks must be given another way. Each entry
 * is literal text, "base64:<standard base64>", "hex:<hex>", or "file:/path"
 * (the file is read now, trailing CR/LF stripped, and its content read by the
 * same rules; file: inside a file is an error). For standard-webhooks every
 * secret must be "whsec_<base64>" (possibly from a file) and the key is the
 * decoded bytes. An empty key is an error. NULL or "" means no secrets.
 *
 * header: hmac-sha256 only; NULL or "" means VERIFY_DEFAULT_HEADER. Giving one
 * for another scheme is an error, as are secrets with scheme none and a signing
 * scheme without secrets.
 *
 * tolerance: standard-webhooks accepts timestamps within now +/- tolerance
 * seconds; 0 is an error for that scheme (the caller passes
 * VERIFY_DEFAULT_TOLERANCE when the operator set nothing). Ignored otherwise.
 *
 * Returns 0 with *out filled (caller calls verify_config_fini), or -EINVAL
 * with a message in err (errlen bytes, always NUL-terminated when errlen > 0)
 * and *out zeroed. The message names the secret by position ("secret 2: not
 * valid base64") and never quotes secret material; it may quote a file: path.
 */
HS_WUR int verify_config_parse(struct verify_config *out, const char *scheme, const char *secrets,
			       const char *header, uint64_t tolerance, char *err, size_t errlen);

/* Wipe the keys (OPENSSL_cleanse), free everything and zero *cfg. NULL-safe. */
void verify_config_fini(struct verify_config *cfg);

/* "none", "hmac-sha256" or "standard-webhooks" (static). */
const char *verify_scheme_name(enum verify_scheme scheme);

/* Header lookup supplied by the caller: returns the value (borrowed until
 * verify_request returns) or NULL. Names must match case-insensitively. */
struct verify_headers {
	const char *(*get)(void *arg, const char *name);
	void *arg;
};

struct verify_result {
	const char *error;   /* NULL when the request may pass; else a VERIFY_ERR_* code */
	const char *message; /* static human text; never quotes the request */
	const char *scheme;  /* static: "hmac-sha256" / "standard-webhooks" / "none" */
};

/*
 * Verify body (len bytes, may be NULL when len is 0) against cfg at time now
 * (Unix seconds). A NULL cfg means scheme none. Returns true when the request
 * may pass (verified, or scheme none); *res is always filled.
 *
 * hmac-sha256: the header holds HMAC-SHA256(secret, body) as 64 hex digits
 * (either case) or 44 characters of padded standard base64, optionally after
 * "sha256=" (any case), with surrounding blanks ignored.
 *
 * standard-webhooks: webhook-id, webhook-timestamp (decimal Unix seconds) and
 * webhook-signature (space-separated "v1,<base64>" entries; other versions
 * are ignored) over "<id>.<timestamp>.<body>".
 *
 * Every MAC is compared in constant time; any secret matching any signature
 * passes.
 */
bool verify_request(const struct verify_config *cfg, const struct verify_headers *h,
		    const void *body, size_t len, int64_t now, struct verify_result *res);

#endif
