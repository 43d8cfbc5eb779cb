// SPDX-License-Identifier: MIT
/*
 * verify: signature secrets from configuration and the check run on every
 * request. Keys are decoded once at load time and wiped when freed; a request
 * only computes HMAC-SHA256 per secret and compares in constant time. Errors
 * never quote a secret, and request-time messages never quote the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hookstream/verify.h"
#include "hookstream/xalloc.h"

#define VERIFY_MAC_LEN	32
#define VERIFY_HEX_LEN	64
#define VERIFY_B64_LEN	44    /* padded standard base64 of 32 bytes */
#define VERIFY_FILE_MAX 65536 /* a secret file is a few dozen bytes; refuse anything large */
#define VERIFY_WHSEC	"whsec_"

/* One piece of the signed content: Standard Webhooks signs id, timestamp and body. */
struct verify_part {
	const void *data;
	size_t len;
};

const char *
verify_scheme_name(enum verify_scheme scheme)
{
	switch (scheme) {
	case VERIFY_NONE:
		return "none";
	case VERIFY_HMAC_SHA256:
		return "hmac-sha256";
	case VERIFY_STANDARD_WEBHOOKS:
		return "standard-webhooks";
	}
	return "none";
}

static bool
verify_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
verify_trim(const char **s, size_t *n)
{
	while (*n > 0 && verify_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && verify_blank((*s)[*n - 1]))
		(*n)--;
}

static int
verify_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n hex digits (n even) into out (n / 2 bytes). */
static bool
verify_hex_decode(const char *s, size_t n, unsigned char *out)
{
	if (n % 2 != 0)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = verify_hexval(s[i]), lo = verify_hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static bool
verify_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Strict padded standard base64 into out (at least n / 4 * 3 bytes). The
 * alphabet and padding are checked here because EVP_DecodeBlock is lax: it
 * skips edge whitespace, reads '=' anywhere as zero bits and counts padding
 * in its length.
 */
static bool
verify_b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
	size_t pad = 0;

	if (n == 0 || n % 4 != 0 || n > INT_MAX)
		return false;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (!verify_b64_char(s[i]))
			return false;
	if (EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) != (int)(n / 4 * 3))
		return false;
	*outlen = n / 4 * 3 - pad;
	return true;
}

/* Read a secret file into a new buffer (caller cleanses and frees). Returns
 * 0 or -errno; -EFBIG past VERIFY_FILE_MAX. */
static int
verify_read_file(const char *path, char **out, size_t *outlen)
{
	char *buf = xmalloc(VERIFY_FILE_MAX + 1);
	size_t len = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* One byte past the limit tells "exactly the limit" from "too large". */
	while (len <= VERIFY_FILE_MAX) {
		n = read(fd, buf + len, VERIFY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (rc == 0 && len > VERIFY_FILE_MAX)
		rc = -EFBIG;
out:
	if (rc < 0) {
		OPENSSL_cleanse(buf, VERIFY_FILE_MAX + 1);
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* Format "secret N[ (file PATH)]: why" into err. */
static int
verify_secret_error(char *err, size_t errlen, size_t idx, const char *path, const char *why)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "secret %zu%s%s%s: %s", idx, path ? " (file " : "",
			       path ? path : "", path ? ")" : "", why);
	return -EINVAL;
}

/*
 * Decode one trimmed secret entry (n bytes, not NUL-terminated) into sec.
 * path is the file it was read from, or NULL for configuration text.
 */
static int
verify_secret_parse(struct verify_secret *sec, enum verify_scheme scheme, const char *s, size_t n,
		    size_t idx, const char *path, char *err, size_t errlen)
{
	unsigned char *key = NULL;
	size_t keylen = 0, cap = 0;
	int rc = 0;

	if (n >= 5 && memcmp(s, "file:", 5) == 0) {
		char *file, *content = NULL;
		size_t clen = 0;

		if (path != NULL)
			return verify_secret_error(err, errlen, idx, path, "file: inside a file");
		if (n == 5)
			return verify_secret_error(err, errlen, idx, NULL, "file: without a path");
		file = xstrndup(s + 5, n - 5);
		rc = verify_read_file(file, &content, &clen);
		if (rc < 0) {
			char why[128];

			(void)snprintf(why, sizeof(why), "cannot read: %s",
				       rc == -EFBIG ? "larger than 64 KiB" : strerror(-rc));
			rc = verify_secret_error(err, errlen, idx, file, why);
			free(file);
			return rc;
		}
		/* Editors and `echo` end files with a newline that is no part of the key. */
		while (clen > 0 && (content[clen - 1] == '\n' || content[clen - 1] == '\r'))
			clen--;
		if (clen == 0)
			rc = verify_secret_error(err, errlen, idx, file, "file is empty");
		else
			rc = verify_secret_parse(sec, scheme, content, clen, idx, file, err,
						 errlen);
		OPENSSL_cleanse(content, VERIFY_FILE_MAX + 1);
		free(content);
		free(file);
		return rc;
	}

	if (scheme == VERIFY_STANDARD_WEBHOOKS) {
		size_t plen = strlen(VERIFY_WHSEC);

		if (n < plen || memcmp(s, VERIFY_WHSEC, plen) != 0)
			return verify_secret_error(err, errlen, idx, path,
						   "standard-webhooks secrets start with whsec_");
		cap = (n - plen) / 4 * 3 + 1;
		key = xmalloc(cap);
		if (!verify_b64_decode(s + plen, n - plen, key, &keylen)) {
			rc = verify_secret_error(err, errlen, idx, path,
						 "not valid base64 after whsec_");
			goto out;
		}
	} else if (n >= 7 && memcmp(s, "base64:", 7) == 0) {
		cap = (n - 7) / 4 * 3 + 1;
		key = xmalloc(cap);
		if (!verify_b64_decode(s + 7, n - 7, key, &keylen)) {
			rc = verify_secret_error(err, errlen, idx, path, "not valid base64");
			goto out;
		}
	} else if (n >= 4 && memcmp(s, "hex:", 4) == 0) {
		cap = (n - 4) / 2 + 1;
		key = xmalloc(cap);
		keylen = (n - 4) / 2;
		if (!verify_hex_decode(s + 4, n - 4, key)) {
			rc = verify_secret_error(err, errlen, idx, path, "not valid hex");
			goto out;
		}
	} else {
		cap = n;
		key = xmalloc(cap);
		memcpy(key, s, n);
		keylen = n;
	}
	if (keylen == 0)
		rc = verify_secret_error(err, errlen, idx, path, "empty key");
out:
	if (rc < 0) {
		/* A failed decode may have written part of a key. */
		OPENSSL_cleanse(key, cap);
		free(key);
		return rc;
	}
	sec->key = key;
	sec->len = keylen;
	return 0;
}

/* RFC 9110 token characters: what a header name may be made of. */
static bool
verify_header_valid(const char *name)
{
	if (*name == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p) != NULL))
			return false;
	return true;
}

static int
verify_secrets_parse(struct verify_config *cfg, const char *text, char *err, size_t errlen)
{
	const char *p = text;
	size_t idx = 1;
	int rc;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *s = p;

		verify_trim(&s, &n);
		if (n == 0)
			return verify_secret_error(err, errlen, idx, NULL, "empty");
		cfg->secrets = xrealloc(cfg->secrets, (cfg->nsecrets + 1) * sizeof(*cfg->secrets));
		rc = verify_secret_parse(&cfg->secrets[cfg->nsecrets], cfg->scheme, s, n, idx, NULL,
					 err, errlen);
		if (rc < 0)
			return rc;
		cfg->nsecrets++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
		idx++;
	}
}

static int
verify_config_error(char *err, size_t errlen, const char *why)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

int
verify_config_parse(struct verify_config *out, const char *scheme, const char *secrets,
		    const char *header, uint64_t tolerance, char *err, size_t errlen)
{
	struct verify_config cfg = { 0 };
	bool have_secrets = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if (scheme == NULL || strcmp(scheme, "none") == 0) {
		cfg.scheme = VERIFY_NONE;
	} else if (strcmp(scheme, "hmac-sha256") == 0) {
		cfg.scheme = VERIFY_HMAC_SHA256;
	} else if (strcmp(scheme, "standard-webhooks") == 0) {
		cfg.scheme = VERIFY_STANDARD_WEBHOOKS;
	} else {
		if (err != NULL && errlen > 0)
			(void)snprintf(
				err, errlen,
				"unknown scheme \"%.40s\" (none, hmac-sha256, standard-webhooks)",
				scheme);
		return -EINVAL;
	}

	if (header != NULL && *header != '\0' && cfg.scheme != VERIFY_HMAC_SHA256)
		return verify_config_error(err, errlen, "header is only used by hmac-sha256");
	if (cfg.scheme == VERIFY_HMAC_SHA256) {
		if (header == NULL || *header == '\0')
			header = VERIFY_DEFAULT_HEADER;
		if (!verify_header_valid(header))
			return verify_config_error(err, errlen,
						   "header is not a valid header name");
	}

	for (const char *p = secrets; p != NULL && *p != '\0'; p++)
		have_secrets |= !verify_blank(*p);
	if (cfg.scheme == VERIFY_NONE) {
		if (have_secrets)
			return verify_config_error(err, errlen, "secrets given but scheme is none");
		return 0;
	}
	if (!have_secrets)
		return verify_config_error(err, errlen,
					   cfg.scheme == VERIFY_HMAC_SHA256
						   ? "hmac-sha256 needs at least one secret"
						   : "standard-webhooks needs at least one secret");
	if (cfg.scheme == VERIFY_STANDARD_WEBHOOKS && tolerance == 0)
		return verify_config_error(
			err, errlen, "standard-webhooks needs a tolerance of at least 1 second");

	rc = verify_secrets_parse(&cfg, secrets, err, errlen);
	if (rc < 0) {
		verify_config_fini(&cfg);
		return rc;
	}
	if (cfg.scheme == VERIFY_HMAC_SHA256)
		cfg.header = xstrdup(header);
	cfg.tolerance = tolerance;
	*out = cfg;
	return 0;
}

void
verify_config_fini(struct verify_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nsecrets; i++) {
		OPENSSL_cleanse(cfg->secrets[i].key, cfg->secrets[i].len);
		free(cfg->secrets[i].key);
	}
	free(cfg->secrets);
	free(cfg->header);
	memset(cfg, 0, sizeof(*cfg));
}

/* HMAC-SHA256 of the concatenated parts; false only if OpenSSL fails. */
static bool
verify_mac(EVP_MAC_CTX *ctx, const struct verify_secret *sec, const struct verify_part *parts,
	   size_t nparts, unsigned char out[VERIFY_MAC_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outlen = 0;

	if (!EVP_MAC_init(ctx, sec->key, sec->len, params))
		return false;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].len > 0 && !EVP_MAC_update(ctx, parts[i].data, parts[i].len))
			return false;
	return EVP_MAC_final(ctx, out, &outlen, VERIFY_MAC_LEN) && outlen == VERIFY_MAC_LEN;
}

static bool
verify_settle(struct verify_result *res, const char *error, const char *message)
{
	res->error = error;
	res->message = message;
	return error == NULL;
}

/*
 * Try every secret against the signatures held in sigs (nsigs of
 * VERIFY_MAC_LEN bytes). Every pair is compared, so the time spent does not
 * depend on which one matched.
 */
static bool
verify_against(const struct verify_config *cfg, const struct verify_part *parts, size_t nparts,
	       const unsigned char *sigs, size_t nsigs, struct verify_result *res)
{
	unsigned char mac[VERIFY_MAC_LEN];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *hmac;
	bool match = false, ok = true;

	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac != NULL)
		ctx = EVP_MAC_CTX_new(hmac);
	if (ctx == NULL)
		ok = false;
	for (size_t i = 0; ok && i < cfg->nsecrets; i++) {
		ok = verify_mac(ctx, &cfg->secrets[i], parts, nparts, mac);
		for (size_t j = 0; ok && j < nsigs; j++)
			match |= CRYPTO_memcmp(mac, sigs + j * VERIFY_MAC_LEN, VERIFY_MAC_LEN) == 0;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	/* Fail closed: a request we could not check is not let through. */
	if (!ok)
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MISMATCH,
				     "the signature could not be computed");
	if (!match)
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MISMATCH,
				     "no configured secret produced this signature");
	return verify_settle(res, NULL, "signature verified");
}

static const char *
verify_get(const struct verify_headers *h, const char *name)
{
	if (h == NULL || h->get == NULL)
		return NULL;
	return h->get(h->arg, name);
}

static bool
verify_hmac_sha256(const struct verify_config *cfg, const struct verify_headers *h,
		   const void *body, size_t len, struct verify_result *res)
{
	struct verify_part part = { body, len };
	unsigned char sig[VERIFY_B64_LEN / 4 * 3];
	const char *v = verify_get(h, cfg->header ? cfg->header : VERIFY_DEFAULT_HEADER);
	size_t n = v ? strlen(v) : 0, siglen = 0;

	verify_trim(&v, &n);
	if (n == 0)
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MISSING,
				     "the signature header is missing or empty");
	/* GitHub and others write "sha256=<hex>"; the prefix names the algorithm. */
	if (n >= 7 && strncasecmp(v, "sha256=", 7) == 0) {
		v += 7;
		n -= 7;
	}
	if (n == VERIFY_HEX_LEN) {
		if (!verify_hex_decode(v, n, sig))
			return verify_settle(res, VERIFY_ERR_SIGNATURE_MALFORMED,
					     "the signature is not valid hex");
	} else if (n == VERIFY_B64_LEN) {
		if (!verify_b64_decode(v, n, sig, &siglen) || siglen != VERIFY_MAC_LEN)
			return verify_settle(res, VERIFY_ERR_SIGNATURE_MALFORMED,
					     "the signature is not valid base64");
	} else {
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MALFORMED,
				     "the signature is neither 64 hex digits nor 44 base64 "
				     "characters");
	}
	return verify_against(cfg, &part, 1, sig, 1, res);
}

/* Decimal digits only, as the spec writes it; false on anything else or overflow. */
static bool
verify_parse_timestamp(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

/* Next space-separated token of [*p, end), or false at the end. */
static bool
verify_next_token(const char **p, const char *end, const char **tok, size_t *n)
{
	while (*p < end && verify_blank(**p))
		(*p)++;
	if (*p == end)
		return false;
	*tok = *p;
	while (*p < end && !verify_blank(**p))
		(*p)++;
	*n = (size_t)(*p - *tok);
	return true;
}

static bool
verify_standard_webhooks(const struct verify_config *cfg, const struct verify_headers *h,
			 const void *body, size_t len, int64_t now, struct verify_result *res)
{
	const char *id = verify_get(h, "webhook-id"), *ts = verify_get(h, "webhook-timestamp");
	const char *sig = verify_get(h, "webhook-signature"), *p, *end, *tok;
	size_t siglen = sig ? strlen(sig) : 0, ntok, nsigs = 0, cap = 0, nv1 = 0, declen;
	unsigned char *sigs = NULL, one[VERIFY_B64_LEN / 4 * 3];
	char tsbuf[24];
	int64_t when;
	uint64_t skew;
	bool ok;

	if (id == NULL || *id == '\0')
		return verify_settle(res, VERIFY_ERR_ID_MISSING,
				     "the webhook-id header is missing or empty");
	if (ts == NULL || *ts == '\0')
		return verify_settle(res, VERIFY_ERR_TIMESTAMP_MISSING,
				     "the webhook-timestamp header is missing or empty");
	verify_trim(&sig, &siglen);
	if (siglen == 0)
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MISSING,
				     "the webhook-signature header is missing or empty");
	if (!verify_parse_timestamp(ts, &when))
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MALFORMED,
				     "webhook-timestamp is not decimal Unix seconds");
	/* Unsigned differences cannot overflow, whatever the clock says. */
	if (when <= now) {
		skew = (uint64_t)now - (uint64_t)when;
		if (skew > cfg->tolerance)
			return verify_settle(res, VERIFY_ERR_SIGNATURE_EXPIRED,
					     "webhook-timestamp is too far in the past");
	} else {
		skew = (uint64_t)when - (uint64_t)now;
		if (skew > cfg->tolerance)
			return verify_settle(res, VERIFY_ERR_SIGNATURE_EXPIRED,
					     "webhook-timestamp is too far in the future");
	}

	/* Decode the v1 entries once; other versions belong to other algorithms. */
	end = sig + siglen;
	for (p = sig; verify_next_token(&p, end, &tok, &ntok);) {
		if (ntok < 3 || memcmp(tok, "v1,", 3) != 0)
			continue;
		nv1++;
		if (ntok - 3 != VERIFY_B64_LEN)
			continue;
		if (!verify_b64_decode(tok + 3, ntok - 3, one, &declen) || declen != VERIFY_MAC_LEN)
			continue;
		if (nsigs == cap) {
			cap = cap ? 2 * cap : 4;
			sigs = xrealloc(sigs, cap * VERIFY_MAC_LEN);
		}
		memcpy(sigs + nsigs++ * VERIFY_MAC_LEN, one, VERIFY_MAC_LEN);
	}
	if (nsigs == 0) {
		free(sigs);
		return verify_settle(res, VERIFY_ERR_SIGNATURE_MALFORMED,
				     nv1 == 0 ? "webhook-signature holds no v1 signature"
					      : "no v1 signature in webhook-signature is 44 "
						"characters of base64");
	}

	/* The reference libraries sign the timestamp as they parsed it, so do we. */
	(void)snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, when);
	{
		const struct verify_part parts[] = {
			{ id, strlen(id) }, { ".", 1 },	   { tsbuf, strlen(tsbuf) },
			{ ".", 1 },	    { body, len },
		};

		ok = verify_against(cfg, parts, HS_ARRAY_LEN(parts), sigs, nsigs, res);
	}
	free(sigs);
	return ok;
}

bool
verify_request(const struct verify_config *cfg, const struct verify_headers *h, const void *body,
	       size_t len, int64_t now, struct verify_result *res)
{
	enum verify_scheme scheme = cfg ? cfg->scheme : VERIFY_NONE;

	res->scheme = verify_scheme_name(scheme);
	switch (scheme) {
	case VERIFY_NONE:
		return verify_settle(res, NULL, "signature verification is off");
	case VERIFY_HMAC_SHA256:
		return verify_hmac_sha256(cfg, h, body, len, res);
	case VERIFY_STANDARD_WEBHOOKS:
		return verify_standard_webhooks(cfg, h, body, len, now, res);
	}
	return verify_settle(res, VERIFY_ERR_SIGNATURE_MISMATCH, "unknown verification scheme");
}
