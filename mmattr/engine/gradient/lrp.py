"""Layer-wise relevance propagation (Bach et al., 2015), with Captum's rules and numbers."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from .._base import Attribution
from .._inputs import TensorOrTuple, as_tuple, format_call, format_output
from .._lrp_propagation import propagate_relevance, relevance_delta, scale_by_output
from .._targets import TargetType
from ..registry import register
from .lrp_rules import check_lrp_model, check_rules


@register("gradient", convergence_delta=True)
class LRP(Attribution):
    r"""LRP: the target output ``F(x)`` is redistributed layer by layer down to the inputs,
    ``R_in = a ⊙ Jᵀ_z (R_out / (z + ε·sign z))`` per layer, so ``Σ_i R_i ≈ F(x)``.

    Each leaf module needs a rule: ``module.rule`` if set (:class:`EpsilonRule`,
    :class:`GammaRule`, :class:`Alpha1_Beta0_Rule`, :class:`IdentityRule`), else the default
    for its type (EpsilonRule for Linear, Conv2d, BatchNorm2d, pooling); ReLU, Dropout and
    Tanh pass relevance through. Functional operations in ``forward`` are differentiated as
    usual. The model comes back unchanged: its weights are never modified and the rules set
    on modules stay (Captum deletes them).

    Args:
        model: an ``nn.Module`` (rules are read from its submodules).

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> LRP(model).attribute(torch.randn(2, 4), target=0).shape
        torch.Size([2, 4])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.model = model
        self._multiply_by_inputs = True
        check_lrp_model(model, "LRP")

    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        return_convergence_delta: bool = False,
        verbose: bool = False,
    ) -> TensorOrTuple | tuple[TensorOrTuple, Tensor]:
        """Relevance of each input element, the shape of ``inputs``, summing to about
        ``F_target(x)`` per example.

        Args:
            return_convergence_delta: also return ``F(x) − Σ R``, shape (batch,) (default
                False).
            verbose: print the rule applied to each layer (default False).
        """
        was_tuple, formatted, _, args = format_call(
            inputs, None, target, additional_forward_args, gradient_of="LRP"
        )
        check_rules(self.model)
        with self._model_guard():
            output, normalised, _ = propagate_relevance(
                self.model, formatted, target, args, verbose=verbose
            )
        relevances = tuple(scale_by_output(r, output) for r in normalised)
        if return_convergence_delta:
            return format_output(was_tuple, relevances), relevance_delta(relevances, output)
        return format_output(was_tuple, relevances)

    def compute_convergence_delta(  # type: ignore[override]
        self, attributions: TensorOrTuple, output: Tensor
    ) -> Tensor:
        """``output − Σ attributions`` per example (Captum's LRP delta and sign)."""
        return relevance_delta(as_tuple(attributions), output)

    def attribute_future(self) -> None:
        """Not available for LRP (as in Captum)."""
        raise NotImplementedError("attribute_future is not implemented for LRP")
