"""`pip install .` (not editable) gives a working `sheetcrm` with its templates packaged."""

from __future__ import annotations

import os
import shutil
import site
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


def _dependency_dirs() -> list[str]:
    """Where the interpreter running the tests finds sheetcrm's dependencies.

    That is ``.venv`` under `make test`, or whatever Python a developer runs pytest
    with; never the base interpreter a venv was made from, which may lack them.
    """
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def _bare_env() -> dict[str, str]:
    """The environment minus anything that would import the checkout instead of the wheel."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    env["PYTHONNOUSERSITE"] = "1"  # the user site is put on the path explicitly, or not at all
    return env


@pytest.mark.slow
def test_installed_wheel_runs_from_anywhere(wheel, tmp_path):
    venv = tmp_path / "venv"
    env = _bare_env()
    # A venv of its own, without system site packages: the base interpreter need not have
    # the dependencies (on a fresh machine it has none; they are in .venv).
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        env=env,
    )
    # Then the dependencies, without a download: the test interpreter's site-packages
    # go on the new venv's path after its own, through a .pth file. Only plain paths
    # are listed, so .pth files there (such as an editable sheetcrm) are not run, and
    # sheetcrm itself comes only from the wheel. Added after the install, so pip never
    # sees (or offers to remove) the sheetcrm the test interpreter has.
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    (Path(purelib) / "_sheetcrm_test_dependencies.pth").write_text(
        "".join(f"{d}\n" for d in _dependency_dirs()), encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, cwd=elsewhere, env=env)

    version = run(str(venv / "bin" / "sheetcrm"), "--version")
    assert version.returncode == 0 and "sheetcrm, version" in version.stdout, version.stderr
    module = run(str(py), "-m", "sheetcrm", "--help")
    assert module.returncode == 0 and "Example:" in module.stdout, module.stderr
    where = run(
        str(py),
        "-c",
        "import sheetcrm, sheetcrm.report.templates as t, sheetcrm.report.render, babel; "
        "print(sheetcrm.__file__); print(t.templates_dir())",
    )
    assert where.returncode == 0, where.stderr
    module_file, templates = where.stdout.split()
    assert str(venv) in module_file, "imported the checkout instead of the installed wheel"
    assert Path(templates).is_dir() and str(venv) in templates
    # The installed command does real work, not just --help: a new workbook and its report.
    made = run(str(venv / "bin" / "sheetcrm"), "init", "crm.xlsx")
    assert made.returncode == 0, made.stderr
    report = run(
        str(venv / "bin" / "sheetcrm"),
        *("report", "-w", "crm.xlsx", "--format", "md", "--as-of", "2026-11-20 15:00"),
    )
    assert report.returncode == 0, report.stderr
    assert (elsewhere / "reports" / "weekly-2026-W46.md").is_file()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_shows_findings_as_findings(tmp_path):
    """`make demo` runs overdue, which exits 1 on the sample's breaches: shown, not an error."""
    for name in ("Makefile", "sample_workbook.xlsx"):  # reports/ is written beside the workbook
        shutil.copyfile(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / "bin"  # this checkout's sheetcrm, whatever venv runs the tests
    bin_dir.mkdir()
    script = bin_dir / "sheetcrm"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sheetcrm "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    env = {**_bare_env(), "PYTHONPATH": str(ROOT)}
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # under `make test`: not the outer make's
        env.pop(name, None)
    # -o install: the demo's own steps only, with no venv built for it.
    done = subprocess.run(
        ["make", "-o", "install", "demo", f"BIN={bin_dir}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "ignored" not in said and "Error" not in said
    assert "overdue: breaches found (exit 1)" in said
    assert "followups" in said.split("breaches found")[1]  # the demo went on after it
    assert list((tmp_path / "reports").glob("weekly-*.html"))
