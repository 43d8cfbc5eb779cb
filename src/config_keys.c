// SPDX-License-Identifier: MIT
/*
 * config_keys: the table of every setting. conf/hookstream.conf documents the
 * same keys with the same defaults; a unit test holds the two together.
 */
#include <stddef.h>

#include "hookstream/config.h"

#define KEY_UINT(n, d, lo, hi, doc_)                                                               \
	{                                                                                          \
#n, CONFIG_UINT, d, lo, hi, false, doc_, offsetof(struct config, n)                \
	}

const struct config_key config_keys[] = {
	{ "listen", CONFIG_ADDRESS, "0.0.0.0:8080", 0, 0, false, "webhook listener, host:port",
	  offsetof(struct config, listen) },
	{ "admin_listen", CONFIG_ADDRESS, "0.0.0.0:9090", 0, 0, false,
	  "admin listener (/healthz, /readyz, /metrics), host:port",
	  offsetof(struct config, admin_listen) },
	{ "redis_url", CONFIG_REDIS, "redis://127.0.0.1:6379", 0, 0, true,
	  "Redis to publish to (redis://[[user]:password@]host:port[/db] or unix:///path)",
	  offsetof(struct config, redis_url_text) },
	{ "allow", CONFIG_CIDRS, "", 0, 0, false,
	  "source addresses and CIDR prefixes allowed to post (required)",
	  offsetof(struct config, allow_text) },
	{ "trusted_proxies", CONFIG_CIDRS, "", 0, 0, false,
	  "proxies whose X-Forwarded-For is believed (addresses and CIDRs)",
	  offsetof(struct config, trusted_proxies_text) },
	{ "stream_prefix", CONFIG_PREFIX, "paynet", 0, 0, false,
	  "streams are named <prefix>:<category>", offsetof(struct config, stream_prefix) },
	KEY_UINT(stream_maxlen, "1000000", 0, UINT64_C(1) << 40,
		 "approximate cap on entries per stream (0 = keep all)"),
	KEY_UINT(stream_retention, "0", 0, UINT64_C(315360000),
		 "seconds of events kept per stream (XADD MINID ~); 0 = trim by count"),
	KEY_UINT(dedup_ttl, "604800", 1, UINT64_C(31536000),
		 "seconds an event id is remembered for deduplication"),
	{ "groups", CONFIG_NAMES, "", 0, 0, false,
	  "consumer groups created on every category stream",
	  offsetof(struct config, groups_text) },
	KEY_UINT(max_body, "1048576", 1, UINT64_C(67108864), "largest accepted body, bytes"),
	KEY_UINT(max_header, "16384", 1024, 65536, "largest accepted request head, bytes"),
	KEY_UINT(max_depth, "64", 1, 1024, "deepest JSON nesting accepted (400 above)"),
	KEY_UINT(invalid_body_max, "65536", 0, UINT64_C(67108864),
		 "bytes of an unparseable body kept in <prefix>:invalid"),
	KEY_UINT(invalid_maxlen, "100000", 0, UINT64_C(1) << 40,
		 "approximate cap on entries in <prefix>:invalid (0 = keep all)"),
	KEY_UINT(request_timeout, "30", 1, 3600,
		 "seconds to send a request / stay idle before the connection is closed"),
	KEY_UINT(publish_timeout, "5000", 10, 600000,
		 "milliseconds to wait for Redis before spooling the event, or answering 503"),
	{ "spool_dir", CONFIG_STRING, "", 0, 0, false,
	  "directory of the local spool used while Redis cannot take events (empty = no spool)",
	  offsetof(struct config, spool_dir) },
	KEY_UINT(spool_max_bytes, "1073741824", 4096, UINT64_C(1) << 50,
		 "largest spool size, bytes; past it new events get 503"),
	KEY_UINT(wait_replicas, "0", 0, 64,
		 "replicas that must confirm each write (Redis WAIT) before the 2xx; 0 = none"),
	KEY_UINT(wait_replicas_timeout, "1000", 1, 60000,
		 "milliseconds to wait for those replicas"),
	{ "wait_replicas_fallback", CONFIG_STRING, "503", 0, 0, false,
	  "when replicas do not confirm in time: 503 (the sender retries) or spool",
	  offsetof(struct config, wait_replicas_fallback) },
	KEY_UINT(max_inflight, "10000", 1, UINT64_C(1000000),
		 "requests waiting for Redis per worker before new ones get 503"),
	KEY_UINT(max_connections, "10000", 1, UINT64_C(1000000),
		 "open webhook connections per worker; more are answered 503 and closed"),
	KEY_UINT(retry_after, "5", 0, 86400, "seconds announced in Retry-After on 503"),
	KEY_UINT(shutdown_timeout, "10", 0, 3600,
		 "seconds to finish in-flight requests after SIGTERM"),
	{ "log_level", CONFIG_LEVEL, "info", 0, 0, false, "debug, info, warn or error",
	  offsetof(struct config, log_level) },
	{ "log_format", CONFIG_FORMAT, "json", 0, 0, false, "json or text",
	  offsetof(struct config, log_format) },
	{ "type_fields", CONFIG_PATHS,
	  "eventType, event_type, EventType, type, event, EventCode, msgType, fpx_msgType, "
	  "Notification.EventInfo.EventCode, Notification.EventCode, BusMsg.AppHdr.MsgDefIdr, "
	  "?eventType",
	  0, 0, false, "where the explicit event type is looked for, first present wins",
	  offsetof(struct config, type_fields) },
	{ "signature_scheme", CONFIG_STRING, "none", 0, 0, false,
	  "default signature check: none, hmac-sha256 or standard-webhooks",
	  offsetof(struct config, signature_scheme) },
	{ "signature_secrets", CONFIG_STRING, "", 0, 0, true,
	  "comma-separated secrets (literal, base64:, hex:, whsec_, file:/path)",
	  offsetof(struct config, signature_secrets) },
	{ "signature_header", CONFIG_STRING, "X-Signature", 0, 0, false,
	  "header carrying the hmac-sha256 signature", offsetof(struct config, signature_header) },
	KEY_UINT(signature_tolerance, "300", 1, 86400,
		 "seconds a signed timestamp may differ from now"),
	{ "redact_fields", CONFIG_FIELDS, "", 0, 0, false,
	  "field names (any depth) whose values are stored as \"[REDACTED]\"",
	  offsetof(struct config, redact_fields_text) },
	{ "drop_fields", CONFIG_FIELDS, "", 0, 0, false,
	  "field names (any depth) removed from the stored payload",
	  offsetof(struct config, drop_fields_text) },
};

const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);
