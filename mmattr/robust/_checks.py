"""Checks shared by the attacks and the robustness metrics: masks, numbers, and the error class
that Captum users catch as ``AssertionError``."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from mmattr.engine.toolkit import InputValueError, as_tuple

#: bad input to ``mmattr.robust``: the engine's error, a ``ValueError`` that
#: ``except AssertionError`` (what Captum raises for the same input) also catches
RobustInputError = InputValueError


def check_number(value: Any, name: str, positive: bool = False) -> float:
    """``value`` as a float; a bool, a tensor of several values or a string is refused."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} is {type(value).__name__}; expected a number")
    if positive and not value > 0:
        raise RobustInputError(f"{name} is {value}; expected a number > 0")
    return value


def format_masks(mask: Any, inputs: tuple[Tensor, ...]) -> tuple[Tensor | int, ...]:
    """``mask`` as one entry per input: ``1`` (perturb everything) when ``mask`` is None, else
    tensors that broadcast to their input's shape."""
    if mask is None:
        return (1,) * len(inputs)
    masks = as_tuple(mask)
    if len(masks) != len(inputs):
        raise RobustInputError(
            f"mask has {len(masks)} tensors; expected {len(inputs)}, one per input"
        )
    for index, (entry, tensor) in enumerate(zip(masks, inputs)):
        label = f"mask[{index}]" if len(inputs) > 1 else "mask"
        if not isinstance(entry, Tensor):
            raise TypeError(f"{label} is {type(entry).__name__}; expected a tensor of 0s and 1s")
        try:
            shape = entry.broadcast_to(tensor.shape).shape
        except RuntimeError:
            shape = None
        if shape is None or entry.dim() > tensor.dim():
            raise RobustInputError(
                f"{label} has shape {tuple(entry.shape)}; expected {tuple(tensor.shape)} "
                "(or a shape that broadcasts to it) to match the input"
            )
    return masks
