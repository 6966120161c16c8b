"""Guided backpropagation (Springenberg et al., 2015) and deconvolution (Zeiler & Fergus, 2014)."""

from __future__ import annotations

from typing import Any, ClassVar

from .._backward_rules import guided_relu
from .._base import Attribution
from .._gradients import gradients
from .._inputs import TensorOrTuple, format_call, format_output
from .._targets import TargetType
from ..registry import register


class _ModifiedReluGradient(Attribution):
    """The gradient with every ReLU call's backward replaced (see ``_backward_rules``)."""

    use_grad_output: ClassVar[bool] = False

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.model = model

    def attribute(
        self, inputs: TensorOrTuple, target: TargetType = None, additional_forward_args: Any = None
    ) -> TensorOrTuple:
        """The modified gradient of ``F_target``, the shape of ``inputs``.

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
            inputs, None, target, additional_forward_args, gradient_of=type(self).__name__
        )
        with self._model_guard(), guided_relu(self.use_grad_output):
            grads = gradients(self.forward_func, formatted, target, args)
        return format_output(was_tuple, grads)


@register("gradient")
class GuidedBackprop(_ModifiedReluGradient):
    r"""Guided backprop: the gradient where each ReLU passes back ``relu(g · 1[x > 0])``, only
    positive gradients through active units. Every ReLU call counts: modules, reused modules,
    in-place modules and ``F.relu``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> GuidedBackprop(model).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 4])
    """


@register("gradient")
class Deconvolution(_ModifiedReluGradient):
    r"""Deconvolution: the gradient where each ReLU passes back ``relu(g)``, whatever the sign
    of its forward input.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> Deconvolution(model).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 4])
    """

    use_grad_output: ClassVar[bool] = True
