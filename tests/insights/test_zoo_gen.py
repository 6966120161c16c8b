"""The ``story-lm`` explorer: its views are ``LLMAttribution(FeatureAblation)``'s numbers for
the generated or the true answer, and on every held-out story the answer's own token in the
fact sentence ranks first (the ground truth of tests/generation/test_story_lm.py)."""

from __future__ import annotations

import pytest
import torch

import mmattr
from mmattr import zoo
from mmattr.insights._settings import InsightsError
from tests.insights.conftest import zoo_explorer


@pytest.fixture(scope="module")
def story():
    yield from zoo_explorer("story-lm")


@pytest.fixture(scope="module")
def bundle():
    return zoo.load("story-lm")


def test_rows_are_prompts_true_and_generated_answers(story, bundle):
    rows = story.examples()
    assert [r["title"] for r in rows] == [e["prompt"] for e in bundle.examples]
    assert [r["label_name"] for r in rows] == [e["answer"] for e in bundle.examples]
    assert all(r["correct"] for r in rows) and len(rows) == 8
    assert rows[0]["prediction_name"] == "delhi"
    assert list(story.state()["methods"]) == ["feature_ablation"]


@pytest.mark.parametrize("target", ["predicted", 1])
def test_view_numbers_are_llm_attributions(story, bundle, target):
    example = bundle.examples[2]
    view = story.view({"example": 2, "method": "feature_ablation", "target": target})
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(bundle.model), bundle.tokenizer)
    expected = llm_attr.attribute(
        mmattr.TextTokenInput(example["prompt"], bundle.tokenizer), example["answer"]
    )
    prompt, table = view["modalities"]
    assert view["target"] == example["answer"] == "paris"
    torch.testing.assert_close(
        torch.tensor(prompt["values"], dtype=torch.float64),
        expected.seq_attr.double(),
        rtol=0,
        atol=1e-6,
    )
    torch.testing.assert_close(
        torch.tensor(table["values"], dtype=torch.float64),
        expected.token_attr.double(),
        rtol=0,
        atol=1e-6,
    )
    assert prompt["total"] == pytest.approx(float(expected.seq_attr.sum()), abs=1e-6)
    assert table["data"].count("<td ") == len(expected.input_tokens) == 20
    assert view["evaluations"] >= 1 and view["contributions"] == {}


def test_the_answer_token_of_the_fact_ranks_first_on_every_held_out_story(story, bundle):
    for index, example in enumerate(bundle.examples):
        view = story.view({"example": index, "method": "feature_ablation"})
        values = torch.tensor(view["modalities"][0]["values"])
        top = int(values.argmax())
        fact = int(example["fact"])
        start = sum(len(s.split()) for s in example["sentences"][:fact])
        fact_words = example["sentences"][fact].split()
        assert start <= top < start + len(fact_words), (index, top)
        assert example["prompt"].split()[top] == example["answer"]
        assert float(values[top]) > 0  # removing it lowers the answer's log-probability


def test_methods_without_meaning_for_generation_are_refused(story):
    with pytest.raises(InsightsError, match="method"):
        story.view({"example": 0, "method": "integrated_gradients"})


def test_the_save_export_is_refused_with_the_exports_that_work(story):
    """A generative view's result is an LLMAttributionResult (no Explanation.save): the export
    says so and names the PNG and HTML exports, also after the view is computed."""
    settings = story.settings({"example": 0, "method": "feature_ablation"})
    story.view({"example": 0, "method": "feature_ablation"})
    with pytest.raises(InsightsError, match="not available for a generative model's view; use "):
        story.export(settings)


@pytest.fixture(scope="module")
def vqa_gen():
    yield from zoo_explorer("vqa-gen")


def test_vqa_gen_view_numbers_are_the_demos_llm_attributions(vqa_gen):
    from mmattr.demo.generation import vqa_input, vqa_llm_attr

    bundle, example = vqa_gen.bundle, vqa_gen.bundle.examples[3]
    view = vqa_gen.view({"example": 3, "method": "feature_ablation"})
    inp = vqa_input(bundle, example["image"], example["question"])
    expected = vqa_llm_attr(bundle).attribute(inp, "cross")
    assert view["target"] == example["answer"] == "cross"
    image, words, table = view["modalities"]
    assert image["kind"] == "image" and image["data"].startswith("data:image/png;base64,")
    seq_attr = expected.seq_attr.double()
    got = torch.tensor(image["values"] + words["values"], dtype=torch.float64)
    torch.testing.assert_close(got, seq_attr, rtol=0, atol=1e-6)
    torch.testing.assert_close(
        torch.tensor(table["values"], dtype=torch.float64),
        expected.token_attr.double(),
        rtol=0,
        atol=1e-6,
    )
    assert image["total"] == pytest.approx(float(seq_attr[:16].sum()), abs=1e-6)


def test_vqa_gen_rows_and_the_top_patch_is_on_the_object(vqa_gen):
    """7 of the 8 held-out answers are right (the first image question: "cross" for a
    square); on each image question the most positive patch overlaps the object."""
    from mmattr.demo.generation import PATCHES

    rows = vqa_gen.examples()
    assert [r["correct"] for r in rows] == [False] + [True] * 7
    assert (rows[0]["label_name"], rows[0]["prediction_name"]) == ("square", "cross")
    images = [i for i, e in enumerate(vqa_gen.bundle.examples) if e["family"] == "image"]
    assert images == [0, 3, 6]
    for index in images:
        view = vqa_gen.view({"example": index, "method": "feature_ablation", "target": 1})
        top = int(torch.tensor(view["modalities"][0]["values"]).argmax())
        assert vqa_gen.dataset[index]["mask"][PATCHES == top].any(), index
