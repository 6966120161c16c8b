"""What the coalition methods (Shapley values, KernelShap, Lime) share around the model calls:
validated inputs, baselines, masks and target; ``F(x)`` and the chunk size; spreading one value
per group back onto the input elements in Captum's output shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import Tensor

from .._inputs import Baseline, BaselinesType, format_call, format_output, slice_additional_args
from .._targets import TargetType, slice_target
from ._feature_masks import count_groups, format_feature_mask, spread_groups
from ._perturb import (
    PerturbationsPerEval,
    as_floating,
    check_perturbations_per_eval,
    empty_attributions,
    initial_forward,
    is_aggregate,
    resolve_perturbations_per_eval,
)


@dataclass
class CoalitionSetup:
    """Validated arguments of one ``attribute`` call and the unperturbed output ``F(x)``."""

    forward_func: Callable
    inputs: tuple[Tensor, ...]
    baselines: tuple[Baseline, ...]
    masks: tuple[Tensor, ...]
    n_groups: int
    target: TargetType
    args: tuple | None
    was_tuple: bool
    output: Tensor  # F(x), target selected: (batch,), or fewer values for an aggregate model
    bytes_per_row: int | None

    @property
    def batch(self) -> int:
        return self.inputs[0].shape[0]

    @property
    def aggregate(self) -> bool:
        """The model returns one value for the whole batch (Captum's aggregate mode)."""
        return is_aggregate(self.output, self.batch)

    @property
    def n_outputs(self) -> int:
        return max(self.output.numel(), 1)

    def output_row(self) -> Tensor:
        """``F(x)`` as one coalition row, shape (1, n_outputs)."""
        return self.output.reshape(1, -1)

    def per_eval(self, value: PerturbationsPerEval, n_coalitions: int) -> int:
        return resolve_perturbations_per_eval(
            value, self.inputs, max(n_coalitions, 1), self.bytes_per_row, self.aggregate
        )

    def example(self, index: int) -> CoalitionSetup:
        """The setup restricted to example ``index`` (Lime fits one model per example)."""

        def rows(tensor: Any) -> Any:
            is_batched = isinstance(tensor, Tensor) and tensor.dim() > 0
            return tensor[index : index + 1] if is_batched and tensor.shape[0] > 1 else tensor

        return CoalitionSetup(
            self.forward_func,
            tuple(t[index : index + 1] for t in self.inputs),
            tuple(rows(b) for b in self.baselines),
            tuple(rows(m) for m in self.masks),
            self.n_groups,
            slice_target(self.target, index, index + 1),
            slice_additional_args(self.args, index, index + 1),
            self.was_tuple,
            self.output[index : index + 1],
            self.bytes_per_row,
        )

    def empty(self) -> Tensor | tuple[Tensor, ...]:
        """Captum's result for a batch of no examples (empty tensors of the inputs' shapes)."""
        return format_output(self.was_tuple, empty_attributions(self.inputs))

    def to_inputs(self, values: Tensor) -> Tensor | tuple[Tensor, ...]:
        """One value per group ``(n_outputs, k)`` onto the input elements: each attribution is
        ``F(x).shape + input.shape[1:]`` (Captum's shape), as a tensor or a tuple like inputs."""
        spread = spread_groups(values.reshape(self.n_outputs, -1), self.masks, self.inputs)
        shape = tuple(self.output.shape) if self.output.dim() > 0 else (1,)
        return format_output(
            self.was_tuple,
            tuple(s.reshape(shape + tuple(t.shape[1:])) for s, t in zip(spread, self.inputs)),
        )


def setup_coalitions(
    forward_func: Callable,
    inputs: Any,
    baselines: BaselinesType,
    target: TargetType,
    additional_forward_args: Any,
    feature_mask: Any,
    perturbations_per_eval: PerturbationsPerEval,
) -> CoalitionSetup:
    """Validate everything at the boundary, then run ``F(x)`` once (measuring one row's memory
    when ``perturbations_per_eval="auto"``)."""
    was_tuple, formatted, formatted_baselines, args = format_call(
        inputs, baselines, target, additional_forward_args
    )
    masks = format_feature_mask(feature_mask, formatted)
    check_perturbations_per_eval(perturbations_per_eval)
    output, bytes_per_row = initial_forward(
        forward_func, formatted, target, args, measure=perturbations_per_eval == "auto"
    )
    output = as_floating(output)
    return CoalitionSetup(
        forward_func,
        formatted,
        formatted_baselines,
        masks,
        count_groups(masks),
        target,
        args,
        was_tuple,
        output,
        bytes_per_row,
    )


def attribute_coalitions(
    method: Any,
    call: tuple,
    perturbations_per_eval: PerturbationsPerEval,
    estimate: Callable[[CoalitionSetup], Tensor],
    spread: bool = True,
) -> Tensor | tuple[Tensor, ...]:
    """Under ``method``'s model guard: the set-up of ``call`` (inputs, baselines, target,
    additional forward arguments and feature mask as ``attribute`` got them), then
    ``estimate(setup)``, one value per group and output row, spread onto the inputs (or as it
    is with ``spread=False``); an empty batch gives empty results."""
    with method._model_guard():
        setup = setup_coalitions(method.forward_func, *call, perturbations_per_eval)
        if setup.batch == 0:
            return setup.empty()
        values = estimate(setup)
        return setup.to_inputs(values) if spread else values
