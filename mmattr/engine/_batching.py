"""Evaluate many perturbed or interpolated copies of the inputs in chunks.

``internal_batch_size`` (gradient methods) and ``perturbations_per_eval`` (perturbation methods)
are resolved here: an int, ``None`` (everything at once) or ``"auto"`` (chunks sized from a
memory budget measured with one probe forward on a single example).
"""

from __future__ import annotations

import os
from typing import Callable, Iterator, Union

import torch
from torch import Tensor

from ._hooks import count_activation_bytes
from ._inputs import slice_additional_args
from .errors import InputValueError

BatchSize = Union[None, int, str]

#: Fraction of the free memory of the inputs' device that ``"auto"`` chunks may use.
AUTO_MEMORY_FRACTION = 0.1
#: Upper bound for ``"auto"`` on the CPU, in bytes: beyond this, bigger chunks buy no speed.
AUTO_CPU_CAP_BYTES = 1 << 30
#: The same for forward-only chunks (perturbations) on the CPU, whose activations are freed
#: layer by layer: bigger chunks only add cache misses (resnet18 at 224², 2 cores: 4 rows per
#: call ran 15–18% faster than the 35 rows a 1 GiB budget allows, and than one row per call).
AUTO_CPU_FORWARD_CAP_BYTES = 128 << 20


def chunk_bounds(total: int, size: int | None) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` pairs covering ``range(total)`` in pieces of at most ``size``.

    Args:
        total: number of rows to cover.
        size: rows per chunk (``None``: one chunk).
    """
    size = total if size is None or size <= 0 else size
    for start in range(0, total, size):
        yield start, min(start + size, total)


def free_memory_bytes(device: torch.device) -> int:
    """Free memory of ``device``: the CUDA allocator's view, or the host's MemAvailable."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    pages, page_size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return int(pages * page_size)


def memory_budget_bytes(device: torch.device, forward_only: bool = False) -> int:
    """Bytes an ``"auto"`` chunk may take on ``device``: a fraction of its free memory, capped
    on the CPU (lower for forward-only chunks).

    Args:
        device: the device the chunk runs on.
        forward_only: no backward pass is needed (a larger share; default ``False``).
    """
    budget = int(free_memory_bytes(device) * AUTO_MEMORY_FRACTION)
    if device.type != "cpu":
        return budget
    return min(budget, AUTO_CPU_FORWARD_CAP_BYTES if forward_only else AUTO_CPU_CAP_BYTES)


def activation_bytes_per_example(
    forward_func: Callable, inputs: tuple[Tensor, ...], additional_forward_args: tuple | None
) -> int:
    """Bytes of every intermediate tensor one example creates in a forward pass: the memory
    a backward pass keeps alive, measured with one probe forward under ``inference_mode``."""
    one = tuple(tensor[:1] for tensor in inputs)
    extra = slice_additional_args(additional_forward_args, 0, 1) or ()
    with count_activation_bytes(forward_func) as counter, torch.inference_mode():
        forward_func(*one, *extra)
    input_bytes = sum(t.numel() * t.element_size() for t in one)
    return max(counter.bytes, input_bytes) + input_bytes


def resolve_batch_size(
    batch_size: BatchSize,
    forward_func: Callable,
    inputs: tuple[Tensor, ...],
    additional_forward_args: tuple | None,
    total: int,
    name: str = "internal_batch_size",
    with_gradients: bool = True,
) -> int:
    """Number of rows (expanded examples) per model call.

    Args:
        batch_size: an int, ``None`` (all rows) or ``"auto"`` (fit memory).
        forward_func: the model or any callable returning a tensor whose first dimension is
            the batch.
        inputs: formatted inputs.
        additional_forward_args: formatted additional forward arguments.
        total: number of rows to evaluate.
        name: the argument's name, used in error messages (default
            ``"internal_batch_size"``).
        with_gradients: rows need a backward pass too (default ``True``).
    """
    if batch_size is None:
        return total
    if isinstance(batch_size, str):
        if batch_size != "auto":
            raise InputValueError(f'{name}={batch_size!r}; expected an int, None or "auto"')
        per_example = activation_bytes_per_example(forward_func, inputs, additional_forward_args)
        per_example *= 2 if with_gradients else 1
        budget = memory_budget_bytes(inputs[0].device, forward_only=not with_gradients)
        return int(max(1, min(total, budget // max(per_example, 1))))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputValueError(f'{name}={batch_size!r}; expected a positive int, None or "auto"')
    return batch_size
