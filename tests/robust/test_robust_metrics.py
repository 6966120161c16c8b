"""AttackComparator and MinParamPerturbation give Captum's results; batched evaluation and the
one-gradient FGSM search change the cost, not the numbers."""

from __future__ import annotations

import collections

import pytest
import torch
from captum import robust as captum_robust
from torch import nn

from mmattr import robust
from tests.helpers.models import example_inputs, make

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor .* did not already require gradients")
CE = nn.CrossEntropyLoss(reduction="none")
Result = collections.namedtuple("Result", "accuracy logit")


def metric(model_out, target):
    return Result((model_out.argmax(dim=1) == target).double(), model_out[:, 0])


def drop_column(x, column):
    kept = torch.ones_like(x)
    kept[:, column] = 0.0
    return x * kept


def _same(ours, theirs) -> None:
    if isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            _same(ours[key], theirs[key])
    elif isinstance(theirs, tuple):
        assert type(ours).__name__ == type(theirs).__name__ and len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            _same(mine, reference)
    else:
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


class Counting:
    """The model, counting the rows of every forward call."""

    def __init__(self, model) -> None:
        self.model, self.calls, self.grad_calls = model, 0, 0

    def __call__(self, *args):
        self.calls += 1
        self.grad_calls += int(torch.is_grad_enabled() and args[0].requires_grad)
        return self.model(*args)


def _comparator(module, model, targets):
    comparator = module.AttackComparator(model, metric)
    comparator.add_attack(drop_column, "drop", attack_kwargs={"column": 2})
    comparator.add_attack(module.FGSM(model, CE), attack_kwargs={"epsilon": 0.4, "target": targets})
    pgd = module.PGD(model, CE, -3.0, 3.0)
    attack = dict(radius=0.5, step_size=0.2, step_num=3, random_start=True)
    comparator.add_attack(
        pgd, "PGD", num_attempts=3, attack_kwargs=attack, additional_attack_arg_names=["target"]
    )
    return comparator


@pytest.mark.parametrize("per_eval", [1, 2, None])
def test_attack_comparator_equals_captum(per_eval) -> None:
    model = make("mlp")
    batches = [example_inputs("mlp", batch=4, seed=s)[0] for s in (1, 2)]
    targets = torch.tensor([0, 1, 2, 1])
    outcomes = []
    for module, chunk in ((robust, per_eval), (captum_robust, 1)):
        torch.manual_seed(11)
        comparator = _comparator(module, model, targets)
        results = [
            comparator.evaluate(x, perturbations_per_eval=chunk, target=targets) for x in batches
        ]
        outcomes.append((results, comparator.summary()))
    _same(outcomes[0], outcomes[1])
    results, summary = outcomes[0]
    assert sorted(results[0]["PGD"]) == ["max", "mean", "min"]
    assert "PGD Min Attempt" in summary
    assert (results[0]["PGD"]["min"].logit <= results[0]["PGD"]["max"].logit).all()


def test_attack_comparator_batches_forwards() -> None:
    model = Counting(make("mlp"))
    comparator = robust.AttackComparator(model, lambda out: out[:, 0])
    for column in range(4):
        comparator.add_attack(drop_column, f"drop{column}", attack_kwargs={"column": column})
    x = example_inputs("mlp")[0]
    one_by_one = comparator.evaluate(x, perturbations_per_eval=1)  # Captum's default
    assert model.calls == 5
    together = comparator.evaluate(x, perturbations_per_eval=None)
    assert model.calls == 6
    automatic = comparator.evaluate(x)  # a probe forward on one example, then one forward
    assert model.calls == 8
    _same(together, one_by_one)
    _same(automatic, one_by_one)


@pytest.mark.parametrize("mode", ["linear", "binary"])
@pytest.mark.parametrize("per_eval", [1, 4, "auto"])
def test_min_param_fgsm_equals_captum_from_one_gradient(mode, per_eval) -> None:
    model = make("mlp")
    x = example_inputs("mlp", batch=1, seed=2)[0]
    target = int(model(x).argmax())
    found = []
    for module, chunk in (
        (robust, per_eval),
        (captum_robust, 1 if per_eval == "auto" else per_eval),
    ):
        counted = Counting(model)
        search = module.MinParamPerturbation(
            counted, module.FGSM(counted, CE), "epsilon", 0.0, 3.0, 0.05, mode=mode
        )
        attack_kwargs = {"target": torch.tensor([target])}
        result = search.evaluate(
            x, target=target, perturbations_per_eval=chunk, attack_kwargs=attack_kwargs
        )
        found.append((*result, counted.grad_calls, counted.calls))
    (ours, epsilon, our_grads, our_calls), (theirs, their_epsilon, their_grads, _) = found
    if per_eval == "auto" and mode == "linear":
        # a probe, one gradient, then forwards of 1, 2, 4, ... values until the answer
        index = round(their_epsilon / 0.05)
        chunks = next(c for c in range(1, 10) if 2**c - 1 > index)
        assert our_calls == 2 + chunks and index >= 3
    assert epsilon == pytest.approx(their_epsilon, abs=1e-12) and epsilon > 0
    _same(ours, theirs)
    assert int(model(ours).argmax()) != target
    assert our_grads == 1 and their_grads > 3


def test_min_param_text_attack_with_attempts_equals_captum() -> None:
    model = make("mlp")
    x = example_inputs("mlp", batch=2, seed=5)[0]
    targets = model(x).argmax(dim=1)

    def noisy(inputs, scale):
        return inputs + scale * torch.randn_like(inputs)

    outcomes = []
    for module in (robust, captum_robust):
        torch.manual_seed(5)
        search = module.MinParamPerturbation(model, noisy, "scale", 0, 20, 0.5, num_attempts=3)
        outcomes.append(search.evaluate(x, target=targets, perturbations_per_eval=4))
    assert outcomes[0][1] == outcomes[1][1] and outcomes[0][1] is not None
    _same(outcomes[0][0], outcomes[1][0])


@pytest.mark.parametrize(
    "build, error, fragment",
    [
        (
            lambda m: robust.MinParamPerturbation(m, drop_column, "column", 0, 1, 2),
            AssertionError,
            "arg_max > arg_min + arg_step",
        ),
        (
            lambda m: robust.MinParamPerturbation(m, drop_column, "column", 0, 5, 1, mode="fast"),
            AssertionError,
            "'fast' is not valid",
        ),
        (
            lambda m: robust.MinParamPerturbation(m, drop_column, "column", 0, 5, 1).evaluate(
                torch.ones(1, 10), target=0, perturbations_per_eval=0
            ),
            AssertionError,
            "perturbations_per_eval is 0",
        ),
        (
            lambda m: robust.MinParamPerturbation(
                lambda x: x.sum(1), drop_column, "column", 0, 5, 1
            ).evaluate(torch.ones(1, 10), target=0),
            AssertionError,
            "needs a 2D (batch, classes)",
        ),
        (lambda m: robust.AttackComparator(m, "accuracy"), TypeError, "metric is str"),
        (
            lambda m: robust.AttackComparator(m, metric).add_attack(drop_column, num_attempts=0),
            ValueError,
            "num_attempts is 0",
        ),
    ],
)
def test_bad_input_is_named(build, error, fragment) -> None:
    model = make("mlp", dtype=torch.float32)
    with pytest.raises(error) as info:
        build(model)
    assert fragment in str(info.value), str(info.value)


def test_duplicate_attack_name_is_refused() -> None:
    comparator = robust.AttackComparator(make("mlp"), metric)
    comparator.add_attack(drop_column, "drop")
    with pytest.raises(RuntimeError, match="same name as existing attack drop"):
        comparator.add_attack(drop_column, "drop")


def test_metrics_leave_the_model_unchanged_also_when_the_metric_raises() -> None:
    model = make("mlp").train()
    model.linear2.bias.requires_grad_(False)

    def state():
        return (
            [m.training for m in model.modules()],
            [p.requires_grad for p in model.parameters()],
            [dict(m._forward_hooks) for m in model.modules()],
        )

    before = state()
    x = example_inputs("mlp")[0]
    comparator = robust.AttackComparator(model, lambda out: 1 / 0)
    comparator.add_attack(
        robust.FGSM(model, CE), attack_kwargs={"epsilon": 0.1, "target": torch.tensor([0, 1, 2])}
    )
    with pytest.raises(ZeroDivisionError):
        comparator.evaluate(x)
    assert state() == before
    search = robust.MinParamPerturbation(model, robust.PGD(model, CE), "radius", 0.1, 1.0, 0.2)
    kwargs = {"step_size": 0.1, "step_num": 2, "target": model(x).argmax(1)}
    search.evaluate(x, target=model(x).argmax(1), attack_kwargs=kwargs, perturbations_per_eval=None)
    assert state() == before
