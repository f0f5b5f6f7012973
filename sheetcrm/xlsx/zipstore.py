"""The zip store: every member of the package kept as the bytes it was read as.

Members are decompressed on first use; the package is written back member by
member, unchanged members copied raw (see :meth:`ZipStore.to_bytes`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import re
import struct
import threading
import zipfile
import zlib
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Self

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.xlsx import deflate, safety
from sheetcrm.xlsx.fragments import _SheetLayout
from sheetcrm.xlsx.naming import PLAIN, Naming

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --------------------------------------------------------------------------- package


_UNREAD = None  # a member not decompressed yet


class _InSource(bytes):
    """Marks an original too big to keep twice: unpacked again from the file when asked."""


_IN_SOURCE = _InSource()


class _LazyParts(dict):
    """Part name -> bytes, each member decompressed only when something reads it.

    A write touches one or two sheets; unpacking every chart, image and pivot
    cache of the workbook only to copy it back would cost most of the time.
    """

    def __init__(self, zf: zipfile.ZipFile, workbook: str) -> None:
        super().__init__()
        self._zf, self._workbook = zf, workbook
        self._soon: dict[str, Future[bytes]] = {}

    def __getitem__(self, name: str) -> bytes:
        value = super().__getitem__(name)
        if value is _UNREAD:
            soon = self._soon.pop(name, None)
            value = soon.result() if soon is not None else self._unpacked(name)
            super().__setitem__(name, value)
        return value

    def _unpacked(self, name: str) -> bytes:
        try:
            return _unpack(self._zf, name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
            raise SheetCRMError(safety.damaged_part(self._workbook, name, e)) from None

    def unpack_soon(self, name: str) -> None:
        """Start unpacking a member in a thread (zlib lets Python go on meanwhile); the
        first read waits for it, and a damaged member is told by that read."""
        if name in self and not self.is_read(name) and name not in self._soon:
            soon: Future[bytes] = Future()

            def run() -> None:
                try:
                    soon.set_result(self._unpacked(name))
                except BaseException as e:
                    soon.set_exception(e)

            self._soon[name] = soon
            threading.Thread(target=run, name="sheetcrm-unpack", daemon=True).start()

    def get(self, name: str, default: object = None) -> object:
        return self[name] if name in self else default  # noqa: SIM401 (self.get recurses)

    def items(self):  # type: ignore[no-untyped-def]
        return [(name, self[name]) for name in list(self.keys())]

    def values(self):  # type: ignore[no-untyped-def]
        return [self[name] for name in list(self.keys())]

    def is_read(self, name: str) -> bool:
        return super().__getitem__(name) is not _UNREAD


# Members bigger than this are unpacked in one step into a buffer of their own size
# (ISA-L, faster than zipfile's piece by piece, which also holds the member 2.5 times).
_BIG_MEMBER = 1024**2
# An original bigger than this is unpacked again when the proof asks for it, rather than
# kept beside its new version (a million rows are 570 MB; 100,000 are 56 MB, kept: the
# second unpacking would cost more than the memory).
_KEEP_ORIGINAL = 128 * 1024**2


def _unpack(zf: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, CRC checked.

    ``ZipFile.read`` grows its result piece by piece, holding about two and a half
    times the member at its peak: 1.4 GB for the 570 MB sheet of a million rows.
    A deflated member of a megabyte or more is unpacked in one step (``deflate.unpack``)
    to the size the zip records, beside its compressed bytes."""
    info = zf.getinfo(name)
    if info.file_size < _BIG_MEMBER or info.compress_type != zipfile.ZIP_DEFLATED or zf.fp is None:
        return zf.read(name)
    # zipfile's own lock on the shared file: another thread may be reading a member.
    with zf._lock:  # type: ignore[attr-defined]
        raw = raw_member(zf.fp, info)
    data = deflate.unpack(raw, info.file_size)
    del raw
    if len(data) != info.file_size or deflate.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {name!r}")
    return data


def member_start(fp: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where a zip member's stored (compressed) bytes begin in the archive."""
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def raw_member(fp: IO[bytes], info: zipfile.ZipInfo) -> bytes:
    """A zip member's stored (compressed) bytes, exactly as they are in the archive."""
    fp.seek(member_start(fp, info))
    data = fp.read(info.compress_size)
    if len(data) != info.compress_size:
        raise zipfile.BadZipFile(f"{info.filename} is cut short")
    return data


class ZipStore:
    """The members of an .xlsx package, held in memory in their original order."""

    def __init__(
        self, data: bytes | IO[bytes], name: str = "the workbook", naming: Naming | None = None
    ) -> None:
        """``data``: the package's bytes, or an open file of it (for reading: a read of
        a large workbook need not hold the whole file in memory)."""
        self.name = name
        self.naming = naming or PLAIN  # the domain's words for sheets and columns, if given
        self._infos: list[zipfile.ZipInfo] = []
        self._parts: dict[str, bytes] = {}
        self._source_infos: dict[str, zipfile.ZipInfo] = {}
        self.changed: set[str] = set()
        self._layouts: dict[str, _SheetLayout] = {}
        self._originals: dict[str, bytes] = {}
        self._deflated: dict[str, deflate.Deflated] = {}
        self._aliases: dict[str, str] | None = None
        self._load(data)
        # caches by part, dropped here when a part is written or removed
        self._rels_cache: dict[str, list[tuple[str, str, str, str]]] = {}

    # ---- loading
    @classmethod
    def from_path(cls, path: str | Path, naming: Naming | None = None) -> Self:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SheetCRMError(
                Problem("not_a_workbook", f"cannot read {path.name}: {exc.strerror or exc}")
            ) from None
        from sheetcrm.xlsx import encryption  # a password-protected workbook, opened in memory

        return cls(encryption.plain_bytes(path, data), path.name, naming)

    def _load(self, data: bytes | IO[bytes]) -> None:
        if isinstance(data, bytes):
            head = data[:8]
        else:
            head = data.read(8)
            data.seek(0)
        if head == _OLE_MAGIC:
            raise SheetCRMError(
                Problem(
                    "encrypted",
                    f"{self.name} is protected with a password (or is an old .xls file); "
                    "sheetcrm cannot open it",
                    hint="in Excel remove the password (File > Info > Protect Workbook) "
                    "and save it as .xlsx",
                )
            )
        try:
            self._source: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes) else data
            zf = zipfile.ZipFile(self._source)
            self._parts = _LazyParts(zf, self.name)
            infos = zf.infolist()
            safety.check_archive(infos, self.name)  # the same limits as every read
            for info in infos:
                if info.is_dir():
                    self._infos.append(info)
                    continue
                if info.flag_bits & 0x1:
                    raise SheetCRMError(
                        Problem("encrypted", f"{self.name} has encrypted zip members")
                    )
                self._infos.append(info)
                dict.__setitem__(self._parts, info.filename, _UNREAD)
                self._source_infos[info.filename] = info
        except SheetCRMError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise SheetCRMError(
                Problem(
                    "not_a_workbook",
                    f"{self.name} is not an Excel workbook sheetcrm can open ({exc})",
                    hint="check the file name; save it from Excel as .xlsx",
                )
            ) from None
        except (NotImplementedError, RuntimeError) as exc:  # unsupported compression
            raise SheetCRMError(
                Problem("not_a_workbook", f"{self.name} cannot be unpacked ({exc})")
            ) from None

    # ---- raw parts
    @property
    def part_names(self) -> list[str]:
        return [i.filename for i in self._infos if not i.is_dir()]

    def _alias_map(self) -> dict[str, str]:
        """Part names as the package spells them, keyed also loosely (case, backslashes)."""
        if self._aliases is None or len(self._aliases) < len(self._parts):
            aliases = {}
            for name in self._parts:
                aliases[name.replace("\\", "/").lower()] = name
            aliases.update({name: name for name in self._parts})
            self._aliases = aliases
        return self._aliases

    def _real(self, part: str) -> str:
        aliases = self._alias_map()
        return aliases.get(part) or aliases.get(part.replace("\\", "/").lower(), part)

    def has(self, part: str) -> bool:
        return self._real(part) in self._parts

    def read(self, part: str) -> bytes:
        try:
            return self._parts[self._real(part)]
        except KeyError:
            raise SheetCRMError(
                Problem("not_a_workbook", f"{self.name} has no part {part}")
            ) from None

    def part_size(self, part: str) -> int:
        """How many bytes the part holds unpacked (without unpacking it)."""
        part = self._real(part)
        if isinstance(self._parts, _LazyParts) and not self._parts.is_read(part):
            return self._source_infos[part].file_size
        return len(self.read(part))

    def source_bytes(self) -> bytes:
        """The package as it was read (a copy)."""
        if isinstance(self._source, io.BytesIO):
            return self._source.getvalue()
        with self._reading():
            self._source.seek(0)
            return self._source.read()

    def close(self) -> None:
        """Let go of the file the package was read from (when it was given one)."""
        if not isinstance(self._source, io.BytesIO):
            self._source.close()

    def unpack_soon(self, part: str) -> None:
        """Unpack a part in a thread while the caller does other work (see _LazyParts)."""
        if isinstance(self._parts, _LazyParts):
            self._parts.unpack_soon(self._real(part))

    def unpacked(self, part: str) -> bytes:
        """A part's bytes, unpacked now and not kept (``read`` keeps what it unpacks): for
        a reader that needs a large part once."""
        part = self._real(part)
        if isinstance(self._parts, _LazyParts) and not self._parts.is_read(part):
            return self._parts._unpacked(part)
        return self.read(part)

    def open_part(self, part: str) -> IO[bytes]:
        """A part as a stream: a member not read yet is unpacked as it is read, so even a
        huge sheet can be scanned in bounded memory."""
        part = self._real(part)
        if isinstance(self._parts, _LazyParts) and not self._parts.is_read(part):
            return self._parts._zf.open(self._source_infos[part])
        return io.BytesIO(self.read(part))

    def write(self, part: str, data: bytes) -> None:
        part = self._real(part)
        if part not in self._parts:
            info = zipfile.ZipInfo(part, date_time=dt.datetime.now().timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            self._infos.append(info)
        if self._parts.get(part) != data:
            if part in self._parts and part not in self._originals:
                old = self._parts[part]
                # A huge part read from the file is read again when asked for.
                big = len(old) > _KEEP_ORIGINAL and part in self._source_infos
                self._originals[part] = _IN_SOURCE if big else old
            self._parts[part] = data
            self.changed.add(part)
        self._layouts.pop(part, None)

    def remove(self, part: str) -> None:
        """Drop a member from the package (its relationships and content type are the
        caller's to edit)."""
        part = self._real(part)
        if part not in self._parts:
            return
        self._originals.setdefault(part, self._parts[part])
        dict.__delitem__(self._parts, part)
        self._infos = [i for i in self._infos if i.filename != part]
        self._source_infos.pop(part, None)
        self.changed.add(part)
        self._aliases = None
        self._rels_cache.clear()

    def remove_part(self, part: str) -> None:
        """Drop a member and its content-type override (a sheet or note sheetcrm made)."""
        part = self._real(part)
        if part not in self._parts:
            return
        self.remove(part)
        self._layouts.pop(part, None)
        types = self.read("[Content_Types].xml")
        types = re.sub(
            rb"<(?:[\w.-]+:)?Override\b[^>]*?PartName=\"/"
            + re.escape(part.encode())
            + rb"\"[^>]*/>",
            b"",
            types,
        )
        self.write("[Content_Types].xml", types)

    def original(self, part: str) -> bytes | None:
        """A part's bytes as they were read (None for a part added since)."""
        if part in self._originals:
            old = self._originals[part]
            if old is _IN_SOURCE:
                assert isinstance(self._parts, _LazyParts)
                return _unpack(self._parts._zf, part)
            return old
        return self._parts.get(part) if part not in self.changed else None

    def to_bytes(self) -> bytes:
        """The package as a zip: members in their order, untouched members byte-identical."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
            for old in self._infos:
                info = zipfile.ZipInfo(old.filename, date_time=old.date_time)
                info.compress_type = old.compress_type
                info.external_attr = old.external_attr
                info.create_system = old.create_system
                info.comment = old.comment
                if old.is_dir():
                    zf.writestr(info, b"")
                    continue
                if self.raw(old.filename) is not None:
                    self._copy_raw(zf, old)
                    continue
                data = self._parts[old.filename]
                changed = old.filename in self.changed
                big = len(data) >= deflate.IN_PIECES_FROM
                if changed and big and info.compress_type == zipfile.ZIP_DEFLATED:
                    self._write_deflated(zf, info, data)
                    continue
                zf.writestr(info, data, compresslevel=1 if changed else None)
        return out.getvalue()

    def deflated(self, name: str) -> deflate.Deflated | None:
        """How a member was deflated in pieces by the last :meth:`to_bytes` (None: by zipfile)."""
        return self._deflated.get(name)

    def _write_deflated(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        """Write a big changed member deflated on every core (see :mod:`deflate`): the
        pieces go out as they are ready, then the header gets the CRC and sizes."""
        assert zf.fp is not None
        info.flag_bits &= ~0x08  # sizes in the header: no data descriptor after the data
        info.CRC, info.file_size = 0, len(data)  # the header's length depends on the sizes
        info.compress_size = len(data)
        info.header_offset = zf.fp.tell()
        zf.fp.write(info.FileHeader())
        packed = deflate.deflate(data, zf.fp.write)
        info.CRC, info.compress_size = packed.crc, sum(packed.sizes)
        end = zf.fp.tell()
        zf.fp.seek(info.header_offset)
        header = info.FileHeader()
        if zf.fp.tell() + len(header) + info.compress_size != end:  # pragma: no cover
            raise AssertionError("a zip header changed length")  # sizes never cross zip64
        zf.fp.write(header)
        zf.fp.seek(end)
        self._finish_member(zf, info)
        self._deflated[info.filename] = packed

    def raw(self, name: str) -> bytes | None:
        """The stored bytes of a member left as it was read (None once it was changed)."""
        info = self._source_infos.get(name)
        if info is None or name in self.changed:
            return None
        with self._reading():
            return raw_member(self._source, info)

    def _reading(self) -> contextlib.AbstractContextManager[object]:
        """Hold this while seeking in the file read from: a part may be unpacking in a
        thread (see unpack_soon), through zipfile, which takes this same lock."""
        if isinstance(self._parts, _LazyParts):
            return self._parts._zf._lock  # type: ignore[attr-defined]
        return contextlib.nullcontext()

    def _copy_raw(self, zf: zipfile.ZipFile, old: zipfile.ZipInfo) -> None:
        """Copy a member without unpacking it: same stored bytes, same CRC."""
        raw = self.raw(old.filename)
        assert raw is not None
        self._write_stored_bytes(zf, copy.copy(old), raw)

    @classmethod
    def _write_stored_bytes(cls, zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
        """A member whose stored bytes, CRC and sizes are known."""
        assert zf.fp is not None
        info.flag_bits &= ~0x08  # sizes are known: no data descriptor after the data
        info.header_offset = zf.fp.tell()
        zf.fp.write(info.FileHeader())
        zf.fp.write(data)
        cls._finish_member(zf, info)

    @staticmethod
    def _finish_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        assert zf.fp is not None
        zf.start_dir = zf.fp.tell()  # where the central directory will go
        zf.filelist.append(info)
        zf.NameToInfo[info.filename] = info
        zf._didModify = True  # type: ignore[attr-defined]  # private: write the directory
