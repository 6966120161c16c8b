"""Every public callable documents exactly its parameters in a Google-style ``Args:`` section.

Public callables are the names in ``mmattr.__all__`` and in the ``__all__`` of the public
subpackages; for a class, its ``__init__`` (Args in the class or the ``__init__`` docstring) and
its ``attribute`` method, wherever mmattr defines them. ``self``/``cls`` are not parameters;
``*args``/``**kwargs`` are listed as ``*args``/``**kwargs`` or by their bare name.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import mmattr

ROOT = Path(mmattr.__file__).parent
PACKAGES = [
    "mmattr",
    "mmattr.adapters",
    "mmattr.fusion",
    "mmattr.visualizers",
    "mmattr.metrics",
    "mmattr.robust",
    "mmattr.zoo",
    "mmattr.engine.toolkit",
]
METHODS = ("__init__", "attribute")
_SECTION = re.compile(r"^(\s*)Args:\s*$")
_ENTRY = re.compile(r"^(\**[A-Za-z_]\w*)\s*(\([^)]*\))?\s*:")


def _args_section(doc: str | None) -> set[str] | None:
    """The parameter names of the first ``Args:`` section, or None when there is none."""
    lines = inspect.cleandoc(doc or "").splitlines()
    for i, line in enumerate(lines):
        head = _SECTION.match(line)
        if head is None:
            continue
        names, indent = set(), None
        for entry in lines[i + 1 :]:
            if not entry.strip():
                continue
            width = len(entry) - len(entry.lstrip())
            if width <= len(head.group(1)):
                break
            indent = width if indent is None else indent
            found = _ENTRY.match(entry.strip())
            if width == indent and found:
                names.add(found.group(1).lstrip("*"))
        return names
    return None


def _parameters(function) -> set[str]:
    signature = inspect.signature(function)
    return {n for n in signature.parameters if n not in ("self", "cls")}


def _callables() -> list[tuple[str, object, tuple[str | None, ...]]]:
    """(label, function, docstrings where its Args may live) for every public callable."""
    found, seen = [], set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if id(obj) in seen or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            seen.add(id(obj))
            if not isinstance(obj, type):
                found.append((f"{package}.{name}", obj, (obj.__doc__,)))
                continue
            for method in METHODS:
                owner = next((k for k in obj.__mro__ if method in vars(k)), None)
                if owner is None or not owner.__module__.startswith("mmattr"):
                    continue
                code = getattr(vars(owner)[method], "__code__", None)
                if code is None or not code.co_filename.startswith(str(ROOT)):
                    continue  # generated (dataclass) or inherited from typing.Protocol
                function = vars(owner)[method]
                docs = (function.__doc__,)
                if method == "__init__":  # Args may sit in the public class or the defining one
                    docs += (obj.__doc__, owner.__doc__)
                found.append((f"{package}.{name}.{method}", function, docs))
    return found


CALLABLES = _callables()


def test_every_public_package_is_scanned_and_the_surface_is_large() -> None:
    assert len(mmattr.__all__) >= 60 and len(CALLABLES) >= 150


@pytest.mark.parametrize("label,function,docs", CALLABLES, ids=[c[0] for c in CALLABLES])
def test_args_section_lists_exactly_the_parameters(label, function, docs) -> None:
    expected = _parameters(function)
    sections = [s for s in (_args_section(d) for d in docs) if s is not None]
    if not expected and not sections:
        return  # nothing to document
    assert sections, f"{label}: no Args section; parameters are {sorted(expected)}"
    assert sections[0] == expected, (
        f"{label}: Args lists {sorted(sections[0])}, signature has {sorted(expected)}"
    )


def test_the_args_parser_reads_google_style() -> None:
    doc = """Title.

    Args:
        inputs (Tensor): the input,
            continued here: not an entry.
        *args: extra.
        **kwargs: more.

    Returns:
        x: not an arg.
    """
    assert _args_section(doc) == {"inputs", "args", "kwargs"}
    assert _args_section("No section.") is None
