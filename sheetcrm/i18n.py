"""The report's languages: one JSON catalogue per language in ``sheetcrm/locales``.

A catalogue maps the English text used in the templates (``{{ _("Complaints") }}``)
and the workbook's vocabulary words (``in_person``, ``waiting_on_customer``) to
the words of its language, and names the Babel locale that formats its dates,
numbers and money::

    {"_meta": {"name": "Norsk bokmål", "babel": "nb_NO"},
     "messages": {"Complaints": "Klager", "in_person": "Oppmøte", ...}}

Adding a language is adding a catalogue file: the Settings ``locale`` accepts
every code with a catalogue here. A text missing from a catalogue falls back to English, then
to the text itself, so a new label never breaks a report; the tests check that
every label the built-in templates use is in every catalogue.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT = "en"


def locales_dir() -> Path:
    # Beside this module (importlib.resources would cost every command 6 ms to import,
    # and a path on disk is what the catalogues are read from anyway).
    return Path(__file__).resolve().parent / "locales"


def available() -> list[str]:
    """The language codes that have a catalogue: ``["en", "nb"]``."""
    return sorted(p.stem for p in locales_dir().glob("*.json"))


@cache
def catalogue(code: str) -> dict[str, Any]:
    """The catalogue of ``code`` (``{"_meta": {...}, "messages": {...}}``); English if none."""
    path = locales_dir() / f"{code}.json"
    if not path.is_file():
        path = locales_dir() / f"{DEFAULT}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("_meta", {})
    data.setdefault("messages", {})
    return data


def babel_locale(code: str) -> str:
    """The Babel locale that formats numbers and dates for ``code``: ``nb`` -> ``nb_NO``."""
    return str(catalogue(code)["_meta"].get("babel", code))


def translate(code: str, text: str, **values: Any) -> str:
    """``text`` in language ``code``, with ``{name}`` placeholders filled from ``values``.

    >>> translate("nb", "Complaints")
    'Klager'
    >>> translate("nb", "{n} days", n=3)
    '3 dager'
    """
    message = catalogue(code)["messages"].get(text)
    if message is None:
        message = catalogue(DEFAULT)["messages"].get(text, text)
    return str(message).format(**values) if values else str(message)
