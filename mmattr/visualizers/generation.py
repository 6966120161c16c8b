"""Generated text: the prompt-feature × generated-token heatmap and the sequence bar chart.

Rows are generated tokens (first at the top), columns prompt features; each cell is how much
that feature raised (green) or lowered (red) the log-probability of that generated token.
"""

from __future__ import annotations

from collections.abc import Sequence
from textwrap import shorten
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


def _labels(tokens: Sequence[str]) -> list[str]:
    """Tick labels: escaped, shortened; a blank token (a lone space) shown as ``␣``."""
    return [
        shorten(repr(str(token))[1:-1], width=50, placeholder="...") if str(token).strip() else "␣"
        for token in tokens
    ]


def visualize_generation_tokens(
    token_attr: Any,
    input_tokens: Sequence[str],
    output_tokens: Sequence[str],
    annotate: bool = True,
) -> Figure:
    """Heatmap of ``token_attr`` ``(n_output, n_input)``, symmetric colour scale around 0.

    Args:
        token_attr: attributions, one row per generated token.
        input_tokens: names of the prompt features (columns).
        output_tokens: the generated tokens (rows).
        annotate: write each value in its cell (default True).
    """
    values = as_array(token_attr, "token_attr", ndim=(2,))
    if values.shape != (len(output_tokens), len(input_tokens)):
        raise ValueError(
            f"token_attr has shape {values.shape}; expected "
            f"({len(output_tokens)}, {len(input_tokens)}) = (output_tokens, input_tokens)"
        )
    scale = symmetric_scale(values)
    figure = new_figure(max(values.shape[1] * 0.9, 6.4), max(values.shape[0] * 0.45 + 1.5, 3.0))
    axes = figure.subplots()
    image = axes.imshow(values, vmin=-scale, vmax=scale, cmap=DIVERGING, aspect="auto")
    figure.colorbar(image, ax=axes).set_label("attribution (log-probability)")
    axes.set_xticks(np.arange(values.shape[1]), labels=_labels(input_tokens))
    axes.set_yticks(np.arange(values.shape[0]), labels=_labels(output_tokens))
    axes.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False)
    for label in axes.get_xticklabels():
        label.set(rotation=-35, ha="right", rotation_mode="anchor")
    axes.set_ylabel("generated token")
    if annotate:
        for row, column in np.ndindex(values.shape):
            strong = abs(values[row, column]) > 0.6 * scale
            axes.text(
                column,
                row,
                f"{values[row, column]:.3f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if strong else "black",
            )
    return figure


def visualize_generation_sequence(seq_attr: Any, input_tokens: Sequence[str]) -> Figure:
    """Bars of ``seq_attr`` ``(n_input,)``: each prompt feature's effect on the whole answer.

    Args:
        seq_attr: attribution of each prompt feature to the sequence, ``(n_input,)``.
        input_tokens: the ``n_input`` feature names, the bars' labels.

    Returns:
        The matplotlib figure.
    """
    values = as_array(seq_attr, "seq_attr", ndim=(1,))
    if values.shape[0] != len(input_tokens):
        raise ValueError(
            f"seq_attr has {values.shape[0]} values; "
            f"expected {len(input_tokens)}, one per input token"
        )
    figure = new_figure(max(values.shape[0] * 0.5, 6.4), 4.0)
    axes = figure.subplots()
    axes.bar(np.arange(values.shape[0]), values, color=sign_colours(values))
    axes.axhline(0.0, color="black", linewidth=0.6)
    axes.set_xticks(np.arange(values.shape[0]), labels=_labels(input_tokens))
    for label in axes.get_xticklabels():
        label.set(rotation=-35, ha="left", rotation_mode="anchor")
    axes.set_ylabel("attribution to the sequence")
    return figure


def visualize_generation_image(
    image: Any,
    pixel_attr: Any,
    segments: Sequence[Any] = (),
    labels: Sequence[str] = (),
    border_width: float = 2.0,
) -> Figure:
    """The image in grey with the per-pixel attribution over it (symmetric scale around 0).

    Args:
        image: ``(height, width, 3)`` array (or PIL image).
        pixel_attr: ``(height, width)`` attributions.
        segments: boolean ``(height, width)`` masks whose outlines are drawn (default none).
        labels: a label per segment, written at its centre (default none).
        border_width: outline width in points; 0 draws none (default 2).
    """
    pixels = np.asarray(image, dtype=np.float64)
    values = as_array(pixel_attr, "pixel_attr", ndim=(2,))
    if pixels.shape[:2] != values.shape:
        raise ValueError(
            f"pixel_attr has shape {values.shape}; expected the image's (height, width) "
            f"{pixels.shape[:2]}"
        )
    scale = symmetric_scale(values)
    figure = new_figure(5.5, 4.5)
    axes = figure.subplots()
    axes.imshow(pixels.mean(axis=2) if pixels.ndim == 3 else pixels, cmap="gray")
    heat = axes.imshow(values, vmin=-scale, vmax=scale, cmap=DIVERGING, alpha=0.75)
    figure.colorbar(heat, ax=axes).set_label("attribution")
    for index, segment in enumerate(segments):
        mask = np.asarray(segment, dtype=np.float64)
        if border_width > 0 and 0 < mask.sum() < mask.size:
            axes.contour(mask, levels=[0.5], colors="black", linewidths=border_width / 2)
        if index < len(labels) and mask.any():
            rows, columns = np.nonzero(mask)
            axes.text(
                columns.mean(),
                rows.mean(),
                labels[index],
                ha="center",
                va="center",
                fontsize=8,
                color="black",
                bbox={"facecolor": "white", "alpha": 0.6},
            )
    axes.axis("off")
    return figure
