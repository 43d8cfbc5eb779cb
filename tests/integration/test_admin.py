# SPDX-License-Identifier: MIT
"""Admin port: /healthz, /readyz and /metrics counters that move with traffic."""

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
