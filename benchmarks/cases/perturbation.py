"""Issue 4 cases: perturbation methods on resnet18 with SLIC segments, exact Shapley on an MLP.

Every contender's forward is wrapped in a :class:`Tally`, so the printed evaluation counts are
measured (forward calls and rows) on the last run, not assumed.
"""

from __future__ import annotations

import captum.attr as captum_attr
import numpy as np
import torch
import torchvision
from skimage.filters import gaussian
from skimage.segmentation import slic

import mmattr
from benchmarks._harness import Setup, case

#: Rows per forward in the floor, the best measured per device: on the GPU big enough to
#: amortise launches; on the CPU cache-sized (resnet18 at 224²: 4 rows beat 1, 8, 16 and 35)
FLOOR_CHUNK = {"cuda": 128, "cpu": 4}


class Tally:
    """Forward wrapper counting calls and rows; ``wrap(fn)`` records them per contender run."""

    def __init__(self, forward, evaluations: dict[str, str], key: str) -> None:
        self.forward, self.evaluations, self.key = forward, evaluations, key
        self.calls = self.rows = 0

    def __call__(self, x, *args):
        self.calls += 1
        self.rows += x.shape[0]
        return self.forward(x, *args)

    def wrap(self, fn):
        def run():
            self.calls = self.rows = 0
            fn()
            self.evaluations[self.key] = f"{self.calls} forwards, {self.rows} rows"

        return run


def forward_floor(forward, x: torch.Tensor, rows: int, chunk: int | None = None):
    """Bare cost of ``rows`` forward rows under inference mode, ``chunk`` rows per call
    (default: the device's best for an image model, ``FLOOR_CHUNK``)."""
    chunk = chunk or FLOOR_CHUNK[x.device.type]

    def run():
        with torch.inference_mode():
            for start in range(0, rows, chunk):
                forward(x.expand(min(chunk, rows - start), *x.shape[1:]).contiguous())

    return run


def _add_libraries(contenders, evaluations, libraries, model, x, mask, **kwargs) -> None:
    """One counted contender per class: ``cls(forward).attribute(x, mask, ...)``."""
    for key, cls in libraries.items():
        tally = Tally(model, evaluations, key)
        method = cls(tally)
        contenders[key] = tally.wrap(
            lambda m=method: m.attribute(x, target=0, feature_mask=mask, **kwargs)
        )


def segmented_image(device: str, n_segments: int = 80):
    """resnet18 (random weights), one smooth natural-looking 224×224 image and its SLIC mask."""
    rng = np.random.default_rng(0)
    image = gaussian(rng.random((224, 224, 3)), sigma=6, channel_axis=-1)
    image = (image - image.min()) / (image.max() - image.min())
    segments = slic(image, n_segments=n_segments, compactness=10, start_label=0)
    model = torchvision.models.resnet18(weights=None).to(device).eval()
    x = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None].to(device)
    mask = torch.tensor(segments, device=device)[None, None].expand(1, 3, 224, 224)
    return model, x, mask.contiguous()


def _versus(name: str, rows_of, device: str, **kwargs) -> Setup:
    """Floor vs mmattr vs Captum for one perturbation class on the segmented image."""
    model, x, mask = segmented_image(device)
    n_features = int(mask.max()) + 1
    evaluations: dict[str, str] = {}
    rows = rows_of(n_features)
    evaluations["floor"] = f"{rows} rows"
    contenders = {"floor": forward_floor(model, x, rows)}
    libraries = {"mmattr": getattr(mmattr, name), "captum": getattr(captum_attr, name)}
    _add_libraries(contenders, evaluations, libraries, model, x, mask, **kwargs)
    options = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"
    return Setup(contenders, evaluations, note=f"{n_features} SLIC segments, {options}")


@case("image-ablation")
def image_ablation(device: str) -> Setup:
    return _versus("FeatureAblation", lambda k: k + 1, device)


@case("kernelshap")
def kernelshap(device: str) -> Setup:
    return _versus("KernelShap", lambda k: 25, device)


@case("lime")
def lime(device: str) -> Setup:
    return _versus("Lime", lambda k: 25, device)


@case("shapley-sampling")
def shapley_sampling(device: str) -> Setup:
    # Captum's default 25 permutations cost 25 × (segments) forwards: too slow to repeat on a
    # shared 2-core CPU, so both libraries get the same smaller n_samples there.
    n_samples = 25 if device == "cuda" else 2
    return _versus("ShapleyValueSampling", lambda k: n_samples * k + 1, device, n_samples=n_samples)


def _mlp(device: str, n_inputs: int, hidden: int = 64, depth: int = 1) -> torch.nn.Module:
    torch.manual_seed(0)
    layers = [torch.nn.Linear(n_inputs, hidden), torch.nn.Tanh()]
    for _ in range(depth - 1):
        layers += [torch.nn.Linear(hidden, hidden), torch.nn.Tanh()]
    layers.append(torch.nn.Linear(hidden, 3))
    return torch.nn.Sequential(*layers).to(device).eval()


def _exact(device: str, k: int, with_captum: bool, hidden: int = 64, depth: int = 1) -> Setup:
    n_inputs = max(10, k)
    model = _mlp(device, n_inputs, hidden, depth)
    x = torch.randn(1, n_inputs, device=device)
    mask = torch.arange(n_inputs, device=device).clamp(max=k - 1)[None]
    evaluations = {"floor": f"{2**k} rows in one forward"}
    contenders = {"floor": forward_floor(model, x, 2**k, chunk=2**k)}
    libraries = {"mmattr": mmattr.ShapleyValues}
    if with_captum:
        libraries["captum"] = captum_attr.ShapleyValues
    _add_libraries(contenders, evaluations, libraries, model, x, mask)
    return Setup(
        contenders,
        evaluations,
        note=f"k={k} groups on a {n_inputs}-input MLP ({depth}×{hidden} tanh), defaults",
        once=("captum",),
    )


@case("exact-shapley")
def exact_shapley(device: str) -> Setup:
    """k=8; Captum enumerates k!·k evaluations (~3 min here), so it runs once, not repeated."""
    return _exact(device, 8, with_captum=True)


@case("exact-shapley-k12")
def exact_shapley_k12(device: str) -> Setup:
    """k=12 (12-input MLP): 4096 evaluations for mmattr; Captum's 12!·12 is out of reach."""
    return _exact(device, 12, with_captum=False)


@case("exact-shapley-k12-wide")
def exact_shapley_k12_wide(device: str) -> Setup:
    """k=12 on an MLP with three 512-wide layers: rows cost what a small real model's do, so
    the ratio shows mmattr's work per evaluation rather than its fixed cost per call."""
    return _exact(device, 12, with_captum=False, hidden=512, depth=3)
