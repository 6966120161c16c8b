"""The conformance harness: every registered method, built from its registration, through the
same scenarios (single tensor and tuple inputs, every target form, batch 1 and 3, float64) and
every Captum option listed in ``OPTIONS``, next to its Captum counterpart.

A new class is covered the day it registers: the harness builds it from its facts (kind,
layers, wraps) and fills the arguments its ``attribute`` takes (baselines, feature masks,
n_steps...) with small defaults. ``OPTIONS`` adds the variants a method has beyond those.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import mmattr
from mmattr.engine.perturbation._linear_models import LinearRegression
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
    #: constructor arguments made afresh per library: ``library -> dict`` (LimeBase's surrogate)
    make_init: Callable[[Any], dict] | None = None
    #: the layer attributed per model, replacing ``LAYER``'s
    layer: dict = field(default_factory=dict)
    #: ``(inputs, given, kwargs) -> (given, kwargs)``: what ``attribute`` receives in place of
    #: the inputs (DataLoaderAttribution: a DataLoader over them)
    feed: Callable[[tuple, Any, dict], tuple[Any, dict]] | None = None
    #: build on ``F_t(x)``, the model with the scenario's target applied, and pass no target
    target_in_forward: bool = False


def _rules(**extra: Any) -> list[Option]:
    return [Option(rule, kwargs={"method": rule, **extra}) for rule in RULES]


def _nt(inner: str, nt_type: str, label: str = "", **kwargs: Any) -> Option:
    # noise large enough to switch ReLUs: a piecewise-linear model's vargrad is 0 otherwise
    kwargs = {"nt_type": nt_type, "nt_samples": 3, "stdevs": 1.0, **kwargs}
    return Option(label or f"{inner}-{nt_type}", kwargs=kwargs, inner=inner)


def _squared_difference(multipliers, inputs, baselines):
    """A custom DeepLift attribution: ``m · (x − b)²``."""
    return tuple(m * (x - b) ** 2 for m, x, b in zip(multipliers, inputs, baselines))


def _parts(inputs: Any) -> tuple:
    return inputs if isinstance(inputs, tuple) else (inputs,)


def _coalition(inputs: Any, **kwargs: Any) -> torch.Tensor:
    """LimeBase sample in the interpretable space: each input element kept with p = 1/2."""
    count = sum(x[0].numel() for x in _parts(inputs))
    return torch.bernoulli(torch.full((1, count), 0.5, dtype=torch.float64))


def _from_coalition(sample: torch.Tensor, inputs: Any, **kwargs: Any) -> Any:
    """``x_s = x ⊙ z_s``, ``z_s`` split over the inputs."""
    parts = _parts(inputs)
    pieces = torch.split(sample[0], [x[0].numel() for x in parts])
    made = tuple(x * p.reshape(x.shape) for x, p in zip(parts, pieces))
    return made if isinstance(inputs, tuple) else made[0]


def _masked_inputs(inputs: Any, **kwargs: Any) -> Any:
    """LimeBase sample in the input space: ``x ⊙ z_s``."""
    return _from_coalition(_coalition(inputs), inputs)


def _to_coalition(sample: Any, inputs: Any, **kwargs: Any) -> torch.Tensor:
    return torch.cat([(x != 0).reshape(1, -1) for x in _parts(sample)], dim=1).double()


def _nearness(inputs: Any, model_input: Any, interpretable: torch.Tensor, **kwargs: Any):
    """``π = exp(−‖x − x_s‖² / 10)``."""
    pairs = zip(_parts(inputs), _parts(model_input))
    return torch.exp(-sum(((x - s) ** 2).sum() for x, s in pairs) / 10)


def _lime_base_init(interpretable_space: bool) -> Callable[[Any], dict]:
    def make_init(library: Any) -> dict:
        from captum._utils.models.linear_model import SkLearnLinearRegression

        surrogate = LinearRegression() if library is mmattr else SkLearnLinearRegression()
        return {
            "interpretable_model": surrogate,
            "similarity_func": _nearness,
            "perturb_func": _coalition if interpretable_space else _masked_inputs,
            "perturb_interpretable_space": interpretable_space,
            "from_interp_rep_transform": _from_coalition if interpretable_space else None,
            "to_interp_rep_transform": None if interpretable_space else _to_coalition,
        }

    return make_init


#: LimeBase explains one example (Captum's as well: one interpretable sample per model output)
ONE_EXAMPLE = [(m, 1, t, tup) for m, batch, t, tup in SCENARIOS if batch == 3]


def _dataloader(inputs: tuple, given: Any, kwargs: dict) -> tuple[Any, dict]:
    """A DataLoader (batches of 2) of tuples: the inputs, then the extra forward arguments as
    tensors with role ``need_forward``. Never bare tensors: Captum zips a yielded tensor with
    the roles, i.e. takes its rows for inputs (its docs ask for tuples)."""
    extra = kwargs.pop("additional_forward_args", None) or ()
    rows = inputs[0].shape[0]
    extra = tuple(
        a if isinstance(a, torch.Tensor) else torch.full((rows, 1), float(a), dtype=inputs[0].dtype)
        for a in extra
    )
    kwargs["input_roles"] = (0,) * len(inputs) + (1,) * len(extra)
    dataset = torch.utils.data.TensorDataset(*inputs, *extra)
    return torch.utils.data.DataLoader(dataset, batch_size=2), kwargs


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
    "lime_base": [
        Option(
            "interpretable-space",
            make_init=_lime_base_init(True),
            scenarios=ONE_EXAMPLE,
            kwargs={"n_samples": 40},
            rtol=1e-4,
            atol=1e-5,
        ),
        Option(
            "input-space",
            make_init=_lime_base_init(False),
            scenarios=ONE_EXAMPLE[:1],
            kwargs={"n_samples": 40, "perturbations_per_eval": 7},
            rtol=1e-4,
            atol=1e-5,
        ),
    ],
    "data_loader_attribution": [
        Option(inner="feature_ablation", feed=_dataloader, kwargs={"baselines": "low"}),
        Option(
            "per-pass-3",
            inner="feature_ablation",
            feed=_dataloader,
            kwargs={"perturbations_per_pass": 3, "feature_mask": None, "baselines": None},
        ),
    ],
    # Captum 0.9 applies a target twice (in its layer forward, then in FeaturePermutation) and
    # fails; with the target inside the forward function both give F_t's attributions
    "layer_feature_permutation": [Option(target_in_forward=True)],
    # Captum's LayerLRP has no rule at a ReLU (tuple_mlp's LAYER) and fails there
    "layer_lrp": [
        Option(layer={"tuple_mlp": "left"}),
        Option(
            "layer-input",
            kwargs={"attribute_to_layer_input": True},
            layer={"tuple_mlp": "head", "mlp": "linear3"},
        ),
    ],
}

#: scenarios a class cannot take, Captum's counterpart neither: name -> (test, why)
NOT_APPLICABLE: dict[str, tuple[Callable[[tuple], bool], str]] = {
    "feature_permutation": (lambda s: s[1] == 1, "it permutes across the batch: needs 2 examples"),
    "layer_feature_permutation": (lambda s: s[1] == 1, "as feature_permutation"),
    "lrp": (lambda s: s[0] == "extra_args", "no LRP rule for extra_args's Sigmoid (both refuse)"),
    "layer_lrp": (lambda s: s[0] == "extra_args", "no LRP rule for extra_args's Sigmoid"),
}


def options(info: MethodInfo) -> list[Option]:
    return OPTIONS.get(info.name, [Option()])


def scenarios(info: MethodInfo, option: Option) -> list[tuple]:
    """The option's scenarios; one per model and batch for methods without a target, and none
    that ``NOT_APPLICABLE`` or ``CAPTUM_DIFFERS`` lists for the method."""
    chosen, seen = [], set()
    takes_target = _takes(_probe(info, option), "target")
    not_applicable = NOT_APPLICABLE.get(info.name, (lambda s: False, ""))[0]
    for scenario in option.scenarios:
        model_name, batch, _, _ = scenario
        if not_applicable(scenario):
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


def _probe(info: MethodInfo, option: Option) -> MethodInfo:
    """Whose ``attribute`` arguments to fill: the wrapped method's when the wrapper passes its
    keyword arguments on (NoiseTunnel), else the class's own (DataLoaderAttribution)."""
    parameters = inspect.signature(info.cls.attribute).parameters.values()
    passes_on = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return methods()[option.inner] if info.wraps and passes_on else info


def build(
    library: Any,
    info: MethodInfo,
    model: torch.nn.Module,
    model_name: str,
    option: Option,
    forward: Callable | None = None,
):
    """An instance of ``info``'s class (``library`` mmattr or Captum) for ``model`` (called
    through ``forward`` if given)."""
    cls = info.cls if library is mmattr else getattr(library, info.captum)
    if info.wraps:
        inner = methods()[option.inner]
        return cls(build(library, inner, model, model_name, Option()))
    init = {**option.init, **(option.make_init(library) if option.make_init else {})}
    forward = forward or model
    if info.kind == "neuron":
        return cls(forward, getattr(model, NEURON[model_name][0]), **init)
    if info.layers is not None:
        layer = getattr(model, option.layer.get(model_name, LAYER[model_name]))
        return cls(forward, layer, **init)
    return cls(forward, **init)


def call_kwargs(info: MethodInfo, option: Option, inputs: tuple, model_name: str, target: Any):
    """``attribute``'s keyword arguments: small defaults for what it takes, then the option."""
    kwargs: dict[str, Any] = {}
    probe = _probe(info, option)
    if _takes(probe, "target"):
        kwargs["target"] = target
    if info.kind == "neuron":
        kwargs["neuron_selector"] = NEURON[model_name][1]
    if _takes(probe, "baselines"):
        kwargs["baselines"] = "background" if info.name in DISTRIBUTION else "half"
    if _takes(probe, "feature_mask"):
        kwargs["feature_mask"] = "pairs"
    for name, value in (("n_steps", 8), ("n_samples", 4), ("stdevs", 0.1)):
        if _takes(probe, name) and probe is info:
            kwargs[name] = value
    if probe is not info and _takes(probe, "n_steps"):
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
    forward = None
    if option.target_in_forward:
        forward = _target_applied(model, kwargs.pop("target", None), batch)
    instance = build(library, info, model, model_name, option, forward)
    torch.manual_seed(0)
    np.random.seed(0)
    if library is mmattr:
        kwargs.update(option.ours_only)
    given = inputs if len(inputs) > 1 or single_as_tuple else inputs[0]
    return attribute(instance, option, inputs, given, kwargs)


def attribute(instance: Any, option: Option, inputs: tuple, given: Any, kwargs: dict) -> Any:
    """``instance.attribute`` on ``given`` (fed through ``option.feed`` if it has one)."""
    if option.feed is not None:
        given, kwargs = option.feed(inputs, given, dict(kwargs))
    return instance.attribute(given, **kwargs)


def _target_applied(model: torch.nn.Module, target: Any, batch: int) -> Callable:
    """``F_t(x)``: the model's output at ``target`` (any Captum target form; a per-example
    target repeats over stacked copies of the batch, as Captum expands it)."""

    def forward(*args: Any) -> torch.Tensor:
        out = model(*args)
        if target is None:
            return out
        if isinstance(target, int):
            return out[:, target]
        if isinstance(target, tuple):
            return out[(slice(None), *target)]
        per_row = [target[i % batch] for i in range(out.shape[0])]
        picked = [out[(i, *torch.as_tensor(t).reshape(-1).tolist())] for i, t in enumerate(per_row)]
        return torch.stack(picked)

    return forward


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
