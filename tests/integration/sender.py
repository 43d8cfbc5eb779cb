# SPDX-License-Identifier: MIT
"""
A webhook sender that behaves like a real one, for the fault-injection suite
(test_faults.py), and the exactly-once accounting of what reached the streams.

A real sender (a payment network's notification service) keeps a few keep-alive
connections open, POSTs each notification until it gets a 2xx, and retries
anything else — a 503, a connection refused or reset, a timeout — with capped
exponential backoff, honouring Retry-After. Some senders also re-send a
notification they already got a 2xx for (they missed the answer, or they simply
deliver at least once); `duplicate_retries=True` does that once per event.

    events = make_events(400, "KILL")
    s = Sender(relay.url, events, concurrency=8)
    s.start()
    ...inject a fault...
    summary = s.finish(20)          # AssertionError listing the unacknowledged
    assert_exactly_once(s, count_in_streams(redis.client), "kill-redis")
"""

import collections
import json
import queue
import random
import threading
import time

import requests

import payloads as P

# ---------------------------------------------------------------------------
# events


def make_events(n, prefix, pad=0, paths=("/webhook", "/webhook/payment")):
    """n PayNet-style (DuitNow Pay) payment status notifications with unique
    event ids: a list of (path, body_bytes, event_id).

    The relay derives the event id of these bodies as
    "<endToEndId>:<paymentStatus.code>:<paymentStatus.substate>" (rule
    duitnow_pay_status); it is the `event_id` field of the stream entry. The
    number is zero-padded so no id is a prefix of another. `pad` adds a
    free-text field of that many bytes (bigger spool records). Paths alternate
    between the classifying route and the payment route (same category)."""
    out = []
    for i in range(n):
        e2e = f"E2E-{prefix}-{i:06d}"
        extra = {"remittanceInfo": ("r" * pad)} if pad else {}
        body = P.duitnow(e2e=e2e, checkout=f"c-{prefix}-{i:06d}", **extra)
        out.append((paths[i % len(paths)], json.dumps(body).encode(), f"{e2e}:ACSC:CLEARED"))
    return out


# ---------------------------------------------------------------------------
# the sender


class EventRecord:
    """What the sender knows about one event."""

    __slots__ = ("event_id", "path", "body", "attempts", "final_status", "acked",
                 "ack_kind", "statuses", "last_error", "acked_at", "dup_status",
                 "dup_kind", "dup_attempts")

    def __init__(self, path, body, event_id):
        self.event_id = event_id
        self.path = path
        self.body = body
        self.attempts = 0
        self.final_status = None   # last HTTP status, or "error:<Exception>"
        self.acked = False
        self.ack_kind = None       # "status" of the 2xx body: accepted/duplicate/spooled
        self.statuses = collections.Counter()
        self.last_error = None
        self.acked_at = None
        self.dup_status = None     # the deliberate duplicate (duplicate_retries)
        self.dup_kind = None
        self.dup_attempts = 0

    def describe(self):
        hist = ", ".join(f"{k}x{v}" for k, v in sorted(self.statuses.items(), key=str))
        err = f"; last error {self.last_error}" if self.last_error else ""
        return (f"{self.event_id} ({self.path}): {self.attempts} attempts, "
                f"final {self.final_status}, answers [{hist}]{err}")


class Attempt(collections.namedtuple(
        "Attempt", "t event_id attempt status kind error retry_after dup")):
    """One POST: t (seconds since start), status (None on a connection error or
    timeout), kind (the body's "status" for 2xx, "error" code otherwise),
    error (exception text), retry_after (header), dup (the deliberate
    duplicate re-send)."""


class Sender:
    """POSTs every event until it is acknowledged (2xx), from `concurrency`
    threads, each with its own keep-alive requests.Session.

    Retries: any non-2xx answer, connection error or timeout; the delay starts at
    `backoff_start`, doubles per attempt up to `backoff_cap` (with jitter in
    [d/2, d]), and is at least Retry-After capped at `retry_after_cap`.
    `rate` (events per second, all threads together) paces first attempts.
    `url_or_urls`: a base URL ("http://127.0.0.1:8080") or a list; attempt n
    of an event goes to urls[(n - 1) % len(urls)] (a sender failing over)."""

    def __init__(self, url_or_urls, events, concurrency=8, duplicate_retries=False,
                 backoff_start=0.05, backoff_cap=0.5, retry_after_cap=0.5, timeout=5.0,
                 connect_timeout=1.0, rate=None, content_type="application/json"):
        urls = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
        assert urls, "need at least one URL"
        self.urls = [u.rstrip("/") for u in urls]
        self.records = collections.OrderedDict()
        for path, body, event_id in events:
            assert event_id not in self.records, f"event id {event_id!r} given twice"
            self.records[event_id] = EventRecord(path, body, event_id)
        self.concurrency = max(1, min(concurrency, len(self.records) or 1))
        self.duplicate_retries = duplicate_retries
        self.backoff_start = backoff_start
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.timeout = (connect_timeout, timeout)
        self.interval = (self.concurrency / rate) if rate else 0.0
        self.content_type = content_type
        self.attempts_log = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._queue = queue.Queue()
        self._threads = []
        self._t0 = None
        self._t_end = None
        self._crashed = []

    # -- state, safe to read while running

    @property
    def sent(self):
        return set(self.records)

    @property
    def acked(self):
        with self._lock:
            return {e for e, r in self.records.items() if r.acked}

    def acked_count(self):
        with self._lock:
            return sum(1 for r in self.records.values() if r.acked)

    def attempts_since(self, t):
        """Attempts logged at or after t (seconds since start)."""
        with self._lock:
            return [a for a in self.attempts_log if a.t >= t]

    def elapsed(self):
        if self._t0 is None:
            return 0.0
        return (self._t_end or time.monotonic()) - self._t0

    def now(self):
        """Seconds since start (the time base of attempts_log)."""
        return time.monotonic() - self._t0

    def unacked(self):
        with self._lock:
            return [r for r in self.records.values() if not r.acked]

    def summary(self):
        with self._lock:
            recs = list(self.records.values())
            answers = collections.Counter(
                a.status if a.status is not None else "conn-error" for a in self.attempts_log)
        kinds = collections.Counter(r.ack_kind for r in recs if r.acked)
        out = {
            "sent": len(recs),
            "acked": sum(1 for r in recs if r.acked),
            "attempts": sum(r.attempts for r in recs),
            "max_attempts": max((r.attempts for r in recs), default=0),
            "answers": dict(sorted(answers.items(), key=str)),
            "ack_kinds": dict(kinds),
            "elapsed_s": round(self.elapsed(), 2),
        }
        if self.duplicate_retries:
            out["dup_kinds"] = dict(collections.Counter(r.dup_kind for r in recs if r.dup_status))
        return out

    def unacked_report(self, limit=25):
        un = self.unacked()
        lines = [f"{len(un)} of {len(self.records)} events never acknowledged "
                 f"after {self.elapsed():.1f}s; summary {self.summary()}"]
        lines += ["  " + r.describe() for r in un[:limit]]
        if len(un) > limit:
            lines.append(f"  ... and {len(un) - limit} more")
        return "\n".join(lines)

    # -- control

    def start(self):
        assert self._t0 is None, "sender already started"
        self._t0 = time.monotonic()
        for rec in self.records.values():
            self._queue.put(rec)
        for i in range(self.concurrency):
            t = threading.Thread(target=self._worker, name=f"sender-{i}", daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def join(self, timeout=None):
        """Wait up to timeout for every event to be acknowledged (and its
        deliberate duplicate, if any, answered); True when done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.join(left)
        done = not any(t.is_alive() for t in self._threads)
        if done and self._t_end is None:
            self._t_end = time.monotonic()
        return done

    def stop(self):
        """Stop retrying (an attempt in progress finishes or times out)."""
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout[0] + self.timeout[1] + 2)
        if self._t_end is None:
            self._t_end = time.monotonic()

    def finish(self, deadline_s):
        """Wait up to deadline_s; past it stop and raise an AssertionError
        listing every event never acknowledged. Returns summary()."""
        done = self.join(deadline_s)
        if not done:
            self.stop()
        assert not self._crashed, f"sender thread crashed: {self._crashed}"
        un = self.unacked()
        if not done or un:
            raise AssertionError(self.unacked_report())
        return self.summary()

    def run(self, deadline_s):
        """start() + finish(deadline_s)."""
        self.start()
        return self.finish(deadline_s)

    # -- the work

    def _worker(self):
        s = requests.Session()
        s.trust_env = False
        try:
            while not self._stop.is_set():
                try:
                    rec = self._queue.get_nowait()
                except queue.Empty:
                    return
                if self.interval:
                    self._stop.wait(self.interval)
                if self._deliver(s, rec, dup=False) and self.duplicate_retries:
                    self._deliver(s, rec, dup=True)
        except Exception as e:  # noqa: BLE001 - reported by finish()
            self._crashed.append(repr(e))
            raise
        finally:
            s.close()

    def _delay(self, n, retry_after):
        d = min(self.backoff_cap, self.backoff_start * (2 ** (n - 1)))
        d = d / 2 + random.random() * d / 2
        if retry_after is not None:
            try:
                ra = float(retry_after)
            except ValueError:
                ra = None
            if ra is not None and ra >= 0:
                d = max(d, min(ra, self.retry_after_cap))
        return d

    def _deliver(self, s, rec, dup):
        """POST rec until a 2xx (True) or until stopped (False)."""
        n = 0
        headers = {"Content-Type": self.content_type}
        while not self._stop.is_set():
            n += 1
            url = self.urls[(n - 1) % len(self.urls)] + rec.path
            status = kind = err = ra = None
            try:
                r = s.post(url, data=rec.body, headers=headers, timeout=self.timeout)
                status = r.status_code
                ra = r.headers.get("Retry-After")
                try:
                    body = r.json()
                    kind = body.get("status") if 200 <= status < 300 else body.get("error")
                except ValueError:
                    kind = None
            except requests.RequestException as e:
                err = f"{type(e).__name__}"
                # a broken keep-alive connection: start afresh
                s.close()
            t = time.monotonic() - self._t0
            ok = status is not None and 200 <= status < 300
            with self._lock:
                self.attempts_log.append(Attempt(t, rec.event_id, n, status, kind, err, ra, dup))
                if dup:
                    rec.dup_attempts = n
                    if ok:
                        rec.dup_status, rec.dup_kind = status, kind
                else:
                    rec.attempts = n
                    rec.final_status = status if status is not None else f"error:{err}"
                    rec.statuses[status if status is not None else err] += 1
                    if err:
                        rec.last_error = err
                    if ok:
                        rec.acked, rec.ack_kind, rec.acked_at = True, kind, t
            if ok:
                return True
            self._stop.wait(self._delay(n, ra))
        return False


# ---------------------------------------------------------------------------
# what reached the streams


def count_in_streams(client, prefix="paynet"):
    """Counter of event ids over every stream `<prefix>:*` except
    `<prefix>:invalid` and `<prefix>:seen:*` (keys of another TYPE are skipped
    too: only streams are read)."""
    counts = collections.Counter()
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        k = key.decode() if isinstance(key, bytes) else key
        if k == f"{prefix}:invalid" or k.startswith(f"{prefix}:seen:"):
            continue
        t = client.type(key)
        t = t.decode() if isinstance(t, bytes) else t
        if t != "stream":
            continue
        start = "-"
        while True:
            batch = client.xrange(key, start, "+", count=1000)
            for entry_id, fields in batch:
                eid = fields.get("event_id", fields.get(b"event_id"))
                if isinstance(eid, bytes):
                    eid = eid.decode()
                counts[eid] += 1
            if len(batch) < 1000:
                break
            last = batch[-1][0]
            last = last.decode() if isinstance(last, bytes) else last
            start = "(" + last
    return counts


def assert_exactly_once(sender, counter, label, lost=()):
    """Every acknowledged event is in the streams exactly once, no event id
    appears twice, and nothing appears that the sender never sent. `lost`:
    event ids that must be absent (deliberately destroyed by the test).
    Prints (and returns) one line per scenario."""
    sent = sender.sent
    acked = sender.acked
    lost = set(lost)
    found_total = sum(counter.values())
    dups = {e: n for e, n in counter.items() if n > 1}
    extra_entries = sum(n - 1 for n in dups.values())
    line = (f"scenario {label}: sent {len(sent)}, acknowledged {len(acked)}, "
            f"found in streams {found_total}, duplicates {extra_entries}")
    if lost:
        line += f", destroyed {len(lost)}"
    print(line)
    missing = sorted(acked - set(counter) - lost)
    unknown = sorted(set(counter) - sent)
    resurrected = sorted(lost & set(counter))
    problems = []
    if missing:
        problems.append(f"{len(missing)} acknowledged events missing from the streams: "
                        f"{missing[:20]}")
    if dups:
        problems.append(f"{len(dups)} event ids stored more than once: "
                        f"{sorted(dups.items())[:20]}")
    if unknown:
        problems.append(f"{len(unknown)} events in the streams that the sender never sent: "
                        f"{unknown[:20]}")
    if resurrected:
        problems.append(f"destroyed events present anyway: {resurrected[:20]}")
    assert not problems, line + "\n" + "\n".join(problems) + f"\nsender: {sender.summary()}"
    return line
