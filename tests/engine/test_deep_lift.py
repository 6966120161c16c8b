"""DeepLift's axiom, and the models where Captum's module hooks go wrong and mmattr does not."""

import warnings

import captum.attr as captum_attr
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mmattr
from tests.helpers.models import example_inputs, make


def _delta(method, model, inputs, baselines, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, delta = method(model).attribute(
            inputs, baselines, target=target, return_convergence_delta=True
        )
    return delta.abs().max().item()


@pytest.mark.parametrize("name", ["mlp", "cnn", "two_inputs", "multi_output", "scalar_output"])
def test_summation_to_delta(name):
    model, inputs = make(name), example_inputs(name)
    baselines = tuple(0.3 * torch.randn_like(x) for x in inputs)
    target = {"multi_output": (1, 0), "scalar_output": None}.get(name, 1)
    assert _delta(mmattr.DeepLift, model, inputs, baselines, target) < 1e-10


def test_captum_breaks_summation_on_functional_tanh_and_relu_before_maxpool():
    for name in ["two_inputs", "cnn"]:
        model, inputs = make(name), example_inputs(name)
        baselines = tuple(0.3 * torch.randn_like(x) for x in inputs)
        ours = _delta(mmattr.DeepLift, model, inputs, baselines, 0)
        theirs = _delta(captum_attr.DeepLift, model, inputs, baselines, 0)
        assert ours < 1e-10 and theirs > 1e-4, (name, ours, theirs)


class Separate(nn.Module):
    """The reference: one ReLU module per call site."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 2)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


class Reused(Separate):
    def forward(self, x):
        return self.fc3(self.relu1(self.fc2(self.relu1(self.fc1(x)))))


class InPlace(Separate):
    def __init__(self):
        super().__init__()
        self.relu1, self.relu2 = nn.ReLU(inplace=True), nn.ReLU(inplace=True)


class Functional(Separate):
    def forward(self, x):
        return self.fc3(F.relu(self.fc2(torch.relu(self.fc1(x)))))


def _twin(cls):
    torch.manual_seed(3)
    reference = Separate().double()
    variant = cls().double()
    variant.load_state_dict(reference.state_dict())
    return reference, variant


@pytest.mark.parametrize("variant", [Reused, InPlace, Functional])
@pytest.mark.parametrize("method", ["DeepLift", "GuidedBackprop", "Deconvolution"])
def test_reused_inplace_functional_relu_equal_separate_modules(method, variant):
    reference, model = _twin(variant)
    x = torch.randn(5, 6, dtype=torch.float64)
    expected = getattr(mmattr, method)(reference).attribute(x, target=1)
    got = getattr(mmattr, method)(model).attribute(x, target=1)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        captum_reference = getattr(captum_attr, method)(reference).attribute(x, target=1)
    torch.testing.assert_close(expected, captum_reference, rtol=1e-10, atol=1e-12)


def test_captum_is_silently_wrong_on_functional_relu():
    reference, model = _twin(Functional)
    x = torch.randn(5, 6, dtype=torch.float64)
    baselines = torch.randn(5, 6, dtype=torch.float64)
    right = captum_attr.DeepLift(reference).attribute(x, baselines, target=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        captum_functional = captum_attr.DeepLift(model).attribute(x, baselines, target=1)
    ours = mmattr.DeepLift(model).attribute(x, baselines, target=1)
    torch.testing.assert_close(ours, right, rtol=1e-10, atol=1e-12)
    assert (captum_functional - right).abs().max() > 1e-3


def test_deeplift_shap_is_mean_of_deeplift_over_baselines():
    model, (x,) = make("mlp"), example_inputs("mlp")
    background = torch.randn(4, 10, dtype=torch.float64)
    shap = mmattr.DeepLiftShap(model).attribute(x, background, target=2)
    each = torch.stack(
        [
            mmattr.DeepLift(model).attribute(x, background[i : i + 1].expand_as(x), target=2)
            for i in range(4)
        ]
    )
    torch.testing.assert_close(shap, each.mean(0))


def test_multiply_by_inputs_false_gives_multipliers():
    model, (x,) = make("mlp"), example_inputs("mlp")
    local = mmattr.DeepLift(model, multiply_by_inputs=False).attribute(x, target=0)
    global_ = mmattr.DeepLift(model).attribute(x, target=0)
    torch.testing.assert_close(local * x, global_)
    custom = mmattr.DeepLift(model).attribute(
        x,
        target=0,
        custom_attribution_func=lambda m, i, b: tuple(2 * g * (v - r) for g, v, r in zip(m, i, b)),
    )
    torch.testing.assert_close(custom, 2 * global_)
