"""Layer conductance (Dhamdhere et al., 2018), every layer from one interpolated pass.

``Cond_l(x) = Σ_k ∂F/∂a_l(x_k) ⊙ (a_l(x_{k+1}) − a_l(x_k))``, ``x_k = b + α_k (x − b)`` over
``n_steps + 1`` path points: the flow of ``F(x) − F(b)`` through each unit of the layer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from .._batching import BatchSize
from .._inputs import BaselinesType, TensorOrTuple, check_count, format_call
from .._integration import quadrature
from .._targets import TargetType
from ..registry import register
from ._layer_base import LayerAttribution, per_layer_deltas
from ._layer_pass import interpolated_layer_gradients


@register("layer", layers="list", convergence_delta=True)
class LayerConductance(LayerAttribution):
    """Conductance of each unit of a layer, or of every layer of a list in one pass.

    Where Captum runs one integrated-gradients pass per layer, a list of layers here costs one
    pass: the activations and gradients of every layer come from the same forward/backward of
    each chunk, and chunks share their boundary step instead of recomputing it. Each layer's
    result equals the single-layer result.

    Example::

        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> cond = LayerConductance(model, [model[0], model[1]])  # two layers, one pass
        >>> per_layer = cond.attribute(torch.randn(3, 4), target=0)
        >>> [tuple(a.shape) for a in per_layer]
        [(3, 8), (3, 8)]
    """

    _has_convergence_delta: ClassVar[bool] = True
    _multiply_by_inputs: ClassVar[bool] = True

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
        attribute_to_layer_input: bool = False,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> Tensor | list[Tensor] | tuple[Tensor | list[Tensor], Tensor]:
        """Conductance per layer unit, the layer's shape (a list for a list of layers).

        Captum's semantics; ``internal_batch_size`` also takes ``"auto"``. With
        ``return_convergence_delta`` also returns ``Σ attr − (F(x) − F(b))`` per example (for a
        list of layers, a list of deltas, one per layer).

        Args:
            return_convergence_delta: also return the completeness error ``Σ
                attributions − (F(x) − F(b))`` per example (default ``False``).
        """
        _, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, gradient_of="LayerConductance"
        )
        # the path has n_steps + 1 points; the count is checked as the user gave it
        _, alphas = quadrature(method, check_count(n_steps, "n_steps") + 1)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            path = interpolated_layer_gradients(
                self.forward_func,
                spec,
                formatted,
                formatted_baselines,
                target,
                args,
                alphas,
                internal_batch_size,
                grad_kwargs,
            )
            totals = _sum_conductance(path, formatted[0].shape[0])
            result = spec.format(totals)
            if not return_convergence_delta:
                return result
            deltas = per_layer_deltas(
                self, spec, totals, formatted_baselines, formatted, target, args
            )
        return result, spec.format_layers(deltas)


def _sum_conductance(path, batch: int) -> list[Tensor]:
    """``Σ_k g_k ⊙ (a_{k+1} − a_k)`` over consecutive steps; each chunk is paired with the last
    step of the chunk before it."""
    totals: list[Tensor] | None = None
    previous: list[tuple[Tensor, Tensor]] | None = None
    for steps, grads, values in path:
        current = []
        for index, (grad, value) in enumerate(zip(grads, values)):
            grad = grad.reshape((len(steps), batch) + grad.shape[1:])
            value = value.reshape((len(steps), batch) + value.shape[1:])
            if previous is not None:
                grad = torch.cat([previous[index][0], grad])
                value = torch.cat([previous[index][1], value])
            current.append((grad, value))
        sums = [(g[:-1] * (a[1:] - a[:-1])).sum(0) for g, a in current]
        totals = sums if totals is None else [t + s for t, s in zip(totals, sums)]
        previous = [(g[-1:], a[-1:]) for g, a in current]
    return totals
