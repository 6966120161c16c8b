"""Captum's ``visualize_timeseries_attr``: a multichannel series with its attributions as
coloured bands (``overlay_individual``, ``overlay_combined``) or as the line's colour
(``colored_graph``); same signature, same normalisation, ``(figure, axes)`` back.

Bands are one mesh per channel rather than Captum's one ``axvspan`` per time step: the same
picture at a cost that does not grow with the series' length in artists.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1 import make_axes_locatable

from mmattr.visualizers._common import InvalidArgument, as_array
from mmattr.visualizers.image import SIGNS, _cmap, normalize_values
from mmattr.visualizers.image_attr import figure_and_axes

TIMESERIES_METHODS = ("overlay_individual", "overlay_combined", "colored_graph")


def _bands(axis: Axes, x_values: np.ndarray, values: np.ndarray, cmap, norm, alpha: float):
    """``values[t]`` as a full-height band centred on ``x_values[t]``, as Captum's spans."""
    half = (x_values[1] - x_values[0]) / 2.0 if len(x_values) > 1 else 0.5
    edges = np.append(x_values - half, x_values[-1] + half)
    limits = axis.get_ylim()
    axis.pcolormesh(
        edges,
        [0.0, 1.0],
        values[None, :],
        cmap=cmap,
        norm=norm,
        alpha=alpha,
        transform=axis.get_xaxis_transform(),
        zorder=0,
        edgecolors="none",
    )
    axis.set_ylim(limits)


def _draw(method, axes, x_values, data, labels, norm_attr, cmap, cm_norm, alpha, line_kwargs):
    if method == "overlay_combined":
        axes[0].set_prop_cycle(color=colormaps["Dark2"].colors)
        for channel, series in enumerate(data):
            label = labels[channel] if labels else None
            axes[0].plot(x_values, series, label=label, **line_kwargs)
        _bands(axes[0], x_values, norm_attr, cmap, cm_norm, alpha)
        axes[0].legend(loc="best")
        return
    for channel, (axis, series) in enumerate(zip(axes, data)):
        if method == "overlay_individual":
            axis.plot(x_values, series, **line_kwargs)
            _bands(axis, x_values, norm_attr[channel], cmap, cm_norm, alpha)
        else:  # colored_graph: each segment coloured by the attribution at its start
            points = np.stack([x_values, series], axis=1)[:, None, :]
            segments = np.concatenate([points[:-1], points[1:]], axis=1)
            lines = LineCollection(segments, cmap=cmap, norm=cm_norm, **line_kwargs)
            lines.set_array(norm_attr[channel, :-1])
            axis.add_collection(lines)
            axis.set_ylim(1.2 * series.min(), 1.2 * series.max())
        if labels is not None:
            axis.set_ylabel(labels[channel])


def _check(attr: Any, data: Any, x_values: Any, method: str, sign: str, channels_last: bool):
    if method not in TIMESERIES_METHODS:
        raise InvalidArgument(f"method is {method!r}; expected one of {TIMESERIES_METHODS}")
    if sign not in SIGNS:
        raise InvalidArgument(f"sign is {sign!r}; expected one of {SIGNS}")
    attr = as_array(attr, "attr", ndim=(2,))
    data = as_array(data, "data", ndim=(2,))
    if attr.shape != data.shape:
        raise InvalidArgument(f"attr has shape {attr.shape}; expected {data.shape} like data")
    if channels_last:
        attr, data = attr.T, data.T
    if attr.shape[0] > attr.shape[1]:
        warnings.warn(
            f"Number of channels ({attr.shape[0]}) greater than time series length "
            f"({attr.shape[1]}), please verify input format",
            stacklevel=3,
        )
    if x_values is None:
        return attr, data, np.arange(attr.shape[1])
    x_values = as_array(x_values, "x_values", ndim=(1,))
    if x_values.shape[0] != attr.shape[1]:
        raise InvalidArgument(
            f"x_values has {x_values.shape[0]} values; expected {attr.shape[1]}, the length of "
            "the series"
        )
    return attr, data, x_values


def visualize_timeseries_attr(
    attr: Any,
    data: Any,
    x_values: Any = None,
    method: str = "overlay_individual",
    sign: str = "absolute_value",
    channel_labels: list[str] | None = None,
    channels_last: bool = True,
    plt_fig_axis: tuple[Figure, Any] | None = None,
    outlier_perc: float = 2,
    cmap: str | Colormap | None = None,
    alpha_overlay: float = 0.7,
    show_colorbar: bool = False,
    title: str | None = None,
    fig_size: tuple[float, float] = (6, 6),
    use_pyplot: bool = True,
    **pyplot_kwargs: Any,
) -> tuple[Figure, Any]:
    """Draw a time series' attributions as Captum does; returns ``(figure, axes)``.

    Args:
        attr, data: (N, C) arrays (time × channels), or (C, N) with ``channels_last=False``.
        x_values: (N,) positions of the samples. Default None: 0..N-1.
        method: overlay_individual (default: one panel per channel, attribution bands) |
            overlay_combined (one panel, channels' attributions summed) | colored_graph.
        sign, outlier_perc, cmap: as :func:`visualize_image_attr` (defaults absolute_value, 2).
        channel_labels: one label per channel. Default None.
        alpha_overlay: band opacity. Default 0.7. show_colorbar: default False.
        title: the first panel's title. fig_size: default (6, 6).
        use_pyplot: create through pyplot and ``plt.show()``. Default True.
        pyplot_kwargs: passed to the lines (``plot`` / ``LineCollection``).
        attr: attribution, ``(time, channels)`` or ``(channels, time)``.
        data: the series, same shape as ``attr``.
        sign: which sign to show: ``"absolute_value"``, ``"positive"``, ``"negative"`` or
            ``"all"`` (default ``"absolute_value"``).
        channels_last: ``attr``/``data`` are ``(time, channels)`` rather than ``(channels,
            time)`` (default ``True``).
        plt_fig_axis: an existing ``(figure, axes)`` to draw into (``None``: a new figure;
            default ``None``).
        outlier_perc: percentile of the largest absolute values clipped before normalising
            (default ``2``).
        cmap: matplotlib colormap name (``None``: chosen from ``sign``; default ``None``).
        show_colorbar: draw a colour bar (default ``False``).
        fig_size: figure size in inches (default ``(6, 6)``).

    >>> import numpy as np
    >>> fig, axes = visualize_timeseries_attr(np.ones((20, 2)), np.ones((20, 2)), use_pyplot=False)
    """
    attr, data, x_values = _check(attr, data, x_values, method, sign, channels_last)
    if not 0 <= outlier_perc <= 100:
        raise InvalidArgument(f"outlier_perc is {outlier_perc}; expected a percentage in [0, 100]")
    if method == "overlay_combined":
        attr = attr.sum(axis=0)
    panels = 1 if method == "overlay_combined" else attr.shape[0]
    figure, axis = figure_and_axes(plt_fig_axis, use_pyplot, fig_size, nrows=panels, sharex=True)
    axes = list(np.atleast_1d(axis))
    norm_attr = normalize_values(attr, sign, outlier_perc)
    colour_map, vmin, vmax = _cmap(sign, cmap)
    cm_norm = Normalize(vmin, vmax)
    _draw(
        method,
        axes,
        x_values,
        data,
        channel_labels,
        norm_attr,
        colour_map,
        cm_norm,
        alpha_overlay,
        pyplot_kwargs,
    )
    figure.subplots_adjust(hspace=0)
    axes[-1].set_xlim(x_values[0], x_values[-1])
    if show_colorbar:
        colorbar_axis = make_axes_locatable(axes[-1]).append_axes("bottom", size="5%", pad=0.4)
        alpha = 1.0 if method == "colored_graph" else alpha_overlay
        figure.colorbar(
            ScalarMappable(cm_norm, colour_map),
            orientation="horizontal",
            cax=colorbar_axis,
            alpha=alpha,
        )
    if title:
        axes[0].set_title(title)
    if use_pyplot:
        from matplotlib import pyplot as plt

        plt.show()
    return figure, axis
