"""Captum 0.9's class contract beyond the numbers: ``multiplies_by_inputs``,
``has_convergence_delta()``, ``attribute.__wrapped__``, progress-bar names, errors caught by
``except AssertionError``, and ``attribute_future`` with forwards returning Futures."""

from __future__ import annotations

import inspect

import captum.attr as captum_attr
import pytest
import torch
from torch import nn

import mmattr

# (class name, extra constructor args after the forward: None, "layer", or "method")
CLASSES = [
    ("Saliency", None),
    ("InputXGradient", None),
    ("IntegratedGradients", None),
    ("GradientShap", None),
    ("DeepLift", None),
    ("DeepLiftShap", None),
    ("GuidedBackprop", None),
    ("Deconvolution", None),
    ("GuidedGradCam", "layer"),
    ("FeatureAblation", None),
    ("FeaturePermutation", None),
    ("Occlusion", None),
    ("ShapleyValues", None),
    ("ShapleyValueSampling", None),
    ("Lime", None),
    ("KernelShap", None),
    ("LayerActivation", "layer"),
    ("LayerConductance", "layer"),
    ("InternalInfluence", "layer"),
    ("LayerGradientXActivation", "layer"),
    ("LayerIntegratedGradients", "layer"),
    ("LayerDeepLift", "layer"),
    ("LayerDeepLiftShap", "layer"),
    ("LayerGradientShap", "layer"),
    ("LayerFeatureAblation", "layer"),
    ("LayerGradCam", "layer"),
    ("NeuronGradient", "layer"),
    ("NeuronIntegratedGradients", "layer"),
    ("NeuronConductance", "layer"),
    ("NeuronDeepLift", "layer"),
    ("NeuronDeepLiftShap", "layer"),
    ("NeuronGradientShap", "layer"),
    ("NeuronGuidedBackprop", "layer"),
    ("NeuronDeconvolution", "layer"),
    ("NeuronFeatureAblation", "layer"),
]


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _both(name: str, extra: str | None, **kwargs):
    model = _model()
    args = (model[0],) if extra == "layer" else ()
    return (
        getattr(mmattr, name)(model, *args, **kwargs),
        getattr(captum_attr, name)(model, *args, **kwargs),
    )


@pytest.mark.parametrize("name,extra", CLASSES)
def test_declared_properties_equal_captums(name, extra):
    ours, theirs = _both(name, extra)
    assert ours.multiplies_by_inputs is theirs.multiplies_by_inputs
    assert ours.has_convergence_delta() is theirs.has_convergence_delta()
    assert ours.get_name() == theirs.get_name()
    wrapped = inspect.signature(type(ours).attribute.__wrapped__)
    assert (
        list(wrapped.parameters)[:2]
        == list(inspect.signature(type(theirs).attribute.__wrapped__).parameters)[:2]
    )


@pytest.mark.parametrize(
    "name", ["IntegratedGradients", "DeepLift", "GradientShap", "LayerIntegratedGradients"]
)
def test_multiply_by_inputs_switch_is_reported(name):
    extra = "layer" if name.startswith("Layer") else None
    ours, theirs = _both(name, extra, multiply_by_inputs=False)
    assert ours.multiplies_by_inputs is theirs.multiplies_by_inputs is False


@pytest.mark.parametrize("inner", ["IntegratedGradients", "Saliency", "FeatureAblation"])
def test_noise_tunnel_reports_the_wrapped_method(inner):
    model = _model()
    ours = mmattr.NoiseTunnel(getattr(mmattr, inner)(model))
    theirs = captum_attr.NoiseTunnel(getattr(captum_attr, inner)(model))
    assert ours.multiplies_by_inputs is theirs.multiplies_by_inputs
    assert ours.has_convergence_delta() is theirs.has_convergence_delta()


def test_bad_input_is_caught_as_assertion_error_with_a_clear_message():
    model = _model()
    x = torch.randn(4, 3)
    with pytest.raises(AssertionError, match=r"target=7 is out of range .* size 2"):
        mmattr.IntegratedGradients(model).attribute(x, target=7)
    with pytest.raises(ValueError, match=r"baselines has shape \(2, 3\); expected \(4, 3\)"):
        mmattr.FeatureAblation(model).attribute(x, baselines=torch.zeros(2, 3), target=0)
    with pytest.raises(AssertionError, match="start_point has shape"):
        mmattr.GradientShap(model).compute_convergence_delta(
            torch.zeros(4, 3), torch.zeros(2, 3), x, target=0
        )
    with pytest.raises(TypeError, match="expected an int, tuple, list or tensor"):
        mmattr.Saliency(model).attribute(x, target="a")
    with pytest.raises(AssertionError):
        mmattr.Saliency(model).attribute(x, target="a")


def _future_forward(model: nn.Module):
    def forward(*args):
        future = torch.futures.Future()
        future.set_result(model(*args))
        return future

    return forward


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("FeatureAblation", {"feature_mask": torch.tensor([[0, 0, 1]])}),
        ("FeaturePermutation", {}),
        ("ShapleyValues", {}),
        ("ShapleyValueSampling", {"n_samples": 3}),
    ],
)
def test_attribute_future_equals_attribute(name, kwargs):
    torch.manual_seed(0)
    model = _model()
    x = torch.randn(5, 3)
    torch.manual_seed(1)
    expected = getattr(mmattr, name)(model).attribute(x, target=1, **kwargs)
    torch.manual_seed(1)
    future = getattr(mmattr, name)(_future_forward(model)).attribute_future(x, target=1, **kwargs)
    assert type(future) is torch.Future  # as Captum's
    torch.testing.assert_close(future.wait(), expected)
    torch.manual_seed(1)
    theirs = getattr(captum_attr, name)(model).attribute(x, target=1, **kwargs)
    torch.testing.assert_close(expected, theirs, rtol=1e-5, atol=1e-5)


def test_futures_used_the_wrong_way_raise_assertion_errors():
    model = _model()
    x = torch.randn(2, 3)
    with pytest.raises(AssertionError, match="call attribute_future"):
        mmattr.FeatureAblation(_future_forward(model)).attribute(x, target=0)
    with pytest.raises(AssertionError, match="returned Tensor. Call attribute instead"):
        mmattr.FeatureAblation(model).attribute_future(x, target=0)
    for method in (mmattr.Saliency(model), mmattr.Occlusion(model), mmattr.KernelShap(model)):
        with pytest.raises(NotImplementedError):
            method.attribute_future()


def test_attribute_future_with_a_future_filled_by_another_thread():
    """The forward's Future is set by a thread outside the method's inference mode."""
    import threading

    torch.manual_seed(0)
    model = _model()
    x = torch.randn(3, 3)

    def forward(inputs):
        future = torch.futures.Future()
        threading.Thread(target=lambda: future.set_result(model(inputs))).start()
        return future

    ours = mmattr.FeatureAblation(forward).attribute_future(x, target=0).wait()
    torch.testing.assert_close(ours, captum_attr.FeatureAblation(model).attribute(x, target=0))


def test_noise_tunnel_wraps_a_method_from_captum():
    """A Captum method (LRP declares no ``needs_gradients``) inside mmattr's NoiseTunnel."""
    torch.manual_seed(0)
    model = _model()
    x = torch.randn(3, 3)
    kwargs = {"nt_samples": 4, "stdevs": 0.1, "target": 1}
    torch.manual_seed(2)
    ours = mmattr.NoiseTunnel(captum_attr.LRP(model)).attribute(x, **kwargs)
    torch.manual_seed(2)
    theirs = captum_attr.NoiseTunnel(captum_attr.LRP(model)).attribute(x, **kwargs)
    torch.testing.assert_close(ours, theirs)
