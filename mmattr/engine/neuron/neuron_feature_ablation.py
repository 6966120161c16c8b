"""Neuron feature ablation: the change of one neuron when a group of features is ablated."""

from __future__ import annotations

from typing import Any, ClassVar

from .._inputs import BaselinesType, TensorOrTuple
from ..perturbation._perturb import DEFAULT_PERTURBATIONS_PER_EVAL, PerturbationsPerEval
from ..perturbation.feature_ablation import FeatureAblation
from ..registry import register
from ._neuron import NeuronAttribution, NeuronSelector


@register("neuron", layers="one")
class NeuronFeatureAblation(NeuronAttribution):
    r"""Neuron feature ablation: ``attr_e = n(x) − n(x with group g(e) set to the baseline)``
    for the neuron ``n(x) = select(a_l(x))`` of ``layer``. Forward passes only.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU())
        >>> mask = torch.tensor([[0, 0, 1, 1]])
        >>> NeuronFeatureAblation(model, model[1]).attribute(
        ...     torch.randn(2, 4), 3, feature_mask=mask).shape
        torch.Size([2, 4])
    """

    needs_gradients: ClassVar[bool] = False
    _multiply_by_inputs: ClassVar[bool] = True

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        baselines: BaselinesType = None,
        additional_forward_args: Any = None,
        feature_mask: TensorOrTuple | None = None,
        attribute_to_neuron_input: bool = False,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
    ) -> TensorOrTuple:
        """Ablation attributions of the selected neuron, the shape of ``inputs``.

        Args:
            baselines: the ablated value (default 0), as for FeatureAblation.
        """
        neuron = self._neuron_forward(inputs, neuron_selector, attribute_to_neuron_input)
        return FeatureAblation(neuron).attribute(
            inputs,
            baselines=baselines,
            additional_forward_args=additional_forward_args,
            feature_mask=feature_mask,
            perturbations_per_eval=perturbations_per_eval,
        )
