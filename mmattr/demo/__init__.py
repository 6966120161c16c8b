"""The demo job: explain the zoo models and write one self-contained HTML report.

``run(out_dir, only)`` writes ``out_dir/index.html`` (figures embedded) and each figure as a PNG
beside it. Each use is one small section function; a section whose optional dependency
(transformers, scikit-image, torchaudio, networkx) is not installed is reported as unavailable
instead of failing the whole page. Any other error is a bug and propagates.

>>> import mmattr
>>> from mmattr.demo import run
>>> page = run("mmattr-report", only="graph")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from types import ModuleType

import torch

from mmattr.demo._common import MISSING
from mmattr.paths import check_writable_folder
from mmattr.visualizers import Report

#: The text of a section whose optional dependency is not installed.
UNAVAILABLE = "Unavailable in this install"

#: Section names accepted by ``run(only=...)``, in report order; each is a module of this package.
SECTIONS = ("qa", "image", "vqa", "audio", "graph", "generation")


def _sections() -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"mmattr.demo.{name}") for name in SECTIONS}


def run(out_dir: str | Path = "mmattr-report", only: str | None = None) -> Path:
    """Run the demo sections (all, or ``only`` one of :data:`SECTIONS`) and save the report.

    Returns the path of ``out_dir/index.html``. Prints progress, then the report path.
    ``out_dir`` is checked (not empty, writable, outside the package) before any section runs.
    """
    if only is not None and only not in SECTIONS:
        raise ValueError(f"only is {only!r}; expected one of {', '.join(SECTIONS)} or None")
    out_dir = check_writable_folder(out_dir, "out_dir")  # before the sections, not after
    torch.manual_seed(0)
    report = Report("mmattr demo report")
    started = time.perf_counter()
    for name, module in _sections().items():
        if only is not None and name != only:
            continue
        print(f"[{time.perf_counter() - started:5.1f}s] {name}: {module.TITLE}", flush=True)
        try:
            module.add_section(report)
        except MISSING as error:
            print(f"        unavailable: {error}", flush=True)
            report.add_section(module.TITLE, text=f"{UNAVAILABLE}: {error}")
    page = report.save(out_dir)
    print(f"[{time.perf_counter() - started:5.1f}s] report: {page}", flush=True)
    return page
