"""The conformance harness: every registered method, built from its registration, through the
same scenarios (single tensor and tuple inputs, every target form, batch 1 and 3, float64) and
every Captum option listed in ``OPTIONS``, next to its Captum counterpart.

A new class is covered the day it registers: the harness builds it from its facts (kind,
layers, wraps) and fills the arguments its ``attribute`` takes (baselines, feature masks,
n_steps...) with small defaults. ``OPTIONS`` adds the variants a method has beyond those.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import mmattr
from mmattr.engine.registry import MethodInfo, methods
from tests.helpers.models import example_inputs, extra_forward_args, make, reference_inputs

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")
#: layer (and the neuron in it) each test model is attributed at
LAYER = {"mlp": "linear2", "tuple_mlp": "relu", "multi_output": "linear", "cnn": "conv2",
         "extra_args": "linear", "scalar_output": "linear"}  # fmt: skip
NEURON = {"mlp": ("relu1", 9), "tuple_mlp": ("relu", 5), "multi_output": ("relu", 1),
          "extra_args": ("act", 1), "scalar_output": ("linear", 0)}  # fmt: skip
#: (model, batch, target, pass a single tensor as a 1-tuple)
SCENARIOS = [
    ("mlp", 3, 1, False),
    ("mlp", 3, [0, 2, 1], False),
    ("mlp", 3, torch.tensor([2, 0, 1]), True),
    ("mlp", 1, 2, False),
    ("tuple_mlp", 3, [0, 1, 2], False),
    ("multi_output", 3, [(0, 1), (1, 2), (0, 0)], False),
    ("multi_output", 3, (0, 1), False),
    ("extra_args", 3, [0, 1, 2], False),
    ("scalar_output", 3, None, False),
]
#: where Captum is not the oracle. Its DeepLift hooks modules, so it treats the functional
#: tanh of scalar_output as linear (tests/engine/test_deep_lift.py shows it).
CAPTUM_DIFFERS = {"deep_lift": {"scalar_output"}, "layer_deep_lift": {"scalar_output"},
                  "neuron_deep_lift": {"scalar_output"}}  # fmt: skip
CNN_SCENARIOS = [("cnn", 3, 2, False), ("cnn", 3, [0, 3, 1], True), ("cnn", 1, 3, False)]
#: methods whose ``baselines`` is a distribution to draw from
DISTRIBUTION = {"gradient_shap", "deep_lift_shap", "layer_gradient_shap", "layer_deep_lift_shap",
                "neuron_gradient_shap", "neuron_deep_lift_shap"}  # fmt: skip


@dataclass
class Option:
    """One variant: constructor and ``attribute`` keyword arguments, and its tolerance."""

    label: str = "default"
    init: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)
    #: the wrapped method's registered name (``wraps`` methods)
    inner: str = "saliency"
    rtol: float = 1e-5
    atol: float = 1e-9
    #: passed to mmattr only (its extensions that select Captum's behaviour)
    ours_only: dict = field(default_factory=dict)
    #: the models this variant runs on (Grad-CAM needs a convolution)
    scenarios: list = field(default_factory=lambda: SCENARIOS)


def _rules(**extra: Any) -> list[Option]:
    return [Option(rule, kwargs={"method": rule, **extra}) for rule in RULES]


def _nt(inner: str, nt_type: str, label: str = "", **kwargs: Any) -> Option:
    # noise large enough to switch ReLUs: a piecewise-linear model's vargrad is 0 otherwise
    kwargs = {"nt_type": nt_type, "nt_samples": 3, "stdevs": 1.0, **kwargs}
    return Option(label or f"{inner}-{nt_type}", kwargs=kwargs, inner=inner)


def _squared_difference(multipliers, inputs, baselines):
    """A custom DeepLift attribution: ``m · (x − b)²``."""
    return tuple(m * (x - b) ** 2 for m, x, b in zip(multipliers, inputs, baselines))


CHUNKED = Option("chunked", kwargs={"internal_batch_size": 5})
PER_EVAL = Option("per-eval-2", kwargs={"perturbations_per_eval": 2})


OPTIONS: dict[str, list[Option]] = {
    "saliency": [Option("abs"), Option("signed", kwargs={"abs": False})],
    "integrated_gradients": _rules()
    + [Option("global", init={"multiply_by_inputs": False}), CHUNKED],
    "layer_integrated_gradients": _rules()
    + [Option("layer-input", kwargs={"attribute_to_layer_input": True})],
    "layer_conductance": _rules()
    + [Option("layer-input", kwargs={"attribute_to_layer_input": True}), CHUNKED],
    "internal_influence": _rules(),
    "neuron_conductance": _rules(),
    "neuron_integrated_gradients": _rules(),
    "gradient_shap": [Option(), Option("global", init={"multiply_by_inputs": False})],
    "deep_lift": [
        Option(),
        Option("global", init={"multiply_by_inputs": False}),
        Option("custom", kwargs={"custom_attribution_func": _squared_difference}),
    ],
    "neuron_gradient": [
        Option(),
        Option("neuron-input", kwargs={"attribute_to_neuron_input": True}),
    ],
    "layer_gradient_x_activation": [
        Option(),
        Option("global", init={"multiply_by_inputs": False}),
        Option("layer-input", kwargs={"attribute_to_layer_input": True}),
    ],
    "layer_activation": [
        Option(),
        Option("layer-input", kwargs={"attribute_to_layer_input": True}),
    ],
    "noise_tunnel": [
        _nt(inner, nt_type)
        for inner in ("saliency", "integrated_gradients")
        for nt_type in ("smoothgrad", "smoothgrad_sq", "vargrad")
    ]
    + [
        _nt("saliency", "smoothgrad", "chunked", nt_samples=4, nt_samples_batch_size=3),
        _nt(
            "integrated_gradients",
            "smoothgrad",
            "baselines-drawn",
            baselines="background",
            draw_baseline_from_distrib=True,
        ),
    ],
    "layer_grad_cam": [
        Option(scenarios=CNN_SCENARIOS),
        Option("relu", kwargs={"relu_attributions": True}, scenarios=CNN_SCENARIOS),
        Option("per-channel", kwargs={"attr_dim_summation": False}, scenarios=CNN_SCENARIOS),
    ],
    "guided_grad_cam": [Option(scenarios=CNN_SCENARIOS)],
    "feature_ablation": [Option(), Option("no-mask", kwargs={"feature_mask": None}), PER_EVAL],
    "shapley_values": [Option(), PER_EVAL],
    "shapley_value_sampling": [Option(), PER_EVAL],
    "occlusion": [Option(kwargs={"sliding_window_shapes": "windows", "strides": "strides"})],
    "lime": [Option(kwargs={"n_samples": 40, "baselines": "low"}, atol=1e-4)],
    "kernel_shap": [
        Option(kwargs={"n_samples": 20}, ours_only={"exact": False}, atol=1e-4),
        Option(
            "flat",
            kwargs={"n_samples": 20, "return_input_shape": False},
            ours_only={"exact": False},
            atol=1e-4,
            scenarios=SCENARIOS[:1],
        ),
    ],
    # the default "auto" chunking draws the permutations of a tuple's second input in another
    # order than Captum's one-per-call; any fixed number gives Captum's draws
    "feature_permutation": [Option(kwargs={"perturbations_per_eval": 3})],
    "neuron_feature_ablation": [Option(), Option("no-mask", kwargs={"feature_mask": None})],
}


def options(info: MethodInfo) -> list[Option]:
    return OPTIONS.get(info.name, [Option()])


def scenarios(info: MethodInfo, option: Option) -> list[tuple]:
    """The option's scenarios; one per model and batch for methods without a target, and none
    of batch 1 for FeaturePermutation (it permutes across the batch)."""
    chosen, seen = [], set()
    takes_target = _takes(info, "target") or info.wraps
    for scenario in option.scenarios:
        model_name, batch, _, _ = scenario
        if info.name == "feature_permutation" and batch == 1:
            continue
        if model_name in CAPTUM_DIFFERS.get(info.name.removesuffix("_shap"), ()):
            continue
        if not takes_target and (model_name, batch) in seen:
            continue
        seen.add((model_name, batch))
        chosen.append(scenario)
    return chosen


def _takes(info: MethodInfo, parameter: str) -> bool:
    return parameter in inspect.signature(info.cls.attribute).parameters


def build(library: Any, info: MethodInfo, model: torch.nn.Module, model_name: str, option: Option):
    """An instance of ``info``'s class (``library`` mmattr or Captum) for ``model``."""
    cls = info.cls if library is mmattr else getattr(library, info.captum)
    if info.wraps:
        inner = methods()[option.inner]
        return cls(build(library, inner, model, model_name, Option()))
    if info.kind == "neuron":
        return cls(model, getattr(model, NEURON[model_name][0]), **option.init)
    if info.layers is not None:
        return cls(model, getattr(model, LAYER[model_name]), **option.init)
    return cls(model, **option.init)


def call_kwargs(info: MethodInfo, option: Option, inputs: tuple, model_name: str, target: Any):
    """``attribute``'s keyword arguments: small defaults for what it takes, then the option."""
    kwargs: dict[str, Any] = {}
    probe = methods()[option.inner] if info.wraps else info
    if _takes(probe, "target"):
        kwargs["target"] = target
    if info.kind == "neuron":
        kwargs["neuron_selector"] = NEURON[model_name][1]
    if _takes(probe, "baselines"):
        kwargs["baselines"] = "background" if info.name in DISTRIBUTION else "half"
    if _takes(probe, "feature_mask"):
        kwargs["feature_mask"] = "pairs"
    for name, value in (("n_steps", 8), ("n_samples", 4), ("stdevs", 0.1)):
        if _takes(probe, name) and not info.wraps:
            kwargs[name] = value
    if info.wraps and _takes(probe, "n_steps"):
        kwargs["n_steps"] = 4
    if info.convergence_delta:
        kwargs["return_convergence_delta"] = True
    kwargs.update(option.kwargs)
    return {k: _materialise(v, inputs) for k, v in kwargs.items() if v is not None}


PLACEHOLDERS = ("half", "low", "background", "pairs", "windows", "strides")


def _materialise(value: Any, inputs: tuple) -> Any:
    """Named placeholders made from the inputs' shapes."""
    if not isinstance(value, str) or value not in PLACEHOLDERS:
        return value
    if value == "half":
        made = tuple(0.5 * x.flip(0) for x in inputs)
    elif value == "low":  # far from the inputs, so Lime's Lasso keeps its coefficients
        made = tuple(-1.0 for x in inputs)
    elif value == "background":
        return reference_inputs(inputs, "background")
    elif value == "pairs":
        made, offset = [], 0
        for x in inputs:  # neighbouring pairs of elements, numbered across the inputs
            count = x[0].numel()
            made.append((torch.arange(count) // 2 + offset).reshape((1,) + x.shape[1:]))
            offset += (count + 1) // 2
        made = tuple(made)
    elif value == "windows":
        made = tuple((3,) if x.dim() == 2 else (3, 4, 4) for x in inputs)
    else:
        made = tuple(2 for x in inputs)
    return made if len(made) > 1 else made[0]


def run(library: Any, info: MethodInfo, option: Option, scenario: tuple) -> Any:
    """The method of ``library`` on a scenario, with torch and numpy seeded."""
    model_name, batch, target, single_as_tuple = scenario
    model = make(model_name)
    inputs = example_inputs(model_name, batch=batch)
    kwargs = call_kwargs(info, option, inputs, model_name, _batch_target(target, batch))
    if extra_forward_args(model_name) is not None:
        kwargs["additional_forward_args"] = extra_forward_args(model_name, batch)
    instance = build(library, info, model, model_name, option)
    torch.manual_seed(0)
    np.random.seed(0)
    if library is mmattr:
        kwargs.update(option.ours_only)
    given = inputs if len(inputs) > 1 or single_as_tuple else inputs[0]
    return instance.attribute(given, **kwargs)


def _batch_target(target: Any, batch: int) -> Any:
    if batch == 1 and isinstance(target, (list, torch.Tensor)):
        return target[:1]
    return target


def cases() -> list[tuple[str, Option, tuple, str]]:
    """(method name, option, scenario, id) for every registered method."""
    found = []
    for name, info in methods().items():
        for option in options(info):
            for index, scenario in enumerate(scenarios(info, option)):
                ident = f"{name}-{option.label}-{scenario[0]}-b{scenario[1]}-{index}"
                found.append((name, option, scenario, ident))
    return found
