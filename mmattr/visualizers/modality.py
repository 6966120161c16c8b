"""Per-modality contribution bars, one group per estimator, with the interaction term."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmattr.visualizers._common import new_figure


def _as_tables(
    contributions: Mapping[str, Any],
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """(estimator -> modality -> value, estimator -> summed interaction) from mappings or
    Contribution-like objects (``.values`` and optional ``.interactions``)."""
    if not isinstance(contributions, Mapping) or not contributions:
        raise ValueError("contributions is empty; expected estimator name -> modality values")
    tables: dict[str, dict[str, float]] = {}
    interactions: dict[str, float] = {}
    for estimator, item in contributions.items():
        values = getattr(item, "values", item)
        if callable(values):  # a plain dict's .values method, not a Contribution's field
            values = item
        if not isinstance(values, Mapping) or not values:
            raise ValueError(f"contributions[{estimator!r}] has no modality values")
        table = {str(k): float(v) for k, v in values.items()}
        if not all(np.isfinite(list(table.values()))):
            raise ValueError(f"contributions[{estimator!r}] contains NaN/Inf values: {table}")
        tables[str(estimator)] = table
        pairs = getattr(item, "interactions", None) or {}
        if pairs:
            interactions[str(estimator)] = float(sum(pairs.values()))
    return tables, interactions


def visualize_contributions(contributions: Mapping[str, Any], title: str | None = None) -> Figure:
    """Grouped bars: for each estimator, one bar per modality (and one for the interaction).

    contributions: estimator name -> {modality: value} or a ``Contribution`` (``.values``,
    ``.interactions``). Values are in the model output's units.

    >>> fig = visualize_contributions({"shapley": {"image": 0.7, "text": 0.2}})

    Args:
        contributions: estimator name → ``Contribution`` (as ``Explanation.contributions``).
        title: figure title (``None``: none; default ``None``).
    """
    tables, interactions = _as_tables(contributions)
    modalities = sorted({m for table in tables.values() for m in table})
    labels = modalities + (["interaction"] if interactions else [])
    estimators = list(tables)
    figure = new_figure(max(6.0, 1.6 * len(estimators) + 3.2), 3.4)  # legend at the right
    axis = figure.add_subplot()
    width = 0.8 / len(labels)
    positions = np.arange(len(estimators))
    for slot, label in enumerate(labels):
        heights = [
            interactions.get(e, 0.0) if label == "interaction" else tables[e].get(label, 0.0)
            for e in estimators
        ]
        # grey, not a modality's colour: green and red mean evidence for and against elsewhere
        colour = {"color": "tab:gray"} if label == "interaction" else {}
        bars = axis.bar(
            positions + (slot - (len(labels) - 1) / 2) * width,
            heights,
            width,
            label=label,
            **colour,
        )
        # an estimator without an interaction term gets "n/a", not a measured-looking 0.00
        texts = [
            "n/a" if label == "interaction" and e not in interactions else f"{h:.2f}"
            for e, h in zip(estimators, heights)
        ]
        axis.bar_label(bars, labels=texts, fontsize=7)
    axis.set_xticks(positions, estimators)
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_ylabel("contribution (output units)")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        axis.set_title(title)
    return figure
