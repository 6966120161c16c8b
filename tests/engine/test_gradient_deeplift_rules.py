"""DeepLift's rules for every nonlinearity Captum supports, each as an nn module: parity with
Captum in float64 and float32, and the overlapping max-pool where Captum loses summation."""

import warnings

import captum.attr as captum_attr
import pytest
import torch
from torch import nn

import mmattr


def _dense(*middle):
    return lambda: nn.Sequential(nn.Linear(6, 5), *middle, nn.Linear(5, 2))


def _pooled(conv, pool, features):
    return lambda: nn.Sequential(conv, pool, nn.Flatten(), nn.Linear(features, 2))


MODELS = {
    "softmax-middle": (_dense(nn.Softmax(dim=1)), (6,)),
    "softmax-last": (lambda: nn.Sequential(nn.Linear(6, 5), nn.Softmax(dim=1)), (6,)),
    "elu": (_dense(nn.ELU(alpha=0.7)), (6,)),
    "elu-inplace": (_dense(nn.ELU(inplace=True)), (6,)),
    "leaky_relu": (_dense(nn.LeakyReLU(0.2)), (6,)),
    "leaky_relu-inplace": (_dense(nn.LeakyReLU(0.1, inplace=True)), (6,)),
    "softplus": (_dense(nn.Softplus(beta=2.0)), (6,)),
    "sigmoid-tanh": (_dense(nn.Sigmoid(), nn.Linear(5, 5), nn.Tanh()), (6,)),
    "maxpool1d": (_pooled(nn.Conv1d(2, 3, 3), nn.MaxPool1d(2), 15), (2, 12)),
    "maxpool2d": (_pooled(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), 18), (1, 6, 6)),
    "maxpool3d": (_pooled(nn.Conv3d(1, 2, 3, padding=1), nn.MaxPool3d(2), 16), (1, 4, 4, 4)),
}


def _setup(name, dtype):
    factory, shape = MODELS[name]
    torch.manual_seed(0)
    model = factory().to(dtype).eval()
    x = torch.randn((3,) + shape, dtype=dtype)
    return model, x, 0.3 * torch.randn_like(x)


def _both(model, x, baselines, **kwargs):
    ours = mmattr.DeepLift(model).attribute(
        x, baselines, target=1, return_convergence_delta=True, **kwargs
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = captum_attr.DeepLift(model).attribute(
            x, baselines, target=1, return_convergence_delta=True, **kwargs
        )
    return ours, theirs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(MODELS))
def test_module_nonlinearity_parity_with_captum(name, dtype):
    model, x, baselines = _setup(name, dtype)
    (ours, our_delta), (theirs, their_delta) = _both(model, x, baselines)
    tolerance = {"rtol": 1e-5, "atol": 1e-9 if dtype == torch.float64 else 1e-6}
    torch.testing.assert_close(ours, theirs, **tolerance)
    torch.testing.assert_close(our_delta, their_delta, **tolerance)
    # Captum's softmax rule is not exact; every other rule sums to the output difference
    if not name.startswith("softmax"):
        assert our_delta.abs().max() < (1e-10 if dtype == torch.float64 else 1e-4)


def test_local_multipliers_parity_with_captum():
    model, x, baselines = _setup("elu", torch.float64)
    ours = mmattr.DeepLift(model, multiply_by_inputs=False).attribute(x, baselines, target=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = captum_attr.DeepLift(model, multiply_by_inputs=False).attribute(
            x, baselines, target=0
        )
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "pool,features", [(nn.MaxPool1d(3, stride=2, padding=1), 15), (nn.MaxPool1d(3, stride=1), 24)]
)
def test_overlapping_maxpool_keeps_summation_where_captum_loses_it(pool, features):
    torch.manual_seed(0)
    model = _pooled(nn.Conv1d(2, 3, 3), pool, features)().double().eval()
    x = torch.randn(3, 2, 12, dtype=torch.float64)
    (_, our_delta), (_, their_delta) = _both(model, x, 0.3 * torch.randn_like(x))
    # max_unpool overwrites where windows share an input, so Captum drops contributions
    assert our_delta.abs().max() < 1e-10
    assert their_delta.abs().max() > 1e-2
