# SPDX-License-Identifier: MIT
"""Every refusal has a precise status and a JSON error body, and leaves Redis
untouched; the accepted content types and framings are accepted."""

import json
import socket
import time

import pytest

import payloads as P
from conftest import (RawConn, assert_accepted, assert_error, http_request_bytes, metric, raw_request,
                      show, stream_entries)


def _keys(redis):
    return sorted(redis.client.keys("*"))


@pytest.mark.parametrize("raw,code", [
    (b"{not json", "invalid_json"),
    (b"", "empty_body"),
    (b'{"a":1} trailing', "invalid_json"),
    (b'{"a":1,"a":2}', "duplicate_key"),
    (b'{"a":"\xff\xfe"}', "invalid_utf8"),
    (b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", "too_deep"),
], ids=["garbage", "empty", "trailing", "duplicate_keys", "bad_utf8", "deep_nesting"])
def test_invalid_json(relay, redis, raw, code):
    hs = relay()
    r = hs.post("/webhook", raw)
    assert_error(r, 400, code)
    # Nothing from an allowed sender disappears: the body is kept in paynet:invalid.
    entries = stream_entries(redis.client, "paynet:invalid")
    assert len(entries) == 1, entries
    assert entries[0][1]["reason"] == code, entries[0][1]
    assert entries[0][1]["source_ip"] == "127.0.0.1"


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"null", b"42", b"true", b'[{"id":"evt_1"}]'])
def test_not_an_object(relay, redis, raw):
    hs = relay()
    r = hs.post("/webhook", raw)
    assert_error(r, 400, "not_an_object")
    for cat in ("payment.status", "token.status", "card.metadata", "unclassified"):
        assert stream_entries(redis.client, f"paynet:{cat}") == [], cat


def test_unknown_route(relay, redis):
    hs = relay()
    before = _keys(redis)
    r = hs.post("/nope", P.duitnow(e2e=P.uid("E2E")))
    assert_error(r, 404, "unknown_route")
    assert _keys(redis) == before


@pytest.mark.parametrize("method,path", [("GET", "/webhook"), ("GET", "/webhook/payment"),
                                         ("PUT", "/webhook"), ("DELETE", "/webhook/card")])
def test_method_not_allowed(relay, redis, method, path):
    hs = relay()
    before = _keys(redis)
    r = hs._http.request(method, hs.url + path, timeout=10)
    assert_error(r, 405, "method_not_allowed")
    allow = [m.strip().upper() for m in r.headers.get("Allow", "").split(",")]
    assert "POST" in allow, f"Allow header must name POST: {show(r)}"
    assert _keys(redis) == before


def test_length_required(relay, redis):
    hs = relay()
    before = _keys(redis)
    req = http_request_bytes("POST", "/webhook", b"",
                             [("Content-Type", "application/json")], content_length=None)
    r = raw_request(hs.port, req)
    assert_error(r, 411, "length_required")
    assert _keys(redis) == before


def test_body_too_large(relay, redis):
    hs = relay(env={"HOOKSTREAM_MAX_BODY": "1000"})
    before = _keys(redis)
    body = json.dumps({"hello": "x" * 1980}).encode()
    assert len(body) > 1000
    r = hs.post("/webhook", body)
    assert_error(r, 413, "body_too_large")
    assert _keys(redis) == before


def test_body_at_limit_accepted(relay, redis):
    hs = relay(env={"HOOKSTREAM_MAX_BODY": "1000"})
    base = P.duitnow(e2e=P.uid("E2E"), pad="")
    pad = 1000 - len(json.dumps(base).encode())
    body = json.dumps(P.duitnow(e2e=base["endToEndId"], pad="p" * pad)).encode()
    assert len(body) == 1000
    r = hs.post("/webhook", body)
    assert_accepted(r, "payment.status")


def test_huge_content_length_refused_before_body(relay, redis):
    hs = relay()
    before = _keys(redis)
    head = http_request_bytes("POST", "/webhook", b'{"a":',
                              [("Content-Type", "application/json")],
                              content_length=104857600)
    t0 = time.monotonic()
    r = raw_request(hs.port, head, timeout=5)
    elapsed = time.monotonic() - t0
    assert_error(r, 413, "body_too_large")
    assert elapsed < 2.0, f"413 took {elapsed:.2f}s: {show(r)}"
    assert _keys(redis) == before


def test_chunked_body_accepted(relay, redis):
    hs = relay()
    body = json.dumps(P.duitnow(e2e=P.uid("E2E-CH"))).encode()
    chunks = b""
    for i in range(0, len(body), 50):
        part = body[i:i + 50]
        chunks += b"%x\r\n%s\r\n" % (len(part), part)
    chunks += b"0\r\n\r\n"
    req = http_request_bytes("POST", "/webhook", chunks,
                             [("Content-Type", "application/json"),
                              ("Transfer-Encoding", "chunked")], content_length=None)
    r = raw_request(hs.port, req)
    assert_accepted(r, "payment.status")
    assert redis.client.xlen("paynet:payment.status") == 1


def test_chunked_body_too_large(relay, redis):
    hs = relay(env={"HOOKSTREAM_MAX_BODY": "1000"})
    before = _keys(redis)
    part = b"x" * 600
    chunks = b'%x\r\n%s\r\n' % (len(part), part) * 3 + b"0\r\n\r\n"
    req = http_request_bytes("POST", "/webhook", chunks,
                             [("Content-Type", "application/json"),
                              ("Transfer-Encoding", "chunked")], content_length=None)
    r = raw_request(hs.port, req)
    assert_error(r, 413, "body_too_large")
    assert _keys(redis) == before


def test_header_too_large(relay, redis):
    hs = relay()
    before = _keys(redis)
    req = http_request_bytes("POST", "/webhook", b'{"hello":"hdr"}',
                             [("Content-Type", "application/json"),
                              ("X-Filler", "f" * 20000)])
    with RawConn(hs.port) as c:
        try:
            c.send(req)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all
        r = c.read_response()
    assert_error(r, 431, "header_too_large")
    assert _keys(redis) == before


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml"])
def test_unsupported_content_type(relay, ctype):
    hs = relay()
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), content_type=ctype)
    assert_error(r, 415, "unsupported_content_type")


@pytest.mark.parametrize("ctype", [
    "application/json",
    "application/json; charset=utf-8",
    "application/cloudevents+json",
    "application/vnd.x+json",
    "Application/JSON",
])
def test_json_content_types_accepted(relay, redis, ctype):
    hs = relay()
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), content_type=ctype)
    assert_accepted(r, "payment.status")


def test_expect_continue(relay, redis):
    hs = relay()
    body = json.dumps(P.duitnow(e2e=P.uid("E2E-100"))).encode()
    head = http_request_bytes("POST", "/webhook", b"",
                              [("Content-Type", "application/json"),
                               ("Expect", "100-continue")], content_length=len(body))
    with RawConn(hs.port) as c:
        c.send(head)
        interim = c.read_response()
        assert interim.status_code == 100, f"want 100 Continue first: {show(interim)}"
        c.send(body)
        r = c.read_response()
    assert_accepted(r, "payment.status")


@pytest.mark.parametrize("expect", [b"foo", b"\t100-continue", b"100-continue, x", b""])
def test_other_expectation_refused_417(relay, redis, expect):
    """Only 100-continue is supported. Any other expectation on an HTTP/1.1
    request with a body gets the relay's JSON 417, nothing is stored, and the
    connection's end is clean: evhttp's own 417 used to stay unwritten in the
    gate, hang the sender until request_timeout, and crash the daemon when
    the sender gave up and closed."""
    hs = relay(env={"HOOKSTREAM_REQUEST_TIMEOUT": "3"})
    before = _keys(redis)
    body = json.dumps(P.duitnow(e2e=P.uid("E2E-417"))).encode()
    req = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\nExpect:" +
           (b" " if expect[:1] != b"\t" else b"") + expect + b"\r\n\r\n" + body)
    r = raw_request(hs.port, req, timeout=2)
    assert_error(r, 417, "expectation_failed")
    assert metric(hs.metrics(), "hookstream_rejections_total", reason="expectation_failed") >= 1
    assert r.headers.get("X-Request-Id"), show(r)
    assert _keys(redis) == before
    # A sender that gives up at once: the daemon lives on and answers.
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", hs.port))
        s.sendall(req)
        time.sleep(0.3)
        s.close()
    time.sleep(0.5)
    assert hs.alive(), "the daemon died after a sender closed on a 417"
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-after"))), "payment.status")


def test_no_stray_100_continue_after_pipelined_answers(relay, redis):
    """Two requests in one write, the second with Expect: 100-continue and its
    body already sent: two 202s and nothing after them (a 100 Continue used
    to follow the last final answer, unasked: found by review)."""
    hs = relay()
    reqs = b""
    for i, expect in enumerate((False, True)):
        body = json.dumps(P.duitnow(e2e=P.uid(f"E2E-PIPE{i}"))).encode()
        hdrs = [("Content-Type", "application/json")]
        if expect:
            hdrs.append(("Expect", "100-continue"))
        reqs += http_request_bytes("POST", "/webhook", body, hdrs)
    with RawConn(hs.port, timeout=3) as c:
        c.send(reqs)
        for _ in range(2):
            assert_accepted(c.read_response(), "payment.status")
        c.sock.settimeout(0.5)
        try:
            extra = c.sock.recv(4096)
        except socket.timeout:
            extra = b""
        assert c.buf + extra == b"", f"bytes after the last answer: {c.buf + extra!r}"


@pytest.mark.parametrize("target", [b"//%zz", b"http://[::1", b"http://x:99999999/",
                                    b"http://a b/"])
def test_unparseable_request_target_gets_a_json_400_and_the_daemon_lives(relay, redis, target):
    """A request target evhttp cannot parse used to be answered by evhttp
    itself (HTML, no X-Request-Id), and a sender that then closed crashed the
    daemon in libevent's bufferevent teardown (reproduced under ASan). The
    gate now refuses it first, with the relay's own answer."""
    hs = relay(env={"HOOKSTREAM_REQUEST_TIMEOUT": "2"})
    before = _keys(redis)
    req = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2\r\n\r\n{}")
    r = raw_request(hs.port, req, timeout=3)
    assert_error(r, 400, "bad_request")
    assert r.headers.get("X-Request-Id"), show(r)
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", hs.port))
        s.sendall(req)
        time.sleep(0.3)
        s.close()
    time.sleep(2.5)  # past request_timeout
    assert hs.alive(), "the daemon died after senders closed on a bad request target"
    assert _keys(redis) == before
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E-after"))), "payment.status")


def test_connect_refused_with_a_framed_answer(relay, redis):
    """CONNECT gets a JSON 405 with a Content-Length (evhttp's own answer to
    CONNECT had none, on a connection kept open)."""
    hs = relay()
    with RawConn(hs.port, timeout=3) as c:
        c.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        r = c.read_response()
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Content-Length") == str(len(r.content)), show(r)


def test_expect_continue_too_large(relay, redis):
    hs = relay()
    head = http_request_bytes("POST", "/webhook", b"",
                              [("Content-Type", "application/json"),
                               ("Expect", "100-continue")], content_length=104857600)
    r = raw_request(hs.port, head, timeout=3)
    assert_error(r, 413, "body_too_large")


def _assert_bad_framing(r):
    assert r.status_code == 400, f"ambiguous framing must be refused: {show(r)}"
    body = r.json()
    assert isinstance(body, dict) and body.get("error") and body.get("message"), show(r)


def test_conflicting_content_length(relay, redis):
    hs = relay()
    before = _keys(redis)
    body = json.dumps(P.duitnow(e2e=P.uid("E2E"))).encode()
    req = http_request_bytes("POST", "/webhook", body,
                             [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body))),
                              ("Content-Length", str(len(body) - 5))], content_length=None)
    _assert_bad_framing(raw_request(hs.port, req))
    assert _keys(redis) == before


def test_content_length_with_chunked(relay, redis):
    hs = relay()
    before = _keys(redis)
    body = json.dumps(P.duitnow(e2e=P.uid("E2E"))).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    req = http_request_bytes("POST", "/webhook", chunked,
                             [("Content-Type", "application/json"),
                              ("Content-Length", str(len(chunked))),
                              ("Transfer-Encoding", "chunked")], content_length=None)
    _assert_bad_framing(raw_request(hs.port, req))
    assert _keys(redis) == before


def test_pipelined_requests(relay, redis):
    hs = relay()
    reqs = []
    for i in range(3):
        body = json.dumps(P.duitnow(e2e=P.uid("E2E-PIPE")))
        reqs.append(http_request_bytes("POST", "/webhook", body,
                                       [("Content-Type", "application/json")]))
    with RawConn(hs.port) as c:
        c.send(b"".join(reqs))
        answers = [c.read_response() for _ in reqs]
    ids = []
    for r in answers:
        ids.append(assert_accepted(r, "payment.status")["entry_id"])
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert [e[0] for e in entries] == ids, f"answers {ids} vs entries {entries!r}"


def test_request_timeout_closes_slow_client(relay):
    hs = relay(env={"HOOKSTREAM_REQUEST_TIMEOUT": "1"})
    with RawConn(hs.port) as c:
        c.send(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n")
        assert c.wait_closed(4), \
            f"a client that never finishes its head must be cut off (request_timeout=1); got {c.buf!r}"
    with RawConn(hs.port) as c:
        c.send(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n"
               b"Content-Type: application/json\r\n\r\n{\"hello\":")
        assert c.wait_closed(4), \
            f"a client that never finishes its body must be cut off; got {c.buf!r}"
    assert hs.admin("/healthz").status_code == 200


def test_idle_keepalive_connection_closed(relay, redis):
    hs = relay(env={"HOOKSTREAM_REQUEST_TIMEOUT": "1"})
    with RawConn(hs.port) as c:
        c.send(http_request_bytes("POST", "/webhook",
                                  json.dumps(P.duitnow(e2e=P.uid("E2E"))),
                                  [("Content-Type", "application/json")]))
        assert_accepted(c.read_response(), "payment.status")
        assert c.wait_closed(4), "an idle keep-alive connection must be closed after request_timeout"
