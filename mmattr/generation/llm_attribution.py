"""LLM attribution by perturbation: which prompt features made the model write its answer.

``attr_i = A(z ↦ log p(y | h(z)))_i`` for a perturbation method ``A`` (feature ablation,
Shapley values, KernelSHAP, LIME) over the interpretable features ``z`` of the prompt; the
output is ``[log p(y), log p(y_1 | ·), ..., log p(y_T | ·)]`` so every generated token gets
its own row. All perturbed prompts of one model call go through the model as one padded batch.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor

from mmattr.engine.perturbation import (
    FeatureAblation,
    KernelShap,
    Lime,
    ShapleyValues,
    ShapleyValueSampling,
)
from mmattr.engine.toolkit import count_activation_bytes, memory_budget_bytes

from ._base import BaseLLMAttribution, model_unchanged
from ._prefix import PrefixCache, shared_prefix, teacher_forced_with_prefix
from ._scoring import as_model_input, is_causal_lm, teacher_forced, token_by_token
from ._tokens import pretty_tokens
from .image_text_input import ImageTextInput
from .inputs import ImageMaskInput, InputError, TextTemplateInput, TextTokenInput
from .result import LLMAttributionResult

Inspect = Callable[[str, str, list], None]


class TargetScorer:
    """``z (n, k) -> (n, 1 + T)`` log-probabilities ``[sequence, token 1, ..., token T]`` of
    the target given each perturbed prompt (``(n,)`` sequence only without ``per_token``)."""

    def __init__(self, owner: LLMAttribution, inp: Any, target: Tensor, **options: Any) -> None:
        self.owner, self.inp, self.target = owner, inp, target
        self.in_tokens: bool = options["forward_in_tokens"]
        self.inspect: Inspect | None = options["inspect"]
        self.prefix_cache = PrefixCache() if options.get("use_cached_prefix") else None
        tokenizer = owner.tokenizer
        self.pad_id = getattr(tokenizer, "pad_token_id", None)
        if self.pad_id is None:
            self.pad_id = getattr(tokenizer, "eos_token_id", None) or 0
        self.left = getattr(tokenizer, "padding_side", "right") == "left"

    def _rows(self, perturbed: Tensor) -> list[dict[str, Any]]:
        owner = self.owner
        batch = self.inp.to_model_inputs(perturbed)
        if isinstance(batch, Tensor):  # ids of equal length: one row each
            batch = list(batch.split(1))
        return [as_model_input(item, owner.tokenizer, owner.device) for item in batch]

    def log_probs(self, perturbed: Tensor) -> Tensor:
        """``(n, T)`` log-probabilities of each target token."""
        rows = self._rows(perturbed)
        model = self.owner.model
        prefix = shared_prefix(rows) if self.prefix_cache is not None else 0
        if is_causal_lm(model) and prefix > 0:
            scores = teacher_forced_with_prefix(
                model, rows, self.target, self.pad_id, self.prefix_cache, prefix
            )
        elif is_causal_lm(model):
            scores = teacher_forced(model, rows, self.target, self.pad_id, self.left)
        else:
            scores = token_by_token(model, rows, self.target, self.in_tokens)
        if self.inspect is not None:
            decode = self.owner.tokenizer.decode
            self._report([decode(row["input_ids"][0]) for row in rows], scores)
        return scores

    def rows_per_call(self, indicators: Tensor) -> int:
        """Prompts one model call may hold: a memory budget over the bytes one row's forward
        allocates. Counted once per LLMAttribution and input type, on the unperturbed prompt's
        forward (kept for the method's first call); later calls scale that count by
        ``(L / L₀)²`` for a longer row of ``L`` tokens, and so need no measuring forward."""
        length = self._rows(indicators)[0]["input_ids"].shape[1] + self.target.shape[0]
        key = type(self.inp).__name__
        measured = self.owner._row_bytes.get(key)
        if measured is None:
            with count_activation_bytes(self) as counter, torch.inference_mode():
                self.remember(indicators, self(indicators))
            measured = self.owner._row_bytes[key] = (length, max(counter.bytes, 1))
        row_bytes = measured[1] * max(1.0, length / measured[0]) ** 2
        return max(1, int(memory_budget_bytes(indicators.device) // row_bytes))

    def remember(self, perturbed: Tensor, values: Tensor) -> None:
        """Keep the values of these rows: a later call asking only for them is served."""
        self._known = (perturbed.clone(), values.clone())

    def prefetch(self, perturbed: Tensor) -> Tensor:
        """Score ``perturbed`` in one call (no autograd, as the engine's calls) and keep the
        values; returns them."""
        with torch.inference_mode():
            values = self(perturbed)
        self.remember(perturbed, values)
        return values

    def knows(self, perturbed: Tensor) -> bool:
        return self._served(perturbed) is not None

    def _served(self, perturbed: Tensor) -> Tensor | None:
        """The kept values of ``perturbed``'s rows when every row is among the kept ones."""
        known = getattr(self, "_known", None)
        if known is None or perturbed.shape[1:] != known[0].shape[1:]:
            return None
        same = (perturbed[:, None] == known[0][None]).flatten(2).all(-1)  # (n, m)
        if not bool(same.any(1).all()):
            return None
        return known[1][same.float().argmax(1)].clone()

    def __call__(self, perturbed: Tensor) -> Tensor:
        served = self._served(perturbed)
        if served is not None:
            return served
        scores = self.log_probs(perturbed)
        total = scores.sum(1, keepdim=True)
        values = torch.cat([total, scores], 1) if self.owner.include_per_token_attr else total[:, 0]
        return values if self.owner.attr_target == "log_prob" else values.exp()

    def _report(self, prompts: list[str], scores: Tensor) -> None:
        """``_inspect_forward(prompt, response, [p(y), p(y_1 | ·), ...])`` for each row."""
        response = self.owner.tokenizer.decode(self.target)
        for prompt, row_scores in zip(prompts, scores):
            total = row_scores.sum()
            values = torch.cat([total[None], row_scores]).exp()
            self.inspect(prompt, response, values.tolist())


def ablated_rows(method: Any, indicators: Tensor, kwargs: dict[str, Any]) -> Tensor | None:
    """The perturbed prompts ``FeatureAblation`` asks for, in its order: row ``g`` has group
    ``g`` of ``feature_mask`` at the baseline. None for another method, or a mask or baseline
    this does not cover (then nothing is scored ahead; a wrong guess would only cost a call)."""
    baseline = kwargs.get("baselines")
    if type(method) is not FeatureAblation or not isinstance(baseline, (int, float, type(None))):
        return None
    mask = kwargs.get("feature_mask")
    k = indicators.shape[1]
    mask = torch.arange(k) if mask is None else mask
    if not isinstance(mask, Tensor) or mask.numel() != k or indicators.shape[0] != 1:
        return None
    mask = mask.reshape(1, k).to(indicators.device)
    groups = torch.arange(int(mask.max()) + 1, device=mask.device)
    ablate = mask == groups[:, None]  # (groups, k)
    return torch.where(ablate, torch.tensor(float(baseline or 0)).to(indicators), indicators)


class LLMAttribution(BaseLLMAttribution):
    """Perturbation attribution of a generated text to the features of its prompt.

    Args:
        attr_method: a FeatureAblation, ShapleyValueSampling, ShapleyValues, Lime or KernelShap
            built on the model (a transformers causal LM or a model with the same interface).
            Lime and KernelShap give the sequence attribution only.
        tokenizer: the model's tokenizer.
        attr_target: ``"log_prob"`` (default) or ``"prob"``.

    Example::

        >>> from mmattr.generation.toy import CharTokenizer, ToyLM  # one token per character
        >>> tokenizer, model = CharTokenizer(), ToyLM()
        >>> llm_attr = LLMAttribution(FeatureAblation(model), tokenizer)
        >>> inp = TextTemplateInput("{} lives in {}.", ["Ada", "Paris"])
        >>> llm_attr.attribute(inp, target="Paris").token_attr.shape  # (target tokens, features)
        torch.Size([5, 2])
    """

    SUPPORTED_METHODS: ClassVar[tuple[type, ...]] = (
        FeatureAblation,
        ShapleyValueSampling,
        ShapleyValues,
        Lime,
        KernelShap,
    )
    SUPPORTED_PER_TOKEN_ATTR_METHODS: ClassVar[tuple[type, ...]] = (
        FeatureAblation,
        ShapleyValueSampling,
        ShapleyValues,
    )
    SUPPORTED_INPUTS: ClassVar[tuple[type, ...]] = (
        TextTemplateInput,
        TextTokenInput,
        ImageMaskInput,
        ImageTextInput,
    )

    _scorer_class: ClassVar[type[TargetScorer]] = TargetScorer

    def __init__(self, attr_method: Any, tokenizer: Any, attr_target: str = "log_prob") -> None:
        super().__init__(attr_method, tokenizer)
        if attr_target not in ("log_prob", "prob"):
            raise InputError(f"attr_target={attr_target!r}; expected 'log_prob' or 'prob'")
        self.attr_method = copy.copy(attr_method)
        self.include_per_token_attr = isinstance(attr_method, self.SUPPORTED_PER_TOKEN_ATTR_METHODS)
        self.attr_target = attr_target
        # bytes one row's forward allocates, per input type, with the row's length (rows_per_call)
        self._row_bytes: dict[str, tuple[int, int]] = {}

    def attribute(
        self,
        inp: Any,
        target: str | Tensor | None = None,
        num_trials: int = 1,
        gen_args: dict[str, Any] | None = None,
        use_cached_outputs: bool = True,
        _inspect_forward: Inspect | None = None,
        forward_in_tokens: bool = True,
        skip_tokens: list[int] | list[str] | None = None,
        use_cached_prefix: bool = False,
        **kwargs: Any,
    ) -> LLMAttributionResult:
        """Attribute ``target`` (generated with ``gen_args`` when None) to ``inp``'s features.

        Args:
            inp: TextTemplateInput, TextTokenInput or ImageMaskInput.
            target: the answer, a string or 1-D token ids. Default None: generate it.
            num_trials: runs averaged (for sampling methods). Default 1.
            gen_args: ``generate`` arguments when ``target`` is None. Default None:
                ``DEFAULT_GEN_ARGS`` (greedy, 25 new tokens).
            use_cached_outputs: accepted for Captum compatibility; scores do not depend on it.
            _inspect_forward: called as ``_inspect_forward(prompt, response, probs)`` for each
                perturbed prompt scored, ``probs`` being ``[p(y), p(y_1 | ·), ...]``; for
                debugging. Default None.
            forward_in_tokens: score as token-by-token decoding (default True). For a
                transformers causal LM this is computed in one teacher-forced forward, which
                equals it; other models are decoded token by token.
            skip_tokens: token ids or strings left out of the target (e.g. BOS); with it a
                string target is encoded with the tokenizer's special tokens. Default None.
            use_cached_prefix: run the leading tokens that every perturbed prompt of a model
                call shares (a fixed template or system text) once, and the rest of each
                prompt on its key/value cache: the same numbers, faster for a long fixed
                prefix (transformers causal LMs, text inputs). Default False.
            **kwargs: passed to ``attr_method.attribute`` (``n_samples``,
                ``perturbations_per_eval``, ``feature_mask`` ...).
        """
        with model_unchanged(self.model):
            target_tokens = self._get_target_tokens(inp, target, gen_args, skip_tokens)
            scorer = self._scorer_class(
                self,
                inp,
                target_tokens,
                forward_in_tokens=forward_in_tokens,
                inspect=_inspect_forward,
                use_cached_prefix=use_cached_prefix,
            )
            rows = 1 + len(target_tokens) if self.include_per_token_attr else 1
            attr = self._trials(scorer, inp, num_trials, rows, kwargs)
        attr = inp.format_attr(attr)
        return LLMAttributionResult(
            seq_attr=attr[0],
            token_attr=attr[1:] if self.include_per_token_attr else None,
            input_tokens=inp.values,
            output_tokens=pretty_tokens(target_tokens, self.tokenizer),
            inp=inp,
        )

    def _trials(
        self, scorer: TargetScorer, inp: Any, num_trials: int, rows: int, kwargs: dict
    ) -> Tensor:
        """Mean over ``num_trials`` runs of the method, ``(rows, k)``."""
        method = copy.copy(self.attr_method)
        method.forward_func = scorer
        indicators = inp.to_tensor().to(self.device)
        if kwargs.get("perturbations_per_eval", "auto") == "auto":
            # the engine's "auto" sizes chunks for the CPU cache; a transformer is faster with
            # every perturbed prompt of the call in one batch, as far as memory allows
            per_call = scorer.rows_per_call(indicators)
            first = None if scorer.knows(indicators) else ablated_rows(method, indicators, kwargs)
            if first is not None and per_call > 1:  # F(x) and the first chunk in one forward
                per_call -= 1
                scorer.prefetch(torch.cat([indicators, first[:per_call]]))
            kwargs = {**kwargs, "perturbations_per_eval": per_call}
        total = torch.zeros(rows, inp.n_itp_features, device=self.device)
        for _ in range(num_trials):
            attributions = method.attribute(indicators, **kwargs)
            total += attributions.reshape(total.shape).to(total)
        return total / num_trials
