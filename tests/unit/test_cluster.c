// SPDX-License-Identifier: MIT
/* cluster: CRC16 and key slots against the Redis Cluster specification's
 * published values, hash tags, the slot map and MOVED/ASK parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hookstream/cluster.h"

static unsigned int
slot(const char *key)
{
	return cluster_key_slot(key, strlen(key));
}

static void
test_crc16_vectors(void **state)
{
	(void)state;
	/* The specification's test vector (CRC-16/XMODEM check value). */
	assert_int_equal(cluster_crc16("123456789", 9), 0x31C3);
	assert_int_equal(cluster_crc16("", 0), 0);
	assert_int_equal(cluster_crc16("A", 1), 0x58E5);
}

static void
test_key_slots(void **state)
{
	(void)state;
	/* CLUSTER KEYSLOT examples from the Redis documentation, and values
	 * read from redis-server 7.0 (CLUSTER KEYSLOT) for the rest. */
	assert_int_equal(slot("somekey"), 11058);
	assert_int_equal(slot("foo{hash_tag}"), 2515);
	assert_int_equal(slot("foo"), 12182);
	assert_int_equal(slot("bar"), 5061);
	assert_int_equal(slot("hello"), 866);
	/* hash tags (the specification's examples) */
	assert_int_equal(slot("{user1000}.following"), slot("{user1000}.followers"));
	assert_int_equal(slot("{user1000}.following"), slot("user1000"));
	assert_int_equal(slot("foo{}{bar}"), cluster_crc16("foo{}{bar}", 10) & 16383);
	assert_int_equal(slot("foo{{bar}}zap"), slot("{bar"));
	assert_int_equal(slot("foo{bar}{zap}"), slot("bar"));
	assert_int_equal(slot("{unterminated"), cluster_crc16("{unterminated", 13) & 16383);
	assert_int_equal(slot("{user1000}.following"), 3443);
	assert_int_equal(slot("foo{}{bar}"), 8363);
	assert_int_equal(slot("foo{{bar}}zap"), 4015);
	assert_int_equal(slot("paynet:payment.status"), 5813);
	assert_int_equal(slot("paynet:token.status"), 7547);
	assert_int_equal(slot("paynet:card.metadata"), 8767);
	assert_int_equal(slot("paynet:unclassified"), 789);
	assert_int_equal(slot("paynet:invalid"), 389);
	/* hookstream's dedup key lives in its stream's slot */
	assert_int_equal(slot("{paynet:payment.status}:seen:E2E-1"), slot("paynet:payment.status"));
	/* a NUL inside a key is hashed like any byte */
	assert_int_not_equal(cluster_key_slot("a\0b", 3), cluster_key_slot("a", 1));
}

static void
test_map(void **state)
{
	struct cluster_map m;
	const struct cluster_node *n;

	(void)state;
	cluster_map_init(&m);
	assert_null(cluster_map_node(&m, "foo", 3));
	assert_false(cluster_map_complete(&m));
	assert_int_equal(cluster_map_add(&m, 0, 5460, "127.0.0.1", 7000), 0);
	assert_int_equal(cluster_map_add(&m, 5461, 10922, "127.0.0.1", 7001), 0);
	assert_false(cluster_map_complete(&m));
	assert_int_equal(cluster_map_add(&m, 10923, 16383, "127.0.0.1", 7002), 0);
	assert_true(cluster_map_complete(&m));
	assert_int_equal(m.nnodes, 3);
	n = cluster_map_node(&m, "foo", 3); /* 12182 */
	assert_non_null(n);
	assert_int_equal(n->port, 7002);
	n = cluster_map_node(&m, "hello", 5); /* 866 */
	assert_int_equal(n->port, 7000);
	/* a second range of a known node adds no node */
	assert_int_equal(cluster_map_add(&m, 866, 866, "127.0.0.1", 7001), 0);
	assert_int_equal(m.nnodes, 3);
	assert_int_equal(cluster_map_node(&m, "hello", 5)->port, 7001);
	/* refusals */
	assert_int_equal(cluster_map_add(&m, 5, 4, "h", 1), -1);
	assert_int_equal(cluster_map_add(&m, 0, 16384, "h", 1), -1);
	assert_int_equal(cluster_map_add(&m, 0, 1, "h", 0), -1);
	assert_int_equal(cluster_map_add(&m, 0, 1, "", 1), -1);
	cluster_map_fini(&m);
	assert_int_equal(m.nnodes, 0);
}

static void
test_redirects(void **state)
{
	bool ask;
	unsigned int s;
	char host[64];
	int port;

	(void)state;
	assert_true(cluster_parse_redirect("MOVED 3999 127.0.0.1:6381", &ask, &s, host,
					   sizeof(host), &port));
	assert_false(ask);
	assert_int_equal(s, 3999);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6381);
	assert_true(cluster_parse_redirect("ASK 16383 [::1]:7000", &ask, &s, host, sizeof(host),
					   &port));
	assert_true(ask);
	assert_int_equal(s, 16383);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 7000);
	assert_true(cluster_parse_redirect("MOVED 0 redis-1.internal:7001", &ask, &s, host,
					   sizeof(host), &port));
	assert_string_equal(host, "redis-1.internal");
	/* not redirections */
	assert_false(cluster_parse_redirect("ERR unknown", &ask, &s, host, sizeof(host), &port));
	assert_false(
		cluster_parse_redirect("MOVED 16384 h:1", &ask, &s, host, sizeof(host), &port));
	assert_false(cluster_parse_redirect("MOVED x h:1", &ask, &s, host, sizeof(host), &port));
	assert_false(cluster_parse_redirect("MOVED 1 h", &ask, &s, host, sizeof(host), &port));
	assert_false(cluster_parse_redirect("MOVED 1 h:0", &ask, &s, host, sizeof(host), &port));
	assert_false(
		cluster_parse_redirect("MOVED 1 h:70000", &ask, &s, host, sizeof(host), &port));
	assert_false(cluster_parse_redirect("MOVED 1 :7000", &ask, &s, host, sizeof(host), &port));
	assert_false(cluster_parse_redirect("MOVED 1 averyveryverylonghostname:1", &ask, &s, host,
					    8, &port));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16_vectors),
		cmocka_unit_test(test_key_slots),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_redirects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
