# SPDX-License-Identifier: MIT
"""The local spool, one behaviour at a time: 202 spooled while Redis is away,
replay when it is back (once, in order, deduplicated), a spool left by a
previous process, the size limit, the directory lock, readiness and metrics.
The end-to-end fault scenarios with a retrying sender are in test_faults.py."""

import json
import os
import signal
import struct
import subprocess
import zlib

import payloads as P
from conftest import (assert_accepted, assert_error, free_ports, hookstream_env, metric,
                      require_binary, show, stream_entries, wait_until)

FAST = {"HOOKSTREAM_PUBLISH_TIMEOUT": "500"}


def spool_env(tmp_path, **extra):
    env = dict(FAST)
    env["HOOKSTREAM_SPOOL_DIR"] = str(tmp_path / "spool")
    env.update(extra)
    return env


def segments(tmp_path):
    d = tmp_path / "spool"
    return sorted(p for p in d.iterdir() if p.name.startswith("seg-")) if d.exists() else []


def assert_spooled(r, category):
    assert r.status_code == 202, f"want 202 spooled: {show(r)}"
    body = r.json()
    assert body["status"] == "spooled", show(r)
    assert body["stream"] == f"paynet:{category}", show(r)
    assert "entry_id" not in body, f"a spooled event has no entry id yet: {show(r)}"
    return body


def spool_records(hs):
    return metric(hs.metrics(), "hookstream_spool_records")


def wait_drained(hs, timeout=10):
    wait_until(lambda: spool_records(hs) == 0, timeout, what="spool drained (records 0)")


def ids_in(client, stream):
    return [f["event_id"] for _, f in stream_entries(client, stream)]


def test_spooled_while_redis_down_then_replayed_in_order(relay, redis, tmp_path):
    hs = relay(env=spool_env(tmp_path))
    first = P.duitnow(e2e=P.uid("E2E-BEFORE"))
    assert_accepted(hs.post("/webhook", first), "payment.status")

    redis.stop()
    wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 0, 5,
               what="redis disconnected")
    # Ready all the same: the spool takes events.
    r = hs.admin("/readyz")
    assert r.status_code == 200, show(r)
    assert r.json()["redis"] == "disconnected" and r.json()["spool"]["writable"], show(r)

    sent = [P.duitnow(e2e=P.uid(f"E2E-SPOOL{i}")) for i in range(20)]
    ids = [assert_spooled(hs.post("/webhook", b), "payment.status")["event_id"] for b in sent]
    m = hs.metrics()
    assert metric(m, "hookstream_spool_records") == 20
    assert metric(m, "hookstream_spool_bytes") > 0
    assert metric(m, "hookstream_events_total", category="payment.status",
                  outcome="spooled") == 20
    assert segments(tmp_path), "the spool has a segment file"

    # A retry of a spooled event while Redis is still away is spooled again...
    assert_spooled(hs.post("/webhook", sent[0]), "payment.status")

    redis.start()
    wait_drained(hs)
    stored = ids_in(redis.client, "paynet:payment.status")
    # ...and stored once: replay goes through the dedup script. Redis ran
    # without persistence, so the event stored before the outage is gone.
    assert stored == ids, f"replayed out of order or not exactly once: {stored} vs {ids}"
    assert metric(hs.metrics(), "hookstream_spool_replayed_total") == 21
    wait_until(lambda: segments(tmp_path) == [], 5, what="replayed segments deleted")
    hs.wait_log(lambda l: l.get("msg") == "spool replayed; empty again")
    # Back to direct publishing.
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-AFTER"))), "payment.status")


def test_invalid_body_is_spooled_then_answered_400(relay, redis, tmp_path):
    hs = relay(env=spool_env(tmp_path))
    redis.stop()
    r = hs.post("/webhook", b'{"a":1,"a":2}')
    assert_error(r, 400, "duplicate_key")
    assert metric(hs.metrics(), "hookstream_spool_records") == 1
    redis.start()
    wait_drained(hs)
    entries = stream_entries(redis.client, "paynet:invalid")
    assert len(entries) == 1, repr(entries)
    f = entries[0][1]
    assert f["reason"] == "duplicate_key" and f["status"] == "400", repr(f)
    assert f["body"] == '{"a":1,"a":2}', repr(f)


def test_batch_spooled_and_replayed_atomically(relay, redis, tmp_path):
    hs = relay(env=spool_env(tmp_path))
    redis.stop()
    body = {"requestId": P.uid("req"), "tokens": [
        {"tokenUniqueReference": P.uid("DWSPMC-S"), "status": "ACTIVE",
         "statusTimestamp": "2026-11-26T10:00:00Z"} for _ in range(3)]}
    r = hs.post("/webhook", body)
    assert r.status_code == 202, show(r)
    b = r.json()
    assert b["status"] == "spooled" and [e["status"] for e in b["events"]] == ["spooled"] * 3
    redis.start()
    wait_drained(hs)
    assert len(stream_entries(redis.client, "paynet:token.status")) == 3


def test_spool_left_by_a_killed_process_is_replayed_at_start(relay, redis, tmp_path):
    env = spool_env(tmp_path)
    hs = relay(env=env)
    redis.stop()
    ids = [assert_spooled(hs.post("/webhook", P.duitnow(e2e=P.uid(f"E2E-K{i}"))),
                          "payment.status")["event_id"] for i in range(10)]
    hs.proc.send_signal(signal.SIGKILL)
    hs.proc.wait(5)
    hs.checked = True
    redis.start()
    hs2 = relay(env=env)
    hs2.wait_log(lambda l: l.get("msg", "").startswith("spool holds records"))
    wait_drained(hs2)
    assert ids_in(redis.client, "paynet:payment.status") == ids


def spool_n_and_stop(relay, redis, tmp_path, env, n, tag):
    """n events spooled while Redis is down, the relay stopped cleanly: their
    event ids and the segment file holding them."""
    hs = relay(env=env)
    redis.stop()
    ids = [assert_spooled(hs.post("/webhook", P.duitnow(e2e=P.uid(f"E2E-{tag}{i}"))),
                          "payment.status")["event_id"] for i in range(n)]
    assert hs.stop() == 0
    hs.checked = True
    return ids, segments(tmp_path)[-1]


def replay_damaged(relay, redis, env, want_ids, corrupt, warning):
    """Redis back, a relay on the damaged spool: exactly want_ids stored, in
    order, corrupt records counted, and the log lines that say so."""
    redis.start()
    hs = relay(env=env)
    wait_drained(hs)
    assert ids_in(redis.client, "paynet:payment.status") == want_ids
    assert metric(hs.metrics(), "hookstream_spool_corrupt_records_total") == corrupt
    warn = [l for l in hs.log_lines() if warning in l.get("msg", "")]
    assert warn, f"no log line with {warning!r}"
    return warn


def test_torn_tail_is_skipped_and_the_rest_replayed(relay, redis, tmp_path):
    env = spool_env(tmp_path)
    ids, seg = spool_n_and_stop(relay, redis, tmp_path, env, 5, "T")
    data = seg.read_bytes()
    # Damage the middle record's payload and tear the last one.
    offs, at = [], 0
    while at < len(data):
        assert data[at:at + 4] == b"HSR1"
        (n,) = struct.unpack_from("<I", data, at + 4)
        offs.append(at)
        at += 12 + n
    assert len(offs) == 5
    mid = bytearray(data)
    mid[offs[2] + 20] ^= 0x01
    seg.write_bytes(bytes(mid[:len(mid) - 7]))

    warn = replay_damaged(relay, redis, env, [ids[0], ids[1], ids[3]], 2, "torn")
    assert warn[0]["segment"] == seg.name and warn[0]["whole_records"] == 3, warn


def test_damaged_length_in_the_middle_keeps_the_records_after_it(relay, redis, tmp_path):
    """A flipped bit in a record's length field, in the middle of a segment,
    makes that record look as if it ran past the end of the file. Only that
    record is lost: the whole records after it are found by their checksums
    and replayed (they used to be skipped as a torn tail, and the segment
    deleted)."""
    env = spool_env(tmp_path)
    ids, seg = spool_n_and_stop(relay, redis, tmp_path, env, 4, "L")
    data = bytearray(seg.read_bytes())
    (n,) = struct.unpack_from("<I", data, 4)
    second = 12 + n
    assert data[second:second + 4] == b"HSR1"
    struct.pack_into("<I", data, second + 4, 1 << 20)  # past the end of the file
    seg.write_bytes(bytes(data))

    warn = replay_damaged(relay, redis, env, [ids[0], ids[2], ids[3]], 1, "damaged records")
    assert warn[0]["whole_records"] == 3, warn


def test_spool_max_bytes_gives_503(relay, redis, tmp_path):
    hs = relay(env=spool_env(tmp_path, HOOKSTREAM_SPOOL_MAX_BYTES="8192"))
    redis.stop()
    codes = []
    for i in range(40):
        r = hs.post("/webhook", P.duitnow(e2e=P.uid(f"E2E-F{i}")))
        codes.append(r.status_code)
        if r.status_code == 503:
            assert_error(r, 503, "spool_full")
            assert r.headers.get("Retry-After") == "5", show(r)
            break
        assert_spooled(r, "payment.status")
    assert codes[-1] == 503 and codes.count(202) >= 2, codes
    m = hs.metrics()
    assert metric(m, "hookstream_spool_appends_total", result="full") == 1
    assert metric(m, "hookstream_spool_bytes") <= 8192
    # Full and Redis down: not ready.
    r = hs.admin("/readyz")
    assert r.status_code == 503 and r.json()["spool"]["records"] == codes.count(202), show(r)
    redis.start()
    wait_drained(hs)
    assert len(stream_entries(redis.client, "paynet:payment.status")) == codes.count(202)


def test_one_record_too_large_for_the_spool_leaves_it_ready(relay, redis, tmp_path):
    """An event larger than the whole (empty) spool is refused 503 spool_full,
    but says nothing about the next: /readyz stays 200 and a small event is
    still spooled. It used to flag the spool not ready until a segment was
    deleted, which never happens to an empty spool: a load balancer would have
    kept the instance out for the whole Redis outage (found by review)."""
    hs = relay(env=spool_env(tmp_path, HOOKSTREAM_SPOOL_MAX_BYTES="4096"))
    redis.stop()
    wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 0, 5,
               what="redis disconnected")
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-BIG"), note="x" * 5000))
    assert_error(r, 503, "spool_full")
    r = hs.admin("/readyz")
    assert r.status_code == 200, show(r)
    assert_spooled(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-SMALL"))), "payment.status")
    assert hs.admin("/readyz").status_code == 200
    # The same with something in the spool already.
    assert_error(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-BIG2"), note="x" * 5000)),
                 503, "spool_full")
    assert hs.admin("/readyz").status_code == 200
    # A record that would fit an empty spool but not this one: full, not ready.
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-MID"), note="x" * 2800))
    assert_error(r, 503, "spool_full")
    assert hs.admin("/readyz").status_code == 503


def test_second_process_on_the_same_spool_refuses_to_start(relay, redis, tmp_path):
    env = spool_env(tmp_path)
    relay(env=env)
    ports = free_ports(2)
    full = hookstream_env(env, {"HOOKSTREAM_ALLOW": "127.0.0.1",
                                "HOOKSTREAM_LISTEN": f"127.0.0.1:{ports[0]}",
                                "HOOKSTREAM_ADMIN_LISTEN": f"127.0.0.1:{ports[1]}",
                                "HOOKSTREAM_REDIS_URL": redis.url})
    p = subprocess.run([str(require_binary())], env=full, capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "in use by another hookstream process" in p.stderr, p.stderr


def test_unwritable_spool_dir_is_a_startup_error(redis, tmp_path):
    if os.geteuid() == 0:
        target = "/proc/hookstream-spool"  # root can write anywhere else
    else:
        target = str(tmp_path / "ro" / "spool")
        (tmp_path / "ro").mkdir(mode=0o500)
    ports = free_ports(2)
    full = hookstream_env({"HOOKSTREAM_SPOOL_DIR": target},
                          {"HOOKSTREAM_ALLOW": "127.0.0.1",
                           "HOOKSTREAM_LISTEN": f"127.0.0.1:{ports[0]}",
                           "HOOKSTREAM_ADMIN_LISTEN": f"127.0.0.1:{ports[1]}",
                           "HOOKSTREAM_REDIS_URL": redis.url})
    p = subprocess.run([str(require_binary())], env=full, capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "spool_dir" in p.stderr and target in p.stderr, p.stderr


def test_record_format_is_as_documented(relay, redis, tmp_path):
    """The README documents the record header; hold the code to it."""
    hs = relay(env=spool_env(tmp_path))
    redis.stop()
    assert_spooled(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-FMT"))), "payment.status")
    data = segments(tmp_path)[0].read_bytes()
    assert data[:4] == b"HSR1"
    (n, crc) = struct.unpack_from("<II", data, 4)
    assert len(data) == 12 + n
    assert crc == zlib.crc32(data[4:8] + data[12:]), "crc32 over length + payload"
    redis.start()
    wait_drained(hs)


def test_sigterm_spools_what_redis_has_not_answered_by_the_deadline(relay, redis, tmp_path):
    """shutdown_timeout (1 s) shorter than publish_timeout (10 s) and Redis
    stalled: at the deadline the waiting requests are spooled and answered 202,
    not 503, and the process exits 0; the next start replays them once."""
    import threading
    import time
    from conftest import sleep_redis
    env = spool_env(tmp_path, HOOKSTREAM_PUBLISH_TIMEOUT="10000",
                    HOOKSTREAM_SHUTDOWN_TIMEOUT="1")
    hs = relay(env=env)
    body = P.duitnow(e2e=P.uid("E2E-TERM"))
    answers = []
    sleep_redis(redis, 3)
    t = threading.Thread(target=lambda: answers.append(hs.post("/webhook", body, timeout=15)))
    t.start()
    wait_until(lambda: metric(hs.metrics(), "hookstream_inflight_requests") == 1, 5,
               what="the request waits for Redis")
    t0 = time.monotonic()
    assert hs.stop() == 0
    t.join(10)
    assert time.monotonic() - t0 < 3.5, "the drain took longer than the deadline allows"
    assert answers and answers[0].status_code == 202, answers and show(answers[0])
    assert answers[0].json()["status"] == "spooled", show(answers[0])
    hs.checked = True
    hs.wait_log(lambda l: "spooling the requests still waiting" in l.get("msg", ""))
    hs2 = relay(env=spool_env(tmp_path))
    wait_drained(hs2)
    # Stored by the stalled write once Redis woke, and replayed: still once.
    assert ids_in(redis.client, "paynet:payment.status") == [answers[0].json()["event_id"]]
