"""Issue 14: pointing game, relevance mass, relevance rank accuracy, AUROC, sparseness and
complexity against known answers and a literal implementation."""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.metrics import roc_auc_score

from mmattr.metrics import (
    auroc,
    chance_rate,
    complexity,
    pointing_game,
    relevance_mass,
    relevance_rank_accuracy,
    sparseness,
)


def _masks(batch: int = 6, size: int = 10) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    masks = torch.zeros(batch, size, size)
    for index in range(batch):
        top, left = torch.randint(0, size - 4, (2,), generator=generator).tolist()
        masks[index, top : top + 2 + index % 3, left : left + 3] = 1
    return masks


def test_pointing_game_of_the_mask_is_one_and_of_a_constant_map_is_chance() -> None:
    masks = _masks()
    torch.testing.assert_close(pointing_game(masks, masks), torch.ones(6, dtype=torch.float64))
    constant = pointing_game(torch.ones(6, 3, 10, 10), masks)
    torch.testing.assert_close(constant, masks.flatten(1).mean(1).double())
    torch.testing.assert_close(chance_rate(masks), constant)
    outside = pointing_game(1 - masks[:, None].expand(6, 3, 10, 10), masks)
    torch.testing.assert_close(outside, torch.zeros(6, dtype=torch.float64))


def test_relevance_mass_and_rank_accuracy() -> None:
    masks = _masks()
    heat = masks * 3 + 1  # every element positive, the mask's three times as strong
    inside = masks.flatten(1).sum(1)
    expected_mass = 4 * inside / (4 * inside + (100 - inside))
    torch.testing.assert_close(relevance_mass(heat, masks), expected_mass.double())
    torch.testing.assert_close(relevance_mass(-heat, masks), torch.zeros(6, dtype=torch.float64))
    torch.testing.assert_close(
        relevance_rank_accuracy(heat, masks), torch.ones(6, dtype=torch.float64)
    )
    half = masks.clone()
    half[:, :, 5:] = 0  # a map that marks only the mask's left half (where it lies there)
    expected_rank = half.flatten(1).sum(1) / inside
    torch.testing.assert_close(relevance_rank_accuracy(half + 0.0, masks), expected_rank.double())


def test_auroc_equals_sklearn_with_ties() -> None:
    masks = _masks()
    heat = torch.randint(0, 4, (6, 10, 10), generator=torch.Generator().manual_seed(1)).float()
    heat = heat + 2 * masks
    ours = auroc(heat, masks)
    for index in range(6):
        expected = roc_auc_score(masks[index].flatten().numpy(), heat[index].flatten().numpy())
        assert ours[index].item() == pytest.approx(expected, abs=1e-12)
    torch.testing.assert_close(
        auroc(torch.zeros(6, 10, 10), masks), torch.full((6,), 0.5, dtype=torch.float64)
    )


def test_sparseness_and_complexity_known_answers() -> None:
    one_hot = torch.zeros(2, 50)
    one_hot[:, 7] = -3.0
    uniform = torch.ones(2, 50)
    assert sparseness(one_hot).tolist() == pytest.approx([49 / 50] * 2)
    assert sparseness(uniform).tolist() == pytest.approx([0.0, 0.0])
    assert complexity(one_hot).tolist() == pytest.approx([0.0, 0.0])
    assert complexity(uniform).tolist() == pytest.approx([math.log(50)] * 2)
    values = torch.rand(1, 30, generator=torch.Generator().manual_seed(2))
    ordered = values.abs().sort().values[0].double()  # the literal Gini formula
    n = 30
    literal = sum((2 * k - n - 1) * ordered[k - 1] for k in range(1, n + 1)) / (n * ordered.sum())
    assert sparseness(values).item() == pytest.approx(float(literal))


def test_bad_masks_and_maps_are_named() -> None:
    masks = _masks()
    with pytest.raises(ValueError, match=r"masks has shape \(6, 9, 10\); expected the shape"):
        pointing_game(torch.zeros(6, 3, 10, 10), masks[:, :9])
    with pytest.raises(ValueError, match=r"masks has shape \(5, 10, 10\)"):
        auroc(torch.zeros(6, 10, 10), masks[:5])
    empty = masks.clone()
    empty[2] = 0
    with pytest.raises(ValueError, match=r"masks\[2\] has no ground-truth element"):
        relevance_mass(torch.zeros(6, 10, 10), empty)
    with pytest.raises(ValueError, match=r"expected a tensor \(batch, ...\)"):
        sparseness(torch.zeros(4))
