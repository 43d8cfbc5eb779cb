# SPDX-License-Identifier: MIT
"""Hostile input end to end: request smuggling and parser-confusion shapes are
refused with 400 and the connection closed, never an event, never a crash; a
100 MB body from an allowed sender is refused without being buffered; and no
log line ever carries a card number or a signing secret."""

import json
import re
import socket
import time

import payloads as P
from conftest import RawConn, metric, raw_request, show, wait_until

BODY = json.dumps(P.duitnow(e2e="E2E-SMUGGLE-1")).encode()
CT = b"Content-Type: application/json"


def head(*lines):
    return b"".join(l + b"\r\n" for l in lines)


# Each is a whole request; none may be answered 2xx, none may store anything.
# (Bare LF line ends are not here: RFC 9112 section 2.2 lets a server accept
# them, and the gate and evhttp read them the same way.)
SMUGGLING = {
    "two content-lengths": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                                b"Content-Length: %d" % len(BODY),
                                b"Content-Length: %d" % (len(BODY) + 1)) + b"\r\n" + BODY,
    "content-length list": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                                b"Content-Length: %d, %d" % (len(BODY), len(BODY))) + b"\r\n"
    + BODY,
    "content-length and chunked": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                                       b"Content-Length: 4",
                                       b"Transfer-Encoding: chunked") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "chunked twice": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                          b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "gzip, chunked": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                          b"Transfer-Encoding: gzip, chunked") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "chunked, identity": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                              b"Transfer-Encoding: chunked, identity") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "obfuscated chunked": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                               b"Transfer-Encoding: xchunked") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "space before colon": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                               b"Transfer-Encoding : chunked") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "folded header": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                          b"Transfer-Encoding: identity", b" chunked") + b"\r\n"
    + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
    "bad chunk size": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                           b"Transfer-Encoding: chunked") + b"\r\n"
    + b"zz\r\n%s\r\n0\r\n\r\n" % BODY,
    "chunk size overflow": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                                b"Transfer-Encoding: chunked") + b"\r\n"
    + b"10000000000000000001\r\n" + BODY + b"\r\n0\r\n\r\n",
    "chunk without CRLF": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                               b"Transfer-Encoding: chunked") + b"\r\n"
    + b"%x\r\n%sXX0\r\n\r\n" % (len(BODY), BODY),
    "negative length": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                            b"Content-Length: -1") + b"\r\n" + BODY,
    "length with a plus": head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                               b"Content-Length: +%d" % len(BODY)) + b"\r\n" + BODY,
    "absurd method": head(b"P\x00ST /webhook HTTP/1.1", b"Host: x", CT,
                          b"Content-Length: %d" % len(BODY)) + b"\r\n" + BODY,
    "absurd version": head(b"POST /webhook HTTP/9.9", b"Host: x", CT,
                           b"Content-Length: %d" % len(BODY)) + b"\r\n" + BODY,
    "space in path": head(b"POST /web hook HTTP/1.1", b"Host: x", CT,
                          b"Content-Length: %d" % len(BODY)) + b"\r\n" + BODY,
    "control byte in header": head(b"POST /webhook HTTP/1.1", b"Host: x\x01y", CT,
                                   b"Content-Length: %d" % len(BODY)) + b"\r\n" + BODY,
    "header without colon": head(b"POST /webhook HTTP/1.1", b"Host: x", CT, b"Garbage",
                                 b"Content-Length: %d" % len(BODY)) + b"\r\n" + BODY,
}


def _keys(redis):
    return sorted(redis.client.keys("paynet:*"))


def test_smuggling_shapes_are_refused_and_closed(relay, redis):
    hs = relay()
    before = _keys(redis)
    for name, req in SMUGGLING.items():
        with RawConn(hs.port) as c:
            c.send(req)
            # A second, innocent request behind it: it must never be read as
            # a request of its own (that is what smuggling is).
            c.send(head(b"POST /webhook HTTP/1.1", b"Host: x", CT,
                        b"Content-Length: %d" % len(BODY)) + b"\r\n" + BODY)
            r = c.read_response()
            # a chunk size past any limit is also "too large" (413)
            want = (400, 413) if name == "chunk size overflow" else (400, 501)
            assert r.status_code in want, f"{name}: {r.status_code} {r.content[:200]!r}"
            body = r.json()
            assert body.get("error") and body.get("message"), f"{name}: {body}"
            assert c.wait_closed(3), f"{name}: connection left open after the refusal"
    assert hs.alive()
    assert _keys(redis) == before, "a refused request stored something"
    # and the relay still works
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    assert r.status_code == 202, show(r)


def test_100mb_chunked_body_from_an_allowed_sender_is_refused_unbuffered(relay, redis):
    """No Content-Length to refuse from the headers: the body streams in and
    the framer counts it. 413 once it passes max_body, the connection closed,
    memory flat."""
    hs = relay(env={"HOOKSTREAM_MAX_BODY": "1048576"})
    rss0 = _rss_kib(hs.proc.pid)
    s = socket.create_connection(("127.0.0.1", hs.port))
    s.settimeout(10)
    s.sendall(head(b"POST /webhook HTTP/1.1", b"Host: x", CT, b"Transfer-Encoding: chunked")
              + b"\r\n")
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"7" * (1 << 20))
    sent = 0
    try:
        while sent < 100:
            s.sendall(chunk)
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused and closed while we were still sending: expected
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            got = s.recv(65536)
            if not got:
                break
            data += got
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert b'"body_too_large"' in data, data[:400]
    rss1 = _rss_kib(hs.proc.pid)
    assert rss1 - rss0 < 16 * 1024, f"RSS grew {rss1 - rss0} KiB: the body was buffered"
    assert metric(hs.metrics(), "hookstream_rejections_total", reason="body_too_large") == 1
    assert redis.client.keys("paynet:*") == []


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


LUHN_RUN = re.compile(r"(?<!\d)(\d[ -]?){13,19}(?!\d)")


def _luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_numbers_in(text):
    found = []
    for m in LUHN_RUN.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            found.append(m.group(0))
    return found


def test_no_card_number_or_secret_in_any_log_line(relay, redis, tmp_path):
    """Card numbers in every place a sender can put one (body fields, a body
    that does not parse, the request id, the path, the query, a header), and a
    signing secret in use: the whole log, debug level, holds none of them."""
    secret = "s3cr3t-Do-Not-Log-0123456789"
    conf = tmp_path / "h.conf"
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "conf" / "hookstream.conf").read_text()
    conf.write_text(text.replace("[route /webhook/card]\n",
                                 "[route /webhook/card]\nsignature_scheme = hmac-sha256\n"
                                 f"signature_secrets = {secret}\n", 1))
    hs = relay(config=conf, env={"HOOKSTREAM_LOG_LEVEL": "debug"})
    pan = "4111111111111111"
    spaced = "4111 1111 1111 1111"
    posts = [
        ("/webhook", {"eventType": "payment.succeeded", "id": f"evt-{pan}", "card": pan,
                      "note": f"card {spaced}"}),
        ("/webhook", f'{{"broken": "{pan}", '.encode()),
        (f"/webhook?pan={pan}", {"eventType": "payment.succeeded", "id": "evt-q"}),
        (f"/webhook/{pan}", {"x": 1}),
        ("/webhook/card", {"eventType": "card.updated", "card": pan}),  # unsigned: 401
    ]
    for path, body in posts:
        hs.post(path, body, headers={"X-Request-Id": f"req-{pan}", "X-Card": pan})
    raw_request(hs.port, b"POST /webhook HTTP/1.1\r\nHost: " + pan.encode() +
                b"\r\nContent-Length: 99999999999\r\n\r\n")
    time.sleep(0.2)
    log = hs.stderr_text()
    assert "request" in log and len(log.splitlines()) >= len(posts), log[-2000:]
    assert card_numbers_in(log) == [], card_numbers_in(log)[:5]
    assert secret not in log
    # the stored side is masked too
    for key in redis.client.keys("paynet:*"):
        if redis.client.type(key) == "stream":
            for _, f in redis.client.xrange(key):
                assert card_numbers_in(json.dumps(f)) == [], (key, f)
