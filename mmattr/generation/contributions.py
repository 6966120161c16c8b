"""How much of a generated answer came from the image and how much from the prompt, for the
sequence and token by generated token.

The fusion estimators with ``v(S) = log p(y_t | h(1_S))`` (``S`` ⊆ {image, text}: every
feature of a modality in ``S`` present, the others absent): exact Shapley values with the
interaction index, leave one out; and MM-SHAP from the features' attributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import torch
from torch import Tensor

from mmattr.fusion.explanation import Contribution
from mmattr.fusion.modality_shapley import interactions_from_values, shapley_from_values

from ._base import model_unchanged
from ._tokens import pretty_tokens
from .image_text_input import ImageTextInput
from .inputs import InputError
from .llm_attribution import TargetScorer

MODALITIES = ("image", "text")


@dataclass
class GenerationContributions:
    """Modality contributions to a generated answer: ``sequence`` (``log p(y)``) and
    ``tokens[t]`` (``log p(y_t | ·)``), each estimator name -> :class:`Contribution`."""

    output_tokens: list[str]
    sequence: dict[str, Contribution]
    tokens: list[dict[str, Contribution]]

    def shares(self, estimator: str = "modality_shapley") -> Tensor:
        """``(1 + T, 2)`` absolute shares of (image, text): the sequence row, then each token."""
        rows = [self.sequence[estimator]] + [token[estimator] for token in self.tokens]
        return torch.tensor([[c.shares[m] for m in MODALITIES] for c in rows])


def _estimators(values: dict[frozenset[str], float]) -> dict[str, Contribution]:
    names, full = list(MODALITIES), frozenset(MODALITIES)
    shapley = Contribution(
        shapley_from_values(names, values),
        "modality_shapley",
        evaluations=len(values),
        interactions=interactions_from_values(names, values),
        extra={"full": values[full], "empty": values[frozenset()]},
    )
    drops = {m: values[full] - values[full - {m}] for m in names}
    return {
        "modality_shapley": shapley,
        "leave_one_out": Contribution(drops, "leave_one_out", evaluations=len(names) + 1),
    }


def generation_contributions(
    llm_attr: Any, inp: ImageTextInput, target: str | Tensor | None = None, **target_args: Any
) -> GenerationContributions:
    """Image vs prompt contribution to ``target`` (generated when None): exact modality Shapley
    with the interaction and leave one out, for the sequence and every generated token, from
    the ``2^2`` modality coalitions scored in one batched forward.

    Args:
        llm_attr: an :class:`LLMAttribution`: its model, tokenizer and ``attr_target``
            (``"log_prob"``: values in log-probability; ``"prob"``: in probability).
        inp: the image and the prompt.
        target: the answer; None generates it with ``gen_args``.
        **target_args: ``gen_args`` / ``skip_tokens`` as for ``LLMAttribution.attribute``.
    """

    if not isinstance(inp, ImageTextInput):
        raise InputError(f"inp is {type(inp).__name__}; expected an ImageTextInput")
    subsets = [frozenset(c) for k in range(3) for c in combinations(MODALITIES, k)]
    with model_unchanged(llm_attr.model), torch.inference_mode():
        tokens = llm_attr._get_target_tokens(
            inp, target, target_args.get("gen_args"), target_args.get("skip_tokens")
        )
        scorer = TargetScorer(llm_attr, inp, tokens, forward_in_tokens=True, inspect=None)
        scores = scorer.log_probs(inp.coalition_rows(subsets).to(llm_attr.device)).cpu()
    columns = torch.cat([scores.sum(1, keepdim=True), scores], 1).double()  # (4, 1 + T)
    if getattr(llm_attr, "attr_target", "log_prob") == "prob":
        columns = columns.exp()
    per_column = [
        _estimators({s: float(columns[i, c]) for i, s in enumerate(subsets)})
        for c in range(columns.shape[1])
    ]
    return GenerationContributions(
        pretty_tokens(tokens, llm_attr.tokenizer), per_column[0], per_column[1:]
    )


def mm_shap_contribution(result: Any, inp: ImageTextInput, row: int | None = None) -> Contribution:
    """MM-SHAP from an attribution result: ``Σ |φ_j|`` over each modality's features, of the
    sequence (``row=None``) or of generated token ``row``.

    Args:
        result: an LLMAttributionResult of LLMAttribution on ``inp`` (no template mask).
        inp: the ImageTextInput the result was computed on.
        row: generated token whose attributions are used. Default None: the sequence's.
    """
    attr = result.seq_attr if row is None else result.token_attr[row]
    modality = inp.modality_of_feature
    if len(modality) != attr.shape[0]:
        raise InputError(
            f"the result has {attr.shape[0]} features; the input has {len(modality)} "
            "(pass a result of LLMAttribution on this ImageTextInput, with no template mask)"
        )
    values = {
        m: float(sum(abs(float(a)) for a, f in zip(attr, modality) if f == m)) for m in MODALITIES
    }
    signed = {m: float(sum(float(a) for a, f in zip(attr, modality) if f == m)) for m in MODALITIES}
    return Contribution(values, "mm_shap", extra={"signed": signed})
