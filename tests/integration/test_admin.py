# SPDX-License-Identifier: MIT
"""Admin port: /healthz, /readyz and /metrics counters that move with traffic."""

import re

import payloads as P
from conftest import assert_accepted, assert_error, metric, show, wait_until


def test_health_and_ready(relay):
    hs = relay()
    for path in ("/healthz", "/readyz"):
        r = hs.admin(path)
        assert r.status_code == 200, f"{path}: {show(r)}"


def test_metrics_is_prometheus_text(relay):
    hs = relay()
    r = hs.admin("/metrics")
    assert r.status_code == 200, show(r)
    assert r.headers.get("Content-Type", "").startswith("text/plain"), show(r)
    hs.metrics()  # every line parses


def test_metrics_count_requests_and_events(relay, redis):
    hs = relay()
    before = hs.metrics()

    dup = P.duitnow(e2e=P.uid("E2E"))
    assert_accepted(hs.post("/webhook", dup), "payment.status")
    assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    assert_accepted(hs.post("/webhook", P.gateway_charge(evt=P.uid("evt"))), "payment.status")
    r = hs.post("/webhook", dup)
    assert r.status_code == 200, show(r)
    assert_error(hs.post("/webhook", dup, content_type="text/plain"), 415,
                 "unsupported_content_type")
    assert_accepted(hs.post("/webhook/token", P.gateway_token(evt=P.uid("evt"))),
                    "token.status")

    want = [
        (("hookstream_requests_total", {"route": "/webhook", "code": "202"}), 3),
        (("hookstream_requests_total", {"route": "/webhook", "code": "200"}), 1),
        (("hookstream_requests_total", {"route": "/webhook", "code": "415"}), 1),
        (("hookstream_requests_total", {"route": "/webhook/token", "code": "202"}), 1),
        (("hookstream_events_total", {"category": "payment.status", "outcome": "published"}), 3),
        (("hookstream_events_total", {"category": "token.status", "outcome": "published"}), 1),
    ]

    def deltas():
        after = hs.metrics()
        return [(key, metric(after, key[0], **key[1]) - metric(before, key[0], **key[1]), n)
                for key, n in want], after

    try:
        wait_until(lambda: all(d >= n for _, d, n in deltas()[0]), 3,
                   what="metrics to move")
    except AssertionError:
        pass  # the exact comparison below reports what is wrong
    got, after = deltas()
    wrong = [(k, d, n) for k, d, n in got if d != n]
    assert not wrong, "metric deltas (series, got, want): " + "; ".join(
        f"{k[0]}{k[1]} moved {d:g}, want {n}" for k, d, n in wrong) + \
        "\nexposed series: " + ", ".join(
            f"{name}{dict(lbl)}={v:g}" for (name, lbl), v in sorted(after.items(),
                                                                    key=lambda x: x[0][0])
            if name.startswith("hookstream_"))


def test_metrics_pass_promtool_and_move(relay, redis):
    import shutil
    import subprocess
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    hs = relay()
    before = hs.metrics()
    r = hs.post("/webhook", {"checkoutId": "c1", "endToEndId": "E2E-prom-1",
                             "paymentStatus": {"code": "ACSC", "substate": "CLEARED"}})
    assert r.status_code == 202, r.text
    assert hs.post("/webhook", b"{bad").status_code == 400
    assert hs.post("/webhook", b"{}", content_type="text/plain").status_code == 415
    text = hs.admin("/metrics").text
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    after = hs.metrics()

    def moved(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)
    assert moved("hookstream_request_duration_seconds_count") == 3
    assert moved("hookstream_request_body_bytes_count") == 3
    assert moved("hookstream_publish_duration_seconds_count") == 3  # event + 2 invalid records
    assert moved("hookstream_rejections_total", reason="invalid_json") == 1
    assert moved("hookstream_rejections_total", reason="unsupported_content_type") == 1
    assert moved("hookstream_invalid_recorded_total") == 2
    assert moved("hookstream_events_total", category="payment.status", outcome="published") == 1
    assert metric(after, "hookstream_redis_connected") == 1
    assert 'libevent="2.1.12' in text and 'hiredis="0.14' in text


def test_histogram_bounds_are_written_exactly(relay):
    """Bucket bounds as configured: 1048576 used to be written 1.04858e+06 (a
    different bound; found by review)."""
    hs = relay()
    text = hs.admin("/metrics").text
    les = set(re.findall(r'_bucket\{le="([^"]+)"\}', text))
    for want in ("0.0005", "0.0025", "1048576", "4194304", "16777216"):
        assert want in les, (want, sorted(les))
    assert not [le for le in les if "e+" in le or "e-" in le], sorted(les)


def test_head_on_a_kept_alive_connection_has_no_body(relay):
    """HEAD /healthz answers headers only: its body used to follow anyway,
    with no Content-Length, and was read as the next answer on the same
    connection (found by review)."""
    import socket
    import time
    hs = relay()
    s = socket.create_connection(("127.0.0.1", hs.admin_port), timeout=3)
    try:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not data.endswith(b'{"status":"ok"}\n'):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    parts = data.split(b"HTTP/1.1 200")
    assert len(parts) == 3, data
    assert b'{"status"' not in parts[1], f"HEAD carried a body: {data!r}"
    assert parts[2].endswith(b'{"status":"ok"}\n'), data
