# SPDX-License-Identifier: MIT
"""Signals: TERM and INT drain and exit 0; a request in flight still gets its
answer; HUP does not kill the relay."""

import signal
import socket
import threading
import time

import payloads as P
from conftest import assert_accepted, show, sleep_redis, stream_entries, wait_until


def test_sigterm_idle_exits_zero(relay):
    hs = relay()
    t0 = time.monotonic()
    rc = hs.stop(signal.SIGTERM, timeout=5)
    assert rc == 0, f"exit status {rc}; stderr:\n{hs.stderr_text()[-2000:]}"
    assert time.monotonic() - t0 < 5


def test_sigint_exits_zero(relay):
    hs = relay()
    rc = hs.stop(signal.SIGINT, timeout=5)
    assert rc == 0, f"exit status {rc}; stderr:\n{hs.stderr_text()[-2000:]}"


def test_sigterm_after_traffic_exits_zero(relay, redis):
    hs = relay()
    for _ in range(3):
        assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    assert hs.alive()
    rc = hs.stop(signal.SIGTERM, timeout=10)
    assert rc == 0, f"exit status {rc}; stderr:\n{hs.stderr_text()[-2000:]}"


def test_sigterm_finishes_inflight_request(relay, redis):
    hs = relay()
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    assert hs.alive()

    sleep_thread = sleep_redis(redis, 1.5)

    body = P.duitnow(e2e=P.uid("E2E-INFLIGHT"))
    result = {}

    def post():
        try:
            result["resp"] = hs.post("/webhook", body, timeout=15)
        except Exception as e:  # noqa: BLE001 - reported below
            result["error"] = repr(e)
    poster = threading.Thread(target=post)
    poster.start()
    # Give the relay a moment to read the request; Redis is asleep, so the
    # request cannot complete before the signal.
    poster.join(0.3)
    assert poster.is_alive(), f"request finished before Redis woke up: {result}"

    hs.proc.send_signal(signal.SIGTERM)
    poster.join(15)
    sleep_thread.join(10)
    rc = hs.stop(timeout=15)
    assert "resp" in result, f"in-flight request got no answer: {result}"
    r = result["resp"]
    assert_accepted(r, "payment.status")
    assert rc == 0, f"exit status {rc}; stderr:\n{hs.stderr_text()[-2000:]}"
    e2e = body["endToEndId"]
    assert [e for e in stream_entries(redis.client, "paynet:payment.status")
            if e2e in e[1]["event"]], f"in-flight event not in Redis; {show(r)}"


def test_stops_accepting_after_sigterm(relay, redis):
    hs = relay()
    rc = hs.stop(signal.SIGTERM, timeout=5)
    assert rc == 0
    s = socket.socket()
    s.settimeout(1)
    try:
        refused = s.connect_ex(("127.0.0.1", hs.port)) != 0
    finally:
        s.close()
    assert refused, "webhook port still accepts connections after exit"


def test_sighup_keeps_serving(relay, redis):
    hs = relay()
    hs.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: hs.admin("/healthz").status_code == 200 if hs.alive() else "dead", 5,
               what="/healthz after SIGHUP")
    assert hs.alive(), f"SIGHUP killed the relay (status {hs.proc.returncode})"
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    assert hs.alive()


def test_sigterm_with_idle_keepalive_connection(relay, redis):
    import json
    from conftest import RawConn, http_request_bytes
    hs = relay()
    with RawConn(hs.port) as c:
        c.send(http_request_bytes("POST", "/webhook", json.dumps(P.duitnow(e2e=P.uid("E2E"))),
                                  [("Content-Type", "application/json")]))
        assert_accepted(c.read_response(), "payment.status")
        t0 = time.monotonic()
        rc = hs.stop(signal.SIGTERM, timeout=15)
        took = time.monotonic() - t0
    assert rc == 0, f"exit status {rc}"
    assert took < 3, f"an idle keep-alive connection held shutdown for {took:.1f}s"


def test_sigterm_while_redis_down(relay, redis):
    hs = relay(env={"HOOKSTREAM_PUBLISH_TIMEOUT": "1000"})
    redis.stop()
    wait_until(lambda: hs.admin("/readyz").status_code == 503, 5, what="/readyz 503")
    t0 = time.monotonic()
    rc = hs.stop(signal.SIGTERM, timeout=15)
    assert rc == 0, f"exit status {rc}; stderr:\n{hs.stderr_text()[-2000:]}"
    assert time.monotonic() - t0 < 5


def test_repeated_sigterm_still_exits_zero(relay, redis):
    """A supervisor repeating TERM while the process exits once made it die of the
    signal (status -15) instead of exiting 0."""
    import time as _time
    hs = relay()
    deadline = _time.monotonic() + 10
    while hs.proc.poll() is None and _time.monotonic() < deadline:
        try:
            hs.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            break
        _time.sleep(0.002)
    rc = hs.stop(timeout=15)
    assert rc == 0, f"exit status {rc}"
