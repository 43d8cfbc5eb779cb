# SPDX-License-Identifier: MIT
"""
Integration fixtures: a real redis-server and the real hookstream binary, each on
free loopback ports, started per test and stopped by PID. Readiness is polled,
never slept for. Every hookstream process is checked for a clean exit and for
sanitizer reports (CI runs this suite a second time against an ASan/UBSan build
named by HOOKSTREAM_BIN).

Helpers used by the test modules live here too (tests import them with
`from conftest import ...`): raw-socket HTTP, response assertions, metrics
parsing and stream-entry checks.
"""

import atexit
import datetime as _dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis as redis_lib
import requests
from requests.adapters import HTTPAdapter

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_BIN = REPO_ROOT / "build" / "hookstream"
BIN = Path(os.environ.get("HOOKSTREAM_BIN") or DEFAULT_BIN).resolve()
CONF_FILE = REPO_ROOT / "conf" / "hookstream.conf"
REDIS_SERVER = "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") \
    else (shutil.which("redis-server") or "redis-server")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "WARNING: ThreadSanitizer")
READY_DEADLINE = 10.0
STOP_DEADLINE = 15.0
MAX_HUNG = 3  # after this many hung daemons, stop starting new ones (keeps CI bounded)
_HUNG = []


def pytest_configure(config):
    # requests/urllib3 tracebacks are hundreds of lines; the assertion messages
    # carry the request and the response.
    if getattr(config.option, "tbstyle", "auto") == "auto":
        config.option.tbstyle = "short"


# ---------------------------------------------------------------------------
# small utilities


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Poll pred() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def http_session(source=None):
    """A requests session that ignores proxy env vars; optional source address."""
    s = requests.Session()
    s.trust_env = False
    if source is not None:
        adapter = SourceAddressAdapter(source)
        s.mount("http://", adapter)
    return s


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source, **kw):
        self._source = source
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self._source, 0)
        return super().init_poolmanager(*args, **kw)


def sanitizer_findings(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def tail(text, n=40):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def hookstream_env(overrides=None, defaults=None):
    """os.environ without any inherited HOOKSTREAM_* variable, plus defaults and
    overrides. An override of None removes the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSTREAM_")}
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    for src in (defaults or {}), (overrides or {}):
        for k, v in src.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
    return env


_SNAPSHOT = []


def require_binary():
    """Path of the binary to run: a copy of BIN taken once per session, so a
    rebuild during the run (the linker rewriting BIN) cannot break or mix up
    the tests. The copy is checked with --version before use."""
    if _SNAPSHOT:
        return _SNAPSHOT[0]
    if not BIN.exists():
        pytest.fail(f"hookstream binary not found at {BIN} (build it or set HOOKSTREAM_BIN)")
    d = Path(tempfile.mkdtemp(prefix="hookstream-bin-"))
    atexit.register(shutil.rmtree, d, True)
    dst = d / "hookstream"
    deadline = time.monotonic() + 30
    while True:
        try:
            shutil.copy2(BIN, dst)
            os.chmod(dst, 0o755)
            cp = subprocess.run([str(dst), "--version"], env=hookstream_env(),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                errors="replace", timeout=10)
            if cp.returncode == 0:
                break
            why = f"--version exited {cp.returncode}: {cp.stderr[-500:]}"
        except (OSError, subprocess.TimeoutExpired) as e:
            why = repr(e)
        if time.monotonic() > deadline:
            pytest.fail(f"cannot take a working copy of {BIN}: {why}")
        time.sleep(0.5)  # the binary is being rewritten; try again
    _SNAPSHOT.append(dst)
    return dst


def pytest_report_header(config):
    try:
        st = BIN.stat()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))
        return f"hookstream binary: {BIN} ({st.st_size} bytes, built {when})"
    except OSError:
        return f"hookstream binary: {BIN} (missing)"


def run_hookstream(args, env=None, timeout=10.0):
    """Run the binary to completion (e.g. --check-config, --version) and return
    a CompletedProcess with text stdout/stderr. Fails the test on a sanitizer
    report. Defaults: allowlist 127.0.0.1, free loopback ports, a Redis URL on a
    port where nothing listens (none of these runs may need Redis)."""
    binary = require_binary()
    p1, p2, p3 = free_ports(3)
    defaults = {
        "HOOKSTREAM_LISTEN": f"127.0.0.1:{p1}",
        "HOOKSTREAM_ADMIN_LISTEN": f"127.0.0.1:{p2}",
        "HOOKSTREAM_REDIS_URL": f"redis://127.0.0.1:{p3}",
        "HOOKSTREAM_ALLOW": "127.0.0.1",
        "HOOKSTREAM_LOG_FORMAT": "json",
        "HOOKSTREAM_LOG_LEVEL": "debug",
    }
    try:
        cp = subprocess.run([str(binary), *args], env=hookstream_env(env, defaults),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"hookstream {' '.join(args)} did not exit within {timeout}s; "
                    f"stderr: {e.stderr!r}")
    found = sanitizer_findings(cp.stderr)
    assert not found, f"sanitizer report {found} from hookstream {args}:\n{tail(cp.stderr, 80)}"
    return cp


# ---------------------------------------------------------------------------
# HTTP response helpers


def show(resp):
    """'HTTP 403 {...}' for assertion messages (requests or RawResponse)."""
    if resp is None:
        return "<no response>"
    body = resp.text if hasattr(resp, "text") else repr(resp)
    if len(body) > 600:
        body = body[:600] + "...(truncated)"
    hdrs = {k: v for k, v in resp.headers.items()}
    return f"HTTP {resp.status_code} headers={hdrs} body={body!r}"


def json_body(resp):
    try:
        return json.loads(resp.text)
    except ValueError:
        raise AssertionError(f"response body is not JSON: {show(resp)}") from None


def assert_error(resp, status, code):
    """Status, JSON content type and {"error": code, "message": "<text>"}."""
    assert resp.status_code == status, f"expected {status} {code}, got {show(resp)}"
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", \
        f"error response must be application/json: {show(resp)}"
    body = json_body(resp)
    assert isinstance(body, dict), f"error body must be an object: {show(resp)}"
    assert body.get("error") == code, f"expected error {code!r}: {show(resp)}"
    assert isinstance(body.get("message"), str) and body["message"].strip(), \
        f"error body needs a non-empty message: {show(resp)}"
    return body


ENTRY_ID_RE = re.compile(r"^\d+-\d+$")


def assert_accepted(resp, category, prefix="paynet"):
    """202 {"status":"accepted","event_id":..,"stream":"paynet:<cat>","entry_id":..}."""
    assert resp.status_code == 202, f"expected 202 accepted, got {show(resp)}"
    body = json_body(resp)
    assert body.get("status") == "accepted", f"expected status accepted: {show(resp)}"
    assert body.get("stream") == f"{prefix}:{category}", \
        f"expected stream {prefix}:{category}: {show(resp)}"
    assert isinstance(body.get("event_id"), str) and body["event_id"], \
        f"event_id missing: {show(resp)}"
    assert isinstance(body.get("entry_id"), str) and ENTRY_ID_RE.match(body["entry_id"]), \
        f"entry_id must look like <ms>-<seq>: {show(resp)}"
    return body


# ---------------------------------------------------------------------------
# raw-socket HTTP (for what requests cannot send: no Content-Length, lying
# Content-Length, chunked by hand, a specific source address, keep-alive proof)


class RawResponse:
    def __init__(self, status_code, reason, headers, body, elapsed):
        self.status_code = status_code
        self.reason = reason
        self.headers = headers  # case-insensitive via requests' structure
        self.content = body
        self.text = body.decode("utf-8", "replace")
        self.elapsed = elapsed

    def json(self):
        return json.loads(self.text)


class RawConn:
    """One client TCP connection; send bytes, read one HTTP response at a time."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False
        self.t0 = time.monotonic()

    def send(self, data):
        self.t0 = time.monotonic()
        self.sock.sendall(data)

    def _fill(self):
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def wait_closed(self, timeout):
        """True when the server closes the connection within timeout (any bytes
        it sent first are kept in self.buf)."""
        old = self.sock.gettimeout()
        deadline = time.monotonic() + timeout
        try:
            while not self.eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                try:
                    self._fill()
                except socket.timeout:
                    return False
            return True
        finally:
            self.sock.settimeout(old)

    def read_response(self):
        """Read one response. Raises AssertionError (with what arrived) when the
        connection closes or times out before a complete response."""
        try:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill():
                    raise AssertionError(
                        f"connection closed before a response head; got {self.buf!r}")
            head, rest = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers = requests.structures.CaseInsensitiveDict()
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip()] = v.strip()
            if 100 <= status < 200 or status in (204, 304):
                body, self.buf = b"", rest
            elif "Content-Length" in headers:
                n = int(headers["Content-Length"])
                while len(rest) < n:
                    if not self._fill():
                        break
                    rest = self.buf.split(b"\r\n\r\n", 1)[1]
                body, self.buf = rest[:n], rest[n:]
            elif headers.get("Transfer-Encoding", "").lower() == "chunked":
                body, self.buf = self._read_chunked(rest)
            else:
                while self._fill():
                    pass
                body, self.buf = self.buf.split(b"\r\n\r\n", 1)[1], b""
        except socket.timeout:
            raise AssertionError(
                f"no complete response within {self.sock.gettimeout()}s; got {self.buf!r}") \
                from None
        return RawResponse(status, reason, headers, body, time.monotonic() - self.t0)

    def _read_chunked(self, rest):
        self.buf = rest
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                if not self._fill():
                    raise AssertionError(f"truncated chunked response {self.buf!r}")
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                if not self._fill():
                    raise AssertionError(f"truncated chunked response {self.buf!r}")
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]
            if size == 0:
                return body, self.buf

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_request(port, data, source=None, timeout=5.0):
    with RawConn(port, source=source, timeout=timeout) as c:
        c.send(data)
        return c.read_response()


def http_request_bytes(method, path, body=b"", headers=None, content_length=True):
    """Build a raw HTTP/1.1 request. headers: list of (name, value)."""
    if isinstance(body, str):
        body = body.encode()
    hdrs = [("Host", "127.0.0.1")]
    hdrs += list(headers or [])
    if content_length is True:
        hdrs.append(("Content-Length", str(len(body))))
    elif content_length is not None and content_length is not False:
        hdrs.append(("Content-Length", str(content_length)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs) + "\r\n"
    return head.encode("latin-1") + body


# ---------------------------------------------------------------------------
# metrics


_METRIC_RE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text → {(name, frozenset(labels.items())): float}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _METRIC_RE.match(line)
        assert m, f"unparseable metrics line: {line!r}"
        name, labels, value = m.groups()
        lbl = frozenset(_LABEL_RE.findall(labels or ""))
        out[(name, lbl)] = float(value)
    return out


def metric(metrics, name, **labels):
    """Value of one series (0 when the series is not exposed yet)."""
    return metrics.get((name, frozenset(labels.items())), 0.0)


# ---------------------------------------------------------------------------
# stream entries

RECEIVED_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_received_at(text):
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=_dt.timezone.utc)


def stream_entries(client, stream):
    return client.xrange(stream, "-", "+")


def stream_keys(client, prefix="paynet"):
    return sorted(k for k in client.keys(f"{prefix}:*") if client.type(k) == "stream")


def assert_entry(fields, *, category, data, route, source_ip="127.0.0.1", event_id=None):
    """Check the flat fields of one stream entry and its CloudEvents envelope.
    Returns the parsed envelope."""
    ctx = f"entry fields={fields!r}"
    for f in ("event_id", "category", "type", "source_ip", "received_at", "event"):
        assert f in fields, f"stream entry lacks field {f!r}: {ctx}"
    assert fields["category"] == category, ctx
    assert fields["source_ip"] == source_ip, ctx
    if event_id is not None:
        assert fields["event_id"] == event_id, ctx
    assert fields["type"].startswith(category + "."), ctx
    ra = fields["received_at"]
    assert RECEIVED_AT_RE.match(ra), f"received_at not RFC 3339 UTC with ms: {ctx}"
    age = abs((_dt.datetime.now(_dt.timezone.utc) - parse_received_at(ra)).total_seconds())
    assert age < 60, f"received_at {ra} is {age:.0f}s away from now: {ctx}"
    try:
        ev = json.loads(fields["event"])
    except ValueError:
        raise AssertionError(f"event field is not JSON: {ctx}") from None
    ctx = f"envelope={ev!r}"
    assert ev.get("specversion") == "1.0", ctx
    assert ev.get("id") == fields["event_id"], ctx
    assert ev.get("source") == route, ctx
    assert ev.get("type") == fields["type"], ctx
    assert isinstance(ev.get("time"), str) and RFC3339_RE.match(ev["time"]), ctx
    assert ev.get("datacontenttype") == "application/json", ctx
    assert ev.get("data") == data, ctx
    assert ev.get("category") == category, ctx
    assert ev.get("sourceip") == source_ip, ctx
    assert ev.get("receivedat") == ra, ctx
    assert isinstance(ev.get("rule"), str) and ev["rule"], ctx
    return ev


# ---------------------------------------------------------------------------
# redis-server


class RedisServer:
    """A redis-server on a fixed loopback port that can be stopped and started
    again on the same port (outage tests)."""

    def __init__(self, workdir, port):
        self.workdir = workdir
        self.port = port
        self.url = f"redis://127.0.0.1:{port}"
        self.proc = None
        self.client = None
        self.starts = 0

    def start(self):
        assert self.proc is None, "redis already running"
        self.starts += 1
        log = open(self.workdir / f"redis-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", str(self.workdir), "--enable-debug-command", "local"],
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.client = redis_lib.Redis(host="127.0.0.1", port=self.port,
                                      decode_responses=True, socket_timeout=5)

        def ping():
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode}: "
                                     f"{(self.workdir / f'redis-{self.starts}.log').read_text()}")
            try:
                return self.client.ping()
            except redis_lib.exceptions.ConnectionError:
                return False
        wait_until(ping, READY_DEADLINE, what=f"redis PING on port {self.port}")

    def stop(self, kill=False):
        """SIGTERM (or SIGKILL, a crash) and wait."""
        if self.proc is None:
            return
        if self.client is not None:
            self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def new_client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 5)
        return redis_lib.Redis(host="127.0.0.1", port=self.port, **kw)


@pytest.fixture
def redis(tmp_path):
    d = tmp_path / "redis"
    d.mkdir()
    server = RedisServer(d, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# hookstream


class Relay:
    def __init__(self, proc, port, admin_port, stdout_path, stderr_path, argv, env):
        self.proc = proc
        self.port = port
        self.admin_port = admin_port
        self.url = f"http://127.0.0.1:{port}"
        self.admin_url = f"http://127.0.0.1:{admin_port}"
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self.argv = argv
        self.env = env
        self.returncode = None
        self.checked = False
        self._http = http_session()

    # -- process

    def alive(self):
        return self.proc.poll() is None

    def stderr_text(self):
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=STOP_DEADLINE):
        """Send sig (if still running) and wait; returns the exit status."""
        self._http.close()  # our idle keep-alive connections (see test_lifecycle)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                _HUNG.append(self.argv)
                raise AssertionError(
                    f"hookstream did not exit within {timeout}s of signal {sig!r}; killed.\n"
                    f"stderr tail:\n{tail(self.stderr_text())}") from None
        self.returncode = self.proc.returncode
        return self.returncode

    def log_lines(self):
        """Parsed JSON log lines from stderr (non-JSON lines are skipped; see
        log_lines_strict)."""
        out = []
        for line in self.stderr_text().splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def log_lines_strict(self):
        out = []
        for n, line in enumerate(self.stderr_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise AssertionError(f"stderr line {n} is not JSON: {line!r}") from None
            assert isinstance(obj, dict), f"stderr line {n} is not a JSON object: {line!r}"
            out.append(obj)
        return out

    def wait_log(self, pred, timeout=5.0, what="log line"):
        return wait_until(lambda: [l for l in self.log_lines() if pred(l)], timeout, what=what)

    # -- HTTP

    def post(self, path="/webhook", body=None, content_type="application/json",
             headers=None, session=None, timeout=10):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body if body is not None else b""
        h = {}
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        try:
            return (session or self._http).post(self.url + path, data=data, headers=h,
                                                timeout=timeout)
        except requests.RequestException as e:
            raise AssertionError(
                f"POST {path} ({len(data)} bytes, headers {h}) got no HTTP answer: {e!r}; "
                f"hookstream {'running' if self.alive() else 'exited with ' + str(self.proc.returncode)}"
                f"\nstderr tail:\n{tail(self.stderr_text(), 15)}") from None

    def get(self, path, timeout=10):
        return self._http.get(self.url + path, timeout=timeout)

    def admin(self, path, timeout=5):
        return self._http.get(self.admin_url + path, timeout=timeout)

    def metrics(self):
        r = self.admin("/metrics")
        assert r.status_code == 200, f"/metrics: {show(r)}"
        return parse_metrics(r.text)


class _Exited(Exception):
    pass


def _wait_admin(relay, path, want=200, deadline=READY_DEADLINE):
    s = http_session()
    last = [None]

    def probe():
        if relay.proc.poll() is not None:
            raise _Exited(
                f"hookstream exited with status {relay.proc.returncode} during startup.\n"
                f"argv={relay.argv}\nstderr tail:\n{tail(relay.stderr_text())}")
        try:
            r = s.get(relay.admin_url + path, timeout=0.5)
        except requests.RequestException as e:
            last[0] = repr(e)
            return False
        last[0] = show(r)
        return r.status_code == want
    try:
        wait_until(probe, deadline, what=f"GET {path} == {want}")
    except _Exited as e:
        raise AssertionError(str(e)) from None
    except AssertionError as e:
        raise AssertionError(f"{e}; last answer: {last[0]}\nstderr tail:\n"
                             f"{tail(relay.stderr_text())}") from None
    finally:
        s.close()


def _finish_relay(r):
    """SIGTERM (if still running), require exit 0 and no sanitizer report."""
    problems = []
    try:
        rc = r.stop()
    except AssertionError as e:
        problems.append(str(e))
        rc = None
    if not r.checked and rc is not None and rc != 0:
        problems.append(f"hookstream exited with status {rc} after SIGTERM "
                        f"(want 0).\nstderr tail:\n{tail(r.stderr_text())}")
    text = r.stderr_text() + r.stdout_path.read_text(errors="replace")
    found = sanitizer_findings(text)
    if found:
        problems.append(f"sanitizer report {found} in hookstream output:\n{tail(text, 80)}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def relay(request, tmp_path):
    """Factory: relay(env={...}, config=path, args=[...], wait_ready=True).

    Starts hookstream on free loopback ports against the test's `redis` fixture
    (unless env sets HOOKSTREAM_REDIS_URL), waits for /healthz (and /readyz when
    wait_ready), and at teardown sends SIGTERM, requires exit status 0 and no
    sanitizer report."""
    started = []

    def factory(env=None, config=None, args=(), wait_ready=True):
        binary = require_binary()
        if len(_HUNG) >= MAX_HUNG:
            pytest.fail(f"{len(_HUNG)} hookstream processes already ignored SIGTERM for "
                        f"{STOP_DEADLINE:.0f}s; failing fast instead of starting another")
        env = dict(env or {})
        port, admin_port = free_ports(2)
        defaults = {
            "HOOKSTREAM_LISTEN": f"127.0.0.1:{port}",
            "HOOKSTREAM_ADMIN_LISTEN": f"127.0.0.1:{admin_port}",
            "HOOKSTREAM_ALLOW": "127.0.0.1",
            "HOOKSTREAM_LOG_FORMAT": "json",
            "HOOKSTREAM_LOG_LEVEL": "debug",
        }
        if "HOOKSTREAM_REDIS_URL" not in env:
            defaults["HOOKSTREAM_REDIS_URL"] = request.getfixturevalue("redis").url
        full_env = hookstream_env(env, defaults)
        # the ports actually used (a test may override the listeners)
        port = int(full_env["HOOKSTREAM_LISTEN"].rsplit(":", 1)[1])
        admin_port = int(full_env["HOOKSTREAM_ADMIN_LISTEN"].rsplit(":", 1)[1])
        argv = [str(binary)]
        if config is not None:
            argv += ["-c", str(config)]
        argv += list(args)
        n = len(started) + 1
        out_path = tmp_path / f"hookstream-{n}.stdout"
        err_path = tmp_path / f"hookstream-{n}.stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, cwd=tmp_path)
        r = Relay(proc, port, admin_port, out_path, err_path, argv, full_env)
        started.append(r)
        # Registered on the test item after the redis fixture was set up, so it
        # runs before Redis is stopped.
        request.node.addfinalizer(lambda: _finish_relay(r))
        try:
            _wait_admin(r, "/healthz")
            if wait_ready:
                _wait_admin(r, "/readyz")
        except AssertionError:
            if r.alive():
                r.proc.kill()
                r.proc.wait(5)
            r.checked = True  # already reported; teardown only checks sanitizers
            raise
        return r

    yield factory


# ---------------------------------------------------------------------------
# a slow Redis


def sleep_redis(redis, seconds):
    """Put Redis inside DEBUG SLEEP from a thread; return once it is asleep."""
    sleeper = redis.new_client(socket_timeout=seconds + 5)

    def run():
        try:
            sleeper.execute_command("DEBUG", "SLEEP", str(seconds))
        except Exception:  # noqa: BLE001 - Redis may be killed meanwhile
            pass
        finally:
            sleeper.close()
    t = threading.Thread(target=run)
    t.start()
    probe = redis.new_client(socket_timeout=0.05)

    def asleep():
        try:
            probe.ping()
            return False
        except Exception:  # noqa: BLE001 - a timeout means Redis is asleep
            return True
        finally:
            probe.connection_pool.disconnect()
    wait_until(asleep, 2, what="Redis to be inside DEBUG SLEEP")
    return t
