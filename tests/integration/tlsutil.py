# SPDX-License-Identifier: MIT
"""
TLS helpers for the integration tests: a throw-away PKI made with the openssl
command line (EC P-256 keys, so it takes a fraction of a second), client
contexts pinned to a protocol version or cipher, and a RawConn over TLS.
"""

import hashlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from conftest import RawConn

OPENSSL = "/usr/bin/openssl" if Path("/usr/bin/openssl").exists() else \
    (shutil.which("openssl") or "openssl")

# A minimal configuration for "openssl req" so the host's openssl.cnf (its
# default extensions, its distinguished-name prompts) plays no part.
_REQ_CNF = """\
[req]
distinguished_name = dn
prompt = no
utf8 = yes
[dn]
"""


def _run(*args, cwd):
    cp = subprocess.run([OPENSSL, *args], cwd=cwd, stdin=subprocess.DEVNULL,
                        capture_output=True, text=True, errors="replace", timeout=30)
    if cp.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({cp.returncode}): {cp.stderr}")
    return cp.stdout


@dataclass
class Cert:
    name: str
    crt: Path   # PEM certificate (leaf only)
    key: Path   # PEM private key
    subject: str  # RFC 2253 subject, as `openssl x509 -nameopt RFC2253` prints it
    serial: int

    @property
    def pair(self):
        """(certfile, keyfile) for requests' cert= and ssl's load_cert_chain."""
        return (str(self.crt), str(self.key))

    def der(self):
        return ssl.PEM_cert_to_DER_cert(self.crt.read_text())

    def fingerprint(self):
        return hashlib.sha256(self.der()).hexdigest()


class Pki:
    """Keys and certificates under one directory; every certificate is valid
    for 30 days from now."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "req.cnf").write_text(_REQ_CNF)
        self._serial = 0x1000

    def key(self, name):
        path = self.dir / f"{name}.key"
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(path), cwd=self.dir)
        return path

    def _ext(self, name, lines):
        path = self.dir / f"{name}.ext"
        path.write_text("[v3]\n" + "\n".join(lines) + "\n")
        return path

    def _finish(self, name, crt, key, serial):
        subject = _run("x509", "-in", str(crt), "-noout", "-subject", "-nameopt", "RFC2253",
                       cwd=self.dir).strip()
        assert subject.startswith("subject="), subject
        return Cert(name, crt, key, subject[len("subject="):], serial)

    def ca(self, name, subj, issuer=None):
        """A CA certificate: self-signed, or an intermediate signed by issuer."""
        key = self.key(name)
        ext = self._ext(name, ["basicConstraints = critical, CA:TRUE",
                               "keyUsage = critical, keyCertSign, cRLSign",
                               "subjectKeyIdentifier = hash"])
        return self._sign(name, subj, key, ext, issuer)

    def leaf(self, name, subj, issuer, san=(), usage="serverAuth", key=None):
        """An end-entity certificate signed by issuer; san like ["DNS:x", "IP:1.2.3.4"]."""
        key = key or self.key(name)
        lines = ["basicConstraints = critical, CA:FALSE",
                 "keyUsage = critical, digitalSignature",
                 f"extendedKeyUsage = {usage}",
                 "subjectKeyIdentifier = hash",
                 "authorityKeyIdentifier = keyid"]
        if san:
            lines.append("subjectAltName = " + ", ".join(san))
        ext = self._ext(name, lines)
        return self._sign(name, subj, key, ext, issuer)

    def _sign(self, name, subj, key, ext, issuer):
        self._serial += 1
        serial = self._serial
        crt = self.dir / f"{name}.pem"
        csr = self.dir / f"{name}.csr"
        _run("req", "-new", "-config", "req.cnf", "-key", str(key), "-subj", subj,
             "-out", str(csr), cwd=self.dir)
        signer = ["-signkey", str(key)] if issuer is None else \
            ["-CA", str(issuer.crt), "-CAkey", str(issuer.key)]
        _run("x509", "-req", "-in", str(csr), *signer, "-set_serial", str(serial),
             "-days", "30", "-sha256", "-extfile", str(ext), "-extensions", "v3",
             "-out", str(crt), cwd=self.dir)
        return self._finish(name, crt, key, serial)


def bundle(path, *certs):
    """Concatenate PEM files (a chain, a CA bundle) into path."""
    path = Path(path)
    path.write_text("".join(c.crt.read_text() for c in certs))
    return path


# ---------------------------------------------------------------------------
# client side


def client_context(ca=None, cert=None, version=None, min_version=None, max_version=None,
                   ciphers=None, verify=True):
    """An ssl client context. ca: a CA file (or Cert) to verify the server
    with; cert: a Cert to present; version pins min and max."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile=str(ca.crt if isinstance(ca, Cert) else ca))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(*cert.pair)
    if version is not None:
        min_version = max_version = version
    if min_version is not None:
        if min_version < ssl.TLSVersion.TLSv1_2:
            # OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 handshake signatures) above
            # security level 0, whatever the protocol bounds say.
            ciphers = (ciphers or "DEFAULT") + ":@SECLEVEL=0"
    with warnings.catch_warnings():
        # ssl warns that TLS 1.0/1.1 are deprecated: offering them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


def tls_connect(port, ctx, host="127.0.0.1", source=None, timeout=5.0, session=None):
    """A connected, handshaken SSLSocket (raises ssl.SSLError on a failed
    handshake). An EOF without close_notify raises ssl.SSLEOFError rather than
    reading as b"", so a refusal is never mistaken for an empty answer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if source is not None:
            sock.bind((source, 0))
        sock.connect((host, port))
        return ctx.wrap_socket(sock, server_hostname=host, session=session,
                               suppress_ragged_eofs=False)
    except BaseException:
        sock.close()
        raise


class TlsConn(RawConn):
    """RawConn over TLS: send bytes, read one HTTP response at a time."""

    def __init__(self, port, ctx, host="127.0.0.1", source=None, timeout=5.0, session=None):
        # RawConn.__init__ would connect a plain socket; do it ourselves.
        self.sock = tls_connect(port, ctx, host=host, source=source, timeout=timeout,
                                session=session)
        self.buf = b""
        self.eof = False
        self.t0 = time.monotonic()

    def peer_der(self):
        return self.sock.getpeercert(binary_form=True)

    def _fill(self):
        # A TLS alert or a reset after the last response counts as the end
        # of the stream (what arrived before it is kept in self.buf).
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True


def client_offers(version, server):
    """Can this Python/OpenSSL client still offer `version` at all? Checked
    against an in-process server that accepts anything (with `server`'s Cert).
    Returns None when it can, else why not."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        sctx.set_ciphers("ALL:@SECLEVEL=0")
        sctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        sctx.load_cert_chain(*server.pair)
        cctx = client_context(verify=False, version=version)
    except (ssl.SSLError, ValueError) as e:
        return f"cannot configure {version.name}: {e!r}"
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(5)

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(5)
            with sctx.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass
    t = threading.Thread(target=serve)
    t.start()
    try:
        with tls_connect(lsock.getsockname()[1], cctx) as s:
            got = s.version()
        return None if got == {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1",
                               ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                               ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version] \
            else f"negotiated {got} instead"
    except (OSError, ssl.SSLError) as e:
        return f"the local OpenSSL will not offer {version.name}: {e!r}"
    finally:
        t.join(10)
        lsock.close()


def client_hello(ctx, host="127.0.0.1"):
    """The bytes of a real ClientHello that ctx would send."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()
