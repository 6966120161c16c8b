"""Demo section 6: generation — which prompt tokens and image patches made a model write its
answer, and how much of each generated token came from the image and how much from the text."""

from __future__ import annotations

from typing import Any

import torch

from mmattr.demo._common import load, numpy_of
from mmattr.visualizers import Report, visualize_contributions

TITLE = "Generated answers: prompt tokens, image patches and modalities per generated token"

#: Seed of the held-out questions (the zoo's ground-truth tests use the same one).
HELD_OUT_SEED = 31_337
#: Held-out image questions over which the demo counts how often the top patch is on the object.
N_IMAGE_QUESTIONS = 10
#: ``vqa-gen`` reads its 32×32 image as a 4×4 grid of 8×8 patches: the image features here.
PATCHES = torch.arange(16).reshape(4, 4).repeat_interleave(8, 0).repeat_interleave(8, 1)


def _story(figures: list, facts: dict[str, str]) -> None:
    """``story-lm``: feature ablation of each prompt token on the model's own answer."""
    import mmattr

    story = load("story-lm")
    data = story.spec.generate(1, HELD_OUT_SEED)
    sentences, question, fact = data["sentences"][0], data["question"][0], int(data["fact"][0])
    prompt = " ".join([*sentences, question])
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(story.model), story.tokenizer)
    result = llm_attr.attribute(
        mmattr.TextTokenInput(prompt, story.tokenizer),
        gen_args={"max_new_tokens": 1, "do_sample": False},
    )
    start = sum(len(sentence.split()) for sentence in sentences[:fact])
    top = int(result.seq_attr.argmax())
    figures.append(("story-lm: prompt token × generated token", result.plot_token_attr()[0]))
    facts["story-lm: prompt → answer"] = f"“{prompt}” → {' '.join(result.output_tokens)}"
    facts["story-lm: fact sentence"] = sentences[fact]
    facts["story-lm: top prompt token"] = f"“{result.input_tokens[top]}” (position {top})"
    inside = start <= top < start + len(sentences[fact].split())
    facts["story-lm: top token inside the fact"] = str(inside)


def vqa_answer(bundle: Any, model_input: dict[str, torch.Tensor]) -> str:
    """The model's answer: its most likely next token among the answers (it has no
    ``generate``; every answer is one token)."""
    ids = torch.tensor([bundle.tokens.index(answer) for answer in bundle.answers])
    with torch.no_grad():
        logits = bundle.model(**model_input).logits[0, -1, ids]
    return bundle.answers[int(logits.argmax())]


def vqa_input(bundle: Any, image: torch.Tensor, question: str) -> Any:
    """The image's patches (black when absent) and the question's words as features."""
    import PIL.Image

    import mmattr

    pixels = (image.permute(1, 2, 0) * 255).round().byte().numpy()
    words = question.split()
    prompt = mmattr.TextTemplateInput(" ".join(["{}"] * len(words)), words)
    return mmattr.ImageTextInput(
        PIL.Image.fromarray(pixels), prompt, bundle.processor, mask=PATCHES, baseline=(0, 0, 0)
    )


def vqa_llm_attr(bundle: Any) -> Any:
    """Feature ablation of the answer's probability."""
    import mmattr

    method = mmattr.FeatureAblation(bundle.model)
    return mmattr.LLMAttribution(method, bundle.tokenizer, attr_target="prob")


def _vqa(bundle: Any, example: dict[str, Any], figures: list, facts: dict, bars: dict) -> None:
    """One question: a patch map per generated token (object outlined in orange) and that
    token's modality contributions (exact Shapley of its probability) in ``bars``."""
    import mmattr

    family = example["family"]
    inp = vqa_input(bundle, example["image"], example["question"])
    answer = vqa_answer(bundle, inp.to_model_input())
    llm_attr = vqa_llm_attr(bundle)
    result = llm_attr.attribute(inp, answer)
    contributions = mmattr.generation_contributions(llm_attr, inp, answer)
    facts[f"vqa-gen {family} question → answer"] = (
        f"“{example['question']}” → {answer} (truth: {example['answer']})"
    )
    for position, token in enumerate(result.output_tokens):
        figure = result.plot_image_heatmap(target_token_pos=position, show_legends=False)[0]
        if example["mask"].any():
            figure.axes[0].contour(numpy_of(example["mask"]), levels=[0.5], colors="orange")
        peak = float(result.token_attr[position, : inp.n_image].abs().max())
        caption = f"vqa-gen {family} question: image patches → “{token}” (max |attr| {peak:.3f})"
        figures.append((caption, figure))
        shapley = contributions.tokens[position]["modality_shapley"]
        shares = ", ".join(f"{m} {v:.2f}" for m, v in shapley.shares.items())
        facts[f"vqa-gen {family}: “{token}” shares (modality_shapley)"] = shares
        bars[f"{family} question → “{token}”"] = shapley


def _top_patch_on_object(bundle: Any, data: dict[str, Any]) -> str:
    """``"k of n"``: held-out image questions whose most positive patch overlaps the object."""
    indices = [i for i, f in enumerate(data["family"]) if f == "image"][:N_IMAGE_QUESTIONS]
    hits, llm_attr = 0, vqa_llm_attr(bundle)
    for i in indices:
        inp = vqa_input(bundle, data["image"][i], data["question"][i])
        result = llm_attr.attribute(inp, vqa_answer(bundle, inp.to_model_input()))
        top = int(result.seq_attr[: inp.n_image].argmax())
        hits += bool(data["mask"][i][PATCHES == top].any())
    return f"{hits} of {len(indices)}"


def add_section(report: Report) -> None:
    figures: list = []
    facts: dict[str, str] = {}
    _story(figures, facts)
    bundle = load("vqa-gen")
    data = bundle.spec.generate(3 * N_IMAGE_QUESTIONS, HELD_OUT_SEED)
    bars: dict[str, Any] = {}
    for family in ("image", "text"):
        i = data["family"].index(family)
        example = {k: data[k][i] for k in ("image", "question", "answer", "mask")}
        _vqa(bundle, {**example, "family": family}, figures, facts, bars)
    title = "p(generated token) by modality: exact Shapley values"
    figures.append(
        ("vqa-gen: image vs text per generated token", visualize_contributions(bars, title))
    )
    facts["vqa-gen: top patch on the object (held-out image questions)"] = _top_patch_on_object(
        bundle, data
    )
    report.add_section(
        TITLE,
        text="Feature ablation of the model's own answer to held-out questions. story-lm: each "
        "prompt token's effect on the log-probability of the generated token (the fact "
        "sentence holds the answer). vqa-gen: the image's 4×4 grid of 8×8 patches (black when "
        "absent) and the question's words are the features; each image map shows the patches' "
        "effect on a generated token's probability, scaled to its own maximum (orange: the "
        "object asked about, none for text questions); the bars split that probability "
        "between image and text (exact Shapley values with their interaction).",
        facts=facts,
        figures=figures,
    )
