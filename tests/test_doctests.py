"""Every docstring example in mmattr runs and prints what it shows (``pytest --doctest-modules
mmattr`` in a form that runs under the suite's ``python -m pytest -q -n 2``).

Only modules whose source holds a ``>>>`` are imported, so optional or heavy modules without
examples cost nothing.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
import torch

import mmattr

PACKAGE = Path(mmattr.__file__).parent
MODULES = sorted(
    ".".join(("mmattr", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if ">>>" in path.read_text()
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_examples_are_found_across_the_packages() -> None:
    packages = {name.split(".")[1] for name in MODULES}
    assert {"engine", "fusion", "metrics", "robust", "adapters", "visualizers"} <= packages


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    torch.manual_seed(0)
    with torch.random.fork_rng():
        result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.attempted > 0, f"{name} has '>>>' but doctest found no example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
