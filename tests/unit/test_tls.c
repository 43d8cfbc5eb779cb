// SPDX-License-Identifier: MIT
/* tls: client-certificate pins (parsing and matching) and the context
 * loader's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hookstream/tls.h"

static char *dns_a[] = { "hooks.partner-a.example", "alt.partner-a.example" };
static const struct tls_identity partner_a = {
	.subject = "CN=partner-a,O=Partner A",
	.cn = "partner-a",
	.dns = dns_a,
	.ndns = 2,
};
static const struct tls_identity no_names = { .subject = "O=Nobody" };

static void
test_matches(void **state)
{
	(void)state;
	assert_true(tls_identity_matches(&partner_a, "CN=partner-a"));
	assert_true(tls_identity_matches(&partner_a, "CN=other, CN=partner-a"));
	assert_true(tls_identity_matches(&partner_a, " DNS:hooks.partner-a.example "));
	/* DNS names are case-insensitive, common names are not */
	assert_true(tls_identity_matches(&partner_a, "dns:ALT.Partner-A.example"));
	assert_false(tls_identity_matches(&partner_a, "CN=Partner-A"));
	/* whole names only: no prefix, no suffix, no subject matching */
	assert_false(tls_identity_matches(&partner_a, "CN=partner"));
	assert_false(tls_identity_matches(&partner_a, "CN=partner-a2"));
	assert_false(tls_identity_matches(&partner_a, "DNS:partner-a.example"));
	assert_false(tls_identity_matches(&partner_a, "DNS:partner-a"));
	assert_false(tls_identity_matches(&partner_a, "O=Partner A"));
	/* a SAN is not a CN and the other way round */
	assert_false(tls_identity_matches(&partner_a, "CN=hooks.partner-a.example"));
	assert_false(tls_identity_matches(&partner_a, "DNS:partner-a"));
	/* no identity, no names, no pins: nothing matches */
	assert_false(tls_identity_matches(NULL, "CN=partner-a"));
	assert_false(tls_identity_matches(&no_names, "CN=partner-a, DNS:x"));
	assert_false(tls_identity_matches(&partner_a, ""));
	assert_false(tls_identity_matches(&partner_a, NULL));
}

static void
test_pins_check(void **state)
{
	(void)state;
	assert_null(tls_pins_check("CN=a"));
	assert_null(tls_pins_check("CN=a, DNS:b.example,dns:c"));
	assert_non_null(tls_pins_check(""));
	assert_non_null(tls_pins_check(" , "));
	assert_non_null(tls_pins_check("CN="));
	assert_non_null(tls_pins_check("DNS:"));
	assert_non_null(tls_pins_check("partner-a"));
	assert_non_null(tls_pins_check("CN=a, O=b"));
	assert_non_null(tls_pins_check("cn=a")); /* attribute names as OpenSSL prints them */
}

static void
test_context_refusals(void **state)
{
	char err[512];

	(void)state;
	assert_null(tls_context_new("/nonexistent/cert.pem", "/nonexistent/key.pem", NULL, err,
				    sizeof(err)));
	assert_non_null(strstr(err, "tls_cert: cannot load /nonexistent/cert.pem"));
	/* a file that is not PEM */
	{
		char path[] = "/tmp/hookstream-tls-XXXXXX";
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "not a certificate\n", 18), 18);
		close(fd);
		assert_null(tls_context_new(path, path, NULL, err, sizeof(err)));
		unlink(path);
		assert_int_equal(strncmp(err, "tls_cert:", 9), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_pins_check),
		cmocka_unit_test(test_context_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
