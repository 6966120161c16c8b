"""Neuron GradientShap: expected gradients of one neuron of a layer."""

from __future__ import annotations

from typing import Any, Callable

from .._inputs import TensorOrTuple
from ..gradient.gradient_shap import GradientShap
from ..registry import register
from ._neuron import NeuronAttributionByInputs, NeuronSelector


@register("neuron", layers="one")
class NeuronGradientShap(NeuronAttributionByInputs):
    r"""Neuron GradientShap: ``E_{b, ε, α}[(x_i − b_i) · ∂n(b + α(x + ε − b))/∂x_i]`` for the
    neuron ``n(x) = select(a_l(x))``; random draws follow Captum's order.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> background = torch.randn(8, 4)
        >>> NeuronGradientShap(model, model[1]).attribute(torch.randn(2, 4), 3, background).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        baselines: TensorOrTuple | Callable[..., TensorOrTuple],
        n_samples: int = 5,
        stdevs: float = 0.0,
        additional_forward_args: Any = None,
        attribute_to_neuron_input: bool = False,
    ) -> TensorOrTuple:
        """GradientShap of the selected neuron, the shape of ``inputs``.

        Args:
            baselines: a sample of reference inputs (or a callable returning them).
            n_samples: draws per example (default 5).
            stdevs: standard deviation of the Gaussian noise on the inputs (default 0.0).
        """
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return GradientShap(neuron, self.multiplies_by_inputs).attribute(
            inputs,
            baselines,
            n_samples=n_samples,
            stdevs=stdevs,
            additional_forward_args=additional_forward_args,
        )
