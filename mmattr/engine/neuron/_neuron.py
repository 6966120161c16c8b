"""The machinery of neuron attribution: selectors, and the function "inputs -> the selected
neuron's value" that turns any input attribution method into a neuron attribution method.

A neuron method attributes ``n(x) = select(a_l(x))``, a value read from a layer ``l`` of the
model, instead of the model's output. Most of them are the input method applied to ``n``:
:class:`NeuronForward` is that function, a module holding the model so that the model's
state is guarded and restored like any other attribution's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any, Union

import torch
from torch import Tensor, nn

from .._base import Attribution
from .._docs import document
from .._hooks import forward_hook, module_of
from .._inputs import format_inputs, require_floating
from ..errors import InputTypeError, InputValueError

NeuronSelector = Union[int, tuple[Union[int, slice], ...], Callable[..., Tensor]]


def check_selector(selector: Any, name: str = "neuron_selector") -> None:
    """An int, a tuple of ints and slices (no batch dimension), or a callable."""
    if callable(selector):
        return
    if isinstance(selector, int) and not isinstance(selector, bool):
        return
    if isinstance(selector, tuple) and selector:
        for index, item in enumerate(selector):
            if isinstance(item, bool) or not isinstance(item, (int, slice)):
                raise InputTypeError(
                    f"{name}[{index}] is {type(item).__name__}; expected an int or a slice"
                )
        return
    raise InputTypeError(
        f"{name} is {selector!r}; expected an int, a non-empty tuple of ints/slices (one per "
        "layer dimension after the batch) or a callable taking the layer output"
    )


def select_neuron(values: tuple[Tensor, ...], selector: NeuronSelector, name: str) -> Tensor:
    """The selected neuron per example, shape (batch,).

    A callable gets the layer tensor (or the tuple of them); an index picks one element of
    the single layer tensor; indices with slices give the sum over the slice (Captum's rule).
    """
    if callable(selector):
        return _check_callable_result(selector(values if len(values) > 1 else values[0]), values)
    if len(values) != 1:
        raise InputValueError(
            f"{name}={selector!r} indexes one tensor, but the layer gives a tuple of "
            f"{len(values)}; pass a callable that picks the neuron from the tuple"
        )
    layer_value = values[0]
    index = (selector,) if isinstance(selector, int) else selector
    _check_index(layer_value.shape, index, name)
    selected = layer_value[(slice(None), *index)]
    if selected.dim() > 1:  # slices, or fewer indices than dimensions: sum the block
        return selected.reshape(selected.shape[0], -1).sum(1)
    return selected


def _check_index(shape: torch.Size, index: tuple, name: str) -> None:
    """Every int in range; one entry per dimension after the batch unless slices sum."""
    per_example = tuple(shape[1:])
    if len(index) > len(per_example):
        raise InputValueError(
            f"{name}={index!r} has {len(index)} indices; the layer output of shape "
            f"{tuple(shape)} has {len(per_example)} dimensions after the batch"
        )
    for axis, (item, size) in enumerate(zip(index, per_example), start=1):
        if isinstance(item, int) and not -size <= item < size:
            raise InputValueError(
                f"{name}={index!r} is out of range for the layer output of shape "
                f"{tuple(shape)}: index {item} on dimension {axis} of size {size}"
            )
    has_slice = any(isinstance(item, slice) for item in index)
    block = per_example[len(index) :]
    if block and math.prod(block) > 1 and not has_slice:
        raise InputValueError(
            f"{name}={index!r} selects a block of shape {block} of the layer output of shape "
            f"{tuple(shape)}; give one index per dimension after the batch "
            f"({len(per_example)}), or slices to sum a block"
        )


def _check_callable_result(result: Any, values: tuple[Tensor, ...]) -> Tensor:
    batch = values[0].shape[0]
    if not isinstance(result, Tensor):
        raise InputTypeError(
            f"neuron_selector returned {type(result).__name__}; expected a tensor with one "
            "value per example"
        )
    if result.numel() == 1 or (result.dim() >= 1 and result.shape[0] == result.numel() == batch):
        return result.reshape(-1) if result.dim() > 1 else result
    raise InputValueError(
        f"neuron_selector returned shape {tuple(result.shape)}; expected one value per "
        f"example, shape ({batch},), or a single value"
    )


@contextlib.contextmanager
def record_layer(layer: nn.Module, to_input: bool) -> Iterator[list[tuple[Tensor, ...]]]:
    """Record the layer's output (or inputs) as a tuple on every call. The model continues
    with clones, so in-place operations after the layer leave the recorded values intact.
    Unlike ``capture_layers`` (one tuple element, optionally cut from the graph), a neuron
    selector may index any element, and the neuron's gradient flows back to the inputs."""
    calls: list[tuple[Tensor, ...]] = []

    def pre_hook(module: nn.Module, args: tuple) -> tuple:
        calls.append(tuple(args))
        return tuple(_clone(arg) for arg in args)

    def post_hook(module: nn.Module, args: tuple, output: Any) -> Any:
        if isinstance(output, (tuple, list)):
            calls.append(tuple(output))
            clones = [_clone(item) for item in output]
            if isinstance(output, list):
                return clones
            return type(output)(*clones) if hasattr(output, "_fields") else tuple(clones)
        calls.append((output,))
        return _clone(output)

    with forward_hook(layer, pre_hook if to_input else post_hook, pre=to_input):
        yield calls


def _clone(value: Any) -> Any:
    return value.clone() if isinstance(value, Tensor) else value


def single_call(calls: list[tuple[Tensor, ...]], layer: nn.Module) -> tuple[Tensor, ...]:
    """The one call of the layer in a forward pass (a neuron of a reused layer is ambiguous)."""
    if len(calls) != 1:
        what = "never ran" if not calls else f"ran {len(calls)} times"
        raise InputValueError(
            f"layer ({type(layer).__name__}) {what} in one forward pass; expected one call. "
            "Pick a module the model calls exactly once for these inputs"
        )
    for index, value in enumerate(calls[0]):
        if not isinstance(value, Tensor):
            raise InputTypeError(
                f"layer ({type(layer).__name__}) gives {type(value).__name__} at position "
                f"{index}; expected tensors"
            )
    return calls[0]


class NeuronForward(nn.Module):
    """``n(x) = select(a_l(x))``: runs the model and returns the selected neuron, (batch,).

    The model is a submodule, so the attribution's guard restores its hooks and flags.
    """

    def __init__(
        self,
        forward_func: Callable,
        layer: nn.Module,
        neuron_selector: NeuronSelector,
        to_input: bool = False,
    ) -> None:
        super().__init__()
        model = module_of(forward_func)
        if model is not None:
            self.model = model
        self._forward_func = forward_func
        self._layer = layer
        self.neuron_selector = neuron_selector
        self.to_input = bool(to_input)

    def forward(self, *args: Any) -> Tensor:
        with record_layer(self._layer, self.to_input) as calls:
            self._forward_func(*args)
        values = single_call(calls, self._layer)
        return select_neuron(values, self.neuron_selector, "neuron_selector")


@document
class NeuronAttribution(Attribution):
    """An attribution of one neuron of a layer (selected per call) to the model's inputs.

    Args:
        layer: the module of the model whose output (or input) holds the neuron.
    """

    def __init__(
        self, forward_func: Callable, layer: nn.Module, device_ids: list[int] | None = None
    ) -> None:
        super().__init__(forward_func)
        if not isinstance(layer, nn.Module) or isinstance(layer, nn.ModuleList):
            raise InputTypeError(
                f"layer is {type(layer).__name__}; expected one module of the model "
                "(neuron methods read a single layer)"
            )
        model = module_of(forward_func)
        if model is not None and not any(layer is m for m in model.modules()):
            raise InputValueError(
                f"layer ({type(layer).__name__}) is not a submodule of the model "
                f"{type(model).__name__}; pass a module taken from the model, e.g. model.layer1"
            )
        self.layer = layer
        self.device_ids = device_ids

    def _neuron_forward(
        self, inputs: Any, neuron_selector: NeuronSelector, to_input: bool
    ) -> NeuronForward:
        """Validate the inputs (here, so errors name this method) and the selector."""
        formatted = format_inputs(inputs)
        if self.needs_gradients:
            require_floating(formatted, type(self).__name__)
        check_selector(neuron_selector)
        return NeuronForward(self.forward_func, self.layer, neuron_selector, to_input)


class NeuronAttributionByInputs(NeuronAttribution):
    """A neuron method with Captum's ``multiply_by_inputs`` switch (global vs local)."""

    def __init__(
        self,
        forward_func: Callable,
        layer: nn.Module,
        device_ids: list[int] | None = None,
        multiply_by_inputs: bool = True,
    ) -> None:
        super().__init__(forward_func, layer, device_ids)
        self._multiply_by_inputs = multiply_by_inputs
