// SPDX-License-Identifier: MIT
/*
 * tls: OpenSSL server context and client identities.
 */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hookstream/tls.h"
#include "hookstream/xalloc.h"

/* TLS 1.2: forward secrecy and AEAD only (TLS 1.3's suites are all AEAD). */
static const char tls_ciphers12[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
				    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
				    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* The last OpenSSL error as text (and the queue emptied). */
static const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

SSL_CTX *
tls_context_new(const char *cert, const char *key, const char *client_ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];

	ERR_clear_error();
	if (ctx == NULL) {
		snprintf(err, errlen, "tls: cannot create a context: %s",
			 tls_error(why, sizeof(why)));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, tls_ciphers12) != 1) {
		snprintf(err, errlen, "tls: cannot set versions and ciphers: %s",
			 tls_error(why, sizeof(why)));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "tls_cert: cannot load %s: %s", cert,
			 tls_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "tls_key: cannot load %s: %s", key,
			 tls_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls_key: %s does not match the certificate in %s", key,
			 cert);
		ERR_clear_error();
		goto fail;
	}
	if (client_ca != NULL && client_ca[0] != '\0') {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);

		if (names == NULL || SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			if (names != NULL)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			snprintf(err, errlen, "tls_client_ca: cannot load %s: %s", client_ca,
				 tls_error(why, sizeof(why)));
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
		/* Sessions resumed across a CA change must be verified again. */
		SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"hookstream", 10);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

bool
tls_identity_get(SSL *ssl, struct tls_identity *id)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	BIO *mem;
	GENERAL_NAMES *sans;
	char *p;
	long n;
	int idx;

	memset(id, 0, sizeof(*id));
	if (cert == NULL)
		return false;
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(cert);
		return false;
	}
	mem = BIO_new(BIO_s_mem());
	if (mem == NULL)
		abort();
	X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0,
			   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_get_mem_data(mem, &p);
	id->subject = xstrndup(p, n > 0 ? (size_t)n : 0);
	BIO_free(mem);
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, -1);
	for (int next = idx; next >= 0;
	     next = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, idx))
		idx = next;
	if (idx >= 0) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(X509_get_subject_name(cert), idx);
		unsigned char *utf8 = NULL;
		int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));

		/* A name with a NUL in it ("partner-a\0.attacker") would read
		 * as its first part: it is no name to match. */
		if (len >= 0 && memchr(utf8, '\0', (size_t)len) == NULL)
			id->cn = xstrndup((const char *)utf8, (size_t)len);
		OPENSSL_free(utf8);
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (sans != NULL) {
		int count = sk_GENERAL_NAME_num(sans);

		id->dns = xcalloc((size_t)count + 1, sizeof(*id->dns));
		for (int i = 0; i < count; i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
			const unsigned char *d;
			int dlen;

			if (g->type != GEN_DNS)
				continue;
			d = ASN1_STRING_get0_data(g->d.dNSName);
			dlen = ASN1_STRING_length(g->d.dNSName);
			if (dlen >= 0 && memchr(d, '\0', (size_t)dlen) == NULL)
				id->dns[id->ndns++] = xstrndup((const char *)d, (size_t)dlen);
		}
		GENERAL_NAMES_free(sans);
	}
	X509_free(cert);
	return true;
}

void
tls_identity_fini(struct tls_identity *id)
{
	free(id->subject);
	free(id->cn);
	for (size_t i = 0; i < id->ndns; i++)
		free(id->dns[i]);
	free(id->dns);
	memset(id, 0, sizeof(*id));
}

/* The next comma-separated entry of *s, trimmed; false at the end. */
static bool
tls_next_pin(const char **s, const char **start, size_t *len)
{
	const char *p = *s, *end;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p == '\0')
		return false;
	end = p + strcspn(p, ",");
	*s = end;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*start = p;
	*len = (size_t)(end - p);
	return true;
}

bool
tls_identity_matches(const struct tls_identity *id, const char *pins)
{
	const char *s = pins, *p;
	size_t len;

	if (id == NULL || pins == NULL)
		return false;
	while (tls_next_pin(&s, &p, &len)) {
		if (len > 3 && strncmp(p, "CN=", 3) == 0) {
			if (id->cn != NULL && strlen(id->cn) == len - 3 &&
			    memcmp(id->cn, p + 3, len - 3) == 0)
				return true;
		} else if (len > 4 && strncasecmp(p, "DNS:", 4) == 0) {
			for (size_t i = 0; i < id->ndns; i++)
				if (strlen(id->dns[i]) == len - 4 &&
				    strncasecmp(id->dns[i], p + 4, len - 4) == 0)
					return true;
		}
	}
	return false;
}

const char *
tls_pins_check(const char *pins)
{
	const char *s = pins, *p;
	size_t len, n = 0;

	while (tls_next_pin(&s, &p, &len)) {
		n++;
		if (!(len > 3 && strncmp(p, "CN=", 3) == 0) &&
		    !(len > 4 && strncasecmp(p, "DNS:", 4) == 0))
			return "each entry is CN=<common name> or DNS:<subjectAltName>";
	}
	return n == 0 ? "no CN= or DNS: entry" : NULL;
}
