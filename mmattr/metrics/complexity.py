"""Complexity (Bhatt et al., 2020): the entropy of the attribution's share per feature,
``H = −Σ_i p_i log p_i`` with ``p_i = |a_i| / Σ_j |a_j|``; low = concentrated."""

from __future__ import annotations

import torch
from torch import Tensor

from mmattr.metrics.sparseness import _magnitudes

__all__ = ["complexity"]


def complexity(attributions: Tensor) -> Tensor:
    """Entropy (nats) of each example's normalised attribution magnitudes.

    Args:
        attributions: (batch, ...) one map per example.

    Returns:
        (batch,) float64 in [0, log n]: 0 for a single feature, ``log n`` for a uniform map
        (and for an all-zero map, read as uniform).
    """
    flat = _magnitudes(attributions, "attributions")
    total = flat.sum(1, keepdim=True)
    share = torch.where(
        total > 0, flat / total.clamp(min=torch.finfo(total.dtype).tiny), 1.0 / flat.shape[1]
    )
    return -torch.special.xlogy(share, share).sum(1)
