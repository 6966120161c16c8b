"""DeepLift with the rescale rule (Shrikumar et al., 2017) and DeepLiftShap."""

from __future__ import annotations

import inspect
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor

from .._backward_rules import deeplift_rules
from .._base import Attribution
from .._gradients import as_leaves, check_batch_kept, check_scalar_per_example, grad_of_outputs
from .._inputs import (
    BaselinesType,
    TensorOrTuple,
    call_baselines,
    expand_additional_args,
    format_additional_args,
    format_call,
    format_inputs,
    format_output,
    is_tuple,
    run_forward,
    tensorize_baselines,
)
from .._targets import TargetType, expand_target, validate_target
from ..errors import InputValueError
from ..registry import register


@register("gradient", convergence_delta=True)
class DeepLift(Attribution):
    r"""DeepLift (rescale rule): ``DL_i = (x_i − b_i) · m_i`` where the multipliers ``m`` are
    the chain rule with each nonlinearity's derivative replaced by ``Δout / Δin`` (inputs vs
    baselines); ``Σ_i DL_i = F(x) − F(b)`` (summation-to-delta).

    The rule applies to every call of ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus, Softmax and
    MaxPool1d/2d/3d (Captum's supported set), whether made by a module, a reused module, an
    in-place module or a functional call (``F.relu``): each call site gets its own multipliers.

    Args:
        model: the model (any callable whose nonlinearities are torch calls).
        eps: ``|Δin|`` below which the plain gradient is used (default 1e-10).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> attributions = DeepLift(model).attribute(torch.randn(2, 4), target=0)
        >>> attributions.shape
        torch.Size([2, 4])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def __init__(self, model: Callable, multiply_by_inputs: bool = True, eps: float = 1e-10):
        super().__init__(model)
        self.model = model
        self._multiply_by_inputs = multiply_by_inputs
        self.eps = eps

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        custom_attribution_func: Callable[..., tuple[Tensor, ...]] | None = None,
    ) -> TensorOrTuple | tuple[TensorOrTuple, Tensor]:
        """DeepLift attributions, the shape of ``inputs``."""
        was_tuple, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, gradient_of=type(self).__name__
        )
        full_baselines = tensorize_baselines(formatted_baselines, formatted)
        with self._model_guard():
            multipliers = self._multipliers(formatted, full_baselines, target, args)
            attributions = self._combine(
                multipliers, formatted, full_baselines, custom_attribution_func
            )
            if not return_convergence_delta:
                return format_output(was_tuple, attributions)
            delta = self.compute_convergence_delta(
                attributions, full_baselines, formatted, target, args
            )
        return format_output(was_tuple, attributions), delta

    def _multipliers(self, inputs, baselines, target, args) -> tuple[Tensor, ...]:
        """Gradients under the rescale rule, from one forward on ``[inputs; baselines]``."""
        with torch.enable_grad():
            leaves = as_leaves(inputs)
            stacked = tuple(torch.cat([x, b]) for x, b in zip(leaves, baselines))
            with deeplift_rules(self.eps):
                output = run_forward(
                    self.forward_func,
                    stacked,
                    expand_target(target, 2),
                    expand_additional_args(args, 2),
                )
            check_scalar_per_example(output, target is not None)
            check_batch_kept(output, stacked[0].shape[0])
            return grad_of_outputs(output, leaves)

    def _combine(self, multipliers, inputs, baselines, custom_attribution_func):
        if custom_attribution_func is not None:
            return call_custom_attribution_func(
                custom_attribution_func, multipliers, inputs, baselines
            )
        if not self.multiplies_by_inputs:
            return multipliers
        return tuple((x - b) * m for x, b, m in zip(inputs, baselines, multipliers))


def call_custom_attribution_func(func: Callable, multipliers, inputs, baselines):
    """Captum's convention: the function takes 1, 2 or 3 of (multipliers, inputs, baselines)."""
    n_params = len(inspect.signature(func).parameters)
    if n_params not in (1, 2, 3):
        raise InputValueError(
            f"custom_attribution_func takes {n_params} parameters; expected 1 (multipliers), "
            "2 (multipliers, inputs) or 3 (multipliers, inputs, baselines)"
        )
    return tuple(func(*(multipliers, inputs, baselines)[:n_params]))


@register("gradient", convergence_delta=True)
class DeepLiftShap(DeepLift):
    r"""DeepLiftShap: DeepLift averaged over a distribution of baselines,
    ``φ_i = E_b[(x_i − b_i) · m_i(x, b)]``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> background = torch.randn(8, 4)
        >>> DeepLiftShap(model).attribute(torch.randn(2, 4), background, target=0).shape
        torch.Size([2, 4])
    """

    def __init__(self, model: Callable, multiply_by_inputs: bool = True) -> None:
        super().__init__(model, multiply_by_inputs=multiply_by_inputs)

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: TensorOrTuple | Callable[..., TensorOrTuple],
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        custom_attribution_func: Callable[..., tuple[Tensor, ...]] | None = None,
    ) -> TensorOrTuple | tuple[TensorOrTuple, Tensor]:
        """Attributions averaged over the ``baselines`` examples (at least two); the delta has
        one entry per (input, baseline) pair, shape (batch × n_baselines,).

        Args:
            baselines: distribution of baselines, each ``(n_baselines, ...)`` with
                ``n_baselines > 1``; attributions are averaged over them.
        """
        pairs, n_baselines = baseline_pairs(inputs, baselines, target, additional_forward_args)
        expanded = DeepLift.attribute(
            self, *pairs, return_convergence_delta, custom_attribution_func
        )
        attributions, delta = expanded if return_convergence_delta else (expanded, None)
        averaged = tuple(mean_over_baselines(a, n_baselines) for a in attributions)
        result = format_output(is_tuple(inputs), averaged)
        return (result, delta) if return_convergence_delta else result


def baseline_pairs(
    inputs: TensorOrTuple, baselines: Any, target: TargetType, additional_forward_args: Any
) -> tuple[tuple[Any, ...], int]:
    """Every (input, baseline example) pair as one row, for the SHAP variants: returns
    ``(inputs, baselines, target, additional_forward_args)`` over the n·m pairs (input-major),
    and m, the number of baseline examples."""
    formatted = format_inputs(inputs)
    distribution = format_baseline_distribution(baselines, formatted)
    n_inputs, n_baselines = formatted[0].shape[0], distribution[0].shape[0]
    validate_target(target, n_inputs)
    args = format_additional_args(additional_forward_args)
    pairs = (
        tuple(x.repeat_interleave(n_baselines, dim=0) for x in formatted),
        tuple(b.repeat((n_inputs,) + (1,) * (b.dim() - 1)) for b in distribution),
        expand_target(target, n_baselines, interleave=True),
        expand_additional_args(args, n_baselines, interleave=True),
    )
    return pairs, n_baselines


def mean_over_baselines(attribution: Tensor, n_baselines: int) -> Tensor:
    """(n·m, ...) pair rows -> (n, ...): the mean over each input's m baseline examples."""
    return attribution.view((-1, n_baselines) + tuple(attribution.shape[1:])).mean(dim=1)


def format_baseline_distribution(baselines: Any, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """Baselines as a sample of at least two examples (a callable is called with the inputs)."""
    baselines = call_baselines(baselines, inputs if len(inputs) > 1 else inputs[0])
    formatted = baselines if isinstance(baselines, tuple) else (baselines,)
    if len(formatted) != len(inputs):
        raise InputValueError(f"baselines has {len(formatted)} entries; expected {len(inputs)}")
    for index, (baseline, x) in enumerate(zip(formatted, inputs)):
        if not isinstance(baseline, Tensor) or baseline.dim() == 0 or baseline.shape[0] < 2:
            got = tuple(baseline.shape) if isinstance(baseline, Tensor) else type(baseline).__name__
            raise InputValueError(
                f"baselines[{index}] is {got}; expected a tensor of at least 2 baseline examples "
                f"of shape (n, {', '.join(map(str, x.shape[1:]))}). For one baseline use DeepLift"
            )
        if baseline.shape[1:] != x.shape[1:]:
            raise InputValueError(
                f"baselines[{index}] has shape {tuple(baseline.shape)}; expected "
                f"(n, {', '.join(map(str, x.shape[1:]))}) to match inputs[{index}]"
            )
    return tuple(b.to(x.dtype) for b, x in zip(formatted, inputs))
