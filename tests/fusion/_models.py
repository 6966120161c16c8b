"""Hand-made multimodal oracles and a minimal token adapter for the fusion tests."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.adapters.base import ModalityInput


class Additive(nn.Module):
    """f = g(text) + h(image): no interaction; text ignored when ``text_weight`` is 0."""

    def __init__(self, text_weight: float = 1.0) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.g = nn.Linear(4, 2).double()
        self.h = nn.Linear(3, 2).double()
        self.text_weight = text_weight

    def forward(self, text: Tensor, image: Tensor) -> Tensor:
        return self.text_weight * torch.tanh(self.g(text)) + self.h(image) ** 2


class Xor(nn.Module):
    """Output 1 only when both modalities are on: all of it is interaction."""

    def forward(self, text: Tensor, image: Tensor) -> Tensor:
        return (text.sum(1, keepdim=True) * image.sum(1, keepdim=True)).double()


class Mixed(nn.Module):
    """Three small modalities with pairwise products, small enough to enumerate features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.weights = nn.Parameter(torch.randn(6, 6, dtype=torch.float64))

    def forward(self, text: Tensor, image: Tensor) -> Tensor:
        x = torch.cat([text, image], dim=1)  # (batch, 6)
        return (x @ self.weights * x).sum(1, keepdim=True) + x.sum(1, keepdim=True)


class TokenModel(nn.Module):
    """Token ids (batch, tokens) and image (batch, 3) -> (batch, 2)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.embedding = nn.Embedding(10, 4).double()
        self.head = nn.Linear(4 + 3, 2).double()

    def forward(self, text: Tensor, image: Tensor, attention_mask: Tensor) -> Tensor:
        pooled = (self.embedding(text) * attention_mask.unsqueeze(-1)).sum(1)
        return self.head(torch.cat([torch.tanh(pooled), image], dim=1))


class TokenAdapter:
    """Token ids with PAD=0 as baseline, one group per token, the embedding to attribute to."""

    modality: ClassVar[str] = "text"

    def prepare(self, raw: Any) -> ModalityInput:
        if not isinstance(raw, list):
            raise TypeError(f"expected a list of token ids, got {type(raw).__name__}")
        ids = torch.tensor([raw])
        return ModalityInput(
            ids,
            {"attention_mask": torch.ones_like(ids).double()},
            {"tokens": [str(i) for i in raw]},
            raw,
        )

    def baseline(self, x: ModalityInput) -> Tensor:
        return torch.zeros_like(x.tensor)

    def feature_mask(self, x: ModalityInput) -> Tensor:
        return torch.arange(x.tensor.shape[1]).unsqueeze(0)

    def attribution_layer(self, model: nn.Module) -> nn.Module:
        return model.embedding

    def render(self, attribution: Tensor, x: ModalityInput, **kwargs: Any) -> Any:
        return str(attribution.sum(-1).tolist())


class ImageLikeAdapter(TokenAdapter):
    modality: ClassVar[str] = "image"
