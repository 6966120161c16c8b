"""What LLMAttribution and LLMGradientAttribution share: the wrapped method and model, the
target (given, or generated), and a guard that gives the model back as it was."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, ClassVar, Iterator

import torch
from torch import Tensor, nn

from mmattr.engine.toolkit import preserve_model_state

from ._scoring import as_model_input
from ._tokens import encode_target
from .inputs import InputError, InterpretableInput, skip_ids

#: Generation arguments when ``target`` and ``gen_args`` are None (Captum's).
DEFAULT_GEN_ARGS: dict[str, Any] = {
    "max_new_tokens": 25,
    "do_sample": False,
    "temperature": None,
    "top_p": None,
}


@contextlib.contextmanager
def model_unchanged(model: nn.Module) -> Iterator[None]:
    """Hooks, modes, ``requires_grad``, the generation config and ``config.use_cache`` are
    restored on exit, also after an error."""
    generation_config = copy.deepcopy(getattr(model, "generation_config", None))
    config = getattr(model, "config", None)
    use_cache = getattr(config, "use_cache", None)
    try:
        with preserve_model_state(model):
            yield
    finally:
        if generation_config is not None:
            model.generation_config = generation_config
        if config is not None and use_cache is not None:
            config.use_cache = use_cache


class BaseLLMAttribution:
    """A supported attribution method bound to a language model, and its tokenizer."""

    SUPPORTED_METHODS: ClassVar[tuple[type, ...]] = ()
    SUPPORTED_INPUTS: ClassVar[tuple[type, ...]] = (InterpretableInput,)

    def __init__(self, attr_method: Any, tokenizer: Any) -> None:
        if not isinstance(attr_method, self.SUPPORTED_METHODS):
            names = ", ".join(cls.__name__ for cls in self.SUPPORTED_METHODS)
            raise TypeError(
                f"{type(self).__name__} got attr_method of type {type(attr_method).__name__}; "
                f"expected an instance of one of: {names}"
            )
        model = attr_method.forward_func
        self._check_model(model)
        self.forward_func = model
        self.model: nn.Module = model
        self.tokenizer = tokenizer
        self.device: torch.device = (
            torch.device(model.device)
            if hasattr(model, "device")
            else next(model.parameters()).device
        )

    def _check_model(self, model: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"attr_method was built on a {type(model).__name__}; expected the language "
                "model itself (an nn.Module with forward and generate)"
            )

    def _vocab_size(self) -> int | None:
        embeddings = getattr(self.model, "get_input_embeddings", None)
        if callable(embeddings):
            module = embeddings()
            if isinstance(module, nn.Embedding):
                return module.num_embeddings
        return getattr(getattr(self.model, "config", None), "vocab_size", None)

    def _check_input(self, inp: Any) -> None:
        if not isinstance(inp, self.SUPPORTED_INPUTS):
            names = ", ".join(cls.__name__ for cls in self.SUPPORTED_INPUTS)
            raise TypeError(f"inp is {type(inp).__name__}; expected one of: {names}")

    def _get_target_tokens(
        self,
        inp: Any,
        target: str | Tensor | None = None,
        gen_args: dict | None = None,
        skip_tokens: list[int] | list[str] | None = None,
    ) -> Tensor:
        """Target ids ``(T,)``: ``target`` encoded, or generated from the unperturbed input;
        with ``skip_tokens``, a string is encoded with special tokens and then every id in
        ``skip_tokens`` is dropped (Captum's later API; 0.9 encodes without special tokens)."""
        tokens = self._target_tokens(inp, target, gen_args, skip_tokens is not None)
        if not skip_tokens:
            return tokens
        skip = skip_ids(skip_tokens, self.tokenizer)
        kept = tokens[~torch.isin(tokens, skip.to(tokens.device))]
        if kept.numel() == 0:
            raise InputError(f"skip_tokens={list(skip_tokens)} removes every token of the target")
        return kept

    def _target_tokens(self, inp: Any, target: Any, gen_args: dict | None, special: bool) -> Tensor:
        self._check_input(inp)
        if target is not None:
            if gen_args is not None:
                raise InputError(
                    "gen_args must be None when target is given (it only drives generation)"
                )
            tokens = encode_target(target, self.tokenizer, self._vocab_size(), special)
            return tokens.to(self.device)
        generate = getattr(self.model, "generate", None)
        if not callable(generate):
            raise InputError(
                f"target is None and the model ({type(self.model).__name__}) has no generate(); "
                "pass the target text"
            )
        model_input = as_model_input(inp.to_model_input(), self.tokenizer, self.device)
        with model_unchanged(self.model), torch.no_grad():
            generated = generate(**model_input, **(gen_args or DEFAULT_GEN_ARGS))
        return generated[0][model_input["input_ids"].shape[1] :]

    def attribute_future(self) -> Any:
        """Not available for LLM attribution (Captum's behaviour)."""
        raise NotImplementedError(f"attribute_future is not implemented for {type(self).__name__}")
