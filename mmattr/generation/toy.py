"""A toy tokenizer and language model for the generation examples: one token per character,
next-token logits from a running sum of embeddings.

They have the parts of a Hugging Face tokenizer and causal LM that the generation classes
use, and nothing more, so an example shows a whole call in a few lines.
"""

from __future__ import annotations

from typing import Any, Iterable

from torch import Tensor, nn, tensor


class CharTokenizer:
    """One token per character: token ``c``, id ``ord(c)``."""

    def encode(self, text: str, return_tensors: str | None = None, **kwargs: Any) -> Any:
        """The ids of ``text``: a list, or a ``(1, len(text))`` tensor with ``return_tensors``."""
        ids = [ord(c) for c in text]
        return tensor([ids]) if return_tensors else ids

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        return [chr(i) for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(map(chr, ids))

    def __call__(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """The ids and each token's character offsets (which name a target's tokens)."""
        spans = [(i, i + 1) for i in range(len(text))]
        return {"input_ids": self.encode(text), "offset_mapping": spans}


class ToyLM(nn.Sequential):
    """Next-token logits ``(batch, tokens, vocabulary)``: the running sum of the embeddings
    of the tokens so far; ``model[0]`` is the embedding layer.

    Args:
        vocabulary: the number of token ids (default 128, the ASCII characters).
    """

    def __init__(self, vocabulary: int = 128) -> None:
        super().__init__(nn.Embedding(vocabulary, vocabulary))

    def forward(self, input_ids: Tensor, **kwargs: Any) -> tuple[Tensor]:
        return (self[0](input_ids).cumsum(1),)
