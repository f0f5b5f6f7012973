"""`pip install .` (not editable) gives a working `sheetcrm` with its templates packaged."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
    )
    (found,) = out.glob("sheetcrm-*.whl")
    return found


@pytest.mark.slow
def test_wheel_contains_the_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    built_in = sorted(p.name for p in (ROOT / "templates").iterdir() if p.is_file())
    assert built_in, "templates/ is empty"
    for name in built_in:
        assert f"sheetcrm/templates/{name}" in names
    assert "sheetcrm/py.typed" in names


@pytest.mark.slow
def test_installed_wheel_runs_from_anywhere(wheel, tmp_path):
    venv = tmp_path / "venv"
    # System site packages supply the dependencies, so the test needs no download;
    # sheetcrm itself comes only from the wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = lambda *a: subprocess.run(a, capture_output=True, text=True, cwd=elsewhere)  # noqa: E731
    version = run(str(venv / "bin" / "sheetcrm"), "--version")
    assert version.returncode == 0 and "sheetcrm, version" in version.stdout
    module = run(str(py), "-m", "sheetcrm", "--help")
    assert module.returncode == 0 and "Example:" in module.stdout
    where = run(
        str(py),
        "-c",
        "import sheetcrm, sheetcrm.templates as t; "
        "print(sheetcrm.__file__); print(t.templates_dir())",
    )
    module_file, templates = where.stdout.split()
    assert str(venv) in module_file, "imported the checkout instead of the installed wheel"
    assert Path(templates).is_dir() and str(venv) in templates
