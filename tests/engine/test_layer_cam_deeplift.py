"""LayerGradCam, GuidedGradCam, LayerDeepLift(Shap), LayerGradientShap: parity with Captum 0.9,
summation-to-delta, lists of layers, bad input and the model left as it was."""

from __future__ import annotations

import captum.attr as captum_attr
import numpy as np
import pytest
import torch
from torch import nn

import mmattr
from tests.helpers.checks import assert_attributions_close, assert_same_state, model_state, quiet
from tests.helpers.models import example_inputs, extra_forward_args, make, reference_inputs


def _setup(name):
    model, inputs = make(name), example_inputs(name)
    baselines = reference_inputs(inputs, "one", seed=11)
    background = reference_inputs(inputs, "background", seed=12)
    return model, inputs if len(inputs) > 1 else inputs[0], baselines, background


def _seeded(call, *args, **kwargs):
    torch.manual_seed(5)
    np.random.seed(5)
    return quiet(call, *args, **kwargs)


# ------------------------------------------------------------------ Grad-CAM, Guided Grad-CAM

CAM_OPTIONS = [
    {},
    {"relu_attributions": True},
    {"attr_dim_summation": False},
    {"attribute_to_layer_input": True},
]


@pytest.mark.parametrize("options", CAM_OPTIONS)
@pytest.mark.parametrize(
    "name,layer", [("cnn", "conv1"), ("cnn", "pool"), ("cnn", "conv2"), ("mlp", "linear2")]
)
def test_grad_cam_matches_captum(name, layer, options):
    model, inputs, _, _ = _setup(name)
    module = getattr(model, layer)
    ours = mmattr.LayerGradCam(model, module).attribute(inputs, target=2, **options)
    theirs = captum_attr.LayerGradCam(model, module).attribute(inputs, target=2, **options)
    assert_attributions_close(ours, theirs)
    if options.get("attr_dim_summation", True):
        assert ours.shape[1] == 1


@pytest.mark.parametrize(
    "layer,mode", [("conv1", "nearest"), ("relu1", "bilinear"), ("conv2", "nearest")]
)
def test_guided_grad_cam_matches_captum(layer, mode):
    model, x, _, _ = _setup("cnn")
    module = getattr(model, layer)
    ours = mmattr.GuidedGradCam(model, module).attribute(x, target=1, interpolate_mode=mode)
    captum = captum_attr.GuidedGradCam(model, module)
    theirs = quiet(captum.attribute, x, target=1, interpolate_mode=mode)
    assert_attributions_close(ours, theirs)
    assert ours.shape == x.shape and ours.abs().sum() > 0


def test_guided_grad_cam_gives_empty_tensor_for_non_spatial_inputs_like_captum():
    model, inputs, _, _ = _setup("two_inputs")
    with pytest.warns(UserWarning, match="cannot be upsampled"):
        ours = mmattr.GuidedGradCam(model, model.left).attribute(inputs, target=0)
    theirs = quiet(captum_attr.GuidedGradCam(model, model.left).attribute, inputs, target=0)
    assert [t.numel() for t in ours] == [t.numel() for t in theirs] == [0, 0]


# ------------------------------------------------------------------ DeepLift family

# Layers where Captum's module hooks give DeepLift's rescale rule. Captum goes wrong below the
# CNN's ReLU->MaxPool pair, below TwoInputs' functional tanh, and at the input of a hooked
# nonlinearity (see test_captum_breaks_summation_where_mmattr_keeps_it).
DEEPLIFT_CASES = [
    ("mlp", "linear1", False, 1),
    ("mlp", "relu1", False, 1),
    ("mlp", "linear2", True, 1),
    ("mlp", "relu2", False, 1),
    ("mlp", "linear3", True, 1),
    ("cnn", "relu1", False, 2),
    ("cnn", "pool", False, 2),
    ("cnn", "conv2", True, 2),
    ("cnn", "relu2", False, 2),
    ("two_inputs", "left", True, 0),
    ("two_inputs", "relu", False, 0),
    ("two_inputs", "head", True, 0),
]


@pytest.mark.parametrize("name,layer,to_input,target", DEEPLIFT_CASES)
def test_layer_deep_lift_matches_captum(name, layer, to_input, target):
    model, inputs, baselines, _ = _setup(name)
    module = getattr(model, layer)
    options = dict(target=target, attribute_to_layer_input=to_input, return_convergence_delta=True)
    ours = mmattr.LayerDeepLift(model, module).attribute(inputs, baselines, **options)
    theirs = quiet(captum_attr.LayerDeepLift(model, module).attribute, inputs, baselines, **options)
    assert_attributions_close(ours, theirs)


@pytest.mark.parametrize("name,layer,to_input,target", DEEPLIFT_CASES[::2])
def test_layer_deep_lift_shap_matches_captum(name, layer, to_input, target):
    model, inputs, _, background = _setup(name)
    module = getattr(model, layer)
    options = dict(target=target, attribute_to_layer_input=to_input, return_convergence_delta=True)
    ours = mmattr.LayerDeepLiftShap(model, module).attribute(inputs, background, **options)
    theirs = quiet(
        captum_attr.LayerDeepLiftShap(model, module).attribute, inputs, background, **options
    )
    assert_attributions_close(ours, theirs)
    assert ours[1].shape == (3 * 4,)


def test_layer_deep_lift_options_match_captum():
    model, x, baselines, background = _setup("mlp")

    def custom(multipliers, layer_inputs, layer_baselines):
        return tuple(
            m * (i - b) ** 2 for m, i, b in zip(multipliers, layer_inputs, layer_baselines)
        )

    options = [({"multiply_by_inputs": False}, {}), ({}, {"custom_attribution_func": custom})]
    for cls in ("LayerDeepLift", "LayerDeepLiftShap"):
        refs = baselines if cls == "LayerDeepLift" else background
        for init, call in options:
            ours = getattr(mmattr, cls)(model, model.linear2, **init).attribute(
                x, refs, target=0, **call
            )
            theirs = quiet(
                getattr(captum_attr, cls)(model, model.linear2, **init).attribute,
                x,
                refs,
                target=0,
                **call,
            )
            assert_attributions_close(ours, theirs)


def test_captum_breaks_summation_where_mmattr_keeps_it():
    """The CNN's conv1 (below ReLU->MaxPool) and the input of a ReLU module: Captum's sums miss
    F(x) − F(b); mmattr's hold, and equal the same tensor reached through another module."""
    for name, layer, to_input, twin in [
        ("cnn", "conv1", False, ("relu1", True)),
        ("cnn", "pool", True, ("relu1", False)),
        ("mlp", "relu1", True, ("linear1", False)),
    ]:
        model, inputs, baselines, _ = _setup(name)
        options = dict(target=0, attribute_to_layer_input=to_input, return_convergence_delta=True)
        module = getattr(model, layer)
        ours, delta = mmattr.LayerDeepLift(model, module).attribute(inputs, baselines, **options)
        _, theirs = quiet(
            captum_attr.LayerDeepLift(model, module).attribute, inputs, baselines, **options
        )
        assert delta.abs().max() < 1e-10 and theirs.abs().max() > 1e-4, (name, layer)
        same = mmattr.LayerDeepLift(model, getattr(model, twin[0])).attribute(
            inputs, baselines, target=0, attribute_to_layer_input=twin[1]
        )
        torch.testing.assert_close(ours, same)


@pytest.mark.parametrize(
    "name,layers",
    [
        ("mlp", ["linear1", "relu1", "linear2", "relu2"]),
        ("cnn", ["conv1", "relu1", "pool", "conv2", "fc"]),
    ],
)
def test_layer_deep_lift_sums_to_output_difference(name, layers):
    model, inputs, baselines, _ = _setup(name)
    modules = [getattr(model, layer) for layer in layers]
    attributions, deltas = mmattr.LayerDeepLift(model, modules).attribute(
        inputs, baselines, target=1, return_convergence_delta=True
    )
    with torch.no_grad():
        change = (model(inputs) - model(baselines))[:, 1]
    assert change.abs().min() > 1e-3
    for attribution, delta in zip(attributions, deltas):
        torch.testing.assert_close(attribution.flatten(1).sum(1), change, rtol=1e-9, atol=1e-12)
        assert delta.abs().max() < 1e-10


@pytest.mark.parametrize("stdevs", [0.0, 0.2])
@pytest.mark.parametrize(
    "name,layer,target", [("mlp", "relu1", 1), ("cnn", "conv2", 2), ("two_inputs", "right", 0)]
)
def test_layer_gradient_shap_matches_captum_with_the_same_seed(name, layer, target, stdevs):
    model, inputs, _, background = _setup(name)
    module = getattr(model, layer)
    options = dict(n_samples=3, stdevs=stdevs, target=target, return_convergence_delta=True)
    ours = _seeded(mmattr.LayerGradientShap(model, module).attribute, inputs, background, **options)
    theirs = _seeded(
        captum_attr.LayerGradientShap(model, module).attribute, inputs, background, **options
    )
    assert_attributions_close(ours, theirs)
    assert ours[1].shape == (3 * 3,)


def test_layer_gradient_shap_options_match_captum():
    model, x, _, background = _setup("mlp")
    for init, call in [
        ({"multiply_by_inputs": False}, {}),
        ({}, {"attribute_to_layer_input": True}),
    ]:
        ours = _seeded(
            mmattr.LayerGradientShap(model, model.linear2, **init).attribute,
            x,
            background[:1],
            target=0,
            **call,
        )
        theirs = _seeded(
            captum_attr.LayerGradientShap(model, model.linear2, **init).attribute,
            x,
            background[:1],
            target=0,
            **call,
        )
        assert_attributions_close(ours, theirs)


def test_additional_forward_args_and_tuple_targets_match_captum():
    model, x, baselines, background = _setup("extra_args")
    extra = {"additional_forward_args": extra_forward_args("extra_args"), "target": 2}
    calls = [
        ("LayerGradCam", (x,), quiet),
        ("LayerDeepLift", (x, baselines), quiet),
        ("LayerDeepLiftShap", (x, background), quiet),
        ("LayerGradientShap", (x, background, 3, 0.1), _seeded),
    ]
    for method, args, run in calls:
        ours = run(getattr(mmattr, method)(model, model.linear).attribute, *args, **extra)
        theirs = run(getattr(captum_attr, method)(model, model.linear).attribute, *args, **extra)
        assert_attributions_close(ours, theirs)
    model, x, baselines, _ = _setup("multi_output")
    ours = mmattr.LayerDeepLift(model, model.linear).attribute(x, baselines, target=(1, 2))
    theirs = quiet(captum_attr.LayerDeepLift(model, model.linear).attribute, x, baselines, (1, 2))
    assert_attributions_close(ours, theirs)


# ------------------------------------------------------------------ lists of layers

LIST_CALLS = {
    "LayerGradCam": (lambda cls, m, layers, x, b, bg: cls(m, layers).attribute(x, target=1)),
    "GuidedGradCam": (lambda cls, m, layers, x, b, bg: cls(m, layers).attribute(x, target=1)),
    "LayerDeepLift": (
        lambda cls, m, layers, x, b, bg: cls(m, layers).attribute(
            x, b, target=1, return_convergence_delta=True
        )
    ),
    "LayerDeepLiftShap": (
        lambda cls, m, layers, x, b, bg: cls(m, layers).attribute(
            x, bg, target=1, return_convergence_delta=True
        )
    ),
    "LayerGradientShap": (
        lambda cls, m, layers, x, b, bg: _seeded(
            cls(m, layers).attribute, x, bg, stdevs=0.1, target=1, return_convergence_delta=True
        )
    ),
}


@pytest.mark.parametrize("method", list(LIST_CALLS))
def test_list_of_layers_equals_single_layer_calls(method):
    model, x, baselines, background = _setup("cnn")
    layers = [model.conv1, model.pool, model.conv2]
    call, cls = LIST_CALLS[method], getattr(mmattr, method)
    together = call(cls, model, layers, x, baselines, background)
    alone = [call(cls, model, layer, x, baselines, background) for layer in layers]
    if isinstance(together, tuple):  # (attributions, deltas), each a list over layers
        alone = ([a for a, _ in alone], [d for _, d in alone])
    assert_attributions_close(together, alone, rtol=1e-10)


# ------------------------------------------------------------------ bad input, model unchanged

CONSTRUCT = {
    "LayerGradCam": lambda m, layer: mmattr.LayerGradCam(m, layer),
    "GuidedGradCam": lambda m, layer: mmattr.GuidedGradCam(m, layer),
    "LayerDeepLift": lambda m, layer: mmattr.LayerDeepLift(m, layer),
    "LayerDeepLiftShap": lambda m, layer: mmattr.LayerDeepLiftShap(m, layer),
    "LayerGradientShap": lambda m, layer: mmattr.LayerGradientShap(m, layer),
}


def _run(method, model, layer, x, background):
    instance = CONSTRUCT[method](model, layer)
    if method in ("LayerDeepLiftShap", "LayerGradientShap"):
        return instance.attribute(x, background, target=0)
    return instance.attribute(x, target=0)


@pytest.mark.parametrize("method", list(CONSTRUCT))
def test_layer_outside_the_model_is_named(method):
    model = make("cnn")
    with pytest.raises(ValueError, match=r"layer\[0\] \(Conv2d\) is not a submodule"):
        CONSTRUCT[method](model, nn.Conv2d(3, 6, 3).double())


@pytest.mark.parametrize("method", list(CONSTRUCT))
def test_model_is_unchanged_after_success_and_failure(method):
    model, x, _, background = _setup("cnn")
    model.train()
    model.conv2.weight.requires_grad_(False)
    before = model_state(model)
    result = _run(method, model, model.conv2, x, background)
    assert torch.isfinite(result).all() and result.abs().sum() > 0
    assert_same_state(before, model_state(model))
    model.unused = nn.Linear(2, 2).double()
    before = model_state(model)
    with pytest.raises(ValueError, match=r"layer\[1\] \(Linear\) never ran"):
        _run(method, model, [model.conv1, model.unused], x, background)
    assert_same_state(before, model_state(model))
    with pytest.raises(RuntimeError):
        _run(method, model, model.conv1, x[:, :2], background[:, :2])
    assert_same_state(before, model_state(model))


def test_deep_lift_shap_needs_a_distribution_of_baselines():
    model, x, _, _ = _setup("mlp")
    with pytest.raises(ValueError, match=r"at least 2 baseline examples"):
        mmattr.LayerDeepLiftShap(model, model.linear1).attribute(x, x[:1], target=0)
