"""Neuron integrated gradients: integrated gradients of one neuron of a layer."""

from __future__ import annotations

from typing import Any

from .._batching import BatchSize
from .._inputs import BaselinesType, TensorOrTuple
from ..gradient.integrated_gradients import IntegratedGradients
from ..registry import register
from ._neuron import NeuronAttributionByInputs, NeuronSelector


@register("neuron", layers="one")
class NeuronIntegratedGradients(NeuronAttributionByInputs):
    r"""Neuron integrated gradients: ``(x_i − b_i) ∫₀¹ ∂n(b + α(x − b))/∂x_i dα`` for the
    neuron ``n(x) = select(a_l(x))`` of ``layer``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> nig = NeuronIntegratedGradients(model, model[1])
        >>> nig.attribute(torch.randn(2, 4), 3, n_steps=20).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        baselines: BaselinesType = None,
        additional_forward_args: Any = None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        internal_batch_size: BatchSize = None,
        attribute_to_neuron_input: bool = False,
    ) -> TensorOrTuple:
        """Integrated gradients of the selected neuron, the shape of ``inputs``."""
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return IntegratedGradients(neuron, self.multiplies_by_inputs).attribute(
            inputs,
            baselines,
            additional_forward_args=additional_forward_args,
            n_steps=n_steps,
            method=method,
            internal_batch_size=internal_batch_size,
        )
