"""Relevance mass accuracy (Arras et al., 2022): the share of positive relevance inside the
ground truth, ``Σ_{i∈M} a_i⁺ / Σ_i a_i⁺``."""

from __future__ import annotations

import torch
from torch import Tensor

from mmattr.metrics._common import localisation_pair

__all__ = ["relevance_mass"]


def relevance_mass(attributions: Tensor, masks: Tensor) -> Tensor:
    """Share of each example's positive attribution that lies inside its mask.

    Args:
        attributions: (batch, ...) one map per example (channels summed as for the masks).
        masks: (batch, ...) ground truth, as :func:`pointing_game`.

    Returns:
        (batch,) float64 in [0, 1]; 0 for a map with no positive value.
    """
    heat, truth = localisation_pair(attributions, masks)
    positive = heat.clamp(min=0)
    total = positive.sum(1)
    inside = (positive * truth).sum(1)
    return torch.where(total > 0, inside / total.clamp(min=torch.finfo(total.dtype).tiny), 0.0)
