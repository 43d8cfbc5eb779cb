// SPDX-License-Identifier: MIT
/*
 * test_classify: unit tests for the rule engine and its path language. The
 * shipped rules (the built-in default, conf/hookstream.conf) classify a table
 * of notification bodies; small hand-built rule sets pin down one behaviour
 * each. Every field of a result is compared, and a failing case prints all its
 * mismatches at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookstream/classify.h"
#include "hookstream/config.h"
#include "hookstream/jsonpath.h"

/* Expected event ids that must be computed: SHA-256 of the raw body, or of a text. */
#define ID_SHA_BODY "=sha256(body)"
#define ID_SHA_OF   "=sha256:"

struct expect {
	const char *name;
	const char *body;
	const char *query;
	const char *route;
	/* Expected result; NULL means the field must be NULL. */
	const char *category, *rule, *type, *subject, *status, *canonical, *time, *event_id;
};

static struct config *shipped;

static int
setup_shipped(void **state)
{
	static char *const env[] = { (char *)"HOOKSTREAM_ALLOW=127.0.0.1", NULL };
	struct config_error err;

	(void)state;
	if (config_load(NULL, env, &shipped, &err) != 0) {
		print_error("built-in config: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int
teardown_shipped(void **state)
{
	(void)state;
	config_free(shipped);
	shipped = NULL;
	return 0;
}

static void
sha256_id(const void *data, size_t len, char out[72])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	memcpy(out, "sha256:", 7);
	for (unsigned int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = '\0';
}

/* Compare one field; a mismatch is appended to report. */
static void
check_field(const char *field, const char *got, const char *want, char *report, size_t rlen)
{
	size_t used = strlen(report);

	if ((got == NULL) == (want == NULL) && (got == NULL || strcmp(got, want) == 0))
		return;
	snprintf(report + used, rlen - used, "  %-9s got %s%s%s, want %s%s%s\n", field,
		 got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
		 want ? want : "NULL", want ? "\"" : "");
}

static void
run_expect(const struct classify_rules *rules, const struct expect *e)
{
	struct classify_input in = { 0 };
	struct classify_result res;
	json_error_t jerr;
	json_t *body;
	char want_id[400], report[4096];
	const char *want_id_p = e->event_id;

	body = json_loadb(e->body, strlen(e->body), JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		fail_msg("%s: test body is not JSON: %s", e->name, jerr.text);
	in.body = body;
	in.query = e->query;
	in.route_category = e->route;
	in.raw = e->body;
	in.raw_len = strlen(e->body);
	classify_run(rules, &in, &res);

	if (e->event_id != NULL && strcmp(e->event_id, ID_SHA_BODY) == 0) {
		sha256_id(e->body, strlen(e->body), want_id);
		want_id_p = want_id;
	} else if (e->event_id != NULL && strncmp(e->event_id, ID_SHA_OF, 8) == 0) {
		sha256_id(e->event_id + 8, strlen(e->event_id + 8), want_id);
		want_id_p = want_id;
	}
	report[0] = '\0';
	check_field("category", res.category, e->category, report, sizeof(report));
	check_field("rule", res.rule, e->rule, report, sizeof(report));
	check_field("type", res.type, e->type, report, sizeof(report));
	check_field("subject", res.subject, e->subject, report, sizeof(report));
	check_field("status", res.status, e->status, report, sizeof(report));
	check_field("canonical", res.canonical, e->canonical, report, sizeof(report));
	check_field("time", res.time, e->time, report, sizeof(report));
	check_field("event_id", res.event_id, want_id_p, report, sizeof(report));
	classify_result_fini(&res);
	json_decref(body);
	if (report[0] != '\0')
		fail_msg("%s\n  body %s%s%s\n%s", e->name, e->body, e->query ? " query " : "",
			 e->query ? e->query : "", report);
}

/* --- the shipped rules --------------------------------------------------- */

#define DUITNOW_CLEARED                                                                            \
	"{\"checkoutId\":\"c1\",\"endToEndId\":\"E2E-1\",\"paymentStatus\":{\"code\":\"ACSC\","    \
	"\"substate\":\"CLEARED\"}}"
#define MDES_TUR "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45"

static void
test_shipped_rules_table(void **state)
{
	static const struct expect cases[] = {
		{ .name = "DuitNow Pay cleared",
		  .body = DUITNOW_CLEARED,
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.succeeded",
		  .subject = "E2E-1",
		  .status = "ACSC",
		  .canonical = "succeeded",
		  .event_id = "E2E-1:ACSC:CLEARED" },
		{ .name = "DuitNow Pay received",
		  .body = "{\"checkoutId\":\"c1\",\"endToEndId\":\"E2E-1\",\"issuer\":\"MBB\","
			  "\"paymentMethod\":\"DuitNow\",\"paymentStatus\":{\"code\":\"ACTC\","
			  "\"substate\":\"RECEIVED\",\"message\":\"ok\"}}",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.pending",
		  .subject = "E2E-1",
		  .status = "ACTC",
		  .canonical = "pending",
		  .event_id = "E2E-1:ACTC:RECEIVED" },
		{ .name = "DuitNow Pay without substate",
		  .body = "{\"endToEndId\":\"E2E-2\",\"paymentStatus\":{\"code\":\"RJCT\"}}",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.failed",
		  .subject = "E2E-2",
		  .status = "RJCT",
		  .canonical = "failed",
		  .event_id = "E2E-2:RJCT" },
		{ .name = "DuitNow Pay substate PENDAUTH wins over an unmapped code",
		  .body = "{\"endToEndId\":\"E2E-3\",\"paymentStatus\":{\"code\":\"XY-9\","
			  "\"substate\":\"PENDAUTH\"}}",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.pending_authorization",
		  .subject = "E2E-3",
		  .status = "XY-9",
		  .canonical = "pending_authorization",
		  .event_id = "E2E-3:XY-9:PENDAUTH" },
		{ .name = "DuitNow Pay unmapped code is lower-cased",
		  .body = "{\"endToEndId\":\"E2E-4\",\"paymentStatus\":{\"code\":\"XY-9\"}}",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.xy_9",
		  .subject = "E2E-4",
		  .status = "XY-9",
		  .canonical = "xy_9",
		  .event_id = "E2E-4:XY-9" },
		{ .name = "DuitNow refund",
		  .body = "{\"checkoutId\":\"c1\",\"endToEndId\":\"E2E-1\",\"refundId\":\"RF-9\","
			  "\"amount\":\"10.00\",\"paymentStatus\":{\"code\":\"ACSC\","
			  "\"substate\":\"REFUND_CLEARED\"}}",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.refunded",
		  .subject = "E2E-1",
		  .status = "ACSC",
		  .canonical = "refunded",
		  .event_id = "RF-9:ACSC:REFUND_CLEARED" },
		{ .name = "gateway charge.succeeded",
		  .body = "{\"id\":\"evt_1NxYz\",\"type\":\"charge.succeeded\",\"created\":"
			  "1700000000,"
			  "\"data\":{\"object\":{\"id\":\"ch_3\",\"status\":\"succeeded\","
			  "\"amount\":1050}}}",
		  .category = "payment.status",
		  .rule = "gateway_payment",
		  .type = "payment.status.succeeded",
		  .subject = "ch_3",
		  .status = "charge.succeeded",
		  .canonical = "succeeded",
		  .time = "2023-11-14T22:13:20Z",
		  .event_id = "evt_1NxYz" },
		{ .name = "gateway charge.failed, status from the type",
		  .body = "{\"event_id\":\"evt_2\",\"type\":\"charge.failed\","
			  "\"created_at\":\"2024-05-01T10:00:00Z\",\"data\":{\"id\":\"ch_4\"}}",
		  .category = "payment.status",
		  .rule = "gateway_payment",
		  .type = "payment.status.failed",
		  .subject = "ch_4",
		  .status = "charge.failed",
		  .canonical = "failed",
		  .time = "2024-05-01T10:00:00Z",
		  .event_id = "evt_2" },
		{ .name = "gateway token.suspended",
		  .body = "{\"id\":\"evt_tok_1\",\"event_type\":\"token.suspended\","
			  "\"created_at\":\"2024-05-01T10:00:00Z\",\"data\":{\"token_id\":\"tok_"
			  "9\","
			  "\"status\":\"SUSPENDED\"}}",
		  .category = "token.status",
		  .rule = "gateway_token",
		  .type = "token.status.suspended",
		  .subject = "tok_9",
		  .status = "token.suspended",
		  .canonical = "suspended",
		  .time = "2024-05-01T10:00:00Z",
		  .event_id = "evt_tok_1" },
		{ .name = "gateway token.activated, status from event_type",
		  .body = "{\"event_type\":\"token.activated\",\"data\":{\"id\":\"tok_1\"}}",
		  .category = "token.status",
		  .rule = "gateway_token",
		  .type = "token.status.activated",
		  .subject = "tok_1",
		  .status = "token.activated",
		  .canonical = "activated",
		  .event_id = ID_SHA_BODY },
		{ .name = "MDES token in a wrapper",
		  .body = "{\"requestId\":\"req-1\",\"tokenNotification\":{\"tokens\":[{"
			  "\"tokenUniqueReference\":\"" MDES_TUR "\",\"status\":\"SUSPENDED\","
			  "\"suspendedBy\":[\"ISSUER\"],\"eventReasonCode\":\"SUSPEND\","
			  "\"statusTimestamp\":\"2024-05-01T10:00:00.000Z\"}]}}",
		  .category = "token.status",
		  .rule = "mdes_token",
		  .type = "token.status.suspended",
		  .subject = MDES_TUR,
		  .status = "SUSPENDED",
		  .canonical = "suspended",
		  .time = "2024-05-01T10:00:00.000Z",
		  .event_id = "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45:SUSPENDED:2024-05-"
			      "01T10:00:00.000Z" },
		{ .name = "MDES token in a wrapper, requestId inside it",
		  .body = "{\"tokenNotification\":{\"requestId\":\"req-2\",\"tokens\":[{"
			  "\"tokenUniqueReference\":\"DWS1\",\"status\":\"DEACTIVATED\"}]}}",
		  .category = "token.status",
		  .rule = "mdes_token",
		  .type = "token.status.deleted",
		  .subject = "DWS1",
		  .status = "DEACTIVATED",
		  .canonical = "deleted",
		  /* No status time: the message id tells a later return to the same
		   * status from a retry. */
		  .event_id = "req-2:DWS1:DEACTIVATED" },
		{ .name = "MDES token, no status time, no requestId: reference + status",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS1\",\"status\":\"ACTIVE\"}]"
			  "}",
		  .category = "token.status",
		  .rule = "mdes_token_bare",
		  .type = "token.status.activated",
		  .subject = "DWS1",
		  .status = "ACTIVE",
		  .canonical = "activated",
		  .event_id = "DWS1:ACTIVE" },
		{ .name = "MDES token in a wrapper, no requestId",
		  .body = "{\"n\":{\"tokens\":[{\"tokenUniqueReference\":\"DWS1\",\"status\":"
			  "\"ACTIVE\",\"statusTimestamp\":\"2024-05-01T10:00:00Z\"},"
			  "{\"tokenUniqueReference\":\"DWS2\",\"status\":\"SUSPENDED\"}]}}",
		  .category = "token.status",
		  .rule = "mdes_token",
		  .type = "token.status.activated",
		  .subject = "DWS1",
		  .status = "ACTIVE",
		  .canonical = "activated",
		  .time = "2024-05-01T10:00:00Z",
		  .event_id = "DWS1:ACTIVE:2024-05-01T10:00:00Z" },
		{ .name = "MDES token bare",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS3\",\"status\":\"ACTIVE\","
			  "\"statusTimestamp\":\"2024-06-01T00:00:00Z\"}]}",
		  .category = "token.status",
		  .rule = "mdes_token_bare",
		  .type = "token.status.activated",
		  .subject = "DWS3",
		  .status = "ACTIVE",
		  .canonical = "activated",
		  .time = "2024-06-01T00:00:00Z",
		  .event_id = "DWS3:ACTIVE:2024-06-01T00:00:00Z" },
		{ .name = "MDES token bare without a time: id is reference + status",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS3\",\"status\":\"ACTIVE\"}]"
			  "}",
		  .category = "token.status",
		  .rule = "mdes_token_bare",
		  .type = "token.status.activated",
		  .subject = "DWS3",
		  .status = "ACTIVE",
		  .canonical = "activated",
		  .event_id = "DWS3:ACTIVE" },
		{ .name = "MDES card metadata in a wrapper beats the token rule",
		  .body = "{\"requestId\":\"req-3\",\"notification\":{\"tokens\":[{"
			  "\"tokenUniqueReference\":\"DWS4\",\"status\":\"ACTIVE\","
			  "\"productConfig\":{\"brandLogoAssetId\":\"a1\",\"isCoBranded\":false}}]}"
			  "}",
		  .category = "card.metadata",
		  .rule = "mdes_card_metadata",
		  .type = "card.metadata.updated",
		  .subject = "DWS4",
		  .event_id = "req-3:DWS4" },
		{ .name = "MDES card metadata bare beats the token rule",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS5\",\"status\":\"ACTIVE\","
			  "\"productConfig\":{}}]}",
		  .category = "card.metadata",
		  .rule = "mdes_card_metadata_bare",
		  .type = "card.metadata.updated",
		  .subject = "DWS5",
		  .event_id = ID_SHA_BODY },
		{ .name = "explicit CardMetadataChanged",
		  .body = "{\"eventType\":\"CardMetadataChanged\",\"eventId\":\"evt-cm-1\","
			  "\"data\":{\"card_id\":\"card_7\"}}",
		  .category = "card.metadata",
		  .rule = "card_metadata_explicit",
		  .type = "card.metadata.updated",
		  .subject = "card_7",
		  .event_id = "evt-cm-1" },
		{ .name = "explicit card.metadata.updated",
		  .body = "{\"type\":\"card.metadata.updated\",\"id\":\"evt_5\","
			  "\"data\":{\"tokenUniqueReference\":\"DWS6\"}}",
		  .category = "card.metadata",
		  .rule = "card_metadata_explicit",
		  .type = "card.metadata.updated",
		  .subject = "DWS6",
		  .event_id = "evt_5" },
		{ .name = "VTS with the type in the query",
		  .body = "{\"vProvisionedTokenID\":\"vtok-1\",\"vNotificationID\":\"vn-1\"}",
		  .query = "eventType=TOKEN_STATUS_UPDATED",
		  .category = "token.status",
		  .rule = "vts_token",
		  .type = "token.status.updated",
		  .subject = "vtok-1",
		  .status = "TOKEN_STATUS_UPDATED",
		  .canonical = "updated",
		  .event_id = "vn-1" },
		{ .name = "VTS, other parameters around",
		  .body = "{\"vProvisionedTokenID\":\"vtok-2\",\"vNotificationID\":\"vn-2\"}",
		  .query = "apiKey=k&eventType=TOKEN_CREATED&x=%20",
		  .category = "token.status",
		  .rule = "vts_token",
		  .type = "token.status.created",
		  .subject = "vtok-2",
		  .status = "TOKEN_CREATED",
		  .canonical = "created",
		  .event_id = "vn-2" },
		{ .name = "VTS body without a query is unclassified",
		  .body = "{\"vProvisionedTokenID\":\"vtok-1\",\"vNotificationID\":\"vn-1\"}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "explicit type beats structure (card over token markers)",
		  .body = "{\"eventType\":\"CardMetadataChanged\",\"tokens\":[{"
			  "\"tokenUniqueReference\":\"T1\",\"status\":\"SUSPENDED\"}]}",
		  .category = "card.metadata",
		  .rule = "card_metadata_explicit",
		  .type = "card.metadata.updated",
		  .event_id = ID_SHA_BODY },
		{ .name = "explicit type beats structure (token over payment markers)",
		  .body = "{\"type\":\"token.suspended\",\"endToEndId\":\"E\","
			  "\"paymentStatus\":{\"code\":\"ACSC\"}}",
		  .category = "token.status",
		  .rule = "gateway_token",
		  .type = "token.status.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "an explicit type no rule knows falls through to structure",
		  .body = "{\"type\":\"something.else\",\"endToEndId\":\"E3\","
			  "\"paymentStatus\":{\"code\":\"PNDG\"}}",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.pending",
		  .subject = "E3",
		  .status = "PNDG",
		  .canonical = "pending",
		  .event_id = "E3:PNDG" },
		{ .name = "route pins the category over a token-looking body",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS7\",\"status\":\"ACTIVE\","
			  "\"statusTimestamp\":\"2024-06-01T00:00:00Z\"}]}",
		  .route = "payment.status",
		  .category = "payment.status",
		  .rule = "route",
		  .type = "payment.status.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "route pins the category over an explicit token type",
		  .body = "{\"id\":\"evt_9\",\"type\":\"token.suspended\"}",
		  .route = "payment.status",
		  .category = "payment.status",
		  .rule = "route",
		  .type = "payment.status.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "route category still uses a rule of that category",
		  .body = DUITNOW_CLEARED,
		  .route = "payment.status",
		  .category = "payment.status",
		  .rule = "duitnow_pay_status",
		  .type = "payment.status.succeeded",
		  .subject = "E2E-1",
		  .status = "ACSC",
		  .canonical = "succeeded",
		  .event_id = "E2E-1:ACSC:CLEARED" },
		{ .name = "token route with an MDES token body",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS8\",\"status\":"
			  "\"SUSPENDED\","
			  "\"statusTimestamp\":\"2026-11-26T10:00:00.000Z\"}]}",
		  .route = "token.status",
		  .category = "token.status",
		  .rule = "mdes_token_bare",
		  .type = "token.status.suspended",
		  .subject = "DWS8",
		  .status = "SUSPENDED",
		  .canonical = "suspended",
		  .time = "2026-11-26T10:00:00.000Z",
		  .event_id = "DWS8:SUSPENDED:2026-11-26T10:00:00.000Z" },
		{ .name = "card route skips the token rule for a metadata body",
		  .body = "{\"tokens\":[{\"tokenUniqueReference\":\"DWS9\",\"status\":\"ACTIVE\"}]"
			  "}",
		  .route = "card.metadata",
		  .category = "card.metadata",
		  .rule = "route",
		  .type = "card.metadata.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "route with a category no rule has",
		  .body = DUITNOW_CLEARED,
		  .route = "custom.thing",
		  .category = "custom.thing",
		  .rule = "route",
		  .type = "custom.thing.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "unclassified keeps the raw-body hash",
		  .body = " {\"hello\" : \"world\"}\n",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "unclassified empty object",
		  .body = "{}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = "=sha256:{}" },
		{ .name = "markers that are only half there",
		  .body = "{\"endToEndId\":\"E4\"}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "a type field that is an object is not a type",
		  .body = "{\"type\":{\"x\":\"charge.succeeded\"},\"id\":\"evt_x\"}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = ID_SHA_BODY },
		{ .name = "an empty eventType does not hide type",
		  .body = "{\"eventType\":\"\",\"type\":\"charge.pending\",\"id\":\"evt_p\"}",
		  .category = "payment.status",
		  .rule = "gateway_payment",
		  .type = "payment.status.pending",
		  .status = "charge.pending",
		  .canonical = "pending",
		  .event_id = "evt_p" },
		{ .name = "a top-level array body",
		  .body = "[{\"endToEndId\":\"E5\",\"paymentStatus\":{\"code\":\"ACSC\"}}]",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = ID_SHA_BODY },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		run_expect(shipped->rules, &cases[i]);
}

/* A payment moving RECEIVED -> CLEARED is two events; a retry of one is one. */
static void
test_shipped_event_ids_follow_state(void **state)
{
	static const char *const bodies[] = {
		"{\"endToEndId\":\"E2E-1\",\"paymentStatus\":{\"code\":\"ACSP\",\"substate\":"
		"\"RECEIVED\"}}",
		"{\"endToEndId\":\"E2E-1\",\"paymentStatus\":{\"code\":\"ACSP\",\"substate\":"
		"\"CLEARED\"}}",
		/* The same as the second, retried with other bytes and extra fields. */
		"{ \"paymentStatus\" : {\"substate\":\"CLEARED\",\"code\":\"ACSP\",\"message\":"
		"\"retry\"}, \"endToEndId\":\"E2E-1\", \"issuer\":\"X\"}",
	};
	char *ids[3];
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(bodies); i++) {
		struct classify_input in = { .raw = bodies[i], .raw_len = strlen(bodies[i]) };
		struct classify_result res;
		json_t *body = json_loads(bodies[i], 0, NULL);

		assert_non_null(body);
		in.body = body;
		classify_run(shipped->rules, &in, &res);
		ids[i] = strdup(res.event_id);
		classify_result_fini(&res);
		json_decref(body);
	}
	assert_string_equal(ids[0], "E2E-1:ACSP:RECEIVED");
	assert_string_equal(ids[1], "E2E-1:ACSP:CLEARED");
	assert_string_not_equal(ids[0], ids[1]);
	assert_string_equal(ids[1], ids[2]);
	for (size_t i = 0; i < HS_ARRAY_LEN(ids); i++)
		free(ids[i]);
}

/* Ids that differ only after a "\u0000" stay apart (hashed whole), and items
 * of one batch that would share an id get their place added. */
static void
test_shipped_ids_nul_and_batches(void **state)
{
	static const char *const nul[2] = {
		"{\"id\":\"evt_1\\u0000A\",\"type\":\"charge.succeeded\"}",
		"{\"id\":\"evt_1\\u0000B\",\"type\":\"charge.succeeded\"}",
	};
	static const char batch[] =
		"{\"BusMsg\":{\"AppHdr\":{\"BizMsgIdr\":\"BIZ\",\"MsgDefIdr\":\"pacs.002.001.10\"},"
		"\"Document\":{\"FIToFIPmtStsRpt\":{\"TxInfAndSts\":[{\"TxSts\":\"ACSC\"},"
		"{\"OrgnlEndToEndId\":\"E9\",\"TxSts\":\"ACSC\"},{\"TxSts\":\"RJCT\"}]}}}}";
	char *ids[2];
	struct classify_result *all;
	struct classify_input in = { .raw = batch, .raw_len = strlen(batch) };
	json_t *body;
	size_t n;
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		struct classify_input one = { .raw = nul[i], .raw_len = strlen(nul[i]) };
		struct classify_result res;
		json_t *b = json_loads(nul[i], JSON_ALLOW_NUL, NULL);

		assert_non_null(b);
		one.body = b;
		classify_run(shipped->rules, &one, &res);
		assert_true(res.id_hashed);
		assert_int_equal(strncmp(res.event_id, "sha256:", 7), 0);
		ids[i] = strdup(res.event_id);
		classify_result_fini(&res);
		json_decref(b);
	}
	assert_string_not_equal(ids[0], ids[1]);
	free(ids[0]);
	free(ids[1]);

	body = json_loads(batch, 0, NULL);
	assert_non_null(body);
	in.body = body;
	n = classify_run_all(shipped->rules, &in, &all);
	assert_int_equal(n, 3);
	assert_string_equal(all[0].event_id, "BIZ#0");
	assert_string_equal(all[1].event_id, "E9:ACSC"); /* its own: unchanged */
	assert_string_equal(all[2].event_id, "BIZ#2");
	classify_results_free(all, n);
	json_decref(body);
}

/* --- hand-built rule sets ------------------------------------------------ */

static void
must(int rc, const char *what, const char *err)
{
	if (rc != 0)
		fail_msg("%s: ret %d: %s", what, rc, err);
}

/* One rule: category, then key/value pairs (NULL-terminated). */
static void
add_rule(struct classify_rules *r, const char *name, ...)
{
	char err[CLASSIFY_ERR_MAX] = "";
	va_list ap;
	const char *k;

	must(classify_rule_begin(r, name, err), name, err);
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		if (classify_rule_set(r, k, v, err) != 0) {
			va_end(ap);
			fail_msg("rule %s: %s = %s: %s", name, k, v, err);
		}
	}
	va_end(ap);
	must(classify_rule_end(r, err), name, err);
}

static struct classify_rules *
rules_new(const char *type_fields)
{
	struct classify_rules *r = classify_rules_new();
	char err[CLASSIFY_ERR_MAX] = "";

	assert_non_null(r);
	must(classify_set_type_fields(r, type_fields, err), type_fields, err);
	return r;
}

/* Numbers, booleans and odd status values become text. */
static void
test_status_values(void **state)
{
	static const struct expect cases[] = {
		{ .name = "integer status",
		  .body = "{\"ref\":\"r1\",\"code\":7}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.7",
		  .subject = "r1",
		  .status = "7",
		  .canonical = "7",
		  .event_id = "r1:7" },
		{ .name = "zero status",
		  .body = "{\"ref\":\"r1\",\"code\":0}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.0",
		  .subject = "r1",
		  .status = "0",
		  .canonical = "0",
		  .event_id = "r1:0" },
		{ .name = "negative status",
		  .body = "{\"ref\":\"r1\",\"code\":-3}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s._3",
		  .subject = "r1",
		  .status = "-3",
		  .canonical = "_3",
		  .event_id = "r1:-3" },
		{ .name = "large integer keeps every digit",
		  .body = "{\"ref\":\"r1\",\"code\":9007199254740993}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.9007199254740993",
		  .subject = "r1",
		  .status = "9007199254740993",
		  .canonical = "9007199254740993",
		  .event_id = "r1:9007199254740993" },
		{ .name = "real status",
		  .body = "{\"ref\":\"r1\",\"code\":2.5}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.2_5",
		  .subject = "r1",
		  .status = "2.5",
		  .canonical = "2_5",
		  .event_id = "r1:2.5" },
		{ .name = "boolean status",
		  .body = "{\"ref\":\"r1\",\"code\":true}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.true",
		  .subject = "r1",
		  .status = "true",
		  .canonical = "true",
		  .event_id = "r1:true" },
		{ .name = "integer subject",
		  .body = "{\"ref\":42,\"code\":\"OK\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.done",
		  .subject = "42",
		  .status = "OK",
		  .canonical = "done",
		  .event_id = "42:OK" },
		{ .name = "null status: the verb",
		  .body = "{\"ref\":\"r1\",\"code\":null}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.seen",
		  .subject = "r1",
		  .event_id = "=sha256(body)" },
		{ .name = "empty status: the verb",
		  .body = "{\"ref\":\"r1\",\"code\":\"\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.seen",
		  .subject = "r1",
		  .event_id = "=sha256(body)" },
		{ .name = "object status: the verb",
		  .body = "{\"ref\":\"r1\",\"code\":{\"a\":1}}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.seen",
		  .subject = "r1",
		  .event_id = "=sha256(body)" },
		{ .name = "array status: the verb",
		  .body = "{\"ref\":\"r1\",\"code\":[\"A\"]}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.seen",
		  .subject = "r1",
		  .event_id = "=sha256(body)" },
		{ .name = "status table is case-sensitive",
		  .body = "{\"ref\":\"r1\",\"code\":\"ok\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.ok",
		  .subject = "r1",
		  .status = "ok",
		  .canonical = "ok",
		  .event_id = "r1:ok" },
		{ .name = "unmapped status: lower-cased, others to '_'",
		  .body = "{\"ref\":\"r1\",\"code\":\"In-Progress/2 \\u00e9\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.in_progress_2___",
		  .subject = "r1",
		  .status = "In-Progress/2 \xc3\xa9",
		  .canonical = "in_progress_2___",
		  .event_id = "r1:In-Progress/2 \xc3\xa9" },
		/* The tree holds numbers as lexemes: a card number sent as the
		 * status in exponent notation would spell every digit in the word,
		 * where no later digit scan sees it. */
		{ .name = "card number as a float status: the word is masked",
		  .body = "{\"ref\":\"r1\",\"code\":\"4.111111111111111E15\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.411111******1111",
		  .subject = "r1",
		  .status = "4.111111111111111E15",
		  .canonical = "411111******1111",
		  .event_id = "r1:4.111111111111111E15" },
		{ .name = "negative card number as a float status",
		  .body = "{\"ref\":\"r1\",\"code\":\"-5.1051051051051e15\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s._510510******5100",
		  .subject = "r1",
		  .status = "-5.1051051051051e15",
		  .canonical = "_510510******5100",
		  .event_id = "r1:-5.1051051051051e15" },
		/* Grouped: the word's '_' would hide the groups from the digit
		 * scan, so the number is masked first (its '*' kept). */
		{ .name = "card number grouped by spaces as the status",
		  .body = "{\"ref\":\"r1\",\"code\":\"4111 1111 1111 1111\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.4111_11**_****_1111",
		  .subject = "r1",
		  .status = "4111 1111 1111 1111",
		  .canonical = "4111_11**_****_1111",
		  .event_id = "r1:4111 1111 1111 1111" },
		{ .name = "card number grouped by dashes inside a longer status",
		  .body = "{\"ref\":\"r1\",\"code\":\"PAN-4111-1111-1111-1111-X\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.pan_4111_11**_****_1111_x",
		  .subject = "r1",
		  .status = "PAN-4111-1111-1111-1111-X",
		  .canonical = "pan_4111_11**_****_1111_x",
		  .event_id = "r1:PAN-4111-1111-1111-1111-X" },
		{ .name = "a sender's own '*' is no mask: '_' as any other",
		  .body = "{\"ref\":\"r1\",\"code\":\"A*B\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.a_b",
		  .subject = "r1",
		  .status = "A*B",
		  .canonical = "a_b",
		  .event_id = "r1:A*B" },
		{ .name = "a float that is no card number keeps the lower-cased word",
		  .body = "{\"ref\":\"r1\",\"code\":\"4.111111111111112E15\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.4_111111111111112e15",
		  .subject = "r1",
		  .status = "4.111111111111112E15",
		  .canonical = "4_111111111111112e15",
		  .event_id = "r1:4.111111111111112E15" },
		{ .name = "long status: the word is cut to 48",
		  .body = "{\"ref\":\"r1\",\"code\":"
			  "\"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ\"}",
		  .category = "n.s",
		  .rule = "num",
		  .type = "n.s.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv",
		  .subject = "r1",
		  .status = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ",
		  .canonical = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv",
		  .event_id = "r1:ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ" },
	};
	struct classify_rules *r = rules_new("");
	char err[CLASSIFY_ERR_MAX] = "";
	(void)state;

	add_rule(r, "num", "category", "n.s", "has", "ref", "subject", "ref", "status", "code",
		 "id", "ref + code", "verb", "seen", NULL);
	must(classify_status_set(r, "OK", "done", err), "status OK", err);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		run_expect(r, &cases[i]);
	classify_rules_free(r);
}

/* Ids up to 200 bytes are kept; longer composite ids are hashed. */
static void
test_long_composite_id(void **state)
{
	static const size_t blens[] = { 1, 48, 49, 50, 300 };
	struct classify_rules *r = rules_new("");
	char a[160], b[310];
	(void)state;

	add_rule(r, "long", "category", "x", "has", "a", "id", "a + b", NULL);
	memset(a, 'a', 150);
	a[150] = '\0';
	for (size_t i = 0; i < HS_ARRAY_LEN(blens); i++) {
		char body[600], joined[500], want[80];
		struct classify_input in = { 0 };
		struct classify_result res;
		json_t *j;

		memset(b, 'b', blens[i]);
		b[blens[i]] = '\0';
		snprintf(body, sizeof(body), "{\"a\":\"%s\",\"b\":\"%s\"}", a, b);
		snprintf(joined, sizeof(joined), "%s:%s", a, b);
		j = json_loads(body, 0, NULL);
		assert_non_null(j);
		in.body = j;
		in.raw = body;
		in.raw_len = strlen(body);
		classify_run(r, &in, &res);
		if (strlen(joined) <= 200) {
			assert_string_equal(res.event_id, joined);
		} else {
			sha256_id(joined, strlen(joined), want);
			if (strcmp(res.event_id, want) != 0)
				fail_msg("id of %zu bytes: got \"%s\", want \"%s\" (sha256 of the "
					 "joined id)",
					 strlen(joined), res.event_id, want);
		}
		classify_result_fini(&res);
		json_decref(j);
	}
	classify_rules_free(r);
}

/* Id alternatives: the first complete one wins; an empty part is missing. */
static void
test_id_alternatives(void **state)
{
	static const struct expect cases[] = {
		{ .name = "first alternative",
		  .body = "{\"k\":1,\"e\":\"E\",\"a\":\"A\",\"b\":\"B\"}",
		  .category = "x",
		  .rule = "ids",
		  .type = "x.received",
		  .event_id = "E" },
		{ .name = "second when the first is missing",
		  .body = "{\"k\":1,\"a\":\"A\",\"b\":\"B\"}",
		  .category = "x",
		  .rule = "ids",
		  .type = "x.received",
		  .event_id = "A:B" },
		{ .name = "empty part makes an alternative incomplete",
		  .body = "{\"k\":1,\"e\":\"\",\"a\":\"A\",\"b\":\"\"}",
		  .category = "x",
		  .rule = "ids",
		  .type = "x.received",
		  .event_id = "A" },
		{ .name = "null part",
		  .body = "{\"k\":1,\"a\":null}",
		  .category = "x",
		  .rule = "ids",
		  .type = "x.received",
		  .event_id = "=sha256(body)" },
		{ .name = "nested and indexed parts",
		  .body = "{\"k\":1,\"a\":\"A\",\"n\":{\"l\":[0,\"Z\"]}}",
		  .category = "x",
		  .rule = "ids",
		  .type = "x.received",
		  .event_id = "A" },
		{ .name = "query part",
		  .body = "{\"k\":1,\"n\":{\"l\":[0,\"Z\"]}}",
		  .query = "q=Q%2F1",
		  .category = "x",
		  .rule = "ids",
		  .type = "x.received",
		  .event_id = "Z:Q/1" },
	};
	struct classify_rules *r = rules_new("");
	(void)state;

	add_rule(r, "ids", "category", "x", "has", "k", "id", "e, a + b, a, n.l[1] + ?q", NULL);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		run_expect(r, &cases[i]);
	classify_rules_free(r);
}

/* "*" matches any wrapper key; "has" needs every path, "?name" reads the query. */
static void
test_wildcard_and_markers(void **state)
{
	static const struct expect cases[] = {
		{ .name = "wrapper",
		  .body = "{\"a\":1,\"b\":[1],\"w\":{\"marker\":\"m1\"}}",
		  .category = "wild",
		  .rule = "wild",
		  .type = "wild.received",
		  .subject = "m1",
		  .event_id = "=sha256(body)" },
		{ .name = "second wrapper when the first lacks the key",
		  .body = "{\"w1\":{\"other\":1},\"w2\":{\"marker\":\"m2\"},\"w3\":{\"marker\":"
			  "\"m3\"}}",
		  .category = "wild",
		  .rule = "wild",
		  .type = "wild.received",
		  .subject = "m2",
		  .event_id = "=sha256(body)" },
		{ .name = "bare key is not under a wrapper",
		  .body = "{\"marker\":\"m\"}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = "=sha256(body)" },
		{ .name = "two levels",
		  .body = "{\"a\":{\"b\":{\"deep\":{\"x\":\"d\"}}}}",
		  .category = "deep",
		  .rule = "deep",
		  .type = "deep.received",
		  .subject = "d",
		  .event_id = "=sha256(body)" },
		{ .name = "both markers needed",
		  .body = "{\"p\":1}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = "=sha256(body)" },
		/* A member set to null is no marker: a token status change sent
		 * with "productConfig":null is no card metadata change. */
		{ .name = "a marker set to null is absent",
		  .body = "{\"p\":1,\"q\":null}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = "=sha256(body)" },
		{ .name = "both markers present (false is a value)",
		  .body = "{\"p\":1,\"q\":false}",
		  .category = "both",
		  .rule = "both",
		  .type = "both.received",
		  .event_id = "=sha256(body)" },
		{ .name = "query marker",
		  .body = "{\"z\":1}",
		  .query = "src=vts",
		  .category = "query",
		  .rule = "query",
		  .type = "query.received",
		  .event_id = "=sha256(body)" },
		{ .name = "query marker absent",
		  .body = "{\"z\":1}",
		  .query = "other=1",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = "=sha256(body)" },
	};
	struct classify_rules *r = rules_new("");
	(void)state;

	add_rule(r, "wild", "category", "wild", "has", "*.marker", "subject", "*.marker", NULL);
	add_rule(r, "deep", "category", "deep", "has", "*.*.deep.x", "subject", "*.*.deep.x", NULL);
	add_rule(r, "both", "category", "both", "has", "p, q", NULL);
	add_rule(r, "query", "category", "query", "has", "?src", NULL);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		run_expect(r, &cases[i]);
	classify_rules_free(r);
}

/* Explicit types: type_fields order, glob patterns, rule order, then structure. */
static void
test_explicit_types(void **state)
{
	static const struct expect cases[] = {
		{ .name = "glob",
		  .body = "{\"kind\":\"pay.done\"}",
		  .category = "pay",
		  .rule = "pay",
		  .type = "pay.received",
		  .event_id = "=sha256(body)" },
		{ .name = "first type field present wins",
		  .body = "{\"meta\":{\"kind\":\"tok.x\"},\"kind\":\"pay.x\"}",
		  .category = "pay",
		  .rule = "pay",
		  .type = "pay.received",
		  .event_id = "=sha256(body)" },
		{ .name = "nested type field",
		  .body = "{\"meta\":{\"kind\":\"tok.x\"}}",
		  .category = "tok",
		  .rule = "tok",
		  .type = "tok.received",
		  .event_id = "=sha256(body)" },
		{ .name = "query type field",
		  .body = "{}",
		  .query = "ev=tok.q",
		  .category = "tok",
		  .rule = "tok",
		  .type = "tok.received",
		  .event_id = "=sha256:{}" },
		{ .name = "earlier rule wins for a type both match",
		  .body = "{\"kind\":\"pay.tok\"}",
		  .category = "pay",
		  .rule = "pay",
		  .type = "pay.received",
		  .event_id = "=sha256(body)" },
		{ .name = "patterns are case-sensitive",
		  .body = "{\"kind\":\"PAY.DONE\"}",
		  .category = "unclassified",
		  .rule = "none",
		  .type = "unclassified.received",
		  .event_id = "=sha256(body)" },
		{ .name = "bracket pattern",
		  .body = "{\"kind\":\"v2\"}",
		  .category = "tok",
		  .rule = "tok",
		  .type = "tok.received",
		  .event_id = "=sha256(body)" },
		{ .name = "explicit type beats an earlier structural rule",
		  .body = "{\"kind\":\"tok.1\",\"s\":1}",
		  .category = "tok",
		  .rule = "tok",
		  .type = "tok.received",
		  .event_id = "=sha256(body)" },
		{ .name = "unknown type: structure decides",
		  .body = "{\"kind\":\"zzz\",\"s\":1}",
		  .category = "struct",
		  .rule = "struct",
		  .type = "struct.received",
		  .event_id = "=sha256(body)" },
		{ .name = "numeric type value",
		  .body = "{\"kind\":5}",
		  .category = "five",
		  .rule = "five",
		  .type = "five.received",
		  .event_id = "=sha256(body)" },
	};
	struct classify_rules *r = rules_new("kind, meta.kind, ?ev");
	(void)state;

	add_rule(r, "struct", "category", "struct", "has", "s", NULL);
	add_rule(r, "pay", "category", "pay", "type", "pay.*", NULL);
	add_rule(r, "tok", "category", "tok", "type", "tok.*, *.tok, v[0-9]", NULL);
	add_rule(r, "five", "category", "five", "type", "5", NULL);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		run_expect(r, &cases[i]);
	classify_rules_free(r);
}

/* Without type_fields no value is an explicit type. */
static void
test_no_type_fields(void **state)
{
	static const struct expect c = { .name = "no type fields",
					 .body = "{\"type\":\"pay.x\"}",
					 .category = "unclassified",
					 .rule = "none",
					 .type = "unclassified.received",
					 .event_id = "=sha256(body)" };
	struct classify_rules *r = classify_rules_new();
	(void)state;

	add_rule(r, "pay", "category", "pay", "type", "pay.*", NULL);
	run_expect(r, &c);
	classify_rules_free(r);
}

static void
test_time_and_subject_first_present(void **state)
{
	static const struct expect cases[] = {
		{ .name = "first present",
		  .body = "{\"k\":1,\"t1\":\"2026-11-26T10:00:00+08:00\",\"t2\":\"2026-11-26T11:00:"
			  "00Z\","
			  "\"s2\":\"S2\"}",
		  .category = "x",
		  .rule = "r",
		  .type = "x.received",
		  .subject = "S2",
		  .time = "2026-11-26T10:00:00+08:00",
		  .event_id = "=sha256(body)" },
		{ .name = "empty skipped, a time that is no time is dropped",
		  .body = "{\"k\":1,\"t1\":\"\",\"t2\":1.5,\"s1\":\"\"}",
		  .category = "x",
		  .rule = "r",
		  .type = "x.received",
		  .event_id = "=sha256(body)" },
		{ .name = "YYYYMMDDhhmmss without an offset is UTC",
		  .body = "{\"k\":1,\"t1\":\"20261126101505\"}",
		  .category = "x",
		  .rule = "r",
		  .type = "x.received",
		  .time = "2026-11-26T10:15:05Z",
		  .event_id = "=sha256(body)" },
		{ .name = "Unix milliseconds",
		  .body = "{\"k\":1,\"t2\":1700000000123}",
		  .category = "x",
		  .rule = "r",
		  .type = "x.received",
		  .time = "2023-11-14T22:13:20.123Z",
		  .event_id = "=sha256(body)" },
		{ .name = "impossible date",
		  .body = "{\"k\":1,\"t1\":\"20261345101505\"}",
		  .category = "x",
		  .rule = "r",
		  .type = "x.received",
		  .event_id = "=sha256(body)" },
	};
	struct classify_rules *r = rules_new("");
	(void)state;

	add_rule(r, "r", "category", "x", "has", "k", "subject", "s1, s2", "time", "t1, t2", NULL);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		run_expect(r, &cases[i]);
	classify_rules_free(r);
}

/* A NULL raw body of length 0 hashes as the empty string. */
static void
test_empty_raw_body(void **state)
{
	struct classify_rules *r = rules_new("");
	struct classify_input in = { 0 };
	struct classify_result res;
	json_t *body = json_object();
	(void)state;

	in.body = body;
	classify_run(r, &in, &res);
	assert_string_equal(res.event_id,
			    "sha256:"
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(res.category, CLASSIFY_UNCLASSIFIED);
	classify_result_fini(&res);
	/* fini clears, so a second fini is harmless. */
	assert_null(res.event_id);
	classify_result_fini(&res);
	classify_result_fini(NULL);
	json_decref(body);
	classify_rules_free(r);
}

static void
test_rule_building_errors(void **state)
{
	struct classify_rules *r = classify_rules_new();
	char err[CLASSIFY_ERR_MAX];
	(void)state;

	assert_int_equal(classify_rule_set(r, "category", "x", err), -EINVAL);
	assert_string_equal(err, "rule key outside a [rule NAME] section");
	/* Nothing being built: ending is a no-op. */
	assert_int_equal(classify_rule_end(r, err), 0);

	assert_int_equal(classify_rule_begin(r, "a", err), 0);
	assert_int_equal(classify_rule_set(r, "bogus", "x", err), -EINVAL);
	assert_string_equal(
		err, "unknown rule key 'bogus' (expected category, type, has, subject, "
		     "status, substatus, time, time_offset, id, verb, items or unknown_status)");
	assert_int_equal(classify_rule_set(r, "has", "x", err), 0);
	assert_int_equal(classify_rule_set(r, "has", "y", err), -EINVAL);
	assert_string_equal(err, "rule key 'has' given twice");
	assert_int_equal(classify_rule_set(r, "subject", "a[", err), -EINVAL);
	assert_string_equal(err, "bad path 'a[': array index must be [N] with a number");
	assert_int_equal(classify_rule_end(r, err), -EINVAL);
	assert_string_equal(err, "rule 'a' has no category");
	assert_int_equal(classify_rule_set(r, "category", "x", err), -EINVAL);
	assert_string_equal(err, "rule key outside a [rule NAME] section");

	assert_int_equal(classify_rule_begin(r, "a", err), -EINVAL);
	assert_string_equal(err, "rule 'a' is defined twice");
	assert_int_equal(classify_rule_begin(r, "b", err), 0);
	assert_int_equal(classify_rule_set(r, "category", "b", err), 0);
	assert_int_equal(classify_rule_set(r, "subject", "s", err), 0);
	assert_int_equal(classify_rule_end(r, err), -EINVAL);
	assert_string_equal(err, "rule 'b' matches nothing: give it 'type' patterns or 'has' "
				 "markers");

	assert_int_equal(classify_status_set(r, "A", "ok", err), 0);
	assert_int_equal(classify_status_set(r, "A", "ok", err), -EINVAL);
	assert_string_equal(err, "status code 'A' is listed twice");
	assert_int_equal(classify_status_set(r, "B", "Not_ok", err), -EINVAL);
	assert_string_equal(err,
			    "bad canonical word 'Not_ok' (lower-case letters, digits and '_')");

	assert_int_equal(classify_set_type_fields(r, "a, b..c", err), -EINVAL);
	assert_string_equal(err,
			    "bad path 'b..c': expected a key name (letters, digits, _ - : @ $)");
	classify_rules_free(r);
	classify_rules_free(NULL);
}

static void
test_categories_list(void **state)
{
	struct classify_rules *r = rules_new("");
	const char *out[4];
	(void)state;

	add_rule(r, "r1", "category", "b", "has", "x", NULL);
	add_rule(r, "r2", "category", "a", "has", "x", NULL);
	add_rule(r, "r3", "category", "b", "has", "x", NULL);
	add_rule(r, "r4", "category", "c", "has", "x", NULL);
	assert_int_equal(classify_categories(r, out, 4), 3);
	assert_string_equal(out[0], "b");
	assert_string_equal(out[1], "a");
	assert_string_equal(out[2], "c");
	assert_int_equal(classify_categories(r, out, 2), 2);
	assert_string_equal(out[0], "b");
	assert_string_equal(out[1], "a");
	classify_rules_free(r);
}

static void
test_category_valid(void **state)
{
	static const struct {
		const char *name;
		bool want;
	} cases[] = {
		{ "payment.status", true },
		{ "token.status", true },
		{ "card.metadata", true },
		{ "a", true },
		{ "a1.b_c-d", true },
		{ "unclassified", true },
		{ "1abc", false },
		{ ".payment", false },
		{ "_x", false },
		{ "-x", false },
		{ "", false },
		{ "Payment.status", false },
		{ "payment.Status", false },
		{ "payment status", false },
		{ "payment/status", false },
		{ "payment:status", false },
		{ "caf\xc3\xa9", false },
		{ "a\tb", false },
		{ "0123456789012345678901234567890123456789012345678901234567890123", false },
		{ "a123456789012345678901234567890123456789012345678901234567890123", true },
		{ "a1234567890123456789012345678901234567890123456789012345678901234", false },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++)
		if (classify_category_valid(cases[i].name) != cases[i].want)
			fail_msg("classify_category_valid(\"%s\"): got %s, want %s", cases[i].name,
				 cases[i].want ? "false" : "true",
				 cases[i].want ? "true" : "false");
}

/* --- jsonpath ------------------------------------------------------------ */

static void
test_jsonpath_compile_errors(void **state)
{
	static const char key_msg[] = "expected a key name (letters, digits, _ - : @ $)";
	static const char idx_msg[] = "array index must be [N] with a number";
	static const char chr_msg[] = "unexpected character in path";
	static const char query_msg[] = "?name needs a query parameter name";
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "empty path" },
		{ "a..b", key_msg },
		{ ".a", key_msg },
		{ "a.[0]", key_msg },
		{ "a.", "path ends with '.'" },
		{ "a.b.", "path ends with '.'" },
		{ "*.", "path ends with '.'" },
		{ "a[", idx_msg },
		{ "a[x]", idx_msg },
		{ "a[]", idx_msg },
		{ "a[1", idx_msg },
		{ "a[-1]", idx_msg },
		{ "a[1234567]", idx_msg },
		{ "[0]", key_msg },
		{ "a b", chr_msg },
		{ "a*", chr_msg },
		{ "*a", chr_msg },
		{ "a[0]b", chr_msg },
		{ "a/b", chr_msg },
		{ "a\"b", chr_msg },
		{ "?", query_msg },
		{ "?a b", query_msg },
		{ "?a&b", query_msg },
		{ "?a=b", query_msg },
		{ "??a", query_msg },
		{ "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a",
		  "path has too many segments" },
		{ "a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
		  "[0][0][0][0][0][0][0][0]",
		  "path has too many segments" },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct jsonpath *p = (struct jsonpath *)(uintptr_t)1;
		const char *why = NULL;
		int rc = jsonpath_compile(cases[i].text, &p, &why);

		if (rc != -EINVAL) {
			if (rc == 0)
				jsonpath_free(p);
			fail_msg("\"%s\": ret %d, want -EINVAL", cases[i].text, rc);
		}
		if (p != NULL)
			fail_msg("\"%s\": *out not NULL after an error", cases[i].text);
		if (why == NULL || strcmp(why, cases[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", cases[i].text,
				 why ? why : "(null)", cases[i].why);
	}
}

static const char jp_doc[] =
	"{\"a\":{\"b\":[{\"c\":\"C0\"},{\"c\":\"C1\",\"n\":12,\"r\":0.5,\"t\":true,\"f\":false,"
	"\"z\":null,\"o\":{},\"l\":[]}]},\"k-1:x@y$_\":\"odd\",\"arr\":[[1,2],[3,4]],"
	"\"w1\":{\"id\":null},\"w2\":{\"id\":\"W2\"},\"s\":\"\"}";

static void
test_jsonpath_get(void **state)
{
	static const struct {
		const char *path;
		const char *want; /* jsonpath_get_text result; NULL: no text */
		bool present;	  /* jsonpath_get finds a value */
	} cases[] = {
		{ "a.b[0].c", "C0", true },
		{ "a.b[1].c", "C1", true },
		{ "a.b[1].n", "12", true },
		{ "a.b[1].r", "0.5", true },
		{ "a.b[1].t", "true", true },
		{ "a.b[1].f", "false", true },
		{ "a.b[1].z", NULL, true },
		{ "a.b[1].o", NULL, true },
		{ "a.b[1].l", NULL, true },
		{ "a.b", NULL, true },
		{ "a.b[2].c", NULL, false },
		{ "a.b[999999].c", NULL, false },
		{ "a.b.c", NULL, false },
		{ "a[0]", NULL, false },
		{ "a.b[0].c.d", NULL, false },
		{ "a.b[0].c[0]", NULL, false },
		{ "missing", NULL, false },
		{ "A", NULL, false },
		{ "k-1:x@y$_", "odd", true },
		{ "arr[1][0]", "3", true },
		{ "arr[0][1]", "2", true },
		{ "arr[0][2]", NULL, false },
		/* "*": the first child under which the rest resolves (null counts). */
		{ "*.id", NULL, true },
		{ "*.b[1].c", "C1", true },
		{ "s", "", true },
	};
	json_t *doc = json_loads(jp_doc, 0, NULL);
	(void)state;

	assert_non_null(doc);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		struct jsonpath *p;
		const char *why = "";
		char *got;

		if (jsonpath_compile(cases[i].path, &p, &why) != 0)
			fail_msg("\"%s\": %s", cases[i].path, why);
		assert_string_equal(jsonpath_text(p), cases[i].path);
		assert_false(jsonpath_is_query(p));
		if ((jsonpath_get(p, doc) != NULL) != cases[i].present)
			fail_msg("\"%s\": jsonpath_get %s, want %s", cases[i].path,
				 cases[i].present ? "NULL" : "a value",
				 cases[i].present ? "a value" : "NULL");
		got = jsonpath_get_text(p, doc, "a=1");
		if ((got == NULL) != (cases[i].want == NULL) ||
		    (got != NULL && strcmp(got, cases[i].want) != 0))
			fail_msg("\"%s\": text %s%s%s, want %s%s%s", cases[i].path, got ? "\"" : "",
				 got ? got : "NULL", got ? "\"" : "", cases[i].want ? "\"" : "",
				 cases[i].want ? cases[i].want : "NULL", cases[i].want ? "\"" : "");
		free(got);
		jsonpath_free(p);
	}
	json_decref(doc);
	jsonpath_free(NULL);
}

/* "*" alone is the first member; on a non-object it finds nothing. */
static void
test_jsonpath_star(void **state)
{
	json_t *doc = json_loads("{\"first\":{\"x\":1},\"second\":2}", 0, NULL);
	json_t *arr = json_loads("[{\"x\":1}]", 0, NULL);
	struct jsonpath *p, *px;
	const char *why;
	(void)state;

	assert_int_equal(jsonpath_compile("*", &p, &why), 0);
	assert_int_equal(jsonpath_compile("*.x", &px, &why), 0);
	assert_ptr_equal(jsonpath_get(p, doc), json_object_get(doc, "first"));
	assert_ptr_equal(jsonpath_get(px, doc),
			 json_object_get(json_object_get(doc, "first"), "x"));
	assert_null(jsonpath_get(p, arr));
	assert_null(jsonpath_get(px, arr));
	jsonpath_free(p);
	jsonpath_free(px);
	json_decref(doc);
	json_decref(arr);
}

/*
 * A real number's text is the shortest that reads back as the same double, as a
 * sender would write it: "0.1", not the 17-digit "0.10000000000000001". A
 * fractional epoch time is the case that shows up in the wild.
 */
static void
test_jsonpath_real_text_is_shortest(void **state)
{
	static const struct {
		const char *body;
		const char *want;
	} cases[] = {
		{ "{\"a\":2.5}", "2.5" },
		{ "{\"a\":-0.75}", "-0.75" },
		{ "{\"a\":0.1}", "0.1" },
		{ "{\"a\":10.10}", "10.1" },
		{ "{\"a\":1700000000.123}", "1700000000.123" },
		{ "{\"a\":0.3}", "0.3" },
	};
	struct jsonpath *p;
	const char *why;
	int bad = 0;
	(void)state;

	assert_int_equal(jsonpath_compile("a", &p, &why), 0);
	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		json_t *doc = json_loads(cases[i].body, 0, NULL);
		char *got;

		assert_non_null(doc);
		got = jsonpath_get_text(p, doc, NULL);
		if (got == NULL || strcmp(got, cases[i].want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n", cases[i].body,
				    got ? got : "(null)", cases[i].want);
			bad++;
		}
		free(got);
		json_decref(doc);
	}
	jsonpath_free(p);
	if (bad)
		fail_msg("%d of %zu real numbers not given as their shortest text", bad,
			 HS_ARRAY_LEN(cases));
}

static void
test_jsonpath_query_paths(void **state)
{
	json_t *doc = json_loads("{\"eventType\":\"from-body\"}", 0, NULL);
	struct jsonpath *p;
	const char *why;
	char *s;
	(void)state;

	assert_int_equal(jsonpath_compile("?eventType", &p, &why), 0);
	assert_true(jsonpath_is_query(p));
	assert_string_equal(jsonpath_text(p), "?eventType");
	/* The body is never read for a query path. */
	assert_null(jsonpath_get(p, doc));
	assert_null(jsonpath_get_text(p, doc, NULL));
	assert_null(jsonpath_get_text(p, doc, ""));
	s = jsonpath_get_text(p, doc, "x=1&eventType=TOKEN_CREATED");
	assert_string_equal(s, "TOKEN_CREATED");
	free(s);
	jsonpath_free(p);

	assert_int_equal(jsonpath_compile("?a.b-c", &p, &why), 0);
	s = jsonpath_get_text(p, NULL, "a.b-c=v");
	assert_string_equal(s, "v");
	free(s);
	jsonpath_free(p);
	json_decref(doc);
}

static void
test_jsonpath_query_param(void **state)
{
	static const struct {
		const char *query;
		const char *name;
		const char *want; /* NULL: absent or badly encoded */
	} cases[] = {
		{ "eventType=X", "eventType", "X" },
		{ "a=1&eventType=X&b=2", "eventType", "X" },
		{ "a=1&eventType=X", "eventType", "X" },
		{ "eventType=A+B", "eventType", "A B" },
		{ "eventType=A%20B", "eventType", "A B" },
		{ "eventType=%41%62%2b%2B", "eventType", "Ab++" },
		{ "eventType=%C3%A9", "eventType", "\xc3\xa9" },
		{ "eventType=a=b", "eventType", "a=b" },
		{ "eventType=", "eventType", "" },
		{ "eventType=&eventType=2", "eventType", "" },
		{ "eventType=1&eventType=2", "eventType", "1" },
		{ "eventTypeX=1&eventType=2", "eventType", "2" },
		{ "XeventType=1&eventType=2", "eventType", "2" },
		{ "eventtype=1&eventType=2", "eventType", "2" },
		{ "&&eventType=3&", "eventType", "3" },
		{ "eventType&eventType=4", "eventType", "4" },
		{ "eventType", "eventType", NULL },
		{ "eventTypeX=1", "eventType", NULL },
		{ "b=1", "eventType", NULL },
		{ "", "eventType", NULL },
		{ "eventType=%zz", "eventType", NULL },
		{ "eventType=%4", "eventType", NULL },
		{ "eventType=a%2", "eventType", NULL },
		{ "eventType=%", "eventType", NULL },
		{ "eventType=%00", "eventType", NULL },
		{ "eventType=%g1", "eventType", NULL },
		{ "eventType=%4&x=1", "eventType", NULL },
		/* The first match wins even when it is badly encoded. */
		{ "eventType=%zz&eventType=2", "eventType", NULL },
	};
	(void)state;

	for (size_t i = 0; i < HS_ARRAY_LEN(cases); i++) {
		char *got = jsonpath_query_param(cases[i].query, cases[i].name);

		if ((got == NULL) != (cases[i].want == NULL) ||
		    (got != NULL && strcmp(got, cases[i].want) != 0))
			fail_msg("query \"%s\" name \"%s\": got %s%s%s, want %s%s%s",
				 cases[i].query, cases[i].name, got ? "\"" : "", got ? got : "NULL",
				 got ? "\"" : "", cases[i].want ? "\"" : "",
				 cases[i].want ? cases[i].want : "NULL", cases[i].want ? "\"" : "");
		free(got);
	}
	assert_null(jsonpath_query_param(NULL, "eventType"));
}

int
main(void)
{
	static const struct CMUnitTest shipped_tests[] = {
		cmocka_unit_test(test_shipped_rules_table),
		cmocka_unit_test(test_shipped_event_ids_follow_state),
		cmocka_unit_test(test_shipped_ids_nul_and_batches),
	};
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_values),
		cmocka_unit_test(test_long_composite_id),
		cmocka_unit_test(test_id_alternatives),
		cmocka_unit_test(test_wildcard_and_markers),
		cmocka_unit_test(test_explicit_types),
		cmocka_unit_test(test_no_type_fields),
		cmocka_unit_test(test_time_and_subject_first_present),
		cmocka_unit_test(test_empty_raw_body),
		cmocka_unit_test(test_rule_building_errors),
		cmocka_unit_test(test_categories_list),
		cmocka_unit_test(test_category_valid),
		cmocka_unit_test(test_jsonpath_compile_errors),
		cmocka_unit_test(test_jsonpath_get),
		cmocka_unit_test(test_jsonpath_star),
		cmocka_unit_test(test_jsonpath_real_text_is_shortest),
		cmocka_unit_test(test_jsonpath_query_paths),
		cmocka_unit_test(test_jsonpath_query_param),
	};
	int failed;

	failed = cmocka_run_group_tests_name("shipped rules", shipped_tests, setup_shipped,
					     teardown_shipped);
	failed += cmocka_run_group_tests_name("rule engine", tests, NULL, NULL);
	return failed;
}
