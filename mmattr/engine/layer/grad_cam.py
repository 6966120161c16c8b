"""Grad-CAM (Selvaraju et al., 2017) on a layer, every layer of a list from one pass.

``GradCAM_l(x) = Σ_c w_c · a_l,c(x)`` with ``w_c = mean_{spatial} ∂F/∂a_l,c(x)``: each
channel's activation weighted by its average gradient, summed over channels (dimension 1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._inputs import TensorOrTuple, format_call
from .._targets import TargetType
from ..registry import register
from ._layer_base import LayerAttribution
from ._layer_pass import layer_gradients


@register("layer", layers="list")
class LayerGradCam(LayerAttribution):
    """Grad-CAM of a layer (usually the last convolution), or of every layer of a list.

    Gradients are averaged over every dimension after the channel one (dimension 1), multiplied
    by the activations and summed over channels, so the result has the layer's shape with 1
    channel. A layer output of two dimensions (batch, features) is not averaged: the result
    is ``Σ_j a_j ∂F/∂a_j``. Like Captum, no ReLU is applied unless ``relu_attributions=True``
    (the paper's Grad-CAM). Upsample with ``LayerGradCam.interpolate(attr, image.shape[2:])``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
        ...                             torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
        >>> cam = LayerGradCam(model, model[0]).attribute(torch.randn(2, 3, 8, 8), target=1)
        >>> cam.shape
        torch.Size([2, 1, 6, 6])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        attribute_to_layer_input: bool = False,
        relu_attributions: bool = False,
        attr_dim_summation: bool = True,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> Tensor | list[Tensor]:
        """Grad-CAM per layer: the layer's shape with dimension 1 of size 1 (or the channels
        kept with ``attr_dim_summation=False``); a list for a list of layers.

        Args:
            relu_attributions: keep only positive attributions (default False).
            attr_dim_summation: sum over dimension 1 (default True).
        """
        _, formatted, _, args = format_call(inputs, None, target, additional_forward_args)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            grads, values = layer_gradients(
                self.forward_func, spec, formatted, target, args, grad_kwargs
            )
        cams = [
            grad_cam(grad, value, relu_attributions, attr_dim_summation)
            for grad, value in zip(grads, values)
        ]
        return spec.format(cams)


def grad_cam(grad: Tensor, value: Tensor, relu: bool = False, sum_channels: bool = True) -> Tensor:
    """``Σ_c mean_{dims ≥ 2}(∂F/∂a)_c · a_c`` for one layer (``relu``: clipped at zero)."""
    if grad.dim() > 2:
        grad = grad.mean(dim=tuple(range(2, grad.dim())), keepdim=True)
    scaled = grad * value
    if sum_channels:
        scaled = scaled.sum(dim=1, keepdim=True)
    return torch.relu(scaled) if relu else scaled
