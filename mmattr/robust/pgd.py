"""Projected Gradient Descent (Madry et al., 2018), as Captum's ``captum.robust.PGD``."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from mmattr.engine.toolkit import (
    TensorOrTuple,
    format_additional_args,
    format_inputs,
    format_output,
    is_tuple,
    preserve_model_state,
    require_floating,
)
from mmattr.robust._checks import RobustInputError, check_number, format_masks
from mmattr.robust.fgsm import FGSM
from mmattr.robust.perturbation import Perturbation

NORMS = ("Linf", "L2")


class PGD(Perturbation):
    r"""PGD: ``x_{t+1} = bound(Clip_{x,r}(x_t ± α · sign(∇ L(F(x_t), y)) · mask))``, ``step_num``
    FGSM steps of size ``α`` each projected back onto the ``norm`` ball of radius ``r`` around
    the original inputs (``-α`` for targeted attacks).

    Args:
        forward_func: the model (or any callable) to attack.
        loss_func: ``loss_func(outputs, target)`` -> loss per example. Default None:
            ``-log(outputs)`` at ``target``.
        lower_bound: lowest value an adversarial input may take (default ``-inf``).
        upper_bound: highest value an adversarial input may take (default ``inf``).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
        >>> x = torch.randn(2, 4)
        >>> adv = PGD(model).perturb(x, radius=0.1, step_size=0.02, step_num=10, target=0)
        >>> bool((adv - x).abs().max() <= 0.1 + 1e-6)
        True
    """

    def __init__(
        self,
        forward_func: Callable,
        loss_func: Callable | None = None,
        lower_bound: float = float("-inf"),
        upper_bound: float = float("inf"),
    ) -> None:
        bounded = FGSM(forward_func, loss_func, lower_bound, upper_bound)  # checks the arguments
        self.forward_func = forward_func
        self.fgsm = FGSM(forward_func, loss_func)  # unbounded steps; PGD bounds after projecting
        self.bound: Callable[[Tensor], Tensor] = bounded.bound

    def perturb(
        self,
        inputs: TensorOrTuple,
        radius: float,
        step_size: float,
        step_num: int,
        target: Any,
        additional_forward_args: Any = None,
        targeted: bool = False,
        random_start: bool = False,
        norm: str = "Linf",
        mask: TensorOrTuple | None = None,
    ) -> TensorOrTuple:
        """``step_num`` projected signed-gradient steps from ``inputs`` (or a random point of
        the ball with ``random_start``).

        Args:
            inputs: tensor or tuple of tensors sharing the batch dimension; floating point.
            radius: radius of the ball around ``inputs`` the result stays in.
            step_size: size ``α`` of each step.
            step_num: number of steps (one forward and one backward each).
            target: true labels, or the class to reach with ``targeted=True``; see
                :meth:`FGSM.perturb`.
            additional_forward_args: passed to the model after the inputs. Default None.
            targeted: step towards ``target``. Default False.
            random_start: start from a uniform random point of the ball. Default False.
            norm: ``"Linf"`` (default) or ``"L2"`` (per example).
            mask: 0/1 tensors, one per input: only elements with 1 move. Default None.

        Returns the perturbed inputs in the form ``inputs`` came in.
        """
        was_tuple = is_tuple(inputs)
        originals = format_inputs(inputs)
        require_floating(originals, "PGD")
        radius = check_number(radius, "radius")
        step = check_number(step_size, "step_size")
        if isinstance(step_num, bool) or not isinstance(step_num, int) or step_num < 0:
            raise TypeError(f"step_num is {step_num!r}; expected an int >= 0")
        if norm not in NORMS:
            raise RobustInputError(f"norm is {norm!r}; expected one of {NORMS}")
        masks = format_masks(mask, originals)
        args = format_additional_args(additional_forward_args)
        current = originals
        if random_start:
            current = tuple(
                self.bound(_random_point(x, radius, norm, m)) for x, m in zip(originals, masks)
            )
        with preserve_model_state(self.forward_func):
            for _ in range(step_num):
                grads = self.fgsm.loss_gradients(current, target, args)
                moved = self.fgsm.step(current, grads, -step if targeted else step, masks)
                current = tuple(
                    self.bound(_project(x, y, radius, norm)).detach()
                    for x, y in zip(originals, moved)
                )
        return format_output(was_tuple, current)


def _project(center: Tensor, point: Tensor, radius: float, norm: str) -> Tensor:
    """``point`` moved onto the ``norm`` ball of ``radius`` around ``center`` (per example)."""
    diff = point - center
    if norm == "Linf":
        return center + torch.clamp(diff, -radius, radius)
    return center + torch.renorm(diff, 2, 0, radius)


def _random_point(center: Tensor, radius: float, norm: str, mask: Tensor | int) -> Tensor:
    """A uniform random point of the ball, drawing random numbers in Captum's order. For L2 the
    radius is drawn per example (Captum broadcasts it along the last dimension, which is the
    same for a batch of one)."""
    if norm == "L2":
        direction = torch.randn_like(center)
        unit = F.normalize(direction.view(direction.size(0), -1)).view(direction.size())
        per_example = torch.numel(center[0])
        scale = (torch.rand(direction.size(0)) ** (1.0 / per_example)) * radius
        scale = scale.to(center.device).view(-1, *([1] * (center.dim() - 1)))
        return center + scale * unit * mask
    offset = torch.rand_like(center) * radius * 2 - radius
    return center + offset * mask
