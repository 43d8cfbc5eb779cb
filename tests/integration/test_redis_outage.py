# SPDX-License-Identifier: MIT
"""Redis down, slow or late: never a 2xx without a stored event, never a hang,
readiness follows Redis, and the relay recovers without a restart."""

import os
import signal
import threading
import time

import payloads as P
from conftest import (assert_accepted, assert_error, free_port, show, sleep_redis, stream_entries,
                      wait_until)

FAST = {"HOOKSTREAM_PUBLISH_TIMEOUT": "1000"}


def _post_timed(hs, body, path="/webhook"):
    t0 = time.monotonic()
    r = hs.post(path, body, timeout=10)
    return r, time.monotonic() - t0


def _assert_unavailable(r, elapsed):
    assert_error(r, 503, "redis_unavailable")
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and int(ra) > 0, \
        f"503 needs a Retry-After in seconds: {show(r)}"
    assert elapsed < 2.5, f"503 took {elapsed:.2f}s (publish_timeout 1000 ms): {show(r)}"


def _admin_status(hs, path):
    return hs.admin(path).status_code


def test_redis_stopped_then_back(relay, redis):
    hs = relay(env=FAST)
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    assert_accepted(r, "payment.status")

    redis.stop()
    lost = P.duitnow(e2e=P.uid("E2E-OUTAGE"))
    r, elapsed = _post_timed(hs, lost)
    _assert_unavailable(r, elapsed)
    assert r.headers["Retry-After"] == "5", f"default retry_after is 5: {show(r)}"
    wait_until(lambda: _admin_status(hs, "/readyz") == 503, 3, what="/readyz 503 while Redis is down")
    assert _admin_status(hs, "/healthz") == 200
    # still refusing, still fast
    r, elapsed = _post_timed(hs, P.duitnow(e2e=P.uid("E2E")), "/webhook/payment")
    _assert_unavailable(r, elapsed)

    redis.start()
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 10,
               what="/readyz 200 after Redis came back")
    # the refused event was never stored: the sender's retry is accepted, not a duplicate
    r = hs.post("/webhook", lost)
    acc = assert_accepted(r, "payment.status")
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert [e[0] for e in entries] == [acc["entry_id"]], repr(entries)
    assert hs.alive()


def test_retry_after_from_config(relay, redis):
    hs = relay(env={**FAST, "HOOKSTREAM_RETRY_AFTER": "17"})
    redis.stop()
    r, elapsed = _post_timed(hs, P.duitnow(e2e=P.uid("E2E")))
    _assert_unavailable(r, elapsed)
    assert r.headers["Retry-After"] == "17", show(r)


def test_start_without_redis(relay, redis):
    # Containers start in any order: the relay must come up, report not ready,
    # refuse with 503, and become ready once Redis appears.
    redis.stop()
    hs = relay(env=FAST, wait_ready=False)
    assert _admin_status(hs, "/readyz") == 503
    r, elapsed = _post_timed(hs, P.duitnow(e2e=P.uid("E2E")))
    _assert_unavailable(r, elapsed)
    redis.start()
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 10,
               what="/readyz 200 after Redis started")
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    assert_accepted(r, "payment.status")


def test_unreachable_redis_port(relay):
    # Nothing listens on this port: startup must not block, requests get 503.
    hs = relay(env={**FAST, "HOOKSTREAM_REDIS_URL": f"redis://127.0.0.1:{free_port()}"},
               wait_ready=False)
    assert _admin_status(hs, "/readyz") == 503
    r, elapsed = _post_timed(hs, P.duitnow(e2e=P.uid("E2E")))
    _assert_unavailable(r, elapsed)


def test_slow_redis_answers_within_publish_timeout(relay, redis):
    hs = relay(env=FAST)
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    t = sleep_redis(redis, 2.5)
    try:
        body = P.duitnow(e2e=P.uid("E2E-SLOW"))
        r, elapsed = _post_timed(hs, body)
        _assert_unavailable(r, elapsed)
    finally:
        t.join(10)
    # Redis may have stored the event after the 503; the sender's retry must
    # then be a duplicate of that entry, never a second entry.
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 10,
               what="/readyz 200 after DEBUG SLEEP ended")
    r = hs.post("/webhook", body)
    assert r.status_code in (200, 202), f"retry after slow Redis: {show(r)}"
    e2e = body["endToEndId"]
    entries = [e for e in stream_entries(redis.client, "paynet:payment.status")
               if e2e in e[1]["event"]]
    assert len(entries) == 1, f"{len(entries)} entries for {e2e}: {entries!r}"
    assert r.json()["entry_id"] == entries[0][0], show(r)


def test_redis_killed_with_requests_in_flight(relay, redis):
    hs = relay(env=FAST)
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    sleeper = sleep_redis(redis, 3)
    results = []
    lock = threading.Lock()

    def post():
        try:
            r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-KILL")), timeout=10)
            out = (r.status_code, r.text, r.headers.get("Retry-After"))
        except AssertionError as e:
            out = (None, str(e), None)
        with lock:
            results.append(out)
    posters = [threading.Thread(target=post) for _ in range(5)]
    for t in posters:
        t.start()
    redis.stop(kill=True)  # a crash, with the requests waiting on it
    for t in posters:
        t.join(10)
    sleeper.join(10)
    assert len(results) == 5, results
    bad = [x for x in results if x[0] != 503 or not x[2]]
    assert not bad, f"every request must get 503 + Retry-After, got {bad}"
    assert hs.alive()
    redis.start()
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 10,
               what="/readyz 200 after Redis came back")
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")


def test_client_disconnects_while_publishing(relay, redis):
    import json
    import select
    from conftest import RawConn, http_request_bytes
    hs = relay()
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    sleeper = sleep_redis(redis, 1)
    gone = P.duitnow(e2e=P.uid("E2E-GONE"))
    with RawConn(hs.port) as c:
        c.send(http_request_bytes("POST", "/webhook", json.dumps(gone),
                                  [("Content-Type", "application/json")]))
        ready, _, _ = select.select([c.sock], [], [], 0.3)
        assert not ready, "answered while Redis was asleep?"
    # the client is gone before Redis answers
    sleeper.join(10)
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 10, what="/readyz 200")
    assert hs.alive(), f"relay died after a client left: {hs.stderr_text()[-2000:]}"
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    # the event itself was stored (or not); a retry must not create a second entry
    r = hs.post("/webhook", gone)
    assert r.status_code in (200, 202), show(r)
    n = sum(1 for e in stream_entries(redis.client, "paynet:payment.status")
            if gone["endToEndId"] in e[1]["event"])
    assert n == 1, f"{n} entries for the abandoned event"


def test_groups_recreated_after_redis_restart(relay, redis):
    hs = relay(env={**FAST, "HOOKSTREAM_GROUPS": "audit"})
    redis.stop()
    wait_until(lambda: _admin_status(hs, "/readyz") == 503, 5, what="/readyz 503")
    redis.start()
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 10, what="/readyz 200")

    def groups():
        if not redis.client.exists("paynet:payment.status"):
            return False
        return [g["name"] for g in redis.client.xinfo_groups("paynet:payment.status")]
    assert wait_until(groups, 5, what="group audit on paynet:payment.status") == ["audit"]
    acc = assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    got = redis.client.xreadgroup("audit", "c1", {"paynet:payment.status": ">"})
    assert [e[0] for _, es in got for e in es] == [acc["entry_id"]], repr(got)


def test_a_redis_that_stops_answering_is_reconnected(relay, redis):
    """A server that keeps the connection but answers nothing (stopped, or cut
    off by a partition) is dropped once commands have waited
    max(2 x publish_timeout, 5 s) with no reply, and made again: hiredis 0.14
    has no command timeout, and the connection used to be kept forever, every
    request timing out against it (found by review)."""
    hs = relay(env=FAST)
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        body = P.duitnow(e2e=P.uid("E2E-STOPPED"))
        r, elapsed = _post_timed(hs, body)
        _assert_unavailable(r, elapsed)
        line = hs.wait_log(lambda l: l.get("msg") == "redis is not answering; reconnecting",
                           timeout=10)[0]
        assert line["state"] == "ready" and line["quiet_ms"] >= 5000, line
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    wait_until(lambda: _admin_status(hs, "/readyz") == 200, 15,
               what="/readyz 200 once Redis answers again")
    r = hs.post("/webhook", body)
    assert r.status_code in (200, 202), show(r)
    e2e = body["endToEndId"]
    entries = [e for e in stream_entries(redis.client, "paynet:payment.status")
               if e2e in e[1]["event"]]
    assert len(entries) == 1, f"{len(entries)} entries for {e2e}: {entries!r}"
