"""Feature masks of the perturbation methods: groups of input elements switched on and off
together. Formats and checks the ``feature_mask`` argument (ids ``0..k-1`` over all inputs),
counts and orders the groups, and spreads per-group values back over the elements.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

from ..errors import InputTypeError, InputValueError


def format_feature_mask(
    feature_mask: Any, inputs: tuple[Tensor, ...], name: str = "feature_mask"
) -> tuple[Tensor, ...]:
    """Long masks, one per input, each with the input's number of dimensions and every size
    1 or the input's (leading dim 1 or the batch size); ids over all inputs are 0..k-1.

    ``None`` gives Captum's default: every scalar element its own group, numbered
    consecutively across inputs, each mask of shape ``(1, *input.shape[1:])``.

    Args:
        feature_mask: the mask as given to ``attribute`` (``None``: each element alone).
        inputs: formatted inputs.
        name: the argument's name, used in error messages (default ``"feature_mask"``).
    """
    if feature_mask is None:
        return _default_masks(inputs)
    masks = feature_mask if isinstance(feature_mask, (tuple, list)) else (feature_mask,)
    if len(masks) != len(inputs):
        raise InputValueError(
            f"{name} has {len(masks)} tensors; expected {len(inputs)}, one per input"
        )
    labels = [f"{name}[{i}]" if len(inputs) > 1 else name for i in range(len(inputs))]
    formatted = tuple(
        _format_one_mask(mask, tensor, label) for mask, tensor, label in zip(masks, inputs, labels)
    )
    _check_ids(formatted, name)
    return formatted


def _default_masks(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    masks, offset = [], 0
    for tensor in inputs:
        per_example = tensor[:1].numel()
        ids = torch.arange(offset, offset + per_example, device=tensor.device)
        masks.append(ids.reshape(tensor[:1].shape))  # (1, *shape[1:]); empty for no rows
        offset += per_example
    return tuple(masks)


def _format_one_mask(mask: Any, tensor: Tensor, label: str) -> Tensor:
    if not isinstance(mask, Tensor):
        raise InputTypeError(f"{label} is {type(mask).__name__}; expected an integer tensor")
    if mask.is_floating_point() or mask.is_complex():
        if not torch.equal(mask, mask.round()):
            raise InputTypeError(
                f"{label} has non-integer values (dtype {mask.dtype}); expected ids"
            )
    wanted = tuple(tensor.shape)
    if mask.dim() > tensor.dim() or not _broadcastable(mask.shape, wanted):
        raise InputValueError(
            f"{label} has shape {tuple(mask.shape)}; expected a shape broadcastable to the "
            f"input's {wanted}: each dimension 1 or equal, the first 1 or {wanted[0]} "
            f"(e.g. {(1,) + wanted[1:]} or {wanted})"
        )
    mask = mask.reshape((1,) * (tensor.dim() - mask.dim()) + tuple(mask.shape))
    return mask.to(device=tensor.device, dtype=torch.long)


def _broadcastable(shape: Sequence[int], wanted: Sequence[int]) -> bool:
    aligned = wanted[len(wanted) - len(shape) :]
    return all(size in (1, target) for size, target in zip(shape, aligned))


def _check_ids(masks: tuple[Tensor, ...], name: str) -> None:
    """Ids 0..k-1 each used at least once: min, max and a bincount on the masks' device
    (one host sync; a sort of every id would cost more than the model on a GPU)."""
    device = masks[0].device
    flat = torch.cat([mask.reshape(-1).to(device) for mask in masks])
    if flat.numel() == 0:
        return
    low, high = torch.stack([flat.min(), flat.max()]).tolist()
    if low >= 0 and bool((torch.bincount(flat, minlength=high + 1) > 0).all()):
        return
    ids = torch.unique(flat).cpu()
    expected = torch.arange(max(high + 1, 0))
    missing = expected[~torch.isin(expected, ids)].tolist()
    shapes = ", ".join(str(tuple(mask.shape)) for mask in masks)
    raise InputValueError(
        f"{name} ids must be 0..k-1 over all inputs, each group numbered once without gaps; "
        f"found ids {_short_list(ids.tolist())}"
        + (f" (missing {_short_list(missing)})" if missing else "")
        + f" in mask(s) of shape {shapes}"
    )


def _short_list(values: list) -> str:
    return str(values) if len(values) <= 12 else f"[{values[0]}, {values[1]}, ..., {values[-1]}]"


def groups_of_inputs(masks: tuple[Tensor, ...], flagged: Sequence[bool], every: bool) -> set[int]:
    """Group ids found in the masks of flagged inputs: in flagged inputs only (``every``), or
    in at least one of them."""
    if not any(flagged):
        return set()
    in_flagged: set[int] = set()
    elsewhere: set[int] = set()
    for mask, flag in zip(masks, flagged):
        (in_flagged if flag else elsewhere).update(torch.unique(mask).tolist())
    return in_flagged - elsewhere if every else in_flagged


def count_groups(masks: tuple[Tensor, ...]) -> int:
    """Number ``k`` of feature groups of formatted masks (ids 0..k-1).

    Args:
        masks: formatted feature masks, one per input.
    """
    return max((int(mask.max().item()) + 1 for mask in masks if mask.numel() > 0), default=0)


def group_order(masks: tuple[Tensor, ...]) -> list[int]:
    """Group ids in Captum's visiting order: input 0's ids ascending, then the new ids of
    input 1, ... (it decides which groups share a model call and the order of random draws)."""
    seen: dict[int, None] = {}
    for mask in masks:
        for group in torch.unique(mask).tolist():
            seen.setdefault(group, None)
    return list(seen)


def check_mask_rows(
    masks: tuple[Tensor, ...], n_outputs: int, batch: int, name: str = "feature_mask"
) -> None:
    """Per-example masks need the same number of output values per example. A model output
    of one value for a ``batch`` of 1 (by ``inputs[0]``) may be spread over the rows of a
    longer input; an empty input's mask has no rows."""
    for index, mask in enumerate(masks):
        one_example = n_outputs == 1 and batch == 1
        if mask.shape[0] > 1 and n_outputs % mask.shape[0] and not one_example:
            raise InputValueError(
                f"{name}[{index}] has {mask.shape[0]} rows but the model gives {n_outputs} "
                "output value(s) per evaluation; a model that returns one value for the whole "
                f"batch needs a {name} with first dimension 1"
            )


def spread_groups(
    values: Tensor,
    masks: tuple[Tensor, ...],
    inputs: tuple[Tensor, ...],
    name: str = "feature_mask",
) -> tuple[Tensor, ...]:
    """Attribution of each element = its group's value: ``attr_i[o, e] = values[o, mask_i[e]]``.

    ``values`` is ``(n_outputs, k)``; results are ``(n_outputs, *input.shape[1:])``. With a
    per-example mask, the outputs of example ``i`` (``n_outputs / batch`` of them for a
    multi-output model) read row ``i``.
    """
    n_outputs = values.shape[0]
    check_mask_rows(masks, n_outputs, inputs[0].shape[0], name)
    result = []
    for mask, tensor in zip(masks, inputs):
        if mask.numel() == 0:  # an empty input: nothing to perturb, attribution 0
            result.append(values.new_zeros((n_outputs,) + tuple(tensor.shape[1:])))
            continue
        rows = max(n_outputs, mask.shape[0])
        ids = mask.expand((mask.shape[0],) + tuple(tensor.shape[1:])).reshape(mask.shape[0], -1)
        ids = ids.to(values.device)
        if mask.shape[0] == 1:
            spread = values[:, ids[0]]
        else:
            ids = ids.repeat_interleave(max(n_outputs // mask.shape[0], 1), dim=0)
            spread = torch.gather(values.expand(rows, -1), 1, ids)
        result.append(spread.reshape((rows,) + tuple(tensor.shape[1:])).to(tensor.device))
    return tuple(result)
