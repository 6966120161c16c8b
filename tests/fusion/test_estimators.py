"""Modality contributions against hand-built oracles."""

from __future__ import annotations

from itertools import permutations

import pytest
import torch

from mmattr.fusion import explain
from tests.fusion._models import Additive, Mixed, Xor

ALL = ("attribution_share", "modality_shapley", "mm_shap", "leave_one_out")


def _inputs(batch: int = 1) -> dict[str, torch.Tensor]:
    torch.manual_seed(3)
    return {
        "text": torch.randn(batch, 4, dtype=torch.float64),
        "image": torch.randn(batch, 3, dtype=torch.float64),
    }


@pytest.mark.parametrize("method", ["integrated_gradients", "saliency"])
def test_ignored_modality_contributes_exactly_zero(method: str) -> None:
    result = explain(
        Additive(text_weight=0.0),
        _inputs(),
        method=method,
        target=1,
        contributions=ALL,
        mm_shap_permutations=4,
    )
    for name, contribution in result.contributions.items():
        assert contribution.values["text"] == 0.0, name
        assert contribution.shares["image"] == pytest.approx(1.0), name
    assert result.contributions["modality_shapley"].interactions[("text", "image")] == 0.0


def test_additive_model_shares_equal_closed_form() -> None:
    model, inputs = Additive(), _inputs()
    result = explain(model, inputs, target=0, contributions=ALL, mm_shap_permutations=4)
    with torch.no_grad():
        text_part = torch.tanh(model.g(inputs["text"]))[0, 0] - torch.tanh(model.g.bias)[0]
        image_part = model.h(inputs["image"])[0, 0] ** 2 - model.h.bias[0] ** 2
    total = abs(text_part) + abs(image_part)
    expected = {"text": float(abs(text_part) / total), "image": float(abs(image_part) / total)}
    for name in ("modality_shapley", "leave_one_out"):
        shares = result.contributions[name].shares
        assert shares == pytest.approx(expected, rel=1e-9), name
    shapley = result.contributions["modality_shapley"]
    assert shapley.interactions[("text", "image")] == pytest.approx(0.0, abs=1e-12)
    assert shapley.values["text"] == pytest.approx(float(text_part), rel=1e-9)
    assert shapley.evaluations == 4
    # IG on an additive model: each modality's sum is its own path integral, up to Riemann error
    share = result.contributions["attribution_share"]
    assert share.values["text"] == pytest.approx(float(text_part), rel=1e-3)
    assert abs(share.extra["completeness_gap"]) < 1e-3


def test_xor_interaction_dominates() -> None:
    inputs = {"text": torch.ones(1, 2), "image": torch.ones(1, 2)}
    shapley = explain(Xor(), inputs, contributions=("modality_shapley", "leave_one_out"))
    values = shapley.contributions["modality_shapley"]
    assert values.interactions[("text", "image")] == pytest.approx(4.0)
    assert values.values == pytest.approx({"text": 2.0, "image": 2.0})
    assert abs(values.interactions[("text", "image")]) > max(map(abs, values.values.values()))
    # leaving either modality out loses the whole output
    assert shapley.contributions["leave_one_out"].values == pytest.approx({"text": 4, "image": 4})


def _literal_shapley(value, players):
    """Average marginal contribution over all orderings (the definition)."""
    phi = dict.fromkeys(players, 0.0)
    orders = list(permutations(players))
    for order in orders:
        present: set[str] = set()
        for player in order:
            phi[player] += value(present | {player}) - value(present)
            present.add(player)
    return {p: v / len(orders) for p, v in phi.items()}


def test_three_modalities_match_literal_shapley_and_batch_mean() -> None:
    torch.manual_seed(4)
    weights = torch.randn(3, 3, dtype=torch.float64)

    def model(a, b, c):
        x = torch.cat([a, b, c], dim=1)
        return (x @ weights * x).sum(1, keepdim=True) + torch.sin(x).prod(1, keepdim=True)

    inputs = {n: torch.randn(2, 1, dtype=torch.float64) for n in "abc"}
    result = explain(model, inputs, method="saliency", contributions=("modality_shapley",))
    got = result.contributions["modality_shapley"]

    def value(present):
        rows = {n: t if n in present else torch.zeros_like(t) for n, t in inputs.items()}
        return float(model(**rows).mean())

    assert got.values == pytest.approx(_literal_shapley(value, list("abc")), rel=1e-10)
    assert sum(got.values.values()) == pytest.approx(value(set("abc")) - value(set()), rel=1e-10)
    assert got.evaluations == 8 * 2


def _exact_feature_shares(model, inputs) -> dict[str, float]:
    x = torch.cat([inputs["text"], inputs["image"]], dim=1)[0]
    players = list(range(x.numel()))

    def value(present):
        keep = torch.tensor([i in present for i in players])
        z = torch.where(keep, x, torch.zeros_like(x)).unsqueeze(0)
        with torch.no_grad():
            return float(model(z[:, :3], z[:, 3:]))

    phi = _literal_shapley(value, players)
    text, image = sum(abs(phi[i]) for i in range(3)), sum(abs(phi[i]) for i in range(3, 6))
    return {"text": text / (text + image), "image": image / (text + image)}


def test_mm_shap_within_002_of_exact_feature_shapley_share() -> None:
    torch.manual_seed(5)
    model = Mixed()
    inputs = {
        "text": torch.randn(1, 3, dtype=torch.float64),
        "image": torch.randn(1, 3, dtype=torch.float64),
    }
    exact = _exact_feature_shares(model, inputs)
    result = explain(model, inputs, contributions=("mm_shap",), mm_shap_permutations=40)
    estimate = result.contributions["mm_shap"]
    assert estimate.shares["text"] == pytest.approx(exact["text"], abs=0.02)
    assert sum(estimate.shares.values()) == pytest.approx(1.0)
    assert estimate.evaluations == 40 * 7


def test_mm_shap_is_exact_on_a_linear_model_over_a_batch() -> None:
    torch.manual_seed(11)
    w_text, w_image = torch.randn(4, dtype=torch.float64), torch.randn(3, dtype=torch.float64)

    def linear(text, image):
        return (text @ w_text + image @ w_image).unsqueeze(1)

    inputs = _inputs(batch=2)
    result = explain(
        linear, inputs, method="saliency", contributions=("mm_shap",), mm_shap_permutations=2
    )
    got = result.contributions["mm_shap"]
    expected_text = float((inputs["text"] * w_text).abs().sum(1).mean())
    expected_image = float((inputs["image"] * w_image).abs().sum(1).mean())
    assert got.values == pytest.approx({"text": expected_text, "image": expected_image}, rel=1e-10)
    assert got.extra["signed"]["text"] == pytest.approx(float((inputs["text"] @ w_text).mean()))
    assert got.evaluations == 2 * 2 * 8
