"""What LRP's backward does at each tensor: the element-wise arithmetic of the rules.

A rule layer's input ``a`` multiplies the relevance that reaches it (summed over its uses), its
output ``z`` divides it by ``z + ε·sign z``. Where one tensor is both (a rule layer fed by
another), the two fold into ``R·|z| / (|z| + ε)`` (the same numbers: ``z / (z + ε·sign z)`` is
``|z| / (|z| + ε)``). A ReLU between a rule layer's output ``x`` and rule layers' input
``y = max(x, 0)`` takes the place of ReLU's own backward: ``R·y / (y + ε)`` (``x ≤ 0`` gives
``y = 0`` and no relevance either way). Batch-norm in eval mode, a per-channel scale, does
its backward and the arithmetic at its input in one pass: ``R·(1/σ)·γ·|x| / (|x| + ε)``;
conv → batch-norm → ReLU makes that one pass with the ReLU's step in front.
Each rule frees what it holds once it has run, so the backward's memory shrinks as it goes,
as a plain backward's does.
"""

from __future__ import annotations

import weakref
from typing import Callable

import torch
from torch import Tensor, nn

Record = Callable[[Tensor], None] | None


#: Tensors above this many elements are processed in pieces that stay in the CPU's cache.
_PIECE = 131072


def _piecewise(fn: Callable[..., None], out: Tensor, *tensors: Tensor) -> Tensor:
    """``fn(out, *tensors)``, element-wise, on pieces of ``_PIECE`` elements when the tensors
    are large, contiguous and of one shape: each piece's passes stay in the cache instead of
    each pass streaming the whole tensor through memory (same numbers)."""
    flat = (out,) + tensors
    if out.numel() <= 2 * _PIECE or any(
        t.shape != out.shape or not t.is_contiguous() for t in flat
    ):
        fn(out, *tensors)
        return out
    for pieces in zip(*(t.view(-1).split(_PIECE) for t in flat)):
        fn(*pieces)
    return out


def _stabilise(out: Tensor, z: Tensor, eps: float) -> None:
    torch.abs(z, out=out).add_(eps).copysign_(z)


def stabilised(z: Tensor, eps: float) -> Tensor:
    """``z + ε·sign z`` with ``sign 0 = 1`` (Captum's; a negative zero gets ``−ε``), as
    ``(|z| + ε)·sign z``, outside the graph (a broadcast ``copysign(ε, z) + z`` is 4x slower
    on the CPU)."""
    with torch.no_grad():
        return _piecewise(lambda out, z: _stabilise(out, z, eps), torch.empty_like(z), z)


def _divide(out: Tensor, relevance: Tensor, z: Tensor, eps: float) -> None:
    _stabilise(out, z, eps)
    torch.div(relevance, out, out=out)


def _times_ratio(out: Tensor, relevance: Tensor, z: Tensor, eps: float) -> None:
    size = z.abs()
    torch.mul(relevance, size, out=out).div_(size.add_(eps))


def _times_relu_ratio(out: Tensor, relevance: Tensor, y: Tensor, eps: float) -> None:
    torch.mul(relevance, y, out=out).div_(y + eps)


def divided(relevance: Tensor, z: Tensor, eps: float) -> Tensor:
    """``R / (z + ε·sign z)``."""
    with torch.no_grad():
        return _piecewise(lambda *t: _divide(*t, eps), torch.empty_like(relevance), relevance, z)


def times_ratio(relevance: Tensor, z: Tensor, eps: float) -> Tensor:
    """``R·z / (z + ε·sign z)`` as ``R·|z| / (|z| + ε)``: the same rounding as Captum's
    ``(R·z) / (z + ε·sign z)`` (only the signs of both factors differ), two passes fewer."""
    with torch.no_grad():
        return _piecewise(
            lambda *t: _times_ratio(*t, eps), torch.empty_like(relevance), relevance, z
        )


class TensorRule:
    """The backward at one version of a tensor: times ``scale`` (it is a rule layer's input),
    then divided by ``z + ε·sign z`` (it is a rule layer's output, ``eps`` set): from
    ``stabilised`` computed in the forward, else from the tensor, unchanged since."""

    def __init__(self, tensor: Tensor) -> None:
        self.tensor: Tensor | None = tensor  # kept alive so its id stays unique
        self.version = tensor._version
        self.scale: Tensor | None = None
        self.scale_is_tensor = False
        self.eps: float | None = None
        self.stabilised: Tensor | None = None
        self.records_in: list[Record] = []
        self.record_out: Record = None
        self.producer: object = None  # the rule layer whose output this is

    def held(self) -> bool:
        """A LayerLRP record reads the relevance here."""
        return self.record_out is not None or any(r is not None for r in self.records_in)

    def __call__(self, grad: Tensor) -> Tensor | None:
        try:
            return self._relevance(grad)
        finally:  # the backward passes each tensor once: free what it needed
            self.tensor = self.scale = self.stabilised = None

    def _relevance(self, grad: Tensor) -> Tensor | None:
        scaled, dividing = self.scale is not None, self.eps is not None
        if scaled and dividing and self.scale_is_tensor and self.stabilised is None:
            if not self.held():
                return times_ratio(grad, self.scale, self.eps)
        if scaled:
            grad = grad * self.scale
            for record in self.records_in:
                if record is not None:
                    record(grad)
        if not dividing:
            return grad if scaled else None
        if self.record_out is not None:
            self.record_out(grad)
        below = self.stabilised
        if below is None:
            return divided(grad, self.tensor, self.eps)
        return torch.div(grad, below, out=below)  # a buffer of this rule's own


class ReluLink:
    """ReLU's backward in LRP: relevance passes through (``R``); times ``y`` when ``y`` is a
    rule layer's input (``scale``), also divided by ``y + ε`` when ReLU's input ``x`` is a
    rule layer's output read by nothing else (``eps``): ``R·y / (x + ε·sign x)`` is 0 where
    ``x ≤ 0`` and ``R·y / (y + ε)`` elsewhere."""

    def __init__(self, output: Tensor) -> None:
        self.output: Tensor | None = output
        self.version = output._version
        self.scale = False
        self.eps: float | None = None
        self.norm: BatchNormLink | None = None  # the batch-norm before it, folded in

    def __call__(self, relevance: Tensor) -> Tensor:
        output, self.output = self.output, None
        if self.norm is not None:
            return self.norm.at_input(relevance, (output, self.eps))
        if not self.scale:
            return relevance
        if self.eps is None:
            return relevance * output
        eps = self.eps
        with torch.no_grad():
            out = torch.empty_like(relevance)
            return _piecewise(lambda *t: _times_relu_ratio(*t, eps), out, relevance, output)


class Linked(torch.autograd.Function):
    """Forward: a layer's output, computed outside the graph (``link.output``); backward:
    ``link(R)`` to the layer's input."""

    @staticmethod
    def forward(ctx, source: Tensor, link: ReluLink | BatchNormLink) -> Tensor:
        ctx.link = link
        return link.output

    @staticmethod
    def backward(ctx, relevance: Tensor):
        return ctx.link(relevance), None


class BatchNormLink:
    """Batch-norm's backward in eval mode, ``R·(1/σ)·γ`` per channel (ATen's order and
    ``1/σ``), and then the arithmetic of its input ``x`` in the same pass: times ``x`` when
    batch-norm is the only reader of ``x`` (``scale``), also divided by ``x + ε·sign x``
    when ``x`` is a rule layer's output (``eps``): ``R·(1/σ)·γ·|x| / (|x| + ε)``. One pass
    over cache-sized pieces instead of batch-norm's backward and two more.

    In front of that, in the same pass: a ReLU link that reads batch-norm's output ``z``
    alone does its own step (``ReluLink.norm``; this link's node then passes the result on,
    ``after_relu``), or else ``R`` is divided by ``z + ε·sign z`` (``output_eps``), ``z``
    recomputed from ``x`` piece by piece (the same kernel: the same numbers), so nothing
    keeps ``z``, which a later in-place op may change."""

    def __init__(self, layer: nn.Module, x: Tensor, output: Tensor) -> None:
        self.input: Tensor | None = x
        self.version = x._version
        self.output: Tensor | None = output
        self.layer = layer
        self.inverse_std = _inverse_std(layer, x.dtype)
        self.weight = None if layer.weight is None else layer.weight.detach()
        self.scale = False
        self.eps: float | None = None
        self.after_relu = False
        self.output_eps: float | None = None

    def __call__(self, relevance: Tensor) -> Tensor:
        return relevance if self.after_relu else self.at_input(relevance)

    def at_input(self, relevance: Tensor, relu: tuple[Tensor, float] | None = None) -> Tensor:
        """The relevance at ``x``; with ``relu = (y, ε)``, ``R`` is first ``R·y / (y + ε)``."""
        x, self.input = self.input, None
        tensors = (relevance, x) if relu is None else (relevance, x, relu[0])
        relu_eps = None if relu is None else relu[1]
        with torch.no_grad():
            out = torch.empty_like(relevance)
            if all(t.is_contiguous() and t.shape == x.shape for t in tensors):
                n, c = x.shape[:2]
                views = [t.view(n, c, -1) for t in (out,) + tensors]
                for batch, channels in _blocks(n, c, views[0].shape[2]):
                    pieces = [v[batch, channels] for v in views]
                    self._apply(*pieces, channels=channels, relu_eps=relu_eps)
            else:
                self._apply(out, *tensors, channels=slice(None), relu_eps=relu_eps)
        return out

    def _apply(
        self,
        out: Tensor,
        relevance: Tensor,
        x: Tensor,
        y: Tensor | None = None,
        *,
        channels: slice,
        relu_eps: float | None,
    ) -> None:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        inverse_std = self.inverse_std[channels].view(shape)
        if y is not None:  # the ReLU link's ``R·y / (y + ε)`` first
            torch.mul(relevance, y, out=out).div_(y + relu_eps).mul_(inverse_std)
        elif self.output_eps is not None:  # or ``R / (z + ε·sign z)``
            _divide(out, relevance, self._output(x, channels), self.output_eps)
            out.mul_(inverse_std)
        else:
            torch.mul(relevance, inverse_std, out=out)
        if self.weight is not None:
            out.mul_(self.weight[channels].view(shape))
        if not self.scale:
            return
        if self.eps is None:
            out.mul_(x)
            return
        size = x.abs()
        out.mul_(size).div_(size.add_(self.eps))

    def _output(self, x: Tensor, channels: slice) -> Tensor:
        """Batch-norm's output on a piece of its input (its channels' parameters)."""
        layer = self.layer
        weight, bias = layer.weight, layer.bias
        return torch.batch_norm(
            x,
            None if weight is None else weight[channels],
            None if bias is None else bias[channels],
            layer.running_mean[channels],
            layer.running_var[channels],
            False,
            0.0,
            layer.eps,
            torch.backends.cudnn.enabled,
        )


#: ``1/σ`` of each eval batch-norm, kept while its running variance, ε and dtype stay the same.
_INVERSE_STDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inverse_std(layer: nn.Module, dtype: torch.dtype) -> Tensor:
    """``1/σ = rsqrt(var + ε)`` per channel, rounded as ATen's CPU kernel rounds it (in
    float64, then to ``dtype``)."""
    variance = layer.running_var
    key = (variance.data_ptr(), variance._version, variance.device, layer.eps, dtype)
    kept = _INVERSE_STDS.get(layer)
    if kept is None or kept[0] != key:
        value = torch.rsqrt(variance.detach().to(torch.float64) + layer.eps).to(dtype)
        kept = _INVERSE_STDS[layer] = (key, value)
    return kept[1]


def _blocks(batch: int, channels: int, size: int) -> list[tuple[slice, slice]]:
    """Pieces of a ``(batch, channels, size)`` tensor of about ``_PIECE`` elements: whole
    examples, or blocks of one example's channels (the whole tensor when it is small)."""
    if batch * channels * size <= 2 * _PIECE:
        return [(slice(None), slice(None))]
    if channels * size <= _PIECE:
        step = max(1, _PIECE // (channels * size))
        return [(slice(n, n + step), slice(None)) for n in range(0, batch, step)]
    step = max(1, _PIECE // size)
    return [
        (slice(n, n + 1), slice(c, c + step))
        for n in range(batch)
        for c in range(0, channels, step)
    ]


class DivideByOutput(torch.autograd.Function):
    """Forward: the layer's own output; backward ``R_out / stabilised`` into ``z``, the output
    under the rule's parameters (for rules that change them)."""

    @staticmethod
    def forward(ctx, z: Tensor, value: Tensor, below: Tensor, record: Record) -> Tensor:
        ctx.save_for_backward(below)
        ctx.record = record
        return value.clone()

    @staticmethod
    def backward(ctx, relevance: Tensor):
        (below,) = ctx.saved_tensors
        if ctx.record is not None:
            ctx.record(relevance)
        return relevance / below, None, None, None


class PassThrough(torch.autograd.Function):
    """Forward: the layer's output; backward: relevance straight to the layer's input."""

    @staticmethod
    def forward(ctx, source: Tensor, value: Tensor, record: Record) -> Tensor:
        ctx.record = record
        return value.clone()

    @staticmethod
    def backward(ctx, relevance: Tensor):
        if ctx.record is not None:
            ctx.record(relevance)
        return relevance, None, None
