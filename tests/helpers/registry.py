"""Every gradient method with the arguments that make it comparable with Captum.

The conformance harness runs each entry through the same checks; a new method is covered the
day it is added here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import captum.attr as captum_attr
import numpy as np
import torch

import mmattr


@dataclass
class Case:
    ours: Callable
    theirs: Callable
    kwargs: dict = field(default_factory=dict)
    #: arguments built from the inputs (baselines that need their shape)
    make_kwargs: Callable[[tuple], dict] = lambda inputs: {}
    has_delta: bool = False
    #: re-seed torch and numpy before each call (stochastic methods)
    seeded: bool = False


def _background(inputs: tuple) -> dict:
    generator = torch.Generator().manual_seed(7)
    sample = tuple(
        torch.randn((4,) + x.shape[1:], generator=generator, dtype=x.dtype) for x in inputs
    )
    return {"baselines": sample if len(sample) > 1 else sample[0]}


def _half_baseline(inputs: tuple) -> dict:
    values = tuple(0.5 * x.flip(0) for x in inputs)
    return {"baselines": values if len(values) > 1 else values[0]}


GRADIENT_METHODS: dict[str, Case] = {
    "Saliency": Case(mmattr.Saliency, captum_attr.Saliency),
    "Saliency-signed": Case(mmattr.Saliency, captum_attr.Saliency, {"abs": False}),
    "InputXGradient": Case(mmattr.InputXGradient, captum_attr.InputXGradient),
    "IntegratedGradients": Case(
        mmattr.IntegratedGradients,
        captum_attr.IntegratedGradients,
        {"n_steps": 16},
        _half_baseline,
        has_delta=True,
    ),
    "DeepLift": Case(mmattr.DeepLift, captum_attr.DeepLift, {}, _half_baseline, has_delta=True),
    "DeepLiftShap": Case(
        mmattr.DeepLiftShap, captum_attr.DeepLiftShap, {}, _background, has_delta=True
    ),
    "GradientShap": Case(
        mmattr.GradientShap,
        captum_attr.GradientShap,
        {"n_samples": 6, "stdevs": 0.1},
        _background,
        has_delta=True,
        seeded=True,
    ),
    "GuidedBackprop": Case(mmattr.GuidedBackprop, captum_attr.GuidedBackprop),
    "Deconvolution": Case(mmattr.Deconvolution, captum_attr.Deconvolution),
    "NoiseTunnel-smoothgrad": Case(
        lambda m: mmattr.NoiseTunnel(mmattr.Saliency(m)),
        lambda m: captum_attr.NoiseTunnel(captum_attr.Saliency(m)),
        {"nt_samples": 4, "stdevs": 0.2},
        seeded=True,
    ),
    "NoiseTunnel-vargrad-ig": Case(
        lambda m: mmattr.NoiseTunnel(mmattr.IntegratedGradients(m)),
        lambda m: captum_attr.NoiseTunnel(captum_attr.IntegratedGradients(m)),
        {
            "nt_type": "vargrad",
            "nt_samples": 3,
            "nt_samples_batch_size": 2,
            "stdevs": 0.2,
            "n_steps": 8,
        },
        seeded=True,
    ),
}


def run(factory: Callable, model: Any, inputs: tuple, case: Case, **extra) -> Any:
    if case.seeded:
        torch.manual_seed(0)
        np.random.seed(0)
    kwargs = {**case.kwargs, **case.make_kwargs(inputs), **extra}
    return factory(model).attribute(inputs if len(inputs) > 1 else inputs[0], **kwargs)
