"""Where a transformers model keeps its token embedding, text towers included."""

from __future__ import annotations

from typing import Any

from torch import nn

_TEXT_TOWERS = ("text_model", "text_encoder", "text_tower", "language_model", "text")
_TOKEN_EMBEDDINGS = ("token_embedding", "word_embeddings", "embed_tokens")


def text_embedding(model: nn.Module) -> nn.Embedding:
    """``model.get_input_embeddings()``, or that of its text tower (CLIP/SigLIP/BLIP style)."""
    found = _input_embeddings(model)
    if isinstance(found, nn.Embedding):
        return found
    for tower_name in _TEXT_TOWERS:
        tower = getattr(model, tower_name, None)
        found = _input_embeddings(tower) if isinstance(tower, nn.Module) else None
        if isinstance(found, nn.Embedding):
            return found
    raise TypeError(
        f"model is {type(model).__name__}: get_input_embeddings() gives no embedding and it has "
        f"no text tower among {list(_TEXT_TOWERS)}; pass the embedding to "
        "TextAdapter(tokenizer, embedding) instead"
    )


def _input_embeddings(module: Any) -> Any:
    getter = getattr(module, "get_input_embeddings", None)
    try:
        found = getter() if getter is not None else None
    except (NotImplementedError, AttributeError):
        found = None
    if found is None and isinstance(module, nn.Module):
        # towers without the getter (CLIPTextTransformer): the token embedding by its name
        found = next((m for n, m in module.named_modules() if n.endswith(_TOKEN_EMBEDDINGS)), None)
    return found


def module_path(model: nn.Module, module: nn.Module) -> str:
    """The dotted name of ``module`` inside ``model`` ("" when it is not a submodule)."""
    return next((name for name, m in model.named_modules() if m is module), "")
