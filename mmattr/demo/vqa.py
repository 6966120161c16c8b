"""Demo section 3: VQA — per-modality attributions and contributions for the three families."""

from __future__ import annotations

from typing import Any

from mmattr.adapters import TokenAdapter
from mmattr.demo._common import load, numpy_of
from mmattr.visualizers import Report, visualize_contributions, visualize_image_attr

TITLE = "Visual question answering: how much each modality mattered"


def _one_per_family(examples: list) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for example in examples:
        chosen.setdefault(example["family"], example)
    return chosen


def _explain_family(bundle: Any, family: str, example: Any) -> tuple[list, str, Any]:
    from mmattr.fusion import explain

    image = example["image"][None].float()  # (1, 3, H, W)
    question = example["question_ids"][None]  # (1, L) word ids, PAD-padded
    tokens = TokenAdapter(bundle.vocab, bundle.pad_id)
    explanation = explain(
        bundle.model,
        {"image": image, "question": question},
        adapters={"question": tokens},
        target="predicted",
    )
    image_attr = numpy_of(explanation.attributions["image"])[0]
    picture = numpy_of(image[0]).transpose(1, 2, 0)
    figure = visualize_image_attr(image_attr, picture, method="blended_heat_map", title=family)
    html = tokens.render(
        explanation.attributions["question"], tokens.prepare(question), title=f"{family}: question"
    )
    return [(f"{family}: image attribution", figure)], html, explanation.contributions


def add_section(report: Report) -> None:
    bundle = load("vqa")
    figures, fragments, facts = [], [], {}
    for family, example in _one_per_family(bundle.examples).items():
        family_figures, html, contributions = _explain_family(bundle, family, example)
        figures += family_figures
        fragments.append(html)
        figures.append(
            (
                f"{family}: contributions",
                visualize_contributions(contributions, f"question family: {family}"),
            )
        )
        shapley = contributions.get("modality_shapley") or next(iter(contributions.values()))
        shares = ", ".join(f"{m} {v:.2f}" for m, v in shapley.shares.items())
        facts[f"{family} shares ({shapley.estimator})"] = shares
    report.add_section(TITLE, facts=facts, fragments=fragments, figures=figures)
