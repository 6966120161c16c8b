"""Layer feature permutation: the output change when groups of a layer's units are shuffled
across the batch."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from .._inputs import TensorOrTuple
from .._targets import TargetType
from ..perturbation._perturb import DEFAULT_PERTURBATIONS_PER_EVAL, PerturbationsPerEval
from ..perturbation.feature_permutation import FeaturePermutation
from ..registry import register
from ._layer_base import LayerAttribution
from .layer_feature_ablation import perturb_layer


@register("layer", layers="one")
class LayerFeaturePermutation(LayerAttribution):
    r"""``attr_u = F(x) − F(x with the layer's group g(u) permuted over the batch)`` per layer
    unit: :class:`FeaturePermutation` on the layer's value, computed once; each permuted copy
    replaces it in a forward-only pass. Needs a batch of at least two examples.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> LayerFeaturePermutation(model, model[0]).attribute(torch.randn(5, 4), target=0).shape
        torch.Size([5, 3])
    """

    needs_gradients: ClassVar[bool] = False

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        layer_mask: Tensor | tuple[Tensor, ...] | None = None,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
    ) -> Tensor | list[Tensor]:
        """Attributions the shape of the layer's output (a list for a list of layers).

        Args:
            inputs: tensor or tuple of tensors, batch first (batch of at least 2).
            layer_mask: FeaturePermutation's ``feature_mask`` for the layer's value (default:
                every unit its own group).
            perturbations_per_eval: groups per model call, an int or ``"auto"`` (default;
                Captum's default is 1 and a seeded run draws Captum's permutations with the
                same value).
        """
        return perturb_layer(
            self,
            FeaturePermutation,
            inputs,
            target,
            additional_forward_args,
            False,
            feature_mask=layer_mask,
            perturbations_per_eval=perturbations_per_eval,
        )
