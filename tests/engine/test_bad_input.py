"""Bad input gets a clear error naming the argument, and the model comes back unchanged."""

import pytest
import torch
from torch import nn

import mmattr
from tests.helpers.checks import assert_same_state, model_state
from tests.helpers.models import example_inputs, make

GRADIENT_CLASSES = [
    mmattr.IntegratedGradients,
    mmattr.Saliency,
    mmattr.InputXGradient,
    mmattr.DeepLift,
    mmattr.GuidedBackprop,
    mmattr.Deconvolution,
]


def _check(model, call, error, *fragments):
    before = model_state(model)
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert_same_state(before, model_state(model))


def test_wrong_baseline_shape():
    model, (x,) = make("mlp"), example_inputs("mlp")
    for cls in (mmattr.IntegratedGradients, mmattr.DeepLift):
        _check(
            model,
            lambda: cls(model).attribute(x, baselines=torch.zeros(2, 10), target=0),
            ValueError,
            "baselines has shape (2, 10)",
            "expected (3, 10) or (1, 10)",
        )
    a, b = example_inputs("two_inputs")
    model = make("two_inputs")
    _check(
        model,
        lambda: mmattr.IntegratedGradients(model).attribute(
            (a, b), baselines=(0.0, torch.zeros(3, 5)), target=0
        ),
        ValueError,
        "baselines[1] has shape (3, 5)",
        "(3, 4)",
    )


@pytest.mark.parametrize("cls", GRADIENT_CLASSES)
def test_target_out_of_range(cls):
    model, (x,) = make("mlp"), example_inputs("mlp")
    _check(
        model,
        lambda: cls(model).attribute(x, target=5),
        ValueError,
        "target=5 is out of range",
        "size 3",
    )
    _check(
        model,
        lambda: cls(model).attribute(x, target=[0, 1]),
        ValueError,
        "target is a list of 2",
        "expected 3",
    )


@pytest.mark.parametrize("cls", GRADIENT_CLASSES)
def test_integer_inputs_to_a_gradient_method(cls):
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    ids = torch.tensor([[1, 2, 3]])
    _check(
        model,
        lambda: cls(model).attribute(ids, target=0),
        TypeError,
        "inputs[0] has dtype torch.int64",
        "floating-point",
    )


class TupleOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x):
        return self.linear(x), x.sum(1)


def test_tuple_output_without_target_and_multi_output_without_target():
    model = TupleOutput()
    x = torch.randn(3, 4)
    _check(
        model,
        lambda: mmattr.Saliency(model).attribute(x),
        TypeError,
        "the model returned tuple",
        "expected a tensor",
    )
    model = make("mlp")
    _check(
        model,
        lambda: mmattr.IntegratedGradients(model).attribute(example_inputs("mlp")),
        ValueError,
        "shape (150, 3)",
        "pass target=",
    )


class NaNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x):
        return self.linear(x).log()


def test_nan_in_output_is_reported_and_model_restored_after_raise():
    torch.manual_seed(0)
    model = NaNModel().train()
    x = -torch.ones(2, 4) * 100
    _check(
        model,
        lambda: mmattr.IntegratedGradients(model).attribute(x, target=0),
        FloatingPointError,
        "the model output contains",
        "NaN/Inf",
    )
    assert model.training


def test_bad_method_and_steps():
    model, (x,) = make("mlp"), example_inputs("mlp")
    ig = mmattr.IntegratedGradients(model)
    _check(
        model,
        lambda: ig.attribute(x, target=0, method="simpson"),
        ValueError,
        "method='simpson'",
        "gausslegendre",
    )
    _check(
        model,
        lambda: ig.attribute(x, target=0, n_steps=1, method="riemann_left"),
        ValueError,
        "n_steps=1",
    )
    _check(
        model,
        lambda: ig.attribute(x, target=0, internal_batch_size="big"),
        ValueError,
        "internal_batch_size='big'",
    )
    _check(
        model,
        lambda: mmattr.NoiseTunnel(mmattr.Saliency(model)).attribute(x, nt_type="smooth", target=0),
        ValueError,
        "nt_type='smooth'",
    )
    _check(
        model,
        lambda: mmattr.DeepLiftShap(model).attribute(x, torch.zeros(1, 10), target=0),
        ValueError,
        "at least 2 baseline examples",
    )
