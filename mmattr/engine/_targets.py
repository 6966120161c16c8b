"""The ``target`` argument: which output value, per example, attribution explains.

Checks its form against the batch before any model call (:func:`validate_target`), repeats
and slices per-example targets along with the inputs (:func:`expand_target`,
:func:`slice_target`), and picks ``output[i, target_i]`` from a model output
(:func:`select_target`). Errors name the argument, what was expected and what came.
"""

from __future__ import annotations

from typing import Any, Sequence, Union

import torch
from torch import Tensor

from .errors import InputTypeError, InputValueError

TargetType = Union[None, int, tuple, Tensor, list]


def expand_target(target: TargetType, n_repeats: int, interleave: bool = False) -> TargetType:
    """Per-example targets repeat with the inputs; a single target stays as it is.

    Args:
        target: the target as given to ``attribute``.
        n_repeats: how many copies of the batch.
        interleave: repeat each example in place (``[a, a, b, b]``) rather than the whole
            batch (default ``False``).
    """
    if n_repeats == 1:
        return target
    if isinstance(target, list):
        if interleave:
            return [t for t in target for _ in range(n_repeats)]
        return target * n_repeats
    if isinstance(target, Tensor) and target.numel() > 1:
        return repeat_batch(target, n_repeats, interleave)
    return target


def repeat_batch(tensor: Tensor, n_repeats: int, interleave: bool) -> Tensor:
    """``n_repeats`` copies of the batch: ``[a, b, a, b]``, or ``[a, a, b, b]`` interleaved
    (the target's and, from :mod:`._inputs`, the additional arguments' tensors)."""
    if interleave:
        return tensor.repeat_interleave(n_repeats, dim=0)
    return tensor.repeat((n_repeats,) + (1,) * (tensor.dim() - 1))


def slice_target(target: TargetType, start: int, stop: int) -> TargetType:
    if isinstance(target, list):
        return target[start:stop]
    if isinstance(target, Tensor) and target.numel() > 1:
        return target[start:stop]
    return target


def validate_target(target: TargetType, batch: int, name: str = "target") -> None:
    """Check the form of ``target`` before any model call.

    Args:
        target: the target as given to ``attribute``.
        batch: number of examples.
        name: the argument's name, used in error messages (default ``"target"``).
    """
    if target is None or isinstance(target, (int, tuple)):
        if isinstance(target, bool):
            raise InputTypeError(f"{name} is a bool; expected an int, a tuple, a list or a tensor")
        return
    if isinstance(target, Tensor):
        if target.is_floating_point():
            raise InputTypeError(f"{name} has dtype {target.dtype}; expected an integer tensor")
        if target.numel() not in (1, batch):
            raise InputValueError(
                f"{name} has {target.numel()} elements; expected 1 or {batch} (one per example)"
            )
        return
    if isinstance(target, list):
        if len(target) != batch:
            raise InputValueError(
                f"{name} is a list of {len(target)}; expected {batch} entries, one per example"
            )
        return
    raise InputTypeError(
        f"{name} is {type(target).__name__}; expected an int, tuple, list or tensor"
    )


def select_target(output: Tensor, target: TargetType, name: str = "target") -> Tensor:
    """The scalar per example that attribution explains: ``output[i, target_i]``.

    Args:
        output: the model output, ``(batch, ...)``.
        target: the target as given to ``attribute``.
        name: the argument's name, used in error messages (default ``"target"``).
    """
    if target is None:
        return output
    if output.dim() < 2:
        raise InputValueError(
            f"{name}={_short(target)} needs an output of shape (batch, ...); the model returned "
            f"shape {tuple(output.shape)}. Pass target=None for a model with one output per example"
        )
    if isinstance(target, Tensor):
        if target.numel() == 1:
            return _select_column(output, int(target.item()), name)
        target = target.reshape(-1).tolist()
    if isinstance(target, (int, tuple)):
        return _select_column(output, target, name)
    if isinstance(target, list):
        if len(target) != output.shape[0]:
            raise InputValueError(
                f"{name} has {len(target)} entries; the model output has batch {output.shape[0]}"
            )
        if all(isinstance(t, int) for t in target):
            _check_range(output, target, name)
            if output.dim() == 2:
                index = torch.tensor(target, device=output.device).reshape(-1, 1)
                return torch.gather(output, 1, index)[:, 0]
        return _stack_rows(output, [t if isinstance(t, tuple) else (t,) for t in target], name)
    raise InputTypeError(
        f"{name} is {type(target).__name__}; expected an int, tuple, list or tensor"
    )


def _select_column(output: Tensor, target: int | tuple, name: str) -> Tensor:
    index = (target,) if isinstance(target, int) else tuple(target)
    if len(index) > output.dim() - 1:
        raise InputValueError(
            f"{name}={_short(target)} has {len(index)} indices; the output of shape "
            f"{tuple(output.shape)} has only {output.dim() - 1} dimensions after the batch"
        )
    for axis, value in enumerate(index, start=1):
        size = output.shape[axis]
        if not -size <= value < size:
            raise InputValueError(
                f"{name}={_short(target)} is out of range for output of shape "
                f"{tuple(output.shape)}: index {value} on dimension {axis} of size {size}"
            )
    return output[(slice(None),) + index]


def _check_range(output: Tensor, targets: Sequence[int], name: str) -> None:
    size = output.shape[1]
    bad = [t for t in targets if not -size <= t < size]
    if bad:
        raise InputValueError(
            f"{name} contains {bad[0]}, out of range for output of shape {tuple(output.shape)} "
            f"(dimension 1 has size {size})"
        )


def _stack_rows(output: Tensor, targets: list[tuple], name: str) -> Tensor:
    for row in targets:
        _select_column(output[:1], row, name)
    return torch.stack([output[(row,) + t] for row, t in enumerate(targets)])


def _short(target: Any) -> str:
    text = repr(target)
    return text if len(text) < 40 else text[:37] + "..."
