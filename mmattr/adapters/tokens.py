"""TokenAdapter: word ids under a model's own vocabulary (no Hugging Face tokenizer).

For small models with an ``nn.Embedding`` over a word list (the zoo's VQA question encoder):
the PAD baseline, one group per token, gradients through the embedding's output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.adapters.base import ModalityInput


class TokenAdapter:
    """Token ids of a word-level vocabulary.

    Args:
        vocab: word -> id, or the list of words in id order.
        pad_id: the padding id: the baseline token, and the positions left out of the mask.
        embedding: the model's token embedding; default: the model's only ``nn.Embedding``.

    Example::

        >>> adapter = TokenAdapter(["<pad>", "what", "shape", "?"], pad_id=0)
        >>> x = adapter.prepare("what shape ?")
        >>> adapter.baseline(x).tolist(), x.meta["tokens"]
        ([[0, 0, 0]], ['what', 'shape', '?'])
    """

    modality: ClassVar[str] = "text"

    def __init__(
        self, vocab: Mapping[str, int] | Sequence[str], pad_id: int = 0, embedding: nn.Module = None
    ) -> None:
        words = dict(vocab) if isinstance(vocab, Mapping) else {w: i for i, w in enumerate(vocab)}
        if not words:
            raise ValueError("vocab is empty; expected word -> id or a list of words")
        self.ids, self.words = words, {i: w for w, i in words.items()}
        if pad_id not in self.words:
            raise ValueError(f"pad_id is {pad_id!r}; expected an id of the vocabulary")
        self.pad_id, self.embedding = int(pad_id), embedding

    def encode(self, text: str) -> Tensor:
        """Whitespace-split words to ids (1, L); an unknown word is an error naming it."""
        words = text.split()
        unknown = [w for w in words if w not in self.ids]
        if unknown:
            raise ValueError(f"text has words {unknown} outside the vocabulary")
        return torch.tensor([[self.ids[w] for w in words]])

    def prepare(self, raw: str | Tensor) -> ModalityInput:
        """A text, or ids (L,) / (1, L); meta: ``tokens`` (PAD positions excluded in render),
        ``special_positions`` (the PAD positions)."""
        ids = self.encode(raw) if isinstance(raw, str) else _as_ids(raw, len(self.words))
        values = ids[0].tolist()
        tokens = [self.words.get(v, "?") for v in values]
        pads = [i for i, v in enumerate(values) if v == self.pad_id]
        return ModalityInput(ids, meta={"tokens": tokens, "special_positions": pads}, raw=raw)

    def baseline(self, x: ModalityInput) -> Tensor:
        """Every token PAD: ``b = [PAD] * L``."""
        return torch.full_like(x.tensor, self.pad_id)

    def feature_mask(self, x: ModalityInput) -> Tensor:
        """One group per position, (1, L)."""
        return torch.arange(x.tensor.shape[-1]).unsqueeze(0)

    def attribution_layer(self, model: nn.Module) -> nn.Module:
        """The token embedding: gradient methods attribute to its output."""
        if self.embedding is not None:
            return self.embedding
        found = [m for m in model.modules() if isinstance(m, nn.Embedding)]
        if len(found) != 1:
            raise ValueError(
                f"model has {len(found)} nn.Embedding modules; expected one, or pass "
                "TokenAdapter(..., embedding=model.<the token embedding>)"
            )
        return found[0]

    def render(self, attribution: Tensor, x: ModalityInput, **kwargs: Any) -> str:
        """Tokens highlighted by attribution (summed over the embedding), PAD left out."""
        from mmattr.visualizers import text_html

        values = attribution.detach().reshape(x.tensor.shape[-1], -1).sum(1)
        keep = [i for i in range(len(values)) if i not in x.meta["special_positions"]]
        tokens = [x.meta["tokens"][i] for i in keep]
        return text_html(tokens, values[keep].cpu().numpy(), **kwargs)


def _as_ids(raw: Any, vocab_size: int) -> Tensor:
    if not isinstance(raw, Tensor) or raw.is_floating_point() or raw.dim() not in (1, 2):
        raise TypeError(
            f"raw is {type(raw).__name__}"
            + (
                f" of dtype {raw.dtype} and shape {tuple(raw.shape)}"
                if isinstance(raw, Tensor)
                else ""
            )
            + "; expected a text or integer ids of shape (L,) or (1, L)"
        )
    ids = raw.reshape(1, -1).long()
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"raw has ids in [{int(ids.min())}, {int(ids.max())}]; expected ids in "
            f"[0, {vocab_size - 1}] of the vocabulary"
        )
    return ids
