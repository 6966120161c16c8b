"""Layer methods on bad input: clear errors, and the model left as it was."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch
from torch import nn

import mmattr
from tests.helpers.checks import assert_same_state, model_state
from tests.helpers.models import example_inputs, make

METHODS = [
    "LayerConductance",
    "InternalInfluence",
    "LayerIntegratedGradients",
    "LayerGradientXActivation",
    "LayerActivation",
]


def _call(method, model, layer, inputs, **kwargs):
    instance = getattr(mmattr, method)(model, layer)
    if method != "LayerActivation":
        kwargs.setdefault("target", 0)
    return instance.attribute(inputs, **kwargs)


@pytest.mark.parametrize("method", METHODS)
def test_layer_outside_the_model_is_named(method):
    model = make("mlp")
    with pytest.raises(ValueError, match=r"layer\[0\] \(Linear\) is not a submodule"):
        getattr(mmattr, method)(model, nn.Linear(10, 16).double())


@pytest.mark.parametrize("method", METHODS)
def test_layer_that_never_runs_is_named_and_model_is_unchanged(method):
    model, (x,) = make("mlp"), example_inputs("mlp")
    model.unused = nn.Linear(2, 2).double()
    model.train()
    model.linear2.weight.requires_grad_(False)
    before = model_state(model)
    with pytest.raises(ValueError, match=r"layer\[1\] \(Linear\) never ran"):
        _call(method, model, [model.linear1, model.unused], x)
    assert_same_state(before, model_state(model))


@pytest.mark.parametrize("method", METHODS[:4])
def test_forward_that_raises_leaves_no_hooks(method):
    model, (x,) = make("mlp"), example_inputs("mlp")
    before = model_state(model)
    with pytest.raises(RuntimeError):
        _call(method, model, model.linear2, x[:, :4])  # wrong width: the forward raises
    assert_same_state(before, model_state(model))


def test_layer_called_twice_is_an_error():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 4), relu, nn.Linear(4, 2), relu).double()
    x = torch.randn(2, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="ran 2 times"):
        mmattr.LayerConductance(model, relu).attribute(x, target=0)


def test_bad_layer_argument_types():
    model = make("mlp")
    with pytest.raises(ValueError, match="empty list"):
        mmattr.LayerConductance(model, [])
    with pytest.raises(TypeError, match=r"layer\[0\] is str"):
        mmattr.LayerConductance(model, "linear1")
    with pytest.raises(ValueError, match="layer_output_index"):
        mmattr.LayerConductance(model, model.linear1, layer_output_index=-1)


class _TupleLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        hidden = torch.tanh(self.linear(x))
        return hidden, hidden.sum(-1)


class _TupleModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = _TupleLayer()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        hidden, total = self.block(x)
        return self.head(hidden) + total[:, None]


def test_tuple_output_layer_attributes_the_chosen_element():
    torch.manual_seed(0)
    model = _TupleModel().double().eval()
    x = torch.randn(3, 4, dtype=torch.float64)
    first = mmattr.LayerConductance(model, model.block, layer_output_index=0).attribute(
        x, target=1, n_steps=200, method="riemann_trapezoid"
    )
    second = mmattr.LayerConductance(model, model.block, layer_output_index=1).attribute(
        x, target=1, n_steps=200, method="riemann_trapezoid"
    )
    assert first.shape == (3, 4) and second.shape == (3,)
    with torch.no_grad():
        gap = model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]
        hidden, total = model.block(x)
        base_hidden, base_total = model.block(torch.zeros_like(x))
    # the summed element feeds the output with weight 1: its conductance is its change
    torch.testing.assert_close(second, total - base_total, rtol=1e-6, atol=1e-8)
    # every path to the output starts at the first element (the sum is computed from it)
    torch.testing.assert_close(first.sum(1), gap, rtol=1e-3, atol=1e-4)


def test_tuple_output_layer_gives_a_tuple_by_default_as_captum():
    torch.manual_seed(0)
    model = _TupleModel().double().eval()
    x = torch.randn(3, 4, dtype=torch.float64)
    kwargs = {"target": 1, "n_steps": 20, "method": "riemann_trapezoid"}
    ours = mmattr.LayerConductance(model, model.block).attribute(x, **kwargs)
    theirs = captum_attr.LayerConductance(model, model.block).attribute(x, **kwargs)
    assert isinstance(ours, tuple) and len(ours) == 2
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine, reference, rtol=1e-6, atol=1e-8)
    activation = mmattr.LayerActivation(model, [model.block, model.head]).attribute(x)
    hidden, total = model.block(x)
    torch.testing.assert_close(activation[0], (hidden, total))
    torch.testing.assert_close(activation[1], model.head(hidden))


class _WithExtra(nn.Module):
    """``(linear(x), extra)``: ``extra`` is None, or a tensor the rest of the model ignores."""

    def __init__(self, extra: str):
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.extra = extra

    def forward(self, x):
        hidden = self.linear(x)
        return hidden, (None if self.extra == "none" else 2 * hidden)


class _ExtraModel(nn.Module):
    def __init__(self, extra: str):
        super().__init__()
        self.block = _WithExtra(extra)
        self.head = nn.Sequential(nn.Tanh(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.block(x)[0])


LAYER_GRADIENT_METHODS = [
    "LayerIntegratedGradients",
    "LayerConductance",
    "LayerGradientXActivation",
]


@pytest.mark.parametrize("method", LAYER_GRADIENT_METHODS)
def test_tuple_output_with_none_is_attributed_where_captum_raises(method):
    """Captum fails on a layer output ``(tensor, None)`` (captum#745: 'Given input is not a
    torch.Tensor', or a NoneType error); mmattr attributes the tensor, with the numbers Captum
    gives for that same tensor taken at the inner linear layer."""
    torch.manual_seed(0)
    model = _ExtraModel("none").double().eval()
    x = torch.randn(3, 4, dtype=torch.float64)
    with pytest.raises((AssertionError, AttributeError)):
        getattr(captum_attr, method)(model, model.block).attribute(x, target=1)
    before = model_state(model)
    ours = getattr(mmattr, method)(model, model.block).attribute(x, target=1)
    assert_same_state(before, model_state(model))
    reference = getattr(captum_attr, method)(model, model.block.linear).attribute(x, target=1)
    torch.testing.assert_close(ours, reference, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", LAYER_GRADIENT_METHODS)
def test_tuple_output_element_the_model_ignores_gets_zeros_where_captum_raises(method):
    """A layer output element nothing downstream reads is a dummy player: zero attribution.
    Captum's autograd call raises ('appears to not have been used in the graph')."""
    torch.manual_seed(0)
    model = _ExtraModel("unused").double().eval()
    x = torch.randn(3, 4, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        getattr(captum_attr, method)(model, model.block).attribute(x, target=1)
    used, unused = getattr(mmattr, method)(model, model.block).attribute(x, target=1)
    reference = getattr(captum_attr, method)(model, model.block.linear).attribute(x, target=1)
    torch.testing.assert_close(used, reference, rtol=1e-9, atol=1e-12)
    assert unused.shape == used.shape and not unused.any()
