"""Neuron gradient: the gradient of one neuron of a layer with respect to the inputs."""

from __future__ import annotations

from typing import Any

from .._inputs import TensorOrTuple
from ..gradient.saliency import Saliency
from ..registry import register
from ._neuron import NeuronAttribution, NeuronSelector


@register("neuron", layers="one")
class NeuronGradient(NeuronAttribution):
    r"""Neuron gradient: ``∂n(x)/∂x_i`` for the neuron ``n(x) = select(a_l(x))`` of ``layer``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> NeuronGradient(model, model[0]).attribute(torch.randn(2, 4), 3).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        additional_forward_args: Any = None,
        attribute_to_neuron_input: bool = False,
    ) -> TensorOrTuple:
        """Gradient of the selected neuron, the shape of ``inputs``.

        Args:
            inputs: tensor or tuple of tensors, batch first, floating point.
        """
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return Saliency(neuron).attribute(
            inputs, abs=False, additional_forward_args=additional_forward_args
        )
