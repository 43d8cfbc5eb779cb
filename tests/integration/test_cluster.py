# SPDX-License-Identifier: MIT
"""Redis Cluster (redis+cluster://): a real 3-master cluster on loopback
(redis-server --cluster-enabled yes, redis-cli --cluster create). Category
streams land on different masters, each stream's groups are created on its
own master, and a slot migration in the middle of a retrying sender's run
(MIGRATING/IMPORTING, MIGRATE, SETSLOT NODE: ASK, TRYAGAIN and MOVED answers)
loses nothing and duplicates nothing."""

import collections
import json
import signal
import subprocess
import time

import pytest
import redis as redis_lib

from conftest import REDIS_SERVER, free_ports, metric, show, stream_entries, wait_until
from sender import Sender, assert_exactly_once, make_events

REDIS_CLI = "/usr/bin/redis-cli"


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot(key):
    k = key.encode()
    o = k.find(b"{")
    if o >= 0:
        c = k.find(b"}", o + 1)
        if c > o + 1:
            k = k[o + 1:c]
    return crc16(k) % 16384


def node_of(s):
    # redis-cli --cluster create with 3 masters: 0-5460, 5461-10922, 10923-16383
    return 0 if s <= 5460 else 1 if s <= 10922 else 2


def spreading_prefix():
    """A stream prefix whose payment, token and card streams sit on three
    different masters."""
    for i in range(10000):
        pfx = f"pn{i}"
        nodes = {node_of(slot(f"{pfx}:{c}"))
                 for c in ("payment.status", "token.status", "card.metadata")}
        if len(nodes) == 3:
            return pfx
    raise AssertionError("no spreading prefix")


class Cluster:
    def __init__(self, d):
        self.d = d
        ports = free_ports(6)
        self.ports, self.bus_ports = ports[:3], ports[3:]
        self.procs = []

    def start(self):
        for port, bus in zip(self.ports, self.bus_ports):
            wd = self.d / f"node-{port}"
            wd.mkdir()
            log = open(wd / "log", "wb")
            self.procs.append(subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-config-file", str(wd / "nodes.conf"),
                 "--cluster-port", str(bus),
                 "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "yes",
                 "--appendfsync", "always", "--dir", str(wd)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))
            log.close()
        for port in self.ports:
            wait_until(lambda p=port: self._ping(p), 10, what=f"node {port}")
        cp = subprocess.run([REDIS_CLI, "--cluster", "create",
                             *[f"127.0.0.1:{p}" for p in self.ports],
                             "--cluster-replicas", "0", "--cluster-yes"],
                            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        wait_until(lambda: all(self.client(p).cluster("info")["cluster_state"] == "ok"
                               for p in self.ports), 20, interval=0.2, what="cluster ok")

    def _ping(self, port):
        try:
            return self.client(port).ping()
        except redis_lib.exceptions.ConnectionError:
            return False

    def client(self, port):
        return redis_lib.Redis(host="127.0.0.1", port=port, decode_responses=True,
                               socket_timeout=5)

    def node_id(self, port):
        return self.client(port).execute_command("CLUSTER", "MYID")

    def owner(self, s):
        for start, end, addr, *_ in self.client(self.ports[0]).execute_command(
                "CLUSTER", "SLOTS"):
            if start <= s <= end:
                return int(addr[1])
        raise AssertionError(f"slot {s} has no owner")

    def url(self):
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def migrate_slot(self, s, src, dst):
        srcc, dstc = self.client(src), self.client(dst)
        dstc.execute_command("CLUSTER", "SETSLOT", s, "IMPORTING", self.node_id(src))
        srcc.execute_command("CLUSTER", "SETSLOT", s, "MIGRATING", self.node_id(dst))
        moved = 0
        while True:
            keys = srcc.execute_command("CLUSTER", "GETKEYSINSLOT", s, 50)
            if not keys:
                break
            srcc.execute_command("MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", *keys)
            moved += len(keys)
        for p in self.ports:
            self.client(p).execute_command("CLUSTER", "SETSLOT", s, "NODE", self.node_id(dst))
        return moved

    def count(self, prefix):
        """Counter of event ids over the category streams on every master."""
        c = collections.Counter()
        for p in self.ports:
            cl = self.client(p)
            for key in cl.keys(f"{prefix}:*"):
                if cl.type(key) != "stream" or key.endswith(":invalid"):
                    continue
                for _, f in cl.xrange(key):
                    c[f["event_id"]] += 1
        return c

    def stop(self):
        for pr in self.procs:
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
                try:
                    pr.wait(10)
                except subprocess.TimeoutExpired:
                    pr.kill()
                    pr.wait(5)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def test_categories_on_their_masters_with_groups(relay, cluster):
    import payloads as P
    pfx = spreading_prefix()
    hs = relay(env={"HOOKSTREAM_REDIS_URL": cluster.url(), "HOOKSTREAM_STREAM_PREFIX": pfx,
                    "HOOKSTREAM_GROUPS": "ledger"})
    bodies = {
        "payment.status": P.duitnow(e2e=P.uid("E2E-CL")),
        "token.status": P.mdes_token(request_id=P.uid("req")),
        "card.metadata": P.card_metadata_explicit(event_id=P.uid("cm")),
    }
    owners = set()
    for category, body in bodies.items():
        r = hs.post("/webhook", body)
        assert r.status_code == 202, show(r)
        stream = f"{pfx}:{category}"
        assert r.json()["stream"] == stream, show(r)
        owner = cluster.owner(slot(stream))
        owners.add(owner)
        node = cluster.client(owner)
        assert node.xlen(stream) == 1, (stream, owner)
        # the dedup key sits in the stream's slot, on the same master
        assert any(k.startswith("{" + stream + "}:seen:") for k in node.keys("{*"))
        wait_until(lambda: [g["name"] for g in node.xinfo_groups(stream)] == ["ledger"], 5,
                   what=f"group ledger on {stream}")
    assert len(owners) == 3, f"streams should sit on three masters: {owners}"
    # a retry is a duplicate, answered from the right master
    r = hs.post("/webhook", bodies["payment.status"])
    assert r.status_code == 200 and r.json()["status"] == "duplicate", show(r)
    assert metric(hs.metrics(), "hookstream_redis_connected") == 1


def test_slot_migration_mid_run_loses_nothing(relay, cluster):
    pfx = spreading_prefix()
    stream = f"{pfx}:payment.status"
    s_slot = slot(stream)
    src = cluster.owner(s_slot)
    dst = next(p for p in cluster.ports if p != src)
    hs = relay(env={"HOOKSTREAM_REDIS_URL": cluster.url(), "HOOKSTREAM_STREAM_PREFIX": pfx,
                    "HOOKSTREAM_PUBLISH_TIMEOUT": "2000"})
    sender = Sender(hs.url, make_events(400, "CLMIG"), concurrency=4, rate=200,
                    duplicate_retries=True)
    sender.start()
    wait_until(lambda: sender.acked_count() >= 100, 20, what="100 acknowledged before")
    moved = cluster.migrate_slot(s_slot, src, dst)
    assert moved >= 2, "the stream and its dedup keys were migrated"
    assert cluster.owner(s_slot) == dst
    sender.finish(60)
    counter = cluster.count(pfx)
    # everything is on the new master now
    assert cluster.client(src).keys(stream) == []
    assert cluster.client(dst).xlen(stream) == sum(counter.values())
    assert_exactly_once(sender, counter, "cluster-slot-migration")

    # Move it back while hookstream is idle: its map is stale, the next event
    # meets MOVED, follows it at once and is stored on the right master.
    import payloads as P
    cluster.migrate_slot(s_slot, dst, src)
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-MOVED")))
    assert r.status_code == 202, show(r)
    assert cluster.client(src).xlen(stream) == sum(counter.values()) + 1
    hs.wait_log(lambda l: str(l.get("error", "")).startswith("MOVED"), timeout=2,
                what="a MOVED answer followed")

    # After those map refreshes, every master drops hookstream's connection:
    # it reconnects (AUTH, SCRIPT LOAD, groups) with the addresses it keeps.
    before = len([l for l in hs.log_lines() if l.get("msg") == "redis connection ready"])
    for p in cluster.ports:
        cluster.client(p).execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    wait_until(lambda: len([l for l in hs.log_lines()
                            if l.get("msg") == "redis connection ready"]) >= before + 3,
               10, what="every master reconnected")
    wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 1, 5,
               what="connected again")
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-RECONNECT")))
    assert r.status_code == 202, show(r)


def test_spool_replay_matches_each_answer_to_its_record(relay, cluster, tmp_path):
    """Spooled records replayed to two masters are answered out of order: the
    card event's master answers at once, the payment's late and with an
    error. Each answer must be matched to its own record. Matching them by
    arrival counted the card's answer for the payment, deleted the segment
    after one more try, and lost the payment (found by review)."""
    import payloads as P
    pfx = spreading_prefix()
    pay, card = f"{pfx}:payment.status", f"{pfx}:card.metadata"
    a, b = cluster.owner(slot(pay)), cluster.owner(slot(card))
    assert a != b
    base = {"HOOKSTREAM_STREAM_PREFIX": pfx, "HOOKSTREAM_SPOOL_DIR": str(tmp_path / "spool"),
            "HOOKSTREAM_PUBLISH_TIMEOUT": "500"}
    dead = free_ports(1)[0]
    first = relay(env={**base, "HOOKSTREAM_REDIS_URL": f"redis://127.0.0.1:{dead}/"})
    spooled = []
    for body in (P.duitnow(e2e=P.uid("E2E-ORDER")), P.card_metadata_explicit(event_id=P.uid("cm"))):
        r = first.post("/webhook", body)
        assert r.status_code == 202 and r.json()["status"] == "spooled", show(r)
        spooled.append(r.json()["event_id"])
    first.stop()

    # The payment's master cannot store it (a key of the wrong type makes the
    # script fail), and answers only after the card's master has.
    ca, cb = cluster.client(a), cluster.client(b)
    ca.set(pay, "not a stream")
    ca.execute_command("CLIENT", "PAUSE", 2000, "WRITE")
    hs = relay(env={**base, "HOOKSTREAM_REDIS_URL": cluster.url()})
    wait_until(lambda: cb.xlen(card) == 1, 10, what="the card event replayed")
    wait_until(lambda: metric(hs.metrics(), "hookstream_spool_replay_errors_total") >= 1, 10,
               what="the payment's replay failed")
    time.sleep(2.5)  # retries, one a second
    assert metric(hs.metrics(), "hookstream_spool_records") == 1, \
        "the payment must stay in the spool while its master cannot take it"
    assert len(list((tmp_path / "spool").glob("seg-*"))) == 1

    ca.delete(pay)
    wait_until(lambda: metric(hs.metrics(), "hookstream_spool_records") == 0, 15,
               what="the payment replayed once its master takes it")
    assert [f["event_id"] for _, f in stream_entries(ca, pay)] == [spooled[0]]
    assert [f["event_id"] for _, f in stream_entries(cb, card)] == [spooled[1]]


def test_a_seed_that_never_answers_does_not_stop_the_slot_map(relay, cluster):
    """The first seed takes the connection and never answers CLUSTER SLOTS:
    past the connect timeout it is dropped and the next seed asked (the relay
    used to wait on it forever, never ready: found by review)."""
    import socket

    import payloads as P
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)  # the kernel takes connections; nothing ever answers
    try:
        url = f"redis+cluster://127.0.0.1:{mute.getsockname()[1]},127.0.0.1:{cluster.ports[0]}"
        hs = relay(env={"HOOKSTREAM_REDIS_URL": url}, wait_ready=False)
        wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 1, 15,
                   what="ready through the second seed")
        hs.wait_log(lambda l: "did not answer CLUSTER SLOTS" in l.get("msg", ""), timeout=1)
        r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-SEED")))
        assert r.status_code == 202, show(r)
    finally:
        mute.close()


def test_two_streams_on_one_master_are_never_one_script_call(relay, cluster, tmp_path):
    """With the default prefix, payment.status and token.status are two slots
    on one master of a three-master cluster. Requests for both that arrive in
    one loop turn used to share one script call, which Redis refuses
    (CROSSSLOT): both answered 503, and a spool holding both could never
    drain (found by review). Calls are now split by slot."""
    import os
    import threading

    import payloads as P
    pay, tok = "paynet:payment.status", "paynet:token.status"
    assert cluster.owner(slot(pay)) == cluster.owner(slot(tok)) and slot(pay) != slot(tok)
    hs = relay(env={"HOOKSTREAM_REDIS_URL": cluster.url(),
                    "HOOKSTREAM_SPOOL_DIR": str(tmp_path / "spool")})
    bodies = [P.duitnow(e2e=P.uid("E2E-XS")), P.mdes_token(tur=P.uid("DWSPMC-XS")),
              P.duitnow(e2e=P.uid("E2E-XS")), P.mdes_token(tur=P.uid("DWSPMC-XS"))]
    results = [None] * len(bodies)

    def post(i):
        results[i] = hs.post("/webhook", bodies[i], timeout=10)
    # Stopped, the relay reads all four in its next loop turn.
    os.kill(hs.proc.pid, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        time.sleep(0.5)
    finally:
        os.kill(hs.proc.pid, signal.SIGCONT)
    for t in threads:
        t.join(10)
    for r in results:
        assert r is not None and r.status_code == 202 and r.json()["status"] == "accepted", \
            show(r) if r is not None else "no answer"
    node = cluster.client(cluster.owner(slot(pay)))
    assert node.xlen(pay) == 2 and node.xlen(tok) == 2
    assert not [l for l in hs.log_lines() if "CROSSSLOT" in json.dumps(l)]

    # Spooled while the cluster is away, both kinds replay.
    hs.proc.send_signal(signal.SIGTERM)
    assert hs.proc.wait(10) == 0
    hs.checked = True
    dead = free_ports(1)[0]
    first = relay(env={"HOOKSTREAM_REDIS_URL": f"redis://127.0.0.1:{dead}/",
                       "HOOKSTREAM_SPOOL_DIR": str(tmp_path / "spool"),
                       "HOOKSTREAM_PUBLISH_TIMEOUT": "500"})
    for body in (P.duitnow(e2e=P.uid("E2E-XS-SP")), P.mdes_token(tur=P.uid("DWSPMC-SP"))):
        r = first.post("/webhook", body)
        assert r.status_code == 202 and r.json()["status"] == "spooled", show(r)
    first.stop()
    again = relay(env={"HOOKSTREAM_REDIS_URL": cluster.url(),
                       "HOOKSTREAM_SPOOL_DIR": str(tmp_path / "spool")})
    wait_until(lambda: metric(again.metrics(), "hookstream_spool_records") == 0, 15,
               what="the spool drained")
    assert node.xlen(pay) == 3 and node.xlen(tok) == 3


def test_invalid_record_follows_ask_during_a_slot_migration(relay, cluster):
    """While <prefix>:invalid's slot is migrating and its key has moved, the
    old master answers ASK: the plain XADD of the invalid record must go to
    the new one behind ASKING (it went without, met MOVED back, and the body
    was answered 503 instead of being kept and answered 400: found by
    review)."""
    inv = "paynet:invalid"
    s_slot = slot(inv)
    src = cluster.owner(s_slot)
    dst = next(p for p in cluster.ports if p != src)
    hs = relay(env={"HOOKSTREAM_REDIS_URL": cluster.url()})
    r = hs.post("/webhook", b'{"broken":', content_type="application/json")
    assert r.status_code == 400, show(r)
    srcc, dstc = cluster.client(src), cluster.client(dst)
    dstc.execute_command("CLUSTER", "SETSLOT", s_slot, "IMPORTING", cluster.node_id(src))
    srcc.execute_command("CLUSTER", "SETSLOT", s_slot, "MIGRATING", cluster.node_id(dst))
    keys = srcc.execute_command("CLUSTER", "GETKEYSINSLOT", s_slot, 50)
    assert inv in keys, keys
    srcc.execute_command("MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", *keys)
    try:
        r = hs.post("/webhook", b'{"broken again":', content_type="application/json")
        assert r.status_code == 400, show(r)
    finally:
        for p in cluster.ports:
            cluster.client(p).execute_command("CLUSTER", "SETSLOT", s_slot, "NODE",
                                              cluster.node_id(dst))
    assert dstc.xlen(inv) == 2
