"""Path-integral machinery shared by integrated gradients, conductance and internal influence:
quadrature rules and interpolation between a baseline and an input.

``∫₀¹ g(b + α(x − b)) dα ≈ Σ_k w_k g(b + α_k (x − b))``
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from ._batching import BatchSize, chunk_bounds, resolve_batch_size
from ._inputs import Baseline, expand_additional_args
from ._targets import expand_target
from .errors import InputTypeError, InputValueError

RIEMANN_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
METHODS = RIEMANN_METHODS + ("gausslegendre",)


def quadrature(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """``(step_sizes, alphas)`` of a rule, the same numbers Captum uses."""
    if method not in METHODS:
        raise InputValueError(f"method={method!r}; expected one of {', '.join(METHODS)}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int):
        raise InputTypeError(f"n_steps is {type(n_steps).__name__}; expected an int")
    minimum = 1 if method == "gausslegendre" else 2
    if n_steps < minimum:
        raise InputValueError(f"n_steps={n_steps}; {method} needs at least {minimum} steps")
    if method == "gausslegendre":
        points, weights = np.polynomial.legendre.leggauss(n_steps)
        return (0.5 * weights).tolist(), (0.5 * (1 + points)).tolist()
    step_sizes = [1 / n_steps] * n_steps
    if method == "riemann_trapezoid":
        step_sizes[0] /= 2
        step_sizes[-1] /= 2
        alphas = torch.linspace(0, 1, n_steps)
    elif method == "riemann_left":
        alphas = torch.linspace(0, 1 - 1 / n_steps, n_steps)
    elif method == "riemann_middle":
        alphas = torch.linspace(1 / (2 * n_steps), 1 - 1 / (2 * n_steps), n_steps)
    else:
        alphas = torch.linspace(1 / n_steps, 1, n_steps)
    return step_sizes, alphas.tolist()


def step_chunks(n_steps: int, rows_per_step: int, rows_per_chunk: int) -> Iterator[range]:
    """Ranges of step indices; each chunk holds at most ``rows_per_chunk`` rows (at least one
    step)."""
    steps = max(1, rows_per_chunk // max(rows_per_step, 1))
    for start, stop in chunk_bounds(n_steps, steps):
        yield range(start, stop)


def interpolate(inputs: Tensor, baseline: Baseline, alphas: list[float]) -> Tensor:
    """Rows ``b + α_k (x − b)`` stacked step-major: ``(len(alphas) * batch, ...)``."""
    difference = inputs - baseline
    return torch.cat([baseline + alpha * difference for alpha in alphas], dim=0)


def path_chunks(
    forward_func: Callable,
    inputs: tuple[Tensor, ...],
    baselines: tuple[Baseline, ...],
    target: Any,
    additional_forward_args: tuple | None,
    alphas: list[float],
    internal_batch_size: BatchSize,
) -> Iterator[tuple[range, tuple[Tensor, ...], Any, tuple | None]]:
    """The path ``b + α_k (x − b)`` in chunks of at most ``internal_batch_size`` rows:
    ``(steps, scaled inputs, target, additional_forward_args)``, the last two repeated per step.

    The one path loop of integrated gradients, neuron conductance and the layer pass.
    """
    batch = inputs[0].shape[0]
    rows = resolve_batch_size(
        internal_batch_size, forward_func, inputs, additional_forward_args, len(alphas) * batch
    )
    for steps in step_chunks(len(alphas), batch, rows):
        chunk_alphas = [alphas[k] for k in steps]
        scaled = tuple(interpolate(x, b, chunk_alphas) for x, b in zip(inputs, baselines))
        yield (
            steps,
            scaled,
            expand_target(target, len(steps)),
            expand_additional_args(additional_forward_args, len(steps)),
        )


def integrate_path(
    path: Iterator[tuple[range, tuple[Tensor, ...], Any, tuple | None]],
    inputs: tuple[Tensor, ...],
    step_sizes: list[float],
    integrand: Callable[[tuple[Tensor, ...], Any, tuple | None], tuple[Tensor, ...]],
) -> tuple[Tensor, ...]:
    """``Σ_k w_k g(b + α_k (x − b))`` for each input over the chunks of :func:`path_chunks`,
    with ``g = integrand(path rows, target, additional_forward_args)`` one tensor per input,
    shaped like the (step-major) rows it is given."""
    totals = [torch.zeros_like(x) for x in inputs]
    for steps, scaled, step_target, step_args in path:
        weights = [step_sizes[k] for k in steps]
        for total, value in zip(totals, integrand(scaled, step_target, step_args)):
            total += weighted_step_sum(value.detach(), weights)
    return tuple(totals)


def weighted_step_sum(values: Tensor, step_sizes: list[float]) -> Tensor:
    """``Σ_k w_k v_k`` for step-major rows ``(steps * batch, ...)`` -> ``(batch, ...)``."""
    n_steps = len(step_sizes)
    weights = torch.tensor(step_sizes, dtype=torch.float32, device=values.device)
    flat = values.contiguous().view(n_steps, -1) * weights.view(n_steps, 1)
    return flat.reshape((n_steps, values.shape[0] // n_steps) + values.shape[1:]).sum(0)
