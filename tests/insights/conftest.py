"""A tiny two-modality model (pixels + word ids through an embedding) and its explorer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from mmattr.adapters import TokenAdapter
from mmattr.insights import Explorer

WORDS = ["<pad>", "red", "blue", "ball", "box", "is", "a", "the", "big", "?"]


class TinyVQA(nn.Module):
    """logits (n, 3) from ``image`` (n, 3, 6, 6) and ``question`` word ids (n, 5).

    ``gate``: when set, the forward call number ``block_at`` waits on it (a long run to cancel).
    """

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(len(WORDS), 4, padding_idx=0)
        self.pixels = nn.Linear(3 * 6 * 6, 8)
        self.head = nn.Linear(8 + 4, 3)
        self.calls, self.block_at = 0, None
        self.started, self.gate = threading.Event(), threading.Event()

    def forward(self, image: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.block_at is not None and self.calls == self.block_at:
            self.started.set()
            self.gate.wait(10)
        words = self.embedding(question).mean(1)  # (n, 4)
        seen = torch.tanh(self.pixels(image.flatten(1)))  # (n, 8)
        return self.head(torch.cat([seen, words], 1))


def tiny_data(n: int = 6) -> list[dict]:
    generator = torch.Generator().manual_seed(1)
    return [
        {
            "image": torch.rand(3, 6, 6, generator=generator),
            "question": torch.randint(1, len(WORDS), (5,), generator=generator),
            "label": i % 3,
            "title": f"question {i}",
        }
        for i in range(n)
    ]


def tiny_explorer() -> Explorer:
    adapters = {"question": TokenAdapter(WORDS, pad_id=0)}
    return Explorer(TinyVQA().eval(), tiny_data(), adapters=adapters, classes=["x", "y", "z"])


def zoo_explorer(name: str) -> Iterator[Explorer]:
    """Zoo model ``name``'s explorer, its runner closed after use (a fixture's body)."""
    from mmattr.insights import from_zoo

    made = from_zoo(name)
    yield made
    made.runner.close()


def expected_view(explorer: Explorer, example: int, method: str, **params) -> dict:
    """The same settings straight through ``mmattr.explain``: totals and contribution values."""
    import mmattr

    row = explorer.dataset[example]
    torch.manual_seed(0)
    explanation = mmattr.explain(
        explorer.model,
        {"image": row["image"][None], "question": row["question"][None]},
        adapters=explorer.adapters,
        method=method,
        target="predicted",
        **params,
    )
    return {
        "totals": {k: float(v.double().sum()) for k, v in explanation.attributions.items()},
        "values": {k: c.values for k, c in explanation.contributions.items()},
    }


@pytest.fixture
def explorer() -> Explorer:
    made = tiny_explorer()
    yield made
    made.runner.close()
