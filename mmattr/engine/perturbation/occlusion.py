"""Occlusion (Zeiler & Fergus, 2014): slide a baseline-filled window over each input."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Sequence, Union

import torch
from torch import Tensor

from .._base import Attribution
from .._inputs import Baseline, BaselinesType, TensorOrTuple, format_call, format_output, is_tuple
from .._targets import TargetType
from ..errors import InputTypeError, InputValueError
from ..registry import register
from ._perturb import (
    DEFAULT_PERTURBATIONS_PER_EVAL,
    PerturbationsPerEval,
    check_perturbations_per_eval,
)
from .feature_ablation import FeatureAblation

WindowShapes = Union[tuple[int, ...], tuple[tuple[int, ...], ...]]
Strides = Union[None, int, tuple[int, ...], tuple[Union[int, tuple[int, ...]], ...]]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class WindowGrid:
    """The windows over one input: window ``m`` sits at ``idx_d(m) · stride_d`` in each
    dimension ``d`` of the per-example shape, ``idx_0`` varying fastest (Captum's order);
    the last window of a dimension may be cut off by the input's edge."""

    shape: tuple[int, ...]
    window: tuple[int, ...]
    strides: tuple[int, ...]

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(
            math.ceil((size - win) / step) + 1
            for size, win, step in zip(self.shape, self.window, self.strides)
        )

    def __len__(self) -> int:
        return math.prod(self.counts)

    def cover(self, device: torch.device) -> list[Tensor]:
        """Per dimension, bool ``(counts_d, shape_d)``: window position ``i`` covers ``p``."""
        result = []
        for size, win, step, count in zip(self.shape, self.window, self.strides, self.counts):
            start = torch.arange(count, device=device)[:, None] * step
            position = torch.arange(size, device=device)[None, :]
            result.append((position >= start) & (position < start + win))
        return result

    def masks(self, windows: Tensor, cover: list[Tensor]) -> Tensor:
        """Bool ``(n, *shape)``: the elements each of the ``windows`` (ids) occludes."""
        if not self.shape:  # a 0-d example: its one window occludes it
            return torch.ones(windows.shape[0], dtype=torch.bool, device=windows.device)
        result, stride = None, 1
        for dim, (count, covered) in enumerate(zip(self.counts, cover)):
            rows = covered[(windows // stride) % count]  # (n, shape_d)
            view = [windows.shape[0]] + [1] * len(self.shape)
            view[dim + 1] = self.shape[dim]
            rows = rows.view(view)
            result = rows if result is None else result & rows
            stride *= count
        return result

    def spread(self, values: Tensor, cover: list[Tensor]) -> Tensor:
        """``Σ_m values[:, m] · mask_m / Σ_m mask_m``: ``(n_outputs, n_windows)`` ->
        ``(n_outputs, *shape)``, one separable contraction per dimension (einsum)."""
        dims = len(self.shape)
        if dims == 0:  # a 0-d example has one window
            return values[:, 0]
        counts, positions = _LETTERS[:dims], _LETTERS[dims : 2 * dims]
        # window id m = Σ idx_d Π_{d'<d} counts_d': idx_0 is the last (fastest) axis
        grid = values.reshape((values.shape[0],) + tuple(reversed(self.counts)))
        spec = "z" + counts[::-1] + "," + ",".join(c + p for c, p in zip(counts, positions))
        factors = [covered.to(values.dtype) for covered in cover]
        total = torch.einsum(spec + "->z" + positions, grid, *factors)
        hits = factors[0].sum(0)
        for factor in factors[1:]:
            hits = hits[..., None] * factor.sum(0)
        return total / hits


@register("perturbation")
class Occlusion(FeatureAblation):
    r"""Occlusion: ``attr_e = mean over windows w ∋ e of (F(x) − F(x with w at the baseline))``.

    A window of ``sliding_window_shapes`` slides over each input in steps of ``strides``
    from the corner at index 0; each element's attribution averages the output differences
    of the windows covering it. Windows of different inputs are occluded separately.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 3))
        >>> occlusion = Occlusion(model)
        >>> x = torch.randn(2, 3, 4, 4)
        >>> occlusion.attribute(x, sliding_window_shapes=(3, 2, 2), target=0).shape
        torch.Size([2, 3, 4, 4])
    """

    #: Captum gives Occlusion no ``attribute_future``: the base's NotImplementedError.
    attribute_future = Attribution.attribute_future

    def attribute(  # type: ignore[override]
        self,
        inputs: TensorOrTuple,
        sliding_window_shapes: WindowShapes,
        strides: Strides = None,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        show_progress: bool = False,
    ) -> TensorOrTuple:
        """Attributions the shape of ``inputs`` (first dimension 1 for an aggregate output),
        in the output's floating dtype (Captum always returns float32).

        Args:
            sliding_window_shapes: window shape per input, a tuple with ``input.dim() - 1``
                ints (or a tuple of those, one per input).
            strides: step of the window: None (1), an int, a tuple per dimension, or a tuple
                of those, one per input. A stride may not exceed the window where the window
                is smaller than the input.
        """
        _, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args
        )
        grids = _format_grids(formatted, sliding_window_shapes, strides)
        check_perturbations_per_eval(perturbations_per_eval)
        with self._model_guard():
            attributions = self._occlude(
                formatted,
                formatted_baselines,
                grids,
                target,
                args,
                perturbations_per_eval,
                show_progress,
            )
        return format_output(is_tuple(inputs), attributions)

    def _occlude(self, inputs, baselines, grids, target, args, per_eval_value, show_progress):
        total = sum(len(grid) for grid in grids)
        covers = [grid.cover(x.device) for grid, x in zip(grids, inputs)]
        build = _occluded_builder(inputs, baselines, grids, covers)
        diffs = self._output_drops(
            inputs, target, args, build, total, per_eval_value, show_progress
        )  # (n_windows, n_outputs)
        if not diffs.is_floating_point():
            diffs = diffs.to(torch.get_default_dtype())
        result, offset = [], 0
        for grid, cover in zip(grids, covers):
            values = diffs[offset : offset + len(grid)].T.to(inputs[0].device)
            result.append(grid.spread(values, cover))
            offset += len(grid)
        return tuple(result)


def _occluded_builder(
    inputs: tuple[Tensor, ...],
    baselines: tuple[Baseline, ...],
    grids: list[WindowGrid],
    covers: list[list[Tensor]],
):
    """Inputs for windows ``start..stop-1`` (ids over all inputs, input 0's first)."""
    offsets = [0, *itertools.accumulate(len(grid) for grid in grids[:-1])]

    def build(start: int, stop: int) -> tuple[Tensor, ...]:
        result = []
        for tensor, baseline, grid, cover, offset in zip(inputs, baselines, grids, covers, offsets):
            rows = (stop - start) * tensor.shape[0]
            if stop <= offset or start >= offset + len(grid):  # no window of this input
                result.append(
                    tensor.expand((stop - start,) + tuple(tensor.shape)).reshape(
                        (rows,) + tuple(tensor.shape[1:])
                    )
                )
                continue
            local = torch.arange(start, stop, device=tensor.device) - offset
            inside = (local >= 0) & (local < len(grid))
            occluded = grid.masks(local.clamp(0, len(grid) - 1), cover)
            occluded &= inside.view((-1,) + (1,) * (tensor.dim() - 1))
            if isinstance(baseline, Tensor):
                baseline = baseline.to(tensor.device).unsqueeze(0)
            mixed = torch.where(occluded.unsqueeze(1), baseline, tensor.unsqueeze(0))
            result.append(mixed.reshape((rows,) + tuple(tensor.shape[1:])))
        return tuple(result)

    return build


def _format_grids(
    inputs: tuple[Tensor, ...], sliding_window_shapes: Any, strides: Any
) -> list[WindowGrid]:
    windows = _per_input(sliding_window_shapes, inputs, "sliding_window_shapes", allow_int=False)
    steps = _per_input(1 if strides is None else strides, inputs, "strides", allow_int=True)
    grids = []
    for index, (tensor, window, step) in enumerate(zip(inputs, windows, steps)):
        shape = tuple(tensor.shape[1:])
        label = f"[{index}]" if len(inputs) > 1 else ""
        window = _check_dims(window, shape, f"sliding_window_shapes{label}")
        step = _check_dims(
            (step,) * len(shape) if isinstance(step, int) else step, shape, f"strides{label}"
        )
        if any(w > s for w, s in zip(window, shape)):
            raise InputValueError(
                f"sliding_window_shapes{label}={window} exceeds the per-example input shape {shape}"
            )
        if any(st > w and w < s for st, w, s in zip(step, window, shape)):
            raise InputValueError(
                f"strides{label}={step} is larger than the window {window} in a dimension the "
                f"window does not cover entirely (input shape {shape}); elements would be skipped"
            )
        grids.append(WindowGrid(shape, window, step))
    return grids


def _per_input(value: Any, inputs: tuple[Tensor, ...], name: str, allow_int: bool) -> tuple:
    """One entry per input: a single input's entry may come unwrapped (Captum's forms)."""
    single = isinstance(value, int) or (
        isinstance(value, tuple) and len(value) > 0 and isinstance(value[0], int)
    )
    if (
        len(inputs) == 1
        and single
        and not (allow_int and isinstance(value, tuple) and len(value) == 1)
    ):
        value = (value,)
    if isinstance(value, int) and allow_int:
        value = (value,) * len(inputs)
    if not isinstance(value, tuple) or len(value) != len(inputs):
        raise InputValueError(
            f"{name}={value!r}; expected one entry per input ({len(inputs)}), each a tuple of "
            "ints over the dimensions after the batch" + (" or an int" if allow_int else "")
        )
    if not allow_int and any(isinstance(entry, int) for entry in value):
        raise InputTypeError(f"{name}={value!r}; expected tuples of ints, one per input")
    return value


def _check_dims(value: Sequence[int], shape: tuple[int, ...], name: str) -> tuple[int, ...]:
    ok = isinstance(value, tuple) and len(value) == len(shape)
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        raise InputValueError(
            f"{name}={value!r}; expected {len(shape)} positive ints, one per dimension of the "
            f"per-example input shape {shape}"
        )
    return value
