"""Ground truth on the zoo's ``vqa-gen``: image vs prompt contributions (exact modality
Shapley, on answer probabilities) of held-out answers follow the question family (issue 16:
image-family answers get image share ≥ 0.9, text-family answers prompt share ≥ 0.9)."""

from __future__ import annotations

import PIL.Image
import pytest

import mmattr
from mmattr import zoo

HELD_OUT_SEED, PER_FAMILY = 31_337, 12


@pytest.fixture(scope="module")
def shares() -> dict[str, list[dict[str, float]]]:
    """Per family, the sequence's modality Shapley shares of each held-out example."""
    bundle = zoo.load("vqa-gen")
    llm_attr = mmattr.LLMAttribution(
        mmattr.FeatureAblation(bundle.model), bundle.tokenizer, attr_target="prob"
    )
    data = bundle.spec.generate(3 * PER_FAMILY, HELD_OUT_SEED)
    result: dict[str, list[dict[str, float]]] = {"image": [], "text": [], "both": []}
    for image, question, answer, family in zip(
        data["image"], data["question"], data["answer"], data["family"]
    ):
        pixels = (image.permute(1, 2, 0) * 255).round().byte().numpy()
        prompt = mmattr.TextTemplateInput("{}", [question])
        inp = mmattr.ImageTextInput(
            PIL.Image.fromarray(pixels), prompt, bundle.processor, baseline=(0, 0, 0)
        )
        contributions = mmattr.generation_contributions(llm_attr, inp, answer)
        assert contributions.output_tokens == [answer]
        result[family].append(contributions.sequence["modality_shapley"].shares)
    return result


@pytest.mark.parametrize("family, modality", [("image", "image"), ("text", "text")])
def test_single_modality_families_lean_on_their_modality(shares, family, modality):
    mean = sum(s[modality] for s in shares[family]) / len(shares[family])
    assert mean >= 0.9, f"{family} questions: mean {modality} share {mean:.3f}"


def test_questions_needing_both_use_both(shares):
    image = sum(s["image"] for s in shares["both"]) / len(shares["both"])
    assert 0.1 < image < 0.9
