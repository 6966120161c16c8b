"""One glossary of the engine's standard parameters, and ``document``, which completes an
``Args:`` section from it.

A docstring describes what is its own (the formula, its own parameters, a parameter whose
meaning differs there); ``document`` adds the glossary's entry for every other parameter, in
signature order, at import time, with the default read from the signature (a constructor
inherited from a base takes the base's own entries first). ``register`` applies it to every
attribution class. A parameter described neither in the docstring nor in the glossary, or a
described name the signature lacks, raises a TypeError at import.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")

_IG_METHODS = (
    '``"gausslegendre"`` or one of ``"riemann_left"``, ``"riemann_right"``, '
    '``"riemann_middle"``, ``"riemann_trapezoid"``'
)
#: the standard description of a parameter; ``{default}`` is the signature's default
GLOSSARY: dict[str, str] = {
    "forward_func": "the model, or any callable returning a tensor whose first dimension is "
    "the batch.",
    "model": "the ``nn.Module`` to explain; its ReLU/non-linear modules are hooked during the "
    "call.",
    "inputs": "tensor or tuple of tensors, each ``(batch, ...)``; the first dimension is the "
    "batch.",
    "baselines": "reference inputs: a number, a tensor of the input's shape (or with a leading "
    "1, or the per-example shape), or a tuple of those matching ``inputs``; ``None`` means "
    "zeros (default ``{default}``).",
    "target": "output index per example: an int, a tuple for multi-dimensional outputs, a list "
    "or tensor of ``batch`` indices, or ``None`` for a scalar-per-example output (default "
    "``{default}``).",
    "additional_forward_args": "extra arguments passed to ``forward_func`` after the inputs, "
    "unchanged (tensors of batch size are expanded with the inputs; default ``{default}``).",
    "n_steps": "number of integration steps (Riemann or Gauss-Legendre points; default "
    "``{default}``).",
    "method": f"integral approximation: {_IG_METHODS} (default ``{{default}}``).",
    "internal_batch_size": "evaluate the scaled inputs in chunks of this many examples: an "
    'int, ``None`` (all at once) or ``"auto"`` (chunks sized from a memory budget; default '
    "``{default}``).",
    "return_convergence_delta": "also return the completeness error ``Σ attributions − (F(x) − "
    "F(b))`` per example (default ``{default}``).",
    "multiply_by_inputs": "multiply by ``x − b`` (a global attribution) or not (a local one; "
    "default ``{default}``).",
    "custom_attribution_func": "optional ``f(multipliers[, inputs[, baselines]])`` returning "
    "a tuple of tensors that replaces ``multipliers * (inputs - baselines)`` (default "
    "``{default}``).",
    "grad_kwargs": "keyword arguments passed on to ``torch.autograd.grad`` (default "
    "``{default}``).",
    "layer": "the module whose input or output is attributed (a list of modules where the "
    "class supports several).",
    "device_ids": "device ids for a ``DataParallel`` model, accepted for Captum compatibility; "
    "hooks read each layer's value on whatever device it runs (default ``{default}``).",
    "layer_output_index": "for a layer whose output (or positional input) is a tuple, the "
    "element attributed; ``None``: every tensor of the tuple, with a tuple of results where "
    "there are several (default ``{default}``).",
    "attribute_to_layer_input": "attribute to the layer's input instead of its output "
    "(default ``{default}``).",
    "neuron_selector": "the neuron: an int (2-D layer output), a tuple of ints/slices with one "
    "entry per layer dimension after the batch (slices sum the neurons they cover), or a "
    "callable taking the layer output (the tuple, for several tensors) and returning one value "
    "per example.",
    "attribute_to_neuron_input": "select the neuron from the layer's input instead of its "
    "output (default ``{default}``).",
    "feature_mask": "integer tensor (or tuple, one per input) of group ids ``0..k−1``, each "
    "broadcastable to its input with first dimension 1 or the batch size; a group may span "
    "several inputs (``None``: every scalar element its own group; default ``{default}``).",
    "perturbations_per_eval": "perturbed copies per model call: a positive int, or "
    '``"auto"`` for as many as fit a memory budget (Captum\'s default is 1); results are the '
    "same for every value (default ``{default}``).",
    "show_progress": "show a tqdm bar of model evaluations (default ``{default}``).",
}
#: where a kind of method gives a parameter another meaning
BY_KIND: dict[str, dict[str, str]] = {
    "perturbation": {
        "baselines": "the value a removed feature takes: a number, a tensor of the input's "
        "shape (or with a leading 1, or the per-example shape), or a tuple of those, one per "
        "input; ``None`` means zeros (default ``{default}``).",
    },
    "layer": {
        "multiply_by_inputs": "multiply by ``a_l(x) − a_l(b)`` (a global attribution) or not "
        "(a local one; default ``{default}``).",
        "return_convergence_delta": "also return the completeness error ``Σ attributions − "
        "(F(x) − F(b))`` per example; for a list of layers, a list of them, one per layer "
        "(default ``{default}``).",
    },
}
_SECTION = re.compile(r"^(\s*)Args:\s*$")
_ENTRY = re.compile(r"^(\**[A-Za-z_]\w*)\s*(\([^)]*\))?\s*:")
_NEXT_SECTION = re.compile(r"^(Returns|Raises|Yields|Examples?|Notes?|Attributes|See Also):")
_WIDTH = 92


def document(obj: T, kind: str | None = None) -> T:
    """Complete the ``Args:`` sections of a function, or of a class's ``__init__`` (in the class
    docstring unless ``__init__``'s own has one) and ``attribute``, from the glossary.

    Args:
        obj: a function or a class; returned with its docstrings completed.
        kind: a method kind (``"perturbation"``, ``"layer"``, ...) whose own meanings of a
            parameter (``BY_KIND``) come before the glossary's (default ``None``).
    """
    glossary = {**GLOSSARY, **BY_KIND.get(kind or "", {})}
    if not isinstance(obj, type):
        obj.__doc__ = complete_args(obj.__doc__, obj, glossary)
        return obj
    attribute = vars(obj).get("attribute")
    if inspect.isfunction(attribute) and attribute.__doc__:
        attribute.__doc__ = complete_args(attribute.__doc__, attribute, glossary)
    init = vars(obj).get("__init__")
    if inspect.isfunction(init) and _args_span(init.__doc__) is not None:
        init.__doc__ = complete_args(init.__doc__, init, glossary)
    elif obj.__doc__ and inspect.isfunction(obj.__init__):
        obj.__doc__ = complete_args(obj.__doc__, obj.__init__, glossary, _inherited(obj))
    return obj


def _inherited(cls: type) -> dict[str, list[str]]:
    """The constructor entries of ``cls``'s bases' docstrings, the nearest base's first."""
    entries: dict[str, list[str]] = {}
    for base in reversed(cls.__mro__[1:]):
        init = vars(base).get("__init__")
        for doc in (base.__doc__, getattr(init, "__doc__", None)):
            lines = _clean(doc)
            span = _args_span(lines)
            entries.update(_entries(lines[span[0] + 1 : span[1]]) if span else {})
    return entries


def complete_args(
    doc: str | None,
    function: Callable,
    glossary: Mapping[str, str] = GLOSSARY,
    inherited: Mapping[str, list[str]] | None = None,
) -> str:
    """``doc`` (cleaned) with an ``Args:`` entry for every parameter of ``function``: its own
    entries, then the glossary's for the rest, in signature order.

    Args:
        doc: the docstring; ``None`` is read as empty.
        function: whose signature (without ``self``/``cls``) the section must list.
        glossary: parameter name -> description, ``{default}`` standing for the default
            (default the engine's ``GLOSSARY``).
        inherited: entries (their lines) that come before the glossary's, e.g. a base
            class's description of its constructor (default ``None``).
    """
    inherited = inherited or {}
    parameters = {
        name: p
        for name, p in inspect.signature(function).parameters.items()
        if name not in ("self", "cls")
    }
    lines = _clean(doc)
    span = _args_span(lines)
    own = _entries(lines[span[0] + 1 : span[1]]) if span else {}
    where = f"{function.__module__}.{function.__qualname__}"
    extra = sorted(set(own) - set(parameters))
    if extra:
        raise TypeError(f"{where}: Args describes {extra}, which its signature lacks")
    if set(own) == set(parameters):
        return "\n".join(lines)
    own = {**{n: inherited[n] for n in parameters if n in inherited and n not in own}, **own}
    unknown = [n for n in parameters if n not in own and n not in glossary]
    if unknown:
        raise TypeError(
            f"{where}: parameters {unknown} are described neither in its Args section nor in "
            "the engine glossary (mmattr/engine/_docs.py); describe them in the docstring"
        )
    section = ["Args:"]
    for name, parameter in parameters.items():
        section += own.get(name) or _glossary_entry(name, parameter, glossary[name])
    if span is None:
        at = next((i for i, line in enumerate(lines) if i and _NEXT_SECTION.match(line)), None)
        at = len(lines) if at is None else at
        before = lines[:at] + ([""] if at and lines[at - 1].strip() else [])
        after = ([""] if at < len(lines) else []) + lines[at:]
        return "\n".join(before + section + after)
    indent = re.match(r"\s*", lines[span[0]]).group(0)
    section = [indent + line for line in section]
    return "\n".join(lines[: span[0]] + section + lines[span[1] :])


def _args_span(doc: str | list[str] | None) -> tuple[int, int] | None:
    """(index of the ``Args:`` line, index after its last entry line), or None."""
    lines = doc if isinstance(doc, list) else _clean(doc)
    for i, line in enumerate(lines):
        head = _SECTION.match(line)
        if head is None:
            continue
        end = i + 1
        for j in range(i + 1, len(lines)):
            if not lines[j].strip():
                continue
            if len(lines[j]) - len(lines[j].lstrip()) <= len(head.group(1)):
                break
            end = j + 1
        return i, end
    return None


def _clean(doc: str | None) -> list[str]:
    lines = [line.rstrip() for line in inspect.cleandoc(doc or "").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _entries(body: list[str]) -> dict[str, list[str]]:
    """Entry name -> its lines (re-indented to 4 spaces under ``Args:``), continuations kept."""
    body = [line for line in body if line.strip()]
    if not body:
        return {}
    indent = min(len(line) - len(line.lstrip()) for line in body)
    entries: dict[str, list[str]] = {}
    name = None
    for line in body:
        found = _ENTRY.match(line.strip())
        if len(line) - len(line.lstrip()) == indent and found:
            name = found.group(1).lstrip("*")
            entries[name] = []
        if name is not None:
            entries[name].append("    " + line[indent:])
    return entries


def _glossary_entry(name: str, parameter: inspect.Parameter, text: str) -> list[str]:
    default = parameter.default
    shown = f'"{default}"' if isinstance(default, str) else repr(default)
    entry = f"{name}: " + text.format(default=shown)
    return textwrap.wrap(entry, _WIDTH, initial_indent="    ", subsequent_indent="        ")
