"""Audio attributions: spectrogram with window attributions over it, waveform with top windows.

Window attributions are on a (frequency bands, time windows) grid that tiles the spectrogram;
a 1-D grid means time windows only (each covers every frequency).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from mmattr.visualizers._common import (
    DIVERGING,
    GROUND_TRUTH,
    POSITIVE_RGB,
    as_array,
    new_figure,
    sign_colours,
    symmetric_scale,
)


def window_grid(window_scores: Any) -> np.ndarray:
    """``window_scores`` as a (bands, windows) grid."""
    grid = as_array(window_scores, "window_scores", ndim=(1, 2))
    return grid[None, :] if grid.ndim == 1 else grid


def upsample_windows(window_scores: Any, shape: tuple[int, int]) -> np.ndarray:
    """Paint each window's score over the spectrogram cells it covers; returns ``shape``."""
    grid = window_grid(window_scores)
    if grid.shape[0] > shape[0] or grid.shape[1] > shape[1]:
        raise ValueError(
            f"window_scores has grid {grid.shape}; expected at most {shape} (the spectrogram)"
        )
    rows = np.minimum(np.arange(shape[0]) * grid.shape[0] // shape[0], grid.shape[0] - 1)
    cols = np.minimum(np.arange(shape[1]) * grid.shape[1] // shape[1], grid.shape[1] - 1)
    return grid[np.ix_(rows, cols)]


def visualize_spectrogram(
    spectrogram: Any,
    window_scores: Any,
    ground_truth: Any = None,
    title: str | None = None,
    duration: float | None = None,
) -> Figure:
    """Spectrogram (log power, frequency up) with window attributions overlaid.

    spectrogram: (F, T) power or log-power. window_scores: (bands, windows) or (windows,).
    ground_truth: optional grid of the same shape as window_scores, 1 where the signal is,
    outlined in orange. duration: the clip's length in seconds, to label time in seconds
    (default None: time frames).

    Args:
        spectrogram: ``(freq, frames)`` power spectrogram.
        window_scores: one attribution per time window.
        ground_truth: true windows, outlined (``None``: none; default ``None``).
        title: figure title (``None``: none; default ``None``).
        duration: length in seconds for the time axis (``None``: frames; default ``None``).
    """
    power = as_array(spectrogram, "spectrogram", ndim=(2,))
    painted = upsample_windows(window_scores, power.shape)
    shown = np.log10(power + 1e-8) if power.min() >= 0 else power
    extent = None if duration is None else (0.0, float(duration), -0.5, power.shape[0] - 0.5)
    figure = new_figure(9, 3.4)
    axes = figure.subplots(1, 2)
    drawn = {"origin": "lower", "aspect": "auto", "extent": extent}
    axes[0].imshow(shown, cmap="magma", **drawn)
    axes[0].set_title("spectrogram (log power)")
    axes[1].imshow(shown, cmap="gray", **drawn)
    scale = symmetric_scale(painted)
    overlay = axes[1].imshow(painted, cmap=DIVERGING, vmin=-scale, vmax=scale, alpha=0.6, **drawn)
    if ground_truth is not None:
        truth = upsample_windows(ground_truth, power.shape)
        axes[1].contour(truth > 0.5, levels=[0.5], colors=GROUND_TRUTH, linewidths=2, extent=extent)
    axes[1].set_title(
        "window attribution" + (" (orange: ground truth)" if ground_truth is not None else "")
    )
    figure.colorbar(overlay, ax=axes[1], shrink=0.8, label="attribution")
    for axis in axes:
        axis.set_xlabel("time frame" if duration is None else "time (s)")
        axis.set_ylabel("frequency bin")
    if title:
        figure.suptitle(title)
    return figure


def spectrogram_image(spectrogram: Any, window_scores: Any, floor: float = 0.25) -> np.ndarray:
    """Window attributions over the spectrogram as an RGB array (F, T, 3) uint8, frequency up:
    ``diverging(score / max |score|) · (floor + (1 - floor) · lightness)`` per cell, where the
    lightness is the log power scaled to [0, 1]: the hue says the sign and strength, the
    brightness shows the signal, under strong colours too.

    Args:
        spectrogram: ``(freq, frames)`` power spectrogram (log power when it has negatives).
        window_scores: ``(bands, windows)`` or ``(windows,)`` attributions, or one per cell.
        floor: the brightness of the quietest cell (default ``0.25``).
    """
    power = as_array(spectrogram, "spectrogram", ndim=(2,))
    painted = upsample_windows(window_scores, power.shape)
    shown = np.log10(power + 1e-8) if power.min() >= 0 else power
    low, high = float(shown.min()), float(shown.max())
    lightness = (shown - low) / (high - low) if high > low else np.ones_like(shown)
    scale = symmetric_scale(painted)
    colours = DIVERGING((painted / scale + 1.0) / 2.0)[..., :3]  # (F, T, 3)
    shaded = colours * (floor + (1.0 - floor) * lightness)[..., None]
    return (np.flipud(shaded) * 255.0).round().astype(np.uint8)


_SPEC_STYLE = (
    "<style>.mm-spec{font-family:sans-serif;font-size:12px;margin:0;display:inline-block;}"
    ".mm-spec-grid{display:grid;grid-template-columns:auto auto auto;gap:2px 4px;}"
    ".mm-spec-ylabel{writing-mode:vertical-rl;transform:rotate(180deg);text-align:center;}"
    ".mm-spec-yticks{display:flex;flex-direction:column;justify-content:space-between;"
    "text-align:right;}"
    ".mm-spec-xticks{display:flex;justify-content:space-between;grid-column:3;}"
    ".mm-spec-xlabel{text-align:center;grid-column:3;}"
    ".mm-spec img{display:block;image-rendering:pixelated;}"
    ".mm-spec-legend{display:flex;align-items:center;gap:6px;margin-top:4px;}"
    ".mm-spec-bar{width:160px;height:10px;border:1px solid #999;background:linear-gradient("
    "to right,rgb(214,38,41),rgb(255,255,255),rgb(43,161,43));}</style>"
)


def spectrogram_html(
    spectrogram: Any,
    window_scores: Any,
    duration: float | None = None,
    max_frequency: float | None = None,
    title: str | None = None,
    zoom: tuple[int, int] = (2, 4),
) -> str:
    """HTML of :func:`spectrogram_image` (a PNG, no figure: ~50x faster to draw) with its time
    and frequency axes and the colour scale as HTML around it.

    Args:
        spectrogram: ``(freq, frames)`` power spectrogram.
        window_scores: ``(bands, windows)`` or ``(windows,)`` attributions, or one per cell.
        duration: length in seconds for the time axis (``None``: frames; default ``None``).
        max_frequency: the top frequency in Hz, for a linear frequency axis (``None``: bins;
            default ``None``).
        title: caption above the image (``None``: a description; default ``None``).
        zoom: each cell drawn as (rows, columns) pixels (default ``(2, 4)``).
    """
    from PIL import Image

    rgb = spectrogram_image(spectrogram, window_scores)
    rows, frames = rgb.shape[:2]
    image = Image.fromarray(rgb).resize((frames * zoom[1], rows * zoom[0]), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    scale = symmetric_scale(upsample_windows(window_scores, (rows, frames)))
    top, y_name = (
        (max_frequency, "frequency (Hz)") if max_frequency else (rows - 1, "frequency bin")
    )
    end, x_name = (duration, "time (s)") if duration else (frames - 1, "time frame")
    ticks = lambda values: "".join(f"<span>{v:g}</span>" for v in values)  # noqa: E731
    caption = title or "window attribution (colour) over the spectrogram (brightness: log power)"
    return (
        f'{_SPEC_STYLE}<figure class="mm-spec"><figcaption>{html.escape(caption)}</figcaption>'
        f'<div class="mm-spec-grid"><div class="mm-spec-ylabel">{y_name}</div>'
        f'<div class="mm-spec-yticks">{ticks([top, top / 2, 0])}</div>'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(caption)}" '
        f'width="{frames * zoom[1]}" height="{rows * zoom[0]}">'
        f'<div class="mm-spec-xticks">{ticks([0, end / 2, end])}</div>'
        f'<div class="mm-spec-xlabel">{x_name}</div></div>'
        f'<div class="mm-spec-legend">against <span>{-scale:+.3g}</span>'
        f'<span class="mm-spec-bar"></span><span>{scale:+.3g}</span> for</div></figure>'
    )


def top_windows(window_scores: Any, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` time windows by total attribution (summed over bands)."""
    per_window = window_grid(window_scores).sum(axis=0)
    if not 1 <= top_k <= per_window.size:
        raise ValueError(f"top_k is {top_k}; expected 1..{per_window.size} (the number of windows)")
    return np.argsort(-per_window, kind="stable")[:top_k]


def visualize_waveform(
    waveform: Any,
    window_scores: Any,
    sample_rate: int,
    top_k: int = 2,
    ground_truth_windows: Any = None,
    title: str | None = None,
) -> Figure:
    """Waveform with the ``top_k`` windows shaded and per-window attribution bars below.

    waveform: (samples,). window_scores: (windows,) or (bands, windows), split evenly in time.
    ground_truth_windows: optional indices of the windows that carry the signal (orange).

    Args:
        waveform: ``(samples,)`` audio.
        window_scores: one attribution per window.
        sample_rate: samples per second.
        top_k: how many top-scoring items to highlight (default ``2``).
        ground_truth_windows: true windows, outlined (``None``: none; default ``None``).
        title: figure title (``None``: none; default ``None``).
    """
    signal = as_array(waveform, "waveform", ndim=(1,))
    per_window = window_grid(window_scores).sum(axis=0)
    chosen = top_windows(window_scores, top_k)
    duration = signal.size / sample_rate
    width = duration / per_window.size
    figure = new_figure(9, 3.8)
    wave_axis, bar_axis = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    wave_axis.plot(np.arange(signal.size) / sample_rate, signal, color="black", linewidth=0.5)
    for index in chosen:
        wave_axis.add_patch(
            Rectangle(
                (index * width, signal.min()), width, np.ptp(signal), color=POSITIVE_RGB, alpha=0.3
            )
        )
    wave_axis.set_title(f"waveform, top {top_k} windows shaded")
    centres = (np.arange(per_window.size) + 0.5) * width
    bar_axis.bar(centres, per_window, width=width * 0.9, color=sign_colours(per_window))
    if ground_truth_windows is not None:
        for index in np.asarray(ground_truth_windows, dtype=int).ravel():
            for axis in (wave_axis, bar_axis):
                axis.axvspan(
                    index * width, (index + 1) * width, color=GROUND_TRUTH, alpha=0.25, zorder=0
                )
        wave_axis.legend(
            handles=[
                Patch(color=POSITIVE_RGB, alpha=0.3, label=f"top {top_k} windows"),
                Patch(color=GROUND_TRUTH, alpha=0.25, label="ground truth"),
            ],
            loc="upper right",
            fontsize=8,
        )
    bar_axis.axhline(0, color="black", linewidth=0.8)
    bar_axis.set_xlabel("time (s)")
    bar_axis.set_ylabel("attribution")
    if title:
        figure.suptitle(title)
    return figure
