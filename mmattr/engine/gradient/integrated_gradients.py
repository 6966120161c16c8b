"""Integrated gradients (Sundararajan et al., 2017)."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from torch import Tensor

from .._base import AttributionByInputs
from .._batching import BatchSize
from .._gradients import gradients
from .._inputs import BaselinesType, TensorOrTuple, format_call, format_output
from .._integration import integrate_path, path_chunks, quadrature
from .._targets import TargetType
from ..registry import register


@register("gradient", convergence_delta=True)
class IntegratedGradients(AttributionByInputs):
    r"""Integrated gradients: ``IG_i(x) = (x_i − b_i) ∫₀¹ ∂F(b + α(x − b))/∂x_i dα``.

    The integral is a quadrature over ``n_steps`` points (``method``); the sum of the
    attributions approaches ``F(x) − F(b)`` (completeness), and the gap is the convergence delta.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> ig = IntegratedGradients(model)
        >>> x = torch.randn(2, 4)
        >>> attributions, delta = ig.attribute(x, target=1, return_convergence_delta=True)
        >>> attributions.shape
        torch.Size([2, 4])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        internal_batch_size: BatchSize = None,
        return_convergence_delta: bool = False,
    ) -> TensorOrTuple | tuple[TensorOrTuple, Tensor]:
        """Attributions of ``F_target`` to each input element, the shape of ``inputs``.

        Args:
            inputs: tensor or tuple of tensors, batch first, floating point.
        """
        was_tuple, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, gradient_of="IntegratedGradients"
        )
        step_sizes, alphas = quadrature(method, n_steps)
        with self._model_guard():
            attributions = self._integrate(
                formatted,
                formatted_baselines,
                target,
                args,
                step_sizes,
                alphas,
                internal_batch_size,
            )
            result = format_output(was_tuple, attributions)
            if not return_convergence_delta:
                return result
            delta = self.compute_convergence_delta(
                attributions, formatted_baselines, formatted, target, args
            )
        return result, delta

    def _integrate(
        self, inputs, baselines, target, args, step_sizes, alphas, batch_size, grad_kwargs=None
    ):
        path = path_chunks(self.forward_func, inputs, baselines, target, args, alphas, batch_size)
        integrand = functools.partial(gradients, self.forward_func, grad_kwargs=grad_kwargs)
        totals = integrate_path(path, inputs, step_sizes, integrand)
        if not self.multiplies_by_inputs:
            return totals
        return tuple(total * (x - b) for total, x, b in zip(totals, inputs, baselines))
