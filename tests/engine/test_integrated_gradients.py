import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.models import example_inputs, make

METHODS = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["mlp", "cnn", "two_inputs"])
def test_matches_captum(name, method):
    model, inputs = make(name), example_inputs(name)
    ours, our_delta = mmattr.IntegratedGradients(model).attribute(
        inputs,
        target=1,
        n_steps=20,
        method=method,
        internal_batch_size=7,
        return_convergence_delta=True,
    )
    theirs, their_delta = captum_attr.IntegratedGradients(model).attribute(
        inputs, target=1, n_steps=20, method=method, return_convergence_delta=True
    )
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-10)
    torch.testing.assert_close(our_delta, their_delta, rtol=1e-5, atol=1e-10)


def test_completeness_delta_shrinks_with_steps():
    model, (x,) = make("mlp"), example_inputs("mlp")
    ig = mmattr.IntegratedGradients(model)
    deltas = [
        ig.attribute(
            x, target=0, n_steps=n, method="riemann_trapezoid", return_convergence_delta=True
        )[1]
        .abs()
        .max()
        .item()
        for n in (4, 16, 64)
    ]
    assert deltas[0] > deltas[1] > deltas[2]
    assert deltas[2] < deltas[0] / 4


def test_auto_batch_equals_unbatched_and_extra_args():
    model, (x,) = make("extra_args"), example_inputs("extra_args")
    scale = torch.rand(3, 5, dtype=torch.float64)
    ours = mmattr.IntegratedGradients(model).attribute(
        x, target=[0, 2, 1], additional_forward_args=(scale, 0.5), internal_batch_size="auto"
    )
    theirs = captum_attr.IntegratedGradients(model).attribute(
        x, target=[0, 2, 1], additional_forward_args=(scale, 0.5)
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-10)


def test_tuple_target_and_scalar_output():
    model, (x,) = make("multi_output"), example_inputs("multi_output")
    ours = mmattr.IntegratedGradients(model).attribute(x, target=(1, 2), n_steps=10)
    theirs = captum_attr.IntegratedGradients(model).attribute(x, target=(1, 2), n_steps=10)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-10)
    model, (x,) = make("scalar_output"), example_inputs("scalar_output")
    ours = mmattr.IntegratedGradients(model).attribute(x, baselines=0.3, n_steps=10)
    theirs = captum_attr.IntegratedGradients(model).attribute(x, baselines=0.3, n_steps=10)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-10)
