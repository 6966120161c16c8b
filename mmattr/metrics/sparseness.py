"""Sparseness (Chalasani et al., 2020): the Gini index of ``|a|``,
``G = Σ_k (2k − n − 1) |a|_(k) / (n Σ |a|)`` over the sorted magnitudes; 1 = one feature."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["sparseness"]


def sparseness(attributions: Tensor) -> Tensor:
    """Gini index of each example's attribution magnitudes.

    Args:
        attributions: (batch, ...) one map per example.

    Returns:
        (batch,) float64 in [0, 1): 0 for a uniform map, near 1 for a single feature; 0 for
        an all-zero map.
    """
    flat = _magnitudes(attributions, "attributions")
    n = flat.shape[1]
    sorted_values = flat.sort(dim=1).values
    weights = 2 * torch.arange(1, n + 1, dtype=torch.float64, device=flat.device) - n - 1
    total = sorted_values.sum(1)
    gini = (sorted_values * weights).sum(1) / (n * total.clamp(min=torch.finfo(total.dtype).tiny))
    return torch.where(total > 0, gini, 0.0)


def _magnitudes(attributions: Tensor, name: str) -> Tensor:
    if not isinstance(attributions, Tensor) or attributions.dim() < 2:
        shape = tuple(attributions.shape) if isinstance(attributions, Tensor) else None
        raise ValueError(
            f"{name} is {type(attributions).__name__} of shape {shape}; expected a tensor "
            "(batch, ...) with at least one dimension after the batch"
        )
    return attributions.detach().reshape(attributions.shape[0], -1).abs().double()
