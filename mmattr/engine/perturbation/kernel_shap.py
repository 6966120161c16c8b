"""Kernel SHAP (Lundberg & Lee, 2017): Shapley values as a weighted linear regression over
coalitions; exact when every coalition fits in the sample budget."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor
from torch.distributions.categorical import Categorical

from .._inputs import BaselinesType, TensorOrTuple
from .._targets import TargetType
from ..registry import register
from ._coalition_setup import CoalitionSetup
from ._linear_models import LinearRegression
from ._perturb import DEFAULT_PERTURBATIONS_PER_EVAL, PerturbationsPerEval
from .lime import Lime
from .shapley_values import exact_shapley

#: Captum's default number of coalitions.
DEFAULT_N_SAMPLES = 25
#: Weight of the empty and the full coalition, standing in for the kernel's infinite weight.
INF_WEIGHT = 1e6


def coalition_size_distribution(n_groups: int) -> Categorical:
    """``P(|z| = s) ∝ (k−1) / (s(k−s))`` for ``s = 1..k−1`` (Captum's, float32 like Captum)."""
    sizes = torch.arange(n_groups, dtype=torch.float)
    probs = torch.tensor(n_groups - 1) / (sizes * (n_groups - sizes))
    probs[0] = 0.0
    return Categorical(probs)


def sample_kernel_coalitions(n_groups: int, n_samples: int, antithetic: bool) -> Tensor:
    """Captum's sequence: the full coalition, the empty one, then a size ``s`` from
    :func:`coalition_size_distribution` and ``s`` groups uniformly (the top ``s`` of a normal
    draw). ``antithetic`` follows each sampled coalition with its complement. ``(n, k)`` long."""
    rows = [torch.ones(1, n_groups, dtype=torch.long), torch.zeros(1, n_groups, dtype=torch.long)]
    distribution = coalition_size_distribution(n_groups) if n_samples > 2 else None
    while len(rows) < n_samples:
        rows.append(_one_sample(distribution, n_groups))
        if antithetic:
            rows.append(1 - rows[-1])
    return torch.cat(rows[:n_samples])


@register("perturbation")
class KernelShap(Lime):
    r"""Kernel SHAP: Shapley values as the coefficients of ``g(z) = φ·z + φ₀`` fitted by weighted
    least squares to ``F(x_z)``, coalitions ``z`` drawn with sizes ``∝ (k−1)/(|z|(k−|z|))``
    (the Shapley kernel as sampling distribution, unit weights), the empty and full coalitions
    weighted ``10⁶`` so that ``Σφ ≈ F(x) − F(baseline)``.

    With the same seed the coalitions and the numbers equal Captum's ``KernelShap``. Beyond
    Captum: when ``2^k ≤ n_samples`` every coalition is evaluated once and the exact Shapley
    values are returned (``exact=True``, the default; ``2^k`` evaluations, no more than asked);
    ``antithetic=True`` pairs each sampled coalition with its complement.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> kernel_shap = KernelShap(model)
        >>> x = torch.randn(1, 4)
        >>> kernel_shap.attribute(x, target=1, n_samples=16).shape  # 2^4 <= 16: exact
        torch.Size([1, 4])
    """

    def __init__(self, forward_func: Callable) -> None:
        super().__init__(
            forward_func,
            interpretable_model=LinearRegression(),
            similarity_func=self.kernel_shap_similarity_kernel,
            perturb_func=self.kernel_shap_perturb_generator,
        )
        self.inf_weight = INF_WEIGHT
        self._antithetic = False

    def attribute(  # type: ignore[override]
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: TensorOrTuple | None = None,
        n_samples: int = DEFAULT_N_SAMPLES,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        return_input_shape: bool = True,
        show_progress: bool = False,
        antithetic: bool = False,
        exact: bool = True,
    ) -> TensorOrTuple:
        """Kernel SHAP values of every group.

        Args:
            n_samples: coalitions per example. Default 25.
            return_input_shape: spread the values onto the inputs (default), or return them
                as ``(batch, k)``.
            antithetic: follow each sampled coalition with its complement. Default False.
            exact: when ``2^k ≤ n_samples``, evaluate every coalition once and return exact
                Shapley values. Default True; False always samples like Captum.

        Returns:
            Attributions shaped like the inputs, or ``(batch, k)``.
        """
        self._antithetic, self._exact = bool(antithetic), bool(exact)
        return self._attribute(
            inputs,
            baselines,
            target,
            additional_forward_args,
            feature_mask,
            n_samples,
            perturbations_per_eval,
            return_input_shape,
            show_progress,
        )

    def _coefficients(
        self,
        setup: CoalitionSetup,
        n_samples: int,
        perturbations_per_eval: PerturbationsPerEval,
        show_progress: bool,
    ) -> Tensor:
        k = setup.n_groups
        if k <= 1 or (self._exact and k < 63 and (1 << k) <= n_samples):
            values = exact_shapley(
                setup, perturbations_per_eval, show_progress, f"{self.get_name()} attribution"
            )
            return values.to(setup.output.dtype)
        return super()._coefficients(setup, n_samples, perturbations_per_eval, show_progress)

    def _draw_samples(self, unit: CoalitionSetup, n_samples: int, kwargs: dict) -> Tensor:
        device = unit.inputs[0].device
        return sample_kernel_coalitions(unit.n_groups, n_samples, self._antithetic).to(device)

    def _similarities(self, unit: CoalitionSetup, samples: Tensor, kwargs: dict) -> Tensor:
        size = samples.sum(1)
        endpoint = (size == 0) | (size == unit.n_groups)
        ones = torch.ones(samples.shape[0], dtype=torch.float64, device=samples.device)
        return torch.where(endpoint, ones * self.inf_weight, ones)

    def kernel_shap_similarity_kernel(
        self, _inputs: Any, _perturbed: Any, interpretable_sample: Tensor, **kwargs: Any
    ) -> Tensor:
        """Captum's per-sample kernel: ``10⁶`` for the empty and full coalition, else 1."""
        selected = int(interpretable_sample.sum().item())
        endpoint = selected in (0, int(kwargs["num_interp_features"]))
        return torch.tensor([self.inf_weight if endpoint else 1.0])

    def kernel_shap_perturb_generator(self, original_inp: Any, **kwargs: Any):
        """Captum's generator of coalitions ``(1, k)`` (full, empty, then sampled)."""
        n_groups = int(kwargs["num_interp_features"])
        yield torch.ones(1, n_groups, dtype=torch.long)
        yield torch.zeros(1, n_groups, dtype=torch.long)
        distribution = coalition_size_distribution(n_groups)
        while True:
            yield _one_sample(distribution, n_groups)


def _one_sample(distribution: Categorical, n_groups: int) -> Tensor:
    """A coalition ``(1, k)`` of a size drawn from ``distribution``, its groups uniform."""
    size = distribution.sample()
    scores = torch.randn(1, n_groups)
    threshold = torch.kthvalue(scores, n_groups - size).values.item()
    return (scores > threshold).long()
