"""Layer feature ablation: the output change when groups of a layer's units take a baseline."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from .._inputs import BaselinesType, TensorOrTuple, format_call
from .._targets import TargetType
from ..perturbation._perturb import DEFAULT_PERTURBATIONS_PER_EVAL, PerturbationsPerEval
from ..perturbation.feature_ablation import FeatureAblation
from ..registry import register
from ._layer_base import LayerAttribution
from ._layer_pass import LayerReplacedForward, layer_values


@register("layer", layers="list")
class LayerFeatureAblation(LayerAttribution):
    r"""``attr_u = F(x) − F(x with the layer's group g(u) set to its baseline)`` per layer unit.

    The layer's value is computed once for ``inputs``; every ablation then replaces it in a
    forward-only pass (batched by ``perturbations_per_eval``, under ``inference_mode``).
    A list of layers is ablated jointly (groups of ``layer_mask`` may span the layers).
    """

    needs_gradients: ClassVar[bool] = False
    _multiply_by_inputs: ClassVar[bool] = True

    def attribute(
        self,
        inputs: TensorOrTuple,
        layer_baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        layer_mask: Tensor | tuple[Tensor, ...] | None = None,
        attribute_to_layer_input: bool = False,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
    ) -> Tensor | list[Tensor]:
        """Attributions the shape of the layer's value (a list for a list of layers).

        ``layer_baselines`` and ``layer_mask`` are FeatureAblation's ``baselines`` and
        ``feature_mask`` for the layer's value; ``perturbations_per_eval`` defaults to
        ``"auto"`` (Captum: 1; the results do not depend on it).

        Args:
            layer_baselines: values that replace ablated layer activations (scalar or
                tensor broadcastable to the layer output; ``None``: zeros; default
                ``None``).
            layer_mask: integer mask broadcastable to the layer output grouping
                activations into features ablated together (``None``: each neuron alone;
                default ``None``).
        """
        return perturb_layer(
            self,
            FeatureAblation,
            inputs,
            target,
            additional_forward_args,
            attribute_to_layer_input,
            baselines=layer_baselines,
            feature_mask=layer_mask,
            perturbations_per_eval=perturbations_per_eval,
        )


def perturb_layer(
    method: LayerAttribution,
    attributor: type[FeatureAblation],
    inputs: TensorOrTuple,
    target: TargetType,
    additional_forward_args: Any,
    attribute_to_layer_input: bool,
    **attribute_kwargs: Any,
) -> Tensor | list[Tensor]:
    """A perturbation method (FeatureAblation or a subclass) run on the layer's value: the
    value is computed once, then each perturbed copy replaces it in a forward-only pass."""
    _, formatted, _, args = format_call(inputs, None, target, additional_forward_args)
    spec = method._layers(attribute_to_layer_input)
    with method._model_guard():
        values = tuple(layer_values(method.forward_func, spec, formatted, args))
        perturbation = attributor(LayerReplacedForward(method.forward_func, spec))
        attributions = perturbation.attribute(
            values,
            target=target,
            additional_forward_args=formatted + (args or ()),
            **attribute_kwargs,
        )
    return spec.format(attributions)
