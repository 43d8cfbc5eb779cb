# SPDX-License-Identifier: MIT
"""HTTPS on the webhook listener (tls_cert + tls_key) and mutual TLS
(tls_client_ca): protocol versions and ciphers, keep-alive and closing answers
over TLS, client identities in the envelope, per-route pinning of client
certificate names, SIGHUP re-reading the files, startup errors, and the source
allowlist over TLS. The certificates are made once per session with the
openssl command line (tlsutil.Pki)."""

import json
import signal
import socket
import ssl
import time
from types import SimpleNamespace

import pytest

import payloads as P
from conftest import (CONF_FILE, RawConn, assert_accepted, assert_entry, assert_error,
                      http_request_bytes, http_session, metric, run_hookstream, show,
                      stream_entries, wait_until)
from tlsutil import (Pki, TlsConn, bundle, client_context, client_hello, client_offers,
                     tls_connect)

V = ssl.TLSVersion
JSON = [("Content-Type", "application/json")]
OTHER = "127.0.0.2"  # outside the default allowlist 127.0.0.1
STATUS = "paynet:payment.status"

# partner-a's subject in RFC 2253 form: most specific RDN first, the comma
# inside the organisation escaped.
PARTNER_A_SUBJECT = "CN=partner-a,O=Partner A\\, Sdn. Bhd.,C=MY"
PARTNER_B_SUBJECT = "CN=partner-b,O=Partner B"


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    ca = p.ca("ca", "/O=Hookstream Tests/CN=Hookstream Test Root CA")
    other_ca = p.ca("other-ca", "/O=Somebody Else/CN=Other Root CA")
    inter = p.ca("inter", "/O=Hookstream Tests/CN=Hookstream Test Intermediate CA", issuer=ca)
    server_san = ["IP:127.0.0.1", "DNS:localhost"]
    ns = SimpleNamespace(
        ca=ca, other_ca=other_ca, inter=inter,
        server1=p.leaf("server1", "/O=Hookstream Tests/CN=hookstream-test-server-1", ca,
                       san=server_san),
        server2=p.leaf("server2", "/O=Hookstream Tests/CN=hookstream-test-server-2", ca,
                       san=server_san),
        server_chained=p.leaf("server-chained",
                              "/O=Hookstream Tests/CN=hookstream-test-server-chained", inter,
                              san=server_san),
        partner_a=p.leaf("partner-a", "/C=MY/O=Partner A, Sdn. Bhd./CN=partner-a", ca,
                         san=["DNS:hooks.partner-a.example"], usage="clientAuth"),
        partner_b=p.leaf("partner-b", "/O=Partner B/CN=partner-b", ca,
                         san=["DNS:hooks.partner-b.example"], usage="clientAuth"),
        # partner-a's exact names, from a CA hookstream does not trust
        partner_a_foreign=p.leaf("partner-a-foreign", "/C=MY/O=Partner A, Sdn. Bhd./CN=partner-a",
                                 other_ca, san=["DNS:hooks.partner-a.example"],
                                 usage="clientAuth"),
        # names swapped: its CN is partner-a's DNS name and its DNS name is
        # partner-a's CN; it must match neither "CN=partner-a" nor
        # "DNS:hooks.partner-a.example"
        impostor=p.leaf("impostor", "/O=Partner C/CN=hooks.partner-a.example", ca,
                        san=["DNS:partner-a"], usage="clientAuth"),
        stray_key=p.key("stray"),
        maker=p,  # for a test's own certificates (signed by ca, unique serials)
    )
    ns.chain = bundle(p.dir / "server-chained-chain.pem", ns.server_chained, inter)
    assert ns.partner_a.subject == PARTNER_A_SUBJECT, ns.partner_a.subject
    assert ns.partner_b.subject == PARTNER_B_SUBJECT, ns.partner_b.subject
    return ns


# ---------------------------------------------------------------------------
# helpers


def tls_env(crt, key, client_ca=None, **extra):
    env = {"HOOKSTREAM_TLS_CERT": str(crt), "HOOKSTREAM_TLS_KEY": str(key)}
    if client_ca is not None:
        env["HOOKSTREAM_TLS_CLIENT_CA"] = str(client_ca)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def server_env(cert, **kw):
    return tls_env(cert.crt, cert.key, **kw)


def https(hs):
    """Point hs.post at the TLS listener (the admin listener stays plain HTTP)."""
    hs.url = f"https://127.0.0.1:{hs.port}"
    return hs


def tls_session(pki, cert=None):
    """A requests session that verifies the server against the test CA and
    presents cert (a tlsutil.Cert) when given."""
    s = http_session()
    s.verify = str(pki.ca.crt)
    if cert is not None:
        s.cert = cert.pair
    return s


def post_as(hs, pki, cert, path, body):
    with tls_session(pki, cert) as s:
        return hs.post(path, body, session=s)


def post_on(conn, body, path="/webhook"):
    conn.send(http_request_bytes("POST", path, json.dumps(body), JSON))
    return conn.read_response()


def snapshot(redis):
    """Every key with its stream length (or type): a refused request must
    leave this unchanged (no entry, no dedup key, nothing in :invalid)."""
    c = redis.client
    return {k: (c.xlen(k) if c.type(k) == "stream" else c.type(k)) for k in c.keys("*")}


def only_entry_for(redis, event_id, stream=STATUS):
    got = [f for _, f in stream_entries(redis.client, stream) if f["event_id"] == event_id]
    assert len(got) == 1, f"want one entry with event_id {event_id} in {stream}: {got!r}"
    return got[0]


def envelope(fields):
    return json.loads(fields["event"])


def which(pki, der):
    for name in ("server1", "server2", "server_chained"):
        if getattr(pki, name).der() == der:
            return name
    return f"an unknown certificate ({len(der or b'')} bytes)"


def assert_handshake_refused(port, ctx, what):
    """A connection with ctx must fail in the TLS handshake. With TLS 1.2 the
    client's handshake itself fails; with TLS 1.3 the server's verdict on the
    client certificate comes after the client's Finished, so it shows on the
    first read (nothing is sent first: no request can slip through). Returns
    the exception."""
    try:
        sock = tls_connect(port, ctx, timeout=5)
    except (ssl.SSLError, ConnectionResetError) as e:
        return e
    with sock:
        version = sock.version()
        assert version == "TLSv1.3", \
            f"{what}: the {version} handshake completed; it must be refused"
        sock.settimeout(3)
        try:
            data = sock.recv(1)
        except (ssl.SSLError, ConnectionResetError) as e:
            return e
        except socket.timeout:
            # Accepted: show what a request gets.
            try:
                sock.sendall(http_request_bytes("POST", "/webhook",
                                                json.dumps(P.duitnow(e2e=P.uid("E2E"))), JSON))
                data = sock.recv(65536)
            except (OSError, ssl.SSLError) as e:
                data = repr(e).encode()
            pytest.fail(f"{what}: the TLS 1.3 handshake was accepted and the connection kept "
                        f"open; a request then got {data[:300]!r}")
        pytest.fail(f"{what}: after the TLS 1.3 handshake the server sent {data!r} "
                    f"instead of refusing the client")


def hup(hs):
    hs.proc.send_signal(signal.SIGHUP)


def reloads(hs, result):
    return metric(hs.metrics(), "hookstream_config_reloads_total", result=result)


def wait_reloads(hs, result, n):
    wait_until(lambda: reloads(hs, result) == n, 5,
               what=f"hookstream_config_reloads_total{{result={result!r}}} == {n}")


# ---------------------------------------------------------------------------
# 1. HTTPS


def test_https_post_is_stored(relay, redis, pki):
    hs = https(relay(env=server_env(pki.server1)))
    # the certificate served, checked byte for byte (hostname checked too:
    # the client verifies IP:127.0.0.1 against the test CA)
    with TlsConn(hs.port, client_context(pki.ca)) as c:
        der = c.peer_der()
        assert der == pki.server1.der(), f"server presented {which(pki, der)}, not server1"
        cn = dict(x[0] for x in c.sock.getpeercert()["subject"])["commonName"]
        assert cn == "hookstream-test-server-1", c.sock.getpeercert()
    body = P.duitnow(e2e=P.uid("E2E-TLS"))
    with tls_session(pki) as s:
        r = hs.post("/webhook", body, session=s)
    acc = assert_accepted(r, "payment.status")
    entries = stream_entries(redis.client, STATUS)
    assert len(entries) == 1, entries
    ev = assert_entry(entries[0][1], category="payment.status", data=body, route="/webhook",
                      event_id=acc["event_id"])
    assert "clientcert" not in ev, f"no client certificate, no clientcert attribute: {ev!r}"
    # the admin listener stays plain HTTP
    assert hs.admin("/healthz").status_code == 200


def test_plain_http_on_the_tls_port_gets_no_http_answer(relay, redis, pki):
    hs = relay(env=server_env(pki.server1))
    before = snapshot(redis)
    req = http_request_bytes("POST", "/webhook", json.dumps(P.duitnow(e2e=P.uid("E2E"))), JSON)
    with RawConn(hs.port) as c:
        try:
            c.send(req)
        except (BrokenPipeError, ConnectionResetError):
            pass
        closed = c.wait_closed(5)
        got = c.buf
    assert b"HTTP/" not in got, f"plain HTTP on the TLS port got an HTTP answer: {got[:300]!r}"
    assert closed, f"plain HTTP on the TLS port: the connection stayed open; got {got[:100]!r}"
    assert snapshot(redis) == before
    # and the listener still serves TLS
    https(hs)
    with tls_session(pki) as s:
        assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s),
                        "payment.status")


def test_certificate_chain_file(relay, redis, pki):
    """tls_cert may hold the chain: a client that trusts only the root
    verifies a leaf issued by an intermediate the server sends along."""
    hs = https(relay(env=tls_env(pki.chain, pki.server_chained.key)))
    with TlsConn(hs.port, client_context(pki.ca)) as c:
        assert c.peer_der() == pki.server_chained.der(), which(pki, c.peer_der())
        assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E"))), "payment.status")


# ---------------------------------------------------------------------------
# 2. versions and ciphers

AEAD12 = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
          "ECDHE-ECDSA-CHACHA20-POLY1305"]
CBC12 = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:" \
        "ECDHE-ECDSA-AES256-SHA384"


def test_tls12_and_tls13_accepted(relay, redis, pki):
    hs = relay(env=server_env(pki.server1))
    seen = []
    for version, ciphers, want in [(V.TLSv1_3, None, None)] + \
            [(V.TLSv1_2, c, c) for c in AEAD12] + \
            [(V.TLSv1_2, CBC12 + ":" + ":".join(AEAD12), "AEAD")]:
        ctx = client_context(pki.ca, version=version, ciphers=ciphers)
        try:
            c = TlsConn(hs.port, ctx)
        except (ssl.SSLError, OSError) as e:
            pytest.fail(f"{version.name} with ciphers {ciphers}: handshake failed: {e!r}")
        with c:
            got_version, got_cipher = c.sock.version(), c.sock.cipher()[0]
            assert got_version == {V.TLSv1_2: "TLSv1.2", V.TLSv1_3: "TLSv1.3"}[version]
            if want == "AEAD":
                # offered CBC first: the server must still pick an AEAD suite
                assert "GCM" in got_cipher or "CHACHA20" in got_cipher, \
                    f"TLS 1.2 negotiated {got_cipher}, a non-AEAD cipher"
            elif want is not None:
                assert got_cipher == want, got_cipher
            r = post_on(c, P.duitnow(e2e=P.uid("E2E")))
            assert_accepted(r, "payment.status")
            seen.append((got_version, got_cipher))
    assert redis.client.xlen(STATUS) == len(seen), seen


@pytest.mark.parametrize("case", ["TLSv1", "TLSv1_1", "tls12_cbc_only"])
def test_old_versions_and_cbc_ciphers_refused(relay, redis, pki, case):
    if case == "tls12_cbc_only":
        ctx = client_context(pki.ca, version=V.TLSv1_2, ciphers=CBC12)
        alerts = ("HANDSHAKE_FAILURE", "INSUFFICIENT_SECURITY", "NO_SHARED_CIPHER")
    else:
        version = getattr(V, case)
        why = client_offers(version, pki.server1)
        if why is not None:
            pytest.skip(f"cannot test the refusal of {case}: {why}")
        ctx = client_context(pki.ca, version=version)
        # The server must refuse the version itself, not merely find no
        # shared cipher (which would hide a missing minimum version).
        alerts = ("PROTOCOL_VERSION",)
    hs = relay(env=server_env(pki.server1))
    before = snapshot(redis)
    try:
        with TlsConn(hs.port, ctx) as c:
            negotiated = (c.sock.version(), c.sock.cipher())
            r = post_on(c, P.duitnow(e2e=P.uid("E2E")))
        pytest.fail(f"{case}: the handshake succeeded ({negotiated}); a POST got {show(r)}")
    except ssl.SSLError as e:
        assert any(a in str(e) for a in alerts), \
            f"{case}: refused, but not with the expected alert {alerts}: {e!r}"
    assert snapshot(redis) == before


# ---------------------------------------------------------------------------
# 3. keep-alive, pipelining, large bodies, answers that close the connection


def test_keepalive_and_closing_answers(relay, redis, pki):
    hs = relay(env=server_env(pki.server1))
    ctx = client_context(pki.ca)
    ids = []
    with TlsConn(hs.port, ctx) as c:
        for i in range(50):
            r = post_on(c, P.duitnow(e2e=P.uid(f"E2E-KA{i}")))
            ids.append(assert_accepted(r, "payment.status")["entry_id"])
            assert r.headers.get("Connection", "").lower() != "close", \
                f"request {i + 1} of 50: the server closes the keep-alive connection: {show(r)}"
        # five requests in one write (one TLS record): all answered, in order
        reqs = [http_request_bytes("POST", "/webhook",
                                   json.dumps(P.duitnow(e2e=P.uid("E2E-PIPE"))), JSON)
                for _ in range(5)]
        c.send(b"".join(reqs))
        for _ in reqs:
            ids.append(assert_accepted(c.read_response(), "payment.status")["entry_id"])
        # a body of many TLS records
        big = P.duitnow(e2e=P.uid("E2E-BIG"), memo="m" * 300000)
        ids.append(assert_accepted(post_on(c, big), "payment.status")["entry_id"])
        # an answer that closes the connection: 413 from the headers alone;
        # status line, headers and JSON body arrive before the close
        c.send(http_request_bytes("POST", "/webhook", b"", JSON, content_length=2_000_000))
        r = c.read_response()
        assert_error(r, 413, "body_too_large")
        assert c.wait_closed(5), "the connection must be closed after the 413"
        assert c.buf == b"", f"bytes after the 413 body: {c.buf!r}"
    entries = stream_entries(redis.client, STATUS)
    assert [e[0] for e in entries] == ids, f"{len(entries)} entries for {len(ids)} answers"
    assert json.loads(entries[-1][1]["event"])["data"] == big

    # a malformed request line after a good request: 400 received in full
    with TlsConn(hs.port, ctx) as c:
        assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E"))), "payment.status")
        c.send(b"GET /\r\nHost: 127.0.0.1\r\n\r\n")
        r = c.read_response()
        assert_error(r, 400, "bad_request")
        assert c.wait_closed(5), "the connection must be closed after the 400"
    assert redis.client.xlen(STATUS) == len(ids) + 1


def test_answers_are_not_held_back(relay, redis, pki):
    """Over loopback a request takes about a millisecond (a few under ASan),
    over TLS as in plain HTTP. An answer written as several small TLS records
    in separate writes, without TCP_NODELAY, is held back by Nagle's
    algorithm until the client's delayed ACK: ~40 ms per request."""
    hs = relay(env=server_env(pki.server1))
    times = []
    with TlsConn(hs.port, client_context(pki.ca)) as c:
        for _ in range(20):
            t0 = time.monotonic()
            assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E"))), "payment.status")
            times.append(time.monotonic() - t0)
    times.sort()
    median = times[len(times) // 2]
    assert median < 0.025, \
        f"keep-alive requests over TLS take {median * 1000:.0f} ms (median of 20; " \
        f"fastest {times[0] * 1000:.0f} ms): answers are held back"


def test_stalled_handshakes_neither_block_nor_linger(relay, redis, pki):
    """Connections that never finish (or never start) their handshake do not
    hold up other clients, and are closed after request_timeout."""
    hs = https(relay(env=server_env(pki.server1, HOOKSTREAM_REQUEST_TIMEOUT=1)))
    hello = client_hello(client_context(pki.ca))
    stalled = [RawConn(hs.port) for _ in range(3)]
    for c in stalled[:2]:
        c.send(hello[:len(hello) // 2])
    try:
        t0 = time.monotonic()
        with tls_session(pki) as s:
            r = hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s, timeout=5)
        elapsed = time.monotonic() - t0
        assert_accepted(r, "payment.status")
        assert elapsed < 0.9, f"a TLS client waited {elapsed:.2f}s behind stalled handshakes"
        for n, c in enumerate(stalled):
            assert c.wait_closed(4), \
                f"stalled handshake {n} still open long after request_timeout=1; got {c.buf!r}"
    finally:
        for c in stalled:
            c.close()


# ---------------------------------------------------------------------------
# 4. mutual TLS


def test_mutual_tls(relay, redis, pki):
    hs = https(relay(env=server_env(pki.server1, client_ca=pki.ca.crt)))
    for version in (V.TLSv1_2, V.TLSv1_3):
        assert_handshake_refused(hs.port, client_context(pki.ca, version=version),
                                 f"{version.name} without a client certificate")
        assert_handshake_refused(hs.port,
                                 client_context(pki.ca, cert=pki.partner_a_foreign,
                                                version=version),
                                 f"{version.name} with partner-a's names from another CA")
    assert snapshot(redis) == {}

    body = P.duitnow(e2e=P.uid("E2E-MTLS"))
    acc = assert_accepted(post_as(hs, pki, pki.partner_a, "/webhook", body), "payment.status")
    fields = only_entry_for(redis, acc["event_id"])
    ev = assert_entry(fields, category="payment.status", data=body, route="/webhook",
                      event_id=acc["event_id"])
    assert ev.get("clientcert") == PARTNER_A_SUBJECT, f"clientcert: {ev!r}"

    acc = assert_accepted(post_as(hs, pki, pki.partner_b, "/webhook",
                                  P.duitnow(e2e=P.uid("E2E-MTLS"))), "payment.status")
    assert envelope(only_entry_for(redis, acc["event_id"])).get("clientcert") == \
        PARTNER_B_SUBJECT

    # A resumed session still carries the verified identity.
    for version in (V.TLSv1_2, V.TLSv1_3):
        ctx = client_context(pki.ca, cert=pki.partner_a, version=version)
        with TlsConn(hs.port, ctx) as c:
            assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E"))), "payment.status")
            session = c.sock.session
        with TlsConn(hs.port, ctx, session=session) as c:
            resumed = c.sock.session_reused
            acc = assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E-RESUMED"))),
                                  "payment.status")
        ev = envelope(only_entry_for(redis, acc["event_id"]))
        assert ev.get("clientcert") == PARTNER_A_SUBJECT, \
            f"{version.name} (session reused: {resumed}): clientcert {ev!r}"


# ---------------------------------------------------------------------------
# 5. per-route pinning of client certificate names

PINNED_ROUTES = """\
[route /webhook/pinned]
category = payment.status
client_cert_names = CN=partner-a

[route /webhook/pinned-dns]
category = payment.status
client_cert_names = DNS:hooks.partner-a.example

[route /webhook/pinned-list]
category = payment.status
client_cert_names = CN=partner-b , DNS:HOOKS.Partner-A.example

"""


def test_route_pins_client_certificate_names(relay, redis, pki, tmp_path):
    text = CONF_FILE.read_text()
    anchor = "[route /webhook/payment]\n"
    assert anchor in text
    conf = tmp_path / "pinned.conf"
    conf.write_text(text.replace(anchor, PINNED_ROUTES + anchor, 1))
    hs = https(relay(config=conf, env=server_env(pki.server1, client_ca=pki.ca.crt)))

    allowed = [("/webhook/pinned", pki.partner_a),
               ("/webhook/pinned-dns", pki.partner_a),
               ("/webhook/pinned-list", pki.partner_a),
               ("/webhook/pinned-list", pki.partner_b),
               ("/webhook", pki.partner_b),
               ("/webhook", pki.impostor)]
    refused = [("/webhook/pinned", pki.partner_b),
               ("/webhook/pinned", pki.impostor),
               ("/webhook/pinned-dns", pki.partner_b),
               ("/webhook/pinned-dns", pki.impostor),
               ("/webhook/pinned-list", pki.impostor)]
    for path, cert in refused:
        before = snapshot(redis)
        r = post_as(hs, pki, cert, path, P.duitnow(e2e=P.uid("E2E-PIN")))
        assert_error(r, 403, "client_certificate_not_allowed")
        assert snapshot(redis) == before, f"{cert.name} on {path}: something was stored"
    for path, cert in allowed:
        body = P.duitnow(e2e=P.uid("E2E-PIN"))
        r = post_as(hs, pki, cert, path, body)
        try:
            acc = assert_accepted(r, "payment.status")
        except AssertionError as e:
            raise AssertionError(f"{cert.name} ({cert.subject}) on {path}: {e}") from None
        ev = assert_entry(only_entry_for(redis, acc["event_id"]), category="payment.status",
                          data=body, route=path, event_id=acc["event_id"])
        assert ev.get("clientcert") == cert.subject, ev
    assert redis.client.xlen(STATUS) == len(allowed)

    # the pins are part of the configuration SIGHUP reloads
    conf.write_text(text.replace(anchor, PINNED_ROUTES.replace(
        "client_cert_names = CN=partner-a\n", "client_cert_names = CN=partner-b\n") + anchor, 1))
    hup(hs)
    wait_reloads(hs, "ok", 1)
    before = snapshot(redis)
    assert_error(post_as(hs, pki, pki.partner_a, "/webhook/pinned",
                         P.duitnow(e2e=P.uid("E2E-PIN"))), 403, "client_certificate_not_allowed")
    assert snapshot(redis) == before
    assert_accepted(post_as(hs, pki, pki.partner_b, "/webhook/pinned",
                            P.duitnow(e2e=P.uid("E2E-PIN"))), "payment.status")


def _leaf_with_raw_names(pki, name, cn, dns=()):
    """A client certificate signed by the test CA whose CN and DNS names are
    taken as given, NUL bytes included (the openssl command line cannot
    write those): python3-cryptography."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(pki.ca.key.read_bytes(), None)
    ca_crt = x509.load_pem_x509_certificate(pki.ca.crt.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca_crt.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                        critical=False))
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]),
                            critical=False)
    crt = pki.maker.dir / f"{name}.pem"
    keyf = pki.maker.dir / f"{name}.key"
    crt.write_bytes(b.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    keyf.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return SimpleNamespace(name=name, pair=(str(crt), str(keyf)))


def test_names_with_a_nul_byte_do_not_match_a_pin(relay, redis, pki, tmp_path):
    """A CN or DNS name with a NUL in it ("partner-a\\0.attacker.example")
    used to be read up to the NUL and matched the pin "partner-a" (found by
    review). Such a name matches nothing; a clean certificate still passes."""
    text = CONF_FILE.read_text()
    anchor = "[route /webhook/payment]\n"
    conf = tmp_path / "pinned.conf"
    conf.write_text(text.replace(anchor, PINNED_ROUTES + anchor, 1))
    hs = https(relay(config=conf, env=server_env(pki.server1, client_ca=pki.ca.crt)))
    nul_cn = _leaf_with_raw_names(pki, "nul-cn", "partner-a\x00.attacker.example")
    nul_dns = _leaf_with_raw_names(pki, "nul-dns", "attacker",
                                   ["hooks.partner-a.example\x00.attacker.example"])
    clean = _leaf_with_raw_names(pki, "clean-dns", "someone", ["hooks.partner-a.example"])
    for path, cert in (("/webhook/pinned", nul_cn), ("/webhook/pinned-dns", nul_dns),
                       ("/webhook/pinned-list", nul_dns)):
        before = snapshot(redis)
        r = post_as(hs, pki, cert, path, P.duitnow(e2e=P.uid("E2E-NUL")))
        assert_error(r, 403, "client_certificate_not_allowed")
        assert snapshot(redis) == before, f"{cert.name} on {path}: something was stored"
    assert_accepted(post_as(hs, pki, clean, "/webhook/pinned-dns",
                            P.duitnow(e2e=P.uid("E2E-NUL-OK"))), "payment.status")


ODD_SUBJECT = r'/O=Odd "Quoted" \\ Back\+slash; <x> = #/OU=#hash/CN=partner-odd'
ODD_RFC2253 = r'CN=partner-odd,OU=\#hash,O=Odd \"Quoted\" \\ Back\+slash\; \<x\> = #'


def test_clientcert_subject_escaping_and_utf8(relay, redis, pki, tmp_path):
    """RFC 2253 escapes survive the envelope's JSON; a UTF-8 name is recorded
    as UTF-8 (or in RFC 2253's \\XX form) and can be pinned by its CN."""
    p = pki.maker
    odd = p.leaf("odd", ODD_SUBJECT, pki.ca, usage="clientAuth")
    utf = p.leaf("utf", "/O=P\u00e4rtner \u00dcn\u00efcode/CN=partner-\u00fc", pki.ca,
                 usage="clientAuth")
    assert odd.subject == ODD_RFC2253, odd.subject
    text = CONF_FILE.read_text()
    anchor = "[route /webhook/payment]\n"
    conf = tmp_path / "utf8.conf"
    conf.write_text(text.replace(anchor, "[route /webhook/pinned-utf8]\n"
                                 "client_cert_names = CN=partner-\u00fc\n\n" + anchor, 1),
                    encoding="utf-8")
    hs = https(relay(config=conf, env=server_env(pki.server1, client_ca=pki.ca.crt)))

    acc = assert_accepted(post_as(hs, pki, odd, "/webhook", P.duitnow(e2e=P.uid("E2E"))),
                          "payment.status")
    assert envelope(only_entry_for(redis, acc["event_id"])).get("clientcert") == ODD_RFC2253

    acc = assert_accepted(post_as(hs, pki, utf, "/webhook/pinned-utf8",
                                  P.gateway_charge(evt=P.uid("evt"))), "payment.status")
    got = envelope(only_entry_for(redis, acc["event_id"])).get("clientcert")
    assert got in ("CN=partner-\u00fc,O=P\u00e4rtner \u00dcn\u00efcode", utf.subject), got
    assert_error(post_as(hs, pki, odd, "/webhook/pinned-utf8", P.duitnow(e2e=P.uid("E2E"))),
                 403, "client_certificate_not_allowed")
    hs.log_lines_strict()  # every log line is still one JSON object


# ---------------------------------------------------------------------------
# 6. SIGHUP re-reads the files


def install(cert, crt_path, key_path):
    crt_path.write_bytes(cert.crt.read_bytes())
    key_path.write_bytes(cert.key.read_bytes())


def test_sighup_reloads_the_certificate(relay, redis, pki, tmp_path):
    crt, key = tmp_path / "server.pem", tmp_path / "server.key"
    install(pki.server1, crt, key)
    hs = relay(env=tls_env(crt, key))
    ctx = client_context(pki.ca)

    def served():
        """The certificate a new connection gets; that connection works."""
        with TlsConn(hs.port, ctx) as c:
            der = c.peer_der()
            assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E"))), "payment.status")
        return which(pki, der)

    assert served() == "server1"
    old = TlsConn(hs.port, ctx)
    try:
        assert_accepted(post_on(old, P.duitnow(e2e=P.uid("E2E"))), "payment.status")

        install(pki.server2, crt, key)
        hup(hs)
        wait_reloads(hs, "ok", 1)
        assert served() == "server2"
        # the connection made before keeps working with what it negotiated
        assert_accepted(post_on(old, P.duitnow(e2e=P.uid("E2E"))), "payment.status")

        # a key that does not match the certificate: refused, server2 serves on
        key.write_bytes(pki.stray_key.read_bytes())
        hup(hs)
        wait_reloads(hs, "refused", 1)
        line = hs.wait_log(lambda l: l.get("msg", "").startswith("reload refused")
                           and "tls_key" in json.dumps(l),
                           what="a 'reload refused' log line naming tls_key")[0]
        assert line.get("level") == "error", line
        assert served() == "server2"

        # an unreadable certificate: refused too
        crt.unlink()
        hup(hs)
        wait_reloads(hs, "refused", 2)
        hs.wait_log(lambda l: l.get("msg", "").startswith("reload refused")
                    and "tls_cert" in json.dumps(l),
                    what="a 'reload refused' log line naming tls_cert")
        assert served() == "server2"
        assert reloads(hs, "ok") == 1

        # a good pair again
        install(pki.server1, crt, key)
        hup(hs)
        wait_reloads(hs, "ok", 2)
        assert served() == "server1"
        assert_accepted(post_on(old, P.duitnow(e2e=P.uid("E2E"))), "payment.status")
    finally:
        old.close()
    assert hs.alive()


def test_sighup_rereads_the_client_ca(relay, redis, pki, tmp_path):
    cas = tmp_path / "clients.pem"
    bundle(cas, pki.ca)
    hs = https(relay(env=server_env(pki.server1, client_ca=cas)))
    ctx_a = client_context(pki.ca, cert=pki.partner_a, version=V.TLSv1_2)
    with TlsConn(hs.port, ctx_a) as c:
        assert_accepted(post_on(c, P.duitnow(e2e=P.uid("E2E"))), "payment.status")
        session = c.sock.session
    assert_handshake_refused(hs.port, client_context(pki.ca, cert=pki.partner_a_foreign),
                             "partner-a from the other CA, before the reload")

    bundle(cas, pki.other_ca)
    hup(hs)
    wait_reloads(hs, "ok", 1)
    before = snapshot(redis)
    assert_handshake_refused(hs.port, client_context(pki.ca, cert=pki.partner_a),
                             "partner-a from a CA no longer trusted")
    # nor may a session from before the reload let it back in
    try:
        with TlsConn(hs.port, ctx_a, session=session) as c:
            reused = c.sock.session_reused
            r = post_on(c, P.duitnow(e2e=P.uid("E2E")))
    except (ssl.SSLError, ConnectionResetError, AssertionError):
        pass  # refused: in the handshake, or closed before an answer
    else:
        pytest.fail(f"a session resumed from before the CA change (reused: {reused}) "
                    f"was let in: {show(r)}")
    assert snapshot(redis) == before
    body = P.duitnow(e2e=P.uid("E2E"))
    acc = assert_accepted(post_as(hs, pki, pki.partner_a_foreign, "/webhook", body),
                          "payment.status")
    assert envelope(only_entry_for(redis, acc["event_id"])).get("clientcert") == \
        PARTNER_A_SUBJECT


# ---------------------------------------------------------------------------
# 7. startup errors


def _startup_cases(pki, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                       "-----END CERTIFICATE-----\n")
    s1 = pki.server1
    return [
        ("missing cert file", tls_env(tmp_path / "nope.pem", s1.key), ("tls_cert",)),
        ("missing key file", tls_env(s1.crt, tmp_path / "nope.key"), ("tls_key",)),
        ("cert not a certificate", tls_env(garbage, s1.key), ("tls_cert",)),
        ("key not a key", tls_env(s1.crt, s1.crt), ("tls_key",)),
        ("key does not match", tls_env(s1.crt, pki.stray_key), ("tls_key", "tls_cert")),
        ("only the cert", {"HOOKSTREAM_TLS_CERT": str(s1.crt)}, ("tls_key",)),
        ("only the key", {"HOOKSTREAM_TLS_KEY": str(s1.key)}, ("tls_cert",)),
        ("client CA without cert and key", {"HOOKSTREAM_TLS_CLIENT_CA": str(pki.ca.crt)},
         ("tls_client_ca", "tls_cert")),
        ("missing client CA file", server_env(s1, client_ca=tmp_path / "nope-ca.pem"),
         ("tls_client_ca",)),
    ]


def _pinned_conf(tmp_path, name, pins):
    text = CONF_FILE.read_text()
    anchor = "[route /webhook/payment]\n"
    conf = tmp_path / name
    conf.write_text(text.replace(anchor, f"[route /webhook/pinned]\nclient_cert_names = {pins}"
                                 f"\n\n" + anchor, 1))
    return conf


def test_startup_errors(pki, tmp_path):
    good = run_hookstream(["--check-config"], env=server_env(pki.server1, client_ca=pki.ca.crt))
    assert good.returncode == 0, f"a good TLS configuration: exit {good.returncode}: " \
                                 f"{good.stderr!r}"
    cases = [(what, env, names, []) for what, env, names in _startup_cases(pki, tmp_path)]
    # pins that can never be checked, or are not CN=/DNS: entries
    cases += [
        ("pins without tls_client_ca",
         server_env(pki.server1), ("client_cert_names",),
         ["-c", str(_pinned_conf(tmp_path, "no-ca.conf", "CN=partner-a"))]),
        ("a malformed pin",
         server_env(pki.server1, client_ca=pki.ca.crt), ("client_cert_names",),
         ["-c", str(_pinned_conf(tmp_path, "bad-pin.conf", "partner-a"))]),
    ]
    failures = []
    for what, env, names, conf_args in cases:
        for args in (conf_args + ["--check-config"], conf_args):
            cp = run_hookstream(args, env=env, timeout=8)
            where = f"{what} ({' '.join(args) or 'start'})"
            if cp.returncode != 2:
                failures.append(f"{where}: exit {cp.returncode}, want 2; "
                                f"stderr {cp.stderr[-300:]!r}")
            elif not any(n in cp.stderr for n in names):
                failures.append(f"{where}: stderr does not name {' or '.join(names)}: "
                                f"{cp.stderr[-300:]!r}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------
# 8. the source allowlist over TLS


def test_allowlist_applies_over_tls(relay, redis, pki):
    hs = https(relay(env=server_env(pki.server1)))  # allow = 127.0.0.1
    req = http_request_bytes("POST", "/webhook", json.dumps(P.duitnow(e2e=P.uid("E2E-OTHER"))),
                             JSON)
    try:
        c = TlsConn(hs.port, client_context(pki.ca), source=OTHER)
    except (ssl.SSLError, ConnectionError) as e:
        outcome = f"handshake refused: {e!r}"
    else:
        with c:
            try:
                c.send(req)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            assert c.wait_closed(5), \
                f"a refused source's TLS connection must be closed; got {c.buf[:300]!r}"
            if c.buf:
                r = c.read_response()
                assert_error(r, 403, "source_not_allowed")
                outcome = show(r)
            else:
                outcome = "closed without an answer"
    assert snapshot(redis) == {}, f"stored something for {OTHER} ({outcome})"
    # the same request from an allowed source
    with tls_session(pki) as s:
        assert_accepted(hs.post("/webhook", P.duitnow(e2e=P.uid("E2E")), session=s),
                        "payment.status")
