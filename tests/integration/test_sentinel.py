# SPDX-License-Identifier: MIT
"""Redis Sentinel: hookstream finds the master through the sentinels
(redis+sentinel://.../mymaster), and a failover in the middle of a retrying
sender's run (SENTINEL FAILOVER) leads it to the new master without a
restart. With wait_replicas = 1 every acknowledged event is on the new master
afterwards, exactly once. Real processes: a master, a replica and three
sentinels (redis-server --sentinel) on loopback ports."""

import signal
import subprocess
import time

import pytest
import redis as redis_lib

import payloads as P
from conftest import REDIS_SERVER, free_ports, metric, show, wait_until
from fakeresp import RespServer, bulk_array
from sender import Sender, assert_exactly_once, count_in_streams, make_events

MASTER = "mymaster"


class Proc:
    def __init__(self, argv, log):
        self.log = log
        with open(log, "wb") as f:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def client(port):
    return redis_lib.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5)


def ping(port):
    try:
        return client(port).ping()
    except redis_lib.exceptions.ConnectionError:
        return False


class Topology:
    def __init__(self, d):
        self.d = d
        self.ports = free_ports(5)
        self.data_ports = self.ports[:2]
        self.sentinel_ports = self.ports[2:]
        self.procs = []

    def start(self):
        master, replica = self.data_ports
        for i, port in enumerate(self.data_ports):
            wd = self.d / f"redis-{i}"
            wd.mkdir()
            argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "yes", "--appendfsync", "always", "--dir", str(wd),
                    "--repl-diskless-sync-delay", "0"]
            if port == replica:
                argv += ["--replicaof", "127.0.0.1", str(master)]
            self.procs.append(Proc(argv, wd / "log"))
        for port in self.data_ports:
            wait_until(lambda p=port: ping(p), 10, what=f"redis {port}")
        wait_until(lambda: client(master).info("replication").get("connected_slaves") == 1, 10,
                   what="replica attached")
        for port in self.sentinel_ports:
            wd = self.d / f"sentinel-{port}"
            wd.mkdir()
            conf = wd / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {wd}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n")
            self.procs.append(Proc([REDIS_SERVER, str(conf), "--sentinel"], wd / "log"))
        for port in self.sentinel_ports:
            wait_until(lambda p=port: ping(p), 10, what=f"sentinel {port}")

        def sentinels_ready():
            for port in self.sentinel_ports:
                m = client(port).execute_command("SENTINEL", "MASTER", MASTER)
                info = dict(zip(m[::2], m[1::2]))
                if int(info.get("num-slaves", 0)) < 1 or \
                        int(info.get("num-other-sentinels", 0)) < 2:
                    return False
            return True
        wait_until(sentinels_ready, 20, interval=0.2, what="sentinels see the replica and "
                                                            "each other")

    def master_port(self):
        addr = client(self.sentinel_ports[0]).execute_command(
            "SENTINEL", "get-master-addr-by-name", MASTER)
        return int(addr[1])

    def url(self):
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{MASTER}"

    def stop(self):
        for p in self.procs:
            p.stop()


@pytest.fixture
def topo(tmp_path):
    t = Topology(tmp_path)
    try:
        t.start()
        yield t
    finally:
        t.stop()


def test_master_found_through_the_sentinels(relay, topo):
    hs = relay(env={"HOOKSTREAM_REDIS_URL": topo.url()})
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-SENT")))
    assert r.status_code == 202, show(r)
    master = topo.master_port()
    assert client(master).xlen("paynet:payment.status") == 1
    line = hs.wait_log(lambda l: l.get("msg") == "redis sentinel named the master")[0]
    assert line["port"] == master, line
    # the URL is logged, the master's password would not be
    assert any("redis+sentinel://" in str(l.get("redis_url", "")) for l in hs.log_lines())


def test_failover_mid_run_loses_nothing(relay, topo, tmp_path):
    old = topo.master_port()
    hs = relay(env={"HOOKSTREAM_REDIS_URL": topo.url(), "HOOKSTREAM_WAIT_REPLICAS": "1",
                    "HOOKSTREAM_WAIT_REPLICAS_TIMEOUT": "500",
                    "HOOKSTREAM_PUBLISH_TIMEOUT": "2000"})
    s = Sender(hs.url, make_events(400, "FAILOVER"), concurrency=4, rate=150)
    s.start()
    wait_until(lambda: s.acked_count() >= 100, 20, what="100 acknowledged before the failover")
    client(topo.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", MASTER)
    wait_until(lambda: topo.master_port() != old, 30, interval=0.2,
               what="the sentinels switched the master")
    s.finish(60)
    new = topo.master_port()
    hs.wait_log(lambda l: l.get("msg") == "redis sentinel named the master" and
                l.get("port") == new, timeout=10)
    assert_exactly_once(s, count_in_streams(client(new)), "sentinel-failover")
    assert metric(hs.metrics(), "hookstream_redis_connected") == 1


def test_a_replica_named_by_the_sentinels_gets_no_writes(relay, redis):
    """Groups and the script wait for ROLE's answer: a server the sentinels
    name that is a replica receives no XGROUP or SCRIPT LOAD (they were sent
    in the same batch as ROLE, and a writable replica got the streams: found
    by review). Once the sentinels name the real master, the relay is ready."""
    target = {"port": None}
    replica = RespServer(lambda cmd: bulk_array("slave", "127.0.0.1", "1")
                       if cmd[0].upper() == b"ROLE" else b"+OK\r\n")
    target["port"] = replica.port
    sentinel = RespServer(lambda cmd: bulk_array("127.0.0.1", str(target["port"]))
                        if cmd[0].upper() == b"SENTINEL" else b"+OK\r\n")
    try:
        hs = relay(env={"HOOKSTREAM_REDIS_URL":
                        f"redis+sentinel://127.0.0.1:{sentinel.port}/{MASTER}"},
                   wait_ready=False)
        hs.wait_log(lambda l: "not a master" in l.get("msg", ""), timeout=10)
        time.sleep(0.5)
        assert "ROLE" in replica.commands
        writes = [c for c in replica.commands if c in ("XGROUP", "SCRIPT", "EVALSHA", "EVAL",
                                                       "XADD")]
        assert not writes, f"the replica got {writes}"
        target["port"] = redis.port
        wait_until(lambda: metric(hs.metrics(), "hookstream_redis_connected") == 1, 15,
                   what="ready once the sentinels name the master")
        assert hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-ROLE"))).status_code == 202
    finally:
        sentinel.close()
        replica.close()


def test_a_refused_handshake_on_a_mute_server_is_dropped(relay):
    """AUTH refused, then nothing more: the connection was closed gracefully,
    which waits for the replies owed (ROLE), forever; the sentinels were
    never asked again (found by review). The stall watch drops it."""
    mute = RespServer(lambda cmd: b"-WRONGPASS invalid password\r\n"
                    if cmd[0].upper() == b"AUTH" else None)
    sentinel = RespServer(lambda cmd: bulk_array("127.0.0.1", str(mute.port))
                        if cmd[0].upper() == b"SENTINEL" else b"+OK\r\n")
    try:
        hs = relay(env={"HOOKSTREAM_REDIS_URL":
                        f"redis+sentinel://:pw@127.0.0.1:{sentinel.port}/{MASTER}",
                        "HOOKSTREAM_PUBLISH_TIMEOUT": "500"},
                   wait_ready=False)
        line = hs.wait_log(lambda l: l.get("msg") == "redis is not answering; reconnecting",
                           timeout=15)[0]
        assert line["state"] == "closing", line
        wait_until(lambda: sentinel.commands.count("SENTINEL") >= 2, 10,
                   what="the sentinels asked again")
    finally:
        sentinel.close()
        mute.close()
