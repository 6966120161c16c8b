"""Internal influence (Leino et al., 2018): ``∫₀¹ ∂F/∂a_l(b + α(x − b)) dα`` per layer unit."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .._batching import BatchSize
from .._inputs import (
    BaselinesType,
    TargetType,
    TensorOrTuple,
    format_call,
)
from .._integration import quadrature, weighted_step_sum
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
        """``Σ_k w_k ∂F_target/∂a_l(x_k)`` per layer unit (a list for a list of layers).

        Args:
            inputs: tensor or tuple of tensors, each ``(batch, ...)``; the first
                dimension is the batch.
            baselines: reference inputs: scalar, tensor broadcastable to each input, or
                a tuple matching ``inputs``; ``None`` means zeros (default ``None``).
            target: output index per example: an int, a tuple for multi-dimensional
                outputs, a list or tensor of ``batch`` indices, or ``None`` for a
                scalar-per-example output (default ``None``).
            additional_forward_args: extra arguments passed to ``forward_func`` after
                the inputs, unchanged (tensors of batch size are expanded with the
                inputs; default ``None``).
            n_steps: number of integration steps (Riemann or Gauss-Legendre points;
                default ``50``).
            method: integral approximation: ``"gausslegendre"`` or one of
                ``"riemann_left"``, ``"riemann_right"``, ``"riemann_middle"``,
                ``"riemann_trapezoid"`` (default ``"gausslegendre"``).
            internal_batch_size: evaluate the scaled inputs in chunks of this many
                examples (``None``: all at once, or split to fit memory; default
                ``None``).
            attribute_to_layer_input: attribute to the layer's input instead of its
                output (default ``False``).
            grad_kwargs: keyword arguments passed on to ``torch.autograd.grad`` (default
                ``None``).
        """
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
