"""Permutation feature importance: the output change when a feature group is shuffled across
the batch (Breiman, 2001; Fisher et al., 2019)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from torch import Tensor

from .._inputs import Baseline, TensorOrTuple, format_call, format_output, is_tuple
from .._targets import TargetType
from ..errors import InputTypeError, InputValueError
from ..registry import register
from ._feature_masks import format_feature_mask, group_order, groups_of_inputs
from ._perturb import (
    DEFAULT_PERTURBATIONS_PER_EVAL,
    PerturbationsPerEval,
    check_perturbations_per_eval,
)
from .feature_ablation import Build, FeatureAblation

PermFunc = Callable[[Tensor, Tensor], Tensor]


def permute_feature(x: Tensor, feature_mask: Tensor) -> Tensor:
    """The masked elements of ``x`` shuffled across the batch by one random permutation
    (never the identity); other elements unchanged. Draws from torch's global generator
    exactly as Captum's default, so the same seed gives the same permutations."""
    n = x.size(0)
    if n < 2:
        raise InputValueError(f"cannot permute features of a batch of {n}; expected at least 2")
    perm = torch.randperm(n)
    while (perm == torch.arange(n)).all():
        perm = torch.randperm(n)
    return torch.where(feature_mask, x[perm.to(x.device)], x)


@register("perturbation")
class FeaturePermutation(FeatureAblation):
    r"""Permutation importance: ``attr_e = F(X) − F(X with group g(e) permuted over the batch)``.

    Groups on an input of fewer than two examples are not permuted (0, with a warning, as
    in Captum); inputs may differ in their first dimension (sparse inputs). The forward
    function may return one value per example, or one value for the whole batch (e.g. a
    loss against labels passed as an additional argument): attributions then have first
    dimension 1.

    Args:
        perm_func: ``perm_func(x, mask) -> x'``: permute the elements where the bool
            ``mask`` is True across the batch of ``x`` (default: one random permutation).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> permutation = FeaturePermutation(model)
        >>> permutation.attribute(torch.randn(8, 4), target=0).shape
        torch.Size([8, 4])
    """

    def __init__(self, forward_func: Callable, perm_func: PermFunc = permute_feature) -> None:
        super().__init__(forward_func)
        if not callable(perm_func):
            raise InputTypeError(f"perm_func is {type(perm_func).__name__}; expected a callable")
        self.perm_func = perm_func
        #: Captum's: groups on an input with fewer rows than this are not permuted (0, warned)
        self._min_examples_per_batch_grouped = 2

    def attribute(  # type: ignore[override]
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: Tensor | tuple[Tensor, ...] | None = None,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        show_progress: bool = False,
    ) -> TensorOrTuple:
        """Attributions the shape of ``inputs`` (first dimension 1 for an aggregate output).

        Args:
            inputs: tensor or tuple of tensors, batch first, batch size at least 2.
            target: output index per example: int, tuple, list or tensor; None for a model
                returning one number per example (or per batch).
            feature_mask: integer tensor (or tuple, one per input) of group ids 0..k-1,
                broadcastable to the inputs; a group may span several inputs. Default: every
                scalar element its own group.
            perturbations_per_eval: groups permuted per model call: a positive int, or
                ``"auto"`` (default; Captum's default is 1). With the same permutations,
                results are the same for every value; ``perm_func`` is called in Captum's
                order, so a seeded default draws the same permutations as Captum with the
                same ``perturbations_per_eval``.
        """
        # no baselines: format_call's default (zeros) fills a slot that permuting never reads
        _, formatted, baselines, args = format_call(
            inputs, None, target, additional_forward_args, same_batch=False
        )
        masks = format_feature_mask(feature_mask, formatted)
        check_perturbations_per_eval(perturbations_per_eval)
        with self._model_guard():
            attributions = self._ablate(
                formatted, baselines, masks, target, args, perturbations_per_eval, show_progress
            )
        return format_output(is_tuple(inputs), attributions)

    def _skipped_groups(self, inputs: tuple[Tensor, ...], masks: tuple[Tensor, ...]) -> set[int]:
        """Also groups on an input with too few rows to permute (Captum's rule, warned)."""
        minimum = self._min_examples_per_batch_grouped
        short = [tensor.shape[0] < minimum for tensor in inputs]
        skipped = groups_of_inputs(masks, short, every=False)
        if skipped:
            warnings.warn(
                f"{len(skipped)} feature group(s) lie on an input with fewer than {minimum} "
                "examples, which cannot be permuted; their attributions are 0",
                stacklevel=4,
            )
        return skipped | super()._skipped_groups(inputs, masks)

    def _group_order(self, masks: tuple[Tensor, ...], k: int) -> list[int]:
        return group_order(masks)

    def _builder(
        self,
        inputs: tuple[Tensor, ...],
        baselines: tuple[Baseline, ...],
        masks: tuple[Tensor, ...],
        order: list[int],
    ) -> Build:
        """Groups ``order[start:stop]`` permuted one per batch copy; ``perm_func`` is called
        for every group of the chunk on each input one of them touches (Captum's calls)."""
        present = [set(torch.unique(mask).tolist()) for mask in masks]

        def build(start: int, stop: int) -> tuple[Tensor, ...]:
            groups = order[start:stop]
            result = []
            for tensor, mask, ids in zip(inputs, masks, present):
                if ids.isdisjoint(groups):
                    result.append(tensor.repeat((len(groups),) + (1,) * (tensor.dim() - 1)))
                    continue
                result.append(torch.cat([self._permuted(tensor, mask == g) for g in groups]))
            return tuple(result)

        return build

    def _permuted(self, tensor: Tensor, mask: Tensor) -> Tensor:
        permuted = self.perm_func(tensor, mask)
        if not isinstance(permuted, Tensor) or permuted.shape != tensor.shape:
            shape = tuple(permuted.shape) if isinstance(permuted, Tensor) else type(permuted)
            raise InputValueError(
                f"perm_func returned {shape}; expected a tensor of the input's shape "
                f"{tuple(tensor.shape)}"
            )
        return permuted
