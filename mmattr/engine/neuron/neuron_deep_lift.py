"""Neuron DeepLift and DeepLiftShap: DeepLift multipliers of one neuron of a layer."""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor, nn

from .._inputs import BaselinesType, TensorOrTuple
from ..gradient.deep_lift import DeepLift, DeepLiftShap
from ..registry import register
from ._neuron import NeuronAttributionByInputs, NeuronSelector

CustomAttributionFunc = Callable[..., tuple[Tensor, ...]]


@register("neuron", layers="one")
class NeuronDeepLift(NeuronAttributionByInputs):
    r"""Neuron DeepLift (rescale rule): ``(x_i − b_i) · m_i`` with the multipliers ``m`` of the
    neuron ``n(x) = select(a_l(x))``, so that ``Σ_i attr_i = n(x) − n(b)``.

    Args:
        model: the model.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> NeuronDeepLift(model, model[1]).attribute(torch.randn(2, 4), 3).shape
        torch.Size([2, 4])
    """

    def __init__(self, model: nn.Module, layer: nn.Module, multiply_by_inputs: bool = True):
        super().__init__(model, layer, None, multiply_by_inputs)
        self.model = model

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        baselines: BaselinesType = None,
        additional_forward_args: Any = None,
        attribute_to_neuron_input: bool = False,
        custom_attribution_func: CustomAttributionFunc | None = None,
    ) -> TensorOrTuple:
        """DeepLift attributions of the selected neuron, the shape of ``inputs``."""
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return DeepLift(neuron, self.multiplies_by_inputs).attribute(
            inputs,
            baselines,
            additional_forward_args=additional_forward_args,
            custom_attribution_func=custom_attribution_func,
        )


@register("neuron", layers="one")
class NeuronDeepLiftShap(NeuronDeepLift):
    r"""Neuron DeepLiftShap: neuron DeepLift averaged over a sample of baselines,
    ``φ_i = E_b[(x_i − b_i) · m_i(x, b)]``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> background = torch.randn(8, 4)
        >>> NeuronDeepLiftShap(model, model[1]).attribute(torch.randn(2, 4), 3, background).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        baselines: TensorOrTuple | Callable[..., TensorOrTuple],
        additional_forward_args: Any = None,
        attribute_to_neuron_input: bool = False,
        custom_attribution_func: CustomAttributionFunc | None = None,
    ) -> TensorOrTuple:
        """Attributions averaged over the ``baselines`` examples (at least two), the shape of
        ``inputs``; ``baselines`` may be a callable returning them.

        Args:
            baselines: distribution of baselines, each ``(n_baselines, ...)``;
                attributions are averaged over them.
        """
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return DeepLiftShap(neuron, self.multiplies_by_inputs).attribute(
            inputs,
            baselines,
            additional_forward_args=additional_forward_args,
            custom_attribution_func=custom_attribution_func,
        )
