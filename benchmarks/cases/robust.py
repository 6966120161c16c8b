"""Issue 13 case: PGD, 10 steps, against Captum and the bare cost of 10 forwards + backwards."""

from __future__ import annotations

import captum.robust as captum_robust
import torch
from torch import nn

from benchmarks._harness import Setup, case
from benchmarks.cases.gradient import resnet18
from mmattr import robust

STEPS = 10
RADIUS, STEP_SIZE = 8 / 255, 2 / 255


def pgd_floor(model, x: torch.Tensor, target: torch.Tensor, loss):
    """The bare cost: ``STEPS`` forwards and backwards of the loss, a sign step each."""

    def run():
        current = x
        for _ in range(STEPS):
            leaf = current.detach().requires_grad_()
            (grad,) = torch.autograd.grad(loss(model(leaf), target).sum(), leaf)
            current = leaf.detach() + STEP_SIZE * grad.sign()

    return run


@case("pgd")
def pgd(device: str) -> Setup:
    model, x = resnet18(device)
    x = torch.rand_like(x[:2])  # pixels in [0, 1], the attack's bounds
    target = torch.tensor([1, 2], device=device)
    loss = nn.CrossEntropyLoss(reduction="none")
    arguments = (x, RADIUS, STEP_SIZE, STEPS, target)
    return Setup(
        {
            "floor": pgd_floor(model, x, target, loss),
            "mmattr": lambda: robust.PGD(model, loss, 0.0, 1.0).perturb(*arguments),
            "captum": lambda: captum_robust.PGD(model, loss, 0.0, 1.0).perturb(*arguments),
        },
        {k: f"{STEPS} x {x.shape[0]} rows fwd+bwd" for k in ("floor", "mmattr", "captum")},
        note=f"resnet18 224x224, batch {x.shape[0]}, Linf radius 8/255, step 2/255, {STEPS} steps",
    )


EPSILONS = (0.0, 0.004, 0.0002)  # arg_min, arg_max, arg_step: 20 values


def min_param_floor(model, x: torch.Tensor, target: torch.Tensor, loss, count: int):
    """The bare cost: one forward and backward for the gradient, then one forward of the
    ``count`` values up to the answer."""

    def run():
        leaf = x.clone().requires_grad_()
        (grad,) = torch.autograd.grad(loss(model(leaf), target).sum(), leaf)
        with torch.no_grad():
            steps = torch.arange(count, dtype=x.dtype).view(-1, 1, 1, 1) * EPSILONS[2]
            model(x + steps * grad.sign())

    return run


@case("min-param-fgsm")
def min_param_fgsm(device: str) -> Setup:
    """The smallest FGSM epsilon that changes resnet18's prediction: a linear scan."""
    model, x = resnet18(device)
    x = torch.rand_like(x[:1])
    target = model(x).argmax(dim=1)
    loss = nn.CrossEntropyLoss(reduction="none")

    def search(module):
        attack = module.FGSM(model, loss, 0.0, 1.0)
        scan = module.MinParamPerturbation(model, attack, "epsilon", *EPSILONS)
        return lambda: scan.evaluate(x, target=target, attack_kwargs={"target": target})

    _, epsilon = search(robust)()
    count = round(epsilon / EPSILONS[2]) + 1
    return Setup(
        {
            "floor": min_param_floor(model, x, target, loss, count),
            "mmattr": search(robust),
            "captum": search(captum_robust),
        },
        {
            "floor": f"1 row fwd+bwd + {count} rows fwd",
            "mmattr": "1 row fwd+bwd + probe + forwards of 1, 2, 4, 8 rows",
            "captum": f"{count} x (1 row fwd+bwd + 1 row fwd)",
        },
        note=f"resnet18 224x224, batch 1, epsilon 0..0.004 step 0.0002, found {epsilon:.4f}",
    )
