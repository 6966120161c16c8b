"""Input × gradient (Shrikumar et al., 2016)."""

from __future__ import annotations

from typing import Any, ClassVar

from .._base import Attribution
from .._gradients import gradients
from .._inputs import TensorOrTuple, format_call, format_output
from .._targets import TargetType
from ..registry import register


@register("gradient")
class InputXGradient(Attribution):
    r"""Input × gradient: ``A_i(x) = x_i · ∂F(x)/∂x_i``.

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
        """``x · ∂F_target/∂x``, the shape of ``inputs``."""
        was_tuple, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="InputXGradient"
        )
        with self._model_guard():
            grads = gradients(self.forward_func, formatted, target, args)
        return format_output(was_tuple, tuple(x * g for x, g in zip(formatted, grads)))
