"""The README cannot go stale: every command is documented, generated tables are current.

Refresh the generated parts with: UPDATE_README=1 pytest tests/test_docs.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest

from sheetcrm.cli import cli
from sheetcrm.contract import SETTINGS, to_markdown
from sheetcrm.errors import CODES

README = Path(__file__).resolve().parent.parent / "README.md"


def commands(group: click.Group = cli, prefix: str = "sheetcrm") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += commands(command, path)
        else:
            found.append((path, command))
    return found


def problem_codes_markdown() -> str:
    lines = ["| code | meaning |", "|---|---|"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in CODES.items()]
    return "\n".join(lines) + "\n"


def settings_markdown() -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| {s.key} | {s.default} | {s.description} |" for s in SETTINGS]
    return "\n".join(lines) + "\n"


GENERATED = {
    "contract": to_markdown,
    "problem-codes": problem_codes_markdown,
    "settings": settings_markdown,
}


@pytest.mark.parametrize("path,command", commands(), ids=[p for p, _ in commands()])
def test_every_command_has_help_with_an_example_and_is_in_the_readme(runner, path, command):
    args = [*path.split()[1:], "--help"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0
    assert "Example:" in result.stdout, f"{path} --help shows no example"
    assert path in README.read_text(), f"{path} is not documented in README.md"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_sections_are_current(name):
    text = README.read_text()
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    assert pattern.search(text), f"README.md has no {start.strip()} ... {end} block"
    wanted = start + GENERATED[name]() + end
    if os.environ.get("UPDATE_README"):
        README.write_text(pattern.sub(lambda _: wanted, text))
        text = README.read_text()
    assert wanted in text, (
        f"README's {name} table is out of date: UPDATE_README=1 pytest {__file__}"
    )


def test_readme_opens_with_the_two_commands():
    head = README.read_text().split("\n## ", 2)[:2]
    quickstart = "\n".join(head)
    assert "make demo" in quickstart and "make test" in quickstart
    assert "sample_workbook.xlsx" in quickstart
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci, ".ci/run must run the README's test command"


def test_version(runner):
    from sheetcrm import __version__

    result = runner.invoke(cli, ["--version"])
    assert result.stdout.strip() == f"sheetcrm, version {__version__}"


def test_every_problem_code_used_is_documented():
    source = "\n".join(p.read_text() for p in (README.parent / "sheetcrm").glob("*.py"))
    used = set(re.findall(r'Problem\(\s*"([a-z_]+)"', source))
    used |= set(re.findall(r'(?:_config_error|_fail|Issue)\(\s*"([a-z_]+)"', source))
    assert used, "found no problem codes: the pattern is wrong"
    assert used - {"error"} <= set(CODES), sorted(used - set(CODES) - {"error"})


def test_readme_python_example_runs(tmp_path, monkeypatch):
    from tests.conftest import SAMPLE

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crm.xlsx").write_bytes(SAMPLE.read_bytes())
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["late"] and namespace["calls"]
