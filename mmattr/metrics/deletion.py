"""Deletion and insertion curves (Petsiuk et al., 2018; Samek et al., 2017), their area and
AOPC: the model's score as feature groups are removed (or inserted) in the attribution order.

Deletion: ``s_k = f(x with its k·G/L most relevant groups set to the baseline)``; insertion
starts from the baseline and puts them back. ``AOPC = 1/(L+1) Σ_k (s_0 − s_k)`` (deletion)
or ``Σ_k (s_k − s_0)`` (insertion); ``AUC = ∫ s`` over the removed fraction in ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from mmattr.metrics._common import MaxExamples, TargetType, document, evaluate_rows
from mmattr.metrics._groups import (
    format_grouped_call,
    group_scores,
    perturbations_per_call,
    ranks,
    switched_rows,
)

__all__ = ["Curve", "deletion_curve", "insertion_curve"]

ORDERS = ("most", "least")


@dataclass
class Curve:
    """A deletion or insertion curve per example.

    Attributes:
        fractions: (L+1,) fraction of feature groups removed (inserted) at each point.
        scores: (batch, L+1) the target score at each point, float64.
        kind: "deletion" or "insertion".
        order: "most" (most relevant first) or "least".
    """

    fractions: Tensor
    scores: Tensor
    kind: str
    order: str

    @property
    def auc(self) -> Tensor:
        """(batch,) area under the curve over the fraction in [0, 1] (trapezoids)."""
        return torch.trapezoid(self.scores, self.fractions.double(), dim=-1)

    @property
    def aopc(self) -> Tensor:
        """(batch,) area over the perturbation curve: the mean drop from the first point
        (deletion) or the mean gain over it (insertion)."""
        change = self.scores[:, :1] - self.scores
        return (change if self.kind == "deletion" else -change).mean(-1)


@document
def deletion_curve(
    forward_func: Callable[..., Tensor],
    inputs: Any,
    attributions: Any,
    baselines: Any = None,
    target: TargetType = None,
    additional_forward_args: Any = None,
    feature_mask: Any = None,
    n_steps: int | None = None,
    order: str = "most",
    max_examples_per_batch: MaxExamples = "auto",
    show_progress: bool = False,
) -> Curve:
    """The deletion curve: groups set to the baseline in the order of their summed attribution.

    Args:
        attributions: of the inputs' shapes.
        baselines: what a removed feature becomes (as in the engine; an adapter's
            ``baseline(x)``). Default 0.
        feature_mask: group ids as in ``FeatureAblation`` (an adapter's ``feature_mask(x)``);
            default every element its own group.
        n_steps: points after the first; None: one per group (every group, exact).
        order: "most" (most relevant first, MoRF) or "least" (LeRF). Default "most".
        max_examples_per_batch: rows per model call, None or "auto" (a memory budget).
        show_progress: a tqdm bar over curve points.

    Returns:
        :class:`Curve` with ``scores`` (batch, n_steps + 1), ``auc`` and ``aopc``.

    Example:
        >>> import torch
        >>> import mmattr
        >>> model = torch.nn.Linear(4, 1)
        >>> x = torch.randn(2, 4)
        >>> a = mmattr.Saliency(model).attribute(x, target=0) * x
        >>> deletion_curve(model, x, a, target=0).scores.shape
        torch.Size([2, 5])
    """
    return _curve(
        "deletion",
        forward_func,
        inputs,
        attributions,
        baselines,
        target,
        additional_forward_args,
        feature_mask,
        n_steps,
        order,
        max_examples_per_batch,
        show_progress,
    )


@document
def insertion_curve(
    forward_func: Callable[..., Tensor],
    inputs: Any,
    attributions: Any,
    baselines: Any = None,
    target: TargetType = None,
    additional_forward_args: Any = None,
    feature_mask: Any = None,
    n_steps: int | None = None,
    order: str = "most",
    max_examples_per_batch: MaxExamples = "auto",
    show_progress: bool = False,
) -> Curve:
    """The insertion curve: from the baseline, groups take their input values in the order
    of their summed attribution. The mirror of :func:`deletion_curve`.

    Args:
        attributions: attributions with the shape of ``inputs`` (a tensor or a tuple
            matching them).
        baselines: the start image from which features are inserted (``None``: zeros;
            default ``None``).
        feature_mask: integer mask per input, broadcastable to it, grouping elements into
            features that are perturbed together (``None``: each element alone; default
            ``None``).
        n_steps: number of points of the curve (``None``: one per feature; default
            ``None``).
        order: insert the ``"most"`` relevant features first or the ``"least"`` (default
            ``"most"``).
        max_examples_per_batch: cap on perturbed examples per forward call (``"auto"``: fit
            memory; ``None``: no cap; default ``"auto"``).
        show_progress: show a progress bar (default ``False``).
    """
    return _curve(
        "insertion",
        forward_func,
        inputs,
        attributions,
        baselines,
        target,
        additional_forward_args,
        feature_mask,
        n_steps,
        order,
        max_examples_per_batch,
        show_progress,
    )


def _curve(
    kind,
    forward_func,
    inputs,
    attributions,
    baselines,
    target,
    additional_forward_args,
    feature_mask,
    n_steps,
    order,
    max_examples_per_batch,
    show_progress,
) -> Curve:
    call = format_grouped_call(
        inputs, attributions, baselines, target, additional_forward_args, feature_mask
    )
    if order not in ORDERS:
        raise ValueError(f"order is {order!r}; expected one of {list(ORDERS)}")
    n_steps = call.n_groups if n_steps is None else n_steps
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps={n_steps!r}; expected a positive int or None")
    positions = ranks(group_scores(call.attributions, call.masks, call.n_groups), order == "most")
    fractions = torch.linspace(0, 1, n_steps + 1, dtype=torch.float64)
    counts = torch.round(fractions * call.n_groups).long().to(positions.device)  # switched

    def build(start: int, stop: int) -> tuple[Tensor, ...]:
        switched = positions[None] < counts[start:stop, None, None]  # (n, batch, groups)
        from_baseline = switched if kind == "deletion" else ~switched
        return switched_rows(call.inputs, call.baselines, call.masks, from_baseline)

    per_call = perturbations_per_call(max_examples_per_batch, call.inputs, n_steps + 1)
    values = evaluate_rows(
        forward_func,
        build,
        n_steps + 1,
        call.batch,
        per_call,
        target,
        call.args,
        show_progress,
        kind,
    )
    return Curve(fractions, values.T.contiguous(), kind, order)
