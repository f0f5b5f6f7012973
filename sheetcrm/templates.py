"""Where the built-in templates live, and the Jinja environment that renders them.

The templates sit at the top of the repository and are packaged into the wheel
as ``sheetcrm/templates``; an editable install imports sheetcrm from the
checkout, where they are ``../templates``. This module owns that lookup and
nothing else about rendering.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def templates_dir() -> Path:
    """The built-in templates: inside the installed package, or the checkout's templates/."""
    packaged = Path(str(files("sheetcrm"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"
