"""Layer integrated gradients: integrated gradients on a layer's value.

``LIG_l(x) = (a_l(x) − a_l(b)) ⊙ ∫₀¹ ∂F/∂a_l(a_l(b) + α(a_l(x) − a_l(b))) dα``, the layer's
value replaced along the straight line between its value at the baseline and at the input
(Captum's semantics; with a list of layers all are replaced together).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from .._batching import BatchSize
from .._inputs import BaselinesType, TensorOrTuple, format_call, tensorize_baselines
from .._integration import quadrature
from .._targets import TargetType
from ..gradient.integrated_gradients import IntegratedGradients
from ..registry import register
from ._layer_base import LayerAttributionByInputs
from ._layer_pass import LayerReplacedForward, layer_values


@register("layer", layers="list", convergence_delta=True)
class LayerIntegratedGradients(LayerAttributionByInputs):
    """Integrated gradients of a layer (a list: all layers at once), from the model's inputs.

    The inputs may be anything the model takes (token ids included): only the layer's value is
    interpolated. This is how token attributions are taken through an embedding layer.

    Example::

        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
        >>> lig = LayerIntegratedGradients(model, model[0])  # e.g. model.get_input_embeddings()
        >>> ids = torch.tensor([[1, 2, 3]])
        >>> lig.attribute(ids, baselines=torch.zeros_like(ids), target=0).sum(-1).shape  # per token
        torch.Size([1, 3])
    """

    _has_convergence_delta: ClassVar[bool] = True

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        internal_batch_size: BatchSize = None,
        return_convergence_delta: bool = False,
        attribute_to_layer_input: bool = False,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> Tensor | list[Tensor] | tuple[Tensor | list[Tensor], Tensor]:
        """Attributions of the layer's value (a list for a list of layers); Captum's semantics.

        Args:
            return_convergence_delta: also return the completeness error ``Σ
                attributions − (F(x) − F(b))`` per example (default ``False``).
        """
        _, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args
        )
        step_sizes, alphas = quadrature(method, n_steps)
        spec = self._layers(attribute_to_layer_input)
        with self._model_guard():
            at_input = layer_values(self.forward_func, spec, formatted, args)
            starts = tensorize_baselines(formatted_baselines, formatted)
            at_baseline = layer_values(self.forward_func, spec, starts, args)
            integrator = IntegratedGradients(
                LayerReplacedForward(self.forward_func, spec), self.multiplies_by_inputs
            )
            attributions = integrator._integrate(
                tuple(at_input),
                tuple(at_baseline),
                target,
                formatted + (args or ()),
                step_sizes,
                alphas,
                internal_batch_size,
                grad_kwargs,
            )
            result = spec.format(attributions)
            if not return_convergence_delta:
                return result
            delta = self.compute_convergence_delta(
                attributions, formatted_baselines, formatted, target, args
            )
        return result, delta
