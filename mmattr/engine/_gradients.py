"""Gradients of the selected output with respect to inputs: one forward, one backward."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from ._docs import document
from ._inputs import run_forward
from ._targets import TargetType
from .errors import InputValueError


def as_leaves(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """Tensors that autograd can differentiate with respect to, without touching the caller's
    ``requires_grad`` flags (a tensor already in a graph is used as it is). Integer tensors
    (token ids for a layer method) stay as they are: they have no gradient.

    Args:
        inputs: formatted inputs.
    """
    return tuple(
        t
        if t.requires_grad or not (t.is_floating_point() or t.is_complex())
        else t.detach().requires_grad_()
        for t in inputs
    )


def check_batch_kept(output: Tensor, rows: int) -> None:
    """The model's output keeps the batch: one row per input row, or one number for the
    whole batch. An output that dropped it (``model(x)[0]``) gives silent zero rows."""
    if output.dim() >= 1 and output.shape[0] != rows and output.numel() != 1:
        raise ValueError(
            f"the model output has shape {tuple(output.shape)} for inputs of {rows} rows in "
            "this model call: its first dimension is not the batch. Return one row per example "
            "(e.g. model(x)[0] drops the batch dimension) or one number for the whole batch"
        )


def check_scalar_per_example(output: Tensor, has_target: bool) -> None:
    """Fail with a hint unless ``output`` holds one number per example.

    Args:
        output: the selected model output, ``(batch, ...)``.
        has_target: whether a ``target`` was given (the hint suggests one if not).
    """
    if output.dim() > 1 and output[0].numel() != 1:
        hint = "" if has_target else "; pass target= to pick one output per example"
        raise InputValueError(
            f"the selected model output has shape {tuple(output.shape)}; expected one number per "
            f"example, shape (batch,) or (batch, 1){hint}"
        )


def grad_of_outputs(
    output: Tensor, wrt: Sequence[Tensor], grad_kwargs: dict | None = None
) -> tuple[Tensor, ...]:
    """d(sum of output)/d(wrt); tensors the output does not depend on get zeros.

    Args:
        output: the tensor whose sum is differentiated.
        wrt: the tensors to differentiate with respect to.
        grad_kwargs: keyword arguments for ``torch.autograd.grad``, e.g. ``retain_graph``
            (default ``None``).
    """
    grads = torch.autograd.grad(output.sum(), tuple(wrt), allow_unused=True, **(grad_kwargs or {}))
    return tuple(torch.zeros_like(w) if g is None else g for g, w in zip(grads, wrt))


@document
def gradients(
    forward_func: Callable,
    inputs: tuple[Tensor, ...],
    target: TargetType = None,
    additional_forward_args: tuple | None = None,
    grad_kwargs: dict | None = None,
) -> tuple[Tensor, ...]:
    """``d F_target / d inputs`` for every row of the batch.

    Args:
        inputs: formatted inputs.
        additional_forward_args: formatted additional forward arguments (default ``None``).
        grad_kwargs: keyword arguments for ``torch.autograd.grad`` (default ``None``).
    """
    with torch.enable_grad():
        leaves = as_leaves(inputs)
        output = run_forward(forward_func, leaves, target, additional_forward_args)
        check_batch_kept(output, leaves[0].shape[0])
        check_scalar_per_example(output, target is not None)
        return grad_of_outputs(output, leaves, grad_kwargs)
