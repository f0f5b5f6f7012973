"""The inbox log beside the workbook: which e-mails ``sheetcrm inbox`` has logged, and where.

Its own module so that ``customer show``, which lists the e-mails kept for a
customer, reads the log without importing the mail machinery of :mod:`.inbox`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.files import read_json_sidecar, write_atomic


def log_path(workbook: Path) -> Path:
    """``.crm.xlsx.sheetcrm-inbox.json`` beside the workbook: Message-IDs already handled."""
    return workbook.with_name(f".{workbook.name}.sheetcrm-inbox.json")


def mail_dir(workbook: Path) -> Path:
    return workbook.parent / "mail"


class InboxLog:
    """``{"messages": {Message-ID: {...}}, "ignored": [address, ...]}``, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = self._read()

    def _read(self) -> dict[str, Any]:
        data = read_json_sidecar(self.path, self._broken)
        if data is None:
            return {"messages": {}, "ignored": []}
        if not isinstance(data, dict) or not isinstance(data.get("messages", {}), dict):
            raise self._broken("it is not what sheetcrm writes there")
        data.setdefault("messages", {})
        data.setdefault("ignored", [])
        return data

    def _broken(self, why: str) -> SheetCRMError:
        return SheetCRMError(
            Problem(
                "inbox_log_unreadable",
                f"the record of e-mails already logged ({self.path}) cannot be read: {why}",
                hint="so nothing is logged twice, nothing was read; fix or delete that file "
                "(deleting it may log messages still in the mailbox a second time)",
            )
        )

    def __contains__(self, message_id: object) -> bool:
        return message_id in self.data["messages"]

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        return dict(self.data["messages"])

    @property
    def ignored(self) -> list[str]:
        return list(self.data["ignored"])

    def save(
        self,
        messages: Mapping[str, Mapping[str, Any]] = {},
        ignore: Sequence[str] = (),
        forget: Sequence[str] = (),
    ) -> None:
        data = self._read()
        data["messages"].update({k: dict(v) for k, v in messages.items()})
        for message_id in forget:
            data["messages"].pop(message_id, None)
        data["ignored"] = sorted({*data["ignored"], *(a.lower() for a in ignore)})
        text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True, default=str) + "\n"
        try:
            write_atomic(self.path, text.encode("utf-8"))
        except OSError as e:
            raise SheetCRMError(
                Problem(
                    "write_failed",
                    f"the record of e-mails logged ({self.path}) could not be written: "
                    f"{e.strerror or e}",
                    hint="make the workbook's folder writable, then run the command again",
                )
            ) from e
        self.data = data


def kept_emails(path: Path, interaction_ids: Iterable[str]) -> list[tuple[str, Path]]:
    """``(interaction id, .eml file)`` for the interactions ``inbox`` logged from e-mail.

    For ``customer show``: the summary holds the first lines, the file the whole
    message (open it with any mail program). An unreadable log shows nothing.
    """
    wanted = set(interaction_ids)
    try:
        messages = InboxLog(log_path(Path(path))).messages
    except SheetCRMError:
        return []
    out = []
    for entry in messages.values():
        for iid in entry.get("interactions", []):
            if iid in wanted and entry.get("file"):
                out.append((str(iid), Path(path).parent / str(entry["file"])))
    return sorted(out)
