"""A user's own model and dataset for ``examples/sensors.toml`` (named as ``module:function``).

Two sensors feed one classifier: ``vibration`` (16 readings) decides the class, ``temperature``
(4 readings) only nudges it, so a job over this dataset should give vibration most of the
contribution. The weights are set by hand, so nothing is trained or downloaded.
"""

from __future__ import annotations

import torch
from torch import nn


class SensorModel(nn.Module):
    """logits (n, 2) from ``vibration`` (n, 16) and ``temperature`` (n, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.vibration = nn.Linear(16, 2)
        self.temperature = nn.Linear(4, 2)
        with torch.no_grad():
            self.vibration.weight.copy_(torch.tensor([[1.0] * 16, [-1.0] * 16]) / 4)
            self.temperature.weight.copy_(torch.tensor([[0.1] * 4, [-0.1] * 4]))
            self.vibration.bias.zero_()
            self.temperature.bias.zero_()

    def forward(self, vibration: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        return self.vibration(vibration) + self.temperature(temperature)


class SensorReadings(torch.utils.data.Dataset):
    """``n`` readings, each made from its index (nothing held in memory); label 1 when the mean
    vibration is negative."""

    def __init__(self, n: int = 200) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        vibration = torch.randn(16, generator=generator)
        temperature = torch.randn(4, generator=generator)
        return {"vibration": vibration, "temperature": temperature,
                "label": int(vibration.mean() < 0)}  # fmt: skip


def build_model() -> nn.Module:
    return SensorModel()


def readings() -> torch.utils.data.Dataset:
    return SensorReadings()
