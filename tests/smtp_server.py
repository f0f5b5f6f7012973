"""A real SMTP server in the test process (aiosmtpd), to send e-mail to and read back.

    with smtp_server() as server:                      # plain, security "none"
        send(outgoing, server.config())
        server.received[0].message["Subject"]

Variants: ``smtp_server(tls=cert, starttls=True)`` (STARTTLS required, with a
self-signed certificate from :func:`self_signed_cert`), ``smtp_server(tls=cert,
implicit_tls=True)`` (SSL from the start, like port 465), ``smtp_server(users={"bob":
"pw"})`` (a login required). The handler can refuse recipients (``reject``),
answer ``421`` after some messages per connection or in all, and hang up after a
message, to test every failure a real server produces.
"""

from __future__ import annotations

import asyncio
import email
import ipaddress
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sheetcrm.delivery.mail import SmtpConfig

HOST = "127.0.0.1"
SENDER = "Sheetcrm <crm@example.com>"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Received:
    """One message as the server got it: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """Stores every message; refuses what it is told to."""

    reject: set[str] = field(default_factory=set)  # recipients answered "550 no such user"
    per_connection: int | None = None  # after this many messages on one connection: 421
    total: int | None = None  # after this many messages in all: 421 on every MAIL
    hang_up_after: set[int] = field(default_factory=set)  # close after the n-th message (1-based)
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    _counts: dict[int, int] = field(default_factory=dict)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if id(session) not in self._counts:
            self._counts[id(session)] = 0
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        sent_here = self._counts.get(id(session), 0)
        if (self.per_connection is not None and sent_here >= self.per_connection) or (
            self.total is not None and len(self.received) >= self.total
        ):
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 Too many messages, closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in {r.lower() for r in self.reject}:
            return f"550 5.1.1 <{address}>: no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=bytes(envelope.original_content or envelope.content),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login.login.decode() if isinstance(login, LoginPassword) else None,
            )
        )
        self._counts[id(session)] = self._counts.get(id(session), 0) + 1
        if len(self.received) in self.hang_up_after:
            # the 250 below is still written: a transport flushes before it closes
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class Server:
    controller: Controller
    handler: RecordingHandler
    port: int
    security: str
    cafile: str | None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def config(self, **changes: Any) -> SmtpConfig:
        values: dict[str, Any] = {
            "host": HOST,
            "port": self.port,
            "user": None,
            "password": None,
            "sender": SENDER,
            "security": self.security,
            "timeout": 5,
            "cafile": self.cafile,
        }
        values.update(changes)
        return SmtpConfig(**values)

    def url(self, user: str | None = None, password: str | None = None) -> str:
        from urllib.parse import quote

        scheme = {"none": "smtp", "starttls": "smtp+starttls", "ssl": "smtps"}[self.security]
        auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
        query = "?from=crm%40example.com" + (f"&cafile={self.cafile}" if self.cafile else "")
        return f"{scheme}://{auth}{HOST}:{self.port}{query}"


@dataclass(frozen=True)
class Cert:
    certfile: str
    keyfile: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context


def self_signed_cert(folder: Path) -> Cert:
    """A certificate for localhost and 127.0.0.1, valid for a day, and its key (PEM files)."""
    certfile, keyfile = folder / "server.pem", folder / "server.key"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:  # pragma: no cover - cryptography comes with most installs
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", str(keyfile), "-out", str(certfile),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return Cert(str(certfile), str(keyfile))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Cert(str(certfile), str(keyfile))


def _authenticator(users: dict[str, str]):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


@contextmanager
def smtp_server(
    handler: RecordingHandler | None = None,
    *,
    tls: Cert | None = None,
    starttls: bool = False,
    implicit_tls: bool = False,
    users: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run an SMTP server on 127.0.0.1 for the ``with`` block.

    ``starttls`` needs ``tls`` and then requires STARTTLS before MAIL;
    ``implicit_tls`` speaks TLS from the first byte; ``users`` requires a login
    (allowed without TLS when neither is set, as a test convenience).
    """
    handler = handler or RecordingHandler()
    kwargs: dict[str, Any] = {"server_hostname": "localhost", "ready_timeout": 5}
    security = "none"
    if starttls:
        assert tls is not None
        kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        security = "starttls"
    elif implicit_tls:
        assert tls is not None
        kwargs["ssl_context"] = tls.server_context()
        security = "ssl"
    if users is not None:
        kwargs.update(
            authenticator=_authenticator(users),
            auth_required=True,
            auth_require_tls=security == "starttls",
        )
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, **kwargs)
    controller.start()
    try:
        yield Server(controller, handler, port, security, tls.certfile if tls else None)
    finally:
        controller.stop()
