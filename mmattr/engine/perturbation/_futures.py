"""Forward functions that return a ``torch.futures.Future``: Captum's ``attribute_future``.

FeatureAblation, FeaturePermutation, ShapleyValues and ShapleyValueSampling take such a
forward function in ``attribute_future`` and give back a Future of the attributions. Here the
method runs as usual on the forward's awaited values (the same numbers and the same number of
model calls as ``attribute``); the Future it returns is already complete.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar

import torch

from .._base import Attribution
from ..errors import InputTypeError


class AwaitedForward:
    """``forward(*args)``: the value of the Future that ``forward_func(*args)`` returns."""

    def __init__(self, forward_func: Callable) -> None:
        self.forward_func = forward_func

    def __call__(self, *args: Any) -> Any:
        # the Future is often filled by another thread, outside this one's inference mode,
        # where inference tensors cannot enter autograd: it gets ordinary copies
        with torch.inference_mode(False):
            args = tuple(_ordinary(arg) for arg in args)
            result = self.forward_func(*args)
        if not isinstance(result, torch.futures.Future):
            raise InputTypeError(
                f"attribute_future needs a forward function that returns a torch.futures.Future; "
                f"it returned {type(result).__name__}. Call attribute instead"
            )
        return result.wait()


def _ordinary(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.is_inference():
        return value.clone()
    return value


def attribute_future(method: Any, *args: Any, **kwargs: Any) -> torch.Future:
    """``method.attribute(*args, **kwargs)`` with the forward's Futures awaited, as a Future."""
    awaited = copy.copy(method)
    awaited.forward_func = AwaitedForward(method.forward_func)
    with method._model_guard():
        result = awaited.attribute(*args, **kwargs)
    # a Future derived with ``then`` is a ``torch.Future``, the type Captum's futures have
    done: torch.futures.Future = torch.futures.Future()
    done.set_result(None)
    return done.then(lambda _: result)


class FutureAttribution(Attribution):
    """A forward-only method multiplied by the inputs, with Captum's ``attribute_future``."""

    needs_gradients: ClassVar[bool] = False
    _multiply_by_inputs: ClassVar[bool] = True

    def attribute_future(self, *args: Any, **kwargs: Any) -> torch.Future:
        """``attribute`` for a forward function that returns a ``torch.futures.Future``; the
        same arguments; returns a Future of the attributions (Captum's)."""
        return attribute_future(self, *args, **kwargs)
