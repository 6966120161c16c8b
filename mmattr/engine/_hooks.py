"""Hooks and state changes, only ever as context managers that clean up after themselves.

Every attribution runs inside :func:`preserve_model_state`, so the model comes back with the
hooks, train/eval modes and ``requires_grad`` flags it had, also when the forward raises.

Concurrent calls on one model (threads of a web server, data-loader workers) are isolated: a
hook acts only for forwards run in the context (thread, asyncio task) that registered it, and
the model's state is saved by the first of overlapping calls and restored by the last.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from .errors import InputTypeError, InputValueError

_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)

#: Ids of the hooks registered by :func:`forward_hook` in the current thread / task.
_ACTIVE_HOOKS: ContextVar[frozenset[int]] = ContextVar("mmattr_active_hooks", default=frozenset())
_HOOK_IDS = itertools.count()
#: Hook-dict keys of every live :func:`forward_hook` (all threads): never removed by a guard.
_LIVE_HANDLES: set[int] = set()
#: id(model) -> [number of calls inside the guard, the state saved by the first of them].
_GUARDS: dict[int, list] = {}
_LOCK = threading.Lock()


def module_of(forward_func: Callable) -> nn.Module | None:
    """The module behind a forward function: the module itself or a bound method's owner."""
    if isinstance(forward_func, nn.Module):
        return forward_func
    owner = getattr(forward_func, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


@contextlib.contextmanager
def preserve_model_state(forward_func: Callable) -> Iterator[None]:
    """Restore hooks, ``training`` flags and ``requires_grad`` of every submodule on exit.

    Overlapping calls on one model (from several threads) share the state saved by the first
    and restore it when the last leaves, so no call restores flags another one saw changed.

    Args:
        forward_func: the model (or any callable; non-modules are left alone).
    """
    model = module_of(forward_func)
    if model is None:
        yield
        return
    with _LOCK:
        entry = _GUARDS.setdefault(id(model), [0, None])
        if entry[0] == 0:
            entry[1] = _ModelState(model)
        entry[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            entry[0] -= 1
            if entry[0] == 0:
                del _GUARDS[id(model)]
                entry[1].restore()


class _ModelState:
    """Hooks, ``training`` flags and ``requires_grad`` of a model's submodules, saved."""

    def __init__(self, model: nn.Module) -> None:
        self.modules = list(model.modules())
        self.training = [m.training for m in self.modules]
        # only the non-empty hook dicts are copied: the common case costs one lookup per dict
        self.hooks = [
            {n: set(d) for n in _HOOK_DICTS if (d := m.__dict__.get(n))} for m in self.modules
        ]
        self.params = list(model.parameters())
        self.requires_grad = [p.requires_grad for p in self.params]

    def restore(self) -> None:
        """Remove hooks added since (except live ones of :func:`forward_hook`); reset flags."""
        for module, was_training, saved in zip(self.modules, self.training, self.hooks):
            if module.training != was_training:  # nn.Module.__setattr__ is slow
                module.training = was_training
            for name in _HOOK_DICTS:
                current = module.__dict__.get(name)
                if current:
                    before = saved.get(name, ())
                    for key in [k for k in current if k not in before and k not in _LIVE_HANDLES]:
                        del current[key]
        for param, flag in zip(self.params, self.requires_grad):
            if param.requires_grad != flag:
                param.requires_grad_(flag)


@contextlib.contextmanager
def forward_hook(
    module: nn.Module, hook: Callable[[nn.Module, tuple, Any], Any], *, pre: bool = False
) -> Iterator[None]:
    """Register a forward (or forward-pre) hook for the duration of the block.

    The hook acts only on forwards run in this thread (or asyncio task) while the block is
    open; another thread's forward through the same module passes it by untouched.
    """
    hook_id = next(_HOOK_IDS)

    def scoped(*args: Any) -> Any:
        return hook(*args) if hook_id in _ACTIVE_HOOKS.get() else None

    register = module.register_forward_pre_hook if pre else module.register_forward_hook
    with _LOCK:
        handle = register(scoped)
        _LIVE_HANDLES.add(handle.id)
    _ACTIVE_HOOKS.set(_ACTIVE_HOOKS.get() | {hook_id})
    try:
        yield
    finally:
        _ACTIVE_HOOKS.set(_ACTIVE_HOOKS.get() - {hook_id})
        with _LOCK:
            handle.remove()
            _LIVE_HANDLES.discard(handle.id)


def pick_output(value: Any, index: int) -> Tensor:
    """The attributed tensor of a layer whose output (or input) may be a tuple."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)) and len(value) > index and isinstance(value[index], Tensor):
        return value[index]
    raise InputTypeError(
        f"layer output is {type(value).__name__}; expected a tensor or a tuple whose element "
        f"{index} is a tensor"
    )


def layer_tensors(value: Any, index: int | None) -> tuple[Tensor, ...]:
    """The attributed tensors of a layer's output (or positional inputs): element ``index``,
    or with ``index=None`` every tensor of a tuple, in order (Captum's)."""
    if index is not None:
        return (pick_output(value, index),)
    if isinstance(value, Tensor):
        return (value,)
    tensors = tuple(v for v in value if isinstance(v, Tensor)) if _is_sequence(value) else ()
    if not tensors:
        raise InputTypeError(
            f"layer output is {type(value).__name__}; expected a tensor or a tuple of tensors"
        )
    return tensors


def replace_tensors(value: Any, index: int | None, new: Sequence[Tensor]) -> Any:
    """``value`` with the tensors :func:`layer_tensors` picks replaced by ``new``, in order."""
    if isinstance(value, Tensor):
        return new[0]
    if index is not None:
        items = list(value)
        items[index] = new[0]
    else:
        replacements = iter(new)
        items = [next(replacements) if isinstance(v, Tensor) else v for v in value]
    if isinstance(value, list):
        return items
    return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (tuple, list))


@dataclass
class LayerRecord:
    """What a capture saw: the attributed tensors of each forward call the layer made."""

    layer: nn.Module
    calls: list[tuple[Tensor, ...]] = field(default_factory=list)

    @property
    def values(self) -> list[Tensor]:
        """The first attributed tensor of each call."""
        return [call[0] for call in self.calls]


@contextlib.contextmanager
def capture_layers(
    layers: Sequence[nn.Module],
    attribute_to_input: bool = False,
    output_index: int | None = 0,
    require_grad: bool = False,
) -> Iterator[list[LayerRecord]]:
    """Record each layer's output (or positional inputs) on every forward call: element
    ``output_index`` of a tuple, or every tensor with ``output_index=None``.

    The model continues with copies, so in-place operations after the layer (such as
    ``ReLU(inplace=True)``) leave the recorded value as the layer gave it. With
    ``require_grad`` the recorded tensors stay in the autograd graph (floating tensors outside
    it become leaves) so the output's gradient with respect to them can be taken afterwards.

    Args:
        layers: the modules to record.
        attribute_to_input: record the layer's first input instead of its output (default
            ``False``).
        output_index: element recorded when the output is a tuple, None for all of them
            (default ``0``).
        require_grad: make the recorded values require grad (default ``False``).
    """
    records = [LayerRecord(layer) for layer in layers]
    with contextlib.ExitStack() as stack:
        for record in records:
            stack.enter_context(
                forward_hook(
                    record.layer,
                    _recording_hook(record, attribute_to_input, output_index, require_grad),
                    pre=attribute_to_input,
                )
            )
        yield records


def _recording_hook(record: LayerRecord, to_input: bool, index: int | None, require_grad: bool):
    def record_value(value: Any) -> Any:
        tensors = layer_tensors(value, index)
        if require_grad:
            tensors = tuple(_as_leaf(tensor) for tensor in tensors)
        record.calls.append(tensors)
        return replace_tensors(value, index, [tensor.clone() for tensor in tensors])

    return _hook_on(to_input, record_value)


def _as_leaf(tensor: Tensor) -> Tensor:
    if tensor.requires_grad or not (tensor.is_floating_point() or tensor.is_complex()):
        return tensor
    return tensor.detach().requires_grad_()


def _hook_on(to_input: bool, handle: Callable[[Any], Any]) -> Callable[..., Any]:
    """A forward hook passing the layer's output to ``handle`` (with ``to_input``, a pre-hook
    passing its positional inputs); what ``handle`` returns replaces that value unless None."""
    if to_input:
        return lambda module, args: handle(args)
    return lambda module, args, output: handle(output)


@contextlib.contextmanager
def replace_layer(
    layer: nn.Module,
    make_value: Callable[[Tensor], Tensor],
    attribute_to_input: bool = False,
    output_index: int = 0,
) -> Iterator[None]:
    """Replace the layer's output (or input) by ``make_value(original)`` on each call.

    Args:
        layer: the module whose value is replaced.
        make_value: maps the original value to its replacement.
        attribute_to_input: replace the layer's first input instead of its output (default
            ``False``).
        output_index: element replaced when the output is a tuple (default ``0``).
    """

    def replaced(value: Any) -> Any:
        new = make_value(pick_output(value, output_index))
        return replace_tensors(value, output_index, [new])

    with forward_hook(layer, _hook_on(attribute_to_input, replaced), pre=attribute_to_input):
        yield


@contextlib.contextmanager
def substitute_layer(
    layer: nn.Module,
    tensors: Sequence[Tensor],
    attribute_to_input: bool = False,
    output_index: int | None = 0,
) -> Iterator[None]:
    """The layer's attributed tensors (as :func:`capture_layers` picks them) replaced by
    copies of ``tensors`` on each call; copies, so in-place operations after the layer
    leave ``tensors`` (often the leaves of a gradient) untouched."""

    def replaced(value: Any) -> Any:
        return replace_tensors(value, output_index, [tensor.clone() for tensor in tensors])

    with forward_hook(layer, _hook_on(attribute_to_input, replaced), pre=attribute_to_input):
        yield


def check_layers_in_model(forward_func: Callable, layers: Sequence[nn.Module], name: str) -> None:
    """A layer must be a submodule of the model (when the model is known)."""
    model = module_of(forward_func)
    submodules = set() if model is None else {id(m) for m in model.modules()}
    for index, layer in enumerate(layers):
        if not isinstance(layer, nn.Module):
            raise InputTypeError(
                f"{name}[{index}] is {type(layer).__name__}; expected an nn.Module"
            )
        if model is not None and id(layer) not in submodules:
            raise InputValueError(
                f"{name}[{index}] ({type(layer).__name__}) is not a submodule of the model "
                f"{type(model).__name__}; pass a module taken from the model, e.g. model.layer1"
            )


def check_layers_ran(records: Sequence[LayerRecord], name: str) -> None:
    for index, record in enumerate(records):
        if not record.values:
            raise InputValueError(
                f"{name}[{index}] ({type(record.layer).__name__}) never ran in the forward pass; "
                "pick a layer the model calls for these inputs"
            )


class _ByteCounter(TorchDispatchMode):
    """Sums the storage of every tensor an op returns; views and in-place results share
    storage with a tensor already counted, so they are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        inputs = {id(a) for a in args if isinstance(a, Tensor)}
        for value in result if isinstance(result, (tuple, list)) else (result,):
            if isinstance(value, Tensor) and not value._is_view() and id(value) not in inputs:
                self.bytes += value.untyped_storage().nbytes()
        return result


@contextlib.contextmanager
def count_activation_bytes(forward_func: Callable) -> Iterator[_ByteCounter]:
    """Count the bytes of every new tensor a forward pass allocates (views excluded).

    Args:
        forward_func: the forward function the block runs. Every allocation within the block
            is counted, whichever function makes it.

    Yields:
        A counter whose ``bytes`` holds the total so far.
    """
    counter = _ByteCounter()
    with counter:
        yield counter


@contextlib.contextmanager
def gradient_hooks() -> Iterator[Callable[[Tensor, Callable[[Tensor], Tensor]], None]]:
    """``register(tensor, hook)`` within the block: ``hook(grad)`` replaces the gradient that
    reaches ``tensor`` (summed over all its uses); every hook is removed on exit."""
    handles = []

    def register(tensor: Tensor, hook: Callable[[Tensor], Tensor]) -> None:
        handles.append(tensor.register_hook(hook))

    try:
        yield register
    finally:
        for handle in handles:
            handle.remove()
