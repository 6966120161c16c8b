"""Lime: parity with Captum 0.9 given the same seed or the same injected functions, the torch
Lasso and linear regression against sklearn, and Captum's interpretable models accepted."""

from __future__ import annotations

import types

import captum.attr as captum_attr
import numpy as np
import pytest
import torch
from captum._utils.models.linear_model import SkLearnLasso, SkLearnLinearRegression
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import LinearRegression as SkLinearRegression

from mmattr.engine.perturbation import Lime
from mmattr.engine.perturbation._linear_models import Lasso, LinearRegression
from tests.helpers.models import example_inputs, make

MASK6 = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 4, 5, 5]])

pytestmark = pytest.mark.filterwarnings("ignore:You are providing multiple inputs")


def _regression_problem(seed: int, n: int, k: int):
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, k, generator=generator) > 0.5).double()
    coef = torch.randn(k, generator=generator, dtype=torch.float64)
    y = x @ coef + 0.1 * torch.randn(n, generator=generator, dtype=torch.float64)
    weights = torch.rand(n, generator=generator, dtype=torch.float64) + 0.05
    return x, y, weights


def _sklearn_objective(x, y, weights, coef, intercept, alpha):
    residual = y - x @ coef - intercept
    return (weights * residual**2).sum() / (2 * weights.sum()) + alpha * np.abs(coef).sum()


@pytest.mark.parametrize("seed, n, k", [(0, 25, 10), (1, 50, 30), (2, 200, 12), (3, 20, 40)])
def test_lasso_matches_sklearn(seed, n, k):
    x, y, weights = _regression_problem(seed, n, k)
    ours = Lasso(alpha=0.01)
    ours.fit_tensors(x, y, weights)
    reference = SkLasso(alpha=0.01, max_iter=1000).fit(x.numpy(), y.numpy(), sample_weight=weights)
    coef = ours.representation()[0].numpy()
    np.testing.assert_allclose(coef, reference.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.bias().item(), reference.intercept_, atol=1e-8)
    data = (x.numpy(), y.numpy(), weights.numpy())
    mine = _sklearn_objective(*data, coef, ours.bias().item(), 0.01)
    theirs = _sklearn_objective(*data, reference.coef_, reference.intercept_, 0.01)
    assert mine == pytest.approx(theirs, abs=1e-4)


@pytest.mark.parametrize("n, k", [(60, 8), (12, 20)])
def test_linear_regression_matches_sklearn_also_underdetermined(n, k):
    x, y, weights = _regression_problem(n, n, k)
    ours = LinearRegression()
    ours.fit_tensors(x, y, weights)
    reference = SkLinearRegression().fit(x.numpy(), y.numpy(), sample_weight=weights.numpy())
    np.testing.assert_allclose(ours.representation()[0].numpy(), reference.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.bias().item(), reference.intercept_, atol=1e-8)


@pytest.mark.parametrize("batch", [1, 2])
def test_matches_captum_given_the_same_seed(batch):
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=batch)
    kwargs = dict(target=1, feature_mask=MASK6, n_samples=30)
    torch.manual_seed(3)
    ours = Lime(model).attribute(x, perturbations_per_eval=8, **kwargs)
    torch.manual_seed(3)
    theirs = captum_attr.Lime(model).attribute(x, **kwargs)
    assert ours.shape == theirs.shape == x.shape
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


def test_matches_captum_with_tuple_inputs_default_mask_and_flat_output():
    model = make("two_inputs")
    inputs = example_inputs("two_inputs", batch=1)
    kwargs = dict(baselines=(0.1, -0.2), target=0, n_samples=40, return_input_shape=False)
    torch.manual_seed(8)
    ours = Lime(model).attribute(inputs, perturbations_per_eval=16, **kwargs)
    torch.manual_seed(8)
    theirs = captum_attr.Lime(model).attribute(inputs, **kwargs)
    assert ours.shape == theirs.shape == (1, 10)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


def test_injected_functions_and_captum_models_give_captums_numbers():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=1)
    k = 6
    fixed = torch.Generator().manual_seed(0)
    coalitions = (torch.rand(40, k, generator=fixed) > 0.4).long()

    def perturb(_inputs, **kwargs):
        for row in coalitions:
            yield row[None]

    def similarity(original, perturbed, _sample, **kwargs):
        return float(torch.exp(-((original - perturbed) ** 2).sum()))

    kwargs = dict(target=2, feature_mask=MASK6, n_samples=40)
    for ours_model, their_model in [
        (Lasso(alpha=0.005), SkLearnLasso(alpha=0.005)),
        (LinearRegression(), SkLearnLinearRegression()),
        (SkLearnLasso(alpha=0.005), SkLearnLasso(alpha=0.005)),  # Captum's model inside mmattr
    ]:
        ours = Lime(model, ours_model, similarity, perturb).attribute(x, **kwargs)
        theirs = captum_attr.Lime(model, their_model, similarity, perturb).attribute(x, **kwargs)
        torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


def test_additive_model_recovered_by_unregularised_lime():
    weights = torch.tensor([0.5, -1.0, 2.0, 0.0, 1.5, -0.5], dtype=torch.float64)

    def additive(x):
        return (torch.tanh(x) * weights).sum(1)

    x = torch.tensor([[0.3, -0.8, 1.1, 0.2, -0.4, 0.9]], dtype=torch.float64)
    torch.manual_seed(0)
    coefs = Lime(additive, interpretable_model=LinearRegression()).attribute(x, n_samples=60)
    torch.testing.assert_close(coefs, torch.tanh(x) * weights, atol=1e-10, rtol=0)


def test_aggregate_model_matches_captum():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=3)

    def total(inputs):
        return model(inputs)[:, 1].sum()

    torch.manual_seed(2)
    ours = Lime(total).attribute(x, feature_mask=MASK6, n_samples=30)
    torch.manual_seed(2)
    theirs = captum_attr.Lime(total).attribute(x, feature_mask=MASK6, n_samples=30)
    assert ours.shape == theirs.shape == (1, 10)
    torch.testing.assert_close(ours, theirs.to(ours.dtype), atol=1e-4, rtol=0)


def test_bad_arguments_raise():
    model = make("mlp")
    (x,) = example_inputs("mlp", batch=1)
    with pytest.raises(ValueError, match="n_samples"):
        Lime(model).attribute(x, target=0, n_samples=0)
    with pytest.raises(ValueError, match="alpha"):
        Lasso(alpha=-1.0)
    with pytest.raises(ValueError, match="target"):
        Lime(model).attribute(x, target=7, feature_mask=MASK6)


@pytest.mark.parametrize("distance_mode", ["cosine", "euclidean"])
def test_kernel_from_group_sums_equals_the_kernel_on_the_perturbed_inputs(distance_mode):
    """The default kernel is computed from per-group sums (O(k) per sample); it equals the
    kernel of the flattened perturbed inputs, here over a tuple input and mixed baselines."""
    from mmattr.engine.perturbation._perturb import perturbed_inputs
    from mmattr.engine.perturbation.lime import ExpKernelSimilarity, _group_sums

    torch.manual_seed(0)
    inputs = (torch.randn(1, 3, 4, 4, dtype=torch.float64), torch.randn(1, 5, dtype=torch.float64))
    baselines = (0.3, torch.randn(1, 5, dtype=torch.float64))
    masks = (torch.arange(4).repeat_interleave(4).reshape(1, 1, 4, 4), torch.tensor([[4] * 5]))
    unit = types.SimpleNamespace(inputs=inputs, baselines=baselines, masks=masks, n_groups=5)
    present = torch.rand(12, 5) < 0.5
    kernel = ExpKernelSimilarity(distance_mode, kernel_width=0.75)
    mixed = perturbed_inputs(inputs, baselines, masks, present)
    flat = torch.cat([t.reshape(12, -1) for t in mixed], dim=1)
    original = torch.cat([t.reshape(-1) for t in inputs])
    torch.testing.assert_close(
        kernel.from_group_sums(_group_sums(unit), present), kernel.batched(original, flat)
    )
