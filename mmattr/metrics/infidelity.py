"""Infidelity (Yeh et al., 2019): how well attributions predict the output change under
input perturbations; equal to Captum 0.9's ``infidelity`` given the same perturbations.

``INFD(Φ, f, x) = E_I[(Iᵀ Φ(f, x) − (f(x) − f(x − I)))²]``, estimated over
``n_perturb_samples`` draws of ``perturb_func``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from mmattr.metrics._common import (
    MaxExamples,
    TargetType,
    check_attributions,
    check_max_examples,
    document,
    expand_additional_args,
    expand_target,
    format_additional_args,
    format_baselines,
    format_inputs,
    progress_bar,
    rows_per_chunk,
    run_forward,
    validate_target,
)
from mmattr.metrics._perturbed import perturbation_difference, samples_per_chunk

__all__ = ["infidelity", "infidelity_perturb_func_decorator"]


def infidelity_perturb_func_decorator(multiply_by_inputs: bool = True) -> Callable:
    """Decorate a ``perturb_func`` that returns only perturbed inputs so that it also returns
    the perturbations ``I = (x − x̃) / (x − baseline)`` (``multiply_by_inputs``, 0/0 read as
    ``/1``) or ``I = x − x̃``, as :func:`infidelity` expects.

    Args:
        multiply_by_inputs: True for global attributions (integrated gradients, ...), False
            for local ones (saliency, ...). Default True.
    """

    def decorate(perturb_func: Callable) -> Callable:
        def perturbations_and_inputs(inputs: Any, baselines: Any = None):
            perturbed = (
                perturb_func(inputs, baselines) if baselines is not None else perturb_func(inputs)
            )
            perturbed = format_inputs(perturbed, "the perturbed inputs")
            formatted = format_inputs(inputs)
            bases = format_baselines(baselines, formatted) if baselines is not None else None
            perturbations = tuple(
                perturbation_difference(x, x_tilde, base, multiply_by_inputs)
                for x, x_tilde, base in zip(formatted, perturbed, bases or (None,) * len(perturbed))
            )
            return perturbations, perturbed

        return perturbations_and_inputs

    return decorate


@document
def infidelity(
    forward_func: Callable[..., Tensor],
    perturb_func: Callable,
    inputs: Any,
    attributions: Any,
    baselines: Any = None,
    additional_forward_args: Any = None,
    target: TargetType = None,
    n_perturb_samples: int = 10,
    max_examples_per_batch: MaxExamples = None,
    normalize: bool = False,
    show_progress: bool = False,
) -> Tensor:
    """Infidelity of ``attributions`` per example, Captum's signature and numbers.

    Each example is repeated ``n_perturb_samples`` times (``repeat_interleave``) and handed to
    ``perturb_func(inputs[, baselines])``, which returns ``(perturbations, perturbed_inputs)``
    (or, decorated with :func:`infidelity_perturb_func_decorator`, the perturbed inputs only).
    With ``normalize`` the attributions are first scaled by the ``β`` that minimises the error.

    Args:
        perturb_func: as above; it receives tuples when ``inputs`` is a tuple.
        attributions: of the inputs' shapes.
        baselines: passed to ``perturb_func``; default None.
        n_perturb_samples: perturbations per example. Default 10.
        max_examples_per_batch: rows per model call (``max // batch`` perturbations of the
            whole batch, as Captum), None (all at once) or ``"auto"`` (a memory budget).
        normalize: scale the attributions by the optimal ``β`` first. Default False.
        show_progress: a tqdm bar over perturbations. Default False.

    Returns:
        (batch,) infidelity per example.

    Example:
        >>> import torch
        >>> import mmattr
        >>> model = torch.nn.Linear(3, 1)
        >>> x = torch.randn(2, 3)
        >>> ig = mmattr.IntegratedGradients(model).attribute(x, target=0)
        >>> noise = lambda x: (torch.ones_like(x), x - torch.ones_like(x))
        >>> infidelity(model, noise, x, ig, target=0).shape
        torch.Size([2])
    """
    formatted = format_inputs(inputs)
    attributions_formatted = check_attributions(attributions, formatted)
    bases = format_baselines(baselines, formatted) if baselines is not None else None
    args = format_additional_args(additional_forward_args)
    batch = formatted[0].shape[0]
    validate_target(target, batch)
    _check_samples(n_perturb_samples)
    check_max_examples(max_examples_per_batch)
    with torch.no_grad():
        original = run_forward(forward_func, formatted, target, args)
        per_chunk = _chunk_size(max_examples_per_batch, formatted, batch, n_perturb_samples)
        sums = _accumulate(
            forward_func,
            perturb_func,
            formatted,
            bases,
            attributions_formatted,
            original,
            target,
            args,
            n_perturb_samples,
            per_chunk,
            normalize,
            show_progress,
        )
    if normalize:
        beta = sums[1] / torch.where(sums[0] != 0, sums[0], torch.ones_like(sums[0]))
        values = beta * beta * sums[0] - 2 * beta * sums[1] + sums[2]
    else:
        values = sums[0]
    return values / n_perturb_samples


def _check_samples(n_perturb_samples: Any) -> None:
    if (
        isinstance(n_perturb_samples, bool)
        or not isinstance(n_perturb_samples, int)
        or (n_perturb_samples < 1)
    ):
        raise ValueError(f"n_perturb_samples={n_perturb_samples!r}; expected a positive int")


def _chunk_size(value: MaxExamples, inputs: tuple[Tensor, ...], batch: int, n: int) -> int:
    """Perturbations of the whole batch per call, as Captum chunks (for the same draws)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return samples_per_chunk(value, batch, n)
    bytes_per_row = 4 * sum(t[:1].numel() * t.element_size() for t in inputs)
    rows = rows_per_chunk(value, inputs, batch * n, bytes_per_row)
    return max(1, min(n, rows // batch))


def _accumulate(
    forward_func,
    perturb_func,
    inputs,
    bases,
    attributions,
    original,
    target,
    args,
    n_perturb_samples,
    per_chunk,
    normalize,
    show_progress,
) -> tuple[Tensor, ...]:
    batch, done, sums = inputs[0].shape[0], 0, None
    with progress_bar(n_perturb_samples, show_progress, "infidelity") as bar:
        while done < n_perturb_samples:
            count = min(per_chunk, n_perturb_samples - done)
            perturbations, perturbed = _draw(perturb_func, inputs, bases, count)
            output = run_forward(
                forward_func,
                perturbed,
                expand_target(target, count, interleave=True),
                expand_additional_args(args, count, interleave=True),
            )
            difference = (original.repeat_interleave(count, dim=0) - output).view(batch, -1)
            explained = sum(
                (a.repeat_interleave(count, dim=0) * p).view(batch * count, -1).sum(1)
                for a, p in zip(attributions, perturbations)
            ).view(batch, -1)
            terms = (
                (
                    explained.pow(2).sum(-1),
                    (explained * difference).sum(-1),
                    difference.pow(2).sum(-1),
                )
                if normalize
                else ((explained - difference).pow(2).sum(-1),)
            )
            sums = terms if sums is None else tuple(s + t for s, t in zip(sums, terms))
            done += count
            bar.update(count)
    return sums


def _draw(perturb_func, inputs, bases, count) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """``perturb_func`` on ``count`` interleaved copies of the batch; checked shapes."""
    expanded = tuple(x.repeat_interleave(count, dim=0) for x in inputs)
    expanded_bases = None
    if bases is not None:
        expanded_bases = tuple(
            b.repeat_interleave(count, dim=0)
            if isinstance(b, Tensor) and b.shape[0] == x.shape[0] and b.shape[0] > 1
            else b
            for x, b in zip(inputs, bases)
        )
    single = len(expanded) == 1
    call_inputs = expanded[0] if single else expanded
    call_bases = (
        None if expanded_bases is None else (expanded_bases[0] if single else expanded_bases)
    )
    result = (
        perturb_func(call_inputs, call_bases)
        if call_bases is not None
        else perturb_func(call_inputs)
    )
    if not isinstance(result, tuple) or len(result) != 2:
        raise ValueError(
            "perturb_func returned "
            f"{type(result).__name__}; expected (perturbations, perturbed_inputs), or decorate "
            "it with infidelity_perturb_func_decorator to return the perturbed inputs only"
        )
    perturbations = format_inputs(result[0], "perturbations")
    perturbed = format_inputs(result[1], "perturbed inputs")
    if len(perturbations) != len(inputs) or len(perturbed) != len(inputs):
        raise ValueError(
            f"perturb_func returned {len(perturbations)} perturbations and {len(perturbed)} "
            f"perturbed inputs; expected {len(inputs)} of each, one per input"
        )
    for index, (p, x_tilde) in enumerate(zip(perturbations, perturbed)):
        if p[0].shape != x_tilde[0].shape:
            raise ValueError(
                f"perturbations[{index}] has per-example shape {tuple(p[0].shape)}; expected "
                f"{tuple(x_tilde[0].shape)}, that of the perturbed input"
            )
    return perturbations, perturbed
