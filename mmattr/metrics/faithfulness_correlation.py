"""Faithfulness correlation (Bhatt et al., 2020): over random subsets ``S`` of feature groups,
the Pearson correlation between ``Σ_{i∈S} a_i`` and ``f(x) − f(x with S set to the baseline)``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from mmattr.metrics._common import (
    MaxExamples,
    TargetType,
    document,
    evaluate_rows,
    run_forward,
)
from mmattr.metrics._groups import (
    format_grouped_call,
    group_scores,
    perturbations_per_call,
    switched_rows,
)

__all__ = ["faithfulness_correlation"]


@document
def faithfulness_correlation(
    forward_func: Callable[..., Tensor],
    inputs: Any,
    attributions: Any,
    baselines: Any = None,
    target: TargetType = None,
    additional_forward_args: Any = None,
    feature_mask: Any = None,
    n_samples: int = 50,
    subset_size: int | None = None,
    seed: int = 0,
    max_examples_per_batch: MaxExamples = "auto",
    show_progress: bool = False,
) -> Tensor:
    """Pearson correlation per example between attribution sums and output drops.

    Args:
        n_samples: random subsets per example. Default 50.
        subset_size: groups per subset; None: a quarter of the groups (at least 1).
        seed: seed of the subsets' generator. Default 0.
        max_examples_per_batch: rows per model call, None or "auto".
        show_progress: a tqdm bar over subsets.
        attributions: attributions of ``inputs`` (tensor or tuple matching them).
        baselines: values replacing the removed features (``None``: zeros; default
            ``None``).
        feature_mask: integer mask per input, broadcastable to it, grouping elements into
            features that are perturbed together (``None``: each element alone; default
            ``None``).

    Returns:
        (batch,) float64 in [-1, 1]; 0 where either side is constant.
    """
    call = format_grouped_call(
        inputs, attributions, baselines, target, additional_forward_args, feature_mask
    )
    size = max(1, call.n_groups // 4) if subset_size is None else subset_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= call.n_groups:
        raise ValueError(f"subset_size={subset_size!r}; expected an int in [1, {call.n_groups}]")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples={n_samples!r}; expected an int of at least 2")
    subsets = _subsets(n_samples, call.batch, call.n_groups, size, seed)
    subsets = subsets.to(call.inputs[0].device)
    with torch.inference_mode():
        original = run_forward(forward_func, call.inputs, target, call.args)
    removed = evaluate_rows(
        forward_func,
        lambda start, stop: switched_rows(
            call.inputs, call.baselines, call.masks, subsets[start:stop]
        ),
        n_samples,
        call.batch,
        perturbations_per_call(max_examples_per_batch, call.inputs, n_samples),
        target,
        call.args,
        show_progress,
        "faithfulness correlation",
    )
    drops = original.reshape(1, call.batch, -1).sum(-1).double() - removed  # (n, batch)
    scores = group_scores(call.attributions, call.masks, call.n_groups)
    sums = (scores[None] * subsets).sum(-1)  # (n, batch)
    return _pearson(sums.T, drops.T)


def _subsets(n_samples: int, batch: int, n_groups: int, size: int, seed: int) -> Tensor:
    """(n_samples, batch, n_groups) bool: ``size`` groups drawn without replacement."""
    generator = torch.Generator().manual_seed(seed)
    draws = torch.rand(n_samples, batch, n_groups, generator=generator)
    subsets = torch.zeros(n_samples, batch, n_groups, dtype=torch.bool)
    return subsets.scatter_(2, draws.topk(size, dim=2).indices, True)


def _pearson(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise Pearson correlation of (batch, n) tensors; 0 where a row is constant."""
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    denominator = (a.pow(2).sum(1) * b.pow(2).sum(1)).sqrt()
    return torch.where(denominator > 0, (a * b).sum(1) / denominator.clamp(min=1e-300), 0.0)
