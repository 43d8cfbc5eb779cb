/* SPDX-License-Identifier: MIT */
/*
 * config: the one table of settings (name, type, default, bounds, doc), read
 * from the config file (or the built-in default text) and then from
 * HOOKSTREAM_* environment variables, validated as a whole. A loaded config is
 * immutable and shared by reference; a reload builds a new one. Pure.
 */
#ifndef HOOKSTREAM_CONFIG_H
#define HOOKSTREAM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hookstream/access.h"
#include "hookstream/classify.h"
#include "hookstream/compiler.h"
#include "hookstream/log.h"
#include "hookstream/redis_url.h"
#include "hookstream/verify.h"

#define CONFIG_ENV_PREFIX   "HOOKSTREAM_"
#define CONFIG_BUILTIN_NAME "<built-in>"

/* The highest max_body the configuration accepts. */
#define CONFIG_MAX_BODY_MAX UINT64_C(67108864)

struct config_route {
	char *path;		    /* "/webhook/payment" */
	char *category;		    /* pinned category, or NULL to classify by content */
	int success_status;	    /* 0: the JSON answer (202 / 200 duplicate) */
	char *success_body;	    /* literal body for success_status, or NULL */
	char *success_content_type; /* for success_body; default text/plain */
	/* Signature settings written in the route (NULL: the global default). */
	char *signature_scheme;
	char *signature_secrets;
	char *signature_header;
	char *signature_tolerance;
	unsigned int signature_line; /* where the route set them, for messages */
	char *client_cert_names;     /* mTLS pins: "CN=a, DNS:b" (NULL: any client) */
	unsigned int client_cert_line;
	struct verify_config verify; /* effective: route settings over the defaults */
};

struct config {
	unsigned int refs; /* config_ref / config_free (atomic: shared by worker threads) */
	char *source;	   /* the file read, or CONFIG_BUILTIN_NAME */

	char *listen;
	uint64_t workers;
	char *admin_listen;
	char *redis_url_text;
	struct redis_url redis;
	char *allow_text;
	struct access_list allow;
	char *trusted_proxies_text;
	struct access_list trusted_proxies;
	char *stream_prefix;
	uint64_t stream_maxlen;
	uint64_t stream_retention;
	uint64_t dedup_ttl;
	char *groups_text;
	char **groups;
	size_t ngroups;
	uint64_t max_body;
	uint64_t max_header;
	uint64_t max_depth;
	uint64_t invalid_body_max;
	uint64_t invalid_maxlen;
	uint64_t request_timeout;
	uint64_t publish_timeout;
	char *spool_dir; /* "" = no spool */
	uint64_t spool_max_bytes;
	uint64_t wait_replicas;
	uint64_t wait_replicas_timeout;
	char *wait_replicas_fallback; /* "503" or "spool" */
	char *tls_cert;		      /* "" = plain HTTP */
	char *tls_key;
	char *tls_client_ca; /* "" = no client certificates */
	uint64_t max_inflight;
	uint64_t max_connections;
	uint64_t retry_after;
	uint64_t shutdown_timeout;
	enum log_level log_level;
	enum log_format log_format;
	char *type_fields;
	char *redact_fields_text;
	char **redact_fields; /* JSON/form field names whose values are masked */
	size_t nredact_fields;
	char *signature_scheme;
	char *signature_secrets; /* secret */
	char *signature_header;
	uint64_t signature_tolerance;
	char *drop_fields_text;
	char **drop_fields; /* JSON/form field names removed from the payload */
	size_t ndrop_fields;
	char *pan_exempt_fields_text;
	char **pan_exempt_fields; /* values not checked for card numbers */
	size_t npan_exempt_fields;

	struct config_route *routes;
	size_t nroutes;
	struct classify_rules *rules;
};

enum config_type {
	CONFIG_STRING,	/* any text */
	CONFIG_ADDRESS, /* host:port with a numeric host; [v6]:port */
	CONFIG_UINT,	/* decimal within [min, max] */
	CONFIG_REDIS,	/* redis_url */
	CONFIG_CIDRS,	/* access list */
	CONFIG_NAMES,	/* comma-separated names */
	CONFIG_LEVEL,	/* log level */
	CONFIG_FORMAT,	/* log format */
	CONFIG_PATHS,	/* comma-separated jsonpaths (type_fields) */
	CONFIG_PREFIX,	/* stream prefix */
	CONFIG_FIELDS,	/* comma-separated field names (redact_fields, drop_fields) */
};

struct config_key {
	const char *name;
	enum config_type type;
	const char *def; /* default, as it would be written in the file */
	uint64_t min, max;
	bool secret; /* never printed */
	const char *doc;
	size_t offset; /* of the text or number field in struct config */
};

/* The key table, in documentation order. */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;

/* The built-in default configuration text (conf/hookstream.conf). */
extern const char config_default_text[];
extern const size_t config_default_text_len;

struct config_error {
	char message[512]; /* "FILE:LINE: key: what is wrong" or "HOOKSTREAM_X: ..." */
};

/*
 * Load configuration: the file at path (NULL: the built-in default text), then
 * the environment envp (NULL-terminated "NAME=value" strings; may be NULL),
 * then validation. On success *out is a new config (config_free) and 0 is
 * returned; on failure -EINVAL (or -errno for an unreadable file), err filled.
 */
HS_WUR int config_load(const char *path, char *const *envp, struct config **out,
		       struct config_error *err);

/* Same, from text in memory; name is used in messages. */
HS_WUR int config_load_text(const char *name, const char *text, size_t len, char *const *envp,
			    struct config **out, struct config_error *err);

/* Drop one reference (the loader's, or one config_ref's); freed at the last. */
void config_free(struct config *cfg);

/* One more reference: in-flight requests keep the configuration they started
 * with across a reload. Returns cfg. */
struct config *config_ref(struct config *cfg);

/* The route for a request path, or NULL (borrowed from cfg). */
const struct config_route *config_route_find(const struct config *cfg, const char *path);

/* The value of key k in cfg as text for the startup log (into buf): secrets
 * are shown as "***" (or "" when unset), the Redis URL with its password
 * masked. Returns buf. */
const char *config_value_text(const struct config *cfg, const struct config_key *k, char *buf,
			      size_t len);

/*
 * The keys that differ between old and cur but cannot change without a
 * restart (listeners, Redis, spool, stream shape): up to max names (static
 * strings) into names; returns how many. A reload with any is refused.
 */
size_t config_restart_changes(const struct config *old, const struct config *cur,
			      const char **names, size_t max);

/* Parse "host:port" / "[v6]:port" into host (new string) and port. */
HS_WUR int config_parse_address(const char *text, char **host, int *port, const char **why);

#endif
