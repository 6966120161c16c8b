"""Neuron guided backpropagation and neuron deconvolution."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from .._inputs import TensorOrTuple
from ..gradient.guided_backprop import Deconvolution, GuidedBackprop
from ..registry import register
from ._neuron import NeuronAttribution, NeuronSelector


class _NeuronModifiedRelu(NeuronAttribution):
    """An input method with a modified ReLU backward, applied to the selected neuron."""

    method: ClassVar[type] = GuidedBackprop

    def __init__(
        self, model: nn.Module, layer: nn.Module, device_ids: list[int] | None = None
    ) -> None:
        super().__init__(model, layer, device_ids)
        self.model = model

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        additional_forward_args: Any = None,
        attribute_to_neuron_input: bool = False,
    ) -> TensorOrTuple:
        """The modified gradient of the selected neuron, the shape of ``inputs``.

        Args:
            neuron_selector: see :meth:`NeuronGradient.attribute`.
            attribute_to_neuron_input: select from the layer's input (default False).
            inputs: tensor or tuple of tensors, each ``(batch, ...)``; the first
                dimension is the batch.
            additional_forward_args: extra arguments passed to ``forward_func`` after
                the inputs, unchanged (tensors of batch size are expanded with the
                inputs; default ``None``).
        """
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return self.method(neuron).attribute(
            inputs, additional_forward_args=additional_forward_args
        )


@register("neuron", layers="one")
class NeuronGuidedBackprop(_NeuronModifiedRelu):
    r"""Neuron guided backprop: the gradient of ``n(x) = select(a_l(x))`` where each ReLU
    passes back ``relu(g · 1[x > 0])``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> NeuronGuidedBackprop(model, model[1]).attribute(torch.randn(2, 4), 3).shape
        torch.Size([2, 4])
    """


@register("neuron", layers="one")
class NeuronDeconvolution(_NeuronModifiedRelu):
    r"""Neuron deconvolution: the gradient of ``n(x) = select(a_l(x))`` where each ReLU passes
    back ``relu(g)``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> NeuronDeconvolution(model, model[1]).attribute(torch.randn(2, 4), 3).shape
        torch.Size([2, 4])
    """

    method: ClassVar[type] = Deconvolution
