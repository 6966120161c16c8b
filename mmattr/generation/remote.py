"""LLM attribution of a remotely hosted model that returns log-probabilities (Captum's
``RemoteLLMAttribution``): each perturbed prompt is sent to the provider, which scores the
target; the perturbation method is the same as for a local model."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from ._base import DEFAULT_GEN_ARGS
from .inputs import InputError
from .llm_attribution import LLMAttribution, TargetScorer


class _PlaceholderModel:
    """Stands in for the model the attribution method is built on (it is never called)."""

    def __init__(self) -> None:
        self.device: torch.device | str = torch.device("cpu")

    def __call__(self, *args: Any, **kwargs: Any) -> int:
        return 0


def _prompt_text(model_input: Any, tokenizer: Any) -> str:
    """The prompt as text: token ids are decoded."""
    if isinstance(model_input, Tensor):
        return tokenizer.decode(model_input.flatten())
    return model_input


class RemoteScorer(TargetScorer):
    """``log p(y_t | prompt_i ⊕ y_<t)`` from ``provider.get_logprobs``, one request per row."""

    def log_probs(self, perturbed: Tensor) -> Tensor:
        owner = self.owner
        response = owner.tokenizer.decode(self.target)
        prompts = [
            _prompt_text(self.inp.to_model_input(row[None]), owner.tokenizer) for row in perturbed
        ]
        rows = []
        for prompt in prompts:
            scores = owner.provider.get_logprobs(
                input_prompt=prompt, target_str=response, tokenizer=owner.tokenizer
            )
            if len(scores) != self.target.shape[0]:
                raise InputError(
                    f"the provider returned {len(scores)} log-probabilities; expected "
                    f"{self.target.shape[0]}, one per target token"
                )
            rows.append(torch.tensor(scores, dtype=torch.float32))
        result = torch.stack(rows).to(owner.device)
        if self.inspect is not None:
            self._report(prompts, result)
        return result


class RemoteLLMAttribution(LLMAttribution):
    """Perturbation attribution of a remote model's answer to the features of its prompt.

    Args:
        attr_method: a supported perturbation method built on
            ``RemoteLLMAttribution.placeholder_model``.
        tokenizer: the remote model's tokenizer.
        provider: has ``get_logprobs(input_prompt, target_str, tokenizer)`` (and ``generate``
            to produce a target when none is given).
        attr_target: ``"log_prob"`` (default) or ``"prob"``.
    """

    placeholder_model: ClassVar[_PlaceholderModel] = _PlaceholderModel()
    _scorer_class: ClassVar[type[TargetScorer]] = RemoteScorer

    def __init__(
        self, attr_method: Any, tokenizer: Any, provider: Any, attr_target: str = "log_prob"
    ) -> None:
        super().__init__(attr_method, tokenizer, attr_target)
        self.provider = provider

    def _check_model(self, model: Any) -> None:
        """Any stand-in with a ``device``: the provider does the scoring."""

    def _target_tokens(self, inp: Any, target: Any, gen_args: dict | None, special: bool) -> Tensor:
        if target is not None:
            return super()._target_tokens(inp, target, gen_args, special)
        self._check_input(inp)
        generate = getattr(self.provider, "generate", None)
        if not callable(generate):
            raise InputError("target is None and the provider has no generate(); pass the target")
        prompt = _prompt_text(inp.to_model_input(), self.tokenizer)
        text = generate(prompt, **(gen_args or DEFAULT_GEN_ARGS))
        return torch.tensor(self.tokenizer.encode(text, add_special_tokens=False)).to(self.device)
