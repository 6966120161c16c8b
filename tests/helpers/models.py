"""Small test models shared by the engine tests (the zoo holds the trained ones)."""

from __future__ import annotations

import torch
from torch import nn


def seeded(seed: int = 0) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class MLP(nn.Module):
    """(batch, 10) -> (batch, 3) through two ReLU layers."""

    def __init__(self, in_features: int = 10, hidden: int = 16, out: int = 3) -> None:
        super().__init__()
        self.linear1 = nn.Linear(in_features, hidden)
        self.relu1 = nn.ReLU()
        self.linear2 = nn.Linear(hidden, hidden)
        self.relu2 = nn.ReLU()
        self.linear3 = nn.Linear(hidden, out)

    def forward(self, x):
        return self.linear3(self.relu2(self.linear2(self.relu1(self.linear1(x)))))


class CNN(nn.Module):
    """(batch, 3, 16, 16) -> (batch, 4): conv, ReLU, max-pool, conv, ReLU, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(8 * 8 * 8, 4)

    def forward(self, x):
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(x))
        return self.fc(x.flatten(1))


class TwoInputs(nn.Module):
    """(batch, 6), (batch, 4) -> (batch, 2): each input through its own layer, then joined."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(6, 5)
        self.right = nn.Linear(4, 5)
        self.relu = nn.ReLU()
        self.head = nn.Linear(10, 2)

    def forward(self, a, b):
        return self.head(torch.cat([self.relu(self.left(a)), torch.tanh(self.right(b))], dim=1))


class WithExtraArgs(nn.Module):
    """forward(x, scale, offset=0.0): an additional tensor and a plain number."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(5, 3)
        self.act = nn.Sigmoid()

    def forward(self, x, scale, offset=0.0):
        return self.act(self.linear(x * scale)) + offset


class MultiOutput(nn.Module):
    """(batch, 6) -> (batch, 2, 3): a non-scalar output that needs a tuple target."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 6)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.linear(x)).view(-1, 2, 3) * 2.0


class ScalarOutput(nn.Module):
    """(batch, 6) -> (batch,): one number per example, no target needed."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 1)

    def forward(self, x):
        return torch.tanh(self.linear(x))[:, 0]


class TupleMLP(nn.Module):
    """(batch, 6), (batch, 4) -> (batch, 3): each input through a Linear and a ReLU module,
    joined by a linear head (module nonlinearities only, so hook-based rules see all of them)."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(6, 5)
        self.right = nn.Linear(4, 3)
        self.relu = nn.ReLU()
        self.head = nn.Linear(8, 3)

    def forward(self, a, b):
        return self.head(self.relu(torch.cat([self.left(a), self.right(b)], dim=1)))


def make(name: str, seed: int = 0, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A fresh test model with seeded weights, in eval mode."""
    torch.manual_seed(seed)
    model = {
        "mlp": MLP,
        "cnn": CNN,
        "two_inputs": TwoInputs,
        "extra_args": WithExtraArgs,
        "multi_output": MultiOutput,
        "scalar_output": ScalarOutput,
        "tuple_mlp": TupleMLP,
    }[name]()
    return model.to(dtype).eval()


def example_inputs(name: str, batch: int = 3, seed: int = 1, dtype: torch.dtype = torch.float64):
    """Inputs for :func:`make`'s model: a tuple of positional tensors."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {
        "mlp": [(batch, 10)],
        "cnn": [(batch, 3, 16, 16)],
        "two_inputs": [(batch, 6), (batch, 4)],
        "extra_args": [(batch, 5)],
        "multi_output": [(batch, 6)],
        "scalar_output": [(batch, 6)],
        "tuple_mlp": [(batch, 6), (batch, 4)],
    }[name]
    return tuple(torch.randn(shape, generator=generator, dtype=dtype) for shape in shapes)


def extra_forward_args(name: str, batch: int = 3) -> tuple | None:
    """The ``additional_forward_args`` :func:`make`'s model takes: for ``extra_args`` a
    per-example scale (batch, 5) and a number; None for the others."""
    if name != "extra_args":
        return None
    return (torch.linspace(0.5, 1.5, 5 * batch, dtype=torch.float64).view(batch, 5), 0.25)


def reference_inputs(inputs: tuple[torch.Tensor, ...], kind: str, seed: int = 7):
    """Baselines for ``inputs``: ``"one"`` per example (0.3 · N(0, 1), the inputs' shape) or
    ``"background"`` (4 draws of N(0, 1) to sample from); a tensor for a single input."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "one":
        shapes = [tuple(x.shape) for x in inputs]
        scale = 0.3
    else:
        shapes = [(4,) + tuple(x.shape[1:]) for x in inputs]
        scale = 1.0
    made = tuple(
        scale * torch.randn(s, generator=generator, dtype=x.dtype) for s, x in zip(shapes, inputs)
    )
    return made if len(made) > 1 else made[0]
