"""KernelShap: parity with Captum 0.9 given the same seed, convergence to exact Shapley values,
the exact-enumeration mode, and the antithetic estimator's error at half the evaluations."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch

from mmattr.engine.perturbation import KernelShap, ShapleyValues
from tests.helpers.checks import RowCounter
from tests.helpers.models import example_inputs, make

MASK6 = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 4, 5, 5]])
MASK7 = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 4, 5, 6]])


class Additive(torch.nn.Module):
    """``F(x) = Σ_j sin(j·x_j) + x_j²``: no interactions, so ``F(x_z)`` is linear in ``z``."""

    def forward(self, x):
        scale = torch.arange(1, x.shape[1] + 1, dtype=x.dtype)
        return (torch.sin(scale * x) + x**2).sum(1)


@pytest.mark.parametrize("n_samples", [20, 50])
def test_matches_captum_given_the_same_seed(n_samples):
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=2)
    kwargs = dict(target=1, feature_mask=MASK6, n_samples=n_samples)
    torch.manual_seed(3)
    ours = KernelShap(model).attribute(x, exact=False, perturbations_per_eval=8, **kwargs)
    torch.manual_seed(3)
    theirs = captum_attr.KernelShap(model).attribute(x, **kwargs)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


def test_matches_captum_with_tuple_inputs_and_interpretable_output():
    model = make("two_inputs")
    inputs = example_inputs("two_inputs", batch=1)
    base = (0.5, torch.full((1, 4), -0.25, dtype=torch.float64))
    kwargs = dict(baselines=base, target=0, n_samples=40, return_input_shape=False)
    torch.manual_seed(11)
    ours = KernelShap(model).attribute(inputs, perturbations_per_eval=8, **kwargs)
    torch.manual_seed(11)
    theirs = captum_attr.KernelShap(model).attribute(inputs, **kwargs)
    assert ours.shape == theirs.shape == (1, 10)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


@pytest.mark.parametrize("kind", ["linear", "additive"])
def test_recovers_exact_shapley_values_of_linear_and_additive_models(kind):
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1).double() if kind == "linear" else Additive()
    x = torch.randn(1, 8, dtype=torch.float64)
    base = torch.randn(1, 8, dtype=torch.float64)
    exact = ShapleyValues(model).attribute(x, baselines=base, perturbations_per_eval=64)
    torch.manual_seed(1)
    estimate = KernelShap(model).attribute(
        x, baselines=base, n_samples=60, exact=False, perturbations_per_eval=64
    )
    torch.testing.assert_close(estimate, exact, atol=1e-4, rtol=0)


def test_exact_enumeration_equals_shapley_values_with_2k_evaluations():
    counter = RowCounter(make("mlp"))
    (x,) = example_inputs("mlp", batch=2)
    exact = ShapleyValues(counter).attribute(x, target=[0, 2], feature_mask=MASK6)
    counter.rows = 0
    values = KernelShap(counter).attribute(x, target=[0, 2], feature_mask=MASK6, n_samples=64)
    assert counter.rows == 64 * 2
    torch.testing.assert_close(values, exact, atol=1e-12, rtol=0)
    grouped = KernelShap(counter).attribute(
        x, target=[0, 2], feature_mask=MASK6, n_samples=100, return_input_shape=False
    )
    torch.testing.assert_close(grouped[:, [0, 1, 2, 3, 4, 5]], exact[:, [0, 2, 4, 6, 7, 8]])


def _mean_error(model, x, exact, seeds=range(12), **kwargs) -> float:
    errors = []
    for seed in seeds:
        torch.manual_seed(seed)
        estimate = KernelShap(model).attribute(
            x, target=1, feature_mask=MASK7, exact=False, perturbations_per_eval=256, **kwargs
        )
        errors.append((estimate - exact).norm().item())
    return sum(errors) / len(errors)


def test_half_the_evaluations_reach_captums_error():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=1)
    exact = ShapleyValues(model).attribute(x, target=1, feature_mask=MASK7)
    captum_error = _mean_error(model, x, exact, n_samples=100)
    half_antithetic = _mean_error(model, x, exact, n_samples=50, antithetic=True)
    assert half_antithetic < captum_error
    # 2^7 = 128 coalitions enumerated once: exact, where Captum's sampling with 256 is not
    torch.manual_seed(0)
    enumerated = KernelShap(model).attribute(x, target=1, feature_mask=MASK7, n_samples=128)
    torch.testing.assert_close(enumerated, exact, atol=1e-12, rtol=0)
    assert _mean_error(model, x, exact, seeds=range(3), n_samples=256) > 1e-4


def test_aggregate_model_gets_one_row():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=3)

    def total(inputs):
        return model(inputs)[:, 0].sum()

    torch.manual_seed(4)
    ours = KernelShap(total).attribute(x, feature_mask=MASK7, n_samples=30, exact=False)
    torch.manual_seed(4)
    theirs = captum_attr.KernelShap(total).attribute(x, feature_mask=MASK7, n_samples=30)
    assert ours.shape == theirs.shape == (1, 10)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


def test_bad_arguments_raise():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=1)
    with pytest.raises(ValueError, match="n_samples"):
        KernelShap(model).attribute(x, target=0, n_samples=-1)
    with pytest.raises(ValueError, match="one value per example"):
        KernelShap(model).attribute(x, feature_mask=MASK7, n_samples=10, exact=False)


def test_evaluates_as_many_rows_as_captum_reusing_f_of_x_for_the_full_coalition():
    """Captum's first coalition is the full one, F(x): mmattr reuses the F(x) its setup already
    computed, so both spend n_samples model rows, and the values stay equal."""
    (x,) = example_inputs("mlp", batch=1)
    counted = {name: RowCounter(make("mlp")) for name in ("mmattr", "captum")}
    kwargs = dict(target=1, feature_mask=MASK7, n_samples=25)
    torch.manual_seed(5)
    ours = KernelShap(counted["mmattr"]).attribute(x, exact=False, **kwargs)
    torch.manual_seed(5)
    theirs = captum_attr.KernelShap(counted["captum"]).attribute(x, **kwargs)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)  # Captum: float32
    assert counted["mmattr"].rows == counted["captum"].rows == 25
