"""Layer-wise relevance propagation read at a layer (Captum's LayerLRP)."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from .._inputs import TensorOrTuple, format_call
from .._lrp_propagation import (
    LayerRelevance,
    propagate_relevance,
    relevance_delta,
    scale_by_output,
)
from .._targets import TargetType
from ..gradient.lrp_rules import check_lrp_model, check_rules
from ..registry import register
from ._layer_base import LayerAttribution
from ._layer_pass import ModuleOrList

LayerResult = Tensor | tuple[Tensor, ...]


@register("layer", layers="list", convergence_delta=True)
class LayerLRP(LayerAttribution):
    r"""LRP's relevance at a layer's output ``R_out`` (or input ``R_in``), from one forward
    and backward: ``R_in = a ⊙ Jᵀ_z (R_out / (z + ε·sign z))`` from the output down; with
    ε-rules ``Σ R ≈ F(x)`` at every layer.

    Rules as in :class:`LRP` (``module.rule``, else the type's default). A list of layers is
    read from the same pass.

    Args:
        model: an ``nn.Module``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> LayerLRP(model, model[0]).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 3])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def __init__(
        self, model: nn.Module, layer: ModuleOrList, device_ids: list[int] | None = None
    ) -> None:
        super().__init__(model, layer, device_ids)
        self.model = model
        self._multiply_by_inputs = True
        check_lrp_model(model, "LayerLRP")

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        attribute_to_layer_input: bool = False,
        verbose: bool = False,
    ) -> Any:
        """Relevance at each layer, the shape of its output (or input: a tuple for a layer
        with several inputs); a list for a list of layers.

        Args:
            return_convergence_delta: also return ``F(x) − Σ R`` per example, one tensor of
                shape (batch,) per layer (default False).
            verbose: print the rule applied to each layer (default False).
        """
        _, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="LayerLRP"
        )
        check_rules(self.model)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            output, _, records = propagate_relevance(
                self.model, formatted, target, args, spec.layers, verbose
            )
        results = [
            _layer_relevance(records[layer], index, attribute_to_layer_input, output)
            for index, layer in enumerate(spec.layers)
        ]
        relevances = spec.format(results)
        if not return_convergence_delta:
            return relevances
        deltas = [relevance_delta(r if isinstance(r, tuple) else (r,), output) for r in results]
        return relevances, spec.format(deltas)


def _layer_relevance(
    record: LayerRelevance, index: int, to_input: bool, output: Tensor
) -> LayerResult:
    if to_input and record.inputs:
        values = [record.inputs[i] for i in sorted(record.inputs)]
        scaled = tuple(scale_by_output(v, output) for v in values)
        return scaled if len(scaled) > 1 else scaled[0]
    if not to_input and record.output is not None:
        return scale_by_output(record.output, output)
    raise ValueError(
        f"layer[{index}] received no relevance: it did not run in the forward pass, or the "
        f"target output does not depend on its {'input' if to_input else 'output'}"
    )
