"""The base of every attribution class: the forward function, declared properties, and the
convergence delta shared by the methods with a completeness property."""

from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor

from ._docs import document
from ._hooks import preserve_model_state
from ._inputs import (
    as_tuple,
    format_additional_args,
    format_baselines,
    format_inputs,
    run_forward,
    tensorize_baselines,
)
from ._targets import TargetType, validate_target
from .errors import InputTypeError, InputValueError


@document
class Attribution:
    """An attribution method bound to a forward function (a model or any callable).

    ``attribute`` of every subclass is wrapped once (``attribute.__wrapped__`` is the plain
    function, as Captum's usage-logging decorator leaves it).
    """

    #: ``attribute`` can return ``(attributions, delta)`` with ``return_convergence_delta``
    #: (read it with :meth:`has_convergence_delta`, Captum's method).
    _has_convergence_delta: ClassVar[bool] = False
    #: ``attribute`` multiplies by the inputs (or their difference from the baselines): Captum's
    #: ``multiplies_by_inputs``; methods with a ``multiply_by_inputs`` switch set it per instance.
    _multiply_by_inputs: bool = False
    #: The method differentiates the model (False: forward passes only).
    needs_gradients: ClassVar[bool] = True
    #: Attributions have one tensor per input, of the input's shape (False for layer methods).
    attributes_inputs: ClassVar[bool] = True

    def __init__(self, forward_func: Callable) -> None:
        if not callable(forward_func):
            raise InputTypeError(
                f"forward_func is {type(forward_func).__name__}; expected a model or a callable"
            )
        self.forward_func = forward_func

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        attribute = cls.__dict__.get("attribute")
        if callable(attribute) and not hasattr(attribute, "__wrapped__"):
            cls.attribute = _wrapped(attribute)

    def _model_guard(self):
        """Hooks, modes and flags of the model come back unchanged, whatever happens."""
        return preserve_model_state(self.forward_func)

    def has_convergence_delta(self) -> bool:
        """``attribute`` can also return the convergence delta (``return_convergence_delta``)."""
        return self._has_convergence_delta

    @property
    def multiplies_by_inputs(self) -> bool:
        """Captum's flag: the attributions are multiplied by the inputs (global attribution)."""
        return self._multiply_by_inputs

    @classmethod
    def get_name(cls) -> str:
        """The class name with spaces, Captum's: ``IntegratedGradients`` -> "Integrated
        Gradients" (progress bars read it)."""
        return "".join(
            char if char.islower() or index == 0 else " " + char
            for index, char in enumerate(cls.__name__)
        )

    def attribute_future(self, *args: Any, **kwargs: Any) -> Any:
        """Captum's asynchronous variant; only perturbation methods that Captum gives it have it."""
        raise NotImplementedError(f"attribute_future is not implemented for {type(self).__name__}")

    def compute_convergence_delta(
        self,
        attributions: Tensor | tuple[Tensor, ...],
        start_point: Any,
        end_point: Tensor | tuple[Tensor, ...],
        target: TargetType = None,
        additional_forward_args: Any = None,
    ) -> Tensor:
        """``Σ attributions − (F(end_point) − F(start_point))`` per example, shape (batch,)."""
        end = format_inputs(end_point, "end_point")
        start = tensorize_baselines(format_baselines(start_point, end, "start_point"), end)
        attributions = as_tuple(attributions)
        _check_attributions(attributions, end, self.attributes_inputs)
        validate_target(target, end[0].shape[0])
        args = format_additional_args(additional_forward_args)
        with torch.no_grad():
            start_out = _sum_rows(run_forward(self.forward_func, start, target, args))
            end_out = _sum_rows(run_forward(self.forward_func, end, target, args))
            attr_sum = sum(_sum_rows(a) for a in attributions)
        return attr_sum - (end_out - start_out)


class AttributionByInputs(Attribution):
    """A method with Captum's ``multiply_by_inputs`` switch: global attributions (multiplied by
    the inputs' difference from the baselines) or local ones."""

    def __init__(self, forward_func: Callable, multiply_by_inputs: bool = True) -> None:
        super().__init__(forward_func)
        self._multiply_by_inputs = multiply_by_inputs


def _wrapped(attribute: Callable) -> Callable:
    """``attribute`` behind a thin wrapper whose ``__wrapped__`` is the plain function: Captum
    code reads the signature through ``attribute.__wrapped__``."""

    @functools.wraps(attribute)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return attribute(*args, **kwargs)

    return wrapper


def _check_attributions(
    attributions: tuple[Tensor, ...], end: tuple[Tensor, ...], one_per_input: bool
) -> None:
    """One attribution per input (unless attributing a layer), each with the input's batch
    size: a batch of 1 would otherwise broadcast into a delta that looks valid."""
    if one_per_input and len(attributions) != len(end):
        raise InputValueError(
            f"attributions has {len(attributions)} tensors; expected {len(end)}, one per end_point"
        )
    batch = end[0].shape[0]
    for index, attribution in enumerate(attributions):
        if attribution.dim() == 0 or attribution.shape[0] != batch:
            raise InputValueError(
                f"attributions[{index}] has shape {tuple(attribution.shape)}; expected batch size "
                f"{batch} to match end_point of shape {tuple(end[0].shape)}"
            )


def _sum_rows(values: Tensor) -> Tensor:
    if values.dim() == 0:
        return values.reshape(1)
    if values.numel() == 0:  # reshape(0, -1) is ambiguous: an empty batch
        return values.new_zeros(values.shape[:1])
    return values.reshape(values.shape[0], -1).sum(1)
