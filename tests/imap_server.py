"""A real IMAP server for the tests: Debian's Dovecot, on 127.0.0.1, in a temp dir.

    with imap_server() as server:
        server.append(raw_bytes)                   # a message arrives in INBOX
        env = server.env()                         # SHEETCRM_IMAP_* for the CLI
        server.uids("sheetcrm/logged")             # what is in a folder now

Dovecot refuses to run its login processes as root, so when the tests run as
root they use a dedicated unprivileged user (``sheetcrmtest``, made once with
``useradd``); otherwise the current user runs everything. The configuration,
the password file, the mail and the logs all live in the temp dir; nothing
under /etc is read or changed. Tests skip with a reason when Dovecot is not
installed (``make system-deps`` installs it).
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from imap_tools import MailBox, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

HOST = "127.0.0.1"
USER = "crm@example.com"
PASSWORD = "imap-test-password"
TEST_ACCOUNT = "sheetcrmtest"  # the system user Dovecot runs as when the tests run as root


def dovecot() -> str:
    path = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if path is None:
        pytest.skip("Dovecot is not installed (make system-deps installs dovecot-imapd)")
    return path


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _account() -> pwd.struct_passwd:
    """The unprivileged user that owns the mail and runs Dovecot's processes."""
    if os.getuid() != 0:
        return pwd.getpwnam(getpass.getuser())
    try:
        return pwd.getpwnam(TEST_ACCOUNT)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                TEST_ACCOUNT,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(TEST_ACCOUNT)


@dataclass
class ImapServer:
    port: int
    base: Path
    cafile: str | None = None  # set when the server speaks SSL with its own certificate

    def env(self) -> dict[str, str]:
        env = {
            "SHEETCRM_IMAP_HOST": HOST,
            "SHEETCRM_IMAP_PORT": str(self.port),
            "SHEETCRM_IMAP_USER": USER,
            "SHEETCRM_IMAP_PASSWORD": PASSWORD,
            "SHEETCRM_IMAP_SECURITY": "ssl" if self.cafile else "none",
        }
        if self.cafile:
            env["SHEETCRM_IMAP_CAFILE"] = self.cafile
        return env

    def mailbox(self) -> Any:
        if self.cafile:
            context = ssl.create_default_context(cafile=self.cafile)
            box: Any = MailBox(HOST, port=self.port, ssl_context=context)
        else:
            box = MailBoxUnencrypted(HOST, port=self.port)
        box.login(USER, PASSWORD)
        return box

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.mailbox() as box:
            box.append(raw, folder)

    def uids(self, folder: str = "INBOX") -> list[str]:
        with self.mailbox() as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return [str(u) for u in box.uids()]

    def subjects(self, folder: str = "INBOX") -> list[str]:
        with self.mailbox() as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return [m.subject for m in box.fetch(mark_seen=False, headers_only=True)]

    def seen(self, folder: str = "INBOX") -> list[bool]:
        with self.mailbox() as box:
            box.folder.set(folder)
            return ["\\Seen" in m.flags for m in box.fetch(mark_seen=False, headers_only=True)]


@contextmanager
def imap_server(tls: Any = None, separator: str = "/") -> Iterator[ImapServer]:
    """Dovecot for the ``with`` block; ``tls`` (a smtp_server.Cert): SSL from the start."""
    binary = dovecot()
    account = _account()
    # Its own temp dir, not pytest's tmp_path: that one is private to root, and
    # Dovecot's mail processes run as the unprivileged user and must reach the mail.
    top = Path(tempfile.mkdtemp(prefix="sheetcrm-dovecot-"))
    top.chmod(0o755)
    base = top / "dovecot"
    (base / "mail").mkdir(parents=True)
    (base / "run").mkdir()
    port = _free_port()
    (base / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{account.pw_uid}:{account.pw_gid}::{base / 'mail'}::\n"
    )
    config = base / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = {HOST}
base_dir = {base / "run"}
state_dir = {base / "run"}
instance_name = sheetcrm-test-{port}
default_internal_user = {account.pw_name}
default_login_user = {account.pw_name}
{
            f"ssl = required{chr(10)}ssl_cert = <{tls.certfile}{chr(10)}ssl_key = <{tls.keyfile}"
            if tls
            else "ssl = no"
        }
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {base / "dovecot.log"}
mail_location = maildir:{base / "mail"}/Maildir
mail_uid = {account.pw_uid}
mail_gid = {account.pw_gid}
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base / "passwd"}
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {0 if tls else port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {port if tls else 0}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service stats {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = {separator}
}}
"""
    )
    if os.getuid() == 0:
        shutil.chown(base / "mail", account.pw_uid, account.pw_gid)
    # Not capture_output: the daemon keeps the pipes open, and run() would wait forever.
    errors = base / "start.err"
    with errors.open("w") as err:
        started = subprocess.run([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=err)
    if started.returncode != 0:
        raise RuntimeError(f"dovecot did not start: {errors.read_text()}")
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with closing(socket.create_connection((HOST, port), timeout=1)):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    log = (
                        (base / "dovecot.log").read_text()
                        if (base / "dovecot.log").exists()
                        else ""
                    )
                    raise RuntimeError(f"dovecot is not listening on {port}: {log}") from None
                time.sleep(0.1)
        server = ImapServer(port, base, tls.certfile if tls else None)
        try:
            with server.mailbox():
                pass
        except MailboxLoginError:
            raise RuntimeError((base / "dovecot.log").read_text()) from None
        yield server
    finally:
        subprocess.run(
            [binary, "-c", str(config), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(top, ignore_errors=True)


# ----------------------------------------------------------------------------- fixture mail


def message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    when: str = "Tue, 17 Nov 2026 10:15:00 +0100",
    message_id: str,
    cc: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes, str] | None = None,
    html: str | None = None,
) -> bytes:
    """A realistic message as a mail program writes it (UTF-8, quoted-printable)."""
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = when
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data, mime = attachment
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


GMAIL_REPLY = """Hei igjen,

Bremsene hviner fortsatt etter servicen, særlig i nedoverbakker.
Kan dere se på den på fredag?

Mvh
Jane

tir. 17. nov. 2026 kl. 09:00 skrev Kari <kari@example.com>:
> Hei Jane, vi har justert bremsene.
> Si fra om noe.
"""

OUTLOOK_REPLY = """Hello Kari,

Please send me the price list for winter tyres.

Best regards,
Ola Nordmann

________________________________
From: Kari <kari@example.com>
Sent: Monday, November 16, 2026 14:02
To: Ola Nordmann <ola@example.com>
Subject: Winter tyres

Hi Ola, we have winter tyres in stock.
"""


def bounce(message_id: str, original_to: str) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix sends it."""
    boundary = "BOUNDARY-dsn-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mail.example.com>\r\n"
        "To: crm@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 17 Nov 2026 11:00:00 +0100\r\n"
        f"Message-ID: {message_id}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered to {original_to}.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {original_to}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--{boundary}--\r\n"
    ).encode()
