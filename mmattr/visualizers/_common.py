"""Shared helpers of the visualizers: array checks, colour scales and figure encoding."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

# No matplotlib.use(): figures are bare Figure objects that render to PNG without pyplot, and
# selecting a backend here would take a notebook's inline display away from its own pyplot.

# Red for evidence against, green for evidence for: Captum's diverging "RdWhGn" convention.
# Every figure and every HTML fragment uses it, so one report never flips what a colour means.
NEGATIVE_RGB = (0.84, 0.15, 0.16)
POSITIVE_RGB = (0.17, 0.63, 0.17)
DIVERGING = LinearSegmentedColormap.from_list(
    "mmattr_RdWhGn", [NEGATIVE_RGB, (1.0, 1.0, 1.0), POSITIVE_RGB]
)
# Ground truth (what should matter) is outlined in orange: it is neither sign's colour.
GROUND_TRUTH = "darkorange"


class InvalidArgument(ValueError, AssertionError):
    """A bad argument to a visualizer: a ``ValueError`` that ``except AssertionError`` (what
    Captum's visualization functions raise for the same input) also catches."""


def sign_colours(values: np.ndarray) -> list[tuple[float, float, float]]:
    """Bar colours: green for values >= 0, red below."""
    return [POSITIVE_RGB if value >= 0 else NEGATIVE_RGB for value in np.ravel(values)]


def as_array(values: Any, name: str, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """``values`` (tensor, array or sequence) as a finite float64 array; errors name ``name``."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be numeric array-like; got {type(values).__name__}"
        ) from error
    if ndim is not None and array.ndim not in ndim:
        raise ValueError(f"{name} has {array.ndim} dimensions {array.shape}; expected {ndim}")
    if array.size == 0:
        raise ValueError(f"{name} is empty; expected at least one value")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"{name} contains {bad} NaN/Inf values; attributions must be finite")
    return array


def symmetric_scale(values: np.ndarray) -> float:
    """The largest absolute value, or 1 when all are zero, so a zero map stays neutral."""
    peak = float(np.abs(values).max())
    return peak if peak > 0 else 1.0


def diverging_rgb(value: float, scale: float) -> tuple[float, float, float, float]:
    """(r, g, b, strength) for ``value``: white at 0, red/green at ``-scale``/``+scale``."""
    strength = min(abs(value) / scale, 1.0)
    target = POSITIVE_RGB if value >= 0 else NEGATIVE_RGB
    rgb = tuple(1.0 + strength * (channel - 1.0) for channel in target)
    return (*rgb, strength)


def css_colour(value: float, scale: float) -> str:
    r, g, b, _ = diverging_rgb(value, scale)
    return f"rgb({round(r * 255)}, {round(g * 255)}, {round(b * 255)})"


def new_figure(width: float, height: float) -> Figure:
    """A Figure not registered with pyplot, so nothing is shown and nothing leaks."""
    return Figure(figsize=(width, height), layout="constrained")


def figure_png(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_base64(figure: Figure, dpi: int = 100) -> str:
    """The figure as a base64-encoded PNG, ready for an ``<img src="data:...">``.

    Args:
        figure: the matplotlib figure to encode.
        dpi: resolution of the PNG in dots per inch (default ``100``).
    """
    return base64.b64encode(figure_png(figure, dpi)).decode("ascii")
