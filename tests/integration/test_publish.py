# SPDX-License-Identifier: MIT
"""What lands in Redis: classification, the stream entry and its CloudEvents
envelope, event ids and deduplication, keep-alive and concurrency."""

import hashlib
import json
import threading

import pytest

import payloads as P
from conftest import (RawConn, assert_accepted, assert_entry, http_request_bytes, http_session,
                      json_body, show, stream_entries, stream_keys)


def _one_entry(redis, stream, resp):
    entries = stream_entries(redis.client, stream)
    assert len(entries) == 1, f"want exactly one entry in {stream}, got {entries!r}; " \
                              f"response {show(resp)}"
    return entries[0]


# (id, path, body, category, type, subject, event_id, rule, time)
# event_id: a string for an exact id (a sender event id), a tuple for the
# values the rule's "id = a + b" joins (in order; the separator is the
# relay's), "sha256" for the hash of the raw body. Rule names, subjects and id
# parts follow conf/hookstream.conf.
CLASSIFY = [
    ("duitnow_pay", "/webhook", P.duitnow(), "payment.status", "payment.status.succeeded",
     "E2E-1", ("E2E-1", "ACSC", "CLEARED"), "duitnow_pay_status", None),
    ("gateway_charge", "/webhook", P.gateway_charge(), "payment.status",
     "payment.status.succeeded", "ch_1", "evt_1", "gateway_payment", None),
    ("gateway_token", "/webhook", P.gateway_token(), "token.status", "token.status.suspended",
     "tok_1", "evt_t1", "gateway_token", None),
    ("mdes_token_wrapped", "/webhook", P.mdes_token(), "token.status", "token.status.suspended",
     P.MDES_TUR, (P.MDES_TUR, "SUSPENDED", "2026-11-26T10:00:00Z"), "mdes_token",
     "2026-11-26T10:00:00Z"),
    ("mdes_card_metadata", "/webhook", P.mdes_card_metadata(), "card.metadata",
     "card.metadata.updated", "DWSPMC0000000001", ("r2", "DWSPMC0000000001"),
     "mdes_card_metadata_bare", None),
    ("card_metadata_explicit", "/webhook", P.card_metadata_explicit(), "card.metadata",
     "card.metadata.updated", "c9", "cm-1", "card_metadata_explicit", None),
    ("vts_query_type", "/webhook" + P.VTS_QUERY, P.vts_token(), "token.status",
     "token.status.updated", "v1", "n1", "vts_token", None),
    ("unclassified", "/webhook", P.unclassified(), "unclassified", None, None, "sha256", None,
     None),
]


@pytest.mark.parametrize("case", CLASSIFY, ids=[c[0] for c in CLASSIFY])
def test_classify_by_content(relay, redis, case):
    _, path, body, category, etype, subject, event_id, rule, etime = case
    hs = relay()
    raw = json.dumps(body).encode()
    r = hs.post(path, raw)
    acc = assert_accepted(r, category)
    stream = f"paynet:{category}"
    entry_id, fields = _one_entry(redis, stream, r)
    assert entry_id == acc["entry_id"], f"response entry_id vs XRANGE {entry_id}: {show(r)}"
    ev = assert_entry(fields, category=category, data=body, route="/webhook",
                      event_id=acc["event_id"])
    if etype is not None:
        assert fields["type"] == etype, f"type: {fields!r}"
    if subject is not None:
        assert ev.get("subject") == subject, f"subject: {ev!r}"
    if rule is not None:
        assert ev.get("rule") == rule, f"rule: {ev!r}"
    if etime is not None:
        assert ev.get("time") == etime, f"time should be the sender's: {ev!r}"
    if isinstance(event_id, str) and event_id != "sha256":
        assert acc["event_id"] == event_id, f"event id: {show(r)}"
    elif isinstance(event_id, tuple):
        pos = 0
        for part in event_id:
            i = acc["event_id"].find(part, pos)
            assert i >= 0, f"event id should join {event_id}: {show(r)}"
            pos = i + len(part)
    elif event_id == "sha256":
        digest = hashlib.sha256(raw).hexdigest()
        assert digest in acc["event_id"].lower(), \
            f"event id should be sha256 of the body ({digest}): {show(r)}"
    others = [k for k in stream_keys(redis.client) if k != stream]
    assert others == [], f"event also landed in {others}"


@pytest.mark.parametrize("path,body,category", [
    ("/webhook/payment", P.mdes_token(request_id="pin-1"), "payment.status"),
    ("/webhook/token", P.duitnow(e2e="E2E-PIN-2"), "token.status"),
    ("/webhook/card", P.gateway_charge(evt="evt_pin_3"), "card.metadata"),
], ids=["payment", "token", "card"])
def test_route_pins_category(relay, redis, path, body, category):
    hs = relay()
    r = hs.post(path, body)
    acc = assert_accepted(r, category)
    _, fields = _one_entry(redis, f"paynet:{category}", r)
    assert_entry(fields, category=category, data=body, route=path, event_id=acc["event_id"])
    assert stream_keys(redis.client) == [f"paynet:{category}"], \
        f"streams: {stream_keys(redis.client)}"


def test_duplicate_returns_original_entry(relay, redis):
    hs = relay()
    body = P.duitnow(e2e=P.uid("E2E"))
    r1 = hs.post("/webhook", body)
    a1 = assert_accepted(r1, "payment.status")
    r2 = hs.post("/webhook", body)
    assert r2.status_code == 200, f"second post of the same event: {show(r2)}"
    d = json_body(r2)
    assert d == {"status": "duplicate", "event_id": a1["event_id"], "stream": a1["stream"],
                 "entry_id": a1["entry_id"]}, f"first {show(r1)}; second {show(r2)}"
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert [e[0] for e in entries] == [a1["entry_id"]], f"entries after duplicate: {entries!r}"


def test_state_change_is_a_new_event(relay, redis):
    hs = relay()
    e2e = P.uid("E2E")
    r1 = hs.post("/webhook", P.duitnow(e2e=e2e, code="ACSP", substate="RECEIVED"))
    a1 = assert_accepted(r1, "payment.status")
    r2 = hs.post("/webhook", P.duitnow(e2e=e2e, code="ACSP", substate="CLEARED"))
    a2 = assert_accepted(r2, "payment.status")
    assert a1["event_id"] != a2["event_id"], f"{show(r1)} vs {show(r2)}"
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert [e[0] for e in entries] == [a1["entry_id"], a2["entry_id"]], repr(entries)
    assert [e[1]["event_id"] for e in entries] == [a1["event_id"], a2["event_id"]], repr(entries)


def test_dedup_key_has_ttl(relay, redis):
    hs = relay(env={"HOOKSTREAM_DEDUP_TTL": "120"})
    r = hs.post("/webhook", P.gateway_charge(evt=P.uid("evt")))
    a = assert_accepted(r, "payment.status")
    key = "{paynet:payment.status}:seen:" + a["event_id"]
    ttl = redis.client.ttl(key)
    assert 0 < ttl <= 120, f"TTL of {key} is {ttl}; keys: {redis.client.keys('*')}"


def test_large_integer_kept_as_text(relay, redis):
    hs = relay()
    e2e = P.uid("E2E")
    raw = ('{"checkoutId":"c1","endToEndId":"%s","paymentStatus":{"code":"ACSC",'
           '"substate":"CLEARED","message":"ok"},"issuer":"BANKX",'
           '"paymentMethod":"DuitNowOBW","ref": 123456789012345678}' % e2e)
    r = hs.post("/webhook", raw)
    assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    assert "123456789012345678" in fields["event"], f"event: {fields['event']}"
    ev = json.loads(fields["event"])
    assert ev["data"]["ref"] == 123456789012345678, f"event: {fields['event']}"


def test_decimal_amount_lexeme_kept(relay, redis):
    # DOMAIN.md: never convert amounts to floating point, keep the lexeme.
    hs = relay()
    raw = ('{"id":"%s","type":"charge.succeeded","data":{"object":{"id":"ch_9",'
           '"status":"succeeded","amount":19.99,"fee":12.50}}}' % P.uid("evt"))
    r = hs.post("/webhook", raw)
    assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    assert "19.99" in fields["event"] and "12.50" in fields["event"], \
        f"amount lexemes changed: {fields['event']}"


def test_unicode_payload_round_trips(relay, redis):
    hs = relay()
    body = P.duitnow(e2e=P.uid("E2E"), payerName="Ahmad bin Ābū 李明 😀")
    r = hs.post("/webhook", json.dumps(body, ensure_ascii=False).encode("utf-8"),
                content_type="application/json; charset=utf-8")
    assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    assert json.loads(fields["event"])["data"] == body, fields["event"]


def test_card_number_masked(relay, redis):
    # DOMAIN.md: a full card number (Luhn-valid, 13-19 digits) never lands in
    # Redis or in logs unmasked.
    hs = relay()
    pan = "5555555555554444"
    body = P.duitnow(e2e=P.uid("E2E"), cardNumber=pan)
    r = hs.post("/webhook", body)
    assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    for k, v in fields.items():
        assert pan not in v, f"unmasked PAN in stream field {k}: {v}"
    assert pan not in hs.stderr_text(), "unmasked PAN in the log"


def test_card_number_as_a_float_masked(relay, redis):
    # A sender that took the card number through a float or a sign still sent
    # a card number: its value decides, not its spelling. A fraction's digits
    # are no card number and stay a number.
    hs = relay()
    e2e = P.uid("E2E")
    raw = ('{"endToEndId":"%s","paymentStatus":{"code":"ACSC"},"checkoutId":"c1",'
           '"a":5555555555554444.0,"b":5.555555555554444E15,"c":-5555555555554444,'
           '"d":0.5555555555554444}' % e2e).encode()
    r = hs.post("/webhook", raw)
    assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    data = json.loads(fields["event"])["data"]
    assert (data["a"], data["b"], data["c"]) == (
        "555555******4444", "555555******4444", "-555555******4444"), data
    assert data["d"] == 0.5555555555554444 and '"d":0.5555555555554444' in fields["event"]
    for k, v in fields.items():
        for spelling in ("5555555555554444", "5.555555555554444E15"):
            assert spelling not in v.replace("0.5555555555554444", ""), (k, v)


def test_stream_prefix_from_env(relay, redis):
    hs = relay(env={"HOOKSTREAM_STREAM_PREFIX": "itest"})
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    assert_accepted(r, "payment.status", prefix="itest")
    assert redis.client.xlen("itest:payment.status") == 1
    assert stream_keys(redis.client) == [], "nothing under the default prefix"


def test_keepalive_50_requests_one_session(relay, redis):
    hs = relay()
    s = http_session()
    try:
        for i in range(50):
            r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-KA")), session=s)
            assert_accepted(r, "payment.status")
    finally:
        s.close()
    assert redis.client.xlen("paynet:payment.status") == 50


def test_keepalive_same_connection(relay, redis):
    hs = relay()
    with RawConn(hs.port) as c:
        for i in range(5):
            body = json.dumps(P.duitnow(e2e=P.uid("E2E-RAW")))
            c.send(http_request_bytes("POST", "/webhook", body,
                                      [("Content-Type", "application/json")]))
            r = c.read_response()
            assert r.status_code == 202, f"request {i + 1} on one connection: {show(r)}"
            assert r.headers.get("Connection", "").lower() != "close", show(r)
    assert redis.client.xlen("paynet:payment.status") == 5


def test_concurrent_posts(relay, redis):
    hs = relay()
    results = []
    lock = threading.Lock()

    def worker(t):
        s = http_session()
        try:
            for i in range(10):
                body = P.duitnow(e2e=f"E2E-T{t:02d}-{i:02d}") if i % 2 == 0 \
                    else P.gateway_token(evt=f"evt-T{t:02d}-{i:02d}")
                try:
                    r = hs.post("/webhook", body, session=s)
                    out = (r.status_code, r.text)
                except Exception as e:  # noqa: BLE001 - reported below
                    out = (None, repr(e))
                with lock:
                    results.append(out)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 200, f"{len(results)} answers"
    bad = [x for x in results if x[0] != 202]
    assert not bad, f"{len(bad)} non-202 answers, e.g. {bad[:5]}"
    ids = {json.loads(text)["event_id"] for _, text in results}
    assert len(ids) == 200, f"{len(ids)} distinct event ids"
    total = sum(redis.client.xlen(k) for k in stream_keys(redis.client))
    assert total == 200, {k: redis.client.xlen(k) for k in stream_keys(redis.client)}
    assert redis.client.xlen("paynet:payment.status") == 100
    assert redis.client.xlen("paynet:token.status") == 100


def test_escaped_nul_round_trips(relay, redis):
    # "\u0000" is valid JSON (RFC 8259); refusing it with a 4xx would lose the event.
    hs = relay()
    e2e = P.uid("E2E")
    raw = ('{"checkoutId":"c1","endToEndId":"%s","paymentStatus":{"code":"ACSC",'
           '"substate":"CLEARED","message":"a\\u0000b"},"issuer":"BANKX",'
           '"paymentMethod":"DuitNowOBW"}' % e2e)
    r = hs.post("/webhook", raw)
    assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    assert json.loads(fields["event"])["data"] == json.loads(raw), fields["event"]


def test_redis_db_from_url(relay, redis):
    hs = relay(env={"HOOKSTREAM_REDIS_URL": redis.url + "/3"})
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    assert_accepted(r, "payment.status")
    db3 = redis.new_client(db=3)
    assert db3.xlen("paynet:payment.status") == 1, f"db 3 keys: {db3.keys('*')}"
    assert stream_keys(redis.client) == [], f"db 0 keys: {redis.client.keys('*')}"


def test_consumer_groups_created(relay, redis):
    hs = relay(env={"HOOKSTREAM_GROUPS": "audit, ledger"})
    for cat in ("payment.status", "token.status", "card.metadata"):
        stream = f"paynet:{cat}"
        groups = sorted(g["name"] for g in redis.client.xinfo_groups(stream)) \
            if redis.client.exists(stream) else []
        assert groups == ["audit", "ledger"], f"groups on {stream}: {groups}"
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    acc = assert_accepted(r, "payment.status")
    got = redis.client.xreadgroup("audit", "c1", {"paynet:payment.status": ">"}, count=10)
    ids = [e[0] for _, entries in got for e in entries]
    assert ids == [acc["entry_id"]], f"group audit read {got!r}"


def test_mdes_batch_is_one_event_per_token(relay, redis):
    hs = relay()
    rid = P.uid("req")
    body = {"requestId": rid, "tokens": [
        {"tokenUniqueReference": "DWSPMC-BATCH-1", "status": "ACTIVE",
         "statusTimestamp": "2026-11-26T10:00:00Z"},
        {"tokenUniqueReference": "DWSPMC-BATCH-2", "status": "DEACTIVATED",
         "statusTimestamp": "2026-11-26T10:00:01Z"}]}
    r = hs.post("/webhook", body)
    assert r.status_code == 202, show(r)
    entries = stream_entries(redis.client, "paynet:token.status")
    assert len(entries) == 2, f"want one entry per token: {entries!r}; {show(r)}"
    evs = [json.loads(f["event"]) for _, f in entries]
    assert [e.get("subject") for e in evs] == ["DWSPMC-BATCH-1", "DWSPMC-BATCH-2"], evs
    assert [f["type"] for _, f in entries] == ["token.status.activated",
                                               "token.status.deleted"], entries
    assert len({f["event_id"] for _, f in entries}) == 2, entries
    # the same batch again is a duplicate, not two more entries
    r2 = hs.post("/webhook", body)
    assert r2.status_code == 200, show(r2)
    assert redis.client.xlen("paynet:token.status") == 2


def test_fpx_form_encoded(relay, redis):
    # DOMAIN.md: FPX "AC" notifications are form-encoded, not JSON.
    hs = relay()
    txn = P.uid("FPX")
    form = {"fpx_msgType": "AC", "fpx_fpxTxnId": txn, "fpx_debitAuthCode": "00",
            "fpx_txnAmount": "125.50", "fpx_checkSum": "ABCDEF"}
    from urllib.parse import urlencode
    r = hs.post("/webhook", urlencode(form), content_type="application/x-www-form-urlencoded")
    acc = assert_accepted(r, "payment.status")
    _, fields = _one_entry(redis, "paynet:payment.status", r)
    assert fields["type"] == "payment.status.succeeded", fields
    ev = json.loads(fields["event"])
    assert ev.get("subject") == txn, ev
    assert ev.get("data") == form, f"form fields as a JSON object: {ev!r}"
    assert ev.get("rule") == "fpx_ac", ev
    assert txn in acc["event_id"], show(r)
