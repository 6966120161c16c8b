"""Layer gradient × activation: ``a_l(x) ⊙ ∂F/∂a_l(x)``."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .._inputs import TensorOrTuple, format_call
from .._targets import TargetType
from ..registry import register
from ._layer_base import LayerAttributionByInputs
from ._layer_pass import layer_gradients


@register("layer", layers="list")
class LayerGradientXActivation(LayerAttributionByInputs):
    """Gradient of the target with respect to each layer, times the layer's value; every layer
    of a list from one forward/backward.

    Args:
        multiply_by_inputs: multiply the gradient by the activation (default True), or return
            the layer gradient alone.
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        attribute_to_layer_input: bool = False,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> Tensor | list[Tensor]:
        """``a_l ⊙ ∂F_target/∂a_l`` per layer, the layer's shape; a list for a list of layers."""
        _, formatted, _, args = format_call(inputs, None, target, additional_forward_args)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            grads, values = layer_gradients(
                self.forward_func, spec, formatted, target, args, grad_kwargs
            )
        if self.multiplies_by_inputs:
            grads = [grad * value for grad, value in zip(grads, values)]
        return spec.format(grads)
