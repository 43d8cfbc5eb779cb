// SPDX-License-Identifier: MIT
/*
 * fuzz_config: libFuzzer target for config_load_text. Any text, NUL bytes
 * included, must load or fail with a message, and never leak. A first byte
 * from 0x80 up (but 0xef, which starts a BOM) makes the first line one
 * environment variable: that byte picks the key from config_keys[], the rest
 * of the line is the value of HOOKSTREAM_<KEY>, and the config text starts on
 * the next line. Any other input is config text only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/config.h"
#include "hookstream/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_config: " __VA_ARGS__);                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define FUZZ_NAME "fuzz.conf"

static bool
fuzz_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "HOOKSTREAM_<KEY>=value" for config_keys[k]; value is n bytes, cut at a NUL
 * as the environment would. */
static char *
fuzz_env_var(size_t k, const char *value, size_t n)
{
	const char *key = config_keys[k].name;
	size_t klen = strlen(key), plen = strlen(CONFIG_ENV_PREFIX);
	char *var = xmalloc(plen + klen + 1 + n + 1), *o = var;

	memcpy(o, CONFIG_ENV_PREFIX, plen);
	o += plen;
	for (size_t i = 0; i < klen; i++)
		*o++ = (char)toupper((unsigned char)key[i]);
	*o++ = '=';
	memcpy(o, value, n);
	o[n] = '\0';
	return var;
}

/*
 * A file: secret reads that file, and file:/dev/stdin would block the fuzzer:
 * inputs with "file:" outside a comment line are skipped (verify's tests and
 * fuzz target cover file: secrets). Comments may say it: the shipped file does.
 */
static bool
fuzz_reads_files(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		const char *b = p;

		while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
			b++;
		if ((b == e || (*b != '#' && *b != ';')) && memmem(p, (size_t)(e - p), "file:", 5))
			return true;
		p = nl ? nl + 1 : end;
	}
	return false;
}

/* What the startup log prints: never a secret, and within any buffer. */
static void
fuzz_check_value_text(const struct config *cfg, const struct config_key *k, size_t small)
{
	char buf[1024], *cut = xmalloc(small);

	CHECK(config_value_text(cfg, k, buf, sizeof(buf)) == buf, "%s: not buf", k->name);
	CHECK(memchr(buf, '\0', sizeof(buf)) != NULL, "%s: unterminated", k->name);
	if (k->type == CONFIG_REDIS)
		CHECK(cfg->redis.password == NULL || strstr(buf, "***") != NULL,
		      "%s: \"%s\" shows the password", k->name, buf);
	else if (k->secret)
		CHECK(strcmp(buf, "***") == 0 || buf[0] == '\0', "%s: secret shown as \"%s\"",
		      k->name, buf);
	/* Exactly small bytes, so ASan sees a write past them. */
	CHECK(config_value_text(cfg, k, cut, small) == cut, "%s: not the short buf", k->name);
	CHECK(strncmp(cut, buf, small - 1) == 0 && memchr(cut, '\0', small) != NULL,
	      "%s: short text is not a prefix", k->name);
	free(cut);
}

static void
fuzz_check_loaded(const struct config *cfg, size_t small)
{
	CHECK(strcmp(cfg->source, FUZZ_NAME) == 0, "source \"%s\"", cfg->source);
	/* config_validate's promises: a loaded config can serve. */
	CHECK(cfg->allow.count > 0, "loaded with an empty allowlist");
	CHECK(cfg->nroutes > 0, "loaded without a route");
	CHECK(cfg->stream_retention == 0 || cfg->stream_maxlen == 0, "trims by age and count");
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct config_route *r = &cfg->routes[i];

		CHECK(r->path != NULL && r->path[0] == '/', "route %zu path", i);
		CHECK(config_route_find(cfg, r->path) == r, "route %s is not found as itself",
		      r->path);
	}
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type == CONFIG_UINT) {
			uint64_t v =
				*(const uint64_t *)(const void *)((const char *)cfg + k->offset);

			CHECK(v >= k->min && v <= k->max, "%s = %llu out of range", k->name,
			      (unsigned long long)v);
		} else if (k->type != CONFIG_LEVEL && k->type != CONFIG_FORMAT) {
			const char *text =
				*(char *const *)(const void *)((const char *)cfg + k->offset);

			CHECK(text != NULL, "%s has no text", k->name);
		}
		fuzz_check_value_text(cfg, k, small);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config unset; /* config_load_text must overwrite the pointer */
	const char *text = (const char *)data;
	char *envp[2] = { NULL, NULL };
	struct config *cfg = &unset;
	struct config_error err;
	size_t len = size;
	int rc;

	if (fuzz_reads_files(text, size))
		return 0;
	if (size > 0 && data[0] >= 0x80 && data[0] != 0xef) {
		const char *nl = memchr(text, '\n', size);
		size_t line = nl != NULL ? (size_t)(nl - text) : size;

		envp[0] = fuzz_env_var((data[0] - 0x80u) % config_nkeys, text + 1, line - 1);
		text += line + (nl != NULL);
		len -= line + (nl != NULL);
	}

	memset(err.message, 'x', sizeof(err.message));
	rc = config_load_text(FUZZ_NAME, text, len, envp, &cfg, &err);
	if (rc == 0) {
		CHECK(cfg != NULL, "success without a config");
		fuzz_check_loaded(cfg, 1 + size % 16);
		config_free(cfg);
	} else {
		size_t mlen = strnlen(err.message, sizeof(err.message));

		CHECK(rc == -EINVAL, "rc %d", rc);
		CHECK(cfg == NULL, "failure left a config");
		CHECK(mlen > 0 && mlen < sizeof(err.message), "message empty or unterminated");
		/* Every message names where it came from: the file or the variable. */
		CHECK(fuzz_starts_with(err.message, FUZZ_NAME ":") ||
			      fuzz_starts_with(err.message, CONFIG_ENV_PREFIX),
		      "message \"%s\" names no origin", err.message);
	}
	free(envp[0]);
	return 0;
}
