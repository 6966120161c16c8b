"""FGSM and PGD give Captum's perturbed inputs (same seed for random starts), leave the model
as it was, and refuse bad input with errors naming the argument."""

from __future__ import annotations

import pytest
import torch
from captum import robust as captum_robust
from torch import nn

from mmattr import robust
from tests.helpers.models import example_inputs, make

CE = nn.CrossEntropyLoss(reduction="none")
pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor .* did not already require gradients")


def _softmax(model):
    return lambda *args: torch.softmax(model(*args), dim=-1)


def _setup(name: str, loss):
    """The model (softmax-ed for the default -log loss), its inputs, and them as passed."""
    model = make(name)
    inputs = example_inputs(name)
    forward = model if loss is not None else _softmax(model)
    return forward, inputs, inputs if len(inputs) > 1 else inputs[0]


def _same(ours, theirs) -> None:
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine, reference, rtol=0, atol=1e-12)


FGSM_CASES = [
    ("mlp", None, {"target": 1}),
    ("mlp", CE, {"target": torch.tensor([0, 2, 1])}),
    ("cnn", CE, {"target": torch.tensor([3, 0, 1]), "targeted": True}),
    ("two_inputs", None, {"target": [0, 1, 1]}),
    ("multi_output", None, {"target": (1, 2)}),
]


@pytest.mark.parametrize("name, loss, kwargs", FGSM_CASES)
def test_fgsm_equals_captum(name, loss, kwargs) -> None:
    forward, inputs, x = _setup(name, loss)
    ours = robust.FGSM(forward, loss, -2.0, 2.0).perturb(x, 0.3, **kwargs)
    theirs = captum_robust.FGSM(forward, loss, -2.0, 2.0).perturb(x, 0.3, **kwargs)
    _same(ours, theirs)
    changed = (ours if isinstance(ours, tuple) else (ours,))[0] - inputs[0]
    assert changed.abs().max() > 0.1  # the step moved something


def test_fgsm_mask_and_extra_args() -> None:
    model = make("extra_args")
    (x,) = example_inputs("extra_args")
    mask = (torch.arange(5) % 2).expand(3, 5)
    call = dict(target=2, additional_forward_args=(2.0, 0.5), mask=mask)
    ours = robust.FGSM(model).perturb(x, 0.2, **call)
    _same(ours, captum_robust.FGSM(model).perturb(x, 0.2, **call))
    torch.testing.assert_close(ours[:, 0], x[:, 0])  # masked out: unchanged


PGD_CASES = [
    ("mlp", CE, dict(target=torch.tensor([0, 2, 1]))),
    ("mlp", CE, dict(target=torch.tensor([0, 2, 1]), norm="L2", targeted=True)),
    ("cnn", CE, dict(target=torch.tensor([3, 0, 1]), random_start=True)),
    ("two_inputs", None, dict(target=1, random_start=True, norm="Linf")),
]


@pytest.mark.parametrize("name, loss, kwargs", PGD_CASES)
def test_pgd_equals_captum_same_seed(name, loss, kwargs) -> None:
    forward, inputs, x = _setup(name, loss)
    results = []
    for module in (robust, captum_robust):
        torch.manual_seed(7)
        adversary = module.PGD(forward, loss, lower_bound=-2.5, upper_bound=2.5)
        results.append(adversary.perturb(x, 0.4, 0.05, 6, **kwargs))
    _same(*results)
    first = (results[0] if isinstance(results[0], tuple) else (results[0],))[0]
    distance = (first - inputs[0]).flatten(1)
    clamped = (first.abs() == 2.5).flatten(1)  # the bounds apply after the projection
    if kwargs.get("norm") == "L2":
        assert distance.norm(dim=1).max() <= 0.4 + 1e-9
    else:
        assert ((distance.abs() <= 0.4 + 1e-9) | clamped).all()
    assert (first.abs() <= 2.5).all()


def test_pgd_l2_random_start_batch_of_one_equals_captum() -> None:
    model = make("mlp")
    x = example_inputs("mlp", batch=1)[0]
    results = []
    for module in (robust, captum_robust):
        torch.manual_seed(3)
        adversary = module.PGD(model, CE)
        results.append(
            adversary.perturb(x, 0.5, 0.1, 4, torch.tensor([1]), random_start=True, norm="L2")
        )
    _same(*results)


def test_pgd_l2_random_start_is_per_example() -> None:
    """Captum broadcasts the L2 radius along the last dimension for batches > 1; here every
    example gets its own radius inside its own ball."""
    x = torch.zeros(4, 6, dtype=torch.float64)
    adversary = robust.PGD(make("scalar_output"))
    torch.manual_seed(0)
    start = adversary.perturb(x, 0.5, 0.1, 0, None, random_start=True, norm="L2")
    norms = start.norm(dim=1)
    assert (norms <= 0.5).all() and (norms > 0).all()
    assert len(set(norms.tolist())) == 4


def _state(model: nn.Module):
    return (
        [m.training for m in model.modules()],
        [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        [p.grad for p in model.parameters()],
    )


def test_model_and_inputs_unchanged() -> None:
    model = make("mlp").train()
    model.linear1.weight.requires_grad_(False)
    (x,) = example_inputs("mlp")
    before = _state(model)
    copy = x.clone()
    robust.PGD(model, CE).perturb(x, 0.3, 0.1, 3, torch.tensor([0, 1, 2]))
    robust.FGSM(model, CE).perturb(x, 0.3, torch.tensor([0, 1, 2]))
    assert _state(model) == before
    assert not x.requires_grad and torch.equal(x, copy)


def test_model_unchanged_when_the_loss_raises() -> None:
    model = make("mlp")
    before = _state(model)

    def bad_loss(outputs, target):
        raise RuntimeError("loss failed")

    with pytest.raises(RuntimeError, match="loss failed"):
        robust.PGD(model, bad_loss).perturb(example_inputs("mlp")[0], 0.3, 0.1, 3, 0)
    assert _state(model) == before


@pytest.mark.parametrize(
    "call, error, fragment",
    [
        (
            lambda m, x: robust.PGD(m).perturb(x, 0.3, 0.1, 2, 0, norm="L1"),
            AssertionError,
            "norm is 'L1'",
        ),
        (lambda m, x: robust.PGD(m).perturb(x, 0.3, 0.1, 2.5, 0), TypeError, "step_num"),
        (lambda m, x: robust.FGSM(m).perturb(x, "big", 0), TypeError, "epsilon is str"),
        (lambda m, x: robust.FGSM(m).perturb(x.long(), 0.1, 0), TypeError, "floating-point"),
        (
            lambda m, x: robust.FGSM(m).perturb(x, 0.1, 0, mask=torch.ones(2, 3)),
            AssertionError,
            "mask has shape (2, 3)",
        ),
        (lambda m, x: robust.FGSM(m).perturb(x, 0.1, 7), ValueError, "out of range"),
        (lambda m, x: robust.FGSM(m).perturb(x, 0.1, None), ValueError, "one number per example"),
        (lambda m, x: robust.FGSM(m, lower_bound=1, upper_bound=0), ValueError, "lower_bound is 1"),
    ],
)
def test_bad_input_is_named(call, error, fragment) -> None:
    model = make("mlp")
    (x,) = example_inputs("mlp")
    before = _state(model)
    with pytest.raises(error) as info:
        call(model, x)
    assert fragment in str(info.value), str(info.value)
    assert _state(model) == before
