"""Layer methods against Captum 0.9 on the engine's test models, single layer and lists."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.checks import assert_attributions_close
from tests.helpers.models import example_inputs, extra_forward_args, make

# (model, layer attribute names, forward kwargs)
MODELS = {
    "mlp": (["linear1", "relu2", "linear3"], {"target": 1}),
    "cnn": (["conv1", "pool", "conv2"], {"target": 2}),
    "two_inputs": (["left", "right", "relu"], {"target": 0}),
    "extra_args": (["linear"], {"target": 2}),
    "multi_output": (["linear"], {"target": (1, 2)}),
    "scalar_output": (["linear"], {}),
}


def _setup(name):
    model = make(name)
    inputs = example_inputs(name)
    layers = [getattr(model, n) for n in MODELS[name][0]]
    kwargs = dict(MODELS[name][1])
    if name == "extra_args":
        kwargs["additional_forward_args"] = extra_forward_args(name)
    inputs = inputs if len(inputs) > 1 else inputs[0]
    return model, inputs, layers, kwargs


PATH_METHODS = [
    ("LayerConductance", {"n_steps": 20}),
    ("InternalInfluence", {"n_steps": 20}),
    ("LayerIntegratedGradients", {"n_steps": 20}),
]
POINT_METHODS = [("LayerActivation", {}), ("LayerGradientXActivation", {})]


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("method,extra", PATH_METHODS + POINT_METHODS)
def test_each_layer_matches_captum(name, method, extra):
    model, inputs, layers, kwargs = _setup(name)
    if method == "LayerActivation":
        kwargs.pop("target", None)
    for layer in layers:
        ours = getattr(mmattr, method)(model, layer).attribute(inputs, **kwargs, **extra)
        theirs = getattr(captum_attr, method)(model, layer).attribute(inputs, **kwargs, **extra)
        assert_attributions_close(ours, theirs)


@pytest.mark.parametrize("method,extra", PATH_METHODS)
@pytest.mark.parametrize("rule", ["riemann_trapezoid", "riemann_left", "gausslegendre"])
def test_quadrature_and_chunking_match_captum(method, extra, rule):
    model, inputs, layers, kwargs = _setup("cnn")
    options = {**kwargs, **extra, "method": rule, "internal_batch_size": 7}
    theirs = getattr(captum_attr, method)(model, layers[2]).attribute(inputs, **options)
    for size in (7, 3 * 4, None, "auto"):
        options["internal_batch_size"] = size
        ours = getattr(mmattr, method)(model, layers[2]).attribute(inputs, **options)
        assert_attributions_close(ours, theirs)


@pytest.mark.parametrize(
    "method",
    ["LayerConductance", "InternalInfluence", "LayerActivation", "LayerGradientXActivation"],
)
@pytest.mark.parametrize("name", ["mlp", "cnn", "two_inputs"])
def test_list_of_layers_equals_single_layer_calls(method, name):
    model, inputs, layers, kwargs = _setup(name)
    if method == "LayerActivation":
        kwargs.pop("target")
    else:
        kwargs["n_steps"] = 10 if method in ("LayerConductance", "InternalInfluence") else None
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    together = getattr(mmattr, method)(model, layers).attribute(inputs, **kwargs)
    assert isinstance(together, list) and len(together) == len(layers)
    for layer, result in zip(layers, together):
        alone = getattr(mmattr, method)(model, layer).attribute(inputs, **kwargs)
        torch.testing.assert_close(result, alone, rtol=1e-10, atol=1e-12)


def test_layer_integrated_gradients_list_matches_captum_joint_semantics():
    model, inputs, _, kwargs = _setup("two_inputs")
    layers = [model.left, model.right]
    ours = mmattr.LayerIntegratedGradients(model, layers).attribute(inputs, **kwargs, n_steps=15)
    theirs = captum_attr.LayerIntegratedGradients(model, layers).attribute(
        inputs, **kwargs, n_steps=15
    )
    assert_attributions_close(ours, theirs)


@pytest.mark.parametrize("to_input", [True, False])
def test_attribute_to_layer_input_matches_captum(to_input):
    model, inputs, layers, kwargs = _setup("mlp")
    for method in ("LayerConductance", "LayerGradientXActivation", "InternalInfluence"):
        extra = {"n_steps": 12} if method != "LayerGradientXActivation" else {}
        ours = getattr(mmattr, method)(model, model.linear2).attribute(
            inputs, **kwargs, **extra, attribute_to_layer_input=to_input
        )
        theirs = getattr(captum_attr, method)(model, model.linear2).attribute(
            inputs, **kwargs, **extra, attribute_to_layer_input=to_input
        )
        assert_attributions_close(ours, theirs)


@pytest.mark.parametrize("method", ["LayerConductance", "LayerIntegratedGradients"])
def test_convergence_delta_matches_captum(method):
    model, inputs, layers, kwargs = _setup("cnn")
    options = {**kwargs, "n_steps": 30, "return_convergence_delta": True}
    ours, our_delta = getattr(mmattr, method)(model, layers[1]).attribute(inputs, **options)
    theirs, their_delta = getattr(captum_attr, method)(model, layers[1]).attribute(
        inputs, **options
    )
    assert_attributions_close(ours, theirs)
    torch.testing.assert_close(our_delta, their_delta, rtol=1e-5, atol=1e-8)


def test_conductance_completeness_per_layer():
    """Σ conductance = F(x) − F(b) for every layer, up to a gap that vanishes with n_steps."""
    model, inputs, layers, kwargs = _setup("cnn")
    with torch.no_grad():
        gap = model(inputs)[:, 2] - model(torch.zeros_like(inputs))[:, 2]
    conductance = mmattr.LayerConductance(model, layers)
    for n_steps, tolerance in ((10, None), (400, 2e-3)):
        per_layer, deltas = conductance.attribute(
            inputs,
            **kwargs,
            n_steps=n_steps,
            method="riemann_trapezoid",
            return_convergence_delta=True,
        )
        for attribution, delta in zip(per_layer, deltas):
            sums = attribution.flatten(1).sum(1)
            torch.testing.assert_close(sums - gap, delta, rtol=1e-9, atol=1e-10)
            if tolerance:
                assert delta.abs().max() < tolerance * gap.abs().max()
