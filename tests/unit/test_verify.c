// SPDX-License-Identifier: MIT
/*
 * test_verify: unit tests for signature verification. Expected MACs are made
 * here with OpenSSL's HMAC() one-shot, apart from the streaming code under
 * test; published vectors (Standard Webhooks, GitHub's docs) pin both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hookstream/compiler.h"
#include "hookstream/verify.h"

/* The Standard Webhooks reference libraries' test vector. */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID	  "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS	  "1614265330"
#define SW_NOW	  INT64_C(1614265330)
#define SW_BODY	  "{\"test\": 2432232314}"
#define SW_SIG	  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

#define OK NULL /* expected error code of a request that passes */

struct hdrs {
	const char *name[4];
	const char *value[4];
};

static const char *
hdrs_get_cb(void *arg, const char *name)
{
	const struct hdrs *h = arg;

	for (size_t i = 0; i < HS_ARRAY_LEN(h->name); i++)
		if (h->name[i] != NULL && strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* HMAC-SHA256 of body under key as hex (65 bytes) or base64 (45 bytes). */
static void
mac_hex(const char *key, const void *body, size_t len, char *out, bool upper)
{
	unsigned char mac[32];
	unsigned int maclen = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key), body, len, mac, &maclen));
	assert_int_equal(maclen, 32);
	hex_encode(mac, 32, out, upper);
}

static void
mac_b64(const void *key, size_t keylen, const void *body, size_t len, char *out)
{
	unsigned char mac[32];
	unsigned int maclen = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)keylen, body, len, mac, &maclen));
	assert_int_equal(EVP_EncodeBlock((unsigned char *)out, mac, 32), 44);
}

static void
parse_ok(struct verify_config *cfg, const char *scheme, const char *secrets, const char *header,
	 uint64_t tolerance)
{
	char err[256] = "";
	int rc = verify_config_parse(cfg, scheme, secrets, header, tolerance, err, sizeof(err));

	if (rc != 0)
		fail_msg("verify_config_parse(%s): %d %s", scheme, rc, err);
}

/* Parse must fail with a message holding want and none of the secret text. */
static void
parse_fails(const char *scheme, const char *secrets, const char *header, uint64_t tolerance,
	    const char *want, const char *secret)
{
	struct verify_config cfg;
	char err[256] = "";
	int rc = verify_config_parse(&cfg, scheme, secrets, header, tolerance, err, sizeof(err));

	if (rc != -EINVAL)
		fail_msg("expected -EINVAL for \"%s\", got %d", want, rc);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	if (secret != NULL && strstr(err, secret) != NULL)
		fail_msg("error \"%s\" quotes the secret \"%s\"", err, secret);
	assert_int_equal(cfg.scheme, VERIFY_NONE);
	assert_null(cfg.secrets);
	assert_int_equal(cfg.nsecrets, 0);
	assert_null(cfg.header);
}

/* Run a request and check its outcome: code is the error code or OK. */
#define EXPECT(cfg, h, body, len, now, code) expect_at(__LINE__, cfg, h, body, len, now, code)

static void
expect_at(int line, const struct verify_config *cfg, struct hdrs *h, const void *body, size_t len,
	  int64_t now, const char *code)
{
	struct verify_headers vh = { hdrs_get_cb, h };
	struct verify_result res = { "unset", "unset", "unset" };
	bool ok = verify_request(cfg, &vh, body, len, now, &res);

	assert_non_null(res.message);
	assert_non_null(res.scheme);
	if (ok != (res.error == NULL))
		fail_msg("line %d: returned %d with error %s", line, ok, res.error);
	if (code == OK && !ok)
		fail_msg("line %d: expected a pass, got %s (%s)", line, res.error, res.message);
	if (code != OK && (ok || res.error == NULL || strcmp(res.error, code) != 0))
		fail_msg("line %d: expected %s, got %s (%s)", line, code, ok ? "a pass" : res.error,
			 res.message);
}

/* hmac-sha256 with one "X-Signature" header of the given value. */
static void
hmac_expect(const struct verify_config *cfg, const char *value, const char *body, const char *code,
	    int line)
{
	struct hdrs h = { { "x-signature" }, { value } };

	expect_at(line, cfg, &h, body, strlen(body), 0, code);
}

#define HMAC_EXPECT(cfg, value, body, code) hmac_expect(cfg, value, body, code, __LINE__)

static void
test_hmac_encodings(void **state)
{
	const char *body = "{\"event\":\"paid\"}";
	struct verify_config cfg;
	char hex[65], up[65], b64[45], buf[128];

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "s3cret", NULL, 0);
	assert_string_equal(cfg.header, "X-Signature");
	mac_hex("s3cret", body, strlen(body), hex, false);
	mac_hex("s3cret", body, strlen(body), up, true);
	mac_b64("s3cret", 6, body, strlen(body), b64);

	HMAC_EXPECT(&cfg, hex, body, OK);
	HMAC_EXPECT(&cfg, up, body, OK);
	HMAC_EXPECT(&cfg, b64, body, OK);
	(void)snprintf(buf, sizeof(buf), "sha256=%s", hex);
	HMAC_EXPECT(&cfg, buf, body, OK);
	(void)snprintf(buf, sizeof(buf), "SHA256=%s", b64);
	HMAC_EXPECT(&cfg, buf, body, OK);
	(void)snprintf(buf, sizeof(buf), " \t sha256=%s \t", hex);
	HMAC_EXPECT(&cfg, buf, body, OK);
	(void)snprintf(buf, sizeof(buf), "  %s  ", b64);
	HMAC_EXPECT(&cfg, buf, body, OK);
	/* Same MAC, another body. */
	HMAC_EXPECT(&cfg, hex, "{\"event\":\"paie\"}", VERIFY_ERR_SIGNATURE_MISMATCH);
	verify_config_fini(&cfg);
}

/* The example in GitHub's "Validating webhook deliveries" documentation. */
static void
test_hmac_github_vector(void **state)
{
	struct verify_config cfg;

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "It's a Secret to Everybody", "X-Hub-Signature-256", 0);
	{
		struct hdrs h = {
			{ "X-HUB-SIGNATURE-256" },
			{ "sha256="
			  "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" }
		};

		EXPECT(&cfg, &h, "Hello, World!", 13, 0, OK);
		EXPECT(&cfg, &h, "Hello, World?", 13, 0, VERIFY_ERR_SIGNATURE_MISMATCH);
	}
	{
		/* The configured header is the one read, not the default. */
		struct hdrs h = {
			{ "X-Signature" },
			{ "sha256="
			  "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" }
		};

		EXPECT(&cfg, &h, "Hello, World!", 13, 0, VERIFY_ERR_SIGNATURE_MISSING);
	}
	verify_config_fini(&cfg);
}

static void
test_hmac_wrong_secret(void **state)
{
	struct verify_config cfg;
	char hex[65];

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "right", NULL, 0);
	mac_hex("wrong", "body", 4, hex, false);
	HMAC_EXPECT(&cfg, hex, "body", VERIFY_ERR_SIGNATURE_MISMATCH);
	verify_config_fini(&cfg);
}

static void
test_hmac_rotation(void **state)
{
	struct verify_config both, old_only, new_only;
	char old_sig[65], new_sig[65], other[65];

	(void)state;
	parse_ok(&both, "hmac-sha256", "old-secret , new-secret", NULL, 0);
	assert_int_equal(both.nsecrets, 2);
	parse_ok(&old_only, "hmac-sha256", "old-secret", NULL, 0);
	parse_ok(&new_only, "hmac-sha256", "new-secret", NULL, 0);
	mac_hex("old-secret", "b", 1, old_sig, false);
	mac_hex("new-secret", "b", 1, new_sig, false);
	mac_hex("third", "b", 1, other, false);

	HMAC_EXPECT(&both, old_sig, "b", OK);
	HMAC_EXPECT(&both, new_sig, "b", OK);
	HMAC_EXPECT(&both, other, "b", VERIFY_ERR_SIGNATURE_MISMATCH);
	HMAC_EXPECT(&old_only, old_sig, "b", OK);
	HMAC_EXPECT(&old_only, new_sig, "b", VERIFY_ERR_SIGNATURE_MISMATCH);
	HMAC_EXPECT(&new_only, new_sig, "b", OK);
	HMAC_EXPECT(&new_only, old_sig, "b", VERIFY_ERR_SIGNATURE_MISMATCH);
	verify_config_fini(&both);
	verify_config_fini(&old_only);
	verify_config_fini(&new_only);
}

static void
test_hmac_missing(void **state)
{
	struct verify_config cfg;
	struct hdrs none = { { NULL }, { NULL } };

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "k", NULL, 0);
	EXPECT(&cfg, &none, "x", 1, 0, VERIFY_ERR_SIGNATURE_MISSING);
	HMAC_EXPECT(&cfg, "", "x", VERIFY_ERR_SIGNATURE_MISSING);
	HMAC_EXPECT(&cfg, " \t ", "x", VERIFY_ERR_SIGNATURE_MISSING);
	{
		struct verify_headers vh = { NULL, NULL };
		struct verify_result res;

		assert_false(verify_request(&cfg, &vh, "x", 1, 0, &res));
		assert_string_equal(res.error, VERIFY_ERR_SIGNATURE_MISSING);
		assert_false(verify_request(&cfg, NULL, "x", 1, 0, &res));
		assert_string_equal(res.error, VERIFY_ERR_SIGNATURE_MISSING);
		assert_string_equal(res.scheme, "hmac-sha256");
	}
	verify_config_fini(&cfg);
}

static void
test_hmac_malformed(void **state)
{
	struct verify_config cfg;
	char hex[65], b64[45], buf[128];

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "k", NULL, 0);
	mac_hex("k", "x", 1, hex, false);
	mac_b64("k", 1, "x", 1, b64);
	HMAC_EXPECT(&cfg, hex, "x", OK);

	/* odd hex: one digit short */
	(void)snprintf(buf, sizeof(buf), "%.63s", hex);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* right length, not hex */
	(void)snprintf(buf, sizeof(buf), "%.62szz", hex);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* right length, not base64 */
	(void)snprintf(buf, sizeof(buf), "!%s", b64 + 1);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* padding inside the text */
	(void)snprintf(buf, sizeof(buf), "%s", b64);
	buf[10] = '=';
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* unpadded base64 is not accepted */
	(void)snprintf(buf, sizeof(buf), "%.43s", b64);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* 44 characters of base64 that decode to 33 bytes */
	HMAC_EXPECT(&cfg, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x",
		    VERIFY_ERR_SIGNATURE_MALFORMED);
	/* wrong lengths */
	HMAC_EXPECT(&cfg, "abcdef", "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	HMAC_EXPECT(&cfg, "sha256=", "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	(void)snprintf(buf, sizeof(buf), "%s00", hex);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* blanks inside are not trimmed */
	(void)snprintf(buf, sizeof(buf), "sha256= %s", hex);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	/* another algorithm's prefix */
	(void)snprintf(buf, sizeof(buf), "sha1=%s", hex);
	HMAC_EXPECT(&cfg, buf, "x", VERIFY_ERR_SIGNATURE_MALFORMED);
	verify_config_fini(&cfg);
}

static void
test_hmac_empty_body(void **state)
{
	struct verify_config cfg;
	char hex[65];

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "k", NULL, 0);
	mac_hex("k", "", 0, hex, false);
	{
		struct hdrs h = { { "X-Signature" }, { hex } };

		EXPECT(&cfg, &h, NULL, 0, 0, OK);
		EXPECT(&cfg, &h, "", 0, 0, OK);
		EXPECT(&cfg, &h, "\0", 1, 0, VERIFY_ERR_SIGNATURE_MISMATCH);
	}
	verify_config_fini(&cfg);
}

/* Bodies are bytes: a NUL inside is signed like any other byte. */
static void
test_hmac_binary_body(void **state)
{
	static const char body[] = { 'a', '\0', 'b', '\xff' };
	struct verify_config cfg;
	char hex[65];

	(void)state;
	parse_ok(&cfg, "hmac-sha256", "k", NULL, 0);
	mac_hex("k", body, sizeof(body), hex, false);
	{
		struct hdrs h = { { "X-Signature" }, { hex } };

		EXPECT(&cfg, &h, body, sizeof(body), 0, OK);
		EXPECT(&cfg, &h, body, 1, 0, VERIFY_ERR_SIGNATURE_MISMATCH);
	}
	verify_config_fini(&cfg);
}

static void
test_secret_encodings(void **state)
{
	static const unsigned char raw[] = { 0x00, 0x01, 0xfe, 0xff, 'k' };
	struct verify_config cfg;
	char b64[45];

	(void)state;
	mac_b64(raw, sizeof(raw), "x", 1, b64);
	parse_ok(&cfg, "hmac-sha256", "hex:0001FEff6b", NULL, 0);
	assert_int_equal(cfg.secrets[0].len, sizeof(raw));
	assert_memory_equal(cfg.secrets[0].key, raw, sizeof(raw));
	HMAC_EXPECT(&cfg, b64, "x", OK);
	verify_config_fini(&cfg);

	parse_ok(&cfg, "hmac-sha256", "base64:AAH+/2s=", NULL, 0);
	assert_int_equal(cfg.secrets[0].len, sizeof(raw));
	assert_memory_equal(cfg.secrets[0].key, raw, sizeof(raw));
	HMAC_EXPECT(&cfg, b64, "x", OK);
	verify_config_fini(&cfg);

	/* A whsec_ secret is literal text for hmac-sha256. */
	parse_ok(&cfg, "hmac-sha256", "whsec_abc", NULL, 0);
	assert_int_equal(cfg.secrets[0].len, 9);
	assert_memory_equal(cfg.secrets[0].key, "whsec_abc", 9);
	verify_config_fini(&cfg);
}

/* Write content to a new temporary file; its path goes to path (64 bytes). */
static void
temp_file(char *path, const char *content)
{
	int fd;

	(void)snprintf(path, 64, "/tmp/test_verify.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(close(fd), 0);
}

static void
test_secret_files(void **state)
{
	char lit[64], hex[64], crlf[64], inner[64], empty[64], spec[256], mac[65];
	struct verify_config cfg;

	(void)state;
	temp_file(lit, "file-secret\n");
	temp_file(hex, "hex:6b6579\n");
	temp_file(crlf, "crlf-secret\r\n");
	temp_file(inner, "file:/etc/hostname\n");
	temp_file(empty, "\n");

	(void)snprintf(spec, sizeof(spec), "file:%s, file:%s ,file:%s", lit, hex, crlf);
	parse_ok(&cfg, "hmac-sha256", spec, NULL, 0);
	assert_int_equal(cfg.nsecrets, 3);
	assert_int_equal(cfg.secrets[0].len, 11);
	assert_memory_equal(cfg.secrets[0].key, "file-secret", 11);
	assert_int_equal(cfg.secrets[1].len, 3);
	assert_memory_equal(cfg.secrets[1].key, "key", 3);
	assert_int_equal(cfg.secrets[2].len, 11);
	assert_memory_equal(cfg.secrets[2].key, "crlf-secret", 11);
	mac_hex("file-secret", "x", 1, mac, false);
	HMAC_EXPECT(&cfg, mac, "x", OK);
	mac_hex("key", "x", 1, mac, false);
	HMAC_EXPECT(&cfg, mac, "x", OK);
	mac_hex("file-secret\n", "x", 1, mac, false);
	HMAC_EXPECT(&cfg, mac, "x", VERIFY_ERR_SIGNATURE_MISMATCH);
	verify_config_fini(&cfg);

	(void)snprintf(spec, sizeof(spec), "a,file:%s", inner);
	parse_fails("hmac-sha256", spec, NULL, 0, "secret 2 (file /tmp/test_verify.", NULL);
	parse_fails("hmac-sha256", spec, NULL, 0, "file: inside a file", NULL);
	(void)snprintf(spec, sizeof(spec), "file:%s", empty);
	parse_fails("hmac-sha256", spec, NULL, 0, "file is empty", NULL);
	parse_fails("hmac-sha256", "file:/nonexistent/verify-secret", NULL, 0,
		    "secret 1 (file /nonexistent/verify-secret): cannot read: No such file", NULL);
	parse_fails("hmac-sha256", "file:", NULL, 0, "file: without a path", NULL);

	unlink(lit);
	unlink(hex);
	unlink(crlf);
	unlink(inner);
	unlink(empty);
}

/* A bad secret read from a file is not quoted either. */
static void
test_secret_file_not_quoted(void **state)
{
	char path[64], spec[128];

	(void)state;
	temp_file(path, "hex:d0d0-leaky-d0d0\n");
	(void)snprintf(spec, sizeof(spec), "file:%s", path);
	parse_fails("hmac-sha256", spec, NULL, 0, "not valid hex", "leaky");
	unlink(path);

	temp_file(path, "not-a-whsec-leaky\n");
	(void)snprintf(spec, sizeof(spec), "file:%s", path);
	parse_fails("standard-webhooks", spec, NULL, 300, "start with whsec_", "leaky");
	unlink(path);
}

static void
test_config_errors(void **state)
{
	(void)state;
	parse_fails("none", "hunter2", NULL, 0, "secrets given but scheme is none", "hunter2");
	parse_fails(NULL, "hunter2", NULL, 0, "secrets given but scheme is none", "hunter2");
	parse_fails("hmac-sha256", NULL, NULL, 0, "needs at least one secret", NULL);
	parse_fails("hmac-sha256", " ", NULL, 0, "needs at least one secret", NULL);
	parse_fails("standard-webhooks", "", NULL, 300, "needs at least one secret", NULL);
	parse_fails("hmac-sha1", "k", NULL, 0, "unknown scheme", NULL);
	parse_fails("", "k", NULL, 0, "unknown scheme", NULL);
	parse_fails("hmac-sha256", "hunter2,,other", NULL, 0, "secret 2: empty", "hunter2");
	parse_fails("hmac-sha256", "hunter2,", NULL, 0, "secret 2: empty", "hunter2");
	parse_fails("hmac-sha256", "ok,base64:hunter2!", NULL, 0, "secret 2: not valid base64",
		    "hunter2");
	parse_fails("hmac-sha256", "base64:aHVudGVyMg", NULL, 0, "secret 1: not valid base64",
		    "aHVudGVyMg");
	parse_fails("hmac-sha256", "a,b,hex:abc", NULL, 0, "secret 3: not valid hex", "abc");
	parse_fails("hmac-sha256", "hex:zz11", NULL, 0, "secret 1: not valid hex", "zz11");
	parse_fails("hmac-sha256", "hex:", NULL, 0, "secret 1: empty key", NULL);
	parse_fails("hmac-sha256", "k", "X Signature", 0, "not a valid header name", NULL);
	parse_fails("hmac-sha256", "k", "X-Sig:", 0, "not a valid header name", NULL);
	parse_fails("standard-webhooks", SW_SECRET, "X-Signature", 300, "only used by hmac-sha256",
		    "MfKQ9r8");
	parse_fails("none", NULL, "X-Signature", 0, "only used by hmac-sha256", NULL);
	parse_fails("standard-webhooks", SW_SECRET, NULL, 0, "tolerance", "MfKQ9r8");
}

static void
test_config_whsec_errors(void **state)
{
	(void)state;
	/* the base64 without its whsec_ prefix */
	parse_fails("standard-webhooks", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL, 300,
		    "secret 1: standard-webhooks secrets start with whsec_", "MfKQ9r8");
	parse_fails("standard-webhooks", SW_SECRET ",base64:MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL,
		    300, "secret 2: standard-webhooks secrets start with whsec_", "MfKQ9r8");
	parse_fails("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", NULL, 300,
		    "secret 1: not valid base64 after whsec_", "MfKQ9r8");
	parse_fails("standard-webhooks", "whsec_", NULL, 300, "secret 1: not valid base64", NULL);
	parse_fails("standard-webhooks", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL, 300,
		    "start with whsec_", "MfKQ9r8");
}

/* A short or absent error buffer is not overrun. */
static void
test_config_error_buffer(void **state)
{
	struct verify_config cfg;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(verify_config_parse(&cfg, "none", "k", NULL, 0, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "secrets");
	assert_int_equal(verify_config_parse(&cfg, "bogus", NULL, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(verify_config_parse(&cfg, "hmac-sha256", "hex:1", NULL, 0, err, 0),
			 -EINVAL);
}

static void
test_config_fini_twice(void **state)
{
	struct verify_config cfg;

	(void)state;
	verify_config_fini(NULL);
	parse_ok(&cfg, "hmac-sha256", "a,b", "X-Hook-Sig", 0);
	assert_string_equal(cfg.header, "X-Hook-Sig");
	verify_config_fini(&cfg);
	assert_null(cfg.secrets);
	assert_null(cfg.header);
	verify_config_fini(&cfg);
}

static void
test_none_passes(void **state)
{
	struct verify_config cfg;
	struct verify_result res;
	struct hdrs h = { { "X-Signature", "webhook-signature" }, { "garbage", "v1,garbage" } };

	(void)state;
	parse_ok(&cfg, "none", NULL, NULL, 0);
	assert_int_equal(cfg.scheme, VERIFY_NONE);
	EXPECT(&cfg, &h, "anything", 8, 0, OK);
	EXPECT(&cfg, &h, NULL, 0, INT64_MIN, OK);
	assert_true(verify_request(&cfg, NULL, NULL, 0, 0, &res));
	assert_null(res.error);
	assert_string_equal(res.scheme, "none");
	assert_true(verify_request(NULL, NULL, NULL, 0, 0, &res));
	assert_string_equal(res.scheme, "none");
	verify_config_fini(&cfg);
	parse_ok(&cfg, "none", " ", "", 0);
	verify_config_fini(&cfg);
}

static void
sw_config(struct verify_config *cfg, const char *secrets)
{
	parse_ok(cfg, "standard-webhooks", secrets, NULL, 300);
	assert_int_equal(cfg->scheme, VERIFY_STANDARD_WEBHOOKS);
	assert_null(cfg->header);
}

static void
test_sw_official_vector(void **state)
{
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { SW_ID, SW_TS, SW_SIG } };
	struct verify_config cfg;
	struct verify_result res;
	struct verify_headers vh = { hdrs_get_cb, &h };

	(void)state;
	sw_config(&cfg, SW_SECRET);
	assert_int_equal(cfg.secrets[0].len, 24);
	assert_true(verify_request(&cfg, &vh, SW_BODY, strlen(SW_BODY), SW_NOW, &res));
	assert_null(res.error);
	assert_string_equal(res.scheme, "standard-webhooks");

	/* The independent HMAC of the spec's signed content gives the same value. */
	{
		static const char content[] = SW_ID "." SW_TS "." SW_BODY;
		char b64[45];

		mac_b64(cfg.secrets[0].key, cfg.secrets[0].len, content, strlen(content), b64);
		assert_string_equal(b64, &SW_SIG[3]);
	}

	/* Any change to id, timestamp or body breaks it. */
	EXPECT(&cfg, &h, SW_BODY " ", strlen(SW_BODY) + 1, SW_NOW, VERIFY_ERR_SIGNATURE_MISMATCH);
	h.value[0] = "msg_p5jXN8AQM9LWM0D4loKWxJeK";
	EXPECT(&cfg, &h, SW_BODY, strlen(SW_BODY), SW_NOW, VERIFY_ERR_SIGNATURE_MISMATCH);
	h.value[0] = SW_ID;
	h.value[1] = "1614265331";
	EXPECT(&cfg, &h, SW_BODY, strlen(SW_BODY), SW_NOW, VERIFY_ERR_SIGNATURE_MISMATCH);
	/* The reference libraries sign the timestamp they parsed, so a leading zero passes. */
	h.value[1] = "01614265330";
	EXPECT(&cfg, &h, SW_BODY, strlen(SW_BODY), SW_NOW, OK);
	verify_config_fini(&cfg);
}

static void
test_sw_tolerance(void **state)
{
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { SW_ID, SW_TS, SW_SIG } };
	struct verify_config cfg;
	size_t len = strlen(SW_BODY);

	(void)state;
	sw_config(&cfg, SW_SECRET);
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW + 300, OK);
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW - 300, OK);
	/* too old */
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW + 301, VERIFY_ERR_SIGNATURE_EXPIRED);
	EXPECT(&cfg, &h, SW_BODY, len, INT64_MAX, VERIFY_ERR_SIGNATURE_EXPIRED);
	/* too new */
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW - 301, VERIFY_ERR_SIGNATURE_EXPIRED);
	EXPECT(&cfg, &h, SW_BODY, len, INT64_MIN, VERIFY_ERR_SIGNATURE_EXPIRED);
	EXPECT(&cfg, &h, SW_BODY, len, 0, VERIFY_ERR_SIGNATURE_EXPIRED);
	/* expiry is decided before the signature is looked at */
	h.value[2] = "v1,bogus";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW + 301, VERIFY_ERR_SIGNATURE_EXPIRED);
	h.value[2] = SW_SIG;
	h.value[1] = "9223372036854775807";
	EXPECT(&cfg, &h, SW_BODY, len, INT64_MIN, VERIFY_ERR_SIGNATURE_EXPIRED);
	h.value[1] = "0";
	EXPECT(&cfg, &h, SW_BODY, len, INT64_MAX, VERIFY_ERR_SIGNATURE_EXPIRED);
	verify_config_fini(&cfg);

	/* A wide tolerance does not wrap around. */
	parse_ok(&cfg, "standard-webhooks", SW_SECRET, NULL, UINT64_MAX);
	h.value[1] = SW_TS;
	EXPECT(&cfg, &h, SW_BODY, len, INT64_MIN, OK);
	EXPECT(&cfg, &h, SW_BODY, len, INT64_MAX, OK);
	verify_config_fini(&cfg);
}

static void
test_sw_multiple_signatures(void **state)
{
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { SW_ID, SW_TS, NULL } };
	struct verify_config cfg;
	size_t len = strlen(SW_BODY);
	const char *wrong = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

	(void)state;
	sw_config(&cfg, SW_SECRET);
	h.value[2] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SW_SIG;
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, OK);
	h.value[2] = SW_SIG " v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, OK);
	/* extra spaces, and a malformed v1 entry beside a good one */
	h.value[2] = "  v1,nonsense   v1a,xyz  " SW_SIG "  ";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, OK);
	h.value[2] = wrong;
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MISMATCH);
	h.value[2] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,bad";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MISMATCH);
	verify_config_fini(&cfg);
}

/* Entries of another version are skipped even when they carry the v1 MAC. */
static void
test_sw_other_versions_ignored(void **state)
{
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { SW_ID, SW_TS, NULL } };
	struct verify_config cfg;
	size_t len = strlen(SW_BODY);

	(void)state;
	sw_config(&cfg, SW_SECRET);
	h.value[2] = "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	h.value[2] = "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
		     "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	h.value[2] = "v1a,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,x";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, OK);
	h.value[2] = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	verify_config_fini(&cfg);
}

static void
test_sw_malformed_signature(void **state)
{
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { SW_ID, SW_TS, NULL } };
	struct verify_config cfg;
	size_t len = strlen(SW_BODY);

	(void)state;
	sw_config(&cfg, SW_SECRET);
	h.value[2] = "v1,";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	h.value[2] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"; /* unpadded */
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	h.value[2] = "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE="; /* base64url */
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	h.value[2] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=,extra";
	EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	verify_config_fini(&cfg);
}

static void
test_sw_missing_headers(void **state)
{
	struct verify_config cfg;
	size_t len = strlen(SW_BODY);

	(void)state;
	sw_config(&cfg, SW_SECRET);
	{
		struct hdrs h = { { "webhook-timestamp", "webhook-signature" }, { SW_TS, SW_SIG } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_ID_MISSING);
	}
	{
		struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
				  { "", SW_TS, SW_SIG } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_ID_MISSING);
	}
	{
		struct hdrs h = { { "webhook-id", "webhook-signature" }, { SW_ID, SW_SIG } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_TIMESTAMP_MISSING);
	}
	{
		struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
				  { SW_ID, "", SW_SIG } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_TIMESTAMP_MISSING);
	}
	{
		struct hdrs h = { { "webhook-id", "webhook-timestamp" }, { SW_ID, SW_TS } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MISSING);
	}
	{
		struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
				  { SW_ID, SW_TS, "   " } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, VERIFY_ERR_SIGNATURE_MISSING);
	}
	{
		/* Names are looked up case-insensitively by the caller. */
		struct hdrs h = { { "Webhook-Id", "WEBHOOK-TIMESTAMP", "Webhook-Signature" },
				  { SW_ID, SW_TS, SW_SIG } };

		EXPECT(&cfg, &h, SW_BODY, len, SW_NOW, OK);
	}
	verify_config_fini(&cfg);
}

static void
test_sw_bad_timestamp(void **state)
{
	static const char *bad[] = { "abc",
				     "1614265330.0",
				     "1614265330 ",
				     " 1614265330",
				     "-1614265330",
				     "+1614265330",
				     "1e9",
				     "0x60377a72",
				     "99999999999999999999",
				     "9223372036854775808" };
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { SW_ID, NULL, SW_SIG } };
	struct verify_config cfg;

	(void)state;
	sw_config(&cfg, SW_SECRET);
	for (size_t i = 0; i < HS_ARRAY_LEN(bad); i++) {
		h.value[1] = bad[i];
		EXPECT(&cfg, &h, SW_BODY, strlen(SW_BODY), SW_NOW, VERIFY_ERR_SIGNATURE_MALFORMED);
	}
	verify_config_fini(&cfg);
}

static void
test_sw_rotation_and_files(void **state)
{
	static const unsigned char other_key[] = "another key, 24 bytes!!";
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { "msg_1", "1700000000", NULL } };
	char path[64], spec[160], sig[64], b64[45];
	struct verify_config cfg;

	(void)state;
	/* whsec_ + base64 of other_key, kept in a file with a trailing newline */
	{
		char enc[64], content[80];

		assert_int_equal(EVP_EncodeBlock((unsigned char *)enc, other_key, 24), 32);
		(void)snprintf(content, sizeof(content), "whsec_%s\n", enc);
		temp_file(path, content);
	}
	(void)snprintf(spec, sizeof(spec), SW_SECRET ", file:%s", path);
	sw_config(&cfg, spec);
	assert_int_equal(cfg.nsecrets, 2);
	assert_int_equal(cfg.secrets[1].len, 24);
	assert_memory_equal(cfg.secrets[1].key, other_key, 24);

	mac_b64(other_key, 24, "msg_1.1700000000.hello", 22, b64);
	(void)snprintf(sig, sizeof(sig), "v1,%s", b64);
	h.value[2] = sig;
	EXPECT(&cfg, &h, "hello", 5, 1700000000, OK);
	verify_config_fini(&cfg);

	sw_config(&cfg, SW_SECRET);
	EXPECT(&cfg, &h, "hello", 5, 1700000000, VERIFY_ERR_SIGNATURE_MISMATCH);
	verify_config_fini(&cfg);

	/* Empty body: the content is "<id>.<ts>." */
	(void)snprintf(spec, sizeof(spec), "file:%s", path);
	sw_config(&cfg, spec);
	mac_b64(other_key, 24, "msg_1.1700000000.", 17, b64);
	(void)snprintf(sig, sizeof(sig), "v1,%s", b64);
	EXPECT(&cfg, &h, NULL, 0, 1700000000, OK);
	verify_config_fini(&cfg);
	unlink(path);
}

/* Request-time messages are static and never echo what the sender sent. */
static void
test_messages_static(void **state)
{
	struct hdrs h = { { "webhook-id", "webhook-timestamp", "webhook-signature" },
			  { "id-leak", "leak", "v1,leak" } };
	struct verify_headers vh = { hdrs_get_cb, &h };
	struct verify_config cfg;
	struct verify_result res;

	(void)state;
	sw_config(&cfg, SW_SECRET);
	assert_false(verify_request(&cfg, &vh, "leak", 4, SW_NOW, &res));
	assert_string_equal(res.error, VERIFY_ERR_SIGNATURE_MALFORMED);
	assert_null(strstr(res.message, "leak"));
	h.value[1] = SW_TS;
	assert_false(verify_request(&cfg, &vh, "leak", 4, SW_NOW, &res));
	assert_string_equal(res.error, VERIFY_ERR_SIGNATURE_MALFORMED);
	assert_null(strstr(res.message, "leak"));
	verify_config_fini(&cfg);
	assert_string_equal(verify_scheme_name(VERIFY_HMAC_SHA256), "hmac-sha256");
	assert_string_equal(verify_scheme_name(VERIFY_STANDARD_WEBHOOKS), "standard-webhooks");
	assert_string_equal(verify_scheme_name(VERIFY_NONE), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_encodings),
		cmocka_unit_test(test_hmac_github_vector),
		cmocka_unit_test(test_hmac_wrong_secret),
		cmocka_unit_test(test_hmac_rotation),
		cmocka_unit_test(test_hmac_missing),
		cmocka_unit_test(test_hmac_malformed),
		cmocka_unit_test(test_hmac_empty_body),
		cmocka_unit_test(test_hmac_binary_body),
		cmocka_unit_test(test_secret_encodings),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_secret_file_not_quoted),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_whsec_errors),
		cmocka_unit_test(test_config_error_buffer),
		cmocka_unit_test(test_config_fini_twice),
		cmocka_unit_test(test_none_passes),
		cmocka_unit_test(test_sw_official_vector),
		cmocka_unit_test(test_sw_tolerance),
		cmocka_unit_test(test_sw_multiple_signatures),
		cmocka_unit_test(test_sw_other_versions_ignored),
		cmocka_unit_test(test_sw_malformed_signature),
		cmocka_unit_test(test_sw_missing_headers),
		cmocka_unit_test(test_sw_bad_timestamp),
		cmocka_unit_test(test_sw_rotation_and_files),
		cmocka_unit_test(test_messages_static),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
