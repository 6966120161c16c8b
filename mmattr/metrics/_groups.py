"""Feature groups for the curve metrics: per-example group scores and perturbed rows in
which a boolean choice per group switches its features between input and baseline."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from mmattr.metrics._common import (
    MaxExamples,
    TargetType,
    check_attributions,
    count_groups,
    format_additional_args,
    format_baselines,
    format_feature_mask,
    format_inputs,
    rows_per_chunk,
    tensorize_baselines,
    validate_target,
)


def group_scores(
    attributions: tuple[Tensor, ...], masks: tuple[Tensor, ...], n_groups: int
) -> Tensor:
    """(batch, n_groups) sums of the attributions over each group's features, all inputs."""
    batch = attributions[0].shape[0]
    scores = torch.zeros(batch, n_groups, dtype=torch.float64, device=attributions[0].device)
    for attribution, mask in zip(attributions, masks):
        ids = mask.expand_as(attribution).reshape(batch, -1)
        scores.scatter_add_(1, ids, attribution.reshape(batch, -1).double())
    return scores


def switched_rows(
    inputs: tuple[Tensor, ...],
    baselines: tuple[Tensor, ...],
    masks: tuple[Tensor, ...],
    from_baseline: Tensor,
) -> tuple[Tensor, ...]:
    """Rows ``(n * batch, ...)``, perturbation-major: feature ``j`` of example ``b`` in
    perturbation ``p`` is the baseline's where ``from_baseline[p, b, group(j)]``, else the
    input's. ``from_baseline``: (n, batch, n_groups) bool."""
    n, batch = from_baseline.shape[:2]
    rows = []
    for x, base, mask in zip(inputs, baselines, masks):
        ids = mask.expand_as(x).reshape(1, batch, -1).expand(n, -1, -1)
        switched = from_baseline.gather(2, ids).reshape(n * batch, *x.shape[1:])
        rows.append(
            torch.where(
                switched, base.repeat(n, *[1] * (x.dim() - 1)), x.repeat(n, *[1] * (x.dim() - 1))
            )
        )
    return tuple(rows)


def ranks(scores: Tensor, most_relevant_first: bool) -> Tensor:
    """(batch, n_groups) position of each group in the removal order (0 = first); ties keep
    the lower group id first."""
    order = (-scores if most_relevant_first else scores).argsort(dim=1, stable=True)
    positions = torch.empty_like(order)
    steps = torch.arange(order.shape[1], device=order.device).expand_as(order)
    return positions.scatter_(1, order, steps)


class GroupedCall(NamedTuple):
    """A grouped metric's arguments, formatted and checked once."""

    inputs: tuple[Tensor, ...]
    attributions: tuple[Tensor, ...]
    baselines: tuple[Tensor, ...]
    masks: tuple[Tensor, ...]
    args: tuple | None
    n_groups: int

    @property
    def batch(self) -> int:
        return self.inputs[0].shape[0]


def format_grouped_call(
    inputs: Any,
    attributions: Any,
    baselines: Any,
    target: TargetType,
    additional_forward_args: Any,
    feature_mask: Any,
) -> GroupedCall:
    """The preamble of the metrics that switch feature groups to a baseline."""
    formatted = format_inputs(inputs)
    scores = check_attributions(attributions, formatted)
    bases = tensorize_baselines(format_baselines(baselines, formatted), formatted)
    masks = format_feature_mask(feature_mask, formatted)
    validate_target(target, formatted[0].shape[0])
    args = format_additional_args(additional_forward_args)
    return GroupedCall(formatted, scores, bases, masks, args, count_groups(masks))


def perturbations_per_call(
    max_examples_per_batch: MaxExamples, inputs: tuple[Tensor, ...], n_perturbations: int
) -> int:
    """Whole copies of the batch per model call for ``max_examples_per_batch`` rows (``"auto"``:
    a forward-only memory budget at about four input copies per row)."""
    batch = inputs[0].shape[0]
    bytes_per_row = 4 * sum(t[:1].numel() * t.element_size() for t in inputs)
    rows = rows_per_chunk(max_examples_per_batch, inputs, batch * n_perturbations, bytes_per_row)
    return max(1, rows // batch)
