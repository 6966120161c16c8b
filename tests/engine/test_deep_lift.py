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


@pytest.mark.parametrize("order", ["pool_then_relu", "relu_then_pool"])
def test_captum_breaks_summation_on_adjacent_maxpool_and_relu_modules(order):
    """captum#1104: with a non-zero baseline, a MaxPool module next to a ReLU module reads a
    stale output gradient in Captum 0.9 and Σ attr misses F(x) − F(b); mmattr's holds."""
    torch.manual_seed(0)
    pair = [nn.MaxPool1d(2), nn.ReLU()]
    pair = pair if order == "pool_then_relu" else pair[::-1]
    model = nn.Sequential(nn.Conv1d(1, 4, 3), *pair, nn.Flatten(), nn.Linear(12, 1))
    model = model.double().eval()
    x = torch.randn(4, 1, 8, dtype=torch.float64)
    baselines = 0.5 * torch.randn(4, 1, 8, dtype=torch.float64)
    ours = _delta(mmattr.DeepLift, model, x, baselines, 0)
    theirs = _delta(captum_attr.DeepLift, model, x, baselines, 0)
    assert ours < 1e-10 and theirs > 1e-2, (ours, theirs)


class _PoolHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.pool, self.head = nn.Linear(3, 4), nn.MaxPool1d(2), nn.Linear(2, 1)
        with torch.no_grad():
            self.linear.weight.copy_(
                torch.tensor([[1.0, -1, 0], [0.5, 0.5, 1], [2, 0, -1], [1, 1, 1]])
            )
            self.linear.bias.zero_()

    def forward(self, x):
        return self.head(self.pool(self.linear(x)[:, None, :])[:, 0])


def test_maxpool_at_zero_delta_takes_each_examples_gradient_where_captum_takes_the_first():
    """captum#1276: where a max-pool input has no change from its baseline, DeepLift falls back
    to the plain gradient; Captum 0.9 uses the batch's first example's for every example, so
    an example's attribution depends on its batch. mmattr's equals the example alone."""
    model = _PoolHead().double()
    # example 1's first pooled unit is 1 − 1 = 0, its baseline's value; example 0's is the max
    x = torch.tensor([[5.0, 0, 0], [1.0, 1, 0.5]], dtype=torch.float64)
    baselines = torch.zeros_like(x)

    def attribute(library, rows):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return library.DeepLift(model).attribute(x[rows], baselines[rows], target=0)

    alone = attribute(captum_attr, slice(1, 2))[0]
    torch.testing.assert_close(attribute(mmattr, slice(1, 2))[0], alone, rtol=0, atol=1e-12)
    torch.testing.assert_close(attribute(mmattr, slice(0, 2))[1], alone, rtol=0, atol=1e-12)
    assert (attribute(captum_attr, slice(0, 2))[1] - alone).abs().max() > 0.1


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
