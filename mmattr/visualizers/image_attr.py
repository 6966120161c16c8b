"""Captum's ``visualize_image_attr`` and ``visualize_image_attr_multiple``: same signatures,
same drawing (the normalised map through the sign's colour map, layered over the image), same
``(figure, axis)`` result; mmattr adds ``ground_truth``, drawn as an orange contour.

The map drawn is ``clip(Σ_channels attr / t, -1, 1)`` after the sign filter, where ``t`` leaves
out the top ``outlier_perc`` percent of the absolute attribution mass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import pyplot as plt
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.axes_grid1 import make_axes_locatable

from mmattr.visualizers._common import InvalidArgument, as_array
from mmattr.visualizers.image import (
    METHODS,
    _channels_last,
    _cmap,
    _outline,
    check_view,
    normalize_values,
    outlier_threshold,
    summed_attr,
)


def figure_and_axes(
    plt_fig_axis: tuple[Figure, Any] | None, use_pyplot: bool, fig_size: tuple, **kwargs: Any
) -> tuple[Figure, Any]:
    """The caller's ``(figure, axis)``, or a new one: through pyplot with ``use_pyplot``, else a
    free-standing Figure that pyplot never holds."""
    if plt_fig_axis is not None:
        return plt_fig_axis
    if use_pyplot:
        return plt.subplots(figsize=fig_size, **kwargs)
    figure = Figure(figsize=fig_size)
    return figure, figure.subplots(**kwargs)


def _pixels(values: np.ndarray) -> np.ndarray:
    return np.clip(values.astype(int), 0, 255)


def captum_image(original_image: Any) -> np.ndarray:
    """(H, W, C) image as Captum draws it: images in [0, 1] become integers 0..255."""
    image = _channels_last(as_array(original_image, "original_image", ndim=(2, 3)))
    return _pixels(image * 255) if image.max() <= 1.0 else image


def _draw(
    axis: Axes,
    method: str,
    sign: str,
    norm: np.ndarray,
    image: np.ndarray | None,
    cmap: str | Colormap | None,
    alpha_overlay: float,
) -> AxesImage | None:
    """One view on ``axis``; returns the heat map layer (for a colour bar) where there is one."""
    colour_map, vmin, vmax = _cmap(sign, cmap)
    if method == "heat_map":
        return axis.imshow(norm, cmap=colour_map, vmin=vmin, vmax=vmax)
    if method == "blended_heat_map":
        axis.imshow(np.mean(image, axis=2), cmap="gray")
        return axis.imshow(norm, cmap=colour_map, vmin=vmin, vmax=vmax, alpha=alpha_overlay)
    if method == "original_image":
        axis.imshow(image[..., 0] if image.shape[2] == 1 else image)
    elif method == "masked_image":
        axis.imshow(_pixels(image * norm[..., None]))
    else:  # alpha_scaling: the map as the image's alpha channel
        axis.imshow(np.concatenate([image, _pixels(norm[..., None] * 255)], axis=2))
    return None


def visualize_image_attr(
    attr: Any,
    original_image: Any = None,
    method: str = "heat_map",
    sign: str = "absolute_value",
    plt_fig_axis: tuple[Figure, Axes] | None = None,
    outlier_perc: float = 2,
    cmap: str | Colormap | None = None,
    alpha_overlay: float = 0.5,
    show_colorbar: bool = False,
    title: str | None = None,
    fig_size: tuple[float, float] = (6, 6),
    use_pyplot: bool = True,
    *,
    ground_truth: Any = None,
    raw_colorbar: bool = False,
) -> tuple[Figure, Axes]:
    """Draw an image attribution as Captum does; returns ``(figure, axis)``.

    Args:
        attr: (H, W), (H, W, C) or (C, H, W) attributions (channels are summed); array or tensor.
        original_image: the matching image, [0, 1] floats or 0-255; needed by every method but
            heat_map. Default None.
        method: heat_map (default) | blended_heat_map | original_image | masked_image |
            alpha_scaling.
        sign: absolute_value (default) | positive | negative | all.
        plt_fig_axis: draw on this ``(figure, axis)``. Default None: a new figure.
        outlier_perc: percent of the attribution mass left out of the scale. Default 2.
        cmap: colour map. Default None: Blues / Greens / Reds / red-white-green by sign.
        alpha_overlay: heat map opacity over the image (blended_heat_map). Default 0.5.
        show_colorbar: a colour bar below the axis. Default False.
        title: the axis title. Default None.
        fig_size: size of a new figure. Default (6, 6).
        use_pyplot: create the figure through pyplot and ``plt.show()`` it. Default True.
        ground_truth: (H, W) mask of what should matter, outlined in orange. Default None.
        raw_colorbar: label the colour bar in the attribution's own units, its end ``t`` the
            outlier threshold, instead of Captum's normalised ``[-1, 1]``. Default False.

    >>> import numpy as np
    >>> fig, axis = visualize_image_attr(np.eye(8), np.ones((8, 8, 3)), "blended_heat_map",
    ...                                  use_pyplot=False)
    """
    if method not in METHODS:
        raise InvalidArgument(f"method is {method!r}; expected one of {METHODS}")
    summed = summed_attr(attr, sign, outlier_perc)
    norm = normalize_values(summed, sign, outlier_perc)
    image = None if original_image is None else captum_image(original_image)
    check_view(method, sign, norm, image)
    figure, axis = figure_and_axes(plt_fig_axis, use_pyplot, fig_size)
    if isinstance(axis, list):
        axis = axis[0]
    axis.xaxis.set_ticks_position("none")
    axis.yaxis.set_ticks_position("none")
    axis.set_xticklabels([])
    axis.set_yticklabels([])
    axis.grid(visible=False)
    heat_map = _draw(axis, method, sign, norm, image, cmap, alpha_overlay)
    if ground_truth is not None:
        _outline(axis, ground_truth, norm.shape)
    if show_colorbar:
        colorbar_axis = make_axes_locatable(axis).append_axes("bottom", size="5%", pad=0.1)
        if heat_map is not None:
            bar = figure.colorbar(heat_map, orientation="horizontal", cax=colorbar_axis)
            if raw_colorbar:
                _in_attribution_units(bar, outlier_threshold(summed, sign, outlier_perc), sign)
        else:
            colorbar_axis.axis("off")
    if title:
        axis.set_title(title)
    if use_pyplot:
        plt.show()
    return figure, axis


def _in_attribution_units(bar: Colorbar, threshold: float, sign: str) -> None:
    """Ticks at round attribution values ``r``, placed at ``r / t`` on the normalised bar."""
    bar.set_label("|attribution|" if sign == "absolute_value" else "attribution")
    if threshold == 0:  # nothing of this sign: the bar stays as Captum labels it
        return
    low, high = sorted(value * threshold for value in bar.mappable.get_clim())
    raw = MaxNLocator(nbins=5).tick_values(low, high)
    slack = 1e-12 * abs(threshold)  # a round end value may sit a rounding error outside
    raw = raw[(raw >= low - slack) & (raw <= high + slack)]
    bar.set_ticks(raw / threshold, labels=[_tick_label(value) for value in raw])


def _tick_label(value: float) -> str:
    """``value`` as matplotlib writes tick labels (its minus sign where it uses one)."""
    text = f"{value:.3g}"
    return text.replace("-", "\N{MINUS SIGN}") if rcParams["axes.unicode_minus"] else text


def visualize_image_attr_multiple(
    attr: Any,
    original_image: Any,
    methods: list[str],
    signs: list[str],
    titles: list[str] | None = None,
    fig_size: tuple[float, float] = (8, 6),
    use_pyplot: bool = True,
    **kwargs: Any,
) -> tuple[Figure, Axes | list[Axes]]:
    """Several views side by side, as Captum's: panel ``i`` draws ``methods[i]`` with
    ``signs[i]``; ``kwargs`` (outlier_perc, cmap, alpha_overlay, show_colorbar, raw_colorbar,
    ground_truth) go to every panel's :func:`visualize_image_attr` (the ground truth is not
    outlined on the original image). Returns ``(figure, axis)`` for one panel,
    ``(figure, [axes])`` for more.

    >>> import numpy as np
    >>> fig, axes = visualize_image_attr_multiple(np.eye(8), np.ones((8, 8, 3)),
    ...     ["original_image", "heat_map"], ["all", "positive"], use_pyplot=False)

    Args:
        attr: attribution ``(H, W, C)``.
        original_image: the image ``(H, W, C)``.
        methods: one visualisation method per panel (as ``visualize_image_attr``'s
            ``method``).
        signs: one sign per panel.
        titles: one title per panel (``None``: no titles; default ``None``).
        fig_size: figure size in inches (default ``(8, 6)``).
        use_pyplot: draw through ``pyplot`` (else build a detached ``Figure``; default
            ``True``).
        **kwargs: passed to ``visualize_image_attr`` for every panel.
    """
    if len(methods) != len(signs) or not methods:
        raise InvalidArgument(
            f"methods has {len(methods)} entries and signs {len(signs)}; expected the same "
            "number, at least one"
        )
    if titles is not None and len(titles) != len(methods):
        raise InvalidArgument(
            f"titles has {len(titles)} entries; expected {len(methods)} (methods)"
        )
    truth = kwargs.pop("ground_truth", None)
    figure = plt.figure(figsize=fig_size) if use_pyplot else Figure(figsize=fig_size)
    panels = figure.subplots(1, len(methods), squeeze=True)
    axes = [panels] if len(methods) == 1 else list(panels)
    for index, (method, sign) in enumerate(zip(methods, signs)):
        visualize_image_attr(
            attr,
            original_image,
            method,
            sign,
            (figure, axes[index]),
            use_pyplot=False,
            title=titles[index] if titles else None,
            ground_truth=None if method == "original_image" else truth,
            **kwargs,
        )
    figure.tight_layout()
    if use_pyplot:
        plt.show()
    return figure, axes[0] if len(methods) == 1 else axes
