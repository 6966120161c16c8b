"""Raw clips as people hold them (numpy arrays, ``datasets`` audio dicts) and the audio adapter
of a transformers feature extractor."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mmattr.adapters._audio_fbank import fbank_settings, is_filterbank
from mmattr.adapters._image_inputs import refuse_path


def raw_clip(raw: Any, sample_rate: int | None) -> tuple[Any, int | None]:
    """``(waveform, sample_rate)`` from a tensor, a numpy array, ``(waveform, rate)`` or a
    ``datasets`` audio dict ``{"array": ..., "sampling_rate": ...}``; file paths refused."""
    refuse_path(raw, "audio")
    if isinstance(raw, dict):
        if "array" not in raw:
            raise TypeError(
                f"audio is a dict with keys {sorted(raw)}; expected a datasets audio feature "
                "{'array': ..., 'sampling_rate': ...}"
            )
        raw, sample_rate = raw["array"], raw.get("sampling_rate", sample_rate)
    elif isinstance(raw, tuple) and len(raw) == 2 and sample_rate is None:
        raw, sample_rate = raw
    if isinstance(raw, np.ndarray):
        raw = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
    return raw, sample_rate


def extractor_settings(processor: Any) -> tuple[Any, dict[str, Any]]:
    """(the feature extractor, AudioAdapter arguments) of a transformers processor or feature
    extractor that gives waveforms (``input_values`` of shape (B, T), as Wav2Vec2's) or
    filter-bank features ((B, frames, mel bins), as AST's)."""
    extractor = getattr(processor, "feature_extractor", processor)
    rate = getattr(extractor, "sampling_rate", None)
    if not callable(extractor) or not isinstance(rate, int):
        raise TypeError(
            f"processor is {type(processor).__name__}; expected a transformers feature extractor "
            "(with sampling_rate) or a processor holding one"
        )
    if is_filterbank(extractor):
        return extractor, fbank_settings(extractor)
    if getattr(extractor, "feature_size", 1) != 1:
        raise ValueError(
            f"processor is {type(extractor).__name__}, with feature_size="
            f"{extractor.feature_size}; AudioAdapter.from_processor takes waveform extractors "
            "(Wav2Vec2's, feature_size=1) and filter-bank ones (AST's, with num_mel_bins and "
            "max_length). Pass its output to explain() without an audio adapter (one group "
            "per feature) or with adapters={'audio': ...} of your own"
        )
    return extractor, {"sample_rate": rate, "model_input": "waveform"}


def check_waveform(
    raw: Any, sample_rate: int | None, rate: int, resample: bool
) -> tuple[Tensor, tuple]:
    """(the clip as (1, T) at ``rate``, the shape to give it back in); resampled only when
    ``resample``, else a rate other than ``rate`` is an error."""
    if not isinstance(raw, Tensor):
        raise TypeError(f"waveform is {type(raw).__name__}; expected a torch.Tensor")
    if not raw.is_floating_point():
        raise TypeError(
            f"waveform has dtype {raw.dtype}; expected floating point in [-1, 1] "
            "(int16 PCM: waveform.float() / 32768)"
        )
    if raw.dim() not in (1, 2, 3) or (raw.dim() > 1 and math.prod(raw.shape[:-1]) != 1):
        raise ValueError(
            f"waveform has shape {tuple(raw.shape)}; expected one mono clip (1, T), "
            "(1, 1, T) or (T,) (average the channels of a stereo clip first)"
        )
    wave = raw.detach().reshape(1, -1)
    if sample_rate is not None and sample_rate != rate:
        if not resample:
            raise ValueError(
                f"sample_rate is {sample_rate}; the adapter expects {rate}. "
                "Resample the clip or pass AudioAdapter(..., resample=True)"
            )
        import torchaudio

        wave = torchaudio.functional.resample(wave, sample_rate, rate)
    shape = (1,) * max(raw.dim() - 1, 1) + (wave.shape[-1],)
    return wave, shape
