"""Shared evaluation loop of the perturbation methods: coalitions, perturbed copies of the
inputs built with tensor operations, ``perturbations_per_eval`` (an int or ``"auto"``) and
chunked forward-only evaluation of many perturbations. Feature masks (the groups a coalition
switches) are formatted and counted in :mod:`mmattr.engine.perturbation._feature_masks`.

A *coalition* is a boolean row over the ``k`` feature groups: group ``j`` keeps its input
values where the row is True and takes the baseline elsewhere. Every perturbed batch is laid
out coalition-major: coalition 0's whole batch, then coalition 1's, and so on.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Protocol, Sequence, Union

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .._batching import chunk_bounds, memory_budget_bytes
from .._hooks import count_activation_bytes
from .._inputs import Baseline, expand_additional_args, run_forward
from .._targets import TargetType, expand_target
from ..errors import InputValueError

PerturbationsPerEval = Union[int, str]
#: Default ``perturbations_per_eval`` of every perturbation method (Captum's default is 1;
#: results are identical for any value, only the number of model calls changes).
DEFAULT_PERTURBATIONS_PER_EVAL: PerturbationsPerEval = "auto"


class CoalitionRows(Protocol):
    """``n`` coalitions produced on demand: ``len(rows)`` and ``rows[start:stop]`` -> bool
    ``(stop - start, k)``. A bool tensor is one; :class:`LeaveOneOut` avoids a ``(k, k)``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice) -> Tensor: ...


class LeaveOneOut:
    """Coalitions over ``k`` groups, one per group ``c`` of ``left_out`` (default ``0..k-1``):
    every group present except ``c`` (rows of ``¬I``)."""

    def __init__(
        self, k: int, device: torch.device | str = "cpu", left_out: Sequence[int] | None = None
    ) -> None:
        self.k, self.device = k, device
        self.left_out = torch.arange(k) if left_out is None else torch.tensor(left_out)

    def __len__(self) -> int:
        return len(self.left_out)

    def __getitem__(self, index: slice) -> Tensor:
        groups = torch.arange(self.k, device=self.device)
        return groups[None, :] != self.left_out[index].to(self.device)[:, None]


def empty_attributions(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """Captum's result for a batch of no examples: zeros of each input's (empty) shape."""
    return tuple(
        torch.zeros_like(t, dtype=t.dtype if t.is_floating_point() else torch.get_default_dtype())
        for t in inputs
    )


# ------------------------------------------------------------------------ perturbed inputs


def perturbed_inputs(
    inputs: tuple[Tensor, ...],
    baselines: tuple[Baseline, ...],
    masks: tuple[Tensor, ...],
    present: Tensor,
) -> tuple[Tensor, ...]:
    """``x̃[c] = where(present[c, mask], x, b)`` for each coalition row ``c`` of ``present``
    (bool ``(n, k)``); each result is ``(n * batch, ...)``, coalition-major."""
    n = present.shape[0]
    result = []
    for tensor, baseline, mask in zip(inputs, baselines, masks):
        keep = present.to(tensor.device)[:, mask]  # (n, mask rows, *mask.shape[1:])
        if isinstance(baseline, Tensor):
            baseline = baseline.to(tensor.device).unsqueeze(0)
        elif tensor.dtype == torch.bool:  # a bool input stays bool (the default baseline 0.0)
            baseline = bool(baseline)
        mixed = torch.where(keep, tensor.unsqueeze(0), baseline)  # (n, batch, ...)
        result.append(mixed.reshape((n * tensor.shape[0],) + tuple(tensor.shape[1:])))
    return tuple(result)


# ------------------------------------------------------------------------ model evaluations


@contextlib.contextmanager
def progress_bar(total: int, show: bool, desc: str, done: int = 0) -> Iterator[tqdm]:
    """A tqdm bar of model evaluations (``done`` of them already made), or a silent one.

    Args:
        total: number of evaluations.
        show: show the bar (else a silent one).
        desc: the bar's label.
        done: evaluations already made (default ``0``).
    """
    bar = tqdm(total=total, desc=desc, initial=done, disable=not show)
    try:
        yield bar
    finally:
        bar.close()


def initial_forward(
    forward_func: Callable,
    inputs: tuple[Tensor, ...],
    target: TargetType,
    args: tuple | None,
    measure: bool = False,
) -> tuple[Tensor, int | None]:
    """``F(x)`` with the target selected, and (with ``measure``) the bytes one row of a
    forward allocates, counted on this very call so that ``"auto"`` costs no extra forward."""
    if not measure:
        with torch.inference_mode():
            return run_forward(forward_func, inputs, target, args), None
    with count_activation_bytes(forward_func) as counter, torch.inference_mode():
        output = run_forward(forward_func, inputs, target, args)
    batch = max(inputs[0].shape[0], 1)  # an empty batch: no rows to size
    input_bytes = sum(t.numel() * t.element_size() for t in inputs) // batch
    # a perturbed copy of the inputs and its boolean keep-mask live beside the activations
    return output, counter.bytes // batch + 3 * input_bytes


def check_perturbations_per_eval(value: Any, name: str = "perturbations_per_eval") -> None:
    """A positive int or ``"auto"``; checked before any model call, resolved later."""
    if isinstance(value, str) and value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputValueError(f'{name}={value!r}; expected a positive int or "auto"')


def resolve_perturbations_per_eval(
    value: PerturbationsPerEval,
    inputs: tuple[Tensor, ...],
    n_perturbations: int,
    bytes_per_row: int | None,
    aggregate: bool = False,
    name: str = "perturbations_per_eval",
) -> int:
    """Perturbations per model call: a positive int, or ``"auto"``: as many as a memory budget
    holds at ``bytes_per_row`` (measured by :func:`initial_forward` with ``measure=True``;
    None only for an int ``value``), capped at ``n_perturbations``. Always 1 for a model that
    returns one value for the whole batch (``aggregate``): its output cannot be split between
    perturbations, and an int above 1 is an error (as in Captum)."""
    check_perturbations_per_eval(value, name)
    if aggregate and value != "auto" and value > 1:
        raise InputValueError(
            f"{name}={value}, but the model's output does not grow with the batch (one value, "
            f"or a fixed-size tensor, for a batch of {inputs[0].shape[0]}): perturbations "
            f'cannot share a call. Pass {name}=1 or "auto"'
        )
    if aggregate:
        return 1
    if value == "auto":
        budget = memory_budget_bytes(inputs[0].device, forward_only=True)
        rows = budget // max(bytes_per_row or 0, 1)
        return int(max(1, min(n_perturbations, rows // max(inputs[0].shape[0], 1))))
    return value


def is_aggregate(output: Tensor, batch: int) -> bool:
    """The model returned one value (or a fixed-size tensor) for the whole batch."""
    return output.dim() == 0 or output.shape[0] != batch


def forward_perturbations(
    forward_func: Callable,
    build: Callable[[int, int], tuple[Tensor, ...]],
    n_perturbations: int,
    per_eval: int,
    target: TargetType,
    args: tuple | None,
    batch: int,
    n_outputs: int | None = None,
    bar: Any = None,
) -> Tensor:
    """Outputs ``(n_perturbations, n_outputs)`` of perturbations ``build(start, stop)`` (inputs
    of ``(stop - start) * batch`` rows, perturbation-major), ``per_eval`` per model call.

    A model whose output does not grow with the batch is evaluated one perturbation per call.

    Args:
        forward_func: the model.
        build: ``build(start, stop)`` returns the perturbed inputs for that range.
        n_perturbations: number of perturbations.
        per_eval: perturbations per forward call.
        target: the target as given to ``attribute``.
        args: formatted additional forward arguments.
        batch: number of examples.
        n_outputs: outputs per perturbation (``None``: ``batch``; default ``None``).
        bar: a progress bar advanced per call (``None``: none; default ``None``).
    """
    bar = bar if bar is not None else tqdm(disable=True)
    rows: list[Tensor] = []
    with torch.inference_mode():
        for start, stop in chunk_bounds(n_perturbations, per_eval):
            output = _evaluate(forward_func, build(start, stop), stop - start, target, args)
            bar.update()
            values = _per_perturbation(output, stop - start, batch, n_outputs)
            if values is None:  # aggregate model: the rest one perturbation at a time
                return _one_by_one(
                    forward_func, build, n_perturbations, start, rows, target, args, n_outputs, bar
                )
            n_outputs = values.shape[1]
            rows.append(values)
    return torch.cat(rows)


def _evaluate(forward_func, inputs, size, target, args) -> Tensor:
    return run_forward(
        forward_func, inputs, expand_target(target, size), expand_additional_args(args, size)
    )


def _per_perturbation(output: Tensor, size: int, batch: int, n_outputs: int | None):
    if n_outputs is not None:
        if output.numel() == size * n_outputs:
            return output.reshape(size, n_outputs)
        if size == 1:
            raise InputValueError(
                f"the model returned {output.numel()} values for a perturbed batch; expected "
                f"{n_outputs} as for the unperturbed inputs (shape {tuple(output.shape)})"
            )
        return None
    if size == 1:
        return output.reshape(1, -1)
    return output.reshape(size, -1) if not is_aggregate(output, size * batch) else None


def _one_by_one(forward_func, build, total, start, rows, target, args, n_outputs, bar):
    for index in range(start, total):
        output = _evaluate(forward_func, build(index, index + 1), 1, target, args)
        bar.update()
        rows.append(_per_perturbation(output, 1, 0, n_outputs))
    return torch.cat(rows)


def evaluate_coalitions(
    forward_func: Callable,
    inputs: tuple[Tensor, ...],
    baselines: tuple[Baseline, ...],
    masks: tuple[Tensor, ...],
    present: Tensor | CoalitionRows,
    target: TargetType,
    args: tuple | None,
    coalitions_per_eval: int,
    show_progress: bool = False,
    desc: str = "",
    n_outputs: int | None = None,
    done_before: int = 0,
) -> Tensor:
    """``F_target`` of every coalition row, ``(n, batch)`` or ``(n, 1)`` for a model that
    returns one value for the batch (in general ``(n, n_outputs)``), forward-only, in chunks
    of ``coalitions_per_eval`` coalitions. The progress bar counts model evaluations, with
    ``done_before`` of them (e.g. ``F(x)``) already made."""
    n = len(present)
    calls = -(-n // max(coalitions_per_eval, 1))

    def build(start: int, stop: int) -> tuple[Tensor, ...]:
        return perturbed_inputs(inputs, baselines, masks, present[start:stop])

    with progress_bar(calls + done_before, show_progress, desc, done_before) as bar:
        outputs = forward_perturbations(
            forward_func,
            build,
            n,
            coalitions_per_eval,
            target,
            args,
            inputs[0].shape[0],
            n_outputs,
            bar,
        )
    return as_floating(outputs)


def as_floating(values: Tensor) -> Tensor:
    """Integer outputs (a forward returning an int) as floats: Shapley values and surrogate
    weights average them."""
    return values if values.is_floating_point() else values.to(torch.get_default_dtype())
