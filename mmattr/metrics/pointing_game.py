"""Pointing game (Zhang et al., 2018): does the attribution's maximum fall on the ground truth?

``hit = |argmax(a) ∩ M| / |argmax(a)|``: ties share the hit, so a constant map scores the mask's
share of the input, the chance rate.
"""

from __future__ import annotations

from torch import Tensor

from mmattr.metrics._common import localisation_pair

__all__ = ["chance_rate", "pointing_game"]


def pointing_game(attributions: Tensor, masks: Tensor) -> Tensor:
    """Hit of each example's top attribution inside its ground-truth mask.

    Args:
        attributions: (batch, ...) one map per example.
        masks: (batch, ...) ground truth, nonzero inside; the shape of ``attributions`` or it
            without leading dimensions after the batch (an image's channels), which are summed.

    Returns:
        (batch,) float64 in [0, 1]: 1 for a hit, the share of tied maxima on the mask.

    Example:
        >>> import torch
        >>> masks = torch.zeros(1, 4, 4); masks[0, 1:3, 1:3] = 1
        >>> pointing_game(torch.rand(1, 3, 4, 4) * masks, masks)
        tensor([1.], dtype=torch.float64)
    """
    heat, truth = localisation_pair(attributions, masks)
    top = heat == heat.max(dim=1, keepdim=True).values
    return (top & truth).sum(1).double() / top.sum(1).double()


def chance_rate(masks: Tensor) -> Tensor:
    """(batch,) the share of each example's elements inside its mask: a random map's expected
    pointing-game hit.

    Args:
        masks: ``(batch, ...)`` boolean ground-truth masks.
    """
    flat = masks.reshape(masks.shape[0], -1) != 0
    return flat.double().mean(1)
