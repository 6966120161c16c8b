"""Max-sensitivity (Yeh et al., 2019): the largest change of an explanation under small input
perturbations; equal to Captum 0.9's ``sensitivity_max`` given the same perturbations.

``SENS_max(Φ, x) = max_{‖x̃ − x‖ ≤ r} ‖Φ(x̃) − Φ(x)‖ / ‖Φ(x)‖`` over ``n_perturb_samples`` draws.
"""

from __future__ import annotations

from inspect import signature
from typing import Any, Callable

import torch
from torch import Tensor

from mmattr.metrics._common import (
    MaxExamples,
    check_max_examples,
    expand_attribute_kwargs,
    format_inputs,
    progress_bar,
    repeat_per_example,
)
from mmattr.metrics._perturbed import samples_per_chunk
from mmattr.metrics.infidelity import _check_samples

__all__ = ["default_perturb_func", "sensitivity_max"]


def default_perturb_func(inputs: Any, perturb_radius: float = 0.02) -> tuple[Tensor, ...]:
    """Each input plus uniform noise in ``[-perturb_radius, perturb_radius]`` (Captum's
    default; draws from the global torch generator in the same order)."""
    return tuple(
        x + torch.FloatTensor(x.size()).uniform_(-perturb_radius, perturb_radius).to(x.device)
        for x in format_inputs(inputs)
    )


def sensitivity_max(
    explanation_func: Callable[..., Any],
    inputs: Any,
    perturb_func: Callable[..., Any] = default_perturb_func,
    perturb_radius: float = 0.02,
    n_perturb_samples: int = 10,
    norm_ord: str = "fro",
    max_examples_per_batch: MaxExamples = None,
    show_progress: bool = False,
    **kwargs: Any,
) -> Tensor:
    """Max-sensitivity of ``explanation_func`` per example, Captum's signature and numbers.

    Args:
        explanation_func: e.g. ``IntegratedGradients(model).attribute``; called with the
            inputs and ``**kwargs`` (``target``, ``baselines``, ``additional_forward_args``
            and ``n_steps``...; tensors with one row per example are repeated with the rows).
        inputs: tensor or tuple of tensors, batch first.
        perturb_func: ``perturb_func(inputs[, perturb_radius])`` -> perturbed inputs.
            Default :func:`default_perturb_func`.
        perturb_radius: passed to a two-argument ``perturb_func``. Default 0.02.
        n_perturb_samples: perturbations per example. Default 10.
        norm_ord: ``torch.norm``'s ``p`` for the explanation change. Default "fro".
        max_examples_per_batch: rows per explanation call (``max // batch`` perturbations of
            the batch, as Captum), None or ``"auto"`` (all perturbations in one call: the
            explanation method chunks its own work, e.g. ``internal_batch_size="auto"``).
        show_progress: a tqdm bar over perturbations (not passed to the explanation).
        **kwargs: passed to ``explanation_func`` (``target``, ``baselines``, ...).

    Returns:
        (batch,) the largest relative change of the explanation per example.

    Example:
        >>> import torch
        >>> import mmattr
        >>> model = torch.nn.Linear(3, 2)
        >>> saliency = mmattr.Saliency(model)
        >>> sensitivity_max(saliency.attribute, torch.randn(4, 3), target=1)
        tensor([0., 0., 0., 0.])
    """
    formatted = format_inputs(inputs)
    _check_samples(n_perturb_samples)
    check_max_examples(max_examples_per_batch)
    batch = formatted[0].shape[0]
    if isinstance(max_examples_per_batch, int):
        per_chunk = samples_per_chunk(max_examples_per_batch, batch, n_perturb_samples)
    else:
        per_chunk = n_perturb_samples
    takes_radius = len(signature(perturb_func).parameters) > 1
    with torch.no_grad():
        explained = format_inputs(explanation_func(formatted, **kwargs), "the explanation")
        norms = _flat(explained).norm(p=norm_ord, dim=1, keepdim=True)
        norms = torch.where(norms == 0.0, torch.ones_like(norms), norms)
        done, best = 0, None
        with progress_bar(n_perturb_samples, show_progress, "sensitivity_max") as bar:
            while done < n_perturb_samples:
                count = min(per_chunk, n_perturb_samples - done)
                expanded = tuple(x.repeat_interleave(count, dim=0) for x in formatted)
                call_inputs = expanded[0] if len(expanded) == 1 else expanded
                perturbed = (
                    perturb_func(call_inputs, perturb_radius)
                    if takes_radius
                    else perturb_func(call_inputs)
                )
                changed = format_inputs(
                    explanation_func(perturbed, **_expanded_kwargs(kwargs, formatted, count)),
                    "the explanation of the perturbed inputs",
                )
                change = _flat(tuple(e.repeat_interleave(count, dim=0) for e in explained))
                change = (change - _flat(changed)).norm(p=norm_ord, dim=1, keepdim=True)
                ratio = (change / norms.repeat_interleave(count, dim=0)).view(batch, -1)
                chunk_max = ratio.max(dim=1).values
                best = chunk_max if best is None else torch.max(best, chunk_max)
                done += count
                bar.update(count)
    return best


def _flat(tensors: tuple[Tensor, ...]) -> Tensor:
    return torch.cat([t.reshape(t.shape[0], -1) for t in tensors], dim=1)


def _expanded_kwargs(kwargs: dict[str, Any], inputs: tuple[Tensor, ...], count: int) -> dict:
    """The keyword arguments repeated with the rows (interleaved, as the inputs are);
    baselines when they have a row per example (a distribution stays as given)."""
    expanded = expand_attribute_kwargs(kwargs, inputs, count)
    if "baselines" in kwargs:
        bases = kwargs["baselines"]
        first = bases[0] if isinstance(bases, tuple) else bases
        if isinstance(first, Tensor) and first.shape == inputs[0].shape:
            expanded["baselines"] = repeat_per_example(bases, inputs, count)
    return expanded
