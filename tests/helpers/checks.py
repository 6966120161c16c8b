"""Checks every engine test shares: the model's state, closeness of attributions, row counts."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
from torch import nn


def model_state(model: nn.Module) -> tuple:
    """What an attribution must give back unchanged: every module's mode and hooks, and every
    parameter's ``requires_grad`` and value."""
    return (
        [m.training for m in model.modules()],
        [
            (dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
            for m in model.modules()
        ],
        [p.requires_grad for p in model.parameters()],
        [p.detach().clone() for p in model.parameters()],
    )


def assert_same_state(before: tuple, after: tuple) -> None:
    assert before[:3] == after[:3], "modes, hooks or requires_grad flags changed"
    for old, new in zip(before[3], after[3]):
        assert torch.equal(old, new), "a parameter's value changed"


def assert_attributions_close(
    ours: Any, theirs: Any, rtol: float = 1e-5, atol: float = 1e-10
) -> None:
    """Same container (tensor, tuple or list), same shapes, close values."""
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs), f"{type(ours).__name__} vs {type(theirs).__name__}"
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_attributions_close(a, b, rtol, atol)
        return
    assert isinstance(ours, torch.Tensor), f"expected a tensor, got {type(ours).__name__}"
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    torch.testing.assert_close(ours, theirs.detach().to(ours.dtype), rtol=rtol, atol=atol)


def quiet(call: Callable, *args: Any, **kwargs: Any) -> Any:
    """``call`` with warnings silenced (Captum warns about things the tests do on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


class RowCounter(nn.Module):
    """Counts the forward calls and the rows they receive."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.rows, self.calls = model, 0, 0

    def forward(self, *inputs):
        self.rows += inputs[0].shape[0]
        self.calls += 1
        return self.model(*inputs)
