"""The base of layer attribution: the layer (or layers) a method reads, and Captum's helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor

from .._base import Attribution, _sum_rows
from .._docs import document
from .._targets import TargetType
from ._layer_pass import LayerSpec, ModuleOrList, layer_spec

LayerResult = Tensor | list[Tensor]  # one layer's attributions, or a list for a list of layers


@document
class LayerAttribution(Attribution):
    """An attribution to a layer's output (or input) instead of the model's inputs.

    Args:
        layer: a module of the model, or a list of modules.
    """

    attributes_inputs: ClassVar[bool] = False

    def __init__(
        self,
        forward_func: Callable,
        layer: ModuleOrList,
        device_ids: list[int] | None = None,
        layer_output_index: int | None = None,
    ) -> None:
        super().__init__(forward_func)
        self.layer = layer
        self.device_ids = device_ids
        self._spec = layer_spec(layer, forward_func, layer_output_index)

    def _layers(self, attribute_to_layer_input: bool) -> LayerSpec:
        return self._spec.with_input(attribute_to_layer_input)

    @staticmethod
    def interpolate(
        layer_attribution: Tensor,
        interpolate_dims: int | tuple[int, ...],
        interpolate_mode: str = "nearest",
    ) -> Tensor:
        """Upsample a layer attribution to ``interpolate_dims`` (Captum's helper)."""
        return F.interpolate(layer_attribution, interpolate_dims, mode=interpolate_mode)


class LayerAttributionByInputs(LayerAttribution):
    """A layer method with Captum's ``multiply_by_inputs`` switch (global vs local)."""

    def __init__(
        self,
        forward_func: Callable,
        layer: ModuleOrList,
        device_ids: list[int] | None = None,
        multiply_by_inputs: bool = True,
        layer_output_index: int | None = None,
    ) -> None:
        super().__init__(forward_func, layer, device_ids, layer_output_index)
        self._multiply_by_inputs = multiply_by_inputs


def per_layer_deltas(
    method: Attribution,
    spec: LayerSpec,
    attributions: list[Tensor],
    baselines: tuple,
    inputs: tuple[Tensor, ...],
    target: TargetType,
    args: tuple | None,
) -> list[Tensor]:
    """``Σ attr_l − (F(x) − F(b))`` for each layer ``l`` (its tensors summed; ``attributions``
    flat as ``spec`` captured them), the model run once for all layers:
    ``δ_l = δ_0 + Σ attr_l − Σ attr_0``."""
    sums = [sum(_sum_rows(a) for a in group) for group in spec.group(attributions)]
    first = method.compute_convergence_delta(
        spec.group(attributions)[0], baselines, inputs, target, args
    )
    return [first + total - sums[0] for total in sums]
