"""No module under mmattr/ imports a private (``_name``) module or name of another package.

A package here is a top-level part of mmattr (``engine``, ``adapters``, ``fusion``...): the
engine's subpackages share its private machinery, and the other packages use its public
toolkit (``mmattr.engine.toolkit``) instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmattr

ROOT = Path(mmattr.__file__).parent


def _imported(relative: Path, source: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every mmattr module or name the file imports."""
    package = list(relative.with_suffix("").parts)[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            found += [(node.lineno, ".".join([*module, alias.name])) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "mmattr"]


def private_imports(relative: Path, source: str) -> list[str]:
    """Imports of a ``_name`` that belongs to another top-level package than the file's
    (``relative``: its path from the folder holding mmattr/)."""
    own = relative.parts[:2]
    problems = []
    for line, name in _imported(relative, source):
        parts = name.split(".")
        private = [i for i, p in enumerate(parts) if p.startswith("_") and not p.startswith("__")]
        if private and tuple(parts[:2]) != own:
            problems.append(f"{relative}:{line} imports {name}")
    return problems


def test_no_package_imports_another_packages_private_modules():
    problems = [
        problem
        for path in sorted(ROOT.rglob("*.py"))
        for problem in private_imports(path.relative_to(ROOT.parent), path.read_text())
    ]
    assert not problems, "private imports across packages:\n" + "\n".join(problems)


def test_the_walker_sees_relative_and_absolute_private_imports():
    """The rule catches every spelling (the first three lines break it, from fusion)."""
    source = (
        "from mmattr.engine._hooks import replace_layer\n"
        "from ..engine import _inputs\n"
        "import mmattr.visualizers._common\n"
        "from mmattr.fusion._bundle import Bundle\n"  # its own package: allowed
        "from ..engine.toolkit import capture_layers\n"
    )
    problems = private_imports(Path("mmattr/fusion/probe.py"), source)
    assert [p.split(" imports ")[1] for p in problems] == [
        "mmattr.engine._hooks.replace_layer",
        "mmattr.engine._inputs",
        "mmattr.visualizers._common",
    ]


def test_networkx_is_imported_only_inside_the_functions_that_draw_or_build_graphs():
    """No module of mmattr imports networkx when it is imported (``import mmattr.zoo`` works
    without it); the BA-Shapes generator and the graph figure import it when called."""
    eager, lazy = [], []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names = (
                [a.name for a in getattr(node, "names", [])]
                if isinstance(node, (ast.Import, ast.ImportFrom))
                else []
            )
            module = getattr(node, "module", None) or ""
            if "networkx" in names or module.startswith("networkx"):
                where = eager if id(node) in top else lazy
                where.append(path.relative_to(ROOT).as_posix())
    assert not eager, f"networkx imported at module level in {eager}"
    assert "zoo/graph.py" in lazy and "visualizers/graph.py" in lazy
