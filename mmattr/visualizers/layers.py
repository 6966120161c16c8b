"""Layer × token attributions: the "which layer looked at which token" heatmap.

Rows are layers (first at the top), columns tokens; a second panel shows, for one chosen token,
the distribution of its attribution across layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmattr.visualizers._common import (
    DIVERGING,
    as_array,
    new_figure,
    sign_colours,
    symmetric_scale,
)


def _check(matrix: Any, tokens: Sequence[str], layer_names: Sequence[str] | None) -> np.ndarray:
    values = as_array(matrix, "attributions", ndim=(2,))
    if len(tokens) == 0:
        raise ValueError("tokens is empty; expected one token per column of attributions")
    if values.shape[1] != len(tokens):
        raise ValueError(
            f"attributions has shape {values.shape}; "
            f"expected (layers, {len(tokens)}) to match tokens"
        )
    if layer_names is not None and len(layer_names) != values.shape[0]:
        raise ValueError(
            f"layer_names has {len(layer_names)} names; "
            f"expected {values.shape[0]} (rows of attributions)"
        )
    return values


def visualize_layer_tokens(
    attributions: Any,
    tokens: Sequence[str],
    layer_names: Sequence[str] | None = None,
    token_index: int | None = None,
    title: str | None = None,
) -> Figure:
    """Heatmap of (layers, tokens) attributions, plus one token's values across layers.

    attributions: (L, N) one row per layer. tokens: the N column labels.
    layer_names: L row labels (default "layer 0".."layer L-1").
    token_index: the token whose per-layer distribution is drawn (default: the column with the
    largest total |attribution|).

    >>> import numpy as np
    >>> fig = visualize_layer_tokens(np.ones((2, 3)), ["a", "b", "c"])

    Args:
        attributions: ``(layers, tokens)`` attributions.
        tokens: the token strings, one per position.
        layer_names: one name per layer (``None``: their indices; default ``None``).
        token_index: token whose values across layers get a second panel (``None``: no
            second panel; default ``None``).
        title: figure title (``None``: none; default ``None``).
    """
    values = _check(attributions, tokens, layer_names)
    names = (
        list(layer_names) if layer_names is not None else [f"layer {i}" for i in range(len(values))]
    )
    if token_index is None:
        token_index = int(np.abs(values).sum(axis=0).argmax())
    if not -len(tokens) <= token_index < len(tokens):
        raise ValueError(f"token_index is {token_index}; expected 0..{len(tokens) - 1}")
    figure = new_figure(max(6.0, 0.42 * len(tokens) + 3.5), 0.35 * len(values) + 2.2)
    heat_axis, token_axis = figure.subplots(1, 2, width_ratios=[4, 1])
    scale = symmetric_scale(values)
    image = heat_axis.imshow(values, cmap=DIVERGING, vmin=-scale, vmax=scale, aspect="auto")
    heat_axis.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    heat_axis.set_yticks(range(len(names)), names, fontsize=8)
    heat_axis.set_xlabel("token")
    figure.colorbar(image, ax=heat_axis, shrink=0.8, label="attribution")
    column = values[:, token_index]
    token_axis.barh(range(len(names)), column, color=sign_colours(column))
    token_axis.set_ylim(len(names) - 0.5, -0.5)
    token_axis.set_yticks(range(len(names)), [])
    token_axis.axvline(0, color="black", linewidth=0.8)
    token_axis.set_title(f"'{tokens[token_index]}' by layer", fontsize=9)
    if title:
        figure.suptitle(title)
    return figure
