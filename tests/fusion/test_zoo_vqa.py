"""Modality contributions on the zoo's trained VQA model, against its question families:
image-only questions lean on the image, text-only questions on the text, mixed ones on both.

The value explained is the probability of the predicted answer (MM-SHAP's convention): logits
have no fixed scale, so a modality that only sharpens an already certain answer would otherwise
look as if it mattered."""

from __future__ import annotations

import pytest

from mmattr import zoo
from mmattr.adapters import ImageAdapter, TokenAdapter
from mmattr.fusion import explain

FAMILY_SHARES = {"image": ("image", 0.9), "text": ("question", 0.9)}
N_PER_FAMILY = 8


@pytest.fixture(scope="module")
def vqa():
    return zoo.load("vqa")


def probabilities(model):
    """The model's answer probabilities, the value the contributions are measured on."""
    return lambda image, question: model(image=image, question=question).softmax(-1)


@pytest.fixture(scope="module")
def shares_by_family(vqa):
    """Mean modality shares per group and estimator over held-out examples; the groups are the
    families, with ``both`` split by answer ("both/yes", "both/no")."""
    shares: dict = {}
    for example in vqa.make_data(3 * N_PER_FAMILY, seed=424_242):
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
            forward=probabilities(vqa.model),
            contributions=("modality_shapley", "mm_shap"),
            mm_shap_permutations=10,
        )
        group = example["family"]
        group += f"/{example['answer']}" if group == "both" else ""
        for estimator, contribution in explanation.contributions.items():
            shares.setdefault(group, {}).setdefault(estimator, []).append(contribution.shares)
    return {
        group: {
            estimator: {m: sum(s[m] for s in rows) / len(rows) for m in ("image", "question")}
            for estimator, rows in by_estimator.items()
        }
        for group, by_estimator in shares.items()
    }


@pytest.mark.parametrize("estimator", ["modality_shapley", "mm_shap"])
@pytest.mark.parametrize("family", ["image", "text"])
def test_single_modality_families_lean_on_their_modality(shares_by_family, family, estimator):
    modality, threshold = FAMILY_SHARES[family]
    assert shares_by_family[family][estimator][modality] >= threshold


@pytest.mark.parametrize("estimator", ["modality_shapley", "mm_shap"])
def test_questions_needing_both_use_both(shares_by_family, estimator):
    """A "yes" to "is there a red circle ?" needs the question and the image: both above 0.2."""
    shares = shares_by_family["both/yes"][estimator]
    assert min(shares.values()) > 0.2, shares


def test_a_no_owes_nothing_to_the_image_relative_to_a_black_one(shares_by_family):
    """A "no" to "is there a red circle ?": a black image (the image's baseline) holds no red
    circle either, so with whole modalities as players the question takes the credit."""
    assert shares_by_family["both/no"]["modality_shapley"]["question"] >= 0.9


def test_text_questions_ignore_the_image_exactly_enough_for_interaction_to_be_small(vqa):
    """On a text-only question the pairwise interaction is small next to the text's value."""
    example = next(e for e in vqa.make_data(9, seed=5) if e["family"] == "text")
    explanation = explain(
        vqa.model,
        {"image": example["image"][None], "question": example["question_ids"][None]},
        adapters={"question": TokenAdapter(vqa.vocab, vqa.pad_id)},
        method="saliency",
        target="predicted",
        forward=probabilities(vqa.model),
        contributions=("modality_shapley",),
    )
    result = explanation.contributions["modality_shapley"]
    interaction = abs(next(iter(result.interactions.values())))
    assert interaction < 0.2 * abs(result.values["question"])
    assert result.evaluations == 4  # 2^M coalitions, M = 2
