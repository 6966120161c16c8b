"""Modality contributions on the zoo's trained VQA model, against its question families:
image-only questions lean on the image, text-only questions on the text, mixed ones on both."""

from __future__ import annotations

import pytest
import torch

from mmattr import zoo
from mmattr.adapters import ImageAdapter, TokenAdapter
from mmattr.fusion import explain

FAMILY_SHARES = {"image": ("image", 0.9), "text": ("question", 0.9)}
N_PER_FAMILY = 6


@pytest.fixture(scope="module")
def vqa():
    return zoo.load("vqa")


@pytest.fixture(scope="module")
def shares_by_family(vqa):
    """Mean modality shares per family and estimator over held-out examples."""
    examples = vqa.make_data(3 * N_PER_FAMILY, seed=424_242)
    totals: dict = {}
    for example in examples:
        adapters = {
            "image": ImageAdapter(segmentation="grid", n_segments=16),
            "question": TokenAdapter(vqa.vocab, vqa.pad_id),
        }
        explanation = explain(
            vqa.model,
            {"image": example["image"][None], "question": example["question_ids"][None]},
            adapters=adapters,
            method="saliency",
            target="predicted",
            contributions=("modality_shapley", "mm_shap"),
            mm_shap_permutations=10,
        )
        family = totals.setdefault(example["family"], {})
        for estimator, contribution in explanation.contributions.items():
            sums = family.setdefault(estimator, {"image": 0.0, "question": 0.0})
            for name, share in contribution.shares.items():
                sums[name] += share / N_PER_FAMILY
    return totals


@pytest.mark.parametrize("estimator", ["modality_shapley", "mm_shap"])
@pytest.mark.parametrize("family", ["image", "text"])
def test_single_modality_families_lean_on_their_modality(shares_by_family, family, estimator):
    modality, threshold = FAMILY_SHARES[family]
    assert shares_by_family[family][estimator][modality] >= threshold


@pytest.mark.parametrize("estimator", ["modality_shapley", "mm_shap"])
def test_questions_needing_both_use_both(shares_by_family, estimator):
    shares = shares_by_family["both"][estimator]
    assert min(shares.values()) > 0.2, shares


def test_text_questions_ignore_the_image_exactly_enough_for_interaction_to_be_small(vqa):
    """On a text-only question the pairwise interaction is small next to the text's value."""
    example = next(e for e in vqa.make_data(9, seed=5) if e["family"] == "text")
    explanation = explain(
        vqa.model,
        {"image": example["image"][None], "question": example["question_ids"][None]},
        adapters={"question": TokenAdapter(vqa.vocab, vqa.pad_id)},
        method="saliency",
        target="predicted",
        contributions=("modality_shapley",),
    )
    result = explanation.contributions["modality_shapley"]
    interaction = abs(next(iter(result.interactions.values())))
    assert interaction < 0.2 * abs(result.values["question"])
    assert result.evaluations == 4  # 2^M coalitions, M = 2
