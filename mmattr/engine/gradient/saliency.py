"""Saliency (Simonyan et al., 2013)."""

from __future__ import annotations

from typing import Any

from .._base import Attribution
from .._gradients import gradients
from .._inputs import TensorOrTuple, format_call, format_output
from .._targets import TargetType
from ..registry import register


@register("gradient")
class Saliency(Attribution):
    r"""Saliency: ``S_i(x) = |∂F(x)/∂x_i|`` (or the signed gradient with ``abs=False``).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> x = torch.randn(2, 4)
        >>> Saliency(model).attribute(x, target=0).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        abs: bool = True,
        additional_forward_args: Any = None,
    ) -> TensorOrTuple:
        """Gradient (absolute by default) of ``F_target`` at ``inputs``, the shape of ``inputs``.

        Args:
            abs: return the absolute value of the gradient (default ``True``).
        """
        was_tuple, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="Saliency"
        )
        with self._model_guard():
            grads = gradients(self.forward_func, formatted, target, args)
        grads = tuple(g.abs() if abs else g for g in grads)
        return format_output(was_tuple, grads)
