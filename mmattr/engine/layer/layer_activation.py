"""Layer activation: the layer's value itself, ``a_l(x)``."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from .._inputs import TensorOrTuple, format_additional_args, format_inputs
from ..registry import register
from ._layer_base import LayerAttribution
from ._layer_pass import layer_values


@register("layer", layers="list")
class LayerActivation(LayerAttribution):
    """The output (or input) of one or several layers, from one forward pass.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> LayerActivation(model, [model[0], model[1]]).attribute(torch.randn(2, 4))[1].shape
        torch.Size([2, 3])
    """

    needs_gradients: ClassVar[bool] = False
    _multiply_by_inputs: ClassVar[bool] = True

    def attribute(
        self,
        inputs: TensorOrTuple,
        additional_forward_args: Any = None,
        attribute_to_layer_input: bool = False,
    ) -> Tensor | list[Tensor]:
        """Each layer's activation for ``inputs``: a tensor, or a list when ``layer`` is a list."""
        formatted = format_inputs(inputs)
        args = format_additional_args(additional_forward_args)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            return spec.format(layer_values(self.forward_func, spec, formatted, args))
