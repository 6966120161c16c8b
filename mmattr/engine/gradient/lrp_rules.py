"""LRP propagation rules (Captum's names and defaults) and the rule each layer gets.

A rule says how a layer with parameters ``w`` redistributes the relevance ``R_out`` of its
output to its input ``a``: ``R_in = a ⊙ Jᵀ_z (R_out / (z + ε·sign z))`` where ``z`` is the
layer's output computed with the rule's parameters ``w'`` (Montavon et al., 2019):

- ``EpsilonRule``: ``w' = w`` (LRP-ε; the default for every supported layer type);
- ``GammaRule``: ``w' = w + γ·max(w, 0)`` (LRP-γ, favours positive contributions);
- ``Alpha1_Beta0_Rule``: ``w' = max(w, 0)`` (LRP-α1β0, deep Taylor);
- ``IdentityRule``: ``R_in = R_out`` (for layers whose input and output have one shape).

Set a rule on a module with ``module.rule = GammaRule()``; LRP reads it and leaves it there.
Rules never change the model: ``_manipulate_weights`` receives a *parameter view* of the
module (an object whose attributes are the module's own parameters, detached) and replaces
attributes on that view. Rules written against Captum's protocol (they assign
``view.weight.data``) work the same way.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar, Sequence

import torch
from torch import Tensor, nn


class PropagationRule:
    """The base of LRP rules: ``ε`` (``STABILITY_FACTOR``) keeps ``z + ε·sign z`` away from 0.

    Subclasses override :meth:`_manipulate_weights` to give the layer other parameters
    (assign new tensors to the view's attributes; never modify them in place).
    """

    STABILITY_FACTOR: float = 1e-9
    #: False when :meth:`_manipulate_weights` never changes a parameter (saves a layer call).
    modifies_parameters: ClassVar[bool] = True

    def _manipulate_weights(self, module: Any, inputs: tuple, outputs: Tensor) -> None:
        """Replace ``module.weight`` / ``module.bias`` on the parameter view (default: keep)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EpsilonRule(PropagationRule):
    """LRP-ε: the layer's own parameters, ``ε`` added to the denominator.

    Args:
        epsilon: the stabiliser ``ε`` (default 1e-9).
    """

    modifies_parameters: ClassVar[bool] = False

    def __init__(self, epsilon: float = 1e-9) -> None:
        self.STABILITY_FACTOR = epsilon

    def __repr__(self) -> str:
        return f"EpsilonRule(epsilon={self.STABILITY_FACTOR})"


class GammaRule(PropagationRule):
    """LRP-γ: ``w' = w + γ·max(w, 0)``.

    Args:
        gamma: the weight of positive parameters ``γ`` (default 0.25).
        set_bias_to_zero: use a zero bias (default False).
    """

    def __init__(self, gamma: float = 0.25, set_bias_to_zero: bool = False) -> None:
        self.gamma = gamma
        self.set_bias_to_zero = set_bias_to_zero

    def _manipulate_weights(self, module: Any, inputs: tuple, outputs: Tensor) -> None:
        if getattr(module, "weight", None) is not None:
            module.weight = module.weight + self.gamma * module.weight.clamp(min=0)
        _zero_bias(module, self.set_bias_to_zero)

    def __repr__(self) -> str:
        return f"GammaRule(gamma={self.gamma}, set_bias_to_zero={self.set_bias_to_zero})"


class Alpha1_Beta0_Rule(PropagationRule):  # noqa: N801 (Captum's name)
    """LRP-α1β0 (deep Taylor): ``w' = max(w, 0)``; not meant for BatchNorm.

    Args:
        set_bias_to_zero: use a zero bias (default False).
    """

    def __init__(self, set_bias_to_zero: bool = False) -> None:
        self.set_bias_to_zero = set_bias_to_zero

    def _manipulate_weights(self, module: Any, inputs: tuple, outputs: Tensor) -> None:
        if getattr(module, "weight", None) is not None:
            module.weight = module.weight.clamp(min=0)
        _zero_bias(module, self.set_bias_to_zero)

    def __repr__(self) -> str:
        return f"Alpha1_Beta0_Rule(set_bias_to_zero={self.set_bias_to_zero})"


class IdentityRule(EpsilonRule):
    """``R_in = R_out``: relevance passes the layer unchanged (input and output of one shape,
    e.g. BatchNorm2d)."""

    def __repr__(self) -> str:
        return "IdentityRule()"


def _zero_bias(module: Any, set_bias_to_zero: bool) -> None:
    if set_bias_to_zero and getattr(module, "bias", None) is not None:
        module.bias = torch.zeros_like(module.bias)


class Addition_Module(nn.Module):  # noqa: N801 (Captum's name)
    """``x1 + x2`` as a module, so a skip connection gets a rule (EpsilonRule by default)."""

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return x1 + x2


#: Captum's default rule per layer type (exact types).
DEFAULT_RULES: dict[type, type[PropagationRule]] = {
    nn.MaxPool1d: EpsilonRule,
    nn.MaxPool2d: EpsilonRule,
    nn.MaxPool3d: EpsilonRule,
    nn.Conv2d: EpsilonRule,
    nn.AvgPool2d: EpsilonRule,
    nn.AdaptiveAvgPool2d: EpsilonRule,
    nn.Linear: EpsilonRule,
    nn.BatchNorm2d: EpsilonRule,
    Addition_Module: EpsilonRule,
}
#: Layers that pass relevance through unchanged (Captum's non-linear layers).
PASS_THROUGH_LAYERS: tuple[type, ...] = (nn.ReLU, nn.Dropout, nn.Tanh)


def is_rule(rule: Any) -> bool:
    """An mmattr rule, or an object with Captum's rule protocol (``_manipulate_weights``)."""
    return isinstance(rule, PropagationRule) or callable(getattr(rule, "_manipulate_weights", None))


def check_lrp_model(model: Any, method: str) -> None:
    """LRP reads rules from the layers of a module: ``model`` is an ``nn.Module`` and every
    ``module.rule`` set on it is a rule or None."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model is {type(model).__name__}; {method} reads rules from the layers of an "
            "nn.Module, so expected an nn.Module"
        )
    check_rules(model)


def check_rules(model: nn.Module) -> None:
    """Every ``module.rule`` set on the model is a rule or None."""
    for name, module in model.named_modules():
        rule = getattr(module, "rule", None)
        if rule is not None and not is_rule(rule):
            raise TypeError(
                f"{name or 'model'}.rule is {type(rule).__name__}; expected an LRP rule "
                "(EpsilonRule(), GammaRule(), Alpha1_Beta0_Rule(), IdentityRule()) or None"
            )


def passes_relevance_through(rule: Any) -> bool:
    """IdentityRule, also Captum's (recognised by name: mmattr does not import Captum)."""
    return any(cls.__name__ == "IdentityRule" for cls in type(rule).__mro__)


def layer_rules(model: nn.Module) -> list[tuple[str, nn.Module, Any]]:
    """``(name, layer, rule)`` for every leaf module; the rule is None for pass-through layers.

    Raises TypeError for a leaf module with no rule set and no default for its type.
    """
    plan = []
    for name, layer in model.named_modules():
        if layer is model or next(layer.children(), None) is not None:
            continue
        if type(layer) in PASS_THROUGH_LAYERS:
            plan.append((name, layer, None))
        elif getattr(layer, "rule", None) is not None:
            plan.append((name, layer, layer.rule))
        elif type(layer) in DEFAULT_RULES:
            plan.append((name, layer, DEFAULT_RULES[type(layer)]()))
        else:
            raise TypeError(
                f"model.{name} ({type(layer).__name__}) has no LRP rule and no default exists "
                f"for its type; set one, e.g. model.{name}.rule = EpsilonRule(), if the rule "
                "suits the layer (defaults exist for "
                f"{', '.join(t.__name__ for t in DEFAULT_RULES)}; ReLU, Dropout and Tanh pass "
                "relevance through)"
            )
    return plan


def rule_parameters(rule: Any, layer: nn.Module, inputs: tuple, output: Tensor) -> dict | None:
    """The parameters the rule gives the layer, or None when they are the layer's own."""
    if isinstance(rule, PropagationRule) and not rule.modifies_parameters:
        return None
    own = {name: p for name, p in layer.named_parameters(recurse=False)}
    # Captum-protocol rules may edit tensors in place: give them copies
    copy = not isinstance(rule, PropagationRule)
    view = SimpleNamespace(
        **{
            name: None if p is None else (p.detach().clone() if copy else p.detach())
            for name, p in layer._parameters.items()
        }
    )
    before = {name: getattr(view, name) for name in own}
    pointers = {name: t.data_ptr() for name, t in before.items()}
    rule._manipulate_weights(view, inputs, output)
    after = {name: getattr(view, name) for name in own}
    changed = any(
        after[name] is not before[name] or after[name].data_ptr() != pointers[name] for name in own
    )
    return after if changed else None


def relu_link_applies(layer: nn.Module, recorded: Sequence[nn.Module]) -> bool:
    """Whether LRP's fast propagation links this pass-through layer: ReLU (not read by
    LayerLRP), or Dropout in eval mode (the identity)."""
    if any(layer is r for r in recorded):
        return False
    return type(layer) is nn.ReLU or (type(layer) is nn.Dropout and not layer.training)


BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def norm_link_applies(layer: nn.Module, rule: Any, recorded: Sequence[nn.Module]) -> bool:
    """Whether LRP's fast propagation links this batch-norm: eval mode on its running
    statistics, under a rule that keeps its parameters (ε, the default), not read by
    LayerLRP."""
    if type(layer) not in BATCH_NORMS or layer.training or layer.running_var is None:
        return False
    if not isinstance(rule, PropagationRule) or rule.modifies_parameters:
        return False
    return not any(layer is r for r in recorded)
