"""Workbooks protected with a password to open: decrypted in memory, encrypted again on write.

Excel's "Encrypt with Password" wraps the .xlsx in an encrypted OLE container.
sheetcrm reads the password from ``SHEETCRM_WORKBOOK_PASSWORD`` or the system
keyring (service ``sheetcrm``, user = the workbook's file name), never from the
command line where it would stay in the shell history. The decrypted workbook
only ever lives in memory (bytes handed to calamine and to the part-level
Package); the writer encrypts the new bytes before anything touches the disk.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from sheetcrm.errors import Problem, SheetCRMError

PASSWORD_ENV = "SHEETCRM_WORKBOOK_PASSWORD"
KEYRING_SERVICE = "sheetcrm"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MARK = "EncryptedPackage".encode("utf-16-le")

# The last workbook decrypted, so one command decrypts it once: (path, size, mtime) -> bytes.
_cache: dict[tuple[str, int, int, str], bytes] = {}


def is_encrypted(data: bytes) -> bool:
    """True for an OLE container holding an encrypted OOXML package."""
    return data.startswith(_OLE_MAGIC) and _MARK in data


def file_is_encrypted(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            if f.read(8) != _OLE_MAGIC:
                return False
        return _MARK in path.read_bytes()
    except OSError:
        return False


def password_for(path: Path) -> str | None:
    """The password from the environment, else the system keyring, else None."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    try:  # optional: no keyring package, or no backend on this machine, is not an error
        import keyring  # type: ignore[import-not-found]

        found = keyring.get_password(KEYRING_SERVICE, Path(path).name)
    except Exception:
        return None
    return found or None


def decrypt(data: bytes, path: Path, password: str | None = None) -> bytes:
    """The plain .xlsx bytes of an encrypted workbook, or a refusal saying what to do."""
    import msoffcrypto  # type: ignore[import-untyped]

    name = Path(path).name
    password = password if password is not None else password_for(path)
    if password is None:
        raise SheetCRMError(
            Problem(
                "encrypted",
                f"{name} is protected with a password, and none was given; nothing was read "
                "or written",
                hint=f"set the password in the environment: {PASSWORD_ENV}=... (or store it in "
                f"the system keyring under service {KEYRING_SERVICE!r}, user {name!r}); "
                "sheetcrm never takes it on the command line. Or remove it in Excel: File > "
                "Info > Protect Workbook > Encrypt with Password",
            )
        )
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        office.load_key(password=password, verify_password=True)
        out = io.BytesIO()
        office.decrypt(out)
    except Exception as e:
        wrong = type(e).__name__ in ("InvalidKeyError", "DecryptionError")
        raise SheetCRMError(
            Problem(
                "wrong_password" if wrong else "not_a_workbook",
                f"the password in {PASSWORD_ENV} (or the keyring) does not open {name}; "
                "nothing was read or written"
                if wrong
                else f"{name} is encrypted in a way sheetcrm cannot read: {e}",
                hint="check the password: it is the one Excel asks for when opening the file"
                if wrong
                else "open it in Excel and save it again with Encrypt with Password",
            )
        ) from None
    return out.getvalue()


def plain_bytes(path: Path, data: bytes | None = None) -> bytes:
    """The workbook's .xlsx bytes: the file itself, or decrypted in memory when encrypted."""
    path = Path(path)
    if data is None:
        data = path.read_bytes()
    if not is_encrypted(data):
        return data
    password = password_for(path)
    try:
        st = os.stat(path)
        # The password is part of the key: a cached copy never opens without it.
        digest = hashlib.sha256((password or "").encode()).hexdigest()
        key: tuple[str, int, int, str] | None = (
            str(path.resolve()),
            st.st_size,
            st.st_mtime_ns,
            digest,
        )
    except OSError:
        key = None
    if password is not None and key is not None and key in _cache:
        return _cache[key]
    plain = decrypt(data, path, password)
    _cache.clear()  # one workbook at a time: no pile of decrypted copies in memory
    if key is not None:
        _cache[key] = plain
    return plain


def encrypt(plain: bytes, password: str) -> bytes:
    """``plain`` .xlsx bytes encrypted with ``password`` (ECMA-376 agile, as Excel does)."""
    from msoffcrypto.format.ooxml import OOXMLFile  # type: ignore[import-untyped]

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return out.getvalue()


def open_for_write(data: bytes, path: Path) -> tuple[bytes, str | None]:
    """(plain bytes, password) for a write: the password to encrypt with again, or None."""
    if not is_encrypted(data):
        return data, None
    password = password_for(path)
    return decrypt(data, path, password), password
