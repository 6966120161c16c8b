"""Segment ids: relabelling to connected regions, square grids, user maps, and a warning when
a segmentation gives far fewer segments than asked."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from torch import Tensor


def relabel(labels: np.ndarray) -> np.ndarray:
    """Ids 0..k-1 with each id one 4-connected region: a disconnected segment is split."""
    from skimage.measure import label

    labels = np.asarray(labels)
    components = label(labels, background=int(labels.min()) - 1, connectivity=1)
    _, inverse = np.unique(labels, return_inverse=True)
    if components.max() == inverse.max() + 1:  # already connected: keep the given order
        return inverse.reshape(labels.shape).astype(np.int64)
    return components.astype(np.int64) - 1


def grid_segments(height: int, width: int, n_segments: int) -> np.ndarray:
    cell = max(1, round(math.sqrt(height * width / n_segments)))
    rows, cols = np.arange(height) // cell, np.arange(width) // cell
    return rows[:, None] * (cols.max() + 1) + cols[None, :]


def user_segments(segmentation: Any, shape: tuple[int, int]) -> np.ndarray:
    if isinstance(segmentation, Tensor):
        labels = segmentation.detach().cpu().numpy()
    else:
        labels = np.asarray(segmentation)
    if labels.shape != shape:
        raise ValueError(
            f"segmentation has shape {labels.shape}; expected {shape} to match the image"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"segmentation has dtype {labels.dtype}; expected integer segment ids")
    return labels


def warn_if_few(labels: np.ndarray, n_segments: int, image: np.ndarray) -> None:
    """Warn when SLIC gives fewer than a quarter of ``n_segments``: every attribution is then
    shared by large regions (a noisy or flat image, or values outside [0, 1], are the usual
    causes)."""
    found = len(np.unique(labels))
    if found >= n_segments / 4:
        return
    warnings.warn(
        f"slic gave {found} segment(s) for n_segments={n_segments} on an image with values in "
        f"[{image.min():.3g}, {image.max():.3g}] (slic expects [0, 1]); for a noisy image raise "
        "segmentation_kwargs={'compactness': 100} (default 10), or use segmentation='grid'",
        UserWarning,
        stacklevel=4,
    )
