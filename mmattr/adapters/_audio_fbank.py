"""Filter-bank features of spectrogram transformers (AST's ``ASTFeatureExtractor``).

The extractor gives ``(batch, time frames, mel bins)`` Kaldi log-mel energies, 10 ms apart,
padded or cut to ``max_length`` frames and normalised as ``(log mel − mean) / (2 std)``. The
adapter's grid (time windows × mel bands) is laid on them transposed (``(mel, frames)``).
Baselines: ``"silence"`` is what the extractor gives for an all-zero clip, the log of its mel
floor normalised, ``(log ε − mean) / (2 std)`` with ``ε`` float32's eps, in every cell;
``"mean_spectrum"`` puts the clip's mean over time of each mel bin in every frame.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from mmattr.adapters._audio_grid import window_grid
from mmattr.adapters.base import ModalityInput

LOG_FLOOR = math.log(1.192092955078125e-07)  # the extractor's mel floor, float32's eps
FRAME_SHIFT_S, FRAME_LENGTH_S = 0.010, 0.025  # Kaldi's defaults, as the extractor uses them


def is_filterbank(extractor: Any) -> bool:
    """A filter-bank extractor (AST's): it has ``num_mel_bins`` and ``max_length``."""
    return hasattr(extractor, "num_mel_bins") and hasattr(extractor, "max_length")


def fbank_settings(extractor: Any) -> dict[str, Any]:
    """AudioAdapter arguments of a filter-bank extractor: its rate, mel bins, frame count and
    normalisation; Kaldi's 10 ms hop and 25 ms window (``n_fft`` its power-of-two size)."""
    rate = int(extractor.sampling_rate)
    normalise = getattr(extractor, "do_normalize", True)
    return {
        "sample_rate": rate,
        "model_input": "filterbank",
        "n_mels": int(extractor.num_mel_bins),
        "max_length": int(extractor.max_length),
        "normalization": (float(extractor.mean), float(extractor.std)) if normalise else None,
        "hop_length": round(rate * FRAME_SHIFT_S),
        "n_fft": 2 ** math.ceil(math.log2(rate * FRAME_LENGTH_S)),
    }


def annotate_fbank(adapter: Any, x: ModalityInput) -> ModalityInput:
    """``x`` (features ``(batch, frames, n_mels)``) with the window grid and the first clip's
    features ``(n_mels, frames)`` as ``meta["spectrogram"]``; a wrong shape is an error."""
    features = x.tensor
    frames = adapter.max_length or "time frames"
    expected = f"(batch, {frames}, {adapter.n_mels}) filter-bank features (time × mel bins)"
    if not isinstance(features, Tensor) or not features.is_floating_point():
        raise TypeError(f"audio is {type(features).__name__}; expected a float tensor {expected}")
    shape = tuple(features.shape)
    if (
        features.dim() != 3
        or shape[-1] != adapter.n_mels
        or (adapter.max_length is not None and shape[1] != adapter.max_length)
    ):
        raise ValueError(
            f"audio has shape {shape}; expected {expected}, as the adapter's extractor gives "
            "them (AudioAdapter.from_processor(extractor) reads them from it)"
        )
    spectrogram = features[0].detach().T
    grid = window_grid(shape[1], shape[2], shape[1] * adapter.hop_length, adapter)
    meta = {
        "window_grid": grid,
        "sample_rate": adapter.sample_rate,
        "spectrogram": spectrogram,
        "model_input": "filterbank",
    }
    return ModalityInput(features, dict(x.model_kwargs), {**x.meta, **meta}, x.raw)


def fbank_baseline(adapter: Any, x: ModalityInput) -> Tensor:
    """The silence value in every cell, or each mel bin's mean over the clip's frames."""
    features = x.tensor
    if adapter.baseline_kind == "mean_spectrum":
        return features.detach().mean(1, keepdim=True).expand_as(features).clone()
    mean, std = adapter.normalization or (0.0, 0.5)
    silence = torch.tensor((LOG_FLOOR - mean) / (2 * std), dtype=torch.float64)
    return silence.to(features.dtype).expand_as(features).clone().to(features.device)
