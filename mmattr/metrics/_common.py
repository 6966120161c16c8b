"""Shared machinery of the metrics: the engine's input checks and chunking, shape checks of
attributions and ground-truth masks, chunked forward-only evaluation and ranks.

The engine machinery the metrics reuse comes from its public toolkit, imported here once, so
that the rest of ``mmattr.metrics`` depends on the engine only through this module.
"""

from __future__ import annotations

from typing import Any, Callable, Union

import torch
from torch import Tensor

from mmattr.engine.toolkit import (
    TargetType,
    check_finite,
    count_groups,
    document,
    expand_additional_args,
    expand_attribute_kwargs,
    expand_target,
    format_additional_args,
    format_baselines,
    format_feature_mask,
    format_inputs,
    forward_perturbations,
    memory_budget_bytes,
    preserve_model_state,
    progress_bar,
    repeat_per_example,
    run_forward,
    tensorize_baselines,
    validate_target,
)

__all__ = [
    "MaxExamples",
    "TargetType",
    "as_tuple_of",
    "check_attributions",
    "check_finite",
    "check_max_examples",
    "document",
    "evaluate_rows",
    "expand_additional_args",
    "expand_attribute_kwargs",
    "expand_target",
    "format_additional_args",
    "format_baselines",
    "format_feature_mask",
    "format_inputs",
    "count_groups",
    "heat_map",
    "average_ranks",
    "preserve_model_state",
    "progress_bar",
    "repeat_per_example",
    "rows_per_chunk",
    "run_forward",
    "tensorize_baselines",
    "validate_target",
]

MaxExamples = Union[None, int, str]


def as_tuple_of(value: Any, name: str, count: int) -> tuple[Tensor, ...]:
    """``value`` as a tuple of ``count`` tensors (a lone tensor is a tuple of one)."""
    values = format_inputs(value, name)
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} tensors; expected {count}, one per input")
    return values


def check_attributions(
    attributions: Any, inputs: tuple[Tensor, ...], name: str = "attributions"
) -> tuple[Tensor, ...]:
    """Attributions as a tuple matching ``inputs`` tensor for tensor, shape for shape."""
    formatted = as_tuple_of(attributions, name, len(inputs))
    for index, (attribution, tensor) in enumerate(zip(formatted, inputs)):
        if attribution.shape != tensor.shape:
            label = f"{name}[{index}]" if len(inputs) > 1 else name
            raise ValueError(
                f"{label} has shape {tuple(attribution.shape)}; expected "
                f"{tuple(tensor.shape)} to match the input"
            )
    return formatted


def check_max_examples(value: MaxExamples, name: str = "max_examples_per_batch") -> None:
    """``None``, a positive int or ``"auto"``."""
    if value is None or value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name}={value!r}; expected None, a positive int or "auto"')


def rows_per_chunk(
    value: MaxExamples, inputs: tuple[Tensor, ...], total_rows: int, bytes_per_row: int
) -> int:
    """Model rows per call: everything (``None``), ``value``, or as many as the engine's
    forward-only memory budget holds at ``bytes_per_row`` (``"auto"``)."""
    check_max_examples(value)
    if value is None:
        return max(total_rows, 1)
    if value == "auto":
        budget = memory_budget_bytes(inputs[0].device, forward_only=True)
        return int(max(1, min(total_rows, budget // max(bytes_per_row, 1))))
    return int(value)


def evaluate_rows(
    forward_func: Callable,
    build: Callable[[int, int], tuple[Tensor, ...]],
    total: int,
    batch: int,
    per_call: int,
    target: TargetType,
    args: tuple | None,
    show_progress: bool = False,
    desc: str = "metric",
) -> Tensor:
    """Target scores of ``total`` perturbations of a batch of ``batch`` examples, laid out
    perturbation-major; ``build(start, stop)`` gives perturbations ``start..stop`` as rows.
    ``per_call`` perturbations go through the model at once, under inference mode (the
    engine's perturbation loop; a progress bar over model calls).

    Returns:
        (total, batch) scores, float64.
    """
    with progress_bar(-(-total // max(per_call, 1)), show_progress, desc) as bar:
        outputs = forward_perturbations(
            forward_func, build, total, per_call, target, args, batch, bar=bar
        )  # (total, batch · outputs per example)
    return outputs.reshape(total, batch, -1).sum(-1).double()


def heat_map(attributions: Tensor, mask_shape: torch.Size, name: str, mask_name: str) -> Tensor:
    """``attributions`` (batch, *lead, *mask_shape[1:]) summed over the leading non-batch
    dimensions it has beyond ``mask_shape`` (an image's channels, a spectrum's mel bins), so
    that it lines up with a ground-truth mask of ``mask_shape``."""
    extra = attributions.dim() - len(mask_shape)
    if (
        extra < 0
        or attributions.shape[extra + 1 :] != mask_shape[1:]
        or (attributions.shape[0] != mask_shape[0])
    ):
        raise ValueError(
            f"{mask_name} has shape {tuple(mask_shape)}; expected the shape of {name} "
            f"{tuple(attributions.shape)}, or it with dimensions after the batch left out "
            f"from the front, e.g. {(attributions.shape[0], *attributions.shape[2:])}"
        )
    if extra == 0:
        return attributions
    return attributions.sum(dim=tuple(range(1, extra + 1)))


def average_ranks(values: Tensor) -> Tensor:
    """Ranks 1..n along the last dimension, ties given their average rank (float64)."""
    values = values.double()
    order = values.argsort(dim=-1, stable=True)
    sorted_values = values.gather(-1, order)
    n = values.shape[-1]
    positions = torch.arange(1, n + 1, dtype=torch.float64, device=values.device)
    positions = positions.expand_as(values).contiguous()
    # average the positions within each run of equal values
    new_run = torch.ones_like(sorted_values, dtype=torch.bool)
    new_run[..., 1:] = sorted_values[..., 1:] != sorted_values[..., :-1]
    run_id = new_run.long().cumsum(-1) - 1  # (..., n)
    sums = torch.zeros_like(positions).scatter_add_(-1, run_id, positions)
    counts = torch.zeros_like(positions).scatter_add_(-1, run_id, torch.ones_like(positions))
    averaged = (sums / counts.clamp(min=1)).gather(-1, run_id)
    return torch.empty_like(averaged).scatter_(-1, order, averaged)


def localisation_pair(attributions: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    """Flattened ``(batch, n)`` heat map and boolean ground truth of a localisation metric;
    the map is summed over the leading dimensions the mask lacks (channels, mel bins)."""
    if not isinstance(attributions, Tensor) or not isinstance(masks, Tensor):
        raise TypeError(
            f"attributions and masks are {type(attributions).__name__} and "
            f"{type(masks).__name__}; expected two tensors"
        )
    heat = heat_map(attributions.detach(), masks.shape, "attributions", "masks")
    truth = masks.reshape(masks.shape[0], -1) != 0
    empty = (~truth.any(1)).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"masks[{empty[0]}] has no ground-truth element; expected at least one")
    return heat.reshape(heat.shape[0], -1).double(), truth
