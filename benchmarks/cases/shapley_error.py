"""Issue 4 case ``shapley-error``: error of sampled Shapley values against the exact ones, per
counted model evaluation, Captum's estimators against mmattr's paired ones at half the samples.

Model: the 10-input MLP of ``exact-shapley`` (random weights), one input, ``k = 10`` groups (one
per input), baseline 0, target 0. Exact values ``φ`` come from :class:`mmattr.ShapleyValues`
(``2^10`` evaluations). Error of an estimate ``φ̂``: ``MAE = mean_j |φ̂_j − φ_j|``, median over
seeds ``0..19`` (``torch.manual_seed(seed)`` before each call). Evaluation counts are the rows
seen by a counting wrapper around the model, not formulas.

The harness times callables only, so the setup prints the error table itself; the timed
contenders are one call of each estimator at the middle budget.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import captum.attr as captum_attr
import torch

import mmattr
from benchmarks._harness import Setup, case
from benchmarks.cases.perturbation import Tally, _mlp

N_GROUPS = 10
SEEDS = range(20)
#: Captum's ``n_samples`` per budget; mmattr's paired estimators get half.
SAMPLING_BUDGETS = (8, 32, 128)  # permutations: Captum costs n·k + 1 evaluations
KERNEL_BUDGETS = (64, 256, 1024)  # coalitions: n evaluations


@dataclass
class Estimator:
    """One row of the table: ``cls(model).attribute(x, n_samples=n_samples, **options)``."""

    library: str
    cls: type
    n_samples: int
    options: dict = field(default_factory=dict)
    errors: list[float] = field(default_factory=list)
    evaluations: set[int] = field(default_factory=set)

    def run(self, tally: Tally, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        method = self.cls(tally)
        return method.attribute(
            x, target=0, feature_mask=mask, n_samples=self.n_samples, **self.options
        )

    def label(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.options.items()) or "defaults"
        return f"{self.library} {self.cls.__name__}({options})"


def estimators(budget: int, kernel: bool) -> list[Estimator]:
    """Captum at ``budget`` samples, mmattr's plain estimator at the same (a parity control:
    same seeds, same draws) and mmattr's paired estimator at half."""
    if kernel:
        captum, ours = captum_attr.KernelShap, mmattr.KernelShap
        plain, paired = {"exact": False}, {"antithetic": True, "exact": False}
    else:
        captum, ours = captum_attr.ShapleyValueSampling, mmattr.ShapleyValueSampling
        plain, paired = {}, {"antithetic": True}
    return [
        Estimator("captum", captum, budget),
        Estimator("mmattr", ours, budget, plain),
        Estimator("mmattr", ours, budget // 2, paired),
    ]


def exact_values(model: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``φ`` from all ``2^k`` coalitions, checked against efficiency ``Σφ = F(x) − F(0)``."""
    exact = mmattr.ShapleyValues(model).attribute(x, target=0, feature_mask=mask)
    with torch.no_grad():
        gap = (model(x) - model(torch.zeros_like(x)))[0, 0]
    if abs(float(exact.sum() - gap)) > 1e-5:
        raise AssertionError(f"exact Shapley values break efficiency: Σφ={exact.sum()}, {gap=}")
    return exact


def measure_errors(
    rows: list[Estimator],
    model: torch.nn.Module,
    x: torch.Tensor,
    mask: torch.Tensor,
    exact: torch.Tensor,
) -> None:
    """Append ``MAE = mean_j |φ̂_j − φ_j|`` and the counted evaluations of every seed to each row."""
    evaluations: dict[str, str] = {}
    for row in rows:
        tally = Tally(model, evaluations, row.label())
        for seed in SEEDS:
            tally.rows = 0
            torch.manual_seed(seed)
            estimate = row.run(tally, x, mask)
            row.errors.append(float((estimate - exact).abs().mean()))
            row.evaluations.add(tally.rows)


def print_table(groups: list[list[Estimator]], exact: torch.Tensor) -> None:
    """Median MAE per row, and its ratio to the first (Captum's) row of its group."""
    print(
        f"\n== shapley-error: k={N_GROUPS} groups, 10-input MLP, mean |φ| = "
        f"{float(exact.abs().mean()):.4f}; MAE = mean_j |φ̂_j − φ_j|, median over {len(SEEDS)} "
        "seeds; evaluations counted"
    )
    print(f"  {'estimator':<62} {'n_samples':>9} {'evaluations':>11} {'MAE':>9} {'/captum':>8}")
    for group in groups:
        reference = statistics.median(group[0].errors)
        for row in group:
            error = statistics.median(row.errors)
            counts = "/".join(str(n) for n in sorted(row.evaluations))
            print(
                f"  {row.label():<62} {row.n_samples:>9} {counts:>11} {error:9.5f} "
                f"{error / reference:8.2f}"
            )


@case("shapley-error")
def shapley_error(device: str) -> Setup:
    model = _mlp(device, N_GROUPS)
    torch.manual_seed(1)
    x = torch.randn(1, N_GROUPS, device=device)
    mask = torch.arange(N_GROUPS, device=device)[None]
    exact = exact_values(model, x, mask)
    groups = [estimators(n, kernel=False) for n in SAMPLING_BUDGETS]
    groups += [estimators(n, kernel=True) for n in KERNEL_BUDGETS]
    for group in groups:
        measure_errors(group, model, x, mask, exact)
    print_table(groups, exact)
    timed = estimators(SAMPLING_BUDGETS[1], False) + estimators(KERNEL_BUDGETS[1], True)
    evaluations: dict[str, str] = {}
    contenders = {}
    for row in timed:
        short = "ks" if row.cls.__name__ == "KernelShap" else "svs"
        paired = " anti" if row.options.get("antithetic") else ""
        key = f"{row.library} {short} n={row.n_samples}{paired}"
        tally = Tally(model, evaluations, key)
        contenders[key] = tally.wrap(lambda row=row, tally=tally: row.run(tally, x, mask))
    return Setup(
        contenders,
        evaluations,
        note="timing of one call per estimator (svs: ShapleyValueSampling, ks: KernelShap)",
    )
