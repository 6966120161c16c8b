"""Shapley value sampling (Castro et al., 2009): marginal contributions along random
permutations, optionally antithetic (each permutation paired with its reverse)."""

from __future__ import annotations

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

#: Captum's default number of permutations.
DEFAULT_N_SAMPLES = 25


def sample_permutations(n_groups: int, n_samples: int, antithetic: bool) -> Tensor:
    """``(n_samples, k)`` permutations of the groups, drawn like Captum (one
    ``torch.randperm(k)`` per sample); with ``antithetic`` half as many are drawn and each is
    followed by its reverse."""
    n_drawn = (n_samples + 1) // 2 if antithetic else n_samples
    drawn = torch.stack([torch.randperm(n_groups) for _ in range(n_drawn)])
    if not antithetic:
        return drawn
    return torch.stack([drawn, drawn.flip(1)], dim=1).reshape(-1, n_groups)[:n_samples]


class PermutationPrefixes:
    """Coalitions ``(p, i)`` for ``i = 1..k−1``: the first ``i`` groups of permutation ``p``,
    built on demand (a dense ``(n·(k−1), k)`` matrix is never held). Row 0 is the empty
    coalition; the full one is ``F(x)``, shared by every permutation."""

    def __init__(self, positions: Tensor) -> None:
        self.positions = positions  # (n, k): positions[p, j] = place of group j in p
        self.n, self.k = positions.shape
        self.per_permutation = self.k - 1

    def __len__(self) -> int:
        return 1 + self.n * self.per_permutation

    def __getitem__(self, index: slice) -> Tensor:
        start, stop, _ = index.indices(len(self))
        rows = torch.arange(start, stop, device=self.positions.device)
        prefix = (rows - 1) % max(self.per_permutation, 1) + 1
        perm = (rows - 1).clamp(min=0) // max(self.per_permutation, 1)
        present = self.positions[perm] < prefix[:, None]
        present[rows == 0] = False
        return present


def sampled_shapley(
    setup: CoalitionSetup,
    permutations: Tensor,
    perturbations_per_eval: PerturbationsPerEval,
    show_progress: bool,
    desc: str,
) -> Tensor:
    """Mean marginal contributions ``(n_outputs, k)`` over ``permutations`` ``(n, k)``:
    ``φ_j = mean_p F(x_{pre_p(j) ∪ {j}}) − F(x_{pre_p(j)})``; ``1 + n·(k−1)`` evaluations
    besides ``F(x)``."""
    n, k = permutations.shape
    device = setup.inputs[0].device
    positions = torch.argsort(permutations, dim=1).to(device)
    coalitions = PermutationPrefixes(positions)
    values = evaluate_coalitions(
        setup.forward_func,
        setup.inputs,
        setup.baselines,
        setup.masks,
        coalitions,
        setup.target,
        setup.args,
        setup.per_eval(perturbations_per_eval, len(coalitions)),
        show_progress,
        desc,
        setup.n_outputs,
        done_before=1,
    )  # (1 + n·(k−1), n_outputs)
    n_outputs = values.shape[1]
    chain = torch.cat(
        [
            values[:1].expand(n, 1, n_outputs),
            values[1:].reshape(n, k - 1, n_outputs),
            setup.output_row().to(values.dtype).expand(n, 1, n_outputs),
        ],
        dim=1,
    )  # (n, k + 1, n_outputs): F along each permutation, from the baseline to x
    steps = chain[:, 1:] - chain[:, :-1]  # steps[p, i]: contribution of group permutations[p, i]
    index = positions[:, :, None].expand(n, k, n_outputs)
    return torch.gather(steps, 1, index).mean(0).T


@register("perturbation")
class ShapleyValueSampling(FutureAttribution):
    r"""Shapley value sampling: ``φ_j ≈ (1/n) Σ_p F(x_{pre_p(j)∪{j}}) − F(x_{pre_p(j)})``,
    the mean marginal contribution of group ``j`` over ``n`` random permutations ``p``
    (``pre_p(j)``: the groups before ``j`` in ``p``; absent groups take the baseline).

    Permutations are drawn as Captum draws them (``torch.randperm`` per sample), so with the
    same seed the numbers equal Captum's. ``antithetic=True`` pairs each permutation with its
    reverse: same cost, lower variance (exact for models with at most pairwise interactions).
    The full coalition ``F(x)`` is shared by all permutations: ``n·(k−1) + 2`` evaluations
    (Captum: ``n·k + 1``).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> sampling = ShapleyValueSampling(model)
        >>> x = torch.randn(2, 4)
        >>> sampling.attribute(x, target=1, n_samples=10, antithetic=True).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: TensorOrTuple | None = None,
        n_samples: int = DEFAULT_N_SAMPLES,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        show_progress: bool = False,
        antithetic: bool = False,
    ) -> TensorOrTuple:
        """Sampled Shapley values of every group, spread onto its input elements.

        Args:
            n_samples: number of permutations. Default 25.
            antithetic: pair each sampled permutation with its reverse. Default False
                (Captum's estimator).

        Returns:
            Attributions shaped like the inputs (``(1, ...)`` for a model that returns one value
            for the whole batch).
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise InputValueError(f"n_samples={n_samples!r}; expected a positive int")

        def estimate(setup: CoalitionSetup) -> Tensor:
            permutations = sample_permutations(setup.n_groups, n_samples, antithetic)
            name = f"{self.get_name()} attribution"
            return sampled_shapley(setup, permutations, perturbations_per_eval, show_progress, name)

        call = (inputs, baselines, target, additional_forward_args, feature_mask)
        return attribute_coalitions(self, call, perturbations_per_eval, estimate)
