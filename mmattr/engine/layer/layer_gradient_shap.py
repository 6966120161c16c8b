"""GradientShap on a layer: expected layer gradients times the layer's input-baseline change.

``φ_l ≈ E_{b, ε, α}[(a_l(x + ε) − a_l(b)) ⊙ ∂F/∂a_l(b + α(x + ε − b))]`` with ``b`` drawn from
the baselines, ``ε ~ N(0, stdevs²)`` and ``α ~ U(0, 1)``: ``n_samples`` draws per example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from .._inputs import (
    TensorOrTuple,
    as_tuple,
    call_baselines,
    check_count,
    expand_additional_args,
    format_call,
    format_inputs,
)
from .._targets import TargetType
from ..gradient.gradient_shap import _as_distribution, _scale
from ..gradient.noise_tunnel import NoiseTunnel
from ..registry import register
from ._layer_base import LayerAttributionByInputs, LayerResult, per_layer_deltas
from ._layer_pass import ModuleOrList, layer_gradients, layer_values


@register("layer", layers="list", convergence_delta=True)
class LayerGradientShap(LayerAttributionByInputs):
    """GradientShap of a layer's units (or of every layer of a list from the same draws).

    Random draws follow Captum's order (numpy for the baseline picks and ``α``, torch for the
    noise), so with ``torch.manual_seed`` and ``np.random.seed`` set alike the numbers are
    Captum's.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
        ...                             torch.nn.Linear(3, 2))
        >>> shap = LayerGradientShap(model, model[0])
        >>> shap.attribute(torch.randn(2, 4), torch.randn(10, 4), target=0).shape
        torch.Size([2, 3])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def __init__(
        self,
        forward_func: Callable,
        layer: ModuleOrList,
        device_ids: list[int] | None = None,
        multiply_by_inputs: bool = True,
    ) -> None:
        # Captum's LayerGradientShap takes no layer_output_index
        super().__init__(forward_func, layer, device_ids, multiply_by_inputs)

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: TensorOrTuple | Callable[..., TensorOrTuple],
        n_samples: int = 5,
        stdevs: float | tuple[float, ...] = 0.0,
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        attribute_to_layer_input: bool = False,
    ) -> LayerResult | tuple[LayerResult, LayerResult]:
        """Attributions per layer, the layer's shape (a list for a list of layers).

        Args:
            baselines: a sample of reference inputs, a tensor per input (or a callable
                returning them from the inputs); one example or more.
            n_samples: draws per example (default 5).
            stdevs: standard deviation of the noise added to each input (default 0.0).
            return_convergence_delta: also return the delta of each draw, shape
                (batch × n_samples,) (a list of them, one per layer, for a list of layers).
        """
        formatted = format_inputs(inputs)
        check_count(n_samples, "n_samples")
        baselines = call_baselines(baselines, inputs)
        distribution = _as_distribution(baselines, formatted)
        step = _LayerInputBaselineXGradient(self, attribute_to_layer_input)
        # inputs go in as a tuple so the tunnel hands back every layer, not only the first
        result = NoiseTunnel(step).attribute(
            formatted,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            stdevs=stdevs,
            draw_baseline_from_distrib=True,
            baselines=as_tuple(distribution),
            target=target,
            additional_forward_args=additional_forward_args,
            return_convergence_delta=return_convergence_delta,
        )
        spec = step.spec  # its layout was set by the step's captures
        if not return_convergence_delta:
            return spec.format(list(result))
        attributions, deltas = result
        # the step returns one delta column per layer: (draws, n_layers)
        return spec.format(list(attributions)), spec.format_layers(list(deltas.unbind(dim=1)))


class _LayerInputBaselineXGradient:
    """One draw: ``(a_l(x) − a_l(b)) ⊙ ∂F/∂a_l(b + α(x − b))``, ``α ~ U(0, 1)`` per row."""

    needs_gradients: ClassVar[bool] = True

    def __init__(self, owner: LayerGradientShap, to_layer_input: bool) -> None:
        self.owner = owner
        self.forward_func = owner.forward_func
        self.multiplies_by_inputs = owner.multiplies_by_inputs
        self.spec = owner._layers(to_layer_input)

    def has_convergence_delta(self) -> bool:
        return True

    def attribute(
        self,
        inputs: tuple[Tensor, ...],
        baselines: tuple[Tensor, ...],
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
    ) -> tuple[Tensor, ...] | tuple[tuple[Tensor, ...], Tensor]:
        _, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="LayerGradientShap"
        )
        batch = formatted[0].shape[0]
        alpha = torch.tensor(
            np.random.uniform(0.0, 1.0, batch), device=formatted[0].device, dtype=formatted[0].dtype
        )
        with self.owner._model_guard():
            scaled = tuple(_scale(x, b, alpha) for x, b in zip(formatted, baselines))
            grads, _ = layer_gradients(self.forward_func, self.spec, scaled, target, args)
            if self.owner.multiplies_by_inputs:
                grads = self._times_layer_change(grads, formatted, baselines, args)
            if not return_convergence_delta:
                return tuple(grads)
            deltas = per_layer_deltas(
                self.owner, self.spec, grads, baselines, formatted, target, args
            )
        return tuple(grads), torch.stack(deltas, dim=1)

    def _times_layer_change(self, grads, inputs, baselines, args) -> list[Tensor]:
        """``(a_l(x) − a_l(b)) ⊙ g_l``, inputs and baselines through the model in one batch."""
        stacked = tuple(torch.cat([x, b.expand_as(x)]) for x, b in zip(inputs, baselines))
        values = layer_values(
            self.forward_func, self.spec, stacked, expand_additional_args(args, 2)
        )
        halves = [value.chunk(2) for value in values]
        return [g * (at_input - at_baseline) for g, (at_input, at_baseline) in zip(grads, halves)]
