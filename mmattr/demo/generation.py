"""Demo section 6: generation — which prompt tokens and image segments made a model write its
answer, and how much of each generated token came from the image and how much from the text."""

from __future__ import annotations

from typing import Any

import torch

from mmattr.demo._common import load
from mmattr.visualizers import Report, visualize_contributions

TITLE = "Generated answers: prompt tokens, image segments and modalities per generated token"

#: Seed of the held-out questions (the zoo's ground-truth tests use the same one).
HELD_OUT_SEED = 31_337


def _story(report_figures: list, facts: dict) -> None:
    """``story-lm``: feature ablation of each prompt token on the model's own answer."""
    import mmattr

    story = load("story-lm")
    data = story.spec.generate(1, HELD_OUT_SEED)
    sentences, question, fact = data["sentences"][0], data["question"][0], int(data["fact"][0])
    inp = mmattr.TextTokenInput(" ".join([*sentences, question]), story.tokenizer)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(story.model), story.tokenizer)
    result = llm_attr.attribute(inp, gen_args={"max_new_tokens": 1, "do_sample": False})
    start = sum(len(sentence.split()) for sentence in sentences[:fact])
    in_fact = range(start, start + len(sentences[fact].split()))
    top = int(result.seq_attr.argmax())
    report_figures.append(
        ("story-lm: prompt token × generated token", result.plot_token_attr()[0])
    )
    facts["story-lm: prompt → answer"] = f"{inp.to_model_input()} → {' '.join(result.output_tokens)}"
    facts["story-lm: fact sentence"] = sentences[fact]
    facts["story-lm: top prompt token"] = f"“{result.input_tokens[top]}” (position {top})"
    facts["story-lm: top token inside the fact"] = str(top in in_fact)


def _vqa_examples(bundle: Any) -> dict[str, dict[str, Any]]:
    """The first held-out image question and text question."""
    data = bundle.spec.generate(6, HELD_OUT_SEED)
    chosen: dict[str, dict[str, Any]] = {}
    for index, family in enumerate(data["family"]):
        if family in ("image", "text") and family not in chosen:
            chosen[family] = {key: data[key][index] for key in ("image", "question", "answer")}
    return chosen


def _answer(bundle: Any, model_input: dict[str, torch.Tensor]) -> str:
    """The model's answer: its most likely next token among the answers (it has no
    ``generate``; every answer is one token)."""
    ids = torch.tensor([bundle.tokens.index(answer) for answer in bundle.answers])
    with torch.no_grad():
        logits = bundle.model(**model_input).logits[0, -1, ids]
    return bundle.answers[int(logits.argmax())]


def _vqa(example: dict[str, Any], family: str, bundle: Any, figures: list, facts: dict) -> None:
    """``vqa-gen``: the image's 8×8 patches and the question's words ablated; exact modality
    Shapley of each generated token's probability."""
    import PIL.Image

    import mmattr

    pixels = (example["image"].permute(1, 2, 0) * 255).round().byte().numpy()
    patches = torch.arange(16).reshape(4, 4).repeat_interleave(8, 0).repeat_interleave(8, 1)
    words = example["question"].split()
    prompt = mmattr.TextTemplateInput(" ".join(["{}"] * len(words)), words)
    inp = mmattr.ImageTextInput(
        PIL.Image.fromarray(pixels), prompt, bundle.processor, mask=patches, baseline=(0, 0, 0)
    )
    method = mmattr.FeatureAblation(bundle.model)
    llm_attr = mmattr.LLMAttribution(method, bundle.tokenizer, attr_target="prob")
    answer = _answer(bundle, inp.to_model_input())
    result = llm_attr.attribute(inp, answer)
    contributions = mmattr.generation_contributions(llm_attr, inp, answer)
    said = f"“{example['question']}” → {' '.join(result.output_tokens)}"
    facts[f"vqa-gen {family} question → answer"] = f"{said} (truth: {example['answer']})"
    for position, token in enumerate(result.output_tokens):
        figure = result.plot_image_heatmap(target_token_pos=position, show_legends=False)[0]
        figures.append((f"vqa-gen {family} question: image patches → “{token}”", figure))
        shapley = contributions.tokens[position]["modality_shapley"]
        shares = ", ".join(f"{m} {v:.2f}" for m, v in shapley.shares.items())
        facts[f"vqa-gen {family}: “{token}” shares (modality_shapley)"] = shares
        title = f"{family} question, token “{token}”: p(token) by modality"
        figures.append(
            (f"vqa-gen {family}: modalities → “{token}”", visualize_contributions(
                contributions.tokens[position], title
            ))
        )


def add_section(report: Report) -> None:
    figures: list = []
    facts: dict[str, str] = {}
    _story(figures, facts)
    bundle = load("vqa-gen")
    for family, example in _vqa_examples(bundle).items():
        _vqa(example, family, bundle, figures, facts)
    report.add_section(
        TITLE,
        text="Feature ablation of the model's own answer on held-out questions. story-lm: each "
        "prompt token's effect on the log-probability of the generated token (the fact "
        "sentence holds the answer). vqa-gen: the 4×4 grid of 8×8 image patches (black when "
        "absent) and the question's words; image maps show each patch's effect on the "
        "generated token's probability; modality bars are exact Shapley values of that "
        "probability over {image, text}.",
        facts=facts,
        figures=figures,
    )
