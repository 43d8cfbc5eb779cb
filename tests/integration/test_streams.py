# SPDX-License-Identifier: MIT
"""
Stream behaviour beyond one event: consumer groups, trimming by age, per-route
success answers, form posts, the <prefix>:invalid record, and the gate's
handling of a request whose head and body arrive in separate packets.
"""
import json
import time

from conftest import (RawConn, assert_accepted, assert_error, http_request_bytes, metric, show,
                      stream_entries, wait_until)


def _duitnow(e2e, substate="CLEARED"):
    return {"checkoutId": "c-" + e2e, "endToEndId": e2e,
            "paymentStatus": {"code": "ACSC", "substate": substate}}


def test_consumer_groups_created_and_recreated_after_redis_restart(relay, redis):
    hs = relay(env={"HOOKSTREAM_GROUPS": "ledger, audit"})
    for stream in ("paynet:payment.status", "paynet:token.status", "paynet:card.metadata",
                   "paynet:unclassified"):
        groups = sorted(g["name"] for g in redis.client.xinfo_groups(stream))
        assert groups == ["audit", "ledger"], (stream, groups)
    # A Redis without persistence comes back empty: the groups must come back too.
    redis.stop()
    redis.start()
    wait_until(lambda: hs.admin("/readyz").status_code == 200, 15, what="readyz after restart")
    groups = wait_until(lambda: redis.client.exists("paynet:payment.status") and
                        sorted(g["name"] for g in redis.client.xinfo_groups(
                            "paynet:payment.status")), 5, what="groups recreated")
    assert groups == ["audit", "ledger"]
    r = hs.post("/webhook", _duitnow("E2E-grp-1"))
    assert_accepted(r, "payment.status")
    pending = redis.client.xreadgroup("ledger", "c1", {"paynet:payment.status": ">"}, count=10)
    assert len(pending) == 1 and len(pending[0][1]) == 1, pending


def test_trim_by_age_uses_minid(relay, redis):
    hs = relay(env={"HOOKSTREAM_STREAM_MAXLEN": "0", "HOOKSTREAM_STREAM_RETENTION": "3600"})
    # An entry from 1970 is far outside the window. MINID ~ trims whole nodes
    # only, so make every node hold one entry.
    redis.client.config_set("stream-node-max-entries", 1)
    redis.client.xadd("paynet:payment.status", {"old": "1"}, id="1-1")
    for i in range(3):
        assert_accepted(hs.post("/webhook", _duitnow(f"E2E-age-{i}")), "payment.status")
    ids = [e[0] for e in stream_entries(redis.client, "paynet:payment.status")]
    assert "1-1" not in ids and len(ids) == 3, ids


def test_route_success_answer_is_configurable(relay, redis, tmp_path):
    conf = tmp_path / "fpx.conf"
    conf.write_text("allow = 127.0.0.1\n"
                    "[route /fpx]\ncategory = payment.status\nsuccess_status = 200\n"
                    "success_body = OK\n"
                    "[route /duitnow]\nsuccess_status = 200\n"
                    "success_body = {\"message\":\"OK\"}\n"
                    "success_content_type = application/json\n"
                    "[rule fpx]\ncategory = payment.status\nhas = fpx_fpxTxnId\n"
                    "subject = fpx_fpxTxnId\nstatus = fpx_debitAuthCode\n"
                    "id = fpx_fpxTxnId + fpx_debitAuthCode\n")
    hs = relay(config=conf)
    form = "fpx_msgType=AC&fpx_fpxTxnId=2611260001&fpx_debitAuthCode=00&fpx_txnAmount=10.00"
    r = hs.post("/fpx", form, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.text == "OK", (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("text/plain")
    # A retry is answered the same way (senders compare the literal).
    r = hs.post("/fpx", form, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.text == "OK", (r.status_code, r.text)
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert len(entries) == 1, entries
    ev = json.loads(entries[0][1]["event"])
    assert ev["data"] == {"fpx_msgType": "AC", "fpx_fpxTxnId": "2611260001",
                          "fpx_debitAuthCode": "00", "fpx_txnAmount": "10.00"}
    assert entries[0][1]["event_id"] == "2611260001:00"
    r = hs.post("/duitnow", _duitnow("E2E-lit-1"))
    assert r.status_code == 200 and r.json() == {"message": "OK"}, (r.status_code, r.text)
    # Errors keep the JSON answer.
    assert_error(hs.post("/fpx", "a=%zz", content_type="application/x-www-form-urlencoded"),
                 400, "invalid_form")


def test_invalid_body_kept_escaped_and_masked(relay, redis):
    hs = relay(env={"HOOKSTREAM_INVALID_BODY_MAX": "200"})
    raw = b'{"card":"4111111111111111","note":"\x01tab\\x",' + b"x" * 500
    r = hs.post("/webhook/payment", raw)
    assert_error(r, 400, "invalid_json")
    entries = stream_entries(redis.client, "paynet:invalid")
    assert len(entries) == 1, entries
    f = entries[0][1]
    assert f["reason"] == "invalid_json" and f["route"] == "/webhook/payment", f
    assert f["body_truncated"] == "true" and int(f["body_bytes"]) == len(raw), f
    assert len(f["body"]) <= 200, len(f["body"])
    assert "4111111111111111" not in f["body"] and "411111******1111" in f["body"], f["body"]
    assert "\\x01" in f["body"] and "\\\\x" in f["body"], f["body"]
    assert f["request_id"] == r.headers["X-Request-Id"]
    for s in ("paynet:payment.status", "paynet:unclassified"):
        assert stream_entries(redis.client, s) == [], s


def test_invalid_record_content_type_is_masked(relay, redis):
    """The Content-Type header goes into the <prefix>:invalid record: a card
    number in it is masked like the rest (it was stored as sent: found by
    review)."""
    hs = relay()
    r = hs.post("/webhook/payment", b"hello", content_type="text/plain; ref=4111111111111111")
    assert_error(r, 415, "unsupported_content_type")
    entries = stream_entries(redis.client, "paynet:invalid")
    assert len(entries) == 1, entries
    assert entries[0][1]["content_type"] == "text/plain; ref=411111******1111", entries


def test_invalid_body_while_redis_down_is_503(relay, redis):
    hs = relay(env={"HOOKSTREAM_PUBLISH_TIMEOUT": "1000"})
    redis.stop()
    wait_until(lambda: hs.admin("/readyz").status_code == 503, 5, what="readyz 503")
    r = hs.post("/webhook", b"{broken")
    # We could not keep the body: the sender must retry, not give up.
    assert_error(r, 503, "redis_unavailable")


def test_head_and_body_in_separate_packets(relay, redis):
    """A head and its body in two packets once made the gate spin forever."""
    hs = relay()
    body = json.dumps(_duitnow("E2E-split-1")).encode()
    head = http_request_bytes("POST", "/webhook", body,
                              [("Content-Type", "application/json")])[:-len(body)]
    with RawConn(hs.port) as c:
        c.send(head)
        time.sleep(0.05)  # let the head be read on its own
        c.send(body)
        resp = c.read_response()
    assert resp.status_code == 202, (resp.status_code, resp.body)
    # The relay is still responsive (not spinning) and answers the next one.
    assert_accepted(hs.post("/webhook", _duitnow("E2E-split-2")), "payment.status")


def test_expect_100_continue(relay, redis):
    hs = relay()
    body = json.dumps(_duitnow("E2E-100c")).encode()
    req = http_request_bytes("POST", "/webhook", body,
                             [("Content-Type", "application/json"), ("Expect", "100-continue")])
    head, payload = req[:-len(body)], body
    with RawConn(hs.port) as c:
        c.send(head)
        first = c.read_response()
        assert first.status_code == 100, (first.status_code, first.body)
        c.send(payload)
        resp = c.read_response()
    assert resp.status_code == 202, (resp.status_code, resp.body)


def test_batch_of_tokens_is_one_atomic_store(relay, redis):
    hs = relay()
    body = {"requestId": "req-batch-1", "tokens": [
        {"tokenUniqueReference": f"DWSPMC-{i}", "status": st,
         "statusTimestamp": "2026-11-26T10:00:0%dZ" % i}
        for i, st in enumerate(["ACTIVE", "SUSPENDED", "DEACTIVATED"])]}
    r = hs.post("/webhook", body)
    assert r.status_code == 202, r.text
    answer = r.json()
    assert [e["status"] for e in answer["events"]] == ["accepted"] * 3, answer
    entries = stream_entries(redis.client, "paynet:token.status")
    assert [e[1]["type"] for e in entries] == ["token.status.activated",
                                               "token.status.suspended",
                                               "token.status.deleted"], entries
    assert [e[1]["event_id"] for e in entries] == [e["event_id"] for e in answer["events"]]
    r = hs.post("/webhook", body)
    assert r.status_code == 200 and r.json()["status"] == "duplicate", r.text
    assert redis.client.xlen("paynet:token.status") == 3


def test_redact_and_drop_fields_and_their_counters(relay, redis):
    hs = relay(env={"HOOKSTREAM_REDACT_FIELDS": "cvv, cardholderName",
                    "HOOKSTREAM_DROP_FIELDS": "pin"})
    body = {"checkoutId": "c1", "endToEndId": "E2E-red-1",
            "paymentStatus": {"code": "ACSC", "substate": "CLEARED"},
            "card": {"number": "4111 1111 1111 1111", "cvv": "123",
                     "cardholderName": "A. Tan", "pin": "0000"}}
    before = hs.metrics()
    assert_accepted(hs.post("/webhook", body), "payment.status")
    entries = stream_entries(redis.client, "paynet:payment.status")
    data = json.loads(entries[0][1]["event"])["data"]
    assert data["card"] == {"number": "4111 11** **** 1111", "cvv": "[REDACTED]",
                            "cardholderName": "[REDACTED]"}, data
    after = hs.metrics()
    for kind, moved in (("card_number", 1), ("field", 3)):
        delta = (metric(after, "hookstream_redactions_total", kind=kind)
                 - metric(before, "hookstream_redactions_total", kind=kind))
        assert delta == moved, (kind, delta)


def test_pan_exempt_fields_keep_timestamps_as_sent(relay, redis):
    # 1764153600002 (ms since the epoch) and 20261126113624 (YYYYMMDDhhmmss)
    # pass the Luhn check, as one 13-19 digit value in ten does: without
    # pan_exempt_fields they are masked (and a number becomes a string).
    ms, stamp, pan = 1764153600002, "20261126113624", "4111111111111111"

    def post(hs, tag):
        body = ('{"checkoutId":"c1","endToEndId":"E2E-ex-%s","paymentStatus":{"code":"ACSC"},'
                '"eventTime":%d,"card":"%s","other":%d}' % (tag, ms, pan, ms))
        assert_accepted(hs.post("/webhook", body.encode()), "payment.status")
        form = ("fpx_msgType=AC&fpx_fpxTxnId=26112600%s&fpx_debitAuthCode=00&"
                "fpx_fpxTxnTime=%s&fpx_buyerName=%s" % (tag, stamp, pan))
        assert_accepted(hs.post("/webhook", form,
                                content_type="application/x-www-form-urlencoded"),
                        "payment.status")
        entries = stream_entries(redis.client, "paynet:payment.status")[-2:]
        return [json.loads(e[1]["event"])["data"] for e in entries]

    hs = relay()
    data, form = post(hs, "01")
    assert data["eventTime"] == "176415***0002" and form["fpx_fpxTxnTime"] == "202611****3624"
    hs.stop()
    hs = relay(env={"HOOKSTREAM_PAN_EXEMPT_FIELDS": "eventTime, fpx_fpxTxnTime"})
    before = hs.metrics()
    data, form = post(hs, "02")
    assert data["eventTime"] == ms and form["fpx_fpxTxnTime"] == stamp, (data, form)
    # Only the named fields: the same value elsewhere, and card numbers, are masked.
    assert data["other"] == "176415***0002" and data["card"] == "411111******1111", data
    assert form["fpx_buyerName"] == "411111******1111", form
    delta = (metric(hs.metrics(), "hookstream_redactions_total", kind="card_number")
             - metric(before, "hookstream_redactions_total", kind="card_number"))
    assert delta == 3, delta


def test_max_inflight_answers_503_at_once(relay, redis):
    import threading
    hs = relay(env={"HOOKSTREAM_MAX_INFLIGHT": "1", "HOOKSTREAM_PUBLISH_TIMEOUT": "10000"})
    # Writes (and scripts) wait; this client can still read.
    redis.client.execute_command("CLIENT", "PAUSE", "1500", "WRITE")
    first = {}
    t_post = threading.Thread(
        target=lambda: first.setdefault("r", hs.post("/webhook", _duitnow("E2E-inf-1"))))
    t_post.start()
    # The first request is now waiting for the stalled Redis.
    wait_until(lambda: metric(hs.metrics(), "hookstream_inflight_requests") == 1, 5,
               what="one request in flight")
    t0 = time.monotonic()
    r = hs.post("/webhook", _duitnow("E2E-inf-2"))
    assert_error(r, 503, "overloaded")
    assert "Retry-After" in r.headers
    assert time.monotonic() - t0 < 0.5, "the 503 must not wait for Redis"
    t_post.join(10)
    assert first["r"].status_code == 202, first["r"].text


def test_healthcheck_subcommand(relay, redis):
    import subprocess
    hs = relay()
    env = dict(hs.env)
    for args, want in ((["healthcheck"], 0), (["healthcheck", "--ready"], 0)):
        p = subprocess.run([hs.argv[0]] + args, env=env, capture_output=True, timeout=10)
        assert p.returncode == want, (args, p.returncode, p.stdout, p.stderr)
    redis.stop()
    wait_until(lambda: hs.admin("/readyz").status_code == 503, 5, what="readyz 503")
    p = subprocess.run([hs.argv[0], "healthcheck", "--ready"], env=env, capture_output=True,
                       timeout=10)
    assert p.returncode == 1, (p.returncode, p.stdout)
    p = subprocess.run([hs.argv[0], "healthcheck"], env=env, capture_output=True, timeout=10)
    assert p.returncode == 0, (p.returncode, p.stdout)


def test_script_cache_flushed_falls_back_to_eval(relay, redis):
    """Redis forgetting the script (SCRIPT FLUSH, a restart) must not fail a publish."""
    hs = relay()
    assert_accepted(hs.post("/webhook", _duitnow("E2E-noscript-1")), "payment.status")
    redis.client.script_flush()
    assert_accepted(hs.post("/webhook", _duitnow("E2E-noscript-2")), "payment.status")
    # EVAL cached it again: the next one goes through EVALSHA.
    assert_accepted(hs.post("/webhook", _duitnow("E2E-noscript-3")), "payment.status")
    r = hs.post("/webhook", _duitnow("E2E-noscript-2"))
    assert r.status_code == 200 and r.json()["status"] == "duplicate", r.text
    assert redis.client.xlen("paynet:payment.status") == 3


def _token_batch(n, pad):
    return {"requestId": "req-wide", "note": "x" * pad, "tokens": [
        {"tokenUniqueReference": f"DWSPMC-wide-{i}", "status": "ACTIVE",
         "statusTimestamp": "2026-11-26T10:00:00Z"} for i in range(n)]}


def test_batch_too_large_for_one_call_is_refused_but_kept(relay, redis, tmp_path):
    """Each event of a batch holds the whole body, so with a large max_body 64
    events can outgrow what one script call and one spool record may hold
    (256 MiB). That used to abort the daemon when the batch was spooled (and
    on every publish in Cluster mode, which encodes the same record). It is a
    413, kept in <prefix>:invalid; the daemon lives on, and a batch just under
    the limit is stored."""
    hs = relay(env={"HOOKSTREAM_MAX_BODY": str(8 << 20), "HOOKSTREAM_INVALID_BODY_MAX": "1024",
                    "HOOKSTREAM_SPOOL_DIR": str(tmp_path / "spool")})
    r = hs.post("/webhook", _token_batch(64, (4 << 20) + 200000))
    assert_error(r, 413, "too_many_events")
    assert "fewer events" in r.json()["message"], show(r)
    assert stream_entries(redis.client, "paynet:token.status") == []
    entries = stream_entries(redis.client, "paynet:invalid")
    assert len(entries) == 1 and entries[0][1]["reason"] == "too_many_events", entries
    # While Redis is away the same batch would be spooled: refused the same way.
    redis.stop()
    wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 0, 5,
               what="redis disconnected")
    r = hs.post("/webhook", _token_batch(64, (4 << 20) + 300000))
    assert_error(r, 413, "too_many_events")
    assert hs.alive(), "the daemon died on a batch too large for one record"
    redis.start()
    wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 1, 10,
               what="redis back")
    r = hs.post("/webhook", _token_batch(8, 4 << 20))
    assert r.status_code == 202 and len(r.json()["events"]) == 8, show(r)
    # (spooled when the invalid record is still being replayed)
    wait_until(lambda: redis.client.xlen("paynet:token.status") == 8, 10,
               what="the 8-event batch stored")


def test_batch_over_64_events_is_refused_but_kept(relay, redis):
    hs = relay()
    body = {"requestId": "req-big", "tokens": [
        {"tokenUniqueReference": f"DWSPMC-big-{i}", "status": "ACTIVE",
         "statusTimestamp": "2026-11-26T10:00:00Z"} for i in range(65)]}
    r = hs.post("/webhook", body)
    assert_error(r, 413, "too_many_events")
    assert stream_entries(redis.client, "paynet:token.status") == []
    entries = stream_entries(redis.client, "paynet:invalid")
    assert len(entries) == 1 and entries[0][1]["reason"] == "too_many_events", entries
