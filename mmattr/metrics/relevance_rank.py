"""Relevance rank accuracy (Arras et al., 2022): the share of the ``K = |M|`` highest-ranked
elements that lie in the ground truth ``M``."""

from __future__ import annotations

import torch
from torch import Tensor

from mmattr.metrics._common import localisation_pair

__all__ = ["relevance_rank_accuracy"]


def relevance_rank_accuracy(attributions: Tensor, masks: Tensor) -> Tensor:
    """Fraction of each example's top-``|M|`` attributions that fall inside its mask ``M``.

    Args:
        attributions: (batch, ...) one map per example (channels summed as for the masks).
        masks: (batch, ...) ground truth, as :func:`pointing_game`.

    Returns:
        (batch,) float64 in [0, 1]; ties at the cut are broken by position.
    """
    heat, truth = localisation_pair(attributions, masks)
    order = heat.argsort(dim=1, descending=True, stable=True)
    sizes = truth.sum(1, keepdim=True)
    in_top = torch.arange(heat.shape[1], device=heat.device)[None] < sizes
    hits = truth.gather(1, order) & in_top
    return hits.sum(1).double() / sizes[:, 0].double()
