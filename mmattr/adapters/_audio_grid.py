"""The time × frequency window grid of :class:`mmattr.adapters.AudioAdapter`.

Time windows are runs of ``round(window_ms · rate / hop)`` STFT frames (a last run shorter
than half a window joins the one before); bands are ``n_bands`` equal runs of spectrogram rows.
Cell ``(row, frame)`` belongs to window ``band(row) · n_windows + window(frame)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def window_grid(frames: int, rows: int, samples: int, adapter: Any) -> dict[str, Any]:
    """Frame edges of the time windows and row edges of the bands (JSON-ready)."""
    rate, hop, n_bands = adapter.sample_rate, adapter.hop_length, adapter.n_bands
    if n_bands > rows:
        raise ValueError(f"n_bands is {n_bands}; expected at most {rows} frequency rows")
    per_window = max(1, round(adapter.window_ms / 1000 * rate / hop))
    frame_edges = [*range(0, frames, per_window), frames]
    if len(frame_edges) > 2 and frame_edges[-1] - frame_edges[-2] < per_window / 2:
        del frame_edges[-2]
    band_edges = [round(b * rows / n_bands) for b in range(n_bands + 1)]
    return {
        "frame_edges": frame_edges,
        "time_edges_s": [min(e * hop / rate, samples / rate) for e in frame_edges],
        "band_edges_bins": band_edges,
        "band_edges_hz": [_edge_hz(e, rows, rate, adapter.n_fft, adapter.mel) for e in band_edges],
        "n_windows": len(frame_edges) - 1,
        "n_bands": n_bands,
        "scale": "mel" if adapter.mel else "linear",
    }


def _edge_hz(edge: int, rows: int, rate: int, n_fft: int, mel: bool) -> float:
    """The frequency at a band edge: ``bin · rate / n_fft``, or the HTK mel point halfway
    between two mel filters' centres (``mel = 2595 log10(1 + f / 700)``)."""
    nyquist = rate / 2
    if not mel:
        return min(edge * rate / n_fft, nyquist)
    if edge in (0, rows):
        return 0.0 if edge == 0 else nyquist
    top = 2595 * math.log10(1 + nyquist / 700)
    return 700 * (10 ** (top * (edge + 0.5) / (rows + 1) / 2595) - 1)


def cell_ids(grid: dict[str, Any], rows: int) -> Tensor:
    """``(rows, frames)`` window id of each spectrogram cell."""
    bands = window_of(torch.arange(rows), grid["band_edges_bins"])
    windows = window_of(torch.arange(grid["frame_edges"][-1]), grid["frame_edges"])
    return bands[:, None] * grid["n_windows"] + windows[None, :]


def sample_window_ids(grid: dict[str, Any], samples: int, hop_length: int) -> Tensor:
    """``(samples,)`` time window of each sample: the window of its nearest STFT frame."""
    positions = torch.arange(samples) + hop_length // 2
    frames = torch.div(positions, hop_length, rounding_mode="floor")
    return window_of(frames.clamp(max=grid["frame_edges"][-1] - 1), grid["frame_edges"])


def window_of(positions: Tensor, edges: list[int]) -> Tensor:
    """Index of the interval ``[edges[i], edges[i+1])`` holding each position."""
    return torch.bucketize(positions, torch.tensor(edges[1:-1], dtype=torch.long), right=True)
