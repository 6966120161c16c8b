"""Modified backward passes of nonlinearities (DeepLift's rescale rule, guided backprop,
deconvolution), as a context manager that overrides the nonlinearity *calls*.

Captum hooks ``nn.ReLU``-style modules. That breaks silently or loudly when a module is reused,
runs in place, or the model calls ``F.relu`` directly (Captum issues #199, #578, #1104). Here a
``TorchFunctionMode`` intercepts every call of a supported nonlinearity during the forward and
routes it through an ``autograd.Function`` carrying the rule, so each call site gets its own
rule whatever module (or none) it came from. The rules and the supported set are Captum's.
"""

from __future__ import annotations

import contextlib
import math
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode

_RELU = {F.relu, torch.relu, torch.relu_, Tensor.relu, Tensor.relu_}
if hasattr(F, "relu_"):
    _RELU.add(F.relu_)
_ELEMENTWISE = _RELU | {
    F.elu,
    F.leaky_relu,
    F.softplus,
    torch.sigmoid,
    F.sigmoid,
    Tensor.sigmoid,
    torch.tanh,
    F.tanh,
    Tensor.tanh,
}
#: In-place nonlinearities and the out-of-place call a rule computes instead.
_OUT_OF_PLACE = {
    torch.relu_: torch.relu,
    Tensor.relu_: torch.relu,
    F.elu_: F.elu,
    F.leaky_relu_: F.leaky_relu,
}
if hasattr(F, "relu_"):
    _OUT_OF_PLACE[F.relu_] = torch.relu
_SOFTMAX = {F.softmax, torch.softmax, Tensor.softmax}
_MAXPOOL = {F.max_pool1d: 1, F.max_pool2d: 2, F.max_pool3d: 3}
_POOL_WITH_INDICES = {
    1: F.max_pool1d_with_indices,
    2: F.max_pool2d_with_indices,
    3: F.max_pool3d_with_indices,
}


def _call_out_of_place(func: Callable, args: tuple, kwargs: dict) -> Callable[[Tensor], Tensor]:
    """``x -> func(x, *rest)`` computed out of place (an in-place call becomes a copy: the
    rule needs the input, and the caller uses the returned tensor)."""
    kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}
    func = _OUT_OF_PLACE.get(func, func)
    if func in (F.elu, F.leaky_relu) and len(args) > 2:
        args = args[:2]  # drop the positional ``inplace`` flag
    rest = args[1:]
    return lambda x: func(x, *rest, **kwargs)


def _scatter_to_input(values: Tensor, indices: Tensor, dims: int, shape: torch.Size) -> Tensor:
    """Sum ``values`` into the input positions ``indices`` point at. ``max_unpool`` (Captum's
    choice) overwrites where pooling windows overlap, so summation-to-delta fails there."""
    lead = tuple(shape[:-dims])
    result = values.new_zeros(lead + (math.prod(shape[-dims:]),))
    result.scatter_add_(-1, indices.flatten(-dims), values.flatten(-dims))
    return result.view(shape)


def _halves_delta(values: Tensor) -> Tensor:
    """``[x; b] -> [x − b; x − b]``: the difference from the reference, for both halves."""
    value, reference = values.chunk(2)
    return torch.cat(2 * [value - reference])


class _Rescale(torch.autograd.Function):
    """DeepLift rescale: ``∂out/∂in := Δout/Δin``, the plain gradient where ``|Δin| < eps``."""

    @staticmethod
    def forward(ctx, x: Tensor, fn: Callable, eps: float, softmax: bool) -> Tensor:
        out = fn(x)
        ctx.save_for_backward(x, out)
        ctx.fn, ctx.eps, ctx.softmax = fn, eps, softmax
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, out = ctx.saved_tensors
        with torch.enable_grad():
            leaf = x.detach().requires_grad_()
            (plain,) = torch.autograd.grad(ctx.fn(leaf), leaf, grad_out)
        delta_in, delta_out = _halves_delta(x), _halves_delta(out)
        rescaled = torch.where(delta_in.abs() < ctx.eps, plain, grad_out * delta_out / delta_in)
        if ctx.softmax:
            rescaled = rescaled - rescaled.sum() / plain.numel()
        return rescaled, None, None, None


class _RescaleMaxPool(torch.autograd.Function):
    """DeepLift's max-pool rule: the output change is routed back through the max locations."""

    @staticmethod
    def forward(ctx, x: Tensor, dims: int, pool_args: tuple, eps: float) -> Tensor:
        out, indices = _POOL_WITH_INDICES[dims](x, *pool_args)
        ctx.save_for_backward(x, out, indices)
        ctx.dims, ctx.pool_args, ctx.eps = dims, pool_args, eps
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, out, indices = ctx.saved_tensors
        with torch.enable_grad():
            leaf = x.detach().requires_grad_()
            pooled = _POOL_WITH_INDICES[ctx.dims](leaf, *ctx.pool_args)[0]
            (plain,) = torch.autograd.grad(pooled, leaf, grad_out)
        output, reference = out.chunk(2)
        highest = torch.max(output, reference)
        delta_out = torch.cat([highest - reference, output - highest])
        spread = _scatter_to_input(grad_out * delta_out, indices, ctx.dims, x.shape)
        spread = torch.cat(2 * [sum(spread.chunk(2))])
        delta_in = _halves_delta(x)
        return torch.where(delta_in.abs() < ctx.eps, plain, spread / delta_in), None, None, None


def _pool_args(args: tuple, kwargs: dict) -> tuple:
    names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    defaults = (None, None, 0, 1, False)
    values = [
        kwargs.get(n, args[i + 1] if len(args) > i + 1 else d)
        for i, (n, d) in enumerate(zip(names, defaults))
    ]
    if values[1] is None or values[1] == []:
        values[1] = values[0]
    return tuple(values)


class _DeepLiftMode(TorchFunctionMode):
    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = eps

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _ELEMENTWISE or func in _OUT_OF_PLACE:
            fn = _call_out_of_place(func, args, kwargs)
            return _Rescale.apply(args[0], fn, self.eps, False)
        if func in _SOFTMAX:
            fn = _call_out_of_place(func, args, kwargs)
            return _Rescale.apply(args[0], fn, self.eps, True)
        if func in _MAXPOOL and not kwargs.get("return_indices", False):
            return _RescaleMaxPool.apply(
                args[0], _MAXPOOL[func], _pool_args(args, kwargs), self.eps
            )
        return func(*args, **kwargs)


class _GuidedRelu(torch.autograd.Function):
    """Guided backprop keeps positive gradients through active units; deconvolution keeps
    positive gradients regardless of the forward."""

    @staticmethod
    def forward(ctx, x: Tensor, use_grad_output: bool) -> Tensor:
        ctx.save_for_backward(x)
        ctx.use_grad_output = use_grad_output
        return torch.relu(x)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (x,) = ctx.saved_tensors
        grad = grad_out if ctx.use_grad_output else grad_out * (x > 0).to(grad_out.dtype)
        return torch.relu(grad), None


class _GuidedMode(TorchFunctionMode):
    def __init__(self, use_grad_output: bool) -> None:
        super().__init__()
        self.use_grad_output = use_grad_output

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _RELU:
            return _GuidedRelu.apply(args[0], self.use_grad_output)
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def deeplift_rules(eps: float = 1e-10) -> Iterator[None]:
    """Within the block, supported nonlinearities backpropagate DeepLift multipliers. The
    forward must run on ``[inputs; baselines]`` stacked along the batch."""
    with _DeepLiftMode(eps):
        yield


@contextlib.contextmanager
def guided_relu(use_grad_output: bool = False) -> Iterator[None]:
    """Within the block, ReLU backpropagates ``relu(grad)`` (guided backprop), or
    ``relu(grad_output)`` with ``use_grad_output`` (deconvolution)."""
    with _GuidedMode(use_grad_output):
        yield
