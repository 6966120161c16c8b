"""Issue 14: deletion/insertion curves, AOPC/AUC, ROAD and faithfulness correlation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mmattr
from mmattr.metrics import (
    deletion_curve,
    faithfulness_correlation,
    impute,
    insertion_curve,
    road,
)


def _additive(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(7, generator=generator, dtype=torch.float64)
    x = torch.randn(3, 7, generator=generator, dtype=torch.float64)
    baseline = torch.randn(1, 7, generator=generator, dtype=torch.float64)
    return (lambda z: (z * weights).sum(1, keepdim=True) + 0.25), x, baseline


def test_deletion_curve_of_exact_shapley_on_an_additive_model_is_the_closed_form() -> None:
    """φ_i = w_i (x_i − b_i); deleting the k largest leaves f(x) − Σ_{top k} φ."""
    model, x, baseline = _additive()
    phi = mmattr.ShapleyValues(model).attribute(x, baseline, target=0)
    curve = deletion_curve(model, x, phi, baseline, target=0, max_examples_per_batch=5)
    top_first = phi.sort(dim=1, descending=True).values
    removed = torch.cat([torch.zeros(3, 1, dtype=phi.dtype), top_first.cumsum(1)], dim=1)
    expected = model(x) - removed
    torch.testing.assert_close(curve.scores, expected)
    torch.testing.assert_close(curve.fractions, torch.linspace(0, 1, 8, dtype=torch.float64))
    torch.testing.assert_close(curve.aopc, removed.mean(1))
    torch.testing.assert_close(curve.auc, torch.trapezoid(expected, curve.fractions, dim=1))


def test_insertion_least_first_and_groups_follow_the_closed_form() -> None:
    model, x, baseline = _additive(1)
    phi = mmattr.ShapleyValues(model).attribute(x, baseline, target=0)
    mask = torch.tensor([[0, 0, 1, 1, 2, 2, 2]])  # 3 groups
    curve = insertion_curve(model, x, phi, baseline, target=0, feature_mask=mask, order="least")
    groups = torch.stack([phi[:, :2].sum(1), phi[:, 2:4].sum(1), phi[:, 4:].sum(1)], dim=1)
    added = torch.cat([torch.zeros(3, 1, dtype=phi.dtype), groups.sort(1).values.cumsum(1)], 1)
    start = model(baseline.expand_as(x))
    torch.testing.assert_close(curve.scores, start + added)
    torch.testing.assert_close(curve.aopc, added.mean(1))


def test_deletion_curve_tuple_inputs_and_steps() -> None:
    torch.manual_seed(0)
    net = torch.nn.Bilinear(4, 3, 2)
    a, b = torch.randn(2, 4), torch.randn(2, 3)
    attributions = mmattr.Saliency(net).attribute((a, b), target=1)
    curve = deletion_curve(net, (a, b), attributions, target=1, n_steps=2)
    assert curve.scores.shape == (2, 3)
    torch.testing.assert_close(curve.scores[:, 0].float(), net(a, b)[:, 1])
    torch.testing.assert_close(curve.scores[:, -1].float(), net(a * 0, b * 0)[:, 1])


def test_faithfulness_correlation_is_one_for_shapley_on_an_additive_model() -> None:
    model, x, baseline = _additive(2)
    phi = mmattr.ShapleyValues(model).attribute(x, baseline, target=0)
    value = faithfulness_correlation(model, x, phi, baseline, target=0, n_samples=20)
    shuffled = faithfulness_correlation(model, x, phi.flip(1), baseline, target=0, n_samples=20)
    torch.testing.assert_close(value, torch.ones(3, dtype=torch.float64))
    assert shuffled.max() < 0.9


def test_impute_is_exact_on_a_linear_ramp_and_road_ranks_most_before_least() -> None:
    ramp = torch.linspace(0, 1, 16)[None, None].expand(2, 16, 16).clone()
    removed = torch.zeros(16, 16, dtype=torch.bool)
    removed[4:12, 3:9] = True
    filled = impute(ramp, removed, 0.0, np.random.default_rng(0))
    torch.testing.assert_close(filled, ramp, atol=1e-5, rtol=0)
    # a bright 3×3 block on black: imputation from its black neighbours erases it
    images = torch.zeros(3, 1, 16, 16)
    images[:, :, 12:15, 11:14] = torch.tensor([1.0, 2.0, 3.0])[:, None, None, None]

    def model(z):
        return z.sum((1, 2, 3))[:, None] * 10

    most = road(model, images, images, target=0, fractions=(0.25, 0.5), noise_std=0.0)
    least = road(
        model, images, images, target=0, fractions=(0.25, 0.5), order="least", noise_std=0.0
    )
    torch.testing.assert_close(most.scores[:, 1:], torch.zeros(3, 2, dtype=torch.float64))
    torch.testing.assert_close(least.scores[:, 1:], most.scores[:, :1].expand(3, 2))


def test_bad_curve_arguments_are_named() -> None:
    model, x, baseline = _additive()
    with pytest.raises(ValueError, match=r"attributions has shape \(3, 6\); expected \(3, 7\)"):
        deletion_curve(model, x, torch.zeros(3, 6), target=0)
    with pytest.raises(ValueError, match="order is 'top'"):
        deletion_curve(model, x, x, target=0, order="top")
    with pytest.raises(ValueError, match="n_steps=0"):
        insertion_curve(model, x, x, target=0, n_steps=0)
    with pytest.raises(ValueError, match=r"fractions is \[0.5, 1.0\]"):
        road(model, torch.zeros(1, 1, 8, 8), torch.zeros(1, 8, 8), fractions=(0.5, 1.0))
    with pytest.raises(ValueError, match="subset_size=9"):
        faithfulness_correlation(model, x, x, target=0, subset_size=9)
