"""Issue 7 case: the cost of each contribution estimator on the zoo's ``vqa`` model.

The floor is one bare forward of the example (batch 1) under inference mode, so each ratio reads
as "this estimator costs as much as N forwards". Evaluation counts are the ones each
``Contribution`` reports (rows of model input it evaluated).
"""

from __future__ import annotations

import torch

from benchmarks._harness import Setup, case
from mmattr import zoo
from mmattr.adapters import ImageAdapter, TokenAdapter
from mmattr.fusion import explain
from mmattr.fusion._bundle import resolve_target
from mmattr.fusion._inputs import build_bundle
from mmattr.fusion.leave_one_out import leave_one_out
from mmattr.fusion.mm_shap import mm_shap
from mmattr.fusion.modality_shapley import modality_shapley

MM_SHAP_PERMUTATIONS = 20
MM_SHAP_ROWS = 500  # what mm_shap evaluates here: the reference for its overhead


@case("vqa-contributions")
def vqa_contributions(device: str) -> Setup:
    vqa = zoo.load("vqa")
    model = vqa.model.to(device)
    example = next(e for e in vqa.examples if e["family"] == "both")
    inputs = {
        "image": example["image"][None].to(device),
        "question": example["question_ids"][None].to(device),
    }

    def adapters():
        return {
            "image": ImageAdapter(segmentation="grid", n_segments=16),
            "question": TokenAdapter(vqa.vocab, vqa.pad_id),
        }

    bundle = build_bundle(model, inputs, adapters(), None)
    bundle.target = resolve_target(bundle, "predicted")
    evaluations: dict[str, str] = {"floor": "1 row", f"{MM_SHAP_ROWS} rows, one batch": ""}

    def counted(name, estimate, extra=""):
        def run():
            evaluations[name] = f"{extra}{estimate().evaluations} rows"

        return run

    def bare_forward(rows: int = 1):
        batch = {name: tensor.expand(rows, *tensor.shape[1:]) for name, tensor in inputs.items()}
        with torch.inference_mode():
            model(**batch)

    def integrated_gradients():
        return explain(
            model, inputs, adapters(), target="predicted", contributions=("attribution_share",)
        ).contributions["attribution_share"]

    contenders = {
        "floor": bare_forward,
        f"{MM_SHAP_ROWS} rows, one batch": lambda: bare_forward(MM_SHAP_ROWS),
        "attribution_share (IG)": counted(
            "attribution_share (IG)", integrated_gradients, extra="50 rows fwd+bwd (IG) + "
        ),
        "modality_shapley": counted("modality_shapley", lambda: modality_shapley(bundle)),
        "mm_shap": counted("mm_shap", lambda: mm_shap(bundle, MM_SHAP_PERMUTATIONS)),
        "leave_one_out": counted("leave_one_out", lambda: leave_one_out(bundle)),
    }
    note = (
        f"question {example['question']!r}; 16 grid patches + 8 tokens; "
        f"mm_shap {MM_SHAP_PERMUTATIONS} antithetic permutations; IG 50 steps"
    )
    return Setup(contenders, evaluations, note=note)
