"""Guided Grad-CAM (Selvaraju et al., 2017): guided backprop masked by upsampled Grad-CAM."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from .._base import Attribution
from .._inputs import TensorOrTuple, format_inputs, format_output, is_tuple
from .._targets import TargetType
from ..errors import InputValueError
from ..layer._layer_base import LayerAttribution
from ..layer._layer_pass import ModuleOrList
from ..layer.grad_cam import LayerGradCam
from ..registry import register
from .guided_backprop import GuidedBackprop


@register("gradient", layers="one")
class GuidedGradCam(Attribution):
    r"""Guided Grad-CAM: ``GB_i(x) · up(relu(GradCAM_l(x)))_i``, the guided-backprop gradient
    of each input times the layer's Grad-CAM (with ReLU) upsampled to the input's spatial
    size (every dimension after the channel one).

    An input whose spatial size Grad-CAM cannot be upsampled to (e.g. a (batch, features)
    input beside an image) gets an empty tensor and a warning, as in Captum. With a list of
    layers the result is a list, one attribution per layer, from one Grad-CAM pass and one
    guided-backprop pass.

    Args:
        model: the model.
        layer: a module (usually the last convolution) or a list of modules.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
        ...                             torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
        >>> ggc = GuidedGradCam(model, model[0])
        >>> ggc.attribute(torch.randn(2, 3, 8, 8), target=1).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(
        self, model: Any, layer: ModuleOrList, device_ids: list[int] | None = None
    ) -> None:
        super().__init__(model)
        self.grad_cam = LayerGradCam(model, layer, device_ids)
        self.guided_backprop = GuidedBackprop(model)

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        interpolate_mode: str = "nearest",
        attribute_to_layer_input: bool = False,
    ) -> TensorOrTuple | list[TensorOrTuple]:
        """Attributions the shape of ``inputs`` (a list of them for a list of layers).

        Args:
            inputs: tensor or tuple of tensors, batch first, spatial dimensions after dim 1.
            interpolate_mode: ``F.interpolate`` mode for upsampling Grad-CAM (default
                "nearest").
            attribute_to_layer_input: Grad-CAM of the layer's input instead of its output.
        """
        was_tuple = is_tuple(inputs)
        formatted = format_inputs(inputs)
        cams = self.grad_cam.attribute(
            formatted,
            target=target,
            additional_forward_args=additional_forward_args,
            attribute_to_layer_input=attribute_to_layer_input,
            relu_attributions=True,
        )
        for cam in cams if isinstance(cams, list) else [cams]:
            if isinstance(cam, tuple):
                raise InputValueError(
                    f"layer gives {len(cam)} tensors (a tuple output, or several inputs with "
                    "attribute_to_layer_input); GuidedGradCam needs a layer with one tensor"
                )
        guided = self.guided_backprop.attribute(formatted, target, additional_forward_args)
        per_layer = [
            format_output(was_tuple, _mask(guided, cam, formatted, interpolate_mode))
            for cam in (cams if isinstance(cams, list) else [cams])
        ]
        return per_layer if isinstance(cams, list) else per_layer[0]


def _mask(
    guided: tuple[Tensor, ...], cam: Tensor, inputs: tuple[Tensor, ...], mode: str
) -> tuple[Tensor, ...]:
    """Each input's guided gradient times Grad-CAM upsampled to that input's spatial shape."""
    masked = []
    for gradient, x in zip(guided, inputs):
        try:
            upsampled = LayerAttribution.interpolate(cam, tuple(x.shape[2:]), mode)
            masked.append(gradient * upsampled)
        except (RuntimeError, ValueError, NotImplementedError) as error:
            warnings.warn(
                f"Grad-CAM of shape {tuple(cam.shape)} cannot be upsampled to the input of shape "
                f"{tuple(x.shape)} ({error}); that input's attribution is an empty tensor",
                stacklevel=4,
            )
            masked.append(torch.empty(0))
    return tuple(masked)
