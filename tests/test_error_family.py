"""One error family: every Problem sheetcrm makes carries a code from errors.CODES.

The source is read with ``ast``: a ``Problem(...)`` names its code as a string literal
in CODES, passes on the code of a problem already made (``p.code``), or takes it from
a parameter whose every caller passes such a literal. ``SheetCRMError`` takes a
Problem, never bare text (which used to become the code "error", in no table).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheetcrm.cli import cli
from sheetcrm.errors import CODES, Problem, SheetCRMError

PACKAGE = Path(__file__).resolve().parent.parent / "sheetcrm"
RAISES = {"SheetCRMError", "WorkbookOpenError"}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _code_arg(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _good_literal(node: ast.expr | None) -> bool:
    if isinstance(node, ast.IfExp):  # "wrong_password" if wrong else "not_a_workbook"
        return _good_literal(node.body) and _good_literal(node.orelse)
    if isinstance(node, ast.Constant):
        return node.value in CODES
    return isinstance(node, ast.Attribute) and node.attr == "code"


def code_problems(sources: dict[str, str]) -> list[str]:
    """Where a Problem's code is not (traceably) one of CODES, and bare-text raises."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    calls = [(n, c) for n, t in trees.items() for c in ast.walk(t) if isinstance(c, ast.Call)]
    found = []
    for name, tree in trees.items():
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in (c for c in ast.walk(tree) if isinstance(c, ast.Call)):
            what = _name(call.func)
            if what in RAISES and call.args:
                first = call.args[0]
                if isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp):
                    found.append(f"{name}:{call.lineno}: {what} given text, not a Problem")
            if what != "Problem":
                continue
            code = _code_arg(call, 0, "code")
            if _good_literal(code):
                continue
            if isinstance(code, ast.Name):
                # a parameter of the enclosing function: check every call of that function
                func = parents.get(call)
                while func is not None and not isinstance(func, ast.FunctionDef):
                    func = parents.get(func)
                params = [a.arg for a in func.args.args] if func else []
                if func is not None and code.id in params:
                    index = params.index(code.id) - (params[:1] in (["self"], ["cls"]))
                    # callers in the same module (private helpers and methods are local)
                    callers = [c for n, c in calls if n == name and _name(c.func) == func.name]
                    given = func.args.args[len(func.args.args) - len(func.args.defaults) :]
                    default = dict(zip([a.arg for a in given], func.args.defaults, strict=True))
                    bad = [
                        c
                        for c in callers
                        if not _good_literal(_code_arg(c, index, code.id) or default.get(code.id))
                    ]
                    if callers and not bad:
                        continue
                    found.extend(
                        f"{name}:{c.lineno}: {func.name}() given a code not in CODES" for c in bad
                    )
                    if bad:
                        continue
            found.append(f"{name}:{call.lineno}: Problem code {ast.unparse(code or call)}")
    return found


def _sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE.parent)): p.read_text() for p in PACKAGE.rglob("*.py")}


def test_every_problem_in_sheetcrm_has_a_code_from_codes() -> None:
    assert code_problems(_sources()) == []


def test_the_scan_finds_bare_text_unknown_codes_and_untraced_parameters() -> None:
    source = """
def a():
    raise SheetCRMError("the header row was not found again")
def b(name):
    raise SheetCRMError(f"{name} is wrong")
def c():
    return Problem("error", "no such code")
def d(self, code, message):
    return Problem(code, message)
def e(x):
    x.d("missing_sheet", "ok")
    x.d("made_up", "not ok")
def f(p):
    return Problem(p.code, "passed on"), Problem("missing_value", "fine")
def g(wrong):
    return Problem("missing_value" if wrong else "nope", "one branch unknown")
"""
    assert code_problems({"fake.py": source}) == [
        "fake.py:3: SheetCRMError given text, not a Problem",
        "fake.py:5: SheetCRMError given text, not a Problem",
        "fake.py:7: Problem code 'error'",
        "fake.py:12: d() given a code not in CODES",
        "fake.py:16: Problem code 'missing_value' if wrong else 'nope'",
    ]


def test_sheetcrm_error_refuses_bare_text() -> None:
    with pytest.raises(TypeError, match="CODES"):
        SheetCRMError("something went wrong")  # type: ignore[arg-type]
    assert SheetCRMError(Problem("missing_file", "x")).problem.code == "missing_file"


def test_a_damaged_styles_part_is_reported_with_its_code(tmp_path: Path) -> None:
    """One of the raises that had no code: a workbook whose styles part lost its cellXfs."""
    import zipfile

    from sheetcrm.workbook.sample import write_sample_workbook

    good = tmp_path / "crm.xlsx"
    write_sample_workbook(good)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/styles.xml":
                data = data.replace(b"cellXfs", b"cellXfsGone")
            dst.writestr(info, data)
    log = ["log", "-w", str(bad), "--customer", "C-0001", "--channel", "phone"]
    log += ["--type", "enquiry", "--summary", "x", "--staff", "Ingrid", "--at", "2026-11-20 14:00"]
    result = CliRunner().invoke(cli, log)
    assert result.exit_code == 2, result.output
    assert "styles part has no cell formats" in result.output
    assert "Traceback" not in result.output


def test_init_over_an_existing_file_names_the_flag_only_on_the_command_line(
    tmp_path: Path,
) -> None:
    """The library says "adopt it"; the command line says how (--into)."""
    from sheetcrm.workbook.newbook import create_workbook

    path = tmp_path / "crm.xlsx"
    create_workbook(path)
    with pytest.raises(SheetCRMError) as info:
        create_workbook(path)
    assert info.value.problem.code == "file_exists" and "--" not in str(info.value)
    result = CliRunner().invoke(cli, ["init", str(path)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--into" in result.output
