// SPDX-License-Identifier: MIT
/*
 * fuzz_verify: libFuzzer target for signature verification. The input is
 * split at newlines into X-Signature, webhook-id, webhook-timestamp and
 * webhook-signature values, the rest being the body; both signing schemes
 * check it against fixed secrets. Every outcome must be a known code with a
 * static message; the first line is also parsed as a secrets list.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hookstream/verify.h"
#include "hookstream/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_verify: " __VA_ARGS__);                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The Standard Webhooks test vector's secret and time, so its seed verifies. */
#define FUZZ_SW_SECRETS	  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,whsec_AAECAwQFBgcICQoLDA0ODxAREhMU"
#define FUZZ_SW_NOW	  INT64_C(1614265330)
#define FUZZ_HMAC_SECRETS "fuzz-secret,hex:00ff10"

enum { FUZZ_SIG, FUZZ_ID, FUZZ_TS, FUZZ_SW_SIG, FUZZ_NHEADERS };

static const char *const fuzz_names[FUZZ_NHEADERS] = { "X-Signature", "webhook-id",
						       "webhook-timestamp", "webhook-signature" };

struct fuzz_headers {
	char *value[FUZZ_NHEADERS]; /* NULL: the input ended before this line */
};

static const char *
fuzz_get_cb(void *arg, const char *name)
{
	const struct fuzz_headers *h = arg;

	for (size_t i = 0; i < FUZZ_NHEADERS; i++)
		if (strcasecmp(fuzz_names[i], name) == 0)
			return h->value[i];
	CHECK(false, "lookup of unexpected header \"%s\"", name);
	return NULL;
}

static void
fuzz_check(bool ok, const struct verify_result *res, const char *scheme)
{
	static const char *codes[] = {
		VERIFY_ERR_SIGNATURE_MISSING,  VERIFY_ERR_SIGNATURE_MALFORMED,
		VERIFY_ERR_SIGNATURE_MISMATCH, VERIFY_ERR_SIGNATURE_EXPIRED,
		VERIFY_ERR_TIMESTAMP_MISSING,  VERIFY_ERR_ID_MISSING,
	};
	bool known = false;

	CHECK(ok == (res->error == NULL), "returned %d with error %s", ok, res->error);
	CHECK(res->message != NULL && res->message[0] != '\0', "no message");
	CHECK(res->scheme != NULL && strcmp(res->scheme, scheme) == 0, "scheme %s, not %s",
	      res->scheme, scheme);
	if (ok)
		return;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		known |= strcmp(res->error, codes[i]) == 0;
	CHECK(known, "unknown code %s", res->error);
}

/* Any secrets text without file: must parse or fail cleanly. */
static void
fuzz_config(const char *scheme, const char *secrets)
{
	struct verify_config cfg;
	char err[128];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = verify_config_parse(&cfg, scheme, secrets, NULL, 300, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL, "rc %d", rc);
	CHECK(memchr(err, '\0', sizeof(err)) != NULL, "error unterminated");
	if (rc == 0)
		CHECK(cfg.nsecrets > 0 && cfg.secrets[0].len > 0, "parsed without a key");
	else
		CHECK(cfg.secrets == NULL && cfg.nsecrets == 0 && cfg.header == NULL,
		      "failed parse left a config");
	verify_config_fini(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct verify_config hmac, sw;
	static bool ready;
	const char *p = (const char *)data, *end = p + size;
	struct fuzz_headers fh = { { NULL } };
	struct verify_headers h = { fuzz_get_cb, &fh };
	struct verify_result res;
	bool ok;

	if (!ready) {
		char err[128];

		CHECK(verify_config_parse(&hmac, "hmac-sha256", FUZZ_HMAC_SECRETS, NULL, 0, err,
					  sizeof(err)) == 0,
		      "hmac config: %s", err);
		CHECK(verify_config_parse(&sw, "standard-webhooks", FUZZ_SW_SECRETS, NULL, 300, err,
					  sizeof(err)) == 0,
		      "standard-webhooks config: %s", err);
		ready = true;
	}

	for (size_t i = 0; i < FUZZ_NHEADERS && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		fh.value[i] = xstrndup(p, n);
		p += n + (nl != NULL);
	}

	ok = verify_request(&hmac, &h, p, (size_t)(end - p), FUZZ_SW_NOW, &res);
	fuzz_check(ok, &res, "hmac-sha256");
	ok = verify_request(&sw, &h, p, (size_t)(end - p), FUZZ_SW_NOW, &res);
	fuzz_check(ok, &res, "standard-webhooks");
	/* Clock extremes must not wrap the tolerance check; no timestamp is that old. */
	ok = verify_request(&sw, &h, p, (size_t)(end - p), INT64_MIN, &res);
	fuzz_check(ok, &res, "standard-webhooks");
	CHECK(!ok, "passed at INT64_MIN");
	ok = verify_request(&sw, &h, p, (size_t)(end - p), INT64_MAX, &res);
	fuzz_check(ok, &res, "standard-webhooks");

	if (fh.value[0] != NULL && strstr(fh.value[0], "file:") == NULL) {
		fuzz_config("hmac-sha256", fh.value[0]);
		fuzz_config("standard-webhooks", fh.value[0]);
	}
	for (size_t i = 0; i < FUZZ_NHEADERS; i++)
		free(fh.value[i]);
	return 0;
}
