"""Fast Gradient Sign Method (Goodfellow et al., 2015), as Captum's ``captum.robust.FGSM``."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from mmattr.engine.toolkit import (
    TensorOrTuple,
    as_leaves,
    check_scalar_per_example,
    format_additional_args,
    format_inputs,
    format_output,
    grad_of_outputs,
    is_tuple,
    preserve_model_state,
    require_floating,
    select_target,
    validate_target,
)
from mmattr.robust._checks import check_number, format_masks
from mmattr.robust.perturbation import Perturbation

#: Gradients at most this large (in absolute value) leave their element unperturbed.
ZERO_THRESHOLD = 1e-6


def clamp_to(lower: float, upper: float) -> Callable[[Tensor], Tensor]:
    """``x -> clamp(x, lower, upper)``; the identity when both bounds are infinite."""
    if lower == float("-inf") and upper == float("inf"):
        return lambda x: x
    return lambda x: torch.clamp(x, min=lower, max=upper)


class FGSM(Perturbation):
    r"""FGSM: ``x' = clamp(x + ε · sign(∇ₓ L(F(x), y)) · mask)``; targeted attacks step with
    ``-ε`` to lower the loss of the target class. Elements whose gradient is at most
    ``zero_thresh`` in absolute value are left as they are.

    Args:
        forward_func: the model (or any callable) to attack.
        loss_func: ``loss_func(outputs, target)`` -> loss per example (or its sum). Default
            None: ``-log(outputs)`` at ``target`` (outputs are taken as probabilities).
        lower_bound: lowest value an adversarial input may take (default ``-inf``).
        upper_bound: highest value an adversarial input may take (default ``inf``).

    Attributes ``bound`` (the clamp) and ``zero_thresh`` may be replaced, as in Captum.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
        >>> x = torch.randn(2, 4)
        >>> FGSM(model, lower_bound=-1, upper_bound=1).perturb(x, 0.1, target=0).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        forward_func: Callable,
        loss_func: Callable | None = None,
        lower_bound: float = float("-inf"),
        upper_bound: float = float("inf"),
    ) -> None:
        if not callable(forward_func):
            raise TypeError(
                f"forward_func is {type(forward_func).__name__}; expected a model or a callable"
            )
        if loss_func is not None and not callable(loss_func):
            raise TypeError(f"loss_func is {type(loss_func).__name__}; expected a callable")
        lower, upper = (
            check_number(lower_bound, "lower_bound"),
            check_number(upper_bound, "upper_bound"),
        )
        if lower > upper:
            raise ValueError(
                f"lower_bound is {lower} and upper_bound {upper}; expected lower <= upper"
            )
        self.forward_func = forward_func
        self.loss_func = loss_func
        self.bound: Callable[[Tensor], Tensor] = clamp_to(lower, upper)
        self.zero_thresh = ZERO_THRESHOLD

    def perturb(
        self,
        inputs: TensorOrTuple,
        epsilon: float,
        target: Any,
        additional_forward_args: Any = None,
        targeted: bool = False,
        mask: TensorOrTuple | None = None,
    ) -> TensorOrTuple:
        """One signed-gradient step of size ``epsilon`` on every input.

        Args:
            inputs: tensor or tuple of tensors sharing the batch dimension; floating point.
            epsilon: step size.
            target: true labels (untargeted) or the class to reach (``targeted=True``), in the
                form ``loss_func`` takes; with the default loss, Captum's target forms (int,
                tuple, list, tensor).
            additional_forward_args: passed to the model after the inputs. Default None.
            targeted: step towards ``target`` instead of away from it. Default False.
            mask: 0/1 tensors (one per input, broadcastable to it): only elements with 1 move.
                Default None (all move).

        Returns the perturbed inputs in the form ``inputs`` came in.
        """
        sweep = self.epsilon_sweep(inputs, target, additional_forward_args, targeted, mask)
        return sweep(epsilon)

    def epsilon_sweep(
        self,
        inputs: TensorOrTuple,
        target: Any,
        additional_forward_args: Any = None,
        targeted: bool = False,
        mask: TensorOrTuple | None = None,
    ) -> Callable[[float], TensorOrTuple]:
        """``epsilon -> perturb(inputs, epsilon, ...)`` with the gradient computed once, on the
        first call: a search over ``epsilon`` costs one forward and one backward in all."""
        was_tuple = is_tuple(inputs)
        formatted = format_inputs(inputs)
        require_floating(formatted, "FGSM")
        masks = format_masks(mask, formatted)
        args = format_additional_args(additional_forward_args)
        grads: list[tuple[Tensor, ...]] = []

        def at(epsilon: float) -> TensorOrTuple:
            step = check_number(epsilon, "epsilon")
            if not grads:
                with preserve_model_state(self.forward_func):
                    grads.append(self.loss_gradients(formatted, target, args))
            perturbed = self.step(formatted, grads[0], -step if targeted else step, masks)
            return format_output(was_tuple, perturbed)

        return at

    def loss_gradients(
        self, inputs: tuple[Tensor, ...], target: Any, args: tuple | None
    ) -> tuple[Tensor, ...]:
        """``∇ₓ Σ_batch L(F(x), target)`` for formatted ``inputs``: one forward, one backward."""
        if self.loss_func is None:
            validate_target(target, inputs[0].shape[0])
        with torch.enable_grad():
            leaves = as_leaves(inputs)
            outputs = self.forward_func(*leaves, *(args or ()))
            if self.loss_func is not None:
                loss = self.loss_func(outputs, target)
            else:
                loss = select_target(-torch.log(outputs), target)
            check_scalar_per_example(loss, target is not None)
            return grad_of_outputs(loss, leaves)

    def step(
        self,
        inputs: tuple[Tensor, ...],
        grads: tuple[Tensor, ...],
        signed_epsilon: float,
        masks: tuple[Tensor | int, ...],
    ) -> tuple[Tensor, ...]:
        """``bound(x + signed_epsilon · sign(g) · mask)`` where ``|g| > zero_thresh``, else x."""
        return tuple(
            self.bound(
                torch.where(
                    grad.abs() > self.zero_thresh,
                    tensor + _masked(signed_epsilon * torch.sign(grad), mask),
                    tensor,
                )
            )
            for tensor, grad, mask in zip(inputs, grads, masks)
        )


def _masked(step: Tensor, mask: Tensor | int) -> Tensor:
    return step if isinstance(mask, int) and mask == 1 else step * mask
