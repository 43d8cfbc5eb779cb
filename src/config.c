// SPDX-License-Identifier: MIT
/*
 * config: loads the key table's values from the file, then the environment,
 * and validates the result. Every error names where the bad value came from
 * (FILE:LINE or the variable) and the key, because an operator reading it at
 * 3 a.m. should not have to guess.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/config.h"
#include "hookstream/ini.h"
#include "hookstream/tls.h"
#include "hookstream/xalloc.h"

enum config_section {
	CONFIG_SECTION_GLOBAL,
	CONFIG_SECTION_ROUTE,
	CONFIG_SECTION_RULE,
	CONFIG_SECTION_STATUS,
};

struct config_origin {
	unsigned int line; /* 0: default or environment */
	const char *env;   /* variable name (borrowed from envp) or NULL */
};

struct config_loader {
	const char *name;
	struct config *cfg;
	enum config_section section;
	struct config_origin origin[64];
	bool seen[64];
	unsigned int route_keys_seen;
	unsigned int section_line; /* of the open section's header */
	struct config_error *err;
};

static int HS_PRINTF(3, 4)
	config_fail(struct config_loader *ld, const struct config_origin *o, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o != NULL && o->env != NULL)
		snprintf(ld->err->message, sizeof(ld->err->message), "%.*s: %s",
			 (int)strcspn(o->env, "="), o->env, msg);
	else if (o != NULL && o->line > 0)
		snprintf(ld->err->message, sizeof(ld->err->message), "%s:%u: %s", ld->name, o->line,
			 msg);
	else
		snprintf(ld->err->message, sizeof(ld->err->message), "%s: %s", ld->name, msg);
	return -EINVAL;
}

static bool
config_prefix_valid(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-:", *s) == NULL)
			return false;
	return true;
}

static void
config_groups_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i]);
	free(cfg->groups);
	cfg->groups = NULL;
	cfg->ngroups = 0;
}

/* Split the groups list; names are Redis group names, kept conservative. */
static int
config_set_groups(struct config *cfg, const char *text, const char **why)
{
	const char *s = text;

	config_groups_free(cfg);
	while (*s) {
		size_t n;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		n = strcspn(s, ", \t");
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (!isalnum((unsigned char)s[i]) && strchr("._-:", s[i]) == NULL) {
				*why = "group names use letters, digits, '.', '_', '-', ':'";
				config_groups_free(cfg);
				return -EINVAL;
			}
		}
		cfg->groups = xrealloc(cfg->groups, (cfg->ngroups + 1) * sizeof(*cfg->groups));
		cfg->groups[cfg->ngroups++] = xstrndup(s, n);
		s += n;
	}
	return 0;
}

static void
config_list_free(char ***list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* Split "a, b ,c" into trimmed non-empty names (field names may hold any
 * character but ',' and surrounding spaces). */
static void
config_split_names(const char *text, char ***list, size_t *n)
{
	const char *s = text;

	config_list_free(list, n);
	while (*s) {
		const char *e = strchr(s, ','), *b = s, *t;

		if (e == NULL)
			e = s + strlen(s);
		t = e;
		while (b < t && isspace((unsigned char)*b))
			b++;
		while (t > b && isspace((unsigned char)t[-1]))
			t--;
		if (t > b) {
			*list = xrealloc(*list, (*n + 1) * sizeof(**list));
			(*list)[(*n)++] = xstrndup(b, (size_t)(t - b));
		}
		s = *e ? e + 1 : e;
	}
}

/* Store one key's value (text as written), parsing it at once. */
static int
config_apply(struct config_loader *ld, const struct config_key *k, const char *value,
	     const struct config_origin *o)
{
	struct config *cfg = ld->cfg;
	char *field_base = (char *)cfg + k->offset;
	const char *why = NULL;
	char cerr[CLASSIFY_ERR_MAX];

	switch (k->type) {
	case CONFIG_UINT: {
		uint64_t v = 0;

		if (*value == '\0' || strlen(value) > 20)
			goto bad_uint;
		for (const char *c = value; *c; c++) {
			if (!isdigit((unsigned char)*c) || v > (UINT64_MAX - 9) / 10)
				goto bad_uint;
			v = v * 10 + (uint64_t)(*c - '0');
		}
		if (v < k->min || v > k->max)
			goto bad_uint;
		*(uint64_t *)(void *)field_base = v;
		return 0;
	bad_uint:
		return config_fail(ld, o, "%s: expected a whole number from %llu to %llu, got '%s'",
				   k->name, (unsigned long long)k->min, (unsigned long long)k->max,
				   value);
	}
	case CONFIG_LEVEL: {
		static const char *const names[] = { "debug", "info", "warn", "error" };

		for (size_t i = 0; i < HS_ARRAY_LEN(names); i++) {
			if (strcmp(value, names[i]) == 0) {
				cfg->log_level = (enum log_level)i;
				return 0;
			}
		}
		return config_fail(ld, o, "%s: expected debug, info, warn or error, got '%s'",
				   k->name, value);
	}
	case CONFIG_FORMAT:
		if (strcmp(value, "json") == 0)
			cfg->log_format = LOG_FORMAT_JSON;
		else if (strcmp(value, "text") == 0)
			cfg->log_format = LOG_FORMAT_TEXT;
		else
			return config_fail(ld, o, "%s: expected json or text, got '%s'", k->name,
					   value);
		return 0;
	case CONFIG_ADDRESS: {
		char *host;
		int port;

		if (config_parse_address(value, &host, &port, &why) < 0)
			return config_fail(ld, o, "%s: %s, got '%s'", k->name, why, value);
		free(host);
		break;
	}
	case CONFIG_REDIS:
		redis_url_fini(&cfg->redis);
		if (redis_url_parse(value, &cfg->redis, &why) < 0)
			return config_fail(ld, o, "%s: %s", k->name, why);
		break;
	case CONFIG_CIDRS: {
		struct access_list *list =
			strcmp(k->name, "allow") == 0 ? &cfg->allow : &cfg->trusted_proxies;
		struct access_error aerr;

		access_list_fini(list);
		if (access_list_parse(value, list, &aerr) < 0)
			return config_fail(ld, o, "%s: '%s': %s%s%s%s", k->name, aerr.token,
					   aerr.message, aerr.hint[0] ? "; did you mean " : "",
					   aerr.hint, aerr.hint[0] ? "?" : "");
		break;
	}
	case CONFIG_NAMES:
		if (config_set_groups(cfg, value, &why) < 0)
			return config_fail(ld, o, "%s: %s", k->name, why);
		break;
	case CONFIG_PATHS:
		if (classify_set_type_fields(cfg->rules, value, cerr) < 0)
			return config_fail(ld, o, "%s: %s", k->name, cerr);
		break;
	case CONFIG_PREFIX:
		if (!config_prefix_valid(value))
			return config_fail(
				ld, o,
				"%s: expected 1-64 letters, digits or . _ - : (no { }: each "
				"stream's keys carry their own Cluster hash tag), got '%s'",
				k->name, value);
		break;
	case CONFIG_FIELDS:
		if (strcmp(k->name, "redact_fields") == 0)
			config_split_names(value, &cfg->redact_fields, &cfg->nredact_fields);
		else if (strcmp(k->name, "drop_fields") == 0)
			config_split_names(value, &cfg->drop_fields, &cfg->ndrop_fields);
		else
			config_split_names(value, &cfg->pan_exempt_fields,
					   &cfg->npan_exempt_fields);
		break;
	case CONFIG_STRING:
		break;
	}
	free(*(char **)(void *)field_base);
	*(char **)(void *)field_base = xstrdup(value);
	return 0;
}

static const struct config_key *
config_key_find(const char *name, size_t *index)
{
	for (size_t i = 0; i < config_nkeys; i++) {
		if (strcmp(config_keys[i].name, name) == 0) {
			*index = i;
			return &config_keys[i];
		}
	}
	return NULL;
}

/* Checks that need the whole section report the section header's line. */
static int
config_close_section(struct config_loader *ld)
{
	char cerr[CLASSIFY_ERR_MAX];
	struct config_origin o = { .line = ld->section_line };

	if (ld->section == CONFIG_SECTION_RULE && classify_rule_end(ld->cfg->rules, cerr) < 0)
		return config_fail(ld, &o, "%s", cerr);
	return 0;
}

static bool
config_route_path_valid(const char *p)
{
	if (p[0] != '/' || strlen(p) > 256)
		return false;
	for (; *p; p++)
		/* '"' and '\\' are no URI characters, and would break the
		 * route label of /metrics. */
		if ((unsigned char)*p <= 0x20 || *p == '?' || *p == '#' || *p == 0x7f ||
		    *p == '"' || *p == '\\')
			return false;
	return true;
}

static int
config_on_section(void *arg, const char *section, unsigned int line, struct ini_error *ierr)
{
	struct config_loader *ld = arg;
	struct config *cfg = ld->cfg;
	struct config_origin o = { .line = line };
	char cerr[CLASSIFY_ERR_MAX];

	(void)ierr;
	if (config_close_section(ld) < 0)
		return -EINVAL;
	ld->section_line = line;
	if (strncmp(section, "route ", 6) == 0) {
		const char *path = section + 6;

		while (*path == ' ')
			path++;
		if (!config_route_path_valid(path))
			return config_fail(ld, &o,
					   "[route %s]: a route is a path starting with '/', "
					   "without spaces, controls, '?', '#', '\"' or '\\'",
					   path);
		if (config_route_find(cfg, path) != NULL)
			return config_fail(ld, &o, "[route %s] is defined twice", path);
		cfg->routes = xrealloc(cfg->routes, (cfg->nroutes + 1) * sizeof(*cfg->routes));
		memset(&cfg->routes[cfg->nroutes], 0, sizeof(cfg->routes[0]));
		cfg->routes[cfg->nroutes].path = xstrdup(path);
		cfg->nroutes++;
		ld->section = CONFIG_SECTION_ROUTE;
		ld->route_keys_seen = 0;
		return 0;
	}
	if (strncmp(section, "rule ", 5) == 0) {
		const char *name = section + 5;

		while (*name == ' ')
			name++;
		if (classify_rule_begin(cfg->rules, name, cerr) < 0)
			return config_fail(ld, &o, "%s", cerr);
		ld->section = CONFIG_SECTION_RULE;
		return 0;
	}
	if (strcmp(section, "status") == 0) {
		ld->section = CONFIG_SECTION_STATUS;
		return 0;
	}
	return config_fail(ld, &o,
			   "unknown section [%s] (expected [route /path], [rule NAME] or [status])",
			   section);
}

static int
config_route_set(struct config_loader *ld, struct config_route *r, const char *key,
		 const char *value, const struct config_origin *o)
{
	static const char *const keys[] = {
		"category",	     "success_status",
		"success_body",	     "success_content_type",
		"signature_scheme",  "signature_secrets",
		"signature_header",  "signature_tolerance",
		"client_cert_names",
	};
	unsigned int bit = 0;

	for (size_t i = 0; i < HS_ARRAY_LEN(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			bit = 1u << i;
	if (bit == 0)
		return config_fail(ld, o,
				   "unknown route key '%s' (expected category, success_status, "
				   "success_body, success_content_type, signature_scheme, "
				   "signature_secrets, signature_header, signature_tolerance or "
				   "client_cert_names)",
				   key);
	if (ld->route_keys_seen & bit)
		return config_fail(ld, o, "%s: given twice in [route %s]", key, r->path);
	ld->route_keys_seen |= bit;
	if (strcmp(key, "category") == 0) {
		if (*value == '\0')
			return 0;
		if (!classify_category_valid(value) || strcmp(value, CLASSIFY_UNCLASSIFIED) == 0)
			return config_fail(ld, o,
					   "category: bad category '%s' (lower-case letters, "
					   "digits, '.', '_', '-')",
					   value);
		r->category = xstrdup(value);
	} else if (strcmp(key, "success_status") == 0) {
		if (strcmp(value, "200") == 0 || strcmp(value, "201") == 0 ||
		    strcmp(value, "202") == 0 || strcmp(value, "204") == 0)
			r->success_status = atoi(value);
		else
			return config_fail(ld, o, "success_status: expected 200, 201, 202 or 204");
	} else if (strcmp(key, "success_body") == 0) {
		r->success_body = xstrdup(value);
	} else if (strcmp(key, "client_cert_names") == 0) {
		const char *why = tls_pins_check(value);

		if (why != NULL)
			return config_fail(ld, o, "client_cert_names: %s", why);
		r->client_cert_names = xstrdup(value);
		r->client_cert_line = o->line;
	} else if (strncmp(key, "signature_", 10) == 0) {
		char **slot = strcmp(key, "signature_scheme") == 0    ? &r->signature_scheme
			      : strcmp(key, "signature_secrets") == 0 ? &r->signature_secrets
			      : strcmp(key, "signature_header") == 0  ? &r->signature_header
								      : &r->signature_tolerance;

		*slot = xstrdup(value);
		r->signature_line = o->line;
	} else {
		if (*value == '\0' || strpbrk(value, "\r\n") != NULL)
			return config_fail(ld, o, "success_content_type: expected a media type");
		r->success_content_type = xstrdup(value);
	}
	return 0;
}

static int
config_on_value(void *arg, const char *section, const char *key, const char *value,
		unsigned int line, struct ini_error *ierr)
{
	struct config_loader *ld = arg;
	struct config *cfg = ld->cfg;
	struct config_origin o = { .line = line };
	char cerr[CLASSIFY_ERR_MAX];
	const struct config_key *k;
	size_t idx;

	(void)section;
	(void)ierr;
	switch (ld->section) {
	case CONFIG_SECTION_GLOBAL:
		k = config_key_find(key, &idx);
		if (k == NULL)
			return config_fail(ld, &o, "unknown key '%s'", key);
		if (ld->seen[idx])
			return config_fail(ld, &o, "%s: given twice (first on line %u)", key,
					   ld->origin[idx].line);
		ld->seen[idx] = true;
		ld->origin[idx] = o;
		return config_apply(ld, k, value, &o);
	case CONFIG_SECTION_ROUTE:
		return config_route_set(ld, &cfg->routes[cfg->nroutes - 1], key, value, &o);
	case CONFIG_SECTION_RULE:
		if (classify_rule_set(cfg->rules, key, value, cerr) < 0)
			return config_fail(ld, &o, "%s", cerr);
		return 0;
	case CONFIG_SECTION_STATUS:
		if (classify_status_set(cfg->rules, key, value, cerr) < 0)
			return config_fail(ld, &o, "%s", cerr);
		return 0;
	}
	return -EINVAL;
}

/* Environment overrides: every HOOKSTREAM_<KEY>; unknown names are errors so a
 * typo (HOOKSTREAM_ALOW) cannot silently leave a default in force. */
static int
config_apply_env(struct config_loader *ld, char *const *envp)
{
	static const char prefix[] = CONFIG_ENV_PREFIX;

	for (size_t e = 0; envp != NULL && envp[e] != NULL; e++) {
		const char *var = envp[e], *eq = strchr(var, '=');
		char name[64], envname[80];
		size_t nlen, idx;
		const struct config_key *k;
		struct config_origin o;

		if (eq == NULL || strncmp(var, prefix, sizeof(prefix) - 1) != 0)
			continue;
		nlen = (size_t)(eq - var) - (sizeof(prefix) - 1);
		if (strncmp(var, CONFIG_ENV_PREFIX "CONFIG=", sizeof(prefix) - 1 + 7) == 0)
			continue;
		if (nlen == 0 || nlen >= sizeof(name))
			goto unknown;
		for (size_t i = 0; i < nlen; i++) {
			char c = var[sizeof(prefix) - 1 + i];

			/* Variables are upper case only: HOOKSTREAM_allow is not a key. */
			if (islower((unsigned char)c))
				goto unknown;
			name[i] = (char)tolower((unsigned char)c);
		}
		name[nlen] = '\0';
		k = config_key_find(name, &idx);
		if (k == NULL)
			goto unknown;
		/* Keep the variable for messages: it lives as long as envp. */
		ld->origin[idx].line = 0;
		ld->origin[idx].env = var;
		snprintf(envname, sizeof(envname), "%.*s", (int)(eq - var), var);
		o.line = 0;
		o.env = envname;
		if (config_apply(ld, k, eq + 1, &o) < 0)
			return -EINVAL;
		continue;
	unknown:
		snprintf(envname, sizeof(envname), "%.*s", (int)(eq - var), var);
		o.line = 0;
		o.env = envname;
		return config_fail(ld, &o,
				   "unknown setting (no such key; see conf/hookstream.conf)");
	}
	return 0;
}

/* The route's signature check: its own settings over the global defaults.
 * Messages never quote a secret (verify_config_parse makes sure of that). */
static int
config_route_verify(struct config_loader *ld, struct config_route *r)
{
	const struct config *cfg = ld->cfg;
	const char *scheme = r->signature_scheme ? r->signature_scheme : cfg->signature_scheme;
	const char *secrets = r->signature_secrets ? r->signature_secrets : cfg->signature_secrets;
	const char *header = r->signature_header ? r->signature_header : cfg->signature_header;
	uint64_t tolerance = cfg->signature_tolerance;
	struct config_origin o = { .line = r->signature_line };
	char err[256];
	size_t idx = 0;

	if (r->signature_tolerance != NULL) {
		char *end;
		unsigned long long v = strtoull(r->signature_tolerance, &end, 10);

		if (*r->signature_tolerance == '\0' || *end != '\0' || v < 1 || v > 86400)
			return config_fail(ld, &o,
					   "[route %s] signature_tolerance: expected 1 to 86400",
					   r->path);
		tolerance = v;
	}
	/* The header setting has a default, so it is only handed on where it means
	 * something. */
	if (strcmp(scheme, "hmac-sha256") != 0)
		header = NULL;
	if (verify_config_parse(&r->verify, scheme, secrets, header, tolerance, err, sizeof(err)) <
	    0) {
		if (r->signature_line == 0) {
			config_key_find("signature_scheme", &idx);
			return config_fail(ld, &ld->origin[idx], "signature (route %s): %s",
					   r->path, err);
		}
		return config_fail(ld, &o, "[route %s] signature: %s", r->path, err);
	}
	return 0;
}

static int
config_validate(struct config_loader *ld)
{
	struct config *cfg = ld->cfg;
	size_t idx = 0;

	if (config_key_find("allow", &idx) != NULL && cfg->allow.count == 0) {
		struct config_origin o = ld->origin[idx];
		char envname[80];

		if (o.env != NULL) {
			snprintf(envname, sizeof(envname), "%.*s", (int)strcspn(o.env, "="), o.env);
			o.env = envname;
		}
		return config_fail(ld, &o,
				   "allow: the allowlist is empty, so every notification would be "
				   "refused; set allow (or HOOKSTREAM_ALLOW) to the sender's "
				   "addresses or CIDR prefixes");
	}
	if (cfg->stream_retention > 0 && cfg->stream_maxlen > 0) {
		config_key_find("stream_retention", &idx);
		return config_fail(ld, &ld->origin[idx],
				   "stream_retention: trim by age or by count, not both; set "
				   "stream_maxlen = 0 to keep events for stream_retention seconds");
	}
	if (strcmp(cfg->wait_replicas_fallback, "503") != 0 &&
	    strcmp(cfg->wait_replicas_fallback, "spool") != 0) {
		config_key_find("wait_replicas_fallback", &idx);
		return config_fail(ld, &ld->origin[idx],
				   "wait_replicas_fallback: want 503 or spool, got '%s'",
				   cfg->wait_replicas_fallback);
	}
	if (strcmp(cfg->wait_replicas_fallback, "spool") == 0 && cfg->spool_dir[0] == '\0') {
		config_key_find("wait_replicas_fallback", &idx);
		return config_fail(ld, &ld->origin[idx],
				   "wait_replicas_fallback: spool needs spool_dir to be set");
	}
	if ((cfg->tls_cert[0] != '\0') != (cfg->tls_key[0] != '\0')) {
		config_key_find(cfg->tls_cert[0] != '\0' ? "tls_cert" : "tls_key", &idx);
		return config_fail(ld, &ld->origin[idx],
				   "%s: tls_cert and tls_key are set together (or neither, for "
				   "plain HTTP)",
				   cfg->tls_cert[0] != '\0' ? "tls_cert" : "tls_key");
	}
	if (cfg->tls_client_ca[0] != '\0' && cfg->tls_cert[0] == '\0') {
		config_key_find("tls_client_ca", &idx);
		return config_fail(ld, &ld->origin[idx],
				   "tls_client_ca: client certificates need TLS: set tls_cert and "
				   "tls_key too");
	}
	for (size_t i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].client_cert_names != NULL && cfg->tls_client_ca[0] == '\0')
			return config_fail(
				ld,
				&(struct config_origin){ .line = cfg->routes[i].client_cert_line },
				"client_cert_names: [route %s] pins client certificates, "
				"which needs tls_client_ca",
				cfg->routes[i].path);
	if (cfg->nroutes == 0)
		return config_fail(ld, NULL, "no [route /path] section: nothing would be accepted");
	for (size_t i = 0; i < cfg->nroutes; i++)
		if (config_route_verify(ld, &cfg->routes[i]) < 0)
			return -EINVAL;
	return 0;
}

int
config_load_text(const char *name, const char *text, size_t len, char *const *envp,
		 struct config **out, struct config_error *err)
{
	static const struct ini_handler handler = {
		.on_value = config_on_value,
		.on_section = config_on_section,
	};
	struct config_loader ld = { .name = name, .err = err };
	struct ini_error ierr;
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	int rc;

	cfg->refs = 1;
	if (config_nkeys > sizeof(ld.seen) / sizeof(ld.seen[0]))
		abort(); /* the key table outgrew the loader: a build bug */
	*out = NULL;
	err->message[0] = '\0';
	cfg->source = xstrdup(name);
	cfg->rules = classify_rules_new();
	ld.cfg = cfg;
	for (size_t i = 0; i < config_nkeys; i++) {
		if (config_apply(&ld, &config_keys[i], config_keys[i].def, NULL) < 0)
			abort(); /* a bad built-in default is a bug, not a config error */
	}
	rc = ini_parse(text, len, &handler, &ld, &ierr);
	if (rc < 0) {
		if (err->message[0] == '\0')
			snprintf(err->message, sizeof(err->message), "%s:%u: %s", name, ierr.line,
				 ierr.message);
		goto fail;
	}
	rc = config_close_section(&ld);
	if (rc < 0)
		goto fail;
	rc = config_apply_env(&ld, envp);
	if (rc < 0)
		goto fail;
	rc = config_validate(&ld);
	if (rc < 0)
		goto fail;
	*out = cfg;
	return 0;
fail:
	config_free(cfg);
	return -EINVAL;
}

int
config_load(const char *path, char *const *envp, struct config **out, struct config_error *err)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (path == NULL)
		return config_load_text(CONFIG_BUILTIN_NAME, config_default_text,
					config_default_text_len, envp, out, err);
	*out = NULL;
	f = fopen(path, "r");
	if (f == NULL) {
		rc = -errno;
		snprintf(err->message, sizeof(err->message), "%s: cannot open: %s", path,
			 strerror(errno));
		return rc;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (size_t)16 << 20) {
				fclose(f);
				free(text);
				snprintf(err->message, sizeof(err->message),
					 "%s: larger than 16 MiB, not a config file", path);
				return -EFBIG;
			}
			text = xrealloc(text, cap);
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err->message, sizeof(err->message), "%s: read error", path);
		fclose(f);
		free(text);
		return rc;
	}
	fclose(f);
	rc = config_load_text(path, text ? text : "", len, envp, out, err);
	free(text);
	return rc;
}

void
config_free(struct config *cfg)
{
	/* Worker threads drop their references as their requests finish. */
	if (cfg == NULL || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type != CONFIG_UINT && k->type != CONFIG_LEVEL && k->type != CONFIG_FORMAT) {
			char *text = *(char **)(void *)((char *)cfg + k->offset);

			if (k->secret && text != NULL)
				explicit_bzero(text, strlen(text));
			free(text);
		}
	}
	redis_url_fini(&cfg->redis);
	access_list_fini(&cfg->allow);
	access_list_fini(&cfg->trusted_proxies);
	config_groups_free(cfg);
	config_list_free(&cfg->redact_fields, &cfg->nredact_fields);
	config_list_free(&cfg->drop_fields, &cfg->ndrop_fields);
	config_list_free(&cfg->pan_exempt_fields, &cfg->npan_exempt_fields);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		free(cfg->routes[i].path);
		free(cfg->routes[i].category);
		free(cfg->routes[i].success_body);
		free(cfg->routes[i].success_content_type);
		free(cfg->routes[i].signature_scheme);
		if (cfg->routes[i].signature_secrets != NULL)
			explicit_bzero(cfg->routes[i].signature_secrets,
				       strlen(cfg->routes[i].signature_secrets));
		free(cfg->routes[i].signature_secrets);
		free(cfg->routes[i].signature_header);
		free(cfg->routes[i].signature_tolerance);
		free(cfg->routes[i].client_cert_names);
		verify_config_fini(&cfg->routes[i].verify);
	}
	free(cfg->routes);
	classify_rules_free(cfg->rules);
	free(cfg->source);
	free(cfg);
}

struct config *
config_ref(struct config *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

const struct config_route *
config_route_find(const struct config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->nroutes; i++)
		if (strcmp(cfg->routes[i].path, path) == 0)
			return &cfg->routes[i];
	return NULL;
}
