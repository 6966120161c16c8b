"""Normalise and validate what users pass to ``attribute``: inputs, baselines and additional
forward arguments (the ``target`` is checked by :mod:`mmattr.engine._targets`, called from
here), and run the model on the formatted inputs. Every check happens at this boundary, once,
so inner code trusts shapes.

Errors name the argument, what was expected and what came (einops style).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple, Union

import torch
from torch import Tensor

from ._docs import document
from ._outputs import output_tensor
from ._targets import TargetType, expand_target, repeat_batch, select_target, validate_target
from .errors import InputTypeError, InputValueError

TensorOrTuple = Union[Tensor, tuple[Tensor, ...]]
Baseline = Union[Tensor, int, float]
BaselinesType = Union[None, Baseline, tuple[Baseline, ...]]


def is_tuple(value: Any) -> bool:
    """Whether ``value`` is a tuple (inputs given as a tuple come back as one).

    Args:
        value: any value.
    """
    return isinstance(value, tuple)


def as_tuple(value: Any) -> tuple:
    """``x`` -> ``(x,)``; a tuple stays as it is; a list becomes a tuple.

    Args:
        value: a tensor or a tuple of tensors.
    """
    if isinstance(value, tuple):
        return value
    if isinstance(value, list) and all(isinstance(v, Tensor) for v in value):
        return tuple(value)
    return (value,)


def format_output(was_tuple: bool, values: tuple) -> Any:
    """Give results back in the form the inputs came in: a tensor or a tuple.

    Args:
        was_tuple: whether the inputs came as a tuple.
        values: one result per input.
    """
    return values if was_tuple else values[0]


def format_inputs(inputs: Any, name: str = "inputs", same_batch: bool = True) -> tuple[Tensor, ...]:
    """Inputs as a non-empty tuple of tensors sharing the batch dimension (unless not
    ``same_batch``: perturbation methods take sparse inputs, e.g. index lists, whose first
    dimension is not the batch, for a model returning one value for the batch).

    Args:
        inputs: a tensor or a tuple of tensors.
        name: the argument's name, used in error messages (default ``"inputs"``).
        same_batch: require every tensor to share the first (batch) dimension (default
            ``True``).
    """
    formatted = as_tuple(inputs)
    if len(formatted) == 0:
        raise InputValueError(f"{name} is an empty tuple; expected a tensor or a tuple of tensors")
    for index, tensor in enumerate(formatted):
        if not isinstance(tensor, Tensor):
            raise InputTypeError(
                f"{name}[{index}] is {type(tensor).__name__}; expected a torch.Tensor"
            )
        if tensor.dim() == 0:
            raise InputValueError(
                f"{name}[{index}] is a 0-d tensor; expected a batch dimension first, "
                "e.g. shape (1,) or (batch, ...)"
            )
    batch = formatted[0].shape[0]
    for index, tensor in enumerate(formatted[1:] if same_batch else (), start=1):
        if tensor.shape[0] != batch:
            raise InputValueError(
                f"{name}[{index}] has batch size {tensor.shape[0]}; expected {batch} "
                f"to match {name}[0] of shape {tuple(formatted[0].shape)}"
            )
    for index, tensor in enumerate(formatted):
        check_has_data(tensor, f"{name}[{index}]")
    return formatted


def require_floating(inputs: tuple[Tensor, ...], method: str, name: str = "inputs") -> None:
    """Gradient methods need floating-point inputs: an integer tensor has no gradient.

    Args:
        inputs: formatted inputs.
        method: the method's name, used in the error.
        name: the argument's name, used in error messages (default ``"inputs"``).
    """
    for index, tensor in enumerate(inputs):
        if not (tensor.is_floating_point() or tensor.is_complex()):
            raise InputTypeError(
                f"{name}[{index}] has dtype {tensor.dtype}; {method} takes gradients and needs "
                "a floating-point tensor. For token ids, attribute to the embedding layer "
                "(LayerIntegratedGradients, or mmattr.adapters.TextAdapter)"
            )


def format_baselines(
    baselines: BaselinesType, inputs: tuple[Tensor, ...], name: str = "baselines"
) -> tuple[Baseline, ...]:
    """Baselines as a tuple matching ``inputs``: scalars stay scalars; tensors must equal the
    input's shape, or its shape with a leading 1, or its per-example shape.

    Args:
        baselines: the baselines as given to ``attribute``.
        inputs: formatted inputs.
        name: the argument's name, used in error messages (default ``"baselines"``).
    """
    if baselines is None:  # an int, as Captum's: an integer input stays integer when ablated
        return tuple(0 for _ in inputs)
    formatted = baselines if isinstance(baselines, tuple) else (baselines,)
    if len(formatted) != len(inputs):
        raise InputValueError(
            f"{name} has {len(formatted)} entries; expected {len(inputs)}, one per input"
        )
    return tuple(
        _check_one_baseline(baseline, tensor, f"{name}[{index}]" if len(inputs) > 1 else name)
        for index, (baseline, tensor) in enumerate(zip(formatted, inputs))
    )


def _check_one_baseline(baseline: Any, tensor: Tensor, label: str) -> Baseline:
    if not isinstance(baseline, (int, float, Tensor)):  # bool is an int: bool inputs take it
        raise InputTypeError(f"{label} is {type(baseline).__name__}; expected a number or a tensor")
    if not isinstance(baseline, Tensor):
        return baseline
    shape, wanted = tuple(baseline.shape), tuple(tensor.shape)
    if shape == wanted or shape == (1,) + wanted[1:]:
        return baseline
    if shape == wanted[1:] or baseline.dim() == 0:
        return baseline.unsqueeze(0) if baseline.dim() > 0 else baseline.item()
    if len(shape) == len(wanted) and all(b in (1, w) for b, w in zip(shape, wanted)):
        return baseline  # broadcast along the dimensions of size 1, as Captum
    raise InputValueError(
        f"{label} has shape {shape}; expected {wanted} or {(1,) + wanted[1:]} "
        f"(or {wanted[1:]} per example, or sizes 1 to broadcast) to match the input of "
        f"shape {wanted}"
    )


def call_baselines(baselines: Any, inputs: Any) -> Any:
    """A baselines callable's result (Captum's rule: called without arguments when it takes
    none, else with the inputs); anything else as it is."""
    if not callable(baselines):
        return baselines
    if not inspect.signature(baselines).parameters:
        return baselines()
    return baselines(inputs)


def tensorize_baselines(
    baselines: tuple[Baseline, ...], inputs: tuple[Tensor, ...]
) -> tuple[Tensor, ...]:
    """Scalars and leading-1 baselines expanded to full input tensors.

    Args:
        baselines: formatted baselines.
        inputs: formatted inputs.
    """
    return tuple(
        torch.full_like(tensor, float(baseline))
        if not isinstance(baseline, Tensor)
        else baseline.to(tensor.dtype).expand_as(tensor)
        for baseline, tensor in zip(baselines, inputs)
    )


def format_additional_args(additional_forward_args: Any) -> tuple | None:
    """``None`` stays ``None``, a tuple stays as it is, anything else becomes a 1-tuple.

    Args:
        additional_forward_args: the value as given to ``attribute``.
    """
    if additional_forward_args is None:
        return None
    if isinstance(additional_forward_args, tuple):
        return additional_forward_args
    return (additional_forward_args,)


class FormattedCall(NamedTuple):
    """An ``attribute`` call's arguments, formatted and checked once."""

    was_tuple: bool
    inputs: tuple[Tensor, ...]
    baselines: tuple[Baseline, ...]
    args: tuple | None


def format_call(
    inputs: Any,
    baselines: BaselinesType = None,
    target: TargetType = None,
    additional_forward_args: Any = None,
    gradient_of: str | None = None,
    same_batch: bool = True,
) -> FormattedCall:
    """The preamble every ``attribute`` shares: inputs as a tuple, baselines matching them,
    ``target`` checked against the batch, extra arguments as a tuple. With ``gradient_of``
    (the method's name) the inputs must be floating point."""
    formatted = format_inputs(inputs, same_batch=same_batch)
    if gradient_of is not None:
        require_floating(formatted, gradient_of)
    formatted_baselines = format_baselines(baselines, formatted)
    validate_target(target, formatted[0].shape[0])
    args = format_additional_args(additional_forward_args)
    return FormattedCall(is_tuple(inputs), formatted, formatted_baselines, args)


def expand_additional_args(args: tuple | None, n_repeats: int, interleave: bool = False):
    """Tensors with a batch dimension repeat with the inputs: ``[a, b] -> [a, b, a, b]``,
    or ``[a, a, b, b]`` with ``interleave``; other values pass through.

    Args:
        args: formatted additional forward arguments.
        n_repeats: how many copies of the batch.
        interleave: repeat each example in place (``[a, a, b, b]``) rather than the whole
            batch (default ``False``).
    """
    if args is None or n_repeats == 1:
        return args
    return tuple(
        repeat_batch(arg, n_repeats, interleave)
        if isinstance(arg, Tensor) and arg.dim() > 0
        else arg
        for arg in args
    )


def repeat_per_example(values: Any, inputs: tuple[Tensor, ...], n_repeats: int) -> Any:
    """A tensor, or a tuple with one per input, for the inputs with each example repeated
    ``n_repeats`` times in place (``[a, a, b, b]``): a tensor with a row per example (as
    many dimensions as its input, the same batch, above 1) repeats; a shared one, or one that
    broadcasts from the right, stays as given.

    Args:
        values: a tensor, or a tuple with one entry per input (non-tensors pass through).
        inputs: the formatted inputs, before repeating.
        n_repeats: how many copies of each example.
    """
    as_tuple = values if isinstance(values, tuple) else (values,)
    repeated = tuple(
        value.repeat_interleave(n_repeats, dim=0)
        if isinstance(value, Tensor) and value.dim() == x.dim() and value.shape[0] == x.shape[0] > 1
        else value
        for x, value in zip(inputs, as_tuple)
    )
    return repeated if isinstance(values, tuple) else repeated[0]


def expand_attribute_kwargs(
    kwargs: dict[str, Any], inputs: tuple[Tensor, ...], n_repeats: int
) -> dict[str, Any]:
    """``attribute`` keyword arguments for the inputs with each example repeated
    ``n_repeats`` times in place: ``target``, ``additional_forward_args`` and a per-example
    ``feature_mask`` repeat with them. ``baselines`` are the caller's to expand (they may be
    a distribution to draw from).

    Args:
        kwargs: the keyword arguments meant for ``attribute``.
        inputs: the formatted inputs, before repeating.
        n_repeats: how many copies of each example.
    """
    expanded = dict(kwargs)
    if "target" in kwargs:
        expanded["target"] = expand_target(kwargs["target"], n_repeats, interleave=True)
    if kwargs.get("additional_forward_args") is not None:
        args = format_additional_args(kwargs["additional_forward_args"])
        expanded["additional_forward_args"] = expand_additional_args(
            args, n_repeats, interleave=True
        )
    if kwargs.get("feature_mask") is not None:
        expanded["feature_mask"] = repeat_per_example(kwargs["feature_mask"], inputs, n_repeats)
    return expanded


def slice_additional_args(args: tuple | None, start: int, stop: int) -> tuple | None:
    if args is None:
        return None
    return tuple(
        arg[start:stop] if isinstance(arg, Tensor) and arg.dim() > 0 else arg for arg in args
    )


def check_finite(values: Tensor, what: str) -> Tensor:
    """NaN/Inf is reported, never propagated silently.

    Args:
        values: the tensor to check.
        what: what the values are, named in the error.
    """
    if values.is_floating_point() and not torch.isfinite(values).all():
        bad = (~torch.isfinite(values)).sum().item()
        raise FloatingPointError(
            f"{what} contains {bad} NaN/Inf value(s) of {values.numel()}; check the model and "
            "the inputs (a baseline outside the input domain is a common cause)"
        )
    return values


@document
def run_forward(
    forward_func: Callable,
    inputs: tuple[Tensor, ...],
    target: TargetType = None,
    additional_forward_args: tuple | None = None,
) -> Tensor:
    """``forward_func(*inputs, *additional_forward_args)`` with the target selected; a
    ``ModelOutput`` or dict gives its ``logits`` (see :func:`output_tensor`).

    Args:
        inputs: formatted inputs.
        additional_forward_args: formatted additional forward arguments (default ``None``).
    """
    extra = additional_forward_args or ()
    output = output_tensor(forward_func(*inputs, *extra))
    if isinstance(output, (int, float)):
        # Captum's dtypes for a Python number: int64 for an int, float64 for a float
        dtype = torch.int64 if isinstance(output, int) else torch.float64
        output = torch.tensor([output], dtype=dtype, device=inputs[0].device)
    if isinstance(output, torch.futures.Future):
        raise InputTypeError(
            "the model returned a torch.futures.Future; call attribute_future instead of "
            "attribute (FeatureAblation, FeaturePermutation, ShapleyValues, ShapleyValueSampling)"
        )
    if not isinstance(output, Tensor):
        raise InputTypeError(
            f"the model returned {type(output).__name__}; expected a tensor. Wrap the model so "
            "it returns one tensor (e.g. lambda *x: model(*x)[0] or .logits)"
        )
    check_finite(output.detach(), "the model output")
    return select_target(output, target)


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """A count (``n_steps``, ``n_samples``, a batch size) as given: an int ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} is {type(value).__name__} ({value!r}); expected an int")
    if value < minimum:
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name}={value}; expected {expected}")
    return value


def check_has_data(tensor: Tensor, label: str) -> None:
    """A ``meta`` tensor has a shape but no values to attribute."""
    if tensor.is_meta:
        raise ValueError(
            f"{label} is on the meta device (a shape without values); expected a tensor with "
            "data, e.g. on 'cpu' or 'cuda' (materialise it with .to_empty() and load values)"
        )
