"""Neuron conductance (Dhamdhere et al., 2018): the flow through one neuron, per input."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from .._batching import BatchSize
from .._gradients import as_leaves, check_batch_kept, check_scalar_per_example, grad_of_outputs
from .._inputs import BaselinesType, TensorOrTuple, format_call, format_output, run_forward
from .._integration import integrate_path, path_chunks, quadrature
from .._targets import TargetType
from ..registry import register
from ._neuron import (
    NeuronAttributionByInputs,
    NeuronSelector,
    check_selector,
    record_layer,
    select_neuron,
    single_call,
)


@register("neuron", layers="one")
class NeuronConductance(NeuronAttributionByInputs):
    r"""Neuron conductance: ``(x_i − b_i) ∫₀¹ ∂F/∂n · ∂n/∂x_i dα`` along ``b + α(x − b)``,
    for the neuron ``n = select(a_l)``: how much of ``F(x) − F(b)`` flows from ``x_i`` through
    that neuron. Summed over ``i`` it approaches the neuron's layer conductance.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(),
        ...                             torch.nn.Linear(6, 3))
        >>> cond = NeuronConductance(model, model[1])
        >>> cond.attribute(torch.randn(2, 4), 3, target=0, n_steps=20).shape
        torch.Size([2, 4])
    """

    def attribute(
        self,
        inputs: TensorOrTuple,
        neuron_selector: NeuronSelector,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        n_steps: int = 50,
        method: str = "riemann_trapezoid",
        internal_batch_size: BatchSize = None,
        attribute_to_neuron_input: bool = False,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> TensorOrTuple:
        """Conductance of each input element through the selected neuron, the inputs' shape.

        Args:
            neuron_selector: see :meth:`NeuronGradient.attribute`. A callable is applied to
                the layer's values and, as in Captum, to ``∂F/∂a_l``: it should only select.
            grad_kwargs: keyword arguments for ``torch.autograd.grad`` of ``∂F/∂a_l``.
        """
        if callable(neuron_selector):
            warnings.warn(
                "neuron_selector is a callable: it is applied to the layer values and to their "
                "gradients, so it should only select neurons, not aggregate them",
                stacklevel=3,
            )
        check_selector(neuron_selector)
        was_tuple, formatted, formatted_baselines, args = format_call(
            inputs, baselines, target, additional_forward_args, gradient_of="NeuronConductance"
        )
        step_sizes, alphas = quadrature(method, n_steps)
        with self._model_guard():
            totals = self._integrate(
                formatted,
                formatted_baselines,
                target,
                args,
                (step_sizes, alphas),
                internal_batch_size,
                (neuron_selector, attribute_to_neuron_input, grad_kwargs),
            )
        if self.multiplies_by_inputs:
            totals = tuple(t * (x - b) for t, x, b in zip(totals, formatted, formatted_baselines))
        return format_output(was_tuple, totals)

    def _integrate(self, inputs, baselines, target, args, rule, batch_size, neuron):
        """``Σ_k w_k · ∂F/∂n(x_k) · ∂n/∂x(x_k)`` over the path points, chunk by chunk."""

        def integrand(scaled, step_target, step_args):
            neuron_grad, input_grads = self._gradients(scaled, step_target, step_args, *neuron)
            return tuple(
                grad * neuron_grad.reshape((-1,) + (1,) * (grad.dim() - 1)) for grad in input_grads
            )

        step_sizes, alphas = rule
        path = path_chunks(self.forward_func, inputs, baselines, target, args, alphas, batch_size)
        return integrate_path(path, inputs, step_sizes, integrand)

    def _gradients(
        self, inputs, target, args, selector, to_input, grad_kwargs
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """``(∂F/∂n, ∂n/∂x)`` from one forward: ``∂F/∂n`` is the selector applied to
        ``∂F/∂a_l`` (Captum's rule, a sum of gradients for a slice)."""
        with torch.enable_grad():
            leaves = as_leaves(inputs)
            with record_layer(self.layer, to_input) as calls:
                output = run_forward(self.forward_func, leaves, target, args)
            values = single_call(calls, self.layer)
            check_scalar_per_example(output, target is not None)
            check_batch_kept(output, leaves[0].shape[0])
            layer_grads = torch.autograd.grad(
                output.sum(), values, allow_unused=True, **(grad_kwargs or {})
            )
            layer_grads = tuple(
                torch.zeros_like(v) if g is None else g for g, v in zip(layer_grads, values)
            )
            neuron_grad = select_neuron(layer_grads, selector, "neuron_selector")
            neuron = select_neuron(values, selector, "neuron_selector")
            input_grads = grad_of_outputs(neuron, leaves)
        return neuron_grad.detach(), tuple(g.detach() for g in input_grads)
