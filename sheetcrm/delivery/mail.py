"""E-mail: building messages safely and delivering them over SMTP, each at most once.

Why one module (~1,150 lines): sending at most once needs the sent log, the SMTP
conversation and the failure report to agree on every message's state.

This module knows nothing about workbooks. The caller (``sheetcrm email``) renders
the text and HTML, then:

* :func:`build_message` makes an :class:`~email.message.EmailMessage` with the
  standard library only, so no text from a workbook can add a header: line breaks
  in a subject become spaces, an address with a line break is refused;
* :func:`inline_css` copies the ``<style>`` rules onto each element, for mail
  clients that ignore style sheets;
* :func:`write_eml` writes the messages of ``--dry-run`` as ``.eml`` files;
* :func:`send` delivers them over one SMTP connection, skipping those already
  sent and recording each one in flight before its DATA and sent once accepted
  (:class:`SentLog`), so a failure half way through is fixed by running the same
  command again, and a message whose answer was lost is never sent twice
  silently; :func:`send_lock` keeps two runs from sending at once.

SMTP settings come from the environment (:meth:`SmtpConfig.from_env`) or a URL
(:meth:`SmtpConfig.from_url`); the password is never printed, logged or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from filelock import FileLock, Timeout

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.files import read_json_sidecar, write_atomic

__all__ = [
    "Outgoing",
    "SendResult",
    "SendingBusy",
    "SentLog",
    "SmtpConfig",
    "build_message",
    "inline_css",
    "send",
    "send_lock",
    "send_lock_path",
    "sent_log_path",
    "stable_message_id",
    "write_eml",
]

Security = Literal["starttls", "ssl", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}

_ENV = "SHEETCRM_SMTP_"
_URL_SCHEMES: dict[str, Security] = {
    "smtp": "none",
    "smtp+starttls": "starttls",
    "smtps": "ssl",
    "smtp+ssl": "ssl",
}
_URL_HINT = (
    "write it as smtp+starttls://USER:PASSWORD@HOST:587?from=ADDRESS "
    "(smtps:// for SSL on port 465, smtp:// for no encryption); "
    "percent-encode : / ? # @ in the user or password (@ is %40)"
)


def _config_error(
    message: str, hint: str | None = None, value: object = None, remedy: str | None = None
) -> SheetCRMError:
    # remedy: the CLI also names its --smtp-url (errors.REMEDIES); the hint stays neutral
    return SheetCRMError(
        Problem(
            "smtp_config",
            message,
            value=value,
            hint=hint,
            remedy=remedy,
            remedy_args=(_ENV,) if remedy else (),
        )
    )


# ----------------------------------------------------------------------------- addresses


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """``text`` with every line break and control character made a space, runs collapsed."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def _address(value: str, what: str) -> Address:
    """One mailbox (``ann@example.com`` or ``Ann <ann@example.com>``), or SheetCRMError.

    Anything with a line break or another control character is refused outright
    rather than cleaned: an address is never guessed.
    """
    text = str(value)
    hint = "write one address such as ann@example.com or Ann Berg <ann@example.com>"
    if _CONTROL.search(text):
        raise SheetCRMError(
            Problem(
                "invalid_email",
                f"the {what} address has a line break or control character in it",
                value=text,
                hint=hint,
            )
        )
    text = text.strip()
    try:
        header = email_policy.default.header_factory("To", text)
        addresses = header.addresses
        defects = header.defects
    except (ValueError, IndexError, TypeError):
        addresses, defects = (), ["unparsable"]
    if len(addresses) != 1 or defects or len(header.groups) != 1 or header.groups[0].display_name:
        raise SheetCRMError(
            Problem("invalid_email", f"the {what} {text!r} is not one e-mail address", hint=hint)
        )
    address = addresses[0]
    local, domain = address.username, address.domain
    if not local or not domain or "." not in domain.strip(".") or " " in domain:
        raise SheetCRMError(
            Problem("invalid_email", f"the {what} {text!r} is not an e-mail address", hint=hint)
        )
    if not local.isascii():
        raise SheetCRMError(
            Problem(
                "invalid_email",
                f"the {what} {text!r} has letters outside plain ASCII before the @",
                hint="sheetcrm can only send to addresses written in plain letters before the @",
            )
        )
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise SheetCRMError(
                Problem("invalid_email", f"the {what} {text!r} has an invalid domain", hint=hint)
            ) from None
    return Address(display_name=_one_line(address.display_name), username=local, domain=domain)


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. Build it with :meth:`from_env` or :meth:`from_url`."""

    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    sender: str
    security: Security = "starttls"
    timeout: float = 30
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITIES:
            raise _config_error(
                f"the SMTP security {self.security!r} is not one of starttls, ssl, none",
                hint="use starttls for port 587, ssl for port 465, none only inside a trusted "
                "network",
            )
        if not self.host or _CONTROL.search(self.host) or " " in self.host:
            raise _config_error(
                "the SMTP host is empty or has spaces in it",
                hint="give the mail server's name, such as smtp.example.com",
            )
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise _config_error(
                "the SMTP port must be a whole number from 1 to 65535", value=self.port
            )
        if not self.timeout > 0:
            raise _config_error("the SMTP timeout must be a positive number of seconds")
        if self.password is not None and not self.user:
            raise _config_error(
                "an SMTP password is set but no user name",
                hint=f"set {_ENV}USER (or put USER:PASSWORD@ in the SMTP URL)",
                remedy="smtp_user",
            )
        if self.user is not None and self.password is None:
            raise _config_error(
                f"the SMTP user {self.user!r} has no password",
                hint=f"set {_ENV}PASSWORD in the environment of the scheduled job",
            )
        if self.cafile is not None and not Path(self.cafile).is_file():
            raise _config_error(
                f"the certificate file {self.cafile} does not exist",
                hint=f"point {_ENV}CAFILE (or ?cafile= in the SMTP URL) at the server's "
                "certificate (PEM), or leave it out to trust the usual authorities",
                remedy="smtp_cafile",
            )
        try:
            _address(self.sender, "sender")
        except SheetCRMError as e:
            raise _config_error(
                f"the sender {self.sender!r} is not an e-mail address",
                hint=f"set {_ENV}FROM (or ?from= in the SMTP URL) to the address mail comes from",
                remedy="smtp_from",
            ) from e

    @property
    def sender_address(self) -> str:
        """The bare address of :attr:`sender` (for the SMTP envelope)."""
        return _address(self.sender, "sender").addr_spec

    def describe(self) -> str:
        """``smtp.example.com:587 (starttls) as user``: for messages; never the password."""
        text = f"{self.host}:{self.port} ({self.security})"
        return f"{text} as {self.user}" if self.user else text

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpConfig | None:
        """The settings from ``SHEETCRM_SMTP_*``; None when ``SHEETCRM_SMTP_HOST`` is not set.

        ``_HOST``, ``_PORT`` (default 587 / 465 / 25 by security), ``_USER``,
        ``_PASSWORD``, ``_FROM`` (default: the user when it is an address),
        ``_SECURITY`` (starttls, ssl or none; default starttls), ``_CAFILE``
        (a PEM certificate to trust, for a server with its own certificate),
        ``_TIMEOUT`` (seconds, default 30).
        """

        def get(name: str) -> str | None:
            value = env.get(_ENV + name)
            return value.strip() if value is not None and value.strip() else None

        host = get("HOST")
        if host is None:
            return None
        security = (get("SECURITY") or "starttls").lower()
        if security not in SECURITIES:
            raise _config_error(
                f"{_ENV}SECURITY is {security!r}, which is not starttls, ssl or none",
                hint="use starttls for port 587, ssl for port 465",
            )
        port = _whole_number(get("PORT"), f"{_ENV}PORT", DEFAULT_PORTS[security])
        timeout = _seconds(get("TIMEOUT"), f"{_ENV}TIMEOUT")
        user = get("USER")
        password = env.get(_ENV + "PASSWORD") or None  # spaces may belong to a password
        sender = get("FROM") or _sender_from_user(user, f"set {_ENV}FROM")
        return cls(
            host=host,
            port=port,
            user=user,
            password=password,
            sender=sender,
            security=security,
            timeout=timeout,
            cafile=get("CAFILE"),
        )

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """The settings from ``smtp+starttls://user:password@host:587?from=ann@example.com``.

        ``smtp://`` is unencrypted, ``smtp+starttls://`` upgrades with STARTTLS,
        ``smtps://`` (or ``smtp+ssl://``) is SSL from the start. User and password
        are percent-decoded. Query: ``from``, ``cafile``, ``timeout``. Error
        messages name the part that is wrong, never its value (it may hold the
        password).
        """
        text = str(url).strip()
        if _CONTROL.search(text):
            raise _config_error("the SMTP URL has a line break or control character", _URL_HINT)
        scheme, sep, _ = text.partition("://")
        if not sep or scheme.lower() not in _URL_SCHEMES:
            raise _config_error(
                "the SMTP URL does not start with smtp://, smtp+starttls:// or smtps://",
                _URL_HINT,
            )
        security = _URL_SCHEMES[scheme.lower()]
        try:
            parts = urlsplit(text)
        except ValueError:
            raise _config_error("the SMTP URL cannot be read", _URL_HINT) from None
        if parts.path not in ("", "/") or parts.fragment:
            raise _config_error(
                "the SMTP URL has something after the host and port (a path or #)", _URL_HINT
            )
        netloc = parts.netloc
        userinfo, at, hostport = netloc.rpartition("@")
        if not at:
            userinfo, hostport = "", netloc
        user = password = None
        if at:
            raw_user, colon, raw_password = userinfo.partition(":")
            user = unquote(raw_user) or None
            password = unquote(raw_password) if colon else None
            if user is None:
                raise _config_error("the SMTP URL has no user name before the @", _URL_HINT)
            if not password:
                raise _config_error(
                    "the SMTP URL has a user but no password (write USER:PASSWORD@HOST)",
                    _URL_HINT,
                )
        host, port_text = hostport, None
        if hostport.startswith("["):  # [IPv6]:port
            end = hostport.find("]")
            host, rest = hostport[1:end], hostport[end + 1 :]
            if end < 0 or (rest and not rest.startswith(":")):
                raise _config_error("the host in the SMTP URL cannot be read", _URL_HINT)
            port_text = rest[1:] if rest else None
        elif ":" in hostport:
            host, port_text = hostport.rsplit(":", 1)
        if not host or not re.fullmatch(r"[A-Za-z0-9._:%-]+", host):
            raise _config_error("the host in the SMTP URL is missing or not a host name", _URL_HINT)
        if port_text is not None and not port_text.isdigit():
            raise _config_error("the port in the SMTP URL is not a number", _URL_HINT)
        port = int(port_text) if port_text else DEFAULT_PORTS[security]
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in ("from", "cafile", "timeout"):
                raise _config_error(
                    f"the SMTP URL has an unknown setting ?{key}= (known: from, cafile, timeout)",
                    _URL_HINT,
                )
            query[key] = value
        sender = query.get("from") or _sender_from_user(user, "add ?from=ADDRESS to the URL")
        return cls(
            host=host,
            port=port,
            user=user,
            password=password,
            sender=sender,
            security=security,
            timeout=_seconds(query.get("timeout") or None, "?timeout= in the SMTP URL"),
            cafile=query.get("cafile") or None,
        )


def _whole_number(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise _config_error(
            f"{name} is {text!r}, not a port number from 1 to 65535",
            hint="587 for starttls, 465 for ssl, 25 for none",
        )
    return int(text)


def _seconds(text: str | None, name: str) -> float:
    if text is None:
        return 30.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 3600:
        raise _config_error(f"{name} is {text!r}, not a number of seconds (such as 30)")
    return value


def _sender_from_user(user: str | None, hint: str) -> str:
    if user and "@" in user:
        return user
    raise _config_error(
        "no sender address is set for e-mail",
        hint=f"{hint} to the address the e-mail should come from, such as crm@example.com",
    )


# ----------------------------------------------------------------------------- messages


@dataclass
class Outgoing:
    """One message to send, under a key that says whether it went already.

    Keys are stable across runs: ``weekly:2026-W47:owner@example.com``,
    ``digest:2026-W47:kari@example.com``, ``notice:K-0042:resolved:finance@example.com``.
    One recipient per message keeps "never twice" exact per person.
    """

    key: str
    message: EmailMessage

    @property
    def recipients(self) -> list[str]:
        return [
            a.addr_spec
            for name in ("To", "Cc", "Bcc")
            for header in self.message.get_all(name, [])
            for a in getattr(header, "addresses", ())
        ]


def stable_message_id(key: str, sender: str, domain: str = "sheetcrm.local") -> str:
    """The Message-ID of the message under ``key``: the same on every run, unique per sender.

    A copy sent again by ``--resend`` (or by a run that could not know the first
    one arrived) carries the same Message-ID, so mail clients that drop
    duplicates show it once. The sender is part of it so that two shops sending
    the same key to one person never share an id.

    >>> stable_message_id("weekly:2026-W47:a@example.com", "crm@example.com", "example.com")
    '<sheetcrm.fcc5a1d56745e7697b5555142686dabb@example.com>'
    """
    digest = hashlib.sha256(f"{sender.casefold()}\n{key}".encode()).hexdigest()[:32]
    return f"<sheetcrm.{digest}@{_one_line(domain).strip('<>@ ') or 'sheetcrm.local'}>"


_MIME_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


def _image_subtype(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "png"


def _safe_filename(name: str, default: str) -> str:
    """A file name for a MIME part: no control characters, no folders, never empty."""
    name = _one_line(name).replace("/", "_").replace("\\", "_").strip(" .")
    return name or default


def build_message(
    *,
    subject: str,
    sender: str,
    to: Sequence[str],
    text: str,
    html: str | None = None,
    inline_images: Mapping[str, bytes] | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    date: datetime | None = None,
    message_id_domain: str = "sheetcrm.local",
    message_id: str | None = None,
) -> EmailMessage:
    """A complete message, built with the standard library's email package only.

    Layout: ``multipart/mixed( multipart/alternative( text/plain,
    multipart/related( text/html, image/png… ) ), attachments… )``, with the
    levels that are not needed left out (text alone is a single ``text/plain``).

    ``inline_images`` maps a Content-ID (``chart-sla@sheetcrm``, with or without
    ``<>``) to the picture's bytes; the HTML shows it with ``src="cid:chart-sla@sheetcrm"``.
    ``attachments`` are ``(file name, bytes, MIME type)``. ``message_id`` (from
    :func:`stable_message_id`) gives the message the same Message-ID on every
    run, so a mail client can drop a copy that went twice; without it a new one
    is made.

    Line breaks and control characters in the subject and file names become
    spaces; an address containing them is refused (SheetCRMError ``invalid_email``),
    so no text from a workbook can add a header or a recipient.
    """
    if isinstance(to, str):
        to = [to]
    recipients = [_address(addr, "recipient") for addr in to]
    if not recipients:
        raise SheetCRMError(
            Problem(
                "invalid_email",
                "the e-mail has no recipient",
                hint="give the recipients or set report_recipients on the Settings sheet",
                remedy="recipients",
            )
        )
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["Subject"] = _one_line(subject) or "(no subject)"
    msg["From"] = _address(sender, "sender")
    msg["To"] = recipients
    when = date or datetime.now().astimezone()
    msg["Date"] = format_datetime(when if when.tzinfo else when.astimezone())
    msg["Message-ID"] = message_id or make_msgid(
        domain=_one_line(message_id_domain) or "sheetcrm.local"
    )
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        html_part = msg.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        for n, (cid, data) in enumerate((inline_images or {}).items(), 1):
            bare = _one_line(cid).strip("<>")
            if not bare or any(c in bare for c in "<> "):
                raise ValueError(f"not a usable Content-ID: {cid!r}")
            subtype = _image_subtype(data)
            html_part.add_related(
                data,
                maintype="image",
                subtype=subtype,
                cid=f"<{bare}>",
                disposition="inline",
                filename=_safe_filename(bare.split("@")[0], f"image{n}") + f".{subtype}",
            )
        if inline_images:
            html_part.set_param("type", "text/html")  # RFC 2387: the root part's type
    elif inline_images:
        raise ValueError("inline images need an HTML body to show them")
    for n, (filename, data, mime_type) in enumerate(attachments, 1):
        if not _MIME_TYPE.match(mime_type):
            raise ValueError(f"not a MIME type: {mime_type!r}")
        maintype, subtype = mime_type.split("/")
        msg.add_attachment(
            data,
            maintype=maintype,
            subtype=subtype,
            filename=_safe_filename(filename, f"attachment{n}"),
        )
    return msg


def inline_css(html: str) -> str:
    """``html`` with its ``<style>`` rules copied onto each element (for Gmail, Outlook…).

    The ``<style>`` blocks are kept for the clients that read them (media
    queries, dark mode). Remote style sheets are never fetched. Uses css-inline,
    else premailer; without either (or if the CSS cannot be read) the HTML is
    returned as it was, which still reads fine in most clients.
    """
    try:
        import css_inline
    except ImportError:  # pragma: no cover - css-inline is a dependency
        css_inline = None  # type: ignore[assignment]
    if css_inline is not None:
        inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
        try:
            return inliner.inline(html)
        except Exception:  # css_inline.InlineError and friends: send the HTML as written
            return html
    try:  # pragma: no cover - fallback
        from premailer import Premailer

        return Premailer(
            html, keep_style_tags=True, allow_network=False, disable_validation=True
        ).transform()
    except Exception:  # pragma: no cover
        return html


# ----------------------------------------------------------------------------- files


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._@+-]+")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", re.I)


def _file_stem(key: str) -> str:
    stem = _UNSAFE_NAME.sub("_", key).strip("._") or "message"
    if _WINDOWS_RESERVED.match(stem):
        stem = "_" + stem
    return stem[:150]


def write_eml(outgoing: Sequence[Outgoing], folder: Path) -> list[Path]:
    """Write each message as ``folder/<key made safe>.eml`` (for ``--dry-run``); the paths.

    Names are stable (``weekly:2026-W47:ann@example.com`` ->
    ``weekly_2026-W47_ann@example.com.eml``), so a second dry run replaces the
    first. Each file is written aside and moved into place.
    """
    folder = Path(folder)
    paths: list[Path] = []
    taken: set[str] = set()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for item in outgoing:
            stem = _file_stem(item.key)
            name, n = stem, 1
            while name.lower() in taken:  # two keys that read alike: keep both
                n += 1
                name = f"{stem}-{n}"
            taken.add(name.lower())
            path = folder / f"{name}.eml"
            write_atomic(path, item.message.as_bytes(policy=email_policy.SMTP))
            paths.append(path)
    except OSError as e:
        raise SheetCRMError(
            Problem(
                "write_failed",
                f"the e-mails could not be written to {folder}: {e.strerror or e}",
                hint="choose a folder you can write the e-mails to",
                remedy="eml_folder",
            )
        ) from e
    return paths


def sent_log_path(workbook: Path) -> Path:
    """Where the sent log of ``workbook`` lives: ``.crm.xlsx.sheetcrm-sent.json`` beside it."""
    workbook = Path(workbook)
    return workbook.with_name(f".{workbook.name}.sheetcrm-sent.json")


IN_FLIGHT = "in flight since "


class SentLog:
    """Which messages went, so a re-run never sends one twice: ``{key: ISO time}`` in JSON.

    A key is recorded *in flight* (``"in flight since <ISO time>"``) just before
    its message's DATA goes to the server, and *sent* (the time) once the server
    has answered that it accepted it. A key still in flight after a run is one
    whose outcome nobody can know (the reply was lost): it may have been sent.
    Both count as recorded (``key in log``), so nothing recorded is sent again
    without the owner's word (``sheetcrm email --resend KEY``): at most once.

    Use with :func:`send`: ``send(out, config, already_sent=log.__contains__,
    mark_sent=log.mark, mark_in_flight=log.mark_in_flight, unmark=log.forget,
    may_have_gone=log.in_flight)``. Each change re-reads the file, changes one key
    and writes it aside then moves it into place, so a crash leaves the old file or
    the new one, never half of one. Runs that change the log hold
    :func:`send_lock`, so two of them never interleave.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._sent = self._read()

    def _read(self) -> dict[str, str]:
        data = read_json_sidecar(self.path, self._unreadable)
        if data is None:
            return {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise self._unreadable("it is not a list of keys and times")
        return data

    def _unreadable(self, why: str) -> SheetCRMError:
        return SheetCRMError(
            Problem(
                "sent_log_unreadable",
                f"the record of e-mails already sent ({self.path}) cannot be read: {why}",
                hint="so nothing is sent twice, nothing was sent; fix or delete that file "
                "(deleting it means this week's e-mails may go again)",
            )
        )

    def __contains__(self, key: object) -> bool:
        """True when ``key`` was sent or may have been (in flight): not to be sent again."""
        return key in self._sent

    def __len__(self) -> int:
        return len(self._sent)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._sent)

    def get(self, key: str) -> str | None:
        """When ``key`` was sent (ISO 8601), ``in flight since …``, or None."""
        return self._sent.get(key)

    def in_flight(self, key: str) -> bool:
        """True when ``key`` went to the server but no answer came back: it may have been sent."""
        return self._sent.get(key, "").startswith(IN_FLIGHT)

    def mark(self, key: str, when: datetime | None = None) -> None:
        """Record ``key`` as sent at ``when`` (default now), on disk at once."""
        self._change(key, _stamp(when))

    def mark_in_flight(self, key: str, when: datetime | None = None) -> None:
        """Record that ``key`` is about to go (before DATA), on disk at once."""
        self._change(key, IN_FLIGHT + _stamp(when))

    def forget(self, key: str) -> None:
        """Remove ``key`` (it was not sent after all, or the owner asked to send it again)."""
        if key in self._sent or key in self._read():
            self._change(key, None)

    def _change(self, key: str, value: str | None) -> None:
        merged = {**self._read(), **self._sent}
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
        data = json.dumps(merged, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            write_atomic(self.path, data.encode("utf-8"))
        except OSError as e:
            raise SheetCRMError(
                Problem(
                    "write_failed",
                    f"the record of e-mails sent ({self.path}) could not be written: "
                    f"{e.strerror or e}",
                    hint="make the workbook's folder writable; sending stopped so nothing "
                    "goes twice",
                )
            ) from e
        self._sent = merged


def _stamp(when: datetime | None) -> str:
    when = when or datetime.now().astimezone()
    return (when if when.tzinfo else when.astimezone()).isoformat(timespec="seconds")


def send_lock_path(workbook: Path) -> Path:
    """The lock a sending run holds: ``.crm.xlsx.sheetcrm-send.lock`` beside the workbook."""
    workbook = Path(workbook)
    return workbook.with_name(f".{workbook.name}.sheetcrm-send.lock")


class SendingBusy(SheetCRMError):
    """Another run is sending this workbook's e-mail right now: not now, try again later."""

    exit_code = 3


@contextmanager
def send_lock(workbook: Path) -> Iterator[None]:
    """Hold the workbook's sending lock for the block, or raise :class:`SendingBusy` at once.

    Two runs that each read the sent log and then send would each send every
    message; with the lock the second stops before it sends anything. It does
    not wait: the first run may take minutes, and a scheduled job (exit 3)
    or the owner can run again afterwards, when the sent log keeps everything
    the first run sent from going twice. The operating system releases the lock
    when a run ends, even by a crash, so a leftover lock file is harmless.
    """
    path = send_lock_path(workbook)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        name = Path(workbook).name
        raise SendingBusy(
            Problem(
                "email_running",
                f"another sheetcrm command is sending e-mail for {name} right now, so this "
                "run sent nothing",
                hint="let it finish, then run the same command again: whatever it sent will "
                "not go twice",
            )
        ) from None
    except OSError as e:
        raise SheetCRMError(
            Problem(
                "write_failed",
                f"the sending lock {path} could not be made: {e.strerror or e}; nothing was sent",
                hint="make the workbook's folder writable",
            )
        ) from e
    try:
        yield
    finally:
        lock.release()


# ----------------------------------------------------------------------------- sending


@dataclass
class SendResult:
    """What :func:`send` did: keys sent now, failed (with why), skipped, and uncertain."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # already sent by an earlier run
    # The reply to DATA never came (now or in an earlier run): perhaps delivered,
    # perhaps not. Never tried again without the owner's word (--resend KEY).
    uncertain: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.uncertain


class _MayHaveGone(Exception):
    """The whole message went to the server but its answer did not come back."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _reset(smtp: smtplib.SMTP) -> None:
    """RSET after a refusal, so the next message starts clean; a dead line is found later."""
    with suppress(OSError, smtplib.SMTPException):
        smtp.rset()


def _transmit(
    smtp: smtplib.SMTP, item: Outgoing, envelope_from: str, before_data: Callable[[str], None]
) -> dict[str, tuple[int, bytes]]:
    """One SMTP transaction (MAIL, RCPT, DATA) for ``item``; the recipients refused.

    smtplib's ``send_message`` is not used because it cannot tell a failure
    before the message went from one after: here ``before_data(key)`` runs once
    the recipients are accepted and before DATA, and a connection lost after the
    whole message was written raises :class:`_MayHaveGone`, never a plain error
    that would invite a retry. Anything raised before that means not sent.
    """
    data = item.message.as_bytes(policy=email_policy.SMTP)
    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.mail(envelope_from)
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            _reset(smtp)
        raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
    refused: dict[str, tuple[int, bytes]] = {}
    recipients = item.recipients
    for address in recipients:
        code, reply = smtp.rcpt(address)
        if code not in (250, 251):
            refused[address] = (code, reply)
        if code == 421:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        _reset(smtp)
        raise smtplib.SMTPRecipientsRefused(refused)
    try:
        before_data(item.key)
    except BaseException:
        _reset(smtp)
        raise
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    body = re.sub(rb"(?m)^\.", b"..", data)  # a line starting with "." is doubled (RFC 5321)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    try:
        smtp.send(body + b".\r\n")
        code, reply = smtp.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as e:
        smtp.close()
        raise _MayHaveGone(e) from None
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)  # an answer, and not "accepted": not sent
    return refused


class _Trouble(Exception):
    """The connection is unusable: a reason in plain words and what to do."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.reason, self.hint = reason, hint


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _one_line(value)


def _server_words(code: int, message: bytes | str) -> str:
    return f"{code} {_text(message)}".strip()


_SETTINGS = f"{_ENV}HOST, {_ENV}PORT and {_ENV}SECURITY (or the SMTP URL)"


def _trouble(e: BaseException, config: SmtpConfig, stage: str) -> _Trouble:
    """Turn what smtplib/ssl/socket raised into words an owner's IT helper can act on."""
    where = f"{config.host}:{config.port}"
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return _Trouble(
            f"the server {where} refused the login for user {config.user} "
            f"({_server_words(e.smtp_code, e.smtp_error)})",
            f"check {_ENV}USER and {_ENV}PASSWORD; some providers want an app password",
        )
    if isinstance(e, smtplib.SMTPNotSupportedError):
        if stage == "starttls":
            return _Trouble(
                f"the server {where} does not offer STARTTLS",
                f"set {_ENV}SECURITY=ssl (usually port 465) if it expects SSL from the start",
            )
        if stage == "login":
            return _Trouble(
                f"the server {where} does not offer a login (SMTP AUTH)",
                f"leave {_ENV}USER and {_ENV}PASSWORD out, or use {_ENV}SECURITY=starttls: "
                "many servers only offer a login on an encrypted connection",
            )
    if isinstance(e, ssl.SSLCertVerificationError):
        return _Trouble(
            f"the certificate of {where} could not be trusted ({e.verify_message or e.reason})",
            f"if the server uses a certificate of its own, point {_ENV}CAFILE at it (PEM)",
        )
    if isinstance(e, ssl.SSLError):
        return _Trouble(
            f"the encrypted connection to {where} failed ({e.reason or e})",
            f"check {_ENV}SECURITY: ssl is for port 465, starttls for port 587",
        )
    if isinstance(e, socket.gaierror):
        return _Trouble(
            f"the mail server name {config.host} could not be found",
            f"check {_ENV}HOST and that this computer is online",
        )
    if isinstance(e, ConnectionRefusedError | smtplib.SMTPConnectError):
        return _Trouble(
            f"nothing answered at {where} (connection refused)",
            f"check {_SETTINGS} and that the mail server is running",
        )
    if isinstance(e, TimeoutError):
        return _Trouble(
            f"the mail server {where} did not answer within {config.timeout:g} seconds",
            f"check {_SETTINGS}: ssl on a starttls port (or the reverse) also hangs like this; "
            "a firewall may block the port",
        )
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return _Trouble(
            f"the server {where} closed the connection",
            f"check {_SETTINGS}; try again later if the server is busy",
        )
    if isinstance(e, smtplib.SMTPResponseException):
        return _Trouble(
            f"the server {where} answered {_server_words(e.smtp_code, e.smtp_error)}",
            "try again later; ask whoever runs the mail server if it keeps happening",
        )
    if isinstance(e, OSError):
        return _Trouble(
            f"the connection to {where} failed ({e.strerror or type(e).__name__})",
            f"check {_SETTINGS} and the network",
        )
    return _Trouble(f"sending through {where} failed ({type(e).__name__})", "try again later")


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    """An open, greeted, encrypted (as asked) and logged-in connection, or _Trouble."""
    stage = "connect"
    smtp: smtplib.SMTP | None = None
    try:
        context = None
        if config.security != "none":
            context = ssl.create_default_context(cafile=config.cafile)
        if config.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        stage = "ehlo"
        smtp.ehlo()
        if config.security == "starttls":
            stage = "starttls"
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.user:
            stage = "login"
            smtp.login(config.user, config.password or "")
        return smtp
    except (OSError, smtplib.SMTPException, ValueError) as e:
        if smtp is not None:
            smtp.close()
        raise _trouble(e, config, stage) from None


def _closing(e: BaseException) -> bool:
    """True when the server hung up (or said 421: closing), so a new connection may help."""
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code == 421
    return isinstance(e, OSError) and not isinstance(e, smtplib.SMTPException)


def _refused(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "refused by the server: " + "; ".join(
        f"{addr} ({_server_words(code, msg)})" for addr, (code, msg) in refused.items()
    )


def _scrub(text: str, config: SmtpConfig) -> str:
    """``text`` with the password (if a server ever echoed it) blanked out."""
    if config.password and len(config.password) >= 3:
        text = text.replace(config.password, "********")
    return text


def _label(item: Outgoing) -> str:
    recipients = item.recipients
    if all(r.lower() in item.key.lower() for r in recipients):
        return item.key
    return f"{item.key} (to {', '.join(recipients)})"


def send(
    outgoing: Sequence[Outgoing],
    config: SmtpConfig,
    *,
    already_sent: Callable[[str], bool] = lambda key: False,
    mark_sent: Callable[[str], None] = lambda key: None,
    mark_in_flight: Callable[[str], None] = lambda key: None,
    unmark: Callable[[str], None] = lambda key: None,
    may_have_gone: Callable[[str], bool] = lambda key: False,
) -> SendResult:
    """Send every message not ``already_sent``, over one connection; what happened.

    At most once: ``mark_in_flight(key)`` is called just before each message's
    DATA, ``mark_sent(key)`` right after the server accepts it, and ``unmark(key)``
    when it surely did not go (refused, or the line dropped before DATA). When
    the connection is lost after the whole message was written, nobody can know
    whether the server kept it: the key stays in flight, is listed in
    ``uncertain`` and is never tried again here; the run goes on with the next
    message on a new connection. Keys ``already_sent`` that ``may_have_gone``
    (in flight since an earlier run) are listed in ``uncertain`` too, not sent.

    A message refused for all its recipients is in ``failed`` with the server's
    words and is not marked; one accepted for some recipients and refused for
    others is sent *and* in ``failed`` (a re-run will not send it again, so the
    others get no copy twice). A connection dropped before a message went is
    reopened and the message tried again, once.

    Raises SheetCRMError ``smtp_failed`` when the server cannot be used at all
    (refused connection, unknown host, TLS or login failure, hung up twice): its
    message says which messages were sent and which were not, and its problems
    list each one (codes ``sent`` / ``maybe_sent`` / ``not_sent``). Never the password.
    """
    result = SendResult()
    pending: list[Outgoing] = []
    for item in outgoing:
        if already_sent(item.key):
            (result.uncertain if may_have_gone(item.key) else result.skipped).append(item.key)
        else:
            pending.append(item)
    if not pending:
        return result
    envelope_from = config.sender_address
    smtp: smtplib.SMTP | None = None
    index = 0
    try:
        smtp = _connect(config)
        retried = False
        while index < len(pending):
            item = pending[index]
            if smtp is None:  # the last message's answer was lost with its connection
                smtp = _connect(config)
            try:
                refused = _transmit(smtp, item, envelope_from, mark_in_flight)
            except _MayHaveGone:
                result.uncertain.append(item.key)
                smtp, index, retried = None, index + 1, False
                continue
            except SheetCRMError as e:  # the sent log cannot be written: stop, nothing went
                trouble = _Trouble(e.problem.message.rstrip("."), e.problem.hint or "")
                raise _failure(trouble, pending, index, result, config, e.problem.code) from e
            except (OSError, smtplib.SMTPException) as e:
                unmark(item.key)  # it surely did not go: a re-run sends it
                if _closing(e):
                    smtp.close()
                    if retried:
                        raise _trouble(e, config, "send") from None
                    retried = True
                    smtp = _connect(config)
                    continue
                if isinstance(e, smtplib.SMTPRecipientsRefused):
                    reason = _refused(e.recipients)
                elif isinstance(e, smtplib.SMTPSenderRefused):
                    reason = (
                        f"the server refused the sender {config.sender_address} "
                        f"({_server_words(e.smtp_code, e.smtp_error)})"
                    )
                elif isinstance(e, smtplib.SMTPResponseException):
                    reason = f"the server refused it ({_server_words(e.smtp_code, e.smtp_error)})"
                else:
                    reason = f"it could not be sent ({_text(str(e))})"
                result.failed[item.key] = _scrub(reason, config)
            else:
                result.sent.append(item.key)
                if refused:
                    result.failed[item.key] = _scrub(_refused(refused), config)
                index += 1
                try:
                    mark_sent(item.key)
                except SheetCRMError as e:  # cannot record it: stop before anything goes twice
                    trouble = _Trouble(
                        f"{e.problem.message.rstrip('.')}; so {item.key} was sent but is not "
                        "recorded, and a re-run would send it again",
                        e.problem.hint or "",
                    )
                    raise _failure(trouble, pending, index, result, config, e.problem.code) from e
                retried = False
                continue
            index += 1
            retried = False
    except _Trouble as trouble:
        raise _failure(trouble, pending, index, result, config) from None
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return result


def _failure(
    trouble: _Trouble,
    pending: Sequence[Outgoing],
    index: int,
    result: SendResult,
    config: SmtpConfig,
    code: str = "smtp_failed",
) -> SheetCRMError:
    """The error for a stop at ``pending[index]``: which messages went and which did not."""
    labels = {item.key: _label(item) for item in pending}
    sent = set(result.sent)
    not_sent = [key for key in result.failed if key not in sent]
    not_sent += [item.key for item in pending[index:]]
    parts = [f"e-mail could not be sent: {trouble.reason.rstrip('.')}."]
    if result.sent:
        parts.append(f"Sent before that: {', '.join(result.sent)}.")
    if not_sent:
        parts.append(f"Not sent: {', '.join(labels[k] for k in not_sent)}.")
    if result.uncertain:
        parts.append(
            "May have been sent (the server's answer was lost, so they are not sent again "
            f"unless you say so): {', '.join(labels.get(k, k) for k in result.uncertain)}."
        )
    if result.skipped:
        parts.append(f"Already sent by an earlier run: {len(result.skipped)}.")
    hint = trouble.hint.rstrip(".")
    if not_sent:
        hint += ". Then run the same command again: only the e-mails not sent will go"
    main = Problem(
        code,
        _scrub(" ".join(parts), config),
        value=config.describe(),
        hint=_scrub(hint, config),
        remedy="smtp_url",  # the CLI names its --smtp-url where the hint says "the SMTP URL"
    )
    statuses = [
        Problem("sent", f"sent: {labels[key]}", value=key, severity="warning")
        for key in result.sent
    ]
    statuses += [
        Problem(
            "not_sent",
            _scrub(f"not sent: {labels[key]} ({result.failed.get(key, 'not tried')})", config)
            if key in result.failed
            else f"not sent: {labels[key]}",
            value=key,
        )
        for key in not_sent
    ]
    statuses += [
        Problem("maybe_sent", f"may have been sent: {labels.get(key, key)}", value=key)
        for key in result.uncertain
    ]
    return SheetCRMError(main, problems=[main, *statuses])
