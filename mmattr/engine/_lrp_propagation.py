"""LRP's backward pass: relevance flows from the output to the inputs in place of the gradient.

For a layer with a rule, ``R_in = a ⊙ Jᵀ_z (R_out / (z + ε·sign z))``, with ``a`` the layer's
input and ``z`` its output under the rule's parameters; ReLU, Dropout, Tanh and IdentityRule
layers pass relevance through, ``R_in = R_out``. Forward hooks put a gradient hook on each
tensor a rule layer reads or writes: times ``a`` on its input (once per tensor over all its
uses, as Captum does), divided by ``z + ε·sign z`` (computed in the forward) on its output; a
small autograd function routes relevance around pass-through layers and, for rules with other
parameters, through ``z``. One ordinary forward and backward is the propagation. Captum runs
the model twice and changes its weights in between; here the model is never changed and the
forward values are the model's own.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from ._gradients import as_leaves, check_scalar_per_example, grad_of_outputs
from ._hooks import forward_hook, gradient_hooks
from ._inputs import TargetType, run_forward
from .gradient.lrp_rules import layer_rules, passes_relevance_through, rule_parameters

Record = Callable[[Tensor], None] | None


class _DivideByOutput(torch.autograd.Function):
    """Forward: the layer's own output; backward ``R_out / stabilised`` into ``z``, the output
    under the rule's parameters (for rules that change them)."""

    @staticmethod
    def forward(ctx, z: Tensor, value: Tensor, stabilised: Tensor, record: Record) -> Tensor:
        ctx.save_for_backward(stabilised)
        ctx.record = record
        return value.clone()

    @staticmethod
    def backward(ctx, relevance: Tensor):
        (stabilised,) = ctx.saved_tensors
        if ctx.record is not None:
            ctx.record(relevance)
        return relevance / stabilised, None, None, None


def _stabilised(z: Tensor, eps: float) -> Tensor:
    """``z + ε·sign z`` with ``sign 0 = 1`` (Captum's; a negative zero gets ``−ε``), as
    ``(|z| + ε)·sign z``, outside the graph (a broadcast ``copysign(ε, z) + z`` is 4x slower
    on the CPU)."""
    with torch.no_grad():
        return z.abs().add_(eps).copysign_(z)


@dataclass
class _TensorRule:
    """What the backward does at one tensor (one version of it): times ``scale`` (it is a
    rule layer's input), then divided by ``divide`` (it is a rule layer's output)."""

    tensor: Tensor  # kept alive so its id stays unique
    version: int
    scale: Tensor | None = None
    divide: Tensor | None = None
    records_in: list = field(default_factory=list)
    record_out: Record = None

    def __call__(self, grad: Tensor) -> Tensor:
        scaled = self.scale is not None
        if scaled:
            grad = grad * self.scale
            for record in self.records_in:
                if record is not None:
                    record(grad)
        if self.divide is not None:
            if self.record_out is not None:
                self.record_out(grad)
            # in place only on a tensor made here that no record holds
            held = self.record_out is not None or any(r is not None for r in self.records_in)
            grad = grad.div_(self.divide) if scaled and not held else grad / self.divide
        return grad


class _PassThrough(torch.autograd.Function):
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


@dataclass
class LayerRelevance:
    """What LayerLRP reads: the relevance at a layer's output and at each of its inputs,
    normalised (the target output's relevance is 1)."""

    output: Tensor | None = None
    inputs: dict[int, Tensor] = field(default_factory=dict)


class _Hooks:
    """The forward hooks of one propagation: state shared by the hooks of every layer."""

    def __init__(self, recorded: Sequence[nn.Module], register: Callable, safe: bool) -> None:
        self.records = {layer: LayerRelevance() for layer in recorded}
        self.register, self.safe = register, safe
        self.calls: dict[nn.Module, int] = {}
        self.sources: dict[nn.Module, Tensor] = {}
        self.tensors: dict[tuple[int, int], _TensorRule] = {}
        self.relu_outputs: list[Tensor] = []
        self.busy = False  # computing ``z`` under the rule's parameters: hooks stand aside

    def _record(self, layer: nn.Module, index: int | None) -> Record:
        record = self.records.get(layer)
        if record is None:
            return None
        if index is None:
            return lambda value: setattr(record, "output", value.detach())
        return lambda value: record.inputs.__setitem__(index, value.detach())

    def _count(self, layer: nn.Module) -> None:
        self.calls[layer] = self.calls.get(layer, 0) + 1
        if self.calls[layer] > 1:
            raise RuntimeError(
                f"Module {layer} is being used more than once in the network, which is not "
                "supported by LRP: a rule keeps one input and output per layer. Give each call "
                "its own module"
            )

    def _at(self, tensor: Tensor) -> _TensorRule:
        """The backward rule of this version of ``tensor`` (its gradient hook on first use)."""
        key = (id(tensor), tensor._version)
        if key not in self.tensors:
            self.tensors[key] = _TensorRule(tensor, tensor._version)
            self.register(tensor, self.tensors[key])
        return self.tensors[key]

    def _multiply_by_input(self, layer: nn.Module, args: tuple) -> None:
        """``R_a = a ⊙ grad_a`` on each input tensor, the gradient summed over its uses; the
        safe pass keeps a copy of ``a`` (an in-place op may change it later)."""
        for index, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                rule = self._at(a)
                if rule.scale is None:
                    rule.scale = a.detach().clone() if self.safe else a.detach()
                rule.records_in.append(self._record(layer, index))

    def rule_post(self, rule: Any, layer: nn.Module, args: tuple, output: Any) -> Tensor | None:
        if self.busy:
            return None
        self._count(layer)
        if not isinstance(output, Tensor):
            raise TypeError(
                f"LRP rule layer {type(layer).__name__} returned {type(output).__name__}; "
                "expected one tensor"
            )
        self._multiply_by_input(layer, args)
        if not output.requires_grad:
            return None
        eps = getattr(rule, "STABILITY_FACTOR", 1e-9)
        parameters = rule_parameters(rule, layer, args, output)
        if parameters is None and not any(output is a for a in args):
            at_output = self._at(output)
            at_output.divide = _stabilised(output, eps)
            at_output.record_out = self._record(layer, None)
            return None
        z = output if parameters is None else self._call_with(layer, parameters, args)
        record = self._record(layer, None)
        return _DivideByOutput.apply(z, output.detach(), _stabilised(z, eps), record)

    def _call_with(self, layer: nn.Module, parameters: dict, args: tuple) -> Tensor:
        self.busy = True
        try:
            return torch.func.functional_call(layer, parameters, args)
        finally:
            self.busy = False

    def through_pre(self, counted: bool, layer: nn.Module, args: tuple) -> tuple | None:
        if counted:
            self._count(layer)
        self.sources[layer] = args[0]
        # an in-place layer would overwrite the tensor relevance must reach: give it a copy
        return (args[0].clone(),) + args[1:] if getattr(layer, "inplace", False) else None

    def through_post(self, layer: nn.Module, args: tuple, output: Tensor) -> Tensor:
        source = self.sources.pop(layer)
        if source.shape != output.shape:
            raise ValueError(
                f"{type(layer).__name__} has IdentityRule but maps shape {tuple(source.shape)} "
                f"to {tuple(output.shape)}; IdentityRule needs one shape in and out"
            )
        record = self._record(layer, None)
        both = None if record is None else _both(record, self._record(layer, 0))
        return _PassThrough.apply(source, output, both)

    def watch_relu(self, layer: nn.Module, args: tuple, output: Tensor) -> None:
        self.relu_outputs.append(output)

    def shortcut_holds(self) -> bool:
        """ReLU's own gradient equals passing relevance through when its output is a rule
        layer's input: ``R = a ⊙ g`` is 0 wherever ReLU's mask is. It also needs every rule
        input unchanged since it was read (no in-place op afterwards: ``a`` is not copied)."""
        scaled = [rule for rule in self.tensors.values() if rule.scale is not None]
        if any(rule.tensor._version != rule.version for rule in scaled):
            return False
        inputs = {(id(rule.tensor), rule.version) for rule in scaled}
        return all((id(out), out._version) in inputs for out in self.relu_outputs)


def _both(first: Callable, second: Callable) -> Callable[[Tensor], None]:
    return lambda value: (first(value), second(value))


@contextlib.contextmanager
def relevance_hooks(
    model: nn.Module,
    recorded: Sequence[nn.Module] = (),
    verbose: bool = False,
    relu_shortcut: bool = False,
) -> Iterator[_Hooks]:
    """Within the block, the model's backward propagates relevance (every leaf module needs
    a rule, a default rule or to pass relevance through; TypeError otherwise).

    With ``relu_shortcut`` ReLU layers keep their own gradient and nothing is copied; the
    result is exact only if ``hooks.shortcut_holds()`` after the forward.
    """
    with contextlib.ExitStack() as stack:
        hooks = _Hooks(recorded, stack.enter_context(gradient_hooks()), not relu_shortcut)
        for _, layer, rule in layer_rules(model):
            if rule is None and relu_shortcut and _shortcut_applies(layer, recorded):
                stack.enter_context(forward_hook(layer, hooks.watch_relu))
            elif rule is None or passes_relevance_through(rule):
                counted = rule is not None
                pre = lambda m, a, counted=counted: hooks.through_pre(counted, m, a)  # noqa: E731
                stack.enter_context(forward_hook(layer, pre, pre=True))
                stack.enter_context(forward_hook(layer, hooks.through_post))
            else:
                post = lambda m, a, out, rule=rule: hooks.rule_post(rule, m, a, out)  # noqa: E731
                stack.enter_context(forward_hook(layer, post))
            if verbose and rule is not None:
                print(f"Applied {rule} on layer {layer}")
        yield hooks


def _shortcut_applies(layer: nn.Module, recorded: Sequence[nn.Module]) -> bool:
    """ReLU (not read by LayerLRP), or Dropout in eval mode (the identity)."""
    if any(layer is r for r in recorded):
        return False
    return type(layer) is nn.ReLU or (type(layer) is nn.Dropout and not layer.training)


def propagate_relevance(
    model: nn.Module,
    inputs: tuple[Tensor, ...],
    target: TargetType,
    additional_forward_args: tuple | None,
    recorded: Sequence[nn.Module] = (),
    verbose: bool = False,
) -> tuple[Tensor, tuple[Tensor, ...], dict[nn.Module, LayerRelevance]]:
    """``(output, normalised input relevances, layer records)`` from one forward and backward
    (a second forward, passing relevance through ReLUs, where the shortcut does not hold);
    ``output`` is the target output per example, shape (batch,)."""
    with torch.enable_grad():
        for shortcut in (True, False):
            with relevance_hooks(model, recorded, verbose and shortcut, shortcut) as hooks:
                leaves = as_leaves(inputs)
                output = run_forward(model, leaves, target, additional_forward_args)
                if shortcut and not hooks.shortcut_holds():
                    continue
                check_scalar_per_example(output, target is not None)
                relevances = grad_of_outputs(output, leaves)  # gradient hooks live until here
            return output.detach(), relevances, hooks.records
    raise AssertionError("unreachable: the exact pass always returns")


def scale_by_output(relevance: Tensor, output: Tensor) -> Tensor:
    """Normalised relevance (batch, ...) times the target output of each example."""
    return relevance * output.reshape((-1,) + (1,) * (relevance.dim() - 1))


def relevance_delta(relevances: Sequence[Tensor], output: Tensor) -> Tensor:
    """Captum's LRP delta: ``F(x) − Σ R`` per example (0 when relevance is conserved)."""
    total = sum(r.reshape(r.shape[0], -1).sum(1) for r in relevances)
    return output.flatten() - total.flatten()
