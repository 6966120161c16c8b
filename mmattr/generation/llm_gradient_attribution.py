"""LLM attribution by gradients: each prompt token's share of each generated token's
log-probability through the embedding layer.

``attr[t, i] = Σ_d A(e ↦ log p(y_t | x ⊕ y_<t))_{i, d}`` for a layer gradient method ``A``
(layer integrated gradients, gradient × activation, gradient SHAP) on the input embeddings,
summed over the embedding dimension; ``seq_attr = Σ_t attr[t]``.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.engine.layer import (
    LayerGradientShap,
    LayerGradientXActivation,
    LayerIntegratedGradients,
)

from ._base import BaseLLMAttribution, model_unchanged
from ._tokens import pretty_tokens
from .inputs import TextTokenInput
from .result import LLMAttributionResult


class NextTokenLogProb(nn.Module):
    """``ids (n, L) -> log p(y_t | ids ⊕ y_<t)``, ``(n,)``; the model is a submodule so that
    layer methods find its layers."""

    def __init__(self, model: nn.Module, inp: TextTokenInput, target: Tensor, step: int) -> None:
        super().__init__()
        self.model, self.inp, self.target, self.step = model, inp, target, step

    def forward(self, perturbed: Tensor) -> Tensor:
        ids = self.inp.to_model_input(perturbed).to(self.target.device)
        if self.step:
            previous = self.target[: self.step].unsqueeze(0).expand(ids.shape[0], -1)
            ids = torch.cat([ids, previous], dim=1)
        outputs = self.model(ids)
        logits = outputs.logits if hasattr(outputs, "logits") else outputs[0]
        return torch.log_softmax(logits[:, -1], dim=-1)[:, self.target[self.step]]


class LLMGradientAttribution(BaseLLMAttribution):
    """Gradient attribution of a generated text to the tokens of its prompt.

    Args:
        attr_method: a LayerIntegratedGradients, LayerGradientXActivation or LayerGradientShap
            built on the model and its input embedding layer.
        tokenizer: the model's tokenizer.

    Example::

        >>> from mmattr.generation.toy import CharTokenizer, ToyLM  # one token per character
        >>> tokenizer, model = CharTokenizer(), ToyLM()
        >>> lig = LayerIntegratedGradients(model, model[0])  # on the embedding layer
        >>> result = LLMGradientAttribution(lig, tokenizer).attribute(
        ...     TextTokenInput("Ada lives in Paris", tokenizer), target="Paris", n_steps=8)
        >>> result.token_attr.shape  # (target tokens, prompt tokens)
        torch.Size([5, 18])
    """

    SUPPORTED_METHODS: ClassVar[tuple[type, ...]] = (
        LayerGradientShap,
        LayerGradientXActivation,
        LayerIntegratedGradients,
    )
    SUPPORTED_INPUTS: ClassVar[tuple[type, ...]] = (TextTokenInput,)

    def __init__(self, attr_method: Any, tokenizer: Any) -> None:
        super().__init__(attr_method, tokenizer)
        self.attr_method = copy.copy(attr_method)

    def attribute(
        self,
        inp: TextTokenInput,
        target: str | Tensor | None = None,
        gen_args: dict[str, Any] | None = None,
        skip_tokens: list[int] | list[str] | None = None,
        **kwargs: Any,
    ) -> LLMAttributionResult:
        """Attribute ``target`` (generated with ``gen_args`` when None) to ``inp``'s tokens.

        Args:
            inp: a TextTokenInput.
            target: the answer, a string or 1-D token ids. Default None: generate it.
            gen_args: ``generate`` arguments when ``target`` is None. Default None: greedy,
                25 new tokens.
            skip_tokens: token ids or strings left out of the target (e.g. BOS); with it a
                string target is encoded with the tokenizer's special tokens. Default None.
            **kwargs: passed to ``attr_method.attribute`` (``baselines``, ``n_steps`` ...).
        """
        with model_unchanged(self.model):
            target_tokens = self._get_target_tokens(inp, target, gen_args, skip_tokens)
            per_token = [
                self._one_token(inp, target_tokens, step, kwargs)
                for step in range(len(target_tokens))
            ]
        attr = torch.cat(per_token, dim=0)  # (T, n_tokens)
        if inp.itp_mask is not None:
            attr = attr[:, inp.itp_mask[0].to(attr.device)]
        return LLMAttributionResult(
            seq_attr=attr.sum(0),
            token_attr=attr,
            input_tokens=inp.values,
            output_tokens=pretty_tokens(target_tokens, self.tokenizer),
        )

    def _one_token(self, inp: TextTokenInput, target: Tensor, step: int, kwargs: dict) -> Tensor:
        """``(1, n_tokens)`` attributions to the prompt of target token ``step``."""
        method = copy.copy(self.attr_method)
        method.forward_func = NextTokenLogProb(self.model, inp, target, step)
        # float on/off indicators: the engine differentiates with respect to its inputs
        indicators = inp.to_tensor().to(self.device, torch.float32)
        attr = method.attribute(indicators, **kwargs).detach()
        if step:
            attr = attr[:, :-step]  # the previous target tokens are not prompt features
        return attr.sum(-1)
