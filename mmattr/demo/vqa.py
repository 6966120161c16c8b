"""Demo section 3: VQA — per-modality attributions and contributions for the three families."""

from __future__ import annotations

from typing import Any

import torch

from mmattr.adapters import TokenAdapter
from mmattr.demo._common import load, numpy_of
from mmattr.visualizers import Report, visualize_contributions, visualize_image_attr_multiple

TITLE = "Visual question answering: how much each modality mattered"


def _one_per_family(examples: list) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for example in examples:
        chosen.setdefault(example["family"], example)
    return chosen


def _explain_family(bundle: Any, example: dict) -> tuple[Any, str, Any, str]:
    """(image figure, question HTML, contributions, "question -> predicted answer")."""
    from mmattr.fusion import explain

    family = example["family"]
    image = example["image"][None].float()  # (1, 3, H, W)
    question = example["question_ids"][None]  # (1, L) word ids, PAD-padded
    with torch.no_grad():
        predicted = int(bundle.model(image=image, question=question).argmax())
    asked = f"“{example['question']}” → {bundle.answers[predicted]}"
    tokens = TokenAdapter(bundle.vocab, bundle.pad_id)
    explanation = explain(
        bundle.model,
        {"image": image, "question": question},
        adapters={"question": tokens},
        target=predicted,
        # answer probabilities: logits have no fixed scale (MM-SHAP's convention)
        forward=lambda image, question: bundle.model(image=image, question=question).softmax(-1),
    )
    image_attr = numpy_of(explanation.attributions["image"])[0]  # (3, H, W)
    # the colour bar is in attribution units, as the question's legend: the two compare
    figure, _ = visualize_image_attr_multiple(
        image_attr,
        numpy_of(image[0]).transpose(1, 2, 0),
        ["original_image", "heat_map"],
        ["all", "absolute_value"],
        titles=[f"{family} family: input image", f"IG |attr|, Σ attr = {image_attr.sum():.2f}"],
        fig_size=(8, 3.4),
        show_colorbar=True,
        raw_colorbar=True,
        ground_truth=numpy_of(example["mask"]),
        use_pyplot=False,
    )
    html = tokens.render(
        explanation.attributions["question"],
        tokens.prepare(question),
        title=f"{family}: question words, IG toward “{bundle.answers[predicted]}”",
    )
    return figure, html, explanation.contributions, asked


def add_section(report: Report) -> None:
    bundle = load("vqa")
    figures, fragments, facts = [], [], {}
    for family, example in _one_per_family(bundle.examples).items():
        figure, html, contributions, asked = _explain_family(bundle, example)
        fragments.append(html)
        figures.append((f"{family}: image attribution", figure))
        title = f"{family} family: {asked} (truth: {example['answer']})"
        figures.append((f"{family}: contributions", visualize_contributions(contributions, title)))
        shapley = contributions["modality_shapley"]
        shares = ", ".join(f"{m} {v:.2f}" for m, v in shapley.shares.items())
        facts[f"{family}: question → predicted answer"] = asked
        facts[f"{family} shares ({shapley.estimator})"] = shares
    report.add_section(
        TITLE,
        text="Orange outline: the object the question asks about (none for text questions). "
        "Heat maps are scaled to their own maximum; Σ attr is the image's total. Contributions "
        "are in logit units of the predicted answer; n/a: the estimator has no interaction term.",
        facts=facts,
        fragments=fragments,
        figures=figures,
    )
