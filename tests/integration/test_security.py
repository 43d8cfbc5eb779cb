# SPDX-License-Identifier: MIT
"""
Signatures (hmac-sha256, Standard Webhooks) and the real client behind trusted
proxies (X-Forwarded-For), against a real redis-server and the real binary.
"""
import base64
import hashlib
import hmac
import json
import time

from conftest import (assert_accepted, assert_error, http_session, metric, stream_entries,
                      stream_keys, wait_until)

OTHER = "127.0.0.2"


def _body(e2e):
    return json.dumps({"checkoutId": "c-" + e2e, "endToEndId": e2e,
                       "paymentStatus": {"code": "ACSC", "substate": "CLEARED"}}).encode()


def _hex_sig(secret, body):
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def _nothing_stored(redis):
    assert stream_keys(redis.client) == [], stream_keys(redis.client)


def test_hmac_valid_wrong_missing_and_rotation(relay, redis):
    hs = relay(env={"HOOKSTREAM_SIGNATURE_SCHEME": "hmac-sha256",
                    "HOOKSTREAM_SIGNATURE_SECRETS": "old-secret-1, new-secret-2",
                    "HOOKSTREAM_SIGNATURE_HEADER": "X-PayNet-Signature"})
    body = _body("E2E-sig-bad")
    r = hs.post("/webhook", body, headers={"X-PayNet-Signature": _hex_sig(b"nope", body)})
    assert_error(r, 401, "signature_mismatch")
    assert_error(hs.post("/webhook", body), 401, "signature_missing")
    assert_error(hs.post("/webhook", body, headers={"X-PayNet-Signature": "zz"}), 401,
                 "signature_malformed")
    _nothing_stored(redis)
    # Both secrets of a rotation are accepted, hex or base64, with sha256= prefix.
    for i, (secret, fmt) in enumerate([(b"old-secret-1", "hex"), (b"new-secret-2", "b64")]):
        b = _body(f"E2E-sig-{i}")
        mac = hmac.new(secret, b, hashlib.sha256)
        sig = mac.hexdigest() if fmt == "hex" else "sha256=" + base64.b64encode(
            mac.digest()).decode()
        assert_accepted(hs.post("/webhook", b, headers={"X-PayNet-Signature": sig}),
                        "payment.status")
    entries = stream_entries(redis.client, "paynet:payment.status")
    assert len(entries) == 2
    assert json.loads(entries[0][1]["event"])["verifiedby"] == "hmac-sha256"
    log = "\n".join(json.dumps(line) for line in hs.log_lines())
    assert "old-secret-1" not in log and "new-secret-2" not in log


def test_standard_webhooks_per_route(relay, redis, tmp_path):
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret + "\n")
    conf = tmp_path / "sw.conf"
    conf.write_text("allow = 127.0.0.1\n"
                    "[route /signed]\ncategory = payment.status\n"
                    "signature_scheme = standard-webhooks\n"
                    f"signature_secrets = file:{secret_file}\n"
                    "[route /open]\ncategory = payment.status\n")

    def headers(msg_id, ts, body, k=key):
        sig = base64.b64encode(hmac.new(k, f"{msg_id}.{ts}.".encode() + body,
                                        hashlib.sha256).digest()).decode()
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                "webhook-signature": f"v1,bm90IGl0 v1,{sig}"}

    hs = relay(config=conf)
    now = int(time.time())
    b = _body("E2E-sw-1")
    assert_accepted(hs.post("/signed", b, headers=headers("msg_1", now, b)), "payment.status")
    b2 = _body("E2E-sw-2")
    assert_error(hs.post("/signed", b2, headers=headers("msg_2", now - 3600, b2)), 401,
                 "signature_expired")
    assert_error(hs.post("/signed", b2, headers=headers("msg_2", now, b2, k=b"x" * 32)), 401,
                 "signature_mismatch")
    h = headers("msg_2", now, b2)
    del h["webhook-id"]
    assert_error(hs.post("/signed", b2, headers=h), 401, "id_missing")
    # The route without a scheme is open (the default is none).
    assert_accepted(hs.post("/open", _body("E2E-sw-3")), "payment.status")
    assert redis.client.xlen("paynet:payment.status") == 2
    assert "paynet:invalid" not in stream_keys(redis.client)


def test_signature_config_errors_never_print_secrets():
    from conftest import run_hookstream
    p = run_hookstream(["--check-config"], env={
        "HOOKSTREAM_ALLOW": "127.0.0.1", "HOOKSTREAM_SIGNATURE_SCHEME": "standard-webhooks",
        "HOOKSTREAM_SIGNATURE_SECRETS": "not-a-whsec-TOPSECRETVALUE"})
    assert p.returncode != 0
    assert "TOPSECRETVALUE" not in p.stdout + p.stderr, p.stderr
    assert "signature" in p.stderr


def test_forwarded_client_from_trusted_proxy(relay, redis):
    hs = relay(env={"HOOKSTREAM_ALLOW": "203.0.113.7", "HOOKSTREAM_TRUSTED_PROXIES": "127.0.0.1"})
    r = hs.post("/webhook", _body("E2E-xff-1"), headers={"X-Forwarded-For": "203.0.113.7"})
    assert_accepted(r, "payment.status")
    entry = stream_entries(redis.client, "paynet:payment.status")[0][1]
    assert entry["source_ip"] == "203.0.113.7", entry
    # A chain: client, then another trusted proxy; the right-most untrusted wins.
    r = hs.post("/webhook", _body("E2E-xff-2"),
                headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7, 127.0.0.1"})
    assert_accepted(r, "payment.status")
    # The client the proxy names is not allowed.
    r = hs.post("/webhook", _body("E2E-xff-3"), headers={"X-Forwarded-For": "198.51.100.9"})
    assert_error(r, 403, "source_not_allowed")
    # A forged left-most entry cannot help: the right-most untrusted one decides.
    r = hs.post("/webhook", _body("E2E-xff-4"),
                headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.9"})
    assert_error(r, 403, "source_not_allowed")
    r = hs.post("/webhook", _body("E2E-xff-5"), headers={"X-Forwarded-For": "not-an-ip"})
    assert_error(r, 403, "source_not_allowed")
    # The proxy itself, with no header, is not an allowed sender.
    assert_error(hs.post("/webhook", _body("E2E-xff-6")), 403, "source_not_allowed")
    assert redis.client.xlen("paynet:payment.status") == 2


def test_forged_forwarded_for_from_untrusted_peer_is_ignored(relay, redis):
    hs = relay(env={"HOOKSTREAM_ALLOW": OTHER, "HOOKSTREAM_TRUSTED_PROXIES": "10.9.9.9"})
    s = http_session(source="127.0.0.1")
    try:
        # Not allowed and not a proxy: a forged header naming an allowed client
        # cannot unlock the allowlist.
        r = hs.post("/webhook", _body("E2E-forge-1"), session=s,
                    headers={"X-Forwarded-For": OTHER})
    finally:
        s.close()
    assert_error(r, 403, "source_not_allowed")
    s = http_session(source=OTHER)
    try:
        r = hs.post("/webhook", _body("E2E-forge-2"), session=s,
                    headers={"X-Forwarded-For": "198.51.100.1"})
    finally:
        s.close()
    assert_accepted(r, "payment.status")
    entry = stream_entries(redis.client, "paynet:payment.status")[0][1]
    assert entry["source_ip"] == OTHER, entry


def _raise_nofile(n):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def test_slowloris_does_not_starve_a_real_sender(relay, redis):
    import socket
    _raise_nofile(4096)
    hs = relay()
    slow = []
    try:
        for i in range(1000):
            s = socket.create_connection(("127.0.0.1", hs.port))
            # A head that never ends, or a body that never comes.
            s.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n" if i % 2 else
                      b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{")
            slow.append(s)
        t0 = time.monotonic()
        r = hs.post("/webhook", _body("E2E-slowloris-1"))
        took = time.monotonic() - t0
        assert_accepted(r, "payment.status")
        assert took < 1.0, f"a real sender waited {took:.2f}s behind 1000 slow connections"
        opened = metric(hs.metrics(), "hookstream_open_connections")
        assert opened >= 1000, opened
    finally:
        for s in slow:
            s.close()


def test_connections_beyond_the_cap_get_503(relay, redis):
    import socket
    hs = relay(env={"HOOKSTREAM_MAX_CONNECTIONS": "5"})
    idle = [socket.create_connection(("127.0.0.1", hs.port)) for _ in range(5)]
    try:
        wait_until(lambda: metric(hs.metrics(), "hookstream_open_connections") == 5, 5,
                   what="5 connections open")
        r = hs.post("/webhook", _body("E2E-cap-1"))
        assert_error(r, 503, "too_many_connections")
        assert "Retry-After" in r.headers
    finally:
        for s in idle:
            s.close()
    # Slots come back when connections close.
    wait_until(lambda: metric(hs.metrics(), "hookstream_open_connections") == 0, 5,
               what="connections closed")
    assert_accepted(hs.post("/webhook", _body("E2E-cap-2")), "payment.status")
