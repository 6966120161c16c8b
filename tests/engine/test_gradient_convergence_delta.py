"""``compute_convergence_delta`` on its own (no gradients): Captum's numbers for every form of
start point, target and extra argument, and clear errors where Captum asserts or broadcasts."""

import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.models import example_inputs, make


def _attributions(inputs):
    generator = torch.Generator().manual_seed(5)
    return tuple(torch.randn(x.shape, generator=generator, dtype=x.dtype) for x in inputs)


def _single(values):
    return values if len(values) > 1 else values[0]


CASES = {
    "scalar-start": ("mlp", lambda x: 0.5, {"target": 1}),
    "one-row-start": ("mlp", lambda x: 0.2 * x[0][:1], {"target": [0, 1, 2]}),
    "full-start": ("mlp", lambda x: 0.5 * x[0].flip(0), {"target": torch.tensor([2, 0, 1])}),
    "tuple-mixed-start": ("two_inputs", lambda x: (0.1, x[1][:1]), {"target": 0}),
    "tuple-target": ("multi_output", lambda x: 0.0, {"target": (1, 2)}),
    "no-target-sums-outputs": ("multi_output", lambda x: 0.0, {}),
    "scalar-output": ("scalar_output", lambda x: -0.3, {}),
    "extra-args": (
        "extra_args",
        lambda x: 0.0,
        {
            "target": 2,
            "additional_forward_args": (torch.linspace(0.5, 1.5, 15).view(3, 5).double(), 0.3),
        },
    ),
}


@pytest.mark.parametrize("method", ["IntegratedGradients", "DeepLift", "GradientShap"])
@pytest.mark.parametrize("case", list(CASES))
def test_delta_parity_with_captum(case, method):
    model_name, make_start, kwargs = CASES[case]
    model, inputs = make(model_name), example_inputs(model_name)
    arguments = (_single(_attributions(inputs)), make_start(inputs), _single(inputs))
    ours = getattr(mmattr, method)(model).compute_convergence_delta(*arguments, **kwargs)
    theirs = getattr(captum_attr, method)(model).compute_convergence_delta(*arguments, **kwargs)
    assert ours.shape == theirs.shape == (inputs[0].shape[0],)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_delta_is_exact_arithmetic():
    model, (x,) = make("mlp"), example_inputs("mlp")
    attributions = _attributions((x,))[0]
    delta = mmattr.IntegratedGradients(model).compute_convergence_delta(
        attributions, 0.25, x, target=1
    )
    with torch.no_grad():
        expected = attributions.sum(1) - (model(x)[:, 1] - model(torch.full_like(x, 0.25))[:, 1])
    torch.testing.assert_close(delta, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 2])
def test_attributions_with_wrong_batch_are_rejected(rows):
    """Captum asserts; before the check a batch of 1 broadcast into a plausible delta."""
    model, (x,) = make("mlp"), example_inputs("mlp")
    attributions = torch.ones(rows, 10, dtype=torch.float64)
    with pytest.raises(
        ValueError,
        match=r"attributions\[0\] has shape \(%d, 10\); expected "
        r"batch size 3" % rows,
    ):
        mmattr.DeepLift(model).compute_convergence_delta(attributions, 0.0, x, target=1)
    with pytest.raises(AssertionError):
        captum_attr.DeepLift(model).compute_convergence_delta(attributions, 0.0, x, target=1)


def test_attributions_missing_an_input_are_rejected():
    """Captum zips and silently drops the second input's share."""
    model, inputs = make("two_inputs"), example_inputs("two_inputs")
    attributions = _attributions(inputs)
    start = (0.0, 0.0)
    captum_delta = captum_attr.DeepLift(model).compute_convergence_delta
    theirs = captum_delta(attributions[:1], start, inputs, target=0)
    full = captum_delta(attributions, start, inputs, target=0)
    assert (theirs - full).abs().max() > 1e-3
    with pytest.raises(ValueError, match="attributions has 1 tensors; expected 2"):
        mmattr.DeepLift(model).compute_convergence_delta(attributions[:1], start, inputs, target=0)


def test_target_out_of_range_is_named():
    model, (x,) = make("mlp"), example_inputs("mlp")
    with pytest.raises(ValueError, match="target"):
        mmattr.DeepLift(model).compute_convergence_delta(x, 0.0, x, target=[0, 1])
