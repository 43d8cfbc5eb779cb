# SPDX-License-Identifier: MIT
"""A publish-script reply the relay does not understand (a Redis, proxy or
script that answers in another shape) fails the requests in that call with a
503 and a clear log line: none is acknowledged on a reply that does not say
where each event went. The sender's retry is then answered normally. Redis
here is a small fake speaking RESP on a loopback port, so the reply can be
anything; it answers the handshake (ROLE, SCRIPT LOAD, XGROUP) like Redis."""

import hashlib
import json
import threading

import pytest

import payloads as P
from conftest import assert_error, wait_until
from fakeresp import RespServer


class FakeRedis(RespServer):
    """Script calls (EVALSHA/EVAL) are answered by the next function in
    `script_replies` (given the number of events in the call), then by a
    well-formed flat reply."""

    def __init__(self):
        self.script_replies = []
        self.script_calls = 0
        self.entries = 0
        self.lock = threading.Lock()
        super().__init__()

    def _ok_reply(self, n):
        with self.lock:
            first = self.entries + 1
            self.entries += n
        out = f"*{2 * n}\r\n".encode()
        for i in range(n):
            eid = f"1-{first + i}".encode()
            out += b":1\r\n$%d\r\n%s\r\n" % (len(eid), eid)
        return out

    def _answer(self, args):
        cmd = args[0].upper()
        if cmd == b"ROLE":
            return b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
        if cmd == b"SCRIPT" and args[1].upper() == b"LOAD":
            sha = hashlib.sha1(args[2]).hexdigest().encode()
            return b"$40\r\n" + sha + b"\r\n"
        if cmd in (b"EVALSHA", b"EVAL"):
            n = int(args[2]) // 2
            with self.lock:
                self.script_calls += 1
                make = self.script_replies.pop(0) if self.script_replies else None
            return make(n) if make else self._ok_reply(n)
        if cmd == b"PING":
            return b"+PONG\r\n"
        return b"+OK\r\n"  # XGROUP CREATE, SELECT, AUTH


@pytest.fixture
def fake_redis():
    fake = FakeRedis()
    yield fake
    fake.close()


# Replies in shapes the relay must not take for "stored": the nested shape of
# the script before 2026-11 ({flag, id} per event), a short array, a flag that
# is not 0 or 1, an empty entry id, an error.
BAD_REPLIES = {
    "nested_pairs": lambda n: f"*{n}\r\n".encode() + b"*2\r\n:1\r\n$3\r\n1-1\r\n" * n,
    "too_short": lambda n: b"*2\r\n:1\r\n$3\r\n1-1\r\n" if n > 1 else b"*0\r\n",
    "flag_not_0_or_1": lambda n: f"*{2 * n}\r\n".encode() + b":7\r\n$3\r\n1-1\r\n" * n,
    "empty_entry_id": lambda n: f"*{2 * n}\r\n".encode() + b":1\r\n$0\r\n\r\n" * n,
    "not_an_array": lambda n: b"$2\r\nOK\r\n",
    "error": lambda n: b"-ERR something broke inside the script\r\n",
}


@pytest.mark.parametrize("shape", sorted(BAD_REPLIES))
def test_unexpected_script_reply_fails_the_request(relay, fake_redis, shape):
    hs = relay(env={"HOOKSTREAM_REDIS_URL": f"redis://127.0.0.1:{fake_redis.port}"})
    fake_redis.script_replies.append(BAD_REPLIES[shape])
    body = P.duitnow(e2e=f"BADREPLY-{shape}")
    assert_error(hs.post(body=json.dumps(body)), 503, "redis_unavailable")
    assert fake_redis.script_calls == 1
    if shape != "error":
        hs.wait_log(lambda line: line.get("msg") == "unexpected reply from the publish script"
                    and line.get("level") == "error" and line.get("events") == 1,
                    what="the unexpected reply logged")
    else:
        hs.wait_log(lambda line: line.get("msg") == "redis rejected the publish script"
                    and "something broke" in line.get("error", ""),
                    what="the script error logged")
    # The sender retries: this time Redis answers as it should.
    r = hs.post(body=json.dumps(body))
    assert r.status_code == 202, f"{shape} retry: {r.status_code} {r.text!r}"
    assert r.json()["entry_id"].startswith("1-")
    wait_until(lambda: fake_redis.script_calls == 2, 5, what="the retry's script call")
