"""Exact Shapley values over feature groups, each of the ``2^k`` coalitions evaluated once."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import Tensor

from .._inputs import BaselinesType, TensorOrTuple
from .._targets import TargetType
from ..errors import InputValueError
from ..registry import register
from ._coalition_setup import CoalitionSetup, attribute_coalitions
from ._futures import FutureAttribution
from ._perturb import DEFAULT_PERTURBATIONS_PER_EVAL, PerturbationsPerEval, evaluate_coalitions

#: Above this many groups the ``2^k`` evaluations are out of reach: sample instead.
MAX_EXACT_GROUPS = 20
#: Captum warns from this many groups on (its enumeration costs ``k!·k`` evaluations).
WARN_GROUPS = 15
#: Coalition rows combined per matrix product (bounds the float copy of the coalitions).
_COMBINE_ROWS = 1 << 16


def all_coalitions(n_groups: int, start: int, stop: int, device: Any = "cpu") -> Tensor:
    """Coalitions ``c = start..stop-1`` as bool rows ``(stop - start, k)``: bit ``j`` of ``c``."""
    codes = torch.arange(start, stop, device=device)[:, None]
    bits = 1 << torch.arange(n_groups, device=device)
    return (codes & bits) != 0


def shapley_weights(n_groups: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``w(s) = s!(k−s−1)!/k! = 1/(k·C(k−1, s))`` for ``s = 0..k−1``."""
    k = n_groups
    return torch.tensor([1.0 / (k * math.comb(k - 1, s)) for s in range(k)], dtype=dtype)


def combine_all_coalitions(values: Tensor, n_groups: int) -> Tensor:
    """Shapley values ``(n_outputs, k)`` from ``values`` ``(2^k, n_outputs)`` (row ``c`` is
    coalition ``c``): ``φ_j = Σ_{S∌j} w(|S|)·(v(S∪{j}) − v(S))``, so row ``c`` enters feature
    ``j`` with ``+w(|c|−1)`` when ``j ∈ c`` and ``−w(|c|)`` otherwise."""
    k, dtype = n_groups, values.dtype if values.is_floating_point() else torch.float64
    weights = shapley_weights(k).to(values.device, dtype)
    result = torch.zeros(values.shape[1], k, dtype=dtype, device=values.device)
    for start in range(0, 1 << k, _COMBINE_ROWS):
        stop = min(start + _COMBINE_ROWS, 1 << k)
        present = all_coalitions(k, start, stop, values.device)
        size = present.sum(1)
        chunk = values[start:stop].to(dtype)  # (rows, n_outputs)
        gain = chunk * weights[(size - 1).clamp(min=0)][:, None]
        loss = chunk * weights[size.clamp(max=k - 1)][:, None]
        present = present.to(dtype)
        result += gain.T @ present - loss.T @ (1 - present)
    return result


def exact_shapley(
    setup: CoalitionSetup,
    perturbations_per_eval: PerturbationsPerEval,
    show_progress: bool,
    desc: str,
) -> Tensor:
    """Shapley values ``(n_outputs, k)`` from ``2^k`` evaluations: the ``2^k − 1`` coalitions
    below the full one, plus ``F(x)`` already in ``setup``."""
    k = setup.n_groups
    if k > MAX_EXACT_GROUPS:
        raise InputValueError(
            f"feature_mask has {k} groups; exact Shapley values need 2^{k} model evaluations. "
            f"Group features into at most {MAX_EXACT_GROUPS} groups, or use "
            "ShapleyValueSampling or KernelShap"
        )
    n_rows = (1 << k) - 1
    present = all_coalitions(k, 0, n_rows, setup.inputs[0].device)
    values = evaluate_coalitions(
        setup.forward_func,
        setup.inputs,
        setup.baselines,
        setup.masks,
        present,
        setup.target,
        setup.args,
        setup.per_eval(perturbations_per_eval, n_rows),
        show_progress,
        desc,
        setup.n_outputs,
        done_before=1,
    )
    return combine_all_coalitions(torch.cat([values, setup.output_row()]), k)


@register("perturbation")
class ShapleyValues(FutureAttribution):
    r"""Exact Shapley values of feature groups:
    ``φ_j = Σ_{S ⊆ N∖{j}} |S|!(k−|S|−1)!/k! · (F(x_{S∪{j}}) − F(x_S))``,
    where ``x_S`` keeps the groups in ``S`` from the input and takes the baseline elsewhere.

    Each of the ``2^k`` coalitions is evaluated once, batched, and combined with the Shapley
    weights: the same numbers as Captum's ``ShapleyValues``, which enumerates all ``k!``
    permutations (``k!·k`` evaluations; 128 instead of 35,280 at ``k = 7``). Practical up to
    ``k ≈ 14`` groups; more than ``MAX_EXACT_GROUPS`` (20) is refused.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> shapley = ShapleyValues(model)
        >>> x = torch.randn(2, 4)
        >>> shapley.attribute(x, target=1).shape  # 2^4 = 16 coalitions per example
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: TensorOrTuple | None = None,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        show_progress: bool = False,
    ) -> TensorOrTuple:
        """Shapley values of every group, spread onto its input elements.

        Returns:
            Attributions shaped like the inputs (``(1, ...)`` for a model that returns one value
            for the whole batch).
        """

        def estimate(setup: CoalitionSetup) -> Tensor:
            if WARN_GROUPS <= setup.n_groups <= MAX_EXACT_GROUPS:
                warnings.warn(
                    f"exact Shapley values over {setup.n_groups} groups cost "
                    f"2^{setup.n_groups} evaluations; consider ShapleyValueSampling",
                    stacklevel=5,  # estimate, attribute_coalitions, attribute, its wrapper
                )
            name = f"{self.get_name()} attribution"
            return exact_shapley(setup, perturbations_per_eval, show_progress, name)

        call = (inputs, baselines, target, additional_forward_args, feature_mask)
        return attribute_coalitions(self, call, perturbations_per_eval, estimate)
