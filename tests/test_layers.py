"""The layers of sheetcrm, enforced: a lower layer never imports a higher one, no cycles.

The flow a newcomer reads in ``ls sheetcrm/``: the file format (xlsx) under the
contract over it (workbook), pure rules on the Book, the report built from them,
delivery by mail, the owner's actions, and the command line on top. Imports are read
with ``ast`` from the source, at module level and inside functions, so a lazy import
in a function counts the same as one at the top.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sheetcrm"

# Lowest first. The base modules are used by every layer.
BASE = {
    "sheetcrm",
    "sheetcrm.errors",
    "sheetcrm.contract",
    "sheetcrm.i18n",
    "sheetcrm.files",
    "sheetcrm.background",
}
LAYERS = ("xlsx", "workbook", "rules", "report", "delivery", "actions", "cli")
# The file format knows nothing of the domain: of the base it may use only the errors.
XLSX_MAY_IMPORT = {"sheetcrm.errors"}
# Known exceptions, each with its reason. Keep this short; remove an entry when it is fixed.
ALLOWED: dict[tuple[str, str], str] = {}


def rank(module: str) -> int:
    """0 for the base, then 1.. for the layers in LAYERS; KeyError for a stray module."""
    if module in BASE:
        return 0
    if module == "sheetcrm.__main__":
        return len(LAYERS)  # ``python -m sheetcrm`` is the command line
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return 1 + LAYERS.index(parts[1])
    raise KeyError(module)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` (they never run)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        found.add(id(sub))
    return found


def imports(
    name: str, source: str, known: set[str], *, is_package: bool = False
) -> dict[str, bool]:
    """The sheetcrm modules ``name`` imports, each mapped to "does it run" (not TYPE_CHECKING)."""
    tree = ast.parse(source)
    typing_only = _type_checking_only(tree)
    found: dict[str, bool] = {}

    def add(target: str, node: ast.AST) -> None:
        runs = id(node) not in typing_only
        found[target] = found.get(target, False) or runs

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sheetcrm":
                    add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package this module is in
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            if origin.split(".")[0] != "sheetcrm":
                continue
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                add(sub if sub in known else origin, node)
    return found


def graph(root: Path = PACKAGE) -> dict[str, dict[str, bool]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    return {
        name: imports(name, path.read_text(), known, is_package=path.name == "__init__.py")
        for name, path in files.items()
    }


def layer_violations(edges: dict[str, dict[str, bool]]) -> list[str]:
    found = []
    for module, targets in sorted(edges.items()):
        if module == "sheetcrm":
            continue  # the public façade: its imports are for type checkers only (checked below)
        for target in sorted(targets):
            if (module, target) in ALLOWED:
                continue
            try:
                low, high = rank(module), rank(target)
            except KeyError as e:
                found.append(f"{e.args[0]} is in no layer: move it into one of {LAYERS}")
                continue
            if high > low:
                found.append(f"{module} (layer {low}) imports {target} (layer {high})")
            elif low == 1 and high == 0 and target not in XLSX_MAY_IMPORT:
                found.append(f"{module} (the file format) imports the domain's {target}")
    return found


def cycles(edges: dict[str, dict[str, bool]]) -> list[list[str]]:
    """Every import cycle among modules, by the imports that run (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, runs in edges.get(v, {}).items():
            if not runs or w == "sheetcrm":
                continue  # the façade's names are only __version__ and lazy re-exports
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, {}):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_lower_layer_imports_a_higher_one() -> None:
    assert layer_violations(graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_allowed_exceptions_are_still_needed() -> None:
    edges = graph()
    stale = [pair for pair in ALLOWED if pair[1] not in edges.get(pair[0], {})]
    assert stale == [], "remove these from ALLOWED: they no longer happen"


def test_ls_shows_the_flow() -> None:
    """Only the base modules stay at the top; everything else is in a layer's folder."""
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert {f"sheetcrm.{m}" for m in top} <= BASE
    assert all((PACKAGE / layer / "__init__.py").is_file() for layer in LAYERS)


def test_public_api_is_typed_and_complete() -> None:
    """``sheetcrm.load`` and friends: each name in __all__ is importable and seen by type
    checkers through a real import (not ``Any`` from a module __getattr__)."""
    import sheetcrm

    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and id(node) in _type_checking_only(tree)
        for alias in node.names
    }
    assert set(sheetcrm.__all__) - {"__version__"} == typed
    for name in sheetcrm.__all__:
        assert getattr(sheetcrm, name) is not None
    getattr_def = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"
    )
    assert getattr_def.returns is not None and ast.unparse(getattr_def.returns) != "Any"


# The checker itself must catch what it is for: fed small made-up packages.


def _fake(tmp_path: Path, files: dict[str, str]) -> dict[str, dict[str, bool]]:
    root = tmp_path / "sheetcrm"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return graph(root)


def test_checker_sees_a_rule_importing_the_report_inside_a_function(tmp_path: Path) -> None:
    edges = _fake(
        tmp_path,
        {
            "rules/__init__.py": "",
            "rules/sla.py": "def f():\n    from sheetcrm.report import render\n",
            "report/__init__.py": "",
            "report/render.py": "",
        },
    )
    assert layer_violations(edges) == [
        "sheetcrm.rules.sla (layer 3) imports sheetcrm.report.render (layer 4)"
    ]


def test_checker_sees_xlsx_importing_the_contract_and_a_stray_module(tmp_path: Path) -> None:
    edges = _fake(
        tmp_path,
        {
            "xlsx/__init__.py": "",
            "xlsx/styles.py": "from sheetcrm import contract\nfrom sheetcrm.errors import X\n",
            "contract.py": "",
            "errors.py": "",
            "stray.py": "",
            "cli/__init__.py": "",
            "cli/app.py": "from sheetcrm import stray\n",
        },
    )
    assert layer_violations(edges) == [
        f"sheetcrm.stray is in no layer: move it into one of {LAYERS}",
        "sheetcrm.xlsx.styles (the file format) imports the domain's sheetcrm.contract",
    ]


def test_checker_sees_a_cycle_through_relative_imports(tmp_path: Path) -> None:
    edges = _fake(
        tmp_path,
        {
            "report/__init__.py": "",
            "report/a.py": "from . import b\n",
            "report/b.py": "from .c import x\n",
            "report/c.py": "from sheetcrm.report.a import y\n",
            "report/d.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from sheetcrm.report import a\n",
        },
    )
    assert cycles(edges) == [["sheetcrm.report.a", "sheetcrm.report.b", "sheetcrm.report.c"]]


@pytest.mark.parametrize("module", ["sheetcrm.rules.metrics", "sheetcrm.report.worker"])
def test_the_computations_know_nothing_of_processes(module: str) -> None:
    """metrics computes; report.render alone decides what runs in a second process."""
    edges = graph()
    assert "sheetcrm.report.worker" not in edges[module] or module == "sheetcrm.report.worker"
    assert not any(t.startswith("sheetcrm.report.render") for t in edges[module])


# The Book's lookups: what every layer asks instead of re-indexing the frames.


def test_book_lookups_first_row_wins_and_active_staff_by_department(tmp_path: Path) -> None:
    from datetime import datetime

    import pandas as pd

    import sheetcrm
    from sheetcrm.workbook.sample import write_sample_workbook

    path = tmp_path / "crm.xlsx"
    write_sample_workbook(path)
    book, _ = sheetcrm.load(path, as_of=datetime(2026, 11, 20, 15))
    first = book.customers.iloc[0]
    copy = first.copy()
    copy["name"] = "A second row with the same id"
    book.frames["Customers"] = pd.concat([book.customers, copy.to_frame().T], ignore_index=True)
    found = book.customer(first["customer_id"])
    assert found is not None and found["name"] == first["name"]
    assert book.customer("C-9999") is None
    by_id = book.customers_by_id()
    assert by_id.index.is_unique and by_id.loc[first["customer_id"], "name"] == first["name"]
    sales = book.active_staff(" sales ")
    assert len(sales) and set(sales["department"].str.casefold()) == {"sales"}
    assert bool(sales["active"].fillna(True).all())
    assert len(book.active_staff()) >= len(sales)
    calendar = book.calendar()
    assert calendar.holidays == frozenset(book.holidays) and calendar.days


# Transaction is the one front door for changes: use cases call its methods.
REACH_THROUGH_ALLOWED = {
    # adoption rewrites the owner's workbook structure (renames sheets, adds Tables and
    # drop-downs, checks the result with calamine) on the package itself, by design
    "sheetcrm.actions.adopt": "adoption plans on the whole package",
}


def reach_through(edges_root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(edges_root.rglob("*.py")):
        name = module_name(path, edges_root)
        if name == "sheetcrm.workbook.writer" or name in REACH_THROUGH_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "package"
                and isinstance(node.value, ast.Name)
                and node.value.id == "tx"
            ):
                found.append(f"{name}:{node.lineno} reaches through to tx.package")
    return found


def test_use_cases_change_the_workbook_only_through_transaction_methods(tmp_path: Path) -> None:
    assert reach_through() == []
    fake = tmp_path / "sheetcrm"
    (fake / "actions").mkdir(parents=True)
    (fake / "actions" / "marks.py").write_text("def f(tx):\n    return tx.package.highlight\n")
    assert reach_through(fake) == ["sheetcrm.actions.marks:2 reaches through to tx.package"]


def test_a_long_module_says_why_at_its_top() -> None:
    """A newcomer reads a module whole: over ~600 lines it must say why it is one module."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > 620 and "Why one module" not in doc:
            long.append(f"{path.relative_to(PACKAGE.parent)} ({text.count(chr(10))} lines)")
    assert long == []
