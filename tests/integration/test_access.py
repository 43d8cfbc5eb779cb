# SPDX-License-Identifier: MIT
"""The source allowlist: checked on the peer address before any body is read;
a refused source leaves nothing in Redis."""

import json
import time

import payloads as P
from conftest import (assert_accepted, assert_entry, assert_error, http_request_bytes,
                      http_session, raw_request, show, stream_entries)

OTHER = "127.0.0.2"  # outside the default allowlist 127.0.0.1


def test_source_not_allowed(relay, redis):
    hs = relay()
    s = http_session(source=OTHER)
    try:
        r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s)
    finally:
        s.close()
    assert_error(r, 403, "source_not_allowed")
    assert redis.client.dbsize() == 0, f"keys after a 403: {redis.client.keys('*')}; {show(r)}"


def test_source_not_allowed_raw_socket(relay, redis):
    hs = relay()
    body = json.dumps(P.gateway_charge(evt=P.uid("evt")))
    r = raw_request(hs.port, http_request_bytes("POST", "/webhook/payment", body,
                                                [("Content-Type", "application/json")]),
                    source=OTHER)
    assert_error(r, 403, "source_not_allowed")
    assert redis.client.dbsize() == 0, f"keys after a 403: {redis.client.keys('*')}"


def test_forwarded_for_not_trusted(relay, redis):
    # No trusted proxies are configured, so X-Forwarded-For must be ignored.
    hs = relay()
    s = http_session(source=OTHER)
    try:
        r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s,
                    headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
    finally:
        s.close()
    assert_error(r, 403, "source_not_allowed")
    assert redis.client.dbsize() == 0


def test_refused_before_body_is_read(relay, redis):
    hs = relay()
    req = http_request_bytes("POST", "/webhook", b'{"a":',
                             [("Content-Type", "application/json")],
                             content_length=104857600)
    t0 = time.monotonic()
    r = raw_request(hs.port, req, source=OTHER, timeout=5)
    elapsed = time.monotonic() - t0
    assert_error(r, 403, "source_not_allowed")
    assert elapsed < 2.0, f"403 took {elapsed:.2f}s: {show(r)}"
    assert redis.client.dbsize() == 0


def test_refused_source_is_logged(relay, redis):
    hs = relay()
    s = http_session(source=OTHER)
    try:
        r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s)
    finally:
        s.close()
    assert_error(r, 403, "source_not_allowed")
    hs.wait_log(lambda l: l.get("status") == 403 and l.get("source_ip") == OTHER,
                what="a log line for the 403 with source_ip 127.0.0.2")


def test_cidr_allowlist_accepts(relay, redis):
    hs = relay(env={"HOOKSTREAM_ALLOW": "127.0.0.0/8"})
    body = P.duitnow(e2e=P.uid("E2E"))
    s = http_session(source=OTHER)
    try:
        r = hs.post("/webhook", body, session=s)
    finally:
        s.close()
    acc = assert_accepted(r, "payment.status")
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert len(entries) == 1, repr(entries)
    assert_entry(entries[0][1], category="payment.status", data=body, route="/webhook",
                 source_ip=OTHER, event_id=acc["event_id"])


def test_allowlist_list_of_addresses(relay, redis):
    hs = relay(env={"HOOKSTREAM_ALLOW": "192.0.2.7, 127.0.0.2,2001:db8::/32"})
    s = http_session(source=OTHER)
    try:
        r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s)
    finally:
        s.close()
    assert_accepted(r, "payment.status")
    # and 127.0.0.1 is now outside the list
    r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")))
    assert_error(r, 403, "source_not_allowed")


def test_ipv6_listener_and_allowlist(relay, redis):
    from conftest import free_port
    port = free_port()
    hs = relay(env={"HOOKSTREAM_LISTEN": f"[::1]:{port}", "HOOKSTREAM_ALLOW": "::1"})
    body = P.duitnow(e2e=P.uid("E2E-V6"))
    s = http_session()
    try:
        r = s.post(f"http://[::1]:{port}/webhook", data=json.dumps(body),
                   headers={"Content-Type": "application/json"}, timeout=10)
    finally:
        s.close()
    acc = assert_accepted(r, "payment.status")
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert len(entries) == 1, repr(entries)
    assert_entry(entries[0][1], category="payment.status", data=body, route="/webhook",
                 source_ip="::1", event_id=acc["event_id"])
