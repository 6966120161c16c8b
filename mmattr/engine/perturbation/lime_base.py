"""LimeBase: Captum's general LIME, with user-given sampling, transforms and similarity."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import torch
from torch import Tensor

from .._base import Attribution
from .._inputs import TensorOrTuple, expand_additional_args, format_additional_args, run_forward
from .._targets import TargetType, expand_target
from ..registry import register
from ._perturb import progress_bar
from .lime import draw_perturbations, fit_interpretable_model


@register("perturbation")
class LimeBase(Attribution):
    r"""A surrogate ``g`` fitted to the model around the input:
    ``argmin_g Σ_s π(x, x_s) (F(x_s) − g(z_s))² + Ω(g)`` over samples ``s`` with
    interpretable representation ``z_s`` and model input ``x_s``. Returns
    ``interpretable_model.representation()`` (its coefficients).

    Samples come from ``perturb_func(inputs, **kwargs)`` (a function, or a generator function).
    With ``perturb_interpretable_space`` they are ``z_s`` and
    ``from_interp_rep_transform(z_s, inputs, **kwargs)`` gives ``x_s``; otherwise they are
    ``x_s`` and ``to_interp_rep_transform(x_s, inputs, **kwargs)`` gives ``z_s``.
    :class:`Lime` is the ready-made case (coalitions of feature groups, batched).

    Args:
        forward_func: the model, or any callable returning one value per example.
        interpretable_model: ``fit(DataLoader)`` / ``representation()`` (mmattr's ``Lasso``
            and ``LinearRegression``, or Captum's models).
        similarity_func: ``π(inputs, x_s, z_s, **kwargs)`` -> a number or a 1-element tensor.
        perturb_func: ``f(inputs, **kwargs)`` -> one sample (batch dimension 1).
        perturb_interpretable_space: samples are interpretable representations.
        from_interp_rep_transform: ``z_s -> x_s`` (needed with perturb_interpretable_space).
        to_interp_rep_transform: ``x_s -> z_s`` (needed without it).
    """

    needs_gradients: ClassVar[bool] = False

    def __init__(
        self,
        forward_func: Callable,
        interpretable_model: Any,
        similarity_func: Callable[..., float | Tensor],
        perturb_func: Callable[..., Any],
        perturb_interpretable_space: bool,
        from_interp_rep_transform: Callable[..., TensorOrTuple] | None,
        to_interp_rep_transform: Callable[..., Tensor] | None,
    ) -> None:
        super().__init__(forward_func)
        self.interpretable_model = interpretable_model
        self.similarity_func = similarity_func
        self.perturb_func = perturb_func
        self.perturb_interpretable_space = perturb_interpretable_space
        self.from_interp_rep_transform = from_interp_rep_transform
        self.to_interp_rep_transform = to_interp_rep_transform
        needed, transform = (
            ("from_interp_rep_transform", from_interp_rep_transform)
            if perturb_interpretable_space
            else ("to_interp_rep_transform", to_interp_rep_transform)
        )
        if not callable(transform):
            raise ValueError(
                f"{needed} is {type(transform).__name__}; expected a callable when "
                f"perturb_interpretable_space={perturb_interpretable_space}"
            )

    @torch.no_grad()
    def attribute(
        self,
        inputs: TensorOrTuple,
        target: TargetType = None,
        additional_forward_args: Any = None,
        n_samples: int = 50,
        perturbations_per_eval: int = 1,
        show_progress: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        """The surrogate's ``representation()`` after fitting on ``n_samples`` samples.

        Args:
            inputs: one example (batch 1), a tensor or a tuple of tensors.
            target: the output explained (default None: one output per example).
            n_samples: samples drawn (default 50).
            perturbations_per_eval: samples per model call (default 1).
            show_progress: show a progress bar of model calls (default False).
            kwargs: passed to ``perturb_func``, the transforms and ``similarity_func``.
        """
        for name, value in (
            ("n_samples", n_samples),
            ("perturbations_per_eval", perturbations_per_eval),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}; expected a positive int")
        args = format_additional_args(additional_forward_args)
        with self._model_guard():
            draws = draw_perturbations(self.perturb_func, inputs, n_samples, kwargs)
            pairs = [self._representations(sample, inputs, kwargs) for sample in draws]
            similarities = [self._similarity(inputs, x, z, kwargs) for z, x in pairs]
            outputs = self._outputs(
                [x for _, x in pairs], target, args, perturbations_per_eval, show_progress
            )
            samples = torch.cat([torch.as_tensor(z) for z, _ in pairs]).float()
            weights = torch.cat(similarities).float()
            fit_interpretable_model(self.interpretable_model, samples, outputs.float(), weights)
        return self.interpretable_model.representation()

    def _representations(self, sample: Any, inputs: Any, kwargs: dict) -> tuple[Any, Any]:
        """``(z_s, x_s)`` of one sample."""
        if self.perturb_interpretable_space:
            return sample, self.from_interp_rep_transform(sample, inputs, **kwargs)
        return self.to_interp_rep_transform(sample, inputs, **kwargs), sample

    def _similarity(self, inputs: Any, model_input: Any, interpretable: Any, kwargs: dict):
        value = self.similarity_func(inputs, model_input, interpretable, **kwargs)
        return value.flatten() if isinstance(value, Tensor) else torch.tensor([float(value)])

    def _outputs(self, model_inputs, target, args, per_eval: int, show_progress: bool) -> Tensor:
        """``F`` of every sample, ``per_eval`` samples stacked along the batch per call."""
        chunks = [model_inputs[i : i + per_eval] for i in range(0, len(model_inputs), per_eval)]
        outputs = []
        with progress_bar(len(chunks), show_progress, "Lime attribution") as bar:
            for chunk in chunks:
                stacked = _stack_samples(chunk)
                output = run_forward(
                    self.forward_func,
                    stacked,
                    expand_target(target, len(chunk)),
                    expand_additional_args(args, len(chunk)),
                )
                if output.numel() != len(chunk):
                    raise ValueError(
                        f"the model returned {output.numel()} values for {len(chunk)} samples; "
                        "expected one per sample (pass a target that selects one output)"
                    )
                outputs.append(output.reshape(-1))
                bar.update()
        return torch.cat(outputs)

    def attribute_future(self) -> None:
        """Not available for LimeBase (as in Captum)."""
        raise NotImplementedError("LimeBase does not support attribution of future samples.")


def _stack_samples(samples: list[Any]) -> tuple[Tensor, ...]:
    """Samples (tensors, or tuples of tensors) concatenated along the batch, as a tuple."""
    if isinstance(samples[0], Tensor):
        return (torch.cat(samples),)
    return tuple(torch.cat(parts) for parts in zip(*samples))
