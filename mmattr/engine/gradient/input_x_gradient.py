"""Input × gradient (Shrikumar et al., 2016)."""

from __future__ import annotations

from typing import Any

from .._base import Attribution
from .._gradients import gradients
from .._inputs import (
    TargetType,
    TensorOrTuple,
    format_additional_args,
    format_inputs,
    format_output,
    is_tuple,
    require_floating,
    validate_target,
)


class InputXGradient(Attribution):
    r"""Input × gradient: ``A_i(x) = x_i · ∂F(x)/∂x_i``.

    Example::

        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> InputXGradient(model).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 4])
    """

    def attribute(
        self, inputs: TensorOrTuple, target: TargetType = None, additional_forward_args: Any = None
    ) -> TensorOrTuple:
        """``x · ∂F_target/∂x``, the shape of ``inputs``."""
        was_tuple = is_tuple(inputs)
        formatted = format_inputs(inputs)
        require_floating(formatted, "InputXGradient")
        validate_target(target, formatted[0].shape[0])
        with self._model_guard():
            grads = gradients(
                self.forward_func,
                formatted,
                target,
                format_additional_args(additional_forward_args),
            )
        return format_output(was_tuple, tuple(x * g for x, g in zip(formatted, grads)))
