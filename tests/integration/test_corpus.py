# SPDX-License-Identifier: MIT
"""The table-driven normalization corpus (tests/data/normalize, see its README).

(a) every case through `hookstream classify` (no Redis), compared with its
    expect.json, all mismatches of a case reported at once;
(b) a subset (one case per shape family, plus the refusals) end to end through
    a real redis-server and the real daemon;
(c) no Luhn-valid card number in any stored stream entry (or the log) after the
    whole corpus was posted to one daemon;
and deduplication under load: 50 concurrent identical posts store one entry;
a 3-token MDES batch stores 3 entries once.
"""

import hashlib
import json
import re
import threading
from collections import Counter
from decimal import Decimal

import pytest

from conftest import (ENTRY_ID_RE, REPO_ROOT, RFC3339_RE, assert_error, http_session,
                      json_body, run_hookstream, show, stream_entries)

CORPUS = REPO_ROOT / "tests" / "data" / "normalize"
PREFIX = "paynet"
CATEGORY_STREAMS = [f"{PREFIX}:{c}" for c in
                    ("payment.status", "token.status", "card.metadata", "unclassified")]
INVALID_STREAM = f"{PREFIX}:invalid"
SHA_OF_BODY = "sha256-of-body"
EVENT_KEYS = ("category", "type", "subject", "senderstatus", "status", "event_id", "rule")

# One case per shape family, the edge cases whose bytes matter in Redis, and the
# refusals: these also run end to end (b). Every name must exist in the corpus.
E2E_CASES = [
    # payment status
    "duitnow_pay_cleared", "duitnow_pay_refund_cleared", "duitnow_obw_pmt001",
    "pacs002_batch3", "fpx_ac_approved_00", "gateway_charge_succeeded",
    # token lifecycle
    "gateway_token_suspended", "mdes_token_wrapped_active", "mdes_token_bare_suspended",
    "vts_token_status_updated",
    # card metadata
    "mdes_card_metadata_productconfig", "mdes_card_metadata_tokeninfo", "vts_pan_metadata_path",
    "card_metadata_changed_explicit", "card_metadata_updated_gateway",
    # route pin, nothing recognised
    "route_payment_pinned_token_body", "unclassified_no_markers",
    # accepted edge cases
    "number_huge", "unicode_cjk_tamil_emoji", "bom_stripped", "pan_json_number",
    "pan_json_number_float_in_id", "pan_json_number_float_in_truncated_body",
    "pan_in_sha256_prefixed_id", "pan_as_grouped_status",
    "pacs002_entries_without_ids", "pacs002_txid_items_distinct", "mdes_token_null_markers",
    "pan_in_form_value",
    # refusals
    "duplicate_key_top", "too_deep_10000", "not_an_object_array", "empty_body",
    "truncated_body", "invalid_utf8_byte", "unicode_lone_high_surrogate", "json5_comment",
    "jws_compact_bare", "pan_in_truncated_body", "fpx_form_duplicate_field",
    "content_type_text_plain",
]


# ---------------------------------------------------------------------------
# the corpus


class Case:
    def __init__(self, d):
        self.name = d.name
        self.dir = d
        self.body_path = d / "body"
        self.body = self.body_path.read_bytes()
        self.request = json.loads((d / "request.json").read_text(encoding="utf-8"))
        self.expect = json.loads((d / "expect.json").read_text(encoding="utf-8"))
        self.path = self.request["path"]
        self.route = self.path.split("?", 1)[0]
        self.content_type = self.request["content_type"]

    @property
    def refused(self):
        return "status" in self.expect

    def event_id(self, ev):
        if ev["event_id"] == SHA_OF_BODY:
            return "sha256:" + hashlib.sha256(self.body).hexdigest()
        return ev["event_id"]


def _case_dirs():
    if not CORPUS.is_dir():
        return []
    return sorted(d for d in CORPUS.iterdir() if d.is_dir())


CASE_DIRS = _case_dirs()
CASES = {}
for _d in CASE_DIRS:
    try:
        CASES[_d.name] = Case(_d)
    except (OSError, ValueError, KeyError):
        pass  # reported by test_corpus_is_well_formed


def _case(name):
    if name not in CASES:
        pytest.fail(f"corpus case {name!r} is missing or malformed (see "
                    f"test_corpus_is_well_formed)")
    return CASES[name]


# ---------------------------------------------------------------------------
# card numbers: an oracle written apart from src/redact.c


# '_' too: the canonical status word turns a sender's spaces and dashes into
# it, so a card number grouped there must be found in `type` and `status`.
_DIGIT_SEQ = re.compile(r"\d(?:[ _-]?\d)*")


def _luhn(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A number spelled with a point or an exponent, standing alone (not inside a
# word, a hex string or a longer dotted number).
_NUMBER_SPELLING = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")


def _number_is_card(token):
    """'4.111111111111111E15' or '4111111111111111.0': a value that is a
    Luhn-valid integer of 13-19 digits, whatever the spelling."""
    if not re.search(r"[.eE]", token):
        return False  # a plain digit run: the sequence scan sees it
    value = abs(Decimal(token))
    if value.adjusted() > 19 or value != value.to_integral_value():
        return False
    digits = str(int(value))
    return 13 <= len(digits) <= 19 and _luhn(digits)


def find_card_numbers(text):
    """Luhn-valid runs of 13-19 digits, single spaces or dashes allowed between
    digits. A maximal digit sequence is split into its separator-delimited
    groups and every contiguous span of whole groups holding 13-19 digits is
    tried, so a card number next to more digit groups ('4111 1111 1111 1111
    12 29') is found too; a single unseparated run longer than 19 digits (an
    18446744073709551617) is a number, not a card. A number written with a
    point or an exponent is found by its value."""
    found = [m.group(0) for m in _NUMBER_SPELLING.finditer(text) if _number_is_card(m.group(0))]
    for m in _DIGIT_SEQ.finditer(text):
        groups = re.split(r"[ _-]", m.group(0))
        for i in range(len(groups)):
            n = 0
            for j in range(i, len(groups)):
                n += len(groups[j])
                if n > 19:
                    break
                if n >= 13 and _luhn("".join(groups[i:j + 1])):
                    found.append(m.group(0))
    return found


def test_card_number_oracle():
    assert find_card_numbers("x 4111111111111111 y") == ["4111111111111111"]
    assert find_card_numbers("4111 1111 1111 1111")
    assert find_card_numbers("4111-1111-1111-1111")
    assert find_card_numbers("payment.status.4111_1111_1111_1111")
    assert find_card_numbers("card 4111 1111 1111 1111 12 29")
    assert find_card_numbers("1234 4111111111111111")
    assert not find_card_numbers("411111******1111")
    assert not find_card_numbers("4111 11** **** 1111")
    assert not find_card_numbers("18446744073709551617")
    assert not find_card_numbers("4111111111111112")
    assert not find_card_numbers("4111  1111 1111 1111")  # two spaces end a sequence
    assert find_card_numbers('"id":4.111111111111111E15,') == ["4.111111111111111E15"]
    assert find_card_numbers("x -5.1051051051051e15") == ["-5.1051051051051e15"]
    assert find_card_numbers("4111111111111111.000 ")
    assert not find_card_numbers("4.111111111111112E15")  # Luhn
    assert not find_card_numbers("4.111111111111111E14")  # 15 digits, a fraction
    assert not find_card_numbers("1e400 1e-400 1.2E+2 12.50")
    assert not find_card_numbers("sha256:ab1234e9cd 1234e9cd")  # inside hex


# ---------------------------------------------------------------------------
# envelope helpers


def data_text(envelope_text):
    """The raw JSON text of an envelope's data member. data is the last member,
    spliced in as bytes; no attribute value can hold an unescaped quote, so the
    first structural ',"data":' is it."""
    key = ',"data":'
    i = envelope_text.find(key)
    assert i >= 0 and envelope_text.endswith("}"), f"no data member: {envelope_text[:300]}"
    return envelope_text[i + len(key):-1]


def _short(text, n=400):
    return text if len(text) <= n else text[:n] + f"...({len(text)} chars)"


def check_data(case, text, where):
    """data_contains / data_not_contains against the raw data text, and that it
    is JSON. Returns a list of mismatch strings."""
    out = []
    try:
        json.loads(text)
    except ValueError as e:
        out.append(f"{where}: data is not valid JSON ({e}): {_short(text)}")
    for s in case.expect.get("data_contains", []):
        if s not in text:
            out.append(f"{where}: data should contain {s!r}: {_short(text)}")
    for s in case.expect.get("data_not_contains", []):
        if s in text:
            out.append(f"{where}: data must not contain {s!r}: {_short(text)}")
    return out


def check_envelope(case, ev, want, index, count):
    """Compare one CloudEvents envelope with one expected event; list mismatches."""
    out = []
    where = f"event {index}"
    got = {"category": ev.get("category"), "type": ev.get("type"),
           "subject": ev.get("subject"), "senderstatus": ev.get("senderstatus"),
           "status": ev.get("status"), "event_id": ev.get("id"), "rule": ev.get("rule")}
    for k in EVENT_KEYS:
        exp = case.event_id(want) if k == "event_id" else want.get(k)
        if got[k] != exp:
            out.append(f"{where}: {k}: expected {exp!r}, got {got[k]!r}")
    t = ev.get("time")
    if "time" in want:
        if t != want["time"]:
            out.append(f"{where}: time: expected {want['time']!r}, got {t!r}")
    elif not (isinstance(t, str) and RFC3339_RE.match(t)):
        out.append(f"{where}: time {t!r} is not RFC 3339 (CloudEvents requires it)")
    fixed = {"specversion": "1.0", "source": case.route, "datacontenttype": "application/json",
             "sourceip": "127.0.0.1"}
    for k, v in fixed.items():
        if ev.get(k) != v:
            out.append(f"{where}: {k}: expected {v!r}, got {ev.get(k)!r}")
    if not (isinstance(ev.get("receivedat"), str) and RFC3339_RE.match(ev["receivedat"])):
        out.append(f"{where}: receivedat {ev.get('receivedat')!r} is not RFC 3339")
    if isinstance(ev.get("type"), str) and isinstance(ev.get("category"), str) and \
            not ev["type"].startswith(ev["category"] + "."):
        out.append(f"{where}: type {ev['type']!r} is not <category>.<word>")
    if count > 1:
        if (ev.get("batchindex"), ev.get("batchsize")) != (index, count):
            out.append(f"{where}: batchindex/batchsize: expected {(index, count)}, got "
                       f"{(ev.get('batchindex'), ev.get('batchsize'))}")
    return out


def split_envelopes(text):
    """The envelopes classify printed, as their raw texts. One per line, except
    that data keeps the sender's bytes, newlines of a pretty-printed body
    included: split by JSON values, not by lines."""
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text):
            return out
        try:
            _, end = dec.raw_decode(text, i)
        except ValueError:
            out.append(text[i:])  # reported as "not JSON" by the caller
            return out
        out.append(text[i:end])
        i = end


_STDERR_EVENT = re.compile(r"^# stream=(\S+) event_id=(.*) type=(\S+)$")


# ---------------------------------------------------------------------------
# the corpus itself


def test_corpus_is_well_formed():
    assert CASE_DIRS, f"no cases under {CORPUS}"
    problems = []
    for d in CASE_DIRS:
        for f in ("body", "request.json", "expect.json"):
            if not (d / f).is_file():
                problems.append(f"{d.name}: missing {f}")
        if d.name not in CASES:
            problems.append(f"{d.name}: unreadable request.json/expect.json")
            continue
        c = CASES[d.name]
        if set(c.request) - {"path", "content_type"} or not c.path.startswith("/"):
            problems.append(f"{d.name}: request.json must be {{path, content_type}}")
        e = c.expect
        if c.refused:
            if not (isinstance(e["status"], int) and isinstance(e.get("error"), str)) or \
                    set(e) - {"status", "error", "note"}:
                problems.append(f"{d.name}: a refusal is {{status, error[, note]}}")
        else:
            allowed = {"events", "data_contains", "data_not_contains", "note"}
            if set(e) - allowed or not isinstance(e.get("events"), list) or not e["events"]:
                problems.append(f"{d.name}: expect.json needs a non-empty events list "
                                f"(keys {sorted(allowed)})")
                continue
            for i, ev in enumerate(e["events"]):
                missing = [k for k in EVENT_KEYS if k not in ev]
                extra = set(ev) - set(EVENT_KEYS) - {"time"}
                if missing or extra:
                    problems.append(f"{d.name}: event {i}: missing {missing}, unknown "
                                    f"{sorted(extra)}")
    missing_e2e = [n for n in E2E_CASES if n not in CASES]
    if missing_e2e:
        problems.append(f"E2E_CASES name cases that do not exist: {missing_e2e}")
    assert not problems, "\n".join(problems)


def _classify(case):
    args = ["classify", str(case.body_path), "--path", case.path,
            "--content-type", case.content_type]
    return run_hookstream(args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_classify(name):
    case = _case(name)
    cp = _classify(case)
    ctx = (f"\ncase {name}: {case.request}\nexit {cp.returncode}\nstdout: "
           f"{_short(cp.stdout, 3000)}\nstderr: {_short(cp.stderr, 1500)}")
    pans = find_card_numbers(cp.stdout + cp.stderr)
    assert not pans, f"unmasked card number(s) {pans} in classify output{ctx}"
    if case.refused:
        want = {"status": case.expect["status"], "error": case.expect["error"]}
        lines = cp.stdout.splitlines()
        got = json.loads(lines[0]) if len(lines) == 1 else None
        assert (cp.returncode, got) == (1, want), f"expected refusal {want}{ctx}"
        return
    assert cp.returncode == 0, f"expected events {case.expect['events']}{ctx}"
    lines = split_envelopes(cp.stdout)
    want = case.expect["events"]
    assert len(lines) == len(want), f"expected {len(want)} event(s), got {len(lines)}{ctx}"
    heads = [m.groups() for m in map(_STDERR_EVENT.match, cp.stderr.splitlines()) if m]
    problems = []
    if len(heads) != len(want):
        problems.append(f"stderr names {len(heads)} event(s), expected {len(want)}")
    for i, (line, w) in enumerate(zip(lines, want)):
        try:
            ev = json.loads(line)
        except ValueError as e:
            problems.append(f"event {i}: stdout line is not JSON: {e}")
            continue
        problems += check_envelope(case, ev, w, i, len(want))
        problems += check_data(case, data_text(line), f"event {i}")
        if i < len(heads):
            stream, eid, etype = heads[i]
            exp = (f"{PREFIX}:{w['category']}", case.event_id(w), w["type"])
            if (stream, eid, etype) != exp:
                problems.append(f"event {i}: stderr says stream/event_id/type "
                                f"{(stream, eid, etype)}, expected {exp}")
    assert not problems, "\n".join(problems) + ctx


# ---------------------------------------------------------------------------
# end to end: the daemon and a real Redis


def all_streams(client):
    return sorted(k for k in client.keys("*") if client.type(k) == "stream")


def scan_for_card_numbers(client):
    """Every field of every entry of every stream, and every key name."""
    hits = []
    for key in client.keys("*"):
        hits += [(key, "<key name>", p) for p in find_card_numbers(key)]
        if client.type(key) != "stream":
            continue
        for entry_id, fields in stream_entries(client, key):
            for k, v in fields.items():
                for p in find_card_numbers(k) + find_card_numbers(v):
                    hits.append((key, f"{entry_id} {k}", p))
    return hits


def post_case(hs, case, session=None):
    # A fixed X-Request-Id: the relay's generated ids ("%08x%012llx", a random
    # prefix then a zero-padded counter) can hold a Luhn-valid 13-digit run when
    # the prefix ends in a decimal digit, which would make the card-number scan
    # of paynet:invalid (request_id) and the log fail at random.
    return hs.post(case.path, case.body, content_type=case.content_type, session=session,
                   headers={"X-Request-Id": f"corpus-{case.name}"})


def check_stored(case, redis, resp):
    """A 2xx: the response and the stream entries match expect.json."""
    client = redis.client
    want = case.expect["events"]
    assert resp.status_code == 202, f"expected 202: {show(resp)}"
    body = json_body(resp)
    first = want[0]
    exp_head = {"status": "accepted", "event_id": case.event_id(first),
                "stream": f"{PREFIX}:{first['category']}"}
    got_head = {k: body.get(k) for k in exp_head}
    assert got_head == exp_head, f"response head: expected {exp_head}: {show(resp)}"
    assert ENTRY_ID_RE.match(body.get("entry_id") or ""), show(resp)
    if len(want) > 1:
        listed = body.get("events")
        assert isinstance(listed, list) and len(listed) == len(want), \
            f"a batch answer lists every event: {show(resp)}"
        exp = [{"status": "accepted", "event_id": case.event_id(w),
                "stream": f"{PREFIX}:{w['category']}"} for w in want]
        got = [{k: e.get(k) for k in ("status", "event_id", "stream")} for e in listed]
        assert got == exp, f"batch answer: expected {exp}: {show(resp)}"
        entry_ids = [e.get("entry_id") for e in listed]
    else:
        entry_ids = [body["entry_id"]]
    streams = sorted({f"{PREFIX}:{w['category']}" for w in want})
    assert all_streams(client) == streams, \
        f"streams in Redis {all_streams(client)}, expected {streams}; {show(resp)}"
    problems = []
    stored = {s: stream_entries(client, s) for s in streams}
    seen = {s: 0 for s in streams}
    for i, w in enumerate(want):
        s = f"{PREFIX}:{w['category']}"
        if seen[s] >= len(stored[s]):
            problems.append(f"event {i}: no entry left in {s}")
            continue
        entry_id, fields = stored[s][seen[s]]
        seen[s] += 1
        exp = {"event_id": case.event_id(w), "category": w["category"], "type": w["type"]}
        got = {k: fields.get(k) for k in exp}
        if got != exp:
            problems.append(f"event {i}: entry {entry_id} fields {got}, expected {exp}")
        if entry_id != entry_ids[i]:
            problems.append(f"event {i}: stored as {entry_id}, answered {entry_ids[i]}")
        try:
            ev = json.loads(fields.get("event", ""))
        except ValueError:
            problems.append(f"event {i}: the event field is not JSON")
            continue
        problems += check_envelope(case, ev, w, i, len(want))
        problems += check_data(case, data_text(fields["event"]), f"event {i} (stored)")
    extra = {s: len(stored[s]) - seen[s] for s in streams if len(stored[s]) > seen[s]}
    if extra:
        problems.append(f"unexpected extra entries: {extra}")
    assert not problems, "\n".join(problems) + f"\nresponse: {show(resp)}"


def check_refused(case, redis, resp):
    """A 4xx: the error, nothing in any category stream, the body kept (masked)
    in paynet:invalid with the reason."""
    client = redis.client
    assert_error(resp, case.expect["status"], case.expect["error"])
    landed = {s: client.xlen(s) for s in CATEGORY_STREAMS if client.exists(s)}
    assert not landed, f"a refused body landed in {landed}: {show(resp)}"
    entries = stream_entries(client, INVALID_STREAM)
    assert len(entries) == 1, \
        f"want exactly one entry in {INVALID_STREAM}, got {entries!r}; {show(resp)}"
    fields = entries[0][1]
    exp = {"reason": case.expect["error"], "status": str(case.expect["status"]),
           "route": case.route, "body_bytes": str(len(case.body)),
           "source_ip": "127.0.0.1"}
    got = {k: fields.get(k) for k in exp}
    assert got == exp, f"{INVALID_STREAM} entry {fields!r}: expected {exp}"


@pytest.mark.parametrize("name", E2E_CASES)
def test_end_to_end(relay, redis, name):
    case = _case(name)
    hs = relay()
    r = post_case(hs, case)
    if case.refused:
        check_refused(case, redis, r)
    else:
        check_stored(case, redis, r)
    hits = scan_for_card_numbers(redis.client)
    assert not hits, f"unmasked card numbers stored: {hits}"


def test_no_card_number_stored(relay, redis):
    """(c) The whole corpus through one daemon, then every stored entry of every
    stream (and every key name, and the log) is scanned for a card number."""
    hs = relay()
    s = http_session()
    answers = {}
    try:
        for name in sorted(CASES):
            r = post_case(hs, CASES[name], session=s)
            answers[name] = r.status_code
    finally:
        s.close()
    # Each case answered as its expect.json says: its refusal, or stored (200
    # when an earlier case already stored the same event).
    wrong = {n: c for n, c in answers.items()
             if c != (CASES[n].expect["status"] if CASES[n].refused else 202)
             and not (not CASES[n].refused and c == 200)}
    assert not wrong, f"answers differ from expect.json: {wrong}"
    streams = all_streams(redis.client)
    assert INVALID_STREAM in streams and f"{PREFIX}:payment.status" in streams, streams
    total = sum(redis.client.xlen(k) for k in streams)
    assert total >= len(CASES) // 2, f"only {total} entries stored for {len(CASES)} posts"
    hits = scan_for_card_numbers(redis.client)
    assert not hits, "unmasked card numbers stored in Redis:\n" + \
        "\n".join(f"  {k} [{where}]: {p!r}" for k, where, p in hits)
    log_hits = find_card_numbers(hs.stderr_text())
    assert not log_hits, f"unmasked card numbers in the log: {log_hits}"


# ---------------------------------------------------------------------------
# deduplication under concurrency, batches


def test_concurrent_identical_posts_store_one_entry(relay, redis):
    case = _case("duitnow_pay_cleared")
    hs = relay()
    n = 50
    barrier = threading.Barrier(n)
    results = [(None, "no answer")] * n

    def fire(i):
        s = http_session()  # its own connection
        try:
            barrier.wait(10)
            r = post_case(hs, case, session=s)
            results[i] = (r.status_code, r.text)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = (None, repr(e))
        finally:
            s.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = dict(Counter(c for c, _ in results))
    accepted = [json.loads(t) for c, t in results if c == 202]
    dups = [json.loads(t) for c, t in results if c == 200]
    others = [r for r in results if r[0] not in (200, 202)]
    assert len(accepted) == 1 and len(dups) == n - 1, \
        f"want one 202 and {n - 1} 200, got {codes}; others e.g. {others[:3]}"
    first = accepted[0]
    eid = case.event_id(case.expect["events"][0])
    assert first["event_id"] == eid, first
    want = {"status": "duplicate", "event_id": eid, "stream": first["stream"],
            "entry_id": first["entry_id"]}
    wrong = [d for d in dups if d != want]
    assert not wrong, f"{len(wrong)} duplicate answers differ from {want}, e.g. {wrong[:3]}"
    entries = stream_entries(redis.client, first["stream"])
    assert [e[0] for e in entries] == [first["entry_id"]], f"entries: {entries!r}"
    assert all_streams(redis.client) == [first["stream"]], all_streams(redis.client)


def test_mdes_batch_stored_once(relay, redis):
    case = _case("mdes_token_batch3")
    want = case.expect["events"]
    assert len(want) == 3
    hs = relay()
    r1 = post_case(hs, case)
    assert r1.status_code == 202, show(r1)
    b1 = json_body(r1)
    events = b1.get("events")
    assert isinstance(events, list) and len(events) == 3, f"batch answer: {show(r1)}"
    assert [e.get("event_id") for e in events] == [case.event_id(w) for w in want], show(r1)
    assert all(e.get("status") == "accepted" for e in events), show(r1)
    stream = f"{PREFIX}:token.status"
    entries = stream_entries(redis.client, stream)
    assert [e[0] for e in entries] == [e["entry_id"] for e in events], entries
    assert [e[1]["event_id"] for e in entries] == [case.event_id(w) for w in want], entries

    r2 = post_case(hs, case)
    assert r2.status_code == 200, f"the same batch again: {show(r2)}"
    b2 = json_body(r2)
    assert b2.get("status") == "duplicate", show(r2)
    assert b2.get("entry_id") == b1.get("entry_id"), show(r2)
    again = b2.get("events") or []
    assert [(e.get("status"), e.get("event_id"), e.get("entry_id")) for e in again] == \
        [("duplicate", e["event_id"], e["entry_id"]) for e in events], show(r2)
    assert redis.client.xlen(stream) == 3, stream_entries(redis.client, stream)
    assert all_streams(redis.client) == [stream], all_streams(redis.client)


def _luhn_complete(prefix, suffix, width=16):
    """A Luhn-valid number of width digits: prefix, a counter, suffix."""
    mid = width - len(prefix) - len(suffix)
    for n in range(10 ** mid):
        s = f"{prefix}{n:0{mid}d}{suffix}"
        if _luhn(s):
            yield s


def test_masked_ids_do_not_merge_events(relay, redis):
    """Two FPX payments whose 16-digit transaction ids happen to pass Luhn (one
    in ten do) and share date prefix and last four digits mask alike. They are
    two payments: both must be stored, not the second answered 'duplicate'."""
    base = (_case("fpx_ac_approved_00").body.decode().rstrip("\n"))
    gen = _luhn_complete("261126", "0042")
    ids = [next(gen), next(gen)]
    hs = relay()
    answers = []
    for txn in ids:
        body = re.sub(r"fpx_fpxTxnId=\d+", f"fpx_fpxTxnId={txn}", base)
        r = hs.post("/webhook", body, content_type="application/x-www-form-urlencoded")
        answers.append(r)
    assert [r.status_code for r in answers] == [202, 202], \
        "two different payments, ids " + " / ".join(
            f"{t[:6]}..{t[-4:]}" for t in ids) + ": " + "; ".join(show(r) for r in answers)
    assert redis.client.xlen(f"{PREFIX}:payment.status") == 2
    assert not scan_for_card_numbers(redis.client)
