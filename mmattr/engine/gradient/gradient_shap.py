"""GradientShap (Lundberg & Lee, 2017): expected gradients with random baselines and noise."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import Tensor

from .._base import AttributionByInputs
from .._gradients import gradients
from .._inputs import (
    TensorOrTuple,
    call_baselines,
    check_count,
    format_call,
    format_inputs,
    format_output,
)
from .._targets import TargetType
from ..registry import register
from .deep_lift import format_baseline_distribution
from .noise_tunnel import NoiseTunnel


@register("gradient", convergence_delta=True)
class GradientShap(AttributionByInputs):
    r"""GradientShap: ``φ_i ≈ E_{b, ε, α}[(x_i − b_i) · ∂F(b + α(x + ε − b))/∂x_i]`` with ``b``
    drawn from the baselines, ``ε ~ N(0, stdevs²)`` and ``α ~ U(0, 1)``; ``n_samples`` draws
    per example. Random draws follow Captum's order (numpy for b and α, torch for ε).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> background = torch.randn(10, 4)
        >>> GradientShap(model).attribute(torch.randn(2, 4), background, target=0).shape
        torch.Size([2, 4])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: TensorOrTuple | Callable[..., TensorOrTuple],
        n_samples: int = 5,
        stdevs: float | tuple[float, ...] = 0.0,
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
    ) -> TensorOrTuple | tuple[TensorOrTuple, Tensor]:
        """Attributions the shape of ``inputs``; ``baselines`` is a sample of reference inputs
        (a tensor per input, or a callable returning them). The delta has one entry per draw.

        Args:
            baselines: distribution of baselines, each ``(n_baselines, ...)``; one is
                drawn per sample.
            n_samples: number of random baselines drawn per example (default ``5``).
            stdevs: standard deviation of the Gaussian noise added to each input (a
                float or one per input; default ``0.0``).
        """
        formatted = format_inputs(inputs)
        check_count(n_samples, "n_samples")
        baselines = call_baselines(baselines, inputs)
        baselines = _as_distribution(baselines, formatted)
        tunnel = NoiseTunnel(_InputBaselineXGradient(self.forward_func, self.multiplies_by_inputs))
        return tunnel.attribute(
            inputs,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            stdevs=stdevs,
            draw_baseline_from_distrib=True,
            baselines=baselines,
            target=target,
            additional_forward_args=additional_forward_args,
            return_convergence_delta=return_convergence_delta,
        )


def _as_distribution(baselines: Any, inputs: tuple[Tensor, ...]):
    """Baselines as tensors with a sample dimension; one baseline example is allowed here."""
    formatted = baselines if isinstance(baselines, tuple) else (baselines,)
    if all(isinstance(b, Tensor) and b.dim() > 0 and b.shape[0] == 1 for b in formatted):
        return baselines
    format_baseline_distribution(formatted, inputs)
    return baselines


class _InputBaselineXGradient(AttributionByInputs):
    """``(x − b) · ∂F(b + α(x − b))/∂x`` at one random ``α ~ U(0, 1)`` per example."""

    _has_convergence_delta: ClassVar[bool] = True

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        return_convergence_delta=False,
    ):
        was_tuple, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="GradientShap"
        )
        baselines = baselines if isinstance(baselines, tuple) else (baselines,)
        alpha = torch.tensor(
            np.random.uniform(0.0, 1.0, formatted[0].shape[0]),
            device=formatted[0].device,
            dtype=formatted[0].dtype,
        )
        with self._model_guard():
            scaled = tuple(_scale(x, b, alpha) for x, b in zip(formatted, baselines))
            grads = gradients(self.forward_func, scaled, target, args)
            if self.multiplies_by_inputs:
                grads = tuple((x - b) * g for x, b, g in zip(formatted, baselines, grads))
            result = format_output(was_tuple, grads)
            if not return_convergence_delta:
                return result
            delta = self.compute_convergence_delta(grads, baselines, formatted, target, args)
        return result, delta


def _scale(x: Tensor, baseline: Any, alpha: Tensor) -> Tensor:
    alpha = alpha.view((x.shape[0],) + (1,) * (x.dim() - 1))
    return alpha * x + (1.0 - alpha) * baseline
