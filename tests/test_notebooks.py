"""The tutorials in notebooks/ run today: each is executed with nbclient (the venv's python, this
checkout's mmattr) and fails on any error, including the assert cell that states its key fact.
Notebooks are stored without outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))  # the tutorials
TIMEOUT_S = 180  # per cell; each notebook takes well under a minute on an idle CPU
SKIPPED_DIRS = {"site", "build", "dist", "node_modules", "__pycache__"}


def _all_notebooks() -> list[Path]:
    """Every notebook in the repository, outside hidden folders (.venv, .git, checkpoints)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in SKIPPED_DIRS]
        found += [Path(folder) / f for f in files if f.endswith(".ipynb")]
    return sorted(found)


def test_the_six_tutorials_are_there() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", _all_notebooks(), ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    stored = [
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert stored == [], f"{path.name}: cells {stored} store outputs; clear them before commit"


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("MPLBACKEND", None)  # the kernel draws inline, as for a user
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    where = "import sys, mmattr; print(sys.executable); print(mmattr.__file__)"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(where))
    # kernel "python3" with argv "python": jupyter_client runs it as sys.executable (the venv's)
    client = NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3")
    client.execute(cwd=str(tmp_path), env=_kernel_env())
    executable, package = notebook.cells[0].outputs[0]["text"].split()
    assert Path(executable) == Path(sys.executable)
    assert Path(package).is_relative_to(ROOT / "mmattr")
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert figures >= 1, f"{path.name} shows no figure inline"


def test_importing_mmattr_leaves_the_matplotlib_backend_alone() -> None:
    """A notebook's inline pyplot figures keep working after ``import mmattr.visualizers``."""
    script = (
        "import matplotlib; matplotlib.use('pdf'); import mmattr.visualizers, mmattr.demo; "
        "from mmattr.visualizers._common import figure_png, new_figure; "
        "figure = new_figure(1, 1); figure.subplots().plot([0, 1]); "
        "print(matplotlib.get_backend(), figure_png(figure)[:4] == b'\\x89PNG')"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("MPLBACKEND", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["pdf", "True"], done.stderr[-2000:]
