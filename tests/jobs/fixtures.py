"""Tiny models and datasets for the job tests, named in job files as ``module:function``."""

from __future__ import annotations

import torch
from torch import nn


class TwoInputs(nn.Module):
    """logits = [a, b] @ W: two 'modalities' of 4 features, 3 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 3)
        with torch.no_grad():
            self.linear.weight.copy_(torch.arange(24.0).reshape(3, 8).sin())
            self.linear.bias.zero_()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.cat([a, b], dim=1))


def model() -> nn.Module:
    return TwoInputs()


def failing_model() -> nn.Module:
    raise RuntimeError("weights file is corrupt")


class Rows(torch.utils.data.Dataset):
    """``n`` rows made from their index alone (nothing held in memory)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        a, b = torch.randn(2, 4, generator=generator)
        return {"a": a, "b": b, "label": index % 3}


def rows_1000() -> Rows:
    return Rows(1_000)


def rows_10000() -> Rows:
    return Rows(10_000)


def rows_40() -> Rows:
    return Rows(40)
