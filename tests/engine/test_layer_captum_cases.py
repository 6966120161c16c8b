"""Layer methods on Captum's harder cases, against Captum 0.9: in-place operations after the
attributed layer, layers whose output (or input) holds several tensors, integer inputs to an
embedding, ``grad_kwargs``."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch
from torch import nn

import mmattr


class _InPlaceNet(nn.Module):
    """``linear2(relu_(linear1(x)))``: the in-place ReLU overwrites the linear layer's output."""

    def __init__(self, inplace: bool = True) -> None:
        super().__init__()
        self.linear1 = nn.Linear(3, 4)
        self.relu1 = nn.ReLU(inplace=inplace)
        self.linear2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.linear2(self.relu1(self.linear1(x)))


class _TwoInputLayer(nn.Module):
    def forward(self, a, b):
        return a * b, a + b


class _TupleNet(nn.Module):
    """A layer taking two tensors and giving two."""

    def __init__(self) -> None:
        super().__init__()
        self.left, self.right = nn.Linear(3, 4), nn.Linear(3, 4)
        self.block = _TwoInputLayer()
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        product, total = self.block(self.left(x), self.right(x))
        return self.head(torch.cat([product, total], dim=1))


def _assert_close(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            _assert_close(mine, reference)
        return
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def _in_place_setup():
    """The in-place model and its twin with the same weights and an out-of-place ReLU."""
    torch.manual_seed(0)
    model = _InPlaceNet().double()
    twin = _InPlaceNet(inplace=False).double()
    twin.load_state_dict(model.state_dict())
    return model, twin, torch.randn(4, 3, dtype=torch.float64)


@pytest.mark.parametrize("to_input", [False, True])
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("LayerActivation", {}),
        ("InternalInfluence", {"target": 1, "n_steps": 10}),
        ("LayerGradCam", {"target": 1}),
        ("LayerGradientXActivation", {"target": 0}),
        ("LayerConductance", {"target": 0, "n_steps": 10}),
        ("LayerIntegratedGradients", {"target": 0, "n_steps": 10}),
    ],
)
def test_in_place_relu_after_the_layer_equals_captum(name, kwargs, to_input):
    """Captum on the out-of-place twin is the reference (Captum's LayerIntegratedGradients
    raises on the in-place model)."""
    model, twin, x = _in_place_setup()
    layer = model.relu1 if to_input else model.linear1
    ours = getattr(mmattr, name)(model, layer).attribute(
        x, attribute_to_layer_input=to_input, **kwargs
    )
    twin_layer = twin.relu1 if to_input else twin.linear1
    theirs = getattr(captum_attr, name)(twin, twin_layer).attribute(
        x, attribute_to_layer_input=to_input, **kwargs
    )
    _assert_close(ours, theirs)
    if name != "LayerIntegratedGradients":
        in_place = getattr(captum_attr, name)(model, layer).attribute(
            x, attribute_to_layer_input=to_input, **kwargs
        )
        _assert_close(ours, in_place)
    if name == "LayerActivation":  # the linear layer's own value, before the ReLU
        torch.testing.assert_close(ours, model.linear1(x))


def test_guided_grad_cam_with_in_place_relu_equals_captum():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)
    )
    x = torch.randn(2, 1, 6, 6)
    ours = mmattr.GuidedGradCam(model, model[0]).attribute(x, target=2)
    theirs = captum_attr.GuidedGradCam(model, model[0]).attribute(x, target=2)
    _assert_close(ours, theirs)


@pytest.mark.parametrize("to_input", [False, True])
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("LayerActivation", {}),
        ("LayerGradientXActivation", {"target": 1}),
        ("InternalInfluence", {"target": 1, "n_steps": 8}),
        ("LayerConductance", {"target": 1, "n_steps": 8}),
        ("LayerIntegratedGradients", {"target": 1, "n_steps": 8}),
        ("LayerGradCam", {"target": 1}),
        ("LayerDeepLift", {"target": 1}),
        ("LayerFeatureAblation", {"target": 1}),
    ],
)
def test_layer_with_several_tensors_gives_a_tuple_as_captum(name, kwargs, to_input):
    torch.manual_seed(0)
    model = _TupleNet().double()
    x = torch.randn(3, 3, dtype=torch.float64)
    ours = getattr(mmattr, name)(model, model.block).attribute(
        x, attribute_to_layer_input=to_input, **kwargs
    )
    theirs = getattr(captum_attr, name)(model, model.block).attribute(
        x, attribute_to_layer_input=to_input, **kwargs
    )
    assert isinstance(ours, tuple) and len(ours) == 2
    _assert_close(ours, theirs)


def test_layer_list_with_a_tuple_layer_and_deltas_equal_captum():
    torch.manual_seed(0)
    model = _TupleNet().double()
    x = torch.randn(3, 3, dtype=torch.float64)
    kwargs = {"target": 0, "n_steps": 8, "return_convergence_delta": True}
    ours, delta = mmattr.LayerConductance(model, model.block).attribute(x, **kwargs)
    theirs, their_delta = captum_attr.LayerConductance(model, model.block).attribute(x, **kwargs)
    _assert_close(ours, theirs)
    torch.testing.assert_close(delta, their_delta)
    both = mmattr.LayerActivation(model, [model.left, model.block]).attribute(x)
    assert isinstance(both, list)
    _assert_close(both[1], model.block(model.left(x), model.right(x)))


def test_integer_inputs_to_an_embedding_layer():
    torch.manual_seed(0)
    embedding = nn.Embedding(10, 6)
    model = nn.Sequential(embedding, nn.Flatten(), nn.Linear(24, 2))
    ids = torch.tensor([[1, 5, 0, 2], [3, 3, 9, 4]])
    ours = mmattr.LayerGradientXActivation(model, embedding).attribute(ids, target=1)
    theirs = captum_attr.LayerGradientXActivation(model, embedding).attribute(ids, target=1)
    _assert_close(ours, theirs)
    with torch.no_grad():
        for param in model.parameters():
            param.requires_grad_(False)
        frozen = mmattr.LayerGradientXActivation(model, embedding).attribute(ids, target=1)
    _assert_close(frozen, theirs)
    assert not any(param.requires_grad for param in model.parameters())


def test_layer_integrated_gradients_passes_grad_kwargs():
    _, model, x = _in_place_setup()
    calls = []
    ours = mmattr.LayerIntegratedGradients(model, model.linear1).attribute(
        x, target=0, n_steps=6, grad_kwargs={"retain_graph": True}
    )
    theirs = captum_attr.LayerIntegratedGradients(model, model.linear1).attribute(
        x, target=0, n_steps=6, grad_kwargs={"retain_graph": True}
    )
    _assert_close(ours, theirs)
    with pytest.raises(TypeError, match="unexpected keyword"):
        mmattr.LayerIntegratedGradients(model, model.linear1).attribute(
            x, target=0, n_steps=6, grad_kwargs={"not_an_argument": calls}
        )
