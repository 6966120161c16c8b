"""The attribution methods of the benchmark and the metrics that score them, by name."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from mmattr.engine.gradient import InputXGradient, IntegratedGradients, Saliency
from mmattr.engine.perturbation import FeatureAblation, Occlusion
from mmattr.metrics.auroc import auroc
from mmattr.metrics.complexity import complexity
from mmattr.metrics.deletion import Curve, deletion_curve, insertion_curve
from mmattr.metrics.faithfulness_correlation import faithfulness_correlation
from mmattr.metrics.pointing_game import pointing_game
from mmattr.metrics.relevance_mass import relevance_mass
from mmattr.metrics.relevance_rank import relevance_rank_accuracy
from mmattr.metrics.sparseness import sparseness
from mmattr.metrics.zoo_benchmark._tasks import Task

N_STEPS = 16  # integrated gradients' steps and the curves' points after the first


def _saliency(task: Task) -> Tensor:
    return Saliency(task.forward).attribute(
        task.inputs, target=task.target, additional_forward_args=task.args
    )


def _input_x_gradient(task: Task) -> Tensor:
    return InputXGradient(task.forward).attribute(
        task.inputs, target=task.target, additional_forward_args=task.args
    )


def _integrated_gradients(task: Task) -> Tensor:
    return IntegratedGradients(task.forward).attribute(
        task.inputs,
        task.baselines,
        target=task.target,
        additional_forward_args=task.args,
        n_steps=N_STEPS,
        internal_batch_size="auto",
    )


def _occlusion(task: Task) -> Tensor:
    window, strides = task.window
    return Occlusion(task.forward).attribute(
        task.inputs,
        sliding_window_shapes=window,
        strides=strides,
        baselines=task.baselines,
        target=task.target,
        additional_forward_args=task.args,
    )


def _feature_ablation(task: Task) -> Tensor:
    return FeatureAblation(task.forward).attribute(
        task.inputs,
        task.baselines,
        target=task.target,
        additional_forward_args=task.args,
        feature_mask=task.feature_mask,
    )


def _random(task: Task) -> Tensor:
    """The control: a uniform random map (seeded), at chance on every localisation metric."""
    generator = torch.Generator().manual_seed(0)
    return torch.rand(task.inputs.shape, generator=generator, dtype=task.inputs.dtype)


METHODS: dict[str, Callable[[Task], Tensor]] = {
    "saliency": _saliency,
    "input_x_gradient": _input_x_gradient,
    "integrated_gradients": _integrated_gradients,
    "occlusion": _occlusion,
    "feature_ablation": _feature_ablation,
    "random": _random,
}


def curve(task: Task, attributions: Tensor, kind: str) -> Curve:
    function = deletion_curve if kind == "deletion" else insertion_curve
    return function(
        task.forward,
        task.inputs,
        attributions,
        task.baselines,
        task.target,
        task.args,
        task.feature_mask,
        n_steps=N_STEPS,
    )


#: metric name -> (task, attributions, curves cache) -> (n,) per example
METRICS: dict[str, Callable[[Task, Tensor, dict], Tensor]] = {
    "pointing_game": lambda t, a, c: pointing_game(t.to_map(a), t.truth),
    "relevance_mass": lambda t, a, c: relevance_mass(t.to_map(a), t.truth),
    "relevance_rank": lambda t, a, c: relevance_rank_accuracy(t.to_map(a), t.truth),
    "auroc": lambda t, a, c: auroc(t.to_map(a), t.truth),
    "deletion_auc": lambda t, a, c: c["deletion"].auc,
    "deletion_aopc": lambda t, a, c: c["deletion"].aopc,
    "insertion_auc": lambda t, a, c: c["insertion"].auc,
    "sparseness": lambda t, a, c: sparseness(t.to_map(a)),
    "complexity": lambda t, a, c: complexity(t.to_map(a)),
    "faithfulness_correlation": lambda t, a, c: faithfulness_correlation(
        t.forward, t.inputs, a, t.baselines, t.target, t.args, t.feature_mask, n_samples=20
    ),
}
DEFAULT_METRICS = tuple(m for m in METRICS if m != "faithfulness_correlation")
#: whether a larger value is better, for the figures and the Markdown table
HIGHER_IS_BETTER = {
    "pointing_game": True,
    "relevance_mass": True,
    "relevance_rank": True,
    "auroc": True,
    "deletion_auc": False,
    "deletion_aopc": True,
    "insertion_auc": True,
    "sparseness": True,
    "complexity": False,
    "faithfulness_correlation": True,
}
