"""``shapes-cnn``: one shape (circle/square/triangle/cross) on a textured 32×32 background.

Ground truth: the shape's pixel mask. Class = shape.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mmattr.zoo._registry import Data, ZooSpec, register_model

SIZE = 32
SHAPES = ("circle", "square", "triangle", "cross")


def shape_masks(kind: torch.Tensor, centre: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Boolean masks (n, SIZE, SIZE) of shape ``kind`` (n,) at ``centre`` (n, 2) (row, col)."""
    grid = torch.arange(SIZE, dtype=torch.float32)
    dy = grid[None, :, None] - centre[:, 0, None, None]  # (n, SIZE, 1)
    dx = grid[None, None, :] - centre[:, 1, None, None]  # (n, 1, SIZE)
    r = radius[:, None, None]
    circle = dx**2 + dy**2 <= r**2
    square = torch.maximum(dx.abs(), dy.abs()) <= 0.8 * r
    # apex up: the half-width grows linearly from the apex (dy = -r) to the base (dy = 0.8 r)
    triangle = (dy >= -r) & (dy <= 0.8 * r) & (dx.abs() <= 0.65 * (dy + r))
    bar = r / 3
    cross = ((dx.abs() <= bar) & (dy.abs() <= r)) | ((dy.abs() <= bar) & (dx.abs() <= r))
    stacked = torch.stack([circle, square, triangle, cross], dim=1)  # (n, 4, SIZE, SIZE)
    return stacked[torch.arange(len(kind)), kind]


def _texture(n: int, generator: torch.Generator) -> torch.Tensor:
    """Grey-ish stripes of random orientation and frequency plus pixel noise: (n, 3, SIZE, SIZE)."""
    grid = torch.arange(SIZE, dtype=torch.float32)
    angle = torch.rand(n, generator=generator) * math.pi
    frequency = 0.3 + 0.9 * torch.rand(n, generator=generator)
    phase = torch.rand(n, generator=generator) * 2 * math.pi
    along = (
        torch.cos(angle)[:, None, None] * grid[None, :, None]
        + torch.sin(angle)[:, None, None] * grid[None, None, :]
    )
    stripes = torch.sin(frequency[:, None, None] * along + phase[:, None, None])  # (n, H, W)
    tint = 0.3 + 0.4 * torch.rand(n, 3, 1, 1, generator=generator)
    noise = 0.08 * torch.randn(n, 3, SIZE, SIZE, generator=generator)
    return tint + 0.15 * stripes[:, None] + noise


def generate(n: int, seed: int) -> Data:
    """``n`` images (n, 3, 32, 32) in [0, 1], ``label`` (n,), ``mask`` (n, 32, 32) float."""
    generator = torch.Generator().manual_seed(seed)
    label = torch.randint(len(SHAPES), (n,), generator=generator)
    radius = 5.0 + 4.0 * torch.rand(n, generator=generator)
    margin = radius + 1
    centre = margin[:, None] + (SIZE - 1 - 2 * margin[:, None]) * torch.rand(
        n, 2, generator=generator
    )
    mask = shape_masks(label, centre, radius)
    # a saturated colour, far from the grey background in at least one channel
    colour = torch.rand(n, 3, 1, 1, generator=generator)
    strong = torch.randint(3, (n,), generator=generator)
    colour[torch.arange(n), strong] = torch.where(colour[torch.arange(n), strong] > 0.5, 1.0, 0.0)
    image = torch.where(mask[:, None], colour.expand(-1, -1, SIZE, SIZE), _texture(n, generator))
    return {"image": image.clamp(0, 1), "label": label, "mask": mask.float()}


class ShapesCNN(nn.Module):
    """Three conv blocks, global average pooling, a linear head: (n, 3, 32, 32) -> (n, 4)."""

    def __init__(self, width: int = 16, classes: int = len(SHAPES)) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1),
            nn.BatchNorm2d(4 * width),
            nn.ReLU(),
        )
        self.head = nn.Linear(4 * width, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(image).mean(dim=(2, 3)))


@register_model("shapes-cnn")
class ShapesSpec(ZooSpec):
    steps = 2000
    batch_size = 64
    lr = 5e-3
    train_size = 8000

    generate = staticmethod(generate)
    architecture = ShapesCNN
    inputs = ("image",)

    def extras(self) -> dict:
        return {"classes": list(SHAPES)}
