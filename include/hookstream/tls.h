/* SPDX-License-Identifier: MIT */
/*
 * tls: the webhook listener's OpenSSL server context (TLS 1.2 and 1.3 only,
 * ECDHE with AEAD ciphers) and the client-certificate identity used for
 * mutual TLS and per-route pinning. No event loop here: the gate puts each
 * connection's SSL under its framer.
 */
#ifndef HOOKSTREAM_TLS_H
#define HOOKSTREAM_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "hookstream/compiler.h"

/* A client certificate's names, as verified in the handshake. */
struct tls_identity {
	char *subject; /* RFC 2253, e.g. "CN=partner-a,O=Partner A" */
	char *cn;      /* the (last) commonName, or NULL */
	char **dns;    /* subjectAltName DNS names */
	size_t ndns;
};

/*
 * A server context from PEM files: cert (chain allowed) and key, which must
 * match; with client_ca (may be NULL or ""), a client certificate issued by
 * one of those CAs is required in the handshake. NULL with a message naming
 * the key at fault ("tls_cert: ...") in err.
 */
SSL_CTX *tls_context_new(const char *cert, const char *key, const char *client_ca, char *err,
			 size_t errlen);

/* The verified peer certificate's names; false when there is none. */
HS_WUR bool tls_identity_get(SSL *ssl, struct tls_identity *id);
void tls_identity_fini(struct tls_identity *id);

/*
 * Does id match one of the comma-separated pins "CN=<name>" (the subject's
 * commonName) or "DNS:<name>" (a subjectAltName, compared case-insensitively)?
 * A NULL id matches nothing.
 */
bool tls_identity_matches(const struct tls_identity *id, const char *pins);

/* Is pins a well-formed list? NULL, or a message about the first bad entry. */
const char *tls_pins_check(const char *pins);

#endif
