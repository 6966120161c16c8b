"""NoiseTunnel: SmoothGrad, SmoothGrad², VarGrad (Smilkov et al., 2017; Adebayo et al., 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._base import Attribution
from .._inputs import (
    TensorOrTuple,
    as_tuple,
    check_count,
    expand_attribute_kwargs,
    format_baselines,
    format_inputs,
    is_tuple,
    repeat_per_example,
)
from .._targets import validate_target
from ..errors import InputTypeError, InputValueError
from ..registry import register

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


@register("gradient", wraps=True)
class NoiseTunnel(Attribution):
    r"""Averages another method over noisy copies of the input, ``x + ε, ε ~ N(0, σ²)``:
    smoothgrad ``E[A]``, smoothgrad_sq ``E[A²]``, vargrad ``E[A²] − E[A]²``.

    Args:
        attribution_method: an attribution instance, e.g. ``Saliency(model)``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> from mmattr import Saliency
        >>> nt = NoiseTunnel(Saliency(model))
        >>> nt.attribute(torch.randn(2, 4), nt_samples=8, stdevs=0.1, target=0).shape
        torch.Size([2, 4])
    """

    def __init__(self, attribution_method: Attribution) -> None:
        if not hasattr(attribution_method, "attribute"):
            raise InputTypeError(
                f"attribution_method is {type(attribution_method).__name__}; expected an "
                "attribution instance such as Saliency(model)"
            )
        super().__init__(attribution_method.forward_func)
        self.attribution_method = attribution_method
        self.is_delta_supported = bool(attribution_method.has_convergence_delta())
        self._multiply_by_inputs = attribution_method.multiplies_by_inputs
        # a method from elsewhere (e.g. Captum's) may not declare it: gradients by default
        self.needs_gradients = getattr(attribution_method, "needs_gradients", True)

    def has_convergence_delta(self) -> bool:
        """The wrapped method's: the tunnel returns its deltas when asked."""
        return self.is_delta_supported

    def attribute(
        self,
        inputs: TensorOrTuple,
        nt_type: str = "smoothgrad",
        nt_samples: int = 5,
        nt_samples_batch_size: int | None = None,
        stdevs: float | tuple[float, ...] = 1.0,
        draw_baseline_from_distrib: bool = False,
        **kwargs: Any,
    ) -> TensorOrTuple | tuple[TensorOrTuple, Tensor]:
        """Smoothed attributions, the shape of ``inputs``; ``kwargs`` go to the wrapped method
        (target, baselines, additional_forward_args, ...). Noise is drawn in Captum's order, so
        a seeded run gives Captum's numbers.

        Args:
            inputs: inputs passed to the wrapped method, each ``(batch, ...)``.
            nt_type: how the noisy attributions are combined: ``"smoothgrad"``,
                ``"smoothgrad_sq"`` or ``"vargrad"`` (default ``"smoothgrad"``).
            nt_samples: number of noisy samples per example (default ``5``).
            nt_samples_batch_size: run this many noisy samples per call of the wrapped
                method (``None``: all at once; default ``None``).
            stdevs: standard deviation of the Gaussian noise added to each input (a
                float or one per input; default ``1.0``).
            draw_baseline_from_distrib: draw one baseline per noisy sample from
                ``baselines`` instead of passing them all (default ``False``).
            **kwargs: arguments of the wrapped method's ``attribute`` (``target``,
                ``baselines``, ...).
        """
        if nt_type not in NT_TYPES:
            raise InputValueError(f"nt_type={nt_type!r}; expected one of {', '.join(NT_TYPES)}")
        if isinstance(nt_samples, bool) or not isinstance(nt_samples, int) or nt_samples < 1:
            raise InputValueError(f"nt_samples={nt_samples!r}; expected a positive int")
        was_tuple = is_tuple(inputs)
        formatted = format_inputs(inputs)
        stdevs = _format_stdevs(stdevs, len(formatted))
        _check_at_user_sizes(
            kwargs, formatted, stdevs, nt_samples_batch_size, draw_baseline_from_distrib
        )
        chunk = (
            nt_samples if nt_samples_batch_size is None else min(nt_samples, nt_samples_batch_size)
        )
        want_delta = bool(kwargs.get("return_convergence_delta")) and self.is_delta_supported
        sums, squares, deltas = None, None, []
        sizes = [chunk] * (nt_samples // chunk) + (
            [nt_samples % chunk] if nt_samples % chunk else []
        )
        for size in sizes:
            call_kwargs = _expand_kwargs(kwargs, formatted, size, draw_baseline_from_distrib)
            noisy = tuple(_add_noise(x, s, size) for x, s in zip(formatted, stdevs))
            result = self.attribution_method.attribute(
                noisy if was_tuple else noisy[0], **call_kwargs
            )
            if want_delta:
                result, delta = result
                deltas.append(delta)
            result_kind = type(result) if isinstance(result, (tuple, list)) else None
            sums, squares = _accumulate(tuple(as_tuple(result)), size, sums, squares)
        mean = tuple(s / nt_samples for s in sums)
        mean_sq = tuple(s / nt_samples for s in squares)
        smoothed = {
            "smoothgrad": mean,
            "smoothgrad_sq": mean_sq,
            "vargrad": tuple(q - m * m for m, q in zip(mean, mean_sq)),
        }[nt_type]
        # shaped like the wrapped method's result (Captum): a layer method may return a tensor
        # for tuple inputs, or a list of layers
        output = smoothed[0] if result_kind is None else result_kind(smoothed)
        return (output, torch.cat(deltas)) if want_delta else output


def _format_stdevs(stdevs: Any, n_inputs: int) -> tuple[float, ...]:
    if isinstance(stdevs, tuple):
        if len(stdevs) != n_inputs:
            raise InputValueError(
                f"stdevs has {len(stdevs)} entries; expected {n_inputs}, one per input"
            )
        return stdevs
    if isinstance(stdevs, bool) or not isinstance(stdevs, (int, float)):
        raise InputTypeError(
            f"stdevs is {type(stdevs).__name__}; expected a float or a tuple of floats"
        )
    return (float(stdevs),) * n_inputs


def _check_at_user_sizes(
    kwargs: dict,
    inputs: tuple[Tensor, ...],
    stdevs: tuple[float, ...],
    nt_samples_batch_size: int | None,
    from_distribution: bool,
) -> None:
    """Target and baselines checked against the user's batch before the noisy copies
    multiply it (an error then would quote the expanded sizes); counts as given."""
    if nt_samples_batch_size is not None:
        check_count(nt_samples_batch_size, "nt_samples_batch_size")
    bad = [s for s in stdevs if isinstance(s, bool) or not isinstance(s, (int, float)) or s < 0]
    if bad:
        raise ValueError(f"stdevs contains {bad[0]!r}; expected standard deviations >= 0")
    validate_target(kwargs.get("target"), inputs[0].shape[0])
    baselines = kwargs.get("baselines")
    if baselines is not None and not from_distribution and not callable(baselines):
        format_baselines(baselines, inputs)


def _add_noise(x: Tensor, stdev: float, n_samples: int) -> Tensor:
    """``n_samples`` noisy copies per example, interleaved: rows ``[x0+ε, x0+ε', ..., x1+ε]``."""
    shape = (x.shape[0] * n_samples,) + tuple(x.shape[1:])
    noise = torch.normal(0, torch.tensor(stdev, device=x.device).repeat(shape))
    return x.repeat_interleave(n_samples, dim=0) + noise


def _expand_kwargs(kwargs: dict, inputs: tuple[Tensor, ...], n: int, from_distribution: bool):
    """Per-example arguments repeated for the ``n`` noisy copies of each example."""
    expanded = expand_attribute_kwargs(kwargs, inputs, n)
    if "baselines" in kwargs:
        expanded["baselines"] = _expand_baselines(kwargs["baselines"], inputs, n, from_distribution)
    return expanded


def _expand_baselines(baselines: Any, inputs: tuple[Tensor, ...], n: int, from_distribution: bool):
    if not from_distribution:
        return repeat_per_example(baselines, inputs, n)
    formatted = baselines if isinstance(baselines, tuple) else (baselines,)
    draws = n * inputs[0].shape[0]
    result = tuple(
        b[np.random.choice(b.shape[0], draws).tolist()] if isinstance(b, Tensor) else b
        for b in formatted
    )
    return result if isinstance(baselines, tuple) else result[0]


def _accumulate(attributions: tuple[Tensor, ...], n: int, sums, squares):
    """Add the per-example sum and sum of squares over the ``n`` interleaved noisy copies."""
    grouped = [a.detach().view((a.shape[0] // n, n) + tuple(a.shape[1:])) for a in attributions]
    new_sums = tuple(g.sum(dim=1) for g in grouped)
    new_squares = tuple((g * g).sum(dim=1) for g in grouped)
    if sums is None:
        return new_sums, new_squares
    return (
        tuple(s + t for s, t in zip(sums, new_sums)),
        tuple(s + t for s, t in zip(squares, new_squares)),
    )
