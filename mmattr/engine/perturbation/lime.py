"""LIME (Ribeiro et al., 2016): a weighted linear surrogate fitted on random coalitions of
feature groups around each example."""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor

from .._base import Attribution
from .._inputs import BaselinesType, TensorOrTuple, format_output
from .._targets import TargetType
from ..errors import InputValueError
from ..registry import register
from ._coalition_setup import CoalitionSetup, attribute_coalitions
from ._linear_models import Lasso
from ._perturb import (
    DEFAULT_PERTURBATIONS_PER_EVAL,
    PerturbationsPerEval,
    evaluate_coalitions,
    perturbed_inputs,
)

#: Captum's defaults: 25 samples, a Lasso with α = 0.01, an exponential cosine kernel of width 1.
DEFAULT_N_SAMPLES = 25
DEFAULT_LASSO_ALPHA = 0.01


class ExpKernelSimilarity:
    """``exp(−d(x, x̃)² / (2·width²))`` with ``d`` the cosine or Euclidean distance of the
    flattened inputs. Called per sample like Captum's kernel; Lime uses :meth:`batched`."""

    def __init__(self, distance_mode: str = "cosine", kernel_width: float = 1.0) -> None:
        if distance_mode not in ("cosine", "euclidean"):
            raise InputValueError(
                f"distance_mode={distance_mode!r}; expected 'cosine' or 'euclidean'"
            )
        self.distance_mode, self.kernel_width = distance_mode, float(kernel_width)

    def batched(self, original: Tensor, perturbed: Tensor) -> Tensor:
        """``original`` (D,) against each row of ``perturbed`` (n, D) -> (n,)."""
        if self.distance_mode == "cosine":
            cosine = torch.nn.functional.cosine_similarity(perturbed, original[None], dim=1)
            distance = 1 - cosine
        else:
            distance = (perturbed - original[None]).norm(dim=1)
        return torch.exp(-(distance**2) / (2 * self.kernel_width**2))

    def from_group_sums(self, sums: Tensor, present: Tensor) -> Tensor:
        """The kernel of every coalition row from per-group sums, without building the inputs.

        ``sums`` (3, k): Σ_{i∈g} x_i², Σ x_i·b_i, Σ b_i² per group ``g``; ``present`` (n, k).
        With z the coalition, x·x̃ = Σ_g z_g·xx_g + (1−z_g)·xb_g, ‖x̃‖² = Σ_g z_g·xx_g + (1−z_g)·bb_g
        and ‖x − x̃‖² = Σ_g (1−z_g)·(xx_g − 2·xb_g + bb_g).
        """
        xx, xb, bb = sums
        z = present.to(sums.dtype)
        if self.distance_mode == "cosine":
            dot = z @ xx + (1 - z) @ xb
            norms = xx.sum().sqrt().clamp_min(1e-8) * (z @ xx + (1 - z) @ bb).sqrt().clamp_min(1e-8)
            distance = 1 - dot / norms
        else:
            distance = ((1 - z) @ (xx - 2 * xb + bb)).clamp_min(0).sqrt()
        return torch.exp(-(distance**2) / (2 * self.kernel_width**2))

    def __call__(self, original_inp: Any, perturbed_inp: Any, _sample: Any, **kwargs: Any) -> float:
        flat = _flatten(original_inp)
        return float(self.batched(flat, _flatten(perturbed_inp)[None])[0])


def get_exp_kernel_similarity_function(
    distance_mode: str = "cosine", kernel_width: float = 1.0
) -> ExpKernelSimilarity:
    """Captum's factory of the default LIME similarity kernel."""
    return ExpKernelSimilarity(distance_mode, kernel_width)


def default_perturb_func(original_inp: Any, **kwargs: Any) -> Tensor:
    """One coalition ``(1, k)``: each group present with probability ½ (Captum's default)."""
    device = (original_inp[0] if isinstance(original_inp, tuple) else original_inp).device
    probs = torch.ones(1, int(kwargs["num_interp_features"])) * 0.5
    return torch.bernoulli(probs).to(device=device).long()


def _flatten(value: Any) -> Tensor:
    tensors = value if isinstance(value, tuple) else (value,)
    return torch.cat([t.reshape(-1) for t in tensors])


def _draw_like_captum_fit(n_groups: int) -> None:
    """Captum's fit draws from the global RNG (a DataLoader iterator's seed, then the
    initialisation of an ``nn.Linear(k, 1)`` it overwrites); drawing the same keeps the
    coalitions of the next example, and so the numbers, equal to Captum's for a batch."""
    torch.empty((), dtype=torch.int64).random_()
    torch.nn.Linear(n_groups, 1)


def fit_interpretable_model(model: Any, samples: Tensor, outputs: Tensor, weights: Tensor) -> None:
    """Fit ``model`` on ``(samples, outputs, weights)``: directly for mmattr's models, through
    a DataLoader of float32 tensors (as Captum does) otherwise."""
    if hasattr(model, "fit_tensors"):
        _draw_like_captum_fit(samples.shape[1])
        model.fit_tensors(samples, outputs, weights)
    else:
        from torch.utils.data import DataLoader, TensorDataset

        dataset = TensorDataset(samples.float(), outputs.float(), weights.float())
        model.fit(DataLoader(dataset, batch_size=samples.shape[0]))


def fit_surrogate(model: Any, samples: Tensor, outputs: Tensor, weights: Tensor) -> Tensor:
    """Coefficients ``(k,)`` of ``model`` fitted on ``(samples, outputs, weights)``."""
    fit_interpretable_model(model, samples, outputs, weights)
    return model.representation().reshape(-1)


def draw_perturbations(perturb_func: Callable, inputs: Any, n_samples: int, kwargs: dict) -> list:
    """``n_samples`` draws of ``perturb_func(inputs, **kwargs)``, or of the generator it
    returns when it is a generator function (fewer, with a warning, if it stops early)."""
    if not inspect.isgeneratorfunction(perturb_func):
        return [perturb_func(inputs, **kwargs) for _ in range(n_samples)]
    generator = perturb_func(inputs, **kwargs)
    samples = []
    for _ in range(n_samples):
        try:
            samples.append(next(generator))
        except StopIteration:
            warnings.warn(
                f"perturb_func stopped after {len(samples)} of n_samples={n_samples} samples",
                stacklevel=4,
            )
            break
    return samples


@register("perturbation")
class Lime(Attribution):
    r"""LIME: the coefficients ``w`` of ``g(z) = w·z + b`` fitted to ``F(x_z)`` over random
    coalitions ``z ∈ {0,1}^k``, minimising ``Σ π(x, x_z) (F(x_z) − g(z))² + Ω(w)``
    (``x_z``: groups with ``z_j = 1`` from the input, the rest from the baseline).

    Defaults follow Captum's ``Lime``: ``z`` uniform (each group kept with probability ½), ``π``
    an exponential kernel of the cosine distance (width 1), and a Lasso with ``α = 0.01``
    (sklearn's objective and solver, here in torch). With the same seed the coalitions, and so
    the numbers, equal Captum's. One surrogate per example.

    Args:
        interpretable_model: the surrogate: :class:`Lasso` / :class:`LinearRegression` from
            this package or any Captum ``Model`` (``fit(DataLoader)``, ``representation()``).
        similarity_func: ``π(original_inputs, perturbed_inputs, sample, **kwargs)`` -> weight.
        perturb_func: ``f(inputs, **kwargs)`` -> one coalition ``(1, k)``, or a generator of
            them; ``kwargs`` hold ``num_interp_features``, ``baselines`` and ``feature_mask``.

    Example::

        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> lime = Lime(model)
        >>> x = torch.randn(1, 4)
        >>> lime.attribute(x, target=1, n_samples=50).shape
        torch.Size([1, 4])
    """

    needs_gradients: ClassVar[bool] = False

    def __init__(
        self,
        forward_func: Callable,
        interpretable_model: Any = None,
        similarity_func: Callable | None = None,
        perturb_func: Callable | None = None,
    ) -> None:
        super().__init__(forward_func)
        self.interpretable_model = (
            Lasso(alpha=DEFAULT_LASSO_ALPHA) if interpretable_model is None else interpretable_model
        )
        self.similarity_func = similarity_func or get_exp_kernel_similarity_function()
        self.perturb_func = perturb_func or default_perturb_func

    def attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType = None,
        target: TargetType = None,
        additional_forward_args: Any = None,
        feature_mask: TensorOrTuple | None = None,
        n_samples: int = DEFAULT_N_SAMPLES,
        perturbations_per_eval: PerturbationsPerEval = DEFAULT_PERTURBATIONS_PER_EVAL,
        return_input_shape: bool = True,
        show_progress: bool = False,
    ) -> TensorOrTuple:
        """Surrogate coefficients of every group.

        Args:
            feature_mask: integer group ids ``0..k−1`` (the interpretable features) per
                element; default: every scalar element its own group.
            n_samples: coalitions per example. Default 25.
            return_input_shape: spread the coefficients onto the inputs (default), or return
                them as ``(batch, k)``.

        Returns:
            Attributions shaped like the inputs, or ``(batch, k)``; a model that returns one
            value for the whole batch gets one surrogate and leading dimension 1.
        """
        return self._attribute(
            inputs,
            baselines,
            target,
            additional_forward_args,
            feature_mask,
            n_samples,
            perturbations_per_eval,
            return_input_shape,
            show_progress,
        )

    def _attribute(
        self,
        inputs: TensorOrTuple,
        baselines: BaselinesType,
        target: TargetType,
        additional_forward_args: Any,
        feature_mask: Any,
        n_samples: int,
        perturbations_per_eval: PerturbationsPerEval,
        return_input_shape: bool,
        show_progress: bool,
    ) -> TensorOrTuple:
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise InputValueError(f"n_samples={n_samples!r}; expected a positive int")
        call = (inputs, baselines, target, additional_forward_args, feature_mask)

        def estimate(setup: CoalitionSetup) -> Tensor:  # (n_outputs, k)
            return self._coefficients(setup, n_samples, perturbations_per_eval, show_progress)

        return attribute_coalitions(
            self, call, perturbations_per_eval, estimate, spread=return_input_shape
        )

    def _coefficients(
        self,
        setup: CoalitionSetup,
        n_samples: int,
        perturbations_per_eval: PerturbationsPerEval,
        show_progress: bool,
    ) -> Tensor:
        """One surrogate per example (one for the batch for an aggregate model)."""
        if not setup.aggregate and setup.output.numel() != setup.batch:
            raise InputValueError(
                f"the model output for target={setup.target!r} has shape "
                f"{tuple(setup.output.shape)}; {type(self).__name__} needs one value per "
                "example: pass a target that selects one output"
            )
        units = [setup] if setup.aggregate else [setup.example(i) for i in range(setup.batch)]
        rows = [
            self._fit_one(unit, n_samples, perturbations_per_eval, show_progress) for unit in units
        ]
        return torch.stack(rows).to(setup.output.dtype)

    def _fit_one(
        self,
        unit: CoalitionSetup,
        n_samples: int,
        perturbations_per_eval: PerturbationsPerEval,
        show_progress: bool,
    ) -> Tensor:
        kwargs = self._perturb_kwargs(unit)
        samples = self._draw_samples(unit, n_samples, kwargs)  # (n, k)
        outputs = self._sample_outputs(unit, samples != 0, perturbations_per_eval, show_progress)
        weights = self._similarities(unit, samples, kwargs)
        return fit_surrogate(
            self.interpretable_model, samples.to(outputs.dtype), outputs.reshape(-1), weights
        )

    def _sample_outputs(
        self,
        unit: CoalitionSetup,
        present: Tensor,
        perturbations_per_eval: PerturbationsPerEval,
        show_progress: bool,
    ) -> Tensor:
        """``F`` of every coalition, ``(n, n_outputs)``; a full coalition reuses the setup's
        ``F(x)`` instead of evaluating the model again."""
        outputs = unit.output_row().repeat(present.shape[0], 1)
        partial = ~present.all(dim=1)
        if partial.any():
            outputs = outputs.to(torch.promote_types(outputs.dtype, torch.float32))
            outputs[partial] = evaluate_coalitions(
                unit.forward_func,
                unit.inputs,
                unit.baselines,
                unit.masks,
                present[partial],
                unit.target,
                unit.args,
                unit.per_eval(perturbations_per_eval, int(partial.sum())),
                show_progress,
                f"{self.get_name()} attribution",
                unit.n_outputs,
            ).to(outputs.dtype)
        return outputs

    def _perturb_kwargs(self, unit: CoalitionSetup) -> dict:
        """What Captum passes to ``perturb_func`` and ``similarity_func`` besides the inputs."""
        pick = (lambda values: values) if unit.was_tuple else (lambda values: values[0])
        return {
            "num_interp_features": unit.n_groups,
            "baselines": pick(unit.baselines),
            "feature_mask": pick(unit.masks),
        }

    def _user_inputs(self, unit: CoalitionSetup) -> TensorOrTuple:
        return format_output(unit.was_tuple, unit.inputs)

    def _draw_samples(self, unit: CoalitionSetup, n_samples: int, kwargs: dict) -> Tensor:
        """``n_samples`` coalitions from ``perturb_func``, drawn in Captum's order."""
        original = self._user_inputs(unit)
        samples = draw_perturbations(self.perturb_func, original, n_samples, kwargs)
        return torch.cat([torch.as_tensor(s).reshape(1, -1) for s in samples])

    def _similarities(self, unit: CoalitionSetup, samples: Tensor, kwargs: dict) -> Tensor:
        """Weight ``π`` of every sample, ``(n,)``; the default kernel is computed batched."""
        if isinstance(self.similarity_func, ExpKernelSimilarity):
            sums = _group_sums(unit)
            return self.similarity_func.from_group_sums(sums, samples.to(sums.device) != 0)
        original = self._user_inputs(unit)
        weights = []
        for sample in samples:
            mixed = perturbed_inputs(unit.inputs, unit.baselines, unit.masks, sample[None] != 0)
            value = self.similarity_func(
                original, format_output(unit.was_tuple, mixed), sample[None], **kwargs
            )
            weights.append(torch.as_tensor(value, dtype=torch.float64).reshape(-1)[:1])
        return torch.cat(weights)


def _group_sums(unit: CoalitionSetup) -> Tensor:
    """(3, k) float64: Σ x², Σ x·b and Σ b² over each group's elements, across all inputs."""
    sums = torch.zeros(3, unit.n_groups, dtype=torch.float64, device=unit.inputs[0].device)
    for tensor, baseline, mask in zip(unit.inputs, unit.baselines, unit.masks):
        x = tensor.double()
        b = torch.as_tensor(baseline, dtype=torch.float64, device=x.device).expand_as(x)
        ids = mask.to(x.device).expand_as(x).reshape(-1)
        for row, values in enumerate((x * x, x * b, b * b)):
            sums[row].index_add_(0, ids, values.reshape(-1))
    return sums
