"""Every registered gradient method through the same checks: parity with Captum on every test
model, single and tuple inputs, every target form; the model unchanged afterwards."""

import warnings

import pytest
import torch

from tests.helpers.models import example_inputs, make
from tests.helpers.registry import GRADIENT_METHODS, run

# Captum's DeepLift hooks modules: it treats the functional tanh of two_inputs and scalar_output
# as linear, and mis-chains ReLU -> MaxPool in cnn (test_deep_lift.py shows both), so those
# models are not parity cases for DeepLift.
CAPTUM_DEEPLIFT_WRONG = {"two_inputs", "cnn", "scalar_output"}
TARGETS = {
    "mlp": [1, [0, 2, 1], torch.tensor([2, 0, 1])],
    "cnn": [3],
    "two_inputs": [0],
    "extra_args": [[0, 1, 2]],
    "multi_output": [(1, 2), [(0, 1), (1, 2), (0, 0)]],
    "scalar_output": [None],
}
EXTRA_ARGS = {"extra_args": lambda: (torch.linspace(0.5, 1.5, 15).view(3, 5).double(), 0.25)}


def _cases():
    for method in GRADIENT_METHODS:
        for model_name, targets in TARGETS.items():
            if method.startswith("DeepLift") and model_name in CAPTUM_DEEPLIFT_WRONG:
                continue
            for index, target in enumerate(targets):
                yield pytest.param(method, model_name, target, id=f"{method}-{model_name}-{index}")


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("method,model_name,target", list(_cases()))
def test_parity_with_captum(method, model_name, target):
    case = GRADIENT_METHODS[method]
    model, inputs = make(model_name), example_inputs(model_name)
    extra = {"target": target}
    if model_name in EXTRA_ARGS:
        extra["additional_forward_args"] = EXTRA_ARGS[model_name]()
    if case.has_delta:
        extra["return_convergence_delta"] = True
    ours = run(case.ours, model, inputs, case, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = run(case.theirs, model, inputs, case, **extra)
    if case.has_delta:
        (ours, our_delta), (theirs, their_delta) = ours, theirs
        torch.testing.assert_close(our_delta, their_delta, rtol=1e-5, atol=1e-9)
    assert isinstance(ours, tuple) == isinstance(theirs, tuple)
    for a, b in zip(_as_tuple(ours), _as_tuple(theirs)):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-9)


def _state(model):
    return (
        [m.training for m in model.modules()],
        [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
        [p.requires_grad for p in model.parameters()],
    )


@pytest.mark.parametrize("method", list(GRADIENT_METHODS))
def test_model_unchanged(method):
    case = GRADIENT_METHODS[method]
    model, inputs = make("cnn").train(), example_inputs("cnn")
    model.conv1.weight.requires_grad_(False)
    before = _state(model)
    result = run(case.ours, model, inputs, case, target=0)
    assert _state(model) == before
    assert torch.isfinite(_as_tuple(result)[0][0] if case.has_delta else _as_tuple(result)[0]).all()


@pytest.mark.parametrize("method", ["IntegratedGradients", "DeepLift", "GradientShap"])
def test_single_tensor_input_gives_tensor_and_tuple_gives_tuple(method):
    case = GRADIENT_METHODS[method]
    model, inputs = make("mlp"), example_inputs("mlp")
    single = run(case.ours, model, inputs, case, target=1)
    as_tuple = case.ours(model).attribute(
        inputs, target=1, **case.kwargs, **{k: (v,) for k, v in case.make_kwargs(inputs).items()}
    )
    assert isinstance(single, torch.Tensor) and isinstance(as_tuple, tuple)
    if not case.seeded:
        torch.testing.assert_close(single, as_tuple[0])
