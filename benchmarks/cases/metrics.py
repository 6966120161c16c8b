"""Issue 14 case: infidelity and max-sensitivity on resnet18, integrated gradients inside.

The floor is the bare model work the two metrics need: infidelity, one forward of the batch and
one of its ``N_PERTURB × batch`` perturbed copies; sensitivity, integrated gradients (one
forward and backward over ``n_steps × rows``) on the batch and on its perturbed copies.
mmattr and Captum run with their defaults (everything in one chunk), the same noise.
"""

from __future__ import annotations

import captum.attr as captum_attr
import captum.metrics as captum_metrics
import torch
import torchvision

import mmattr
from benchmarks._harness import Setup, case
from benchmarks.cases.gradient import ig_floor
from mmattr.metrics import infidelity, sensitivity_max

N_PERTURB = 10
N_STEPS = 8
BATCH, SIZE = 2, 112


def _noise(inputs):
    noise = 0.02 * torch.randn_like(inputs)
    return noise, inputs - noise


def _floor(model, x: torch.Tensor):
    copies = x.repeat_interleave(N_PERTURB, 0)
    ig_batch, ig_copies = ig_floor(model, x, N_STEPS), ig_floor(model, copies, N_STEPS)

    def run():
        with torch.inference_mode():  # infidelity: F(x) and F(x − I) of every draw
            model(x)
            model(copies)
        ig_batch()  # sensitivity: IG of the batch and of every perturbed copy
        ig_copies()

    return run


def _metrics(infidelity_fn, sensitivity_fn, ig_class, model, x, attributions):
    def run():
        infidelity_fn(model, _noise, x, attributions, target=0, n_perturb_samples=N_PERTURB)
        sensitivity_fn(
            ig_class(model).attribute, x, target=0, n_steps=N_STEPS, n_perturb_samples=N_PERTURB
        )

    return run


@case("metrics-resnet18")
def metrics_resnet18(device: str) -> Setup:
    model = torchvision.models.resnet18(weights=None).to(device).eval()
    x = torch.randn(BATCH, 3, SIZE, SIZE, device=device)
    attributions = mmattr.IntegratedGradients(model).attribute(x, target=0, n_steps=N_STEPS)
    rows = BATCH * (1 + N_PERTURB)
    evaluations = f"{rows} rows fwd + {rows * N_STEPS} rows fwd+bwd"
    return Setup(
        {
            "floor": _floor(model, x),
            "mmattr": _metrics(
                infidelity, sensitivity_max, mmattr.IntegratedGradients, model, x, attributions
            ),
            "captum": _metrics(
                captum_metrics.infidelity,
                captum_metrics.sensitivity_max,
                captum_attr.IntegratedGradients,
                model,
                x,
                attributions,
            ),
        },
        {k: evaluations for k in ("floor", "mmattr", "captum")},
        note=f"batch={BATCH}, {SIZE}², n_perturb_samples={N_PERTURB}, IG n_steps={N_STEPS}",
    )
