"""The production layout of README "Production": deploy/nginx.conf in front of ``biblogin serve``.

The file's directives are checked always; where Debian's nginx is installed it also runs: with
a self-signed certificate on loopback ports of its own, in front of a recording upstream (what
nginx hands the app, and when) and in front of the real server.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.test import RequestFactory, override_settings

from biblogin.borrowercheck.throttling import client_ip
from tests.server.process import free_port
from tests.server.slow_clients import connect, get_root, slow_clients

CONF = Path(settings.BASE_DIR) / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
# Under CI (.ci/run sets CI=1) a missing nginx is a failure, never a silent skip.
if NGINX is None and os.environ.get("CI"):
    raise RuntimeError("nginx is not installed (make test installs it: apt-get install nginx)")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install nginx)"
)


def _directives(text: str) -> dict[str, list[str]]:
    """Each directive of the file with its arguments (the last one of a name wins)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.endswith(";"):
            name, *args = line[:-1].split()
            found[name + (" " + args[0] if name == "proxy_set_header" else "")] = args
    return found


def test_the_shipped_nginx_config_buffers_requests_and_forwards_the_client_address() -> None:
    """Hardening item 4, R-LOGIN-5: request buffering on, short header/body timeouts, TLS, and
    X-Forwarded-For appended (one trusted proxy) with X-Forwarded-Proto."""
    d = _directives(CONF.read_text())
    assert d["proxy_request_buffering"] == ["on"]
    assert d["client_body_timeout"] == ["10s"] and d["client_header_timeout"] == ["10s"]
    assert d["proxy_set_header X-Forwarded-For"] == [
        "X-Forwarded-For",
        "$proxy_add_x_forwarded_for",
    ]
    assert d["proxy_set_header X-Forwarded-Proto"] == ["X-Forwarded-Proto", "$scheme"]
    assert d["listen"][:2] == ["443", "ssl"] and "ssl_certificate" in d
    assert d["client_max_body_size"] == ["1m"]  # below the app's own 10 MB cap


# -- nginx running the file ---------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(loopback, critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _render(directory: Path, *, upstream: int, tls_port: int, plain_port: int) -> Path:
    """deploy/nginx.conf with loopback ports and a test certificate, inside a main config."""
    cert, key = _self_signed(directory)
    site = CONF.read_text()
    for old, new in [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
        ("listen 80;", f"listen 127.0.0.1:{plain_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        ("/etc/ssl/certs/login.example.dk.pem", str(cert)),
        ("/etc/ssl/private/login.example.dk.key", str(key)),
    ]:
        assert old in site, old
        site = site.replace(old, new)
    (directory / "biblogin.conf").write_text(site)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"  {kind}_temp_path {directory / kind};" for kind in kinds)
    main = directory / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\nerror_log {directory / 'error.log'};\n"
        + f"pid {directory / 'nginx.pid'};\n"
        + "events { worker_connections 512; }\n"
        + f"http {{\n  access_log {directory / 'access.log'};\n{temp}\n"
        + f"  include {directory / 'biblogin.conf'};\n}}\n"
    )  # fmt: skip
    return main


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[[int], int]]:
    """Start nginx with deploy/nginx.conf in front of 127.0.0.1:<upstream>; return its TLS port."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(upstream: int) -> int:
        assert NGINX is not None
        tls_port, plain_port = free_port(), free_port()
        main = _render(tmp_path, upstream=upstream, tls_port=tls_port, plain_port=plain_port)
        args = [NGINX, "-c", str(main), "-p", str(tmp_path)]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen([*args, "-g", "daemon off;"])
        processes.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                return tls_port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((tmp_path / "error.log").read_text())

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


class RecordingUpstream:
    """A loopback HTTP server that records each request nginx hands it, and when."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[tuple[float, bytes]] = []
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                declared = re.search(rb"(?i)content-length: *(\d+)", head)
                length = int(declared.group(1)) if declared else 0
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append((time.monotonic(), head + b"\r\n\r\n" + body))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self.listener.close()


@needs_nginx
def test_nginx_hands_the_app_only_complete_requests_with_the_client_address_appended(
    nginx: Callable[[int], int],
) -> None:
    """Hardening item 4, R-LOGIN-5: a POST whose body is half sent does not reach the app until
    it is whole; the app then sees X-Forwarded-For ending in the client's real address (a spoofed
    entry stays to its left, which one trusted proxy ignores) and X-Forwarded-Proto https."""
    upstream = RecordingUpstream()
    try:
        port = nginx(upstream.port)
        with connect("127.0.0.1", port, timeout=10, tls=_tls()) as s:
            s.sendall(
                b"POST /log-ind/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                b"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: http\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\n"
                + b"user_id=1&"
            )
            time.sleep(1.0)
            # nginx holds the half request: the app has not even been connected to.
            assert upstream.connections == 0
            sent = time.monotonic()
            s.sendall(b"password=1")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
        (arrived, request), = upstream.requests  # fmt: skip
        assert arrived >= sent and request.endswith(b"\r\n\r\nuser_id=1&password=1")
        headers = dict(
            line.split(": ", 1) for line in request.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]
        )
        assert headers["X-Forwarded-For"] == "6.6.6.6, 127.0.0.1"
        assert headers["X-Forwarded-Proto"] == "https"
        meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": headers["X-Forwarded-For"]}
        with override_settings(LOGIN_TRUSTED_PROXY_COUNT=1):
            assert client_ip(RequestFactory().post("/log-ind/", **meta)) == "127.0.0.1"
    finally:
        upstream.close()


@needs_nginx
@pytest.mark.django_db(transaction=True)
def test_behind_nginx_forty_slow_clients_do_not_stop_get_root_and_https_is_known(
    nginx: Callable[[int], int], production_site: Callable[..., str]
) -> None:
    """Hardening item 4 in the production layout: the real server behind deploy/nginx.conf
    answers ``GET /`` under 40 half-sent bodies and 20 half-sent headers, and knows the request
    came over TLS (X-Forwarded-Proto: HSTS is sent)."""
    base_url = production_site(workers=1, threads=2, env={"BIBLOGIN_SECURE_COOKIES": "1"})
    port = nginx(int(base_url.rsplit(":", 1)[1]))
    with slow_clients("127.0.0.1", port, half_bodies=40, half_headers=20, tls=_tls()):
        status, seconds = get_root("127.0.0.1", port, timeout=5, tls=_tls())
        assert status == 200, f"GET / gave no answer within {seconds:.1f} s"
        with connect("127.0.0.1", port, timeout=5, tls=_tls()) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = s.recv(65536).split(b"\r\n\r\n")[0].lower()
        assert b"strict-transport-security: max-age=" in head
