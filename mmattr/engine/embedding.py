"""Attributing to embedding vectors of a text model (Captum's ``_models/base``): swap the
embedding layer for a pass-through so the model takes embeddings, and token references.

Prefer :class:`~mmattr.LayerIntegratedGradients` on the embedding layer (nothing is swapped);
these helpers exist so Captum code that uses them runs unchanged.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from .errors import InputValueError

#: bad use of the interpretable embedding helpers: the engine's error, also an AssertionError
InterpretableEmbeddingError = InputValueError


class InterpretableEmbeddingBase(nn.Module):
    """Stands in for an embedding layer: ``forward(e) = e`` (it takes embedding vectors), and
    :meth:`indices_to_embeddings` runs the wrapped layer on token ids.

    Args:
        embedding: the original embedding module.
        full_name: its dotted name in the model, e.g. ``"encoder.embedding"``.
    """

    def __init__(self, embedding: nn.Module, full_name: str) -> None:
        super().__init__()
        self.num_embeddings = getattr(embedding, "num_embeddings", None)
        self.embedding_dim = getattr(embedding, "embedding_dim", None)
        self.embedding = embedding
        self.full_name = full_name

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """The embedding tensor given first (positionally or as the first keyword)."""
        if inputs:
            return inputs[0]
        if kwargs:
            return next(iter(kwargs.values()))
        raise InterpretableEmbeddingError(
            f"{self.full_name} (InterpretableEmbeddingBase) was called without arguments; "
            "expected the embedding tensor as its first argument"
        )

    def indices_to_embeddings(self, *inputs: Any, **kwargs: Any) -> Tensor:
        """The original layer on token ids: the embeddings to pass to the model."""
        return self.embedding(*inputs, **kwargs)


class TokenReferenceBase:
    """A reference (baseline) sequence of one token id, e.g. padding.

    Args:
        reference_token_idx: the token id (default 0).
    """

    def __init__(self, reference_token_idx: int = 0) -> None:
        self.reference_token_idx = reference_token_idx

    def generate_reference(self, sequence_length: int, device: torch.device) -> Tensor:
        """``sequence_length`` copies of the token id, shape (sequence_length,)."""
        return torch.full((sequence_length,), self.reference_token_idx, device=device)


def _parent_and_name(model: nn.Module, dotted: str) -> tuple[nn.Module, str]:
    parent: Any = model
    *path, name = dotted.split(".")
    for step, part in enumerate(path + [name]):
        if not hasattr(parent, part):
            where = ".".join(path[:step]) or type(model).__name__
            raise InterpretableEmbeddingError(
                f"embedding_layer_name={dotted!r}: {where} has no attribute {part!r}; expected "
                "the dotted name of a submodule, e.g. 'embedding' or 'encoder.embed_tokens'"
            )
        if step < len(path):
            parent = getattr(parent, part)
    return parent, name


def configure_interpretable_embedding_layer(
    model: nn.Module, embedding_layer_name: str = "embedding"
) -> InterpretableEmbeddingBase:
    """Replace ``model.<embedding_layer_name>`` by an :class:`InterpretableEmbeddingBase`
    (the model then takes embeddings there); undo with
    :func:`remove_interpretable_embedding_layer`.

    Args:
        model: the model, changed in place.
        embedding_layer_name: dotted name of the embedding module (default "embedding").
    """
    parent, name = _parent_and_name(model, embedding_layer_name)
    layer = getattr(parent, name)
    if isinstance(layer, InterpretableEmbeddingBase):
        raise InterpretableEmbeddingError(
            f"{embedding_layer_name} is already an InterpretableEmbeddingBase; call "
            "remove_interpretable_embedding_layer before configuring it again"
        )
    warnings.warn(
        f"{embedding_layer_name} is replaced by an InterpretableEmbeddingBase that takes "
        "embedding vectors; restore the original layer with "
        "remove_interpretable_embedding_layer when done",
        stacklevel=2,
    )
    interpretable = InterpretableEmbeddingBase(layer, embedding_layer_name)
    setattr(parent, name, interpretable)
    return interpretable


def remove_interpretable_embedding_layer(
    model: nn.Module, interpretable_emb: InterpretableEmbeddingBase
) -> None:
    """Put the original embedding layer back in place of ``interpretable_emb``.

    Args:
        model: the model whose embedding layer was replaced.
        interpretable_emb: the ``InterpretableEmbeddingBase`` returned by
            ``configure_interpretable_embedding_layer``.
    """
    parent, name = _parent_and_name(model, interpretable_emb.full_name)
    setattr(parent, name, interpretable_emb.embedding)
