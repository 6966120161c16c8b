"""Input × gradient (Shrikumar et al., 2016)."""

from __future__ import annotations

from typing import Any, ClassVar

from .._base import Attribution
from .._gradients import gradients
from .._inputs import (
    TargetType,
    TensorOrTuple,
    format_call,
    format_output,
)
from ..registry import register


@register("gradient")
class InputXGradient(Attribution):
    r"""Input × gradient: ``A_i(x) = x_i · ∂F(x)/∂x_i``.

    Args:
        forward_func: the model or any callable returning a tensor whose first dimension is
            the batch.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> InputXGradient(model).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 4])
    """

    _multiply_by_inputs: ClassVar[bool] = True

    def attribute(
        self, inputs: TensorOrTuple, target: TargetType = None, additional_forward_args: Any = None
    ) -> TensorOrTuple:
        """``x · ∂F_target/∂x``, the shape of ``inputs``.

        Args:
            inputs: tensor or tuple of tensors, each ``(batch, ...)``; the first
                dimension is the batch.
            target: output index per example: an int, a tuple for multi-dimensional
                outputs, a list or tensor of ``batch`` indices, or ``None`` for a
                scalar-per-example output (default ``None``).
            additional_forward_args: extra arguments passed to ``forward_func`` after
                the inputs, unchanged (tensors of batch size are expanded with the
                inputs; default ``None``).
        """
        was_tuple, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="InputXGradient"
        )
        with self._model_guard():
            grads = gradients(self.forward_func, formatted, target, args)
        return format_output(was_tuple, tuple(x * g for x, g in zip(formatted, grads)))
