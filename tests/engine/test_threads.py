"""Concurrent attribute() calls on one shared model give exactly the serial results.

The model's first module is a gate where every thread waits for the others, so all four
threads' hooks are registered and their forwards run through the same layers at once: before
hooks were scoped to their call, each thread's layers fed every thread's hooks (wrong numbers
or "ran 4 times in one forward pass"), and one call's guard removed the others' hooks.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable

import pytest
import torch
from torch import nn

import mmattr
from mmattr.engine._hooks import capture_layers, preserve_model_state

THREADS, CALLS = 4, 8


class _Gate(nn.Module):
    """Identity; while ``barrier`` is set, each forward waits until every thread is here."""

    barrier: threading.Barrier | None = None

    def forward(self, x):
        if self.barrier is not None:
            try:
                self.barrier.wait(timeout=2.0)
            except threading.BrokenBarrierError:
                pass  # a thread failed (before the fix): run on unsynchronised
        return x


class GatedCNN(nn.Module):
    """(batch, 2, 5, 5) -> (batch, 3); ``linear=True`` drops the ReLU, so a path method's
    random interpolation points do not change its numbers."""

    def __init__(self, linear: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.gate = _Gate()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.relu = nn.Identity() if linear else nn.ReLU()
        self.fc = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(self.relu(self.conv(self.gate(x))).flatten(1))


class GatedEmbedding(nn.Module):
    """Token ids (batch, 5) -> (batch, 3) through an embedding, the issue's second case."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.gate = _Gate()
        self.embedding = nn.Embedding(11, 6)
        self.fc = nn.Linear(6, 3)

    def forward(self, ids):
        return self.fc(torch.tanh(self.embedding(self.gate(ids))).mean(1))


BG = torch.linspace(-1, 1, 50).view(1, 2, 5, 5)
BG3 = BG * torch.tensor([1.0, 0.5, 0.0]).view(3, 1, 1, 1)
N = {"neuron_selector": (1, 2, 2)}
A = mmattr
# name -> (the method on a model, attribute() keyword arguments)
CASES: dict[str, tuple[Callable[[nn.Module], object], dict]] = {
    "LayerConductance": (lambda m: A.LayerConductance(m, m.conv), {"target": 1, "n_steps": 6}),
    "LayerIntegratedGradients": (
        lambda m: A.LayerIntegratedGradients(m, [m.conv, m.relu]),
        {"target": 2, "n_steps": 6},
    ),
    "LayerIntegratedGradients-embedding": (
        lambda m: A.LayerIntegratedGradients(m, m.embedding),
        {"target": 0, "n_steps": 6},
    ),
    "InternalInfluence": (lambda m: A.InternalInfluence(m, m.conv), {"target": 1, "n_steps": 6}),
    "LayerGradientXActivation": (lambda m: A.LayerGradientXActivation(m, m.relu), {"target": 0}),
    "LayerActivation": (lambda m: A.LayerActivation(m, [m.conv, m.fc]), {}),
    "LayerDeepLift": (lambda m: A.LayerDeepLift(m, m.conv), {"target": 1}),
    "LayerDeepLiftShap": (
        lambda m: A.LayerDeepLiftShap(m, m.conv),
        {"baselines": BG3, "target": 1},
    ),
    "LayerGradCam": (lambda m: A.LayerGradCam(m, m.conv), {"target": 1}),
    "GuidedGradCam": (lambda m: A.GuidedGradCam(m, m.conv), {"target": 1}),
    "LayerFeatureAblation": (
        lambda m: A.LayerFeatureAblation(m, m.conv),
        {"target": 1, "perturbations_per_eval": 2},
    ),
    "LayerGradientShap": (
        lambda m: A.LayerGradientShap(m, m.conv),
        {"baselines": BG, "n_samples": 3, "target": 1},
    ),
    "NeuronConductance": (
        lambda m: A.NeuronConductance(m, m.conv),
        {**N, "target": 1, "n_steps": 6},
    ),
    "NeuronIntegratedGradients": (
        lambda m: A.NeuronIntegratedGradients(m, m.relu),
        {**N, "n_steps": 6},
    ),
    "NeuronGradient": (lambda m: A.NeuronGradient(m, m.relu), N),
    "NeuronGuidedBackprop": (lambda m: A.NeuronGuidedBackprop(m, m.relu), N),
    "NeuronDeconvolution": (lambda m: A.NeuronDeconvolution(m, m.relu), N),
    "NeuronDeepLift": (lambda m: A.NeuronDeepLift(m, m.relu), N),
    "NeuronDeepLiftShap": (lambda m: A.NeuronDeepLiftShap(m, m.relu), {**N, "baselines": BG3}),
    "NeuronFeatureAblation": (
        lambda m: A.NeuronFeatureAblation(m, m.relu),
        {**N, "perturbations_per_eval": 2},
    ),
    "NeuronGradientShap": (
        lambda m: A.NeuronGradientShap(m, m.relu),
        {**N, "baselines": BG, "n_samples": 3},
    ),
    "DeepLift": (lambda m: A.DeepLift(m), {"target": 2}),
    "GuidedBackprop": (lambda m: A.GuidedBackprop(m), {"target": 2}),
}
# the GradientShap family draws random points on the path: on a linear model, with one
# baseline and no noise, every draw gives the same numbers
MODELS: dict[str, Callable[[], nn.Module]] = {
    "LayerIntegratedGradients-embedding": GatedEmbedding,
    "LayerGradientShap": lambda: GatedCNN(linear=True),
    "NeuronGradientShap": lambda: GatedCNN(linear=True),
}


def _inputs(model: nn.Module) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    if isinstance(model, GatedEmbedding):
        return [torch.randint(11, (2, 5), generator=generator) for _ in range(CALLS)]
    return [torch.randn(2, 2, 5, 5, generator=generator) for _ in range(CALLS)]


def _flat(result) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for item in result for t in _flat(item)]


@pytest.mark.parametrize("name", list(CASES))
def test_concurrent_calls_equal_serial_calls(name):
    make_method, kwargs = CASES[name]
    model = MODELS.get(name, GatedCNN)().eval()

    def call(model: nn.Module, x: torch.Tensor):
        return make_method(model).attribute(x, **kwargs)

    inputs = _inputs(model)
    serial = [_flat(call(model, x)) for x in inputs]
    results: dict[tuple[int, int], list[torch.Tensor]] = {}
    errors: list[str] = []

    def work(thread: int) -> None:
        for index, x in enumerate(inputs):
            try:
                results[thread, index] = _flat(call(model, x))
            except Exception as error:  # collected: the assertion below names it
                errors.append(f"thread {thread} call {index}: {error!r}")

    model.gate.barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    model.gate.barrier = None
    assert not errors, errors[:3]
    for (thread, index), got in results.items():
        for ours, expected in zip(got, serial[index]):
            assert torch.equal(ours, expected), f"thread {thread} call {index} differs"
    assert len(results) == THREADS * CALLS
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_overlapping_guards_restore_the_state_before_the_first():
    """Call A's forward switches the model to train mode; call B starts meanwhile and A ends
    first. Each guard used to restore its own snapshot: B's put train mode back for good."""
    model = GatedCNN().eval()
    guard_a, guard_b = preserve_model_state(model), preserve_model_state(model)
    guard_a.__enter__()
    model.train()
    guard_b.__enter__()
    guard_a.__exit__(None, None, None)
    assert model.training  # B is still running with what its forward saw
    guard_b.__exit__(None, None, None)
    assert not any(m.training for m in model.modules())


def test_a_guard_ending_keeps_the_hooks_of_a_call_still_running():
    """A's guard removed every hook added since it started, B's live capture included."""
    model = GatedCNN().eval()
    x = torch.randn(1, 2, 5, 5)
    with contextlib.ExitStack() as call_b:
        guard_a = preserve_model_state(model)
        guard_a.__enter__()
        call_b.enter_context(preserve_model_state(model))
        records = call_b.enter_context(capture_layers([model.conv]))
        guard_a.__exit__(None, None, None)
        model(x)
        assert len(records[0].values) == 1
        torch.testing.assert_close(records[0].values[0], model.conv(x))
    assert not model.conv._forward_hooks
