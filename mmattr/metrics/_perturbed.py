"""What infidelity and sensitivity share: Captum's chunking of perturbation samples and the
perturbation of a perturbed input."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor


def samples_per_chunk(max_examples_per_batch: int, batch: int, n_perturb_samples: int) -> int:
    """Perturbations of the whole batch per call for an int ``max_examples_per_batch``:
    ``max // batch`` clipped to ``[1, n_perturb_samples]``, Captum's rule (so that random
    perturbation functions draw the same numbers); warns, as Captum does, outside that range."""
    per_chunk = max_examples_per_batch // batch
    if per_chunk < 1 or per_chunk > n_perturb_samples:
        warnings.warn(
            f"max_examples_per_batch is {max_examples_per_batch} for a batch of {batch}; "
            f"expected between {batch} and {batch * n_perturb_samples} (batch × "
            "n_perturb_samples): each chunk holds whole copies of the batch",
            stacklevel=3,
        )
    return min(max(per_chunk, 1), n_perturb_samples)


def perturbation_difference(
    inputs: Tensor, perturbed: Tensor, baseline: Any, multiply_by_inputs: bool
) -> Tensor:
    """``x − x̃``, divided by ``x − baseline`` (or by ``x`` without one) when
    ``multiply_by_inputs``; a zero denominator counts as 1."""
    difference = inputs - perturbed
    if not multiply_by_inputs:
        return difference
    denominator = inputs if baseline is None else inputs - baseline
    if not isinstance(denominator, Tensor):
        return difference / (denominator if denominator != 0 else 1.0)
    ones = torch.ones((), dtype=denominator.dtype, device=denominator.device)
    return difference / torch.where(denominator != 0, denominator, ones)
