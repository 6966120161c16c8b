"""The insights notebook builds an Explorer and its widget and runs headless under nbclient."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "insights_explorer.ipynb"


def test_notebook_runs_headless(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    assert all(o.get("output_type") != "error" for cell in outputs for o in cell)
    widget = outputs[1][0]["data"]["application/vnd.jupyter.widget-view+json"]
    assert widget["model_id"]  # the widget was displayed through the comm
    shares = ast.literal_eval(outputs[3][0]["data"]["text/plain"])
    assert set(shares) == {"image", "question"} and abs(sum(shares.values()) - 1) < 1e-9
