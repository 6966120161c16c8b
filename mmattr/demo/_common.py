"""Helpers shared by the demo sections."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: The one legitimate reason for an "unavailable" section: an optional dependency (transformers,
#: scikit-image, torchaudio, networkx) is not installed. Any other error is a bug and propagates.
MISSING = (ImportError,)


def numpy_of(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def load(name: str) -> Any:
    from mmattr import zoo

    return zoo.load(name)


def integrated_gradients(forward: Any, inputs: torch.Tensor, baselines: Any, target: Any) -> Any:
    """Integrated gradients from the engine, 32 steps (enough for a picture, fast on a CPU)."""
    from mmattr import IntegratedGradients

    return IntegratedGradients(forward).attribute(
        inputs, baselines=baselines, target=target, n_steps=32
    )
