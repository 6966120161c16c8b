"""One forward (and backward) that sees every requested layer at once.

Layer methods differ in what they do with a layer's activations ``a_l`` and the gradients
``∂F/∂a_l``; all of them get both for every layer from the same model call. The gradient is
the total derivative of the selected output with respect to the layer's value, through every
path, which is what a single-layer computation gives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .._batching import BatchSize
from .._gradients import as_leaves, check_batch_kept, check_scalar_per_example
from .._hooks import (
    LayerRecord,
    capture_layers,
    check_layers_in_model,
    check_layers_ran,
    substitute_layer,
)
from .._inputs import run_forward
from .._integration import path_chunks
from .._targets import TargetType
from ..errors import InputValueError

ModuleOrList = nn.Module | Sequence[nn.Module]


@dataclass
class LayerSpec:
    """The layers a method attributes to, and which tensors of each it reads.

    Methods work on a flat list of tensors: each layer's tensor, or each of its tensors where
    the layer's output (or its positional input) is a tuple. ``layout`` (tensors per layer)
    is set by the call's first capture, so a spec belongs to one ``attribute`` call.

    Attributes:
        layers: the modules, in the user's order.
        was_list: the user passed a list (results come back as a list).
        to_input: read the layer's input instead of its output.
        output_index: the element of a tuple-valued output (or of the inputs) attributed;
            None (Captum's): every tensor, the result a tuple where there are several.
        layout: how many tensors each layer gives.
    """

    layers: tuple[nn.Module, ...]
    was_list: bool
    to_input: bool = False
    output_index: int | None = None
    layout: tuple[int, ...] | None = None

    def with_input(self, to_input: bool) -> LayerSpec:
        return LayerSpec(self.layers, self.was_list, bool(to_input), self.output_index)

    def group(self, flat: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The flat per-tensor values regrouped per layer."""
        groups, start = [], 0
        for count in self.layout or (1,) * len(self.layers):
            groups.append(tuple(flat[start : start + count]))
            start += count
        return groups

    def format(self, flat: Sequence[Tensor]) -> Any:
        """Per layer a tensor, or a tuple for a layer giving several (Captum's); a list when
        the user gave a list."""
        return self.format_layers([g[0] if len(g) == 1 else g for g in self.group(flat)])

    def format_layers(self, per_layer: Sequence[Any]) -> Any:
        """One value per layer, as a list when the user gave a list."""
        return list(per_layer) if self.was_list else per_layer[0]


def layer_spec(
    layer: ModuleOrList, forward_func: Callable, output_index: int | None = None
) -> LayerSpec:
    """Validate ``layer`` (a module or a non-empty list of modules of the model)."""
    was_list = isinstance(layer, (list, tuple, nn.ModuleList))
    layers = tuple(layer) if was_list else (layer,)
    if was_list and not layers:
        raise InputValueError("layer is an empty list; expected a module or a list of modules")
    check_layers_in_model(forward_func, layers, "layer")
    bad_index = not isinstance(output_index, int) or output_index < 0
    if output_index is not None and (isinstance(output_index, bool) or bad_index):
        raise InputValueError(
            f"layer_output_index is {output_index!r}; expected None or an int >= 0"
        )
    return LayerSpec(layers, was_list, False, output_index)


def _values_once(records: Sequence[LayerRecord], spec: LayerSpec) -> list[Tensor]:
    """Every layer's tensors, flat; the layout (tensors per layer) goes into ``spec``."""
    check_layers_ran(records, "layer")
    for index, record in enumerate(records):
        if len(record.calls) > 1:
            raise InputValueError(
                f"layer[{index}] ({type(record.layer).__name__}) ran {len(record.calls)} times "
                "in one forward pass; attribute to a module the model calls once"
            )
    spec.layout = tuple(len(record.calls[0]) for record in records)
    return [tensor for record in records for tensor in record.calls[0]]


@contextlib.contextmanager
def _capture(spec: LayerSpec, require_grad: bool) -> Iterator[list[LayerRecord]]:
    with capture_layers(spec.layers, spec.to_input, spec.output_index, require_grad) as records:
        yield records


def layer_values(
    forward_func: Callable,
    spec: LayerSpec,
    inputs: tuple[Tensor, ...],
    additional_forward_args: tuple | None = None,
) -> list[Tensor]:
    """Every layer's activation for ``inputs``, one forward without gradients."""
    with _capture(spec, require_grad=False) as records, torch.no_grad():
        forward_func(*inputs, *(additional_forward_args or ()))
    return [value.detach() for value in _values_once(records, spec)]


def layer_gradients(
    forward_func: Callable,
    spec: LayerSpec,
    inputs: tuple[Tensor, ...],
    target: TargetType = None,
    additional_forward_args: tuple | None = None,
    grad_kwargs: dict | None = None,
) -> tuple[list[Tensor], list[Tensor]]:
    """``(∂F_target/∂a_l, a_l)`` for every layer ``l``: one forward and one backward."""
    with torch.enable_grad():
        with _capture(spec, require_grad=True) as records:
            output = run_forward(forward_func, as_leaves(inputs), target, additional_forward_args)
        values = _values_once(records, spec)
        check_scalar_per_example(output, target is not None)
        check_batch_kept(output, inputs[0].shape[0])
        grads = torch.autograd.grad(output.sum(), values, allow_unused=True, **(grad_kwargs or {}))
    grads = [torch.zeros_like(v) if g is None else g for g, v in zip(grads, values)]
    return grads, [value.detach() for value in values]


@contextlib.contextmanager
def replaced_layers(spec: LayerSpec, values: Sequence[Tensor]) -> Iterator[None]:
    """Each layer's tensors replaced by the given ones, flat as captured (whatever the layer
    computes)."""
    with contextlib.ExitStack() as stack:
        for layer, tensors in zip(spec.layers, spec.group(values)):
            stack.enter_context(substitute_layer(layer, tensors, spec.to_input, spec.output_index))
        yield


def interpolated_layer_gradients(
    forward_func: Callable,
    spec: LayerSpec,
    inputs: tuple[Tensor, ...],
    baselines: tuple,
    target: TargetType,
    additional_forward_args: tuple | None,
    alphas: Sequence[float],
    internal_batch_size: BatchSize,
    grad_kwargs: dict | None = None,
) -> Iterator[tuple[range, list[Tensor], list[Tensor]]]:
    """``(steps, ∂F/∂a_l, a_l)`` along the path ``b + α_k (x − b)``, chunk by chunk.

    Rows are step-major (``len(steps) * batch``); every layer comes from the same
    forward/backward of a chunk.
    """
    path = path_chunks(
        forward_func,
        inputs,
        baselines,
        target,
        additional_forward_args,
        alphas,
        internal_batch_size,
    )
    for steps, scaled, step_target, step_args in path:
        grads, values = layer_gradients(
            forward_func, spec, scaled, step_target, step_args, grad_kwargs
        )
        yield steps, grads, values


class LayerReplacedForward(nn.Module):
    """``forward(*layer_values, *inputs, *args)``: the model on its inputs with each layer's
    value replaced; a module holding the model so hook-based rules still find its layers."""

    def __init__(self, forward_func: Callable, spec: LayerSpec) -> None:
        super().__init__()
        self.forward_func, self.spec = forward_func, spec

    def forward(self, *tensors: Tensor) -> Tensor:
        count = sum(self.spec.layout or (1,) * len(self.spec.layers))
        with replaced_layers(self.spec, tensors[:count]):
            return self.forward_func(*tensors[count:])
