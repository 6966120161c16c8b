"""ShapleyValues (exact, 2^k coalitions) and ShapleyValueSampling: parity with Captum 0.9,
evaluation counts, the Shapley axioms, and the antithetic estimator's error."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch

from mmattr.engine.perturbation import ShapleyValues, ShapleyValueSampling
from tests.helpers.checks import RowCounter
from tests.helpers.models import example_inputs, make

MASK6 = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 4, 5, 5]])
MASK7 = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 4, 5, 6]])


class Interactions(torch.nn.Module):
    """``F(x) = Σ a_j x_j + x0·x1 + x2·x3`` (at most pairwise), ignoring ``x5``; symmetric
    in ``x0, x1`` when they are equal."""

    def forward(self, x):
        a = torch.tensor([1.0, 1.0, 0.5, -2.0, 3.0, 0.0], dtype=x.dtype)
        return x @ a + x[:, 0] * x[:, 1] + torch.tanh(x[:, 2] * x[:, 3])


def test_exact_matches_captum_with_batch_targets_and_baselines():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=3)
    base = torch.randn(1, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 3, 4, 4]])
    kwargs = dict(baselines=base, target=[0, 1, 2], feature_mask=mask)
    ours = ShapleyValues(model).attribute(x, perturbations_per_eval=5, **kwargs)
    theirs = captum_attr.ShapleyValues(model).attribute(x, perturbations_per_eval=5, **kwargs)
    assert ours.shape == theirs.shape == x.shape
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-5, rtol=0)


def test_exact_matches_captum_groups_across_two_inputs():
    model = make("two_inputs")
    inputs = example_inputs("two_inputs", batch=2)
    masks = (torch.tensor([[0, 0, 1, 1, 2, 2]]), torch.tensor([[2, 3, 3, 0]]))
    ours = ShapleyValues(model).attribute(inputs, target=1, feature_mask=masks)
    theirs = captum_attr.ShapleyValues(model).attribute(inputs, target=1, feature_mask=masks)
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine, reference.to(mine.dtype), atol=1e-5, rtol=0)


def test_exact_matches_captum_for_a_model_returning_one_value_per_batch():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=3)

    def total(inputs):
        return model(inputs)[:, 0].sum()

    mask = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 3, 3, 1]])
    ours = ShapleyValues(total).attribute(x, feature_mask=mask)
    theirs = captum_attr.ShapleyValues(total).attribute(x, feature_mask=mask)
    assert ours.shape == theirs.shape == (1, 10)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-5, rtol=0)


@pytest.mark.parametrize("per_eval", [1, 7, "auto"])
def test_exact_evaluates_each_coalition_once(per_eval):
    counter = RowCounter(make("mlp"))
    (x,) = example_inputs("mlp", batch=2)
    ShapleyValues(counter).attribute(
        x, target=0, feature_mask=MASK7, perturbations_per_eval=per_eval
    )
    assert counter.rows == 2**7 * 2  # Captum: 7! · 7 + 1 = 35,281 evaluations
    if per_eval == 1:
        assert counter.calls == 2**7


def test_exact_shapley_axioms():
    model = Interactions().double()
    x = torch.tensor([[0.7, 0.7, -1.2, 0.4, 2.0, 5.0]], dtype=torch.float64)
    base = torch.tensor([[0.1, 0.1, 0.3, -0.5, 0.2, -1.0]], dtype=torch.float64)
    phi = ShapleyValues(model).attribute(x, baselines=base)
    torch.testing.assert_close(phi.sum(1), model(x) - model(base), atol=1e-12, rtol=0)
    torch.testing.assert_close(phi[0, 0], phi[0, 1], atol=1e-12, rtol=0)  # symmetry
    assert abs(phi[0, 5].item()) < 1e-12  # dummy
    # ground truth: a_j (x_j − b_j), plus ½(x0 − b0)(x1 + b1) from the product x0·x1
    linear = torch.tensor([1.0, 1.0, 0.5, -2.0, 3.0, 0.0], dtype=torch.float64) * (x - base)[0]
    pair = 0.5 * ((x[0, 0] - base[0, 0]) * (x[0, 1] + base[0, 1])).item()
    assert phi[0, 4].item() == pytest.approx(linear[4].item(), abs=1e-12)
    assert phi[0, 0].item() == pytest.approx(linear[0].item() + pair, abs=1e-12)


def test_sampling_matches_captum_given_the_same_seed():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=2)
    torch.manual_seed(3)
    ours = ShapleyValueSampling(model).attribute(x, target=1, feature_mask=MASK6, n_samples=6)
    torch.manual_seed(3)
    theirs = captum_attr.ShapleyValueSampling(model).attribute(
        x, target=1, feature_mask=MASK6, n_samples=6
    )
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-5, rtol=0)


def test_sampling_default_mask_and_tuple_inputs_match_captum():
    model = make("two_inputs")
    inputs = example_inputs("two_inputs", batch=2)
    torch.manual_seed(5)
    ours = ShapleyValueSampling(model).attribute(inputs, target=0, n_samples=3)
    torch.manual_seed(5)
    theirs = captum_attr.ShapleyValueSampling(model).attribute(inputs, target=0, n_samples=3)
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine, reference.to(mine.dtype), atol=1e-5, rtol=0)


@pytest.mark.parametrize("antithetic", [False, True])
def test_sampling_axioms(antithetic):
    model = Interactions().double()
    x = torch.tensor([[0.7, 0.7, -1.2, 0.4, 2.0, 5.0]], dtype=torch.float64)
    torch.manual_seed(0)
    phi = ShapleyValueSampling(model).attribute(x, n_samples=4, antithetic=antithetic)
    torch.testing.assert_close(phi.sum(1), model(x) - model(torch.zeros_like(x)))  # efficiency
    assert abs(phi[0, 5].item()) < 1e-12  # dummy: no marginal contribution in any permutation
    if antithetic:  # a permutation and its reverse average pairwise terms exactly
        exact = ShapleyValues(model).attribute(x)
        torch.testing.assert_close(phi, exact, atol=1e-12, rtol=0)
        torch.testing.assert_close(phi[0, 0], phi[0, 1], atol=1e-12, rtol=0)  # symmetry


def _mean_error(model, x, exact, seeds=range(16), **kwargs) -> float:
    errors = []
    for seed in seeds:
        torch.manual_seed(seed)
        estimate = ShapleyValueSampling(model).attribute(
            x, target=1, feature_mask=MASK7, perturbations_per_eval=256, **kwargs
        )
        errors.append((estimate - exact).norm().item())
    return sum(errors) / len(errors)


def test_antithetic_sampling_beats_captum_at_equal_and_at_half_the_evaluations():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=1)
    exact = ShapleyValues(model).attribute(x, target=1, feature_mask=MASK7)
    plain = _mean_error(model, x, exact, n_samples=20)  # Captum's estimator: 20·7+1 evaluations
    paired = _mean_error(model, x, exact, n_samples=20, antithetic=True)
    half = _mean_error(model, x, exact, n_samples=10, antithetic=True)  # 10·6+2 evaluations
    assert paired < 0.8 * plain
    assert half < plain


def test_sampling_counts_shared_coalitions_once():
    counter = RowCounter(make("mlp"))
    (x,) = example_inputs("mlp", batch=1)
    ShapleyValueSampling(counter).attribute(x, target=0, feature_mask=MASK7, n_samples=5)
    assert counter.rows == 5 * (7 - 1) + 2  # Captum: 5 · 7 + 1


def test_bad_arguments_raise():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=1)
    with pytest.raises(ValueError, match="n_samples"):
        ShapleyValueSampling(model).attribute(x, target=0, n_samples=0)
    with pytest.raises(ValueError, match="21 groups"):
        ShapleyValues(lambda t: t.sum(1)).attribute(torch.zeros(1, 21))
    with pytest.raises(ValueError, match="feature_mask"):
        ShapleyValues(model).attribute(x, target=0, feature_mask=torch.tensor([[0, 2] * 5]))
