"""LRP's backward pass: relevance flows from the output to the inputs in place of the gradient.

For a layer with a rule, ``R_in = a ⊙ Jᵀ_z (R_out / (z + ε·sign z))``, with ``a`` the layer's
input and ``z`` its output under the rule's parameters; ReLU, Dropout, Tanh and IdentityRule
layers pass relevance through, ``R_in = R_out``. Forward hooks put a gradient hook on each
tensor a rule layer reads or writes: times ``a`` on its input (once per tensor over all its
uses, as Captum does), divided by ``z + ε·sign z`` on its output; a small autograd function
routes relevance around pass-through layers and, for rules with other parameters, through
``z``. One ordinary forward and backward is the propagation. Captum runs the model twice and
changes its weights in between; here the model is never changed and the forward values are
the model's own.

The fast propagation adds little to that backward (``_lrp_backward``): a ReLU runs outside
the graph and its backward becomes the rule arithmetic of its neighbours, and so does an
eval-mode batch-norm's (its own backward, a per-channel scale, included); where a tensor is
both a rule layer's output and input the two steps are one ratio; ``z + ε·sign z`` is made
in the backward for the outputs that stay unchanged until then (learnt per layer from the
last call; the forward makes it otherwise). After the forward, every such assumption is
checked; where one fails the exact pass runs instead (ReLU passing relevance, ``a`` copied).
"""

from __future__ import annotations

import contextlib
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from ._gradients import as_leaves, check_scalar_per_example, grad_of_outputs
from ._hooks import forward_hook, gradient_hooks
from ._inputs import run_forward
from ._lrp_backward import (
    BatchNormLink,
    DivideByOutput,
    Linked,
    PassThrough,
    Record,
    ReluLink,
    TensorRule,
    stabilised,
)
from ._targets import TargetType
from .gradient.lrp_rules import (
    layer_rules,
    norm_link_applies,
    passes_relevance_through,
    relu_link_applies,
    rule_parameters,
)


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
        self.tensors: dict[tuple[int, int], TensorRule] = {}
        self.relu_outputs: list[Tensor] = []
        self.pending: dict[nn.Module, tuple | None] = {}
        self.links: list[tuple[ReluLink, Tensor, Tensor, int, bool]] = []
        self.norm_links: list[tuple[BatchNormLink, Tensor, int, Tensor, int]] = []
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

    def _at(self, tensor: Tensor) -> TensorRule:
        """The backward rule of this version of ``tensor`` (its gradient hook on first use)."""
        key = (id(tensor), tensor._version)
        if key not in self.tensors:
            self.tensors[key] = TensorRule(tensor)
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
                    rule.scale_is_tensor = not self.safe
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
            at_output.eps, at_output.producer = eps, layer
            if self.safe or not _UNCHANGED_OUTPUTS.get(layer, False):
                at_output.stabilised = stabilised(output, eps)
            at_output.record_out = self._record(layer, None)
            return None
        z = output if parameters is None else self._call_with(layer, parameters, args)
        record = self._record(layer, None)
        return DivideByOutput.apply(z, output.detach(), stabilised(z, eps), record)

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
        return PassThrough.apply(source, output, both)

    def watch_relu(self, layer: nn.Module, args: tuple, output: Tensor) -> None:
        self.relu_outputs.append(output)

    def relu_pre(self, layer: nn.Module, args: tuple) -> tuple | None:
        """ReLU runs outside the graph (on ``x.detach()``); :class:`Linked` links its
        output back to ``x``. An in-place ReLU on a leaf or a view keeps its own backward."""
        x = args[0]
        inplace = getattr(layer, "inplace", False)
        usable = isinstance(x, Tensor) and x.requires_grad
        if not usable or (inplace and (x.grad_fn is None or x._base is not None)):
            self.pending[layer] = None
            return None
        self.pending[layer] = (x, x._version, inplace)
        return (x.detach(),) + args[1:]

    def relu_post(self, layer: nn.Module, args: tuple, output: Tensor) -> Tensor | None:
        entry = self.pending.pop(layer, None)
        if entry is None:
            self.relu_outputs.append(output)
            return None
        link = ReluLink(output)
        result = Linked.apply(entry[0], link)
        link.output = result.detach()  # the link (in the graph) must not hold the graph
        self.links.append((link, result) + entry)
        return result

    def norm_pre(self, layer: nn.Module, args: tuple) -> tuple | None:
        """Batch-norm (eval, a rule that keeps its parameters) runs outside the graph;
        :class:`Linked` links its output back to ``x`` through a :class:`BatchNormLink`."""
        x = args[0]
        usable = isinstance(x, Tensor) and x.requires_grad and x.dim() >= 2
        if not usable or x.dtype != layer.running_var.dtype:
            self.pending[layer] = None
            return None
        self.pending[layer] = (x, x._version)
        return (x.detach(),) + args[1:]

    def norm_post(self, rule: Any, layer: nn.Module, args: tuple, output: Tensor) -> Tensor | None:
        entry = self.pending.pop(layer, None)
        if entry is None:
            return self.rule_post(rule, layer, args, output)
        x, version = entry
        link = BatchNormLink(layer, x.detach(), output)
        result = Linked.apply(x, link)
        link.output = None  # the link reads ``x`` only
        self.norm_links.append((link, x, version, result, result._version))
        self.rule_post(rule, layer, (x,) + args[1:], result)  # ``x``'s and the output's rules
        return result

    def finalize(self, output: Tensor) -> bool:
        """After the forward: fold each ReLU's and batch-norm's neighbours into its link; True
        if the fast propagation is exact (see :meth:`_holds`)."""
        inputs = [x for _, _, x, _, _ in self.links] + [x for _, x, *_ in self.norm_links]
        uses = _uses(output, inputs)
        self._fold_norm_inputs(uses)
        if not self._fold_relus(uses):
            return False
        self._fold_norm_outputs()
        for rule in self.tensors.values():
            if rule.producer is not None:
                unchanged = rule.eps is None or rule.tensor._version == rule.version
                _UNCHANGED_OUTPUTS[rule.producer] = unchanged
        holds = self._holds()
        # the backward holds what it needs; what is kept here would outlive its use
        self.tensors, self.links, self.norm_links, self.relu_outputs = {}, [], [], []
        return holds

    def _fold_norm_inputs(self, uses: Counter) -> None:
        """A batch-norm link takes over the rule of its input ``x`` when it is ``x``'s only
        reader: ``× x``, and ``÷ (x + ε·sign x)`` where ``x`` is a rule layer's output."""
        for link, x, version, *_ in self.norm_links:
            at_input = self.tensors.get((id(x), version))
            if at_input is None or at_input.held() or uses.get(_node(x), 0) != 1:
                continue  # ``x`` is read elsewhere too: its rule stays on the summed relevance
            link.scale, at_input.scale = True, None
            if at_input.eps is not None:
                link.eps, at_input.eps, at_input.stabilised = at_input.eps, None, None

    def _fold_relus(self, uses: Counter) -> bool:
        """A ReLU link takes over ``× y`` at its output and ``÷ (x + ε·sign x)`` at its input
        ``x`` (read by it alone), and a batch-norm link's step where ``x`` is its output.
        False where an in-place ReLU's input is read elsewhere too (the exact pass runs)."""
        norms = {(id(out), out_version): link for link, _, _, out, out_version in self.norm_links}
        for link, result, x, version, inplace in self.links:
            after = self.tensors.get((id(result), link.version))
            if after is not None and after.scale is not None and not after.held():
                link.scale, after.scale = True, None
            before = self.tensors.get((id(x), version))
            alone = uses.get(_node(x), 0) == 1
            if inplace and not alone:
                return False
            if not (link.scale and alone and before is not None and before.eps is not None):
                continue
            if before.record_out is None:
                link.eps, before.eps, before.stabilised = before.eps, None, None
                link.norm = norms.get((id(x), version))
                if link.norm is not None:  # the batch-norm's step joins the ReLU's pass
                    link.norm.after_relu = True
        return True

    def _fold_norm_outputs(self) -> None:
        """A batch-norm link divides by ``z + ε·sign z`` at its output ``z`` (recomputed in
        the backward, not kept) where no ReLU link took that step."""
        for link, *_, out, out_version in self.norm_links:
            at_output = self.tensors.get((id(out), out_version))
            if at_output is None or at_output.eps is None or at_output.scale is not None:
                continue
            if not at_output.held():
                link.output_eps, at_output.eps, at_output.stabilised = at_output.eps, None, None

    def _holds(self) -> bool:
        """ReLU's own gradient (where it keeps it) equals passing relevance through when its
        output is a rule layer's input: ``R = a ⊙ g`` is 0 wherever ReLU's mask is. Every
        tensor read in the backward (rule inputs ``a``, outputs ``z`` without a stabiliser
        made in the forward, ReLU outputs) is unchanged since the forward read it."""
        for rule in self.tensors.values():
            lazy = rule.eps is not None and rule.stabilised is None
            if (rule.scale is not None or lazy) and rule.tensor._version != rule.version:
                return False
        if any(link.output._version != link.version for link, *_ in self.links):
            return False
        if any(x._version != version for _, x, version, *_ in self.norm_links):
            return False
        rules = self.tensors.values()
        inputs = {(id(r.tensor), r.version) for r in rules if r.scale_is_tensor}
        return all((id(out), out._version) in inputs for out in self.relu_outputs)


def _node(x: Tensor) -> tuple | None:
    return None if x.grad_fn is None else (x.grad_fn, x.output_nr)


def _uses(output: Tensor, tensors: list[Tensor]) -> Counter:
    """How many edges of the autograd graph below ``output`` reach each of ``tensors``."""
    wanted = {_node(x) for x in tensors} - {None}
    counts: Counter = Counter()
    if not wanted or output.grad_fn is None:
        return counts
    seen, stack = {output.grad_fn}, [output.grad_fn]
    while stack:
        for edge in stack.pop().next_functions:
            if edge[0] is None:
                continue
            if edge in wanted:
                counts[edge] += 1
            if edge[0] not in seen:
                seen.add(edge[0])
                stack.append(edge[0])
    return counts


#: Rule layers whose output the backward can read as it is: unchanged until the backward in
#: the last fast propagation through them (no in-place op afterwards), or not read at all.
#: Their ``z + ε·sign z`` is made in the backward; a wrong guess is caught by ``_holds``.
_UNCHANGED_OUTPUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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

    With ``relu_shortcut`` (the fast propagation) ReLU layers get links, Dropout in eval
    keeps its own gradient and nothing is copied; the result is exact only if
    ``hooks.finalize(output)`` after the forward.
    """
    with contextlib.ExitStack() as stack:
        hooks = _Hooks(recorded, stack.enter_context(gradient_hooks()), not relu_shortcut)
        for _, layer, rule in layer_rules(model):
            if rule is None and relu_shortcut and relu_link_applies(layer, recorded):
                if type(layer) is nn.ReLU:
                    stack.enter_context(forward_hook(layer, hooks.relu_pre, pre=True))
                    stack.enter_context(forward_hook(layer, hooks.relu_post))
                else:
                    stack.enter_context(forward_hook(layer, hooks.watch_relu))
            elif relu_shortcut and norm_link_applies(layer, rule, recorded):
                post = lambda m, a, out, rule=rule: hooks.norm_post(rule, m, a, out)  # noqa: E731
                stack.enter_context(forward_hook(layer, hooks.norm_pre, pre=True))
                stack.enter_context(forward_hook(layer, post))
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


def propagate_relevance(
    model: nn.Module,
    inputs: tuple[Tensor, ...],
    target: TargetType,
    additional_forward_args: tuple | None,
    recorded: Sequence[nn.Module] = (),
    verbose: bool = False,
) -> tuple[Tensor, tuple[Tensor, ...], dict[nn.Module, LayerRelevance]]:
    """``(output, normalised input relevances, layer records)`` from one forward and backward
    (a second forward, the exact pass, where the fast one's assumptions do not hold);
    ``output`` is the target output per example, shape (batch,)."""
    with torch.enable_grad():
        for shortcut in (True, False):
            with relevance_hooks(model, recorded, verbose and shortcut, shortcut) as hooks:
                leaves = as_leaves(inputs)
                output = run_forward(model, leaves, target, additional_forward_args)
                if shortcut and not hooks.finalize(output):
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
