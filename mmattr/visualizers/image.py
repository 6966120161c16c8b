"""Image attributions: Captum's normalisation and sign colour maps, plus superpixel views
(Captum's ``visualize_image_attr`` functions are in :mod:`mmattr.visualizers.image_attr`).

Normalisation follows Captum 0.9: channels are summed, the sign filter applied, and values are
divided by the cumulative-sum threshold that leaves out the top ``outlier_perc`` percent of mass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, LinearSegmentedColormap
from matplotlib.figure import Figure

from mmattr.visualizers._common import (
    GROUND_TRUTH,
    InvalidArgument,
    as_array,
    new_figure,
    symmetric_scale,
)

METHODS = ("heat_map", "blended_heat_map", "original_image", "masked_image", "alpha_scaling")
SIGNS = ("positive", "negative", "absolute_value", "all")
_SIGN_CMAPS = {"positive": "Greens", "negative": "Reds", "absolute_value": "Blues"}
_RD_WH_GN = LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"])  # Captum's


def _channels_last(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3):
        return np.moveaxis(array, 0, 2)  # torch layout (C, H, W)
    return array


def as_image(image: Any, name: str = "original_image") -> np.ndarray:
    """``image`` as (H, W, 3) floats in [0, 1]; 0-255 images are rescaled."""
    array = _channels_last(as_array(image, name, ndim=(2, 3)))
    if array.shape[2] not in (1, 3):
        raise ValueError(
            f"{name} has shape {array.shape}; expected (H, W), (H, W, 1|3) or (1|3, H, W)"
        )
    if array.max() > 2.0:  # 0-255 pixels; [0, 1] images with slight overshoot stay as they are
        array = array / 255.0
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else np.clip(array, 0.0, 1.0)


def normalize_attr(attr: Any, sign: str = "absolute_value", outlier_perc: float = 2) -> np.ndarray:
    """(H, W) attribution in [-1, 1] (or [0, 1]) exactly as Captum's ``_normalize_attr``.

    Args:
        attr: attribution ``(H, W, C)`` or ``(H, W)``; channels are summed.
        sign: which sign to show: ``"absolute_value"``, ``"positive"``, ``"negative"`` or
            ``"all"`` (default ``"absolute_value"``).
        outlier_perc: percentile of the largest absolute values clipped before normalising
            (default ``2``).
    """
    return normalize_values(summed_attr(attr, sign, outlier_perc), sign, outlier_perc)


def summed_attr(attr: Any, sign: str, outlier_perc: float) -> np.ndarray:
    """(H, W): ``attr`` with its channels summed, once ``sign`` and ``outlier_perc`` are checked."""
    if sign not in SIGNS:
        raise InvalidArgument(f"sign is {sign!r}; expected one of {SIGNS}")
    if not 0 <= outlier_perc <= 100:
        raise InvalidArgument(f"outlier_perc is {outlier_perc}; expected a percentage in [0, 100]")
    return _channels_last(as_array(attr, "attr", ndim=(2, 3))).sum(axis=2)


def normalize_values(values: np.ndarray, sign: str, outlier_perc: float) -> np.ndarray:
    """Captum's ``_normalize_attr`` of an array of any shape (checked arguments): the sign
    filter, then ``clip(values / t, -1, 1)`` with ``t`` the :func:`outlier_threshold`."""
    threshold = outlier_threshold(values, sign, outlier_perc)
    if threshold == 0:
        return np.zeros_like(_sign_filtered(values, sign))
    return np.clip(_sign_filtered(values, sign) / threshold, -1, 1)


def outlier_threshold(values: np.ndarray, sign: str, outlier_perc: float) -> float:
    """Captum's scale ``t``: the smallest ``|v|`` (after the sign filter) at which the sorted
    ``|v|`` reach ``(100 − outlier_perc)%`` of their sum; negative for ``sign="negative"``, 0
    for a map without a value of that sign. A normalised 1 is ``t`` in attribution units."""
    sorted_abs = np.sort(np.abs(_sign_filtered(values, sign)).ravel())
    cumulative = np.cumsum(sorted_abs)
    # Captum's product can round above the total at outlier_perc=0 and find no index (IndexError);
    # the last element is the threshold there.
    reached = cumulative >= cumulative[-1] * 0.01 * (100 - outlier_perc)
    threshold = sorted_abs[int(reached.argmax()) if reached.any() else -1]
    return -threshold if sign == "negative" else threshold


def _sign_filtered(values: np.ndarray, sign: str) -> np.ndarray:
    if sign == "positive":
        return np.maximum(values, 0)
    if sign == "negative":
        return np.minimum(values, 0)
    if sign == "absolute_value":
        return np.abs(values)
    return values


def check_view(method: str, sign: str, norm: np.ndarray, image: np.ndarray | None) -> None:
    """``method`` can draw ``norm`` (H, W) with ``sign`` over ``image`` (H, W, C) or None."""
    if image is None and method != "heat_map":
        raise InvalidArgument(f"original_image is None; method {method!r} needs the image")
    if image is not None and image.shape[:2] != norm.shape:
        raise InvalidArgument(
            f"attr has spatial shape {norm.shape}; "
            f"expected {image.shape[:2]} to match original_image"
        )
    if method in ("masked_image", "alpha_scaling") and sign == "all":
        raise InvalidArgument(
            f"sign 'all' cannot drive method {method!r}; choose positive/negative/absolute_value"
        )


def _cmap(sign: str, cmap: str | Colormap | None) -> tuple[Colormap, float, float]:
    if cmap is not None:
        chosen = colormaps[cmap] if isinstance(cmap, str) else cmap
    elif sign == "all":
        chosen = _RD_WH_GN
    else:
        chosen = colormaps[_SIGN_CMAPS[sign]]
    return chosen, (-1.0 if sign == "all" else 0.0), 1.0


def overlay(
    attr: Any,
    original_image: Any = None,
    method: str = "heat_map",
    sign: str = "absolute_value",
    outlier_perc: float = 2,
    alpha_overlay: float = 0.5,
    cmap: str | Colormap | None = None,
) -> np.ndarray:
    """One (H, W, 3) RGB picture in [0, 1] of what :func:`visualize_image_attr` draws in layers
    (for HTML and reports, where one image is wanted).

    Args:
        attr: attribution ``(H, W, C)`` or ``(H, W)``.
        original_image: the image ``(H, W, C)`` in [0, 1] or [0, 255] (``None``: attribution
            only; default ``None``).
        method: ``"heat_map"``, ``"blended_heat_map"``, ``"masked_image"``,
            ``"alpha_scaling"`` or ``"original_image"``, as Captum's (default
            ``"heat_map"``).
        sign: which sign to show: ``"absolute_value"``, ``"positive"``, ``"negative"`` or
            ``"all"`` (default ``"absolute_value"``).
        outlier_perc: percentile of the largest absolute values clipped before normalising
            (default ``2``).
        alpha_overlay: opacity of the attribution over the image (default ``0.5``).
        cmap: matplotlib colormap name (``None``: chosen from ``sign``; default ``None``).
    """
    if method not in METHODS:
        raise InvalidArgument(f"method is {method!r}; expected one of {METHODS}")
    norm = normalize_attr(attr, sign, outlier_perc)
    image = None if original_image is None else as_image(original_image)
    check_view(method, sign, norm, image)
    colour_map, vmin, vmax = _cmap(sign, cmap)
    heat = colour_map((norm - vmin) / (vmax - vmin))[..., :3]
    if method == "heat_map":
        return heat
    if method == "original_image":
        return image
    if method == "blended_heat_map":
        gray = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
        return (1 - alpha_overlay) * gray + alpha_overlay * heat
    weight = np.abs(norm)[..., None]
    if method == "masked_image":
        return image * weight
    return image * weight + (1 - weight)  # alpha scaling composited on white


def _outline(axis: Axes, ground_truth: Any, shape: tuple[int, ...]) -> None:
    """The (H, W) ground-truth mask as an orange contour over a panel of ``shape``."""
    truth = as_array(ground_truth, "ground_truth", ndim=(2,))
    if truth.shape != shape:
        raise ValueError(f"ground_truth has shape {truth.shape}; expected {shape}")
    if truth.max() > 0.5:  # an empty mask (nothing should matter) has no outline
        axis.contour(truth > 0.5, levels=[0.5], colors=GROUND_TRUTH, linewidths=2)


def _check_segments(segments: Any, image: np.ndarray) -> np.ndarray:
    segment_map = as_array(segments, "segments", ndim=(2,)).astype(np.int64)
    if segment_map.shape != image.shape[:2]:
        raise ValueError(
            f"segments has shape {segment_map.shape}; expected {image.shape[:2]} to match image"
        )
    return segment_map


def segment_score_map(segments: Any, segment_scores: Any) -> np.ndarray:
    """(H, W) map painting each segment with its score; ``segment_scores[i]`` is segment ``i``."""
    segment_map = as_array(segments, "segments", ndim=(2,)).astype(np.int64)
    scores = as_array(segment_scores, "segment_scores", ndim=(1,))
    if segment_map.min() < 0 or segment_map.max() >= scores.size:
        raise ValueError(
            f"segments has ids {segment_map.min()}..{segment_map.max()}; "
            f"expected ids in 0..{scores.size - 1} to index segment_scores"
        )
    return scores[segment_map]


def top_segments_image(
    image: Any, segments: Any, segment_scores: Any, top_k: int = 3, keep: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The image with the ``top_k`` highest-scoring segments kept (rest grey) or removed."""
    picture = as_image(image, "image")
    segment_map = _check_segments(segments, picture)
    scores = as_array(segment_scores, "segment_scores", ndim=(1,))
    if not 1 <= top_k <= scores.size:
        raise ValueError(f"top_k is {top_k}; expected 1..{scores.size} (the number of segments)")
    top_ids = np.argsort(-scores, kind="stable")[:top_k]
    chosen = np.isin(segment_map, top_ids)
    shown = chosen if keep else ~chosen
    return np.where(shown[..., None], picture, 0.5), top_ids


def visualize_segments(
    image: Any,
    segments: Any,
    segment_scores: Any,
    top_k: int = 3,
    ground_truth: Any = None,
    title: str | None = None,
    show_colorbar: bool = True,
) -> Figure:
    """Image with superpixel boundaries, the per-segment score map, and top-k kept and removed.

    image: (H, W, 3) or (3, H, W). segments: (H, W) integer ids 0..S-1.
    segment_scores: (S,) one attribution per segment. ground_truth: optional (H, W) mask drawn
    as an orange contour on the score map. Needs scikit-image (``mmattr[vision]``).

    Args:
        image: the image ``(H, W, C)`` or ``(C, H, W)``.
        segments: ``(H, W)`` integer segment ids.
        segment_scores: one score per segment id.
        top_k: how many top-scoring items to highlight (default ``3``).
        ground_truth: ``(H, W)`` boolean mask outlined as the truth (``None``: none; default
            ``None``).
        title: figure title (``None``: none; default ``None``).
        show_colorbar: a colour bar beside the score map (default ``True``).
    """
    picture = as_image(image, "image")
    segment_map = _check_segments(segments, picture)
    score_map = segment_score_map(segment_map, segment_scores)
    kept, _ = top_segments_image(picture, segment_map, segment_scores, top_k, keep=True)
    removed, _ = top_segments_image(picture, segment_map, segment_scores, top_k, keep=False)
    figure = new_figure(13, 3.6)
    axes = figure.subplots(1, 4)
    _show_boundaries(axes[0], picture, segment_map)
    axes[0].set_title(f"superpixels ({int(segment_map.max()) + 1})")
    scale = symmetric_scale(score_map)
    shown = axes[1].imshow(score_map, cmap=_RD_WH_GN, vmin=-scale, vmax=scale)
    if ground_truth is not None:
        _outline(axes[1], ground_truth, segment_map.shape)
    if show_colorbar:
        figure.colorbar(shown, ax=axes[1], shrink=0.8)
    axes[1].set_title("segment attribution")
    _show_boundaries(axes[2], kept, segment_map)
    axes[2].set_title(f"top {top_k} segments kept")
    axes[3].imshow(removed)
    axes[3].set_title(f"top {top_k} segments removed")
    for axis in axes:
        axis.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure


def _show_boundaries(axis: Axes, picture: np.ndarray, segment_map: np.ndarray) -> None:
    """Superpixel boundaries in yellow, drawn on a nearest-neighbour enlargement (at least 256
    pixels a side) so that on a small image they are thin lines, not a third of the pixels."""
    from skimage.segmentation import mark_boundaries

    height, width = segment_map.shape
    factor = max(1, -(-256 // max(height, width)))
    picture, segment_map = (
        np.repeat(np.repeat(array, factor, axis=0), factor, axis=1)
        for array in (picture, segment_map)
    )
    marked = mark_boundaries(picture, segment_map, color=(1, 1, 0))
    axis.imshow(marked, extent=(-0.5, width - 0.5, height - 0.5, -0.5))
