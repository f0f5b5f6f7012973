"""Open a workbook in LibreOffice (headless, through python3-uno) and print one cell.

Run with the system python3 (python3-uno is a Debian package, not in the venv):
``python3 tests/lo_open.py FILE SHEET CELL [PASSWORD]``. Prints the cell's text, or
``REFUSED`` when LibreOffice cannot open the file; exit 0 either way.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def prop(name, value):  # type: ignore[no-untyped-def]
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main() -> None:
    path, sheet, cell = sys.argv[1:4]
    password = sys.argv[4] if len(sys.argv) > 4 else None
    profile = tempfile.mkdtemp(prefix="sheetcrm-lo-")
    pipe = f"sheetcrm{os.getpid()}"
    office = subprocess.Popen(
        [
            "soffice",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            f"-env:UserInstallation=file://{profile}",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        for _ in range(240):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.5)
        else:
            print("NO OFFICE")
            return
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        args = [prop("Hidden", True), prop("ReadOnly", True)]
        if password is not None:
            args.append(prop("Password", password))
        url = uno.systemPathToFileUrl(str(Path(path).resolve()))
        try:
            doc = desktop.loadComponentFromURL(url, "_blank", 0, tuple(args))
        except Exception:
            doc = None
        if doc is None or not hasattr(doc, "Sheets"):
            print("REFUSED")
        else:
            print(doc.Sheets.getByName(sheet).getCellRangeByName(cell).getString())
            doc.close(True)
        with contextlib.suppress(Exception):  # it may already be going away
            desktop.terminate()
    finally:
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()
        subprocess.run(["rm", "-rf", profile], check=False)


if __name__ == "__main__":
    main()
