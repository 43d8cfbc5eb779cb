# SPDX-License-Identifier: MIT
"""wait_replicas: the 2xx waits for Redis replicas (WAIT). With a replica
connected the event is on it when the sender gets 202; when the replica does
not confirm in time the answer is 503 (the retry is a duplicate once the
replica has it) or, with wait_replicas_fallback = spool, 202 spooled and the
spool keeps the event until the replica confirms."""

import signal
import subprocess

import payloads as P
from conftest import (REDIS_SERVER, assert_accepted, assert_error, free_port, metric, show,
                      stream_entries, wait_until)


class Replica:
    """A redis-server replicating the test's Redis; SIGSTOP makes it silent."""

    def __init__(self, workdir, master_port):
        self.port = free_port()
        workdir.mkdir(exist_ok=True)
        self.log = workdir / "replica.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(workdir),
                 "--replicaof", "127.0.0.1", str(master_port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        import redis as redis_lib
        self.client = redis_lib.Redis(host="127.0.0.1", port=self.port, decode_responses=True,
                                      socket_timeout=5)

    def synced(self, master):
        try:
            info = master.client.info("replication")
            return info.get("connected_slaves", 0) >= 1 and \
                self.client.info("replication").get("master_link_status") == "up"
        except Exception:  # noqa: BLE001 - still starting
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
        self.client.close()


def start_replica(tmp_path, redis):
    # Redis 7 waits 5 s before a diskless full sync, for more replicas to come.
    redis.client.config_set("repl-diskless-sync-delay", 0)
    rep = Replica(tmp_path / "replica", redis.port)
    wait_until(lambda: rep.synced(redis), 10, what="replica in sync")
    return rep


WAIT = {"HOOKSTREAM_WAIT_REPLICAS": "1", "HOOKSTREAM_WAIT_REPLICAS_TIMEOUT": "300",
        "HOOKSTREAM_PUBLISH_TIMEOUT": "3000"}


def test_acknowledged_event_is_on_the_replica(relay, redis, tmp_path):
    rep = start_replica(tmp_path, redis)
    try:
        # A generous WAIT timeout: a loaded machine must not make this flaky.
        hs = relay(env=dict(WAIT, HOOKSTREAM_WAIT_REPLICAS_TIMEOUT="3000"))
        for i in range(5):
            acc = assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid(f"E2E-R{i}"))),
                                  "payment.status")
            # No waiting here: WAIT already made the replica confirm.
            ids = [e[0] for e in stream_entries(rep.client, "paynet:payment.status")]
            assert acc["entry_id"] in ids, (acc, ids)
    finally:
        rep.stop()


def test_replica_silent_gives_503_then_duplicate_once_it_confirms(relay, redis, tmp_path):
    rep = start_replica(tmp_path, redis)
    try:
        hs = relay(env=WAIT)
        body = P.duitnow(e2e=P.uid("E2E-SILENT"))
        rep.proc.send_signal(signal.SIGSTOP)
        r = hs.post("/webhook", body)
        assert_error(r, 503, "replicas_unconfirmed")
        assert r.headers.get("Retry-After"), show(r)
        assert metric(hs.metrics(), "hookstream_rejections_total",
                      reason="replicas_unconfirmed") == 1
        # The event is on the master all the same.
        assert len(stream_entries(redis.client, "paynet:payment.status")) == 1
        rep.proc.send_signal(signal.SIGCONT)
        # The sender's retries: 503 until the replica confirms, then a
        # duplicate (never a second entry).
        answers = []

        def retried():
            r = hs.post("/webhook", body)
            answers.append(r)
            assert r.status_code in (200, 503), show(r)
            return r.status_code == 200
        wait_until(retried, 10, interval=0.2, what="the retry answered 200 duplicate")
        r = answers[-1]
        assert r.json()["status"] == "duplicate", show(r)
        ids = [e[0] for e in stream_entries(rep.client, "paynet:payment.status")]
        assert ids == [r.json()["entry_id"]], ids
    finally:
        rep.stop()


def test_replica_silent_with_spool_fallback(relay, redis, tmp_path):
    rep = start_replica(tmp_path, redis)
    try:
        env = dict(WAIT, HOOKSTREAM_SPOOL_DIR=str(tmp_path / "spool"),
                   HOOKSTREAM_WAIT_REPLICAS_FALLBACK="spool")
        hs = relay(env=env)
        rep.proc.send_signal(signal.SIGSTOP)
        bodies = [P.duitnow(e2e=P.uid(f"E2E-SP{i}")) for i in range(3)]
        for b in bodies:
            r = hs.post("/webhook", b)
            assert r.status_code == 202 and r.json()["status"] == "spooled", show(r)
        # Kept in the spool while the replica is silent.
        m = hs.metrics()
        assert metric(m, "hookstream_spool_records") >= 1, m
        rep.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: metric(hs.metrics(), "hookstream_spool_records") == 0, 15,
                   what="spool drained once the replica confirms")
        on_master = [f["event_id"] for _, f in stream_entries(redis.client,
                                                               "paynet:payment.status")]
        assert sorted(on_master) == sorted(set(on_master)) and len(on_master) == 3, on_master
        wait_until(lambda: len(stream_entries(rep.client, "paynet:payment.status")) == 3, 5,
                   what="replica has all three")
    finally:
        rep.stop()


def test_fallback_spool_needs_a_spool_dir():
    from conftest import hookstream_env, require_binary
    env = hookstream_env({"HOOKSTREAM_ALLOW": "127.0.0.1",
                          "HOOKSTREAM_WAIT_REPLICAS_FALLBACK": "spool"})
    p = subprocess.run([str(require_binary()), "--check-config"], env=env, capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "wait_replicas_fallback: spool needs spool_dir" in p.stderr, p.stderr
