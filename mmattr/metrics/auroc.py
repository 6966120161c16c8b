"""AUROC of an attribution map against a ground-truth mask: the probability that a random
element inside the mask outranks one outside (Mann–Whitney, ties count one half),
``(Σ_{i∈M} rank_i − P(P+1)/2) / (P·N)``."""

from __future__ import annotations

from torch import Tensor

from mmattr.metrics._common import average_ranks, localisation_pair

__all__ = ["auroc"]


def auroc(attributions: Tensor, masks: Tensor) -> Tensor:
    """Area under the ROC curve of each example's map as a detector of its mask.

    Args:
        attributions: (batch, ...) one map per example (channels summed as for the masks).
        masks: (batch, ...) ground truth, as :func:`pointing_game`; it needs elements both
            inside and outside.

    Returns:
        (batch,) float64 in [0, 1]; 0.5 for a constant map.
    """
    heat, truth = localisation_pair(attributions, masks)
    positives = truth.sum(1).double()
    negatives = truth.shape[1] - positives
    full = (negatives == 0).nonzero().flatten().tolist()
    if full:
        raise ValueError(f"masks[{full[0]}] covers every element; expected some outside it")
    rank_sum = (average_ranks(heat) * truth).sum(1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
