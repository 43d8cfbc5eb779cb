# SPDX-License-Identifier: MIT
"""Requests that become ready in the same turn of the event loop share one call
of the dedup+XADD script. Made deterministic by stopping the relay (SIGSTOP)
while every connection's request is sent, so they are all readable at once
when it continues. Checks: one script call carries them all (Redis's own
INFO commandstats), each sender gets its own answer and entry, a duplicate
inside the same call is answered as one, NOSCRIPT on a shared call falls back
to EVAL, and a failing shared call fails every request in it, storing
nothing half-way."""

import itertools
import json
import re
import signal

import payloads as P
from conftest import RawConn, http_request_bytes, stream_entries, wait_until

STREAM = "paynet:payment.status"
N = 24  # under libevent's first epoll batch (32 events), so one turn reads all
_WARM = itertools.count()


def _script_calls(client):
    """{"evalsha": calls, "eval": calls} from INFO commandstats."""
    out = {"evalsha": 0, "eval": 0}
    for name, stats in client.info("commandstats").items():
        m = re.fullmatch(r"cmdstat_(evalsha|eval)", name)
        if m:
            out[m.group(1)] = int(stats["calls"])
    return out


def _together(hs, redis, bodies, while_stopped=None):
    """Open one keep-alive connection per body, stop the relay, send every
    request, reset Redis's command counters (and run while_stopped), let the
    relay run; returns (responses, script calls)."""
    conns = [RawConn(hs.port) for _ in bodies]
    try:
        # Each connection is accepted before the relay stops: a probe
        # request on every one makes sure.
        for i, c in enumerate(conns):
            c.send(http_request_bytes("POST", "/webhook", json.dumps(
                P.duitnow(e2e=f"WARM-{next(_WARM)}")).encode(),
                [("Content-Type", "application/json")]))
            assert c.read_response().status_code == 202
        hs.proc.send_signal(signal.SIGSTOP)
        try:
            for c, body in zip(conns, bodies):
                c.send(http_request_bytes("POST", "/webhook", json.dumps(body).encode(),
                                          [("Content-Type", "application/json")]))
            redis.client.config_resetstat()
            if while_stopped is not None:
                while_stopped()
        finally:
            hs.proc.send_signal(signal.SIGCONT)
        responses = [c.read_response() for c in conns]
    finally:
        for c in conns:
            c.close()
    return responses, _script_calls(redis.client)


def test_one_script_call_for_requests_ready_together(relay, redis):
    hs = relay()
    bodies = [P.duitnow(e2e=f"BATCH-{i}") for i in range(N)]
    responses, calls = _together(hs, redis, bodies)
    ids = set()
    for i, r in enumerate(responses):
        assert r.status_code == 202, f"request {i}: {r.status_code} {r.text!r}"
        body = r.json()
        assert body["status"] == "accepted"
        assert body["event_id"] == f"BATCH-{i}:ACSC:CLEARED"
        ids.add(body["entry_id"])
    assert len(ids) == N, "every request must have its own entry"
    assert calls["evalsha"] + calls["eval"] <= 2, \
        f"{N} requests ready together took {calls} script calls (want 1, at most 2)"
    entries = {e[1]["event_id"]: e[0] for e in stream_entries(redis.client, STREAM)}
    for r in responses:
        b = r.json()
        assert entries[b["event_id"]] == b["entry_id"], "answer names another entry"


def test_duplicate_inside_one_call(relay, redis):
    hs = relay()
    # Requests 0 and 1 carry the same event; so do 2 and 3.
    bodies = [P.duitnow(e2e="SAME-A"), P.duitnow(e2e="SAME-A"),
              P.duitnow(e2e="SAME-B"), P.duitnow(e2e="SAME-B")] + \
        [P.duitnow(e2e=f"OTHER-{i}") for i in range(6)]
    responses, calls = _together(hs, redis, bodies)
    assert calls["evalsha"] + calls["eval"] <= 2, calls
    got = [(r.status_code, r.json()["status"]) for r in responses]
    for first, second in ((0, 1), (2, 3)):
        assert sorted([got[first], got[second]]) == [(200, "duplicate"), (202, "accepted")], got
        assert responses[first].json()["entry_id"] == responses[second].json()["entry_id"]
    assert all(g == (202, "accepted") for g in got[4:]), got
    events = [e[1]["event_id"] for e in stream_entries(redis.client, STREAM)]
    assert events.count("SAME-A:ACSC:CLEARED") == 1
    assert events.count("SAME-B:ACSC:CLEARED") == 1


def test_noscript_on_a_shared_call_falls_back_to_eval(relay, redis):
    hs = relay()
    bodies = [P.duitnow(e2e=f"NOSCRIPT-{i}") for i in range(N)]
    responses, calls = _together(hs, redis, bodies, while_stopped=redis.client.script_flush)
    assert [r.status_code for r in responses] == [202] * N, \
        [(r.status_code, r.text) for r in responses]
    assert calls["eval"] >= 1, f"no EVAL after NOSCRIPT: {calls}"
    events = {e[1]["event_id"] for e in stream_entries(redis.client, STREAM)}
    assert {f"NOSCRIPT-{i}:ACSC:CLEARED" for i in range(N)} <= events


def test_a_failing_shared_call_fails_every_request(relay, redis):
    # No spool: a script Redis refuses is a 503 for every sender in the call.
    hs = relay()
    bodies = [P.duitnow(e2e=f"OOM-{i}") for i in range(N)]
    before = len(stream_entries(redis.client, STREAM)) + N  # + the warm-up requests
    try:
        responses, calls = _together(
            hs, redis, bodies, while_stopped=lambda: redis.client.config_set("maxmemory", "1"))
    finally:
        redis.client.config_set("maxmemory", "0")
    assert calls["evalsha"] + calls["eval"] <= 2, calls
    assert [r.status_code for r in responses] == [503] * N, \
        [(r.status_code, r.text) for r in responses]
    events = {e[1]["event_id"] for e in stream_entries(redis.client, STREAM)}
    assert not any(e.startswith("OOM-") for e in events), "a refused call stored events"
    assert len(stream_entries(redis.client, STREAM)) == before
    # The senders retry: now every one is stored, once.
    responses, _ = _together(hs, redis, bodies)
    assert [r.status_code for r in responses] == [202] * N
    wait_until(lambda: len(stream_entries(redis.client, STREAM)) == before + 2 * N, 5,
               what="second warm-up and retried entries")
