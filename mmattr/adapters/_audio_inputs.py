"""Raw clips as people hold them (numpy arrays, ``datasets`` audio dicts) and the audio adapter
of a transformers feature extractor."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

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
    extractor that gives waveforms (``input_values`` of shape (B, T), as Wav2Vec2's)."""
    extractor = getattr(processor, "feature_extractor", processor)
    rate = getattr(extractor, "sampling_rate", None)
    if not callable(extractor) or not isinstance(rate, int):
        raise TypeError(
            f"processor is {type(processor).__name__}; expected a transformers feature extractor "
            "(with sampling_rate) or a processor holding one"
        )
    if getattr(extractor, "feature_size", 1) != 1 or hasattr(extractor, "num_mel_bins"):
        raise ValueError(
            f"processor is {type(extractor).__name__}, which gives filter-bank features, not a "
            "waveform; AudioAdapter.from_processor takes waveform extractors (Wav2Vec2). Pass "
            "the processor's output to explain() without an audio adapter (one group per "
            "feature) or with adapters={'audio': ...} of your own"
        )
    return extractor, {"sample_rate": rate, "model_input": "waveform"}
