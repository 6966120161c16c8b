"""Internal influence (Leino et al., 2018): ``∫₀¹ ∂F/∂a_l(b + α(x − b)) dα`` per layer unit."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .._batching import BatchSize
from .._inputs import BaselinesType, TensorOrTuple, format_call
from .._integration import quadrature, weighted_step_sum
from .._targets import TargetType
from ..registry import register
from ._layer_base import LayerAttribution
from ._layer_pass import interpolated_layer_gradients


@register("layer", layers="list")
class InternalInfluence(LayerAttribution):
    """The layer gradient integrated along the input path; a list of layers in one pass."""

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        internal_batch_size: BatchSize = None,
        attribute_to_layer_input: bool = False,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> Tensor | list[Tensor]:
        """``Σ_k w_k ∂F_target/∂a_l(x_k)`` per layer unit (a list for a list of layers)."""
        _, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, gradient_of="InternalInfluence"
        )
        step_sizes, alphas = quadrature(method, n_steps)
        spec = self._layers(attribute_to_layer_input)
        totals: list[Tensor] | None = None
        with self._model_guard():
            for steps, grads, _ in interpolated_layer_gradients(
                self.forward_func,
                spec,
                formatted,
                formatted_baselines,
                target,
                args,
                alphas,
                internal_batch_size,
                grad_kwargs,
            ):
                weights = [step_sizes[k] for k in steps]
                sums = [weighted_step_sum(grad, weights) for grad in grads]
                totals = sums if totals is None else [t + s for t, s in zip(totals, sums)]
        return spec.format(totals)
