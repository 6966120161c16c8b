"""Issue 21 case: layer conductance called from four threads on one shared model.

Hooks act only for the call (thread) that registered them, so concurrent calls need no lock;
this case measures what the scoping costs a serial call and what four threads gain.
"""

from __future__ import annotations

import threading

import captum.attr as captum_attr
import torch
from torch import nn

import mmattr
from benchmarks._harness import Setup, case
from mmattr.engine._hooks import capture_layers

N_STEPS, CALLS, THREADS = 16, 8, 4


def _cnn(device: str) -> tuple[nn.Module, list[nn.Module]]:
    torch.manual_seed(0)
    convs = [nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1) for i in range(4)]
    layers: list[nn.Module] = []
    for conv in convs:
        layers += [conv, nn.ReLU()]
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * 16 * 16, 10)).to(device).eval()
    return model, convs


def _floor(model: nn.Module, layers: list[nn.Module], inputs: list[torch.Tensor]):
    """Bare cost: per call one forward over the ``n_steps + 1`` path points and one backward
    to every layer output."""

    def run():
        for x in inputs:
            rows = x.repeat(N_STEPS + 1, 1, 1, 1).requires_grad_()
            with capture_layers(layers) as records:
                output = model(rows)[:, 0].sum()
            torch.autograd.grad(output, [rows, *(r.values[0] for r in records)])

    return run


def _threads(call, inputs: list[torch.Tensor]):
    """The same calls spread over ``THREADS`` threads sharing the model."""

    def run():
        shares = [inputs[t::THREADS] for t in range(THREADS)]
        workers = [threading.Thread(target=lambda s=s: [call(x) for x in s]) for s in shares]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return run


@case("conductance-threads")
def conductance_threads(device: str) -> Setup:
    model, layers = _cnn(device)
    generator = torch.Generator().manual_seed(1)
    inputs = [torch.randn(2, 3, 16, 16, generator=generator).to(device) for _ in range(CALLS)]

    def ours(x):
        return mmattr.LayerConductance(model, layers).attribute(x, target=0, n_steps=N_STEPS)

    def theirs(x):
        return [
            captum_attr.LayerConductance(model, layer).attribute(x, target=0, n_steps=N_STEPS)
            for layer in layers
        ]

    rows = (N_STEPS + 1) * 2
    return Setup(
        {
            "floor": _floor(model, layers, inputs),
            "mmattr": lambda: [ours(x) for x in inputs],
            "mmattr-4-threads": _threads(ours, inputs),
            "captum": lambda: [theirs(x) for x in inputs],
        },
        {
            "floor": f"{CALLS} x ({rows} rows, 1 fwd + 1 bwd)",
            "mmattr": f"{CALLS} calls, 4 layers each, one after another",
            "mmattr-4-threads": f"the same {CALLS} calls from {THREADS} threads, one model",
            "captum": f"{CALLS} x 4 calls (one layer each)",
        },
        note=f"4 conv layers, batch 2 of 3x16x16, n_steps={N_STEPS}",
    )
