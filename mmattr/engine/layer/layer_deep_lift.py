"""DeepLift (rescale rule) on a layer, and LayerDeepLiftShap over a baseline distribution.

``LDL_l(x) = (a_l(x) − a_l(b)) ⊙ m_l`` where ``m_l`` is the DeepLift multiplier of the layer:
the chain rule from the output down to ``a_l`` with each nonlinearity's derivative replaced by
``Δout / Δin``; ``Σ LDL_l = F(x) − F(b)`` (summation-to-delta).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from .._backward_rules import deeplift_rules
from .._inputs import (
    BaselinesType,
    TensorOrTuple,
    expand_additional_args,
    format_call,
    tensorize_baselines,
)
from .._targets import TargetType, expand_target
from ..gradient.deep_lift import baseline_pairs, call_custom_attribution_func, mean_over_baselines
from ..registry import register
from ._layer_base import LayerAttributionByInputs, LayerResult, per_layer_deltas
from ._layer_pass import ModuleOrList, layer_gradients


@register("layer", layers="list", convergence_delta=True)
class LayerDeepLift(LayerAttributionByInputs):
    """DeepLift attributions of a layer's units (or of every layer of a list, one pass).

    The inputs and baselines run as one batch ``[x; b]`` with every nonlinearity call (module,
    reused module, in-place or functional) backpropagating its rescale multiplier; the layer's
    multiplier is read from that backward. Rules and supported nonlinearities are DeepLift's.
    Where Captum's module hooks miss or misplace a rule (functional nonlinearities such as
    ``torch.tanh``, a ReLU module followed by max-pooling, the input of a nonlinearity module
    with ``attribute_to_layer_input``) the numbers differ from Captum's and keep
    summation-to-delta; elsewhere they equal Captum's.

    Args:
        model: the model.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
        ...                             torch.nn.Linear(3, 2))
        >>> LayerDeepLift(model, model[1]).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 3])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def __init__(self, model: Callable, layer: ModuleOrList, multiply_by_inputs: bool = True):
        super().__init__(model, layer, multiply_by_inputs=multiply_by_inputs)
        self.model = model
        self.eps = 1e-10

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        attribute_to_layer_input: bool = False,
        custom_attribution_func: Callable[..., tuple[Tensor, ...]] | None = None,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> LayerResult | tuple[LayerResult, LayerResult]:
        """DeepLift attributions per layer, the layer's shape (a list for a list of layers).

        Args:
            custom_attribution_func: ``f(multipliers[, layer_inputs[, layer_baselines]])``
                -> tuple of tensors, replacing ``(a_l(x) − a_l(b)) · m_l``.
        """
        _, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, gradient_of=type(self).__name__
        )
        full_baselines = tensorize_baselines(formatted_baselines, formatted)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            multipliers, at_inputs, at_baselines = self._layer_multipliers(
                spec, formatted, full_baselines, target, args, grad_kwargs
            )
            attributions = [
                self._combine(m, x, b, custom_attribution_func)
                for m, x, b in zip(multipliers, at_inputs, at_baselines)
            ]
            if not return_convergence_delta:
                return spec.format(attributions)
            deltas = per_layer_deltas(
                self, spec, attributions, full_baselines, formatted, target, args
            )
        return spec.format(attributions), spec.format_layers(deltas)

    def _layer_multipliers(self, spec, inputs, baselines, target, args, grad_kwargs):
        """``(m_l, a_l(x), a_l(b))`` per layer from one forward/backward on ``[x; b]``."""
        stacked = tuple(torch.cat([x, b]) for x, b in zip(inputs, baselines))

        def forward_with_rules(*call_args: Any) -> Any:
            # only the forward runs under the rules: the backward of each rule needs the
            # plain derivative of its nonlinearity
            with deeplift_rules(self.eps):
                return self.forward_func(*call_args)

        grads, values = layer_gradients(
            forward_with_rules,
            spec,
            stacked,
            expand_target(target, 2),
            expand_additional_args(args, 2),
            grad_kwargs,
        )
        halves = [value.chunk(2) for value in values]
        return (
            [grad.chunk(2)[0] for grad in grads],
            [half[0] for half in halves],
            [half[1] for half in halves],
        )

    def _combine(self, multiplier, at_input, at_baseline, custom_attribution_func) -> Tensor:
        if custom_attribution_func is not None:
            result = call_custom_attribution_func(
                custom_attribution_func, (multiplier,), (at_input,), (at_baseline,)
            )
            return result[0]
        if not self.multiplies_by_inputs:
            return multiplier
        return (at_input - at_baseline) * multiplier


@register("layer", layers="list", convergence_delta=True)
class LayerDeepLiftShap(LayerDeepLift):
    r"""LayerDeepLift averaged over a distribution of baselines,
    ``φ_l = E_b[(a_l(x) − a_l(b)) ⊙ m_l(x, b)]``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
        ...                             torch.nn.Linear(3, 2))
        >>> background = torch.randn(8, 4)
        >>> LayerDeepLiftShap(model, model[0]).attribute(torch.randn(2, 4), background, 0).shape
        torch.Size([2, 3])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: TensorOrTuple | Callable[..., TensorOrTuple],
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        attribute_to_layer_input: bool = False,
        custom_attribution_func: Callable[..., tuple[Tensor, ...]] | None = None,
    ) -> LayerResult | tuple[LayerResult, LayerResult]:
        """Attributions averaged over the ``baselines`` examples (at least two); the delta has
        one entry per (input, baseline) pair, shape (batch × n_baselines,).

        Args:
            baselines: distribution of baselines, each ``(n_baselines, ...)``;
                attributions are averaged over them.
            return_convergence_delta: also return the completeness error ``Σ
                attributions − (F(x) − F(b))`` per example (default ``False``).
            custom_attribution_func: optional ``f(multipliers, inputs, baselines)`` that
                replaces ``multipliers * (inputs - baselines)`` (default ``None``).
        """
        pairs, n_baselines = baseline_pairs(inputs, baselines, target, additional_forward_args)
        expanded = LayerDeepLift.attribute(
            self,
            *pairs,
            return_convergence_delta,
            attribute_to_layer_input,
            custom_attribution_func,
        )
        attributions, delta = expanded if return_convergence_delta else (expanded, None)
        spec = self._layers(attribute_to_layer_input)
        averaged = [
            tuple(mean_over_baselines(t, n_baselines) for t in a)
            if isinstance(a, tuple)
            else mean_over_baselines(a, n_baselines)
            for a in (attributions if spec.was_list else [attributions])
        ]
        result = spec.format_layers(averaged)
        return (result, delta) if return_convergence_delta else result
