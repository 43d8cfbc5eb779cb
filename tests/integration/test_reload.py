# SPDX-License-Identifier: MIT
"""SIGHUP reloads the configuration file atomically: a good one takes effect
for the next requests without dropping a connection or a request; a bad one,
or one that changes what only a restart can change, is refused with a log line
and a metric while the running configuration keeps serving."""

import signal
import threading
import time
from pathlib import Path

import payloads as P
from conftest import (assert_accepted, assert_error, http_session, metric, show, stream_entries,
                      wait_until)

SHIPPED = Path(__file__).resolve().parents[2] / "conf" / "hookstream.conf"

NEW_RULE = """
[rule loyalty_points]
category = loyalty.points
type = points.*
has = memberId
subject = memberId
id = pointsTxnId
"""


def write_conf(path, allow="127.0.0.1", extra="", replace=None):
    text = SHIPPED.read_text()
    text = text.replace("\nallow =\n", f"\nallow = {allow}\n", 1)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text + extra)


def hup(hs):
    hs.proc.send_signal(signal.SIGHUP)


def reloads(hs, result):
    return metric(hs.metrics(), "hookstream_config_reloads_total", result=result)


def wait_reloads(hs, result, n):
    wait_until(lambda: reloads(hs, result) == n, 5, what=f"{n} reload(s) {result}")


def file_env():
    # The relay fixture sets the listeners, Redis URL and allowlist through
    # the environment (which wins over the file); the allowlist must come
    # from the file here so a reload can change it.
    return {"HOOKSTREAM_ALLOW": None}


def test_reload_changes_the_allowlist(relay, redis, tmp_path):
    conf = tmp_path / "h.conf"
    write_conf(conf, allow="192.0.2.1")
    hs = relay(config=conf, env=file_env())
    assert_error(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), 403, "source_not_allowed")

    write_conf(conf, allow="192.0.2.1, 127.0.0.1")
    hup(hs)
    wait_reloads(hs, "ok", 1)
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    line = hs.wait_log(lambda l: l.get("msg") == "configuration reloaded")[0]
    assert line["allow"] == 2 and line["config"] == str(conf), line

    write_conf(conf, allow="192.0.2.1")
    hup(hs)
    wait_reloads(hs, "ok", 2)
    assert_error(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")),
                         session=http_session()), 403, "source_not_allowed")


def test_invalid_configuration_is_refused_and_the_old_one_serves(relay, redis, tmp_path):
    conf = tmp_path / "h.conf"
    write_conf(conf)
    hs = relay(config=conf, env=file_env())
    write_conf(conf, allow="not-an-address")
    hup(hs)
    wait_reloads(hs, "refused", 1)
    line = hs.wait_log(lambda l: l.get("msg", "").startswith("reload refused"))[0]
    assert line["level"] == "error" and "allow" in line["error"], line
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    assert reloads(hs, "ok") == 0
    assert hs.alive()


def test_restart_only_keys_are_refused(relay, redis, tmp_path):
    conf = tmp_path / "h.conf"
    write_conf(conf)
    hs = relay(config=conf, env=file_env())
    write_conf(conf, allow="10.0.0.0/8",
               replace={"dedup_ttl = 604800": "dedup_ttl = 60",
                        "stream_prefix = paynet": "stream_prefix = other"})
    hup(hs)
    wait_reloads(hs, "refused", 1)
    line = hs.wait_log(lambda l: l.get("msg", "").startswith("reload refused: these keys"))[0]
    assert line["keys"] == "stream_prefix, dedup_ttl", line
    # Nothing of it applied: not even the allowlist change (atomic).
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")


def post_points_read_by_ledger(hs, redis, body):
    """Post a loyalty event: stored in the new category's stream, which has
    the group ledger, and the group reads exactly that entry."""
    r = hs.post("/webhook", body)
    assert r.status_code == 202 and r.json()["stream"] == "paynet:loyalty.points", show(r)
    groups = [g["name"] for g in redis.client.xinfo_groups("paynet:loyalty.points")]
    assert groups == ["ledger"], groups
    got = redis.client.xreadgroup("ledger", "c1", {"paynet:loyalty.points": ">"}, count=10)
    assert [e[0] for _, entries in got for e in entries] == [r.json()["entry_id"]], got
    return r


def test_reload_adds_a_rule_and_its_stream_gets_the_groups(relay, redis, tmp_path):
    conf = tmp_path / "h.conf"
    write_conf(conf, replace={"\ngroups =\n": "\ngroups = ledger\n"})
    hs = relay(config=conf, env=file_env())
    body = {"eventType": "points.earned", "memberId": "M-1", "pointsTxnId": P.uid("PT")}
    r = hs.post("/webhook", body)
    assert r.status_code == 202 and r.json()["stream"] == "paynet:unclassified", show(r)

    write_conf(conf, extra=NEW_RULE, replace={"\ngroups =\n": "\ngroups = ledger\n"})
    hup(hs)
    wait_reloads(hs, "ok", 1)
    body["pointsTxnId"] = P.uid("PT")
    post_points_read_by_ledger(hs, redis, body)
    m = hs.metrics()
    assert metric(m, "hookstream_events_total", category="loyalty.points",
                  outcome="published") == 1


def test_reload_during_the_redis_handshake_still_creates_the_groups(relay, redis, tmp_path):
    """A reload that adds a category while the Redis handshake is still under
    way (it sent the groups of the old streams) must create the new stream's
    groups before its first event (found by review: it waited for the next
    reconnect, and the group then started after the events)."""
    conf = tmp_path / "h.conf"
    write_conf(conf, replace={"\ngroups =\n": "\ngroups = ledger\n"})
    hs = relay(config=conf, env=file_env())
    # Drop hookstream's connection and hold the handshake of the next one.
    pipe = redis.client.pipeline(transaction=False)
    pipe.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    pipe.execute_command("CLIENT", "PAUSE", 3000, "ALL")
    pipe.execute()
    hs.wait_log(lambda l: l.get("msg") == "redis connection lost", timeout=5)
    time.sleep(0.8)  # past the reconnect backoff: connected, its handshake sent and held
    write_conf(conf, extra=NEW_RULE, replace={"\ngroups =\n": "\ngroups = ledger\n"})
    hup(hs)
    wait_reloads(hs, "ok", 1)
    assert metric(hs.metrics(), "hookstream_redis_connected") == 0, "the handshake is held"
    wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 1, 10,
               what="the handshake done once the pause ends")
    post_points_read_by_ledger(hs, redis,
                               {"eventType": "points.earned", "memberId": "M-1",
                                "pointsTxnId": P.uid("PT")})


def test_reload_under_load_drops_nothing(relay, redis, tmp_path):
    """Keep-alive senders post while the configuration is reloaded twenty
    times (the publish timeout changes each time, the last reload adds a
    rule): every request is answered 2xx, no connection is dropped, every
    event is stored once, and the new rule classifies afterwards."""
    conf = tmp_path / "h.conf"
    write_conf(conf)
    hs = relay(config=conf, env=file_env())
    stop = threading.Event()
    results, errors = [], []

    def sender(n):
        s = http_session()
        i = 0
        while not stop.is_set():
            e2e = f"E2E-HUP-{n}-{i}"
            try:
                r = hs.post("/webhook", P.duitnow(e2e=e2e), session=s)
                results.append((e2e, r.status_code))
            except AssertionError as e:
                errors.append(str(e))
                return
            i += 1
        s.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        for k in range(20):
            # the last one also adds a rule: the change must take effect
            write_conf(conf, replace={"publish_timeout = 5000": f"publish_timeout = {4000 + k}"},
                       extra=NEW_RULE if k == 19 else "")
            hup(hs)
            time.sleep(0.05)
    finally:
        time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors[:3]
    assert results, "the senders sent nothing"
    bad = [r for r in results if r[1] != 202]
    assert not bad, bad[:5]
    wait_reloads(hs, "ok", 20)
    stored = [f["event_id"] for _, f in stream_entries(redis.client, "paynet:payment.status")]
    print(f"scenario sighup-under-load: sent {len(results)}, acknowledged "
          f"{sum(1 for r in results if r[1] == 202)}, found in streams {len(set(stored))}, "
          f"duplicates {len(stored) - len(set(stored))}")
    assert len(stored) == len(set(stored)) == len(results), (len(stored), len(results))
    body = {"eventType": "points.earned", "memberId": "M-2", "pointsTxnId": P.uid("PT")}
    r = hs.post("/webhook", body)
    assert r.status_code == 202 and r.json()["stream"] == "paynet:loyalty.points", show(r)


def test_lowered_max_body_applies_to_open_connections_with_a_json_413(relay, redis, tmp_path):
    """A connection opened before a reload that lowered max_body keeps the
    gate's old limit, but the request is still refused by the new one, with
    the relay's JSON 413 (evhttp's own limit used to answer by itself, an
    answer the gate never wrote out)."""
    conf = tmp_path / "h.conf"
    write_conf(conf)
    hs = relay(config=conf)
    s = http_session()
    big = P.duitnow(e2e=P.uid("E2E-BIG"), note="x" * 200000)
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s), "payment.status")
    write_conf(conf, replace={"\nmax_body = 1048576\n": "\nmax_body = 65536\n"})
    hup(hs)
    wait_reloads(hs, "ok", 1)
    r = hs.post("/webhook", big, session=s)  # the same keep-alive connection
    assert_error(r, 413, "body_too_large")
    assert r.headers.get("X-Request-Id"), show(r)
    assert_error(hs.post("/webhook", big, session=http_session()), 413, "body_too_large")
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-small")), session=s),
                    "payment.status")
    assert stream_entries(redis.client, "paynet:payment.status")[-1][1]["event_id"].startswith(
        "E2E-small")


def test_healthcheck_after_a_refused_reload_still_probes(relay, redis, tmp_path):
    """A bad edit of the config file is refused on SIGHUP and the process
    keeps serving; `hookstream healthcheck` must say so (it exited 2 because
    it could not load the file itself, and a container would have been
    restarted into the broken file: found by review)."""
    import subprocess
    conf = tmp_path / "h.conf"
    write_conf(conf)
    hs = relay(config=conf)
    # The file names the listener the process uses (the fixture's variable
    # wins over it), then gets a key that does not exist.
    text = conf.read_text()
    assert "\nadmin_listen = 0.0.0.0:9090\n" in text
    conf.write_text("bogus_key = 1\n" + text.replace(
        "\nadmin_listen = 0.0.0.0:9090\n", f"\nadmin_listen = 127.0.0.1:{hs.admin_port}\n", 1))
    hup(hs)
    wait_reloads(hs, "refused", 1)
    env = {k: v for k, v in hs.env.items() if k != "HOOKSTREAM_ADMIN_LISTEN"}
    for extra_env in ({"HOOKSTREAM_ADMIN_LISTEN": f"127.0.0.1:{hs.admin_port}"}, {}):
        p = subprocess.run([hs.argv[0], "healthcheck", "-c", str(conf)],
                           env={**env, **extra_env}, capture_output=True, timeout=10)
        assert p.returncode == 0, (extra_env, p.returncode, p.stdout, p.stderr)
        assert b"probing admin_listen" in p.stderr, p.stderr
