"""Feature ablation: the output change when a group of features is set to its baseline."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from .._inputs import Baseline, BaselinesType, TensorOrTuple, format_call, format_output, is_tuple
from .._targets import TargetType
from ..registry import register
from ._feature_masks import (
    check_mask_rows,
    count_groups,
    format_feature_mask,
    groups_of_inputs,
    spread_groups,
)
from ._futures import FutureAttribution
from ._perturb import (
    DEFAULT_PERTURBATIONS_PER_EVAL,
    LeaveOneOut,
    PerturbationsPerEval,
    check_perturbations_per_eval,
    forward_perturbations,
    initial_forward,
    is_aggregate,
    perturbed_inputs,
    progress_bar,
    resolve_perturbations_per_eval,
)

Build = Callable[[int, int], tuple[Tensor, ...]]


@register("perturbation")
class FeatureAblation(FutureAttribution):
    r"""Feature ablation: ``attr_e = F(x) − F(x with group g(e) set to the baseline)``.

    Every element of a feature group gets the group's output difference. Groups come from
    ``feature_mask`` (default: every scalar element its own group) and may span several inputs.
    The forward function may return one value per example, or one value for the whole batch
    ("aggregate" output, e.g. a loss): attributions then have first dimension 1.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> ablation = FeatureAblation(model)
        >>> mask = torch.tensor([[0, 0, 1, 1]])
        >>> ablation.attribute(torch.randn(2, 4), target=1, feature_mask=mask).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: Tensor | tuple[Tensor, ...] | None = None,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        show_progress: bool = False,
    ) -> TensorOrTuple:
        """Attributions the shape of ``inputs`` (first dimension 1 for an aggregate output).

        Args:
            perturbations_per_eval: groups ablated per model call: a positive int, or
                ``"auto"`` (default; Captum's default is 1) for as many as fit a memory
                budget. Results are the same for every value; the number of calls is
                ``1 + ceil(k / perturbations_per_eval)``.
        """
        _, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, same_batch=False
        )
        masks = format_feature_mask(feature_mask, formatted)
        check_perturbations_per_eval(perturbations_per_eval)
        with self._model_guard():
            attributions = self._ablate(
                formatted,
                formatted_baselines,
                masks,
                target,
                args,
                perturbations_per_eval,
                show_progress,
            )
        return format_output(is_tuple(inputs), attributions)

    def _ablate(
        self,
        inputs: tuple[Tensor, ...],
        baselines: tuple[Baseline, ...],
        masks: tuple[Tensor, ...],
        target: TargetType,
        args: tuple | None,
        per_eval_value: PerturbationsPerEval,
        show_progress: bool,
    ) -> tuple[Tensor, ...]:
        """``F(x)`` once, then ``F`` of every perturbation; group values spread over masks.
        Groups that cannot be perturbed (:meth:`_skipped_groups`) get 0 without a call."""
        k = count_groups(masks)
        skipped = self._skipped_groups(inputs, masks)
        order = [g for g in self._group_order(masks, k) if g not in skipped]
        build = self._builder(inputs, baselines, masks, order)
        diffs = self._output_drops(
            inputs, target, args, build, len(order), per_eval_value, show_progress, masks
        )  # (len(order), n_outputs), rows in ``order``
        if order != list(range(k)):
            values = diffs.new_zeros((k, diffs.shape[1]))
            values[torch.tensor(order, device=diffs.device, dtype=torch.long)] = diffs
            diffs = values
        return spread_groups(diffs.T, masks, inputs)

    def _skipped_groups(self, inputs: tuple[Tensor, ...], masks: tuple[Tensor, ...]) -> set[int]:
        """Groups whose inputs are all empty (Captum leaves them at 0)."""
        return groups_of_inputs(masks, [tensor.numel() == 0 for tensor in inputs], every=True)

    def _output_drops(
        self,
        inputs: tuple[Tensor, ...],
        target: TargetType,
        args: tuple | None,
        build: Build,
        n_perturbations: int,
        per_eval_value: PerturbationsPerEval,
        show_progress: bool,
        masks: tuple[Tensor, ...] | None = None,
    ) -> Tensor:
        """``F(x) − F(build(j))`` for every perturbation ``j``, ``(n_perturbations, n_outputs)``:
        one forward for ``F(x)``, then ``per_eval`` perturbations per forward."""
        batch = inputs[0].shape[0]
        initial, row_bytes = initial_forward(
            self.forward_func, inputs, target, args, measure=per_eval_value == "auto"
        )
        if masks is not None:
            check_mask_rows(masks, initial.numel(), batch)
        per_eval = resolve_perturbations_per_eval(
            per_eval_value, inputs, n_perturbations, row_bytes, is_aggregate(initial, batch)
        )
        if n_perturbations == 0:  # every group skipped: no call beyond F(x)
            return initial.reshape(1, -1)[:0]
        calls = 1 + -(-n_perturbations // per_eval)
        with progress_bar(calls, show_progress, f"{self.get_name()} attribution", done=1) as bar:
            outputs = forward_perturbations(
                self.forward_func,
                build,
                n_perturbations,
                per_eval,
                target,
                args,
                batch,
                initial.numel(),
                bar,
            )
        return initial.reshape(1, -1) - outputs

    def _group_order(self, masks: tuple[Tensor, ...], k: int) -> list[int]:
        return list(range(k))

    def _builder(
        self,
        inputs: tuple[Tensor, ...],
        baselines: tuple[Baseline, ...],
        masks: tuple[Tensor, ...],
        order: list[int],
    ) -> Build:
        """Perturbed inputs of groups ``order[start:stop]``, one batch per group."""
        coalitions = LeaveOneOut(count_groups(masks), inputs[0].device, order)

        def build(start: int, stop: int) -> tuple[Tensor, ...]:
            return perturbed_inputs(inputs, baselines, masks, coalitions[start:stop])

        return build
