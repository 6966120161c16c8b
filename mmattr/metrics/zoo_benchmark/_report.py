"""The benchmark's files: results.csv, results.json, results.md, heatmap.png, deletion.png."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmattr.metrics.zoo_benchmark._methods import HIGHER_IS_BETTER


def write_report(
    records: list[dict[str, Any]], curves: dict, metrics: list[str], out: Path
) -> None:
    """Write every file of the benchmark into ``out`` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    columns = list(records[0])
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    (out / "results.json").write_text(json.dumps(records, indent=1))
    (out / "results.md").write_text(markdown_table(records, metrics))
    heatmap(records, metrics).savefig(out / "heatmap.png", dpi=110, bbox_inches="tight")
    if curves:
        deletion_figure(curves).savefig(out / "deletion.png", dpi=110, bbox_inches="tight")


def markdown_table(records: list[dict[str, Any]], metrics: list[str]) -> str:
    """One row per (model, method); the best value of each metric per model in bold."""
    arrows = [f"{m} {'↑' if HIGHER_IS_BETTER[m] else '↓'}" for m in metrics]
    lines = [
        "| model | method | chance | " + " | ".join(arrows) + " | seconds |",
        "|---" * (len(metrics) + 4) + "|",
    ]
    for record in records:
        peers = [r for r in records if r["model"] == record["model"]]
        cells = []
        for metric in metrics:
            values = [r[metric] for r in peers]
            best = max(values) if HIGHER_IS_BETTER[metric] else min(values)
            text = f"{record[metric]:.3f}"
            cells.append(f"**{text}**" if record[metric] == best else text)
        lines.append(
            f"| {record['model']} | {record['method']} | {record['chance']:.3f} | "
            + " | ".join(cells)
            + f" | {record['seconds']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def heatmap(records: list[dict[str, Any]], metrics: list[str]) -> Figure:
    """Metric × method per model: colour = rank within the model's column (bright = best),
    numbers = the values."""
    models = list(dict.fromkeys(r["model"] for r in records))
    methods = list(dict.fromkeys(r["method"] for r in records))
    figure = Figure(figsize=(1.0 + 0.95 * len(metrics), 0.9 + 0.42 * len(methods) * len(models)))
    axes = figure.subplots(len(models), 1, squeeze=False)[:, 0]
    for axis, model in zip(axes, models):
        values = np.array(
            [
                [
                    next(r[m] for r in records if r["model"] == model and r["method"] == method)
                    for m in metrics
                ]
                for method in methods
            ],
            dtype=float,
        )
        axis.imshow(_column_scores(values, metrics), cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for (row, col), value in np.ndenumerate(values):
            score = _column_scores(values, metrics)[row, col]
            axis.text(
                col,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if score > 0.6 else "white",
            )
        axis.set_yticks(range(len(methods)), methods, fontsize=8)
        axis.set_xticks(range(len(metrics)), [_label(m) for m in metrics], fontsize=7)
        axis.set_title(model, fontsize=9, loc="left")
    figure.suptitle("metric × method (colour: best in column = bright)", fontsize=10)
    figure.tight_layout()
    return figure


def deletion_figure(curves: dict) -> Figure:
    """Mean deletion curve (most relevant first) of each method, one panel per model."""
    models = list(dict.fromkeys(model for model, _ in curves))
    figure = Figure(figsize=(3.2 * len(models), 3.0))
    axes = figure.subplots(1, len(models), squeeze=False)[0]
    for axis, model in zip(axes, models):
        for (name, method), (fractions, scores) in curves.items():
            if name == model:
                style = "--" if method == "random" else "-"
                axis.plot(fractions.numpy(), scores.numpy(), style, label=method, linewidth=1.3)
        axis.set_title(model, fontsize=9)
        axis.set_xlabel("fraction of feature groups removed", fontsize=8)
        axis.tick_params(labelsize=7)
    axes[0].set_ylabel("target logit (mean)", fontsize=8)
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.suptitle("deletion curves: a faithful map falls fast", fontsize=10)
    figure.tight_layout()
    return figure


def _column_scores(values: np.ndarray, metrics: list[str]) -> np.ndarray:
    """Each column scaled to [0, 1] within the model, 1 = best."""
    low, high = values.min(0), values.max(0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    flip = np.array([not HIGHER_IS_BETTER[m] for m in metrics])
    return np.where(flip, 1 - scaled, scaled)


def _label(metric: str) -> str:
    return metric.replace("_", "\n", 1) + (" ↑" if HIGHER_IS_BETTER[metric] else " ↓")
