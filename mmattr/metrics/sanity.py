"""Sanity checks (Adebayo et al., 2018): an explanation that survives randomising the model's
parameters does not explain the model. Layers are re-initialised from the top (output) down,
cumulatively (cascading) or one at a time (independent), and each map is compared with the
original one by Spearman rank correlation or SSIM (scikit-image).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from mmattr.metrics._common import average_ranks, preserve_model_state
from mmattr.metrics.faithfulness_correlation import _pearson

__all__ = ["RandomisationResult", "model_parameter_randomisation", "spearman", "ssim"]

MODES = ("cascading", "independent")


@dataclass
class RandomisationResult:
    """Similarity of the randomised model's maps to the original ones, layer by layer.

    Attributes:
        layers: the layer randomised at each point, top first (cascading: with all above it).
        similarity: (n_layers, batch) similarity per example.
        measure: "spearman" or "ssim"; mode: "cascading" or "independent".
        threshold: a check passes when the similarity falls below it.
    """

    layers: list[str]
    similarity: Tensor
    measure: str
    mode: str
    threshold: float

    @property
    def curve(self) -> Tensor:
        """(n_layers,) mean similarity over the examples."""
        return self.similarity.mean(1)

    @property
    def passed(self) -> bool:
        """Cascading: the fully randomised model's maps are below the threshold; independent:
        the mean over layers is."""
        value = self.curve[-1] if self.mode == "cascading" else self.curve.mean()
        return bool(value < self.threshold)


def spearman(first: Tensor, second: Tensor) -> Tensor:
    """(batch,) Spearman rank correlation of two (batch, ...) maps (ties: average ranks).

    Args:
        first: ``(batch, ...)`` first map.
        second: ``(batch, ...)`` second map.
    """
    flat = [t.detach().reshape(t.shape[0], -1) for t in (first, second)]
    return _pearson(average_ranks(flat[0]), average_ranks(flat[1]))


def ssim(first: Tensor, second: Tensor) -> Tensor:
    """(batch,) structural similarity (scikit-image) of two (batch, H, W) maps, each first
    scaled to [0, 1] by its own range (a randomised model's maps have another scale).

    Args:
        first: ``(batch, H, W)`` first map.
        second: ``(batch, H, W)`` second map.
    """
    from skimage.metrics import structural_similarity

    if first.dim() != 3 or min(first.shape[1:]) < 7:
        raise ValueError(
            f"ssim compares 2-D maps; the maps have shape {tuple(first.shape)}; expected "
            "(batch, H, W) with H, W >= 7 (sum the channels first)"
        )
    values = []
    for a, b in zip(_unit_range(first), _unit_range(second)):
        values.append(structural_similarity(a, b, data_range=1.0))
    return torch.tensor(values, dtype=torch.float64)


def _unit_range(maps: Tensor) -> Any:
    flat = maps.detach().double().reshape(maps.shape[0], -1)
    low, high = flat.min(1).values, flat.max(1).values
    scaled = (flat - low[:, None]) / (high - low).clamp(min=1e-300)[:, None]
    return scaled.reshape(maps.shape).cpu().numpy()


def model_parameter_randomisation(
    model: nn.Module,
    explain: Callable[[nn.Module, Any, Any], Tensor],
    inputs: Any,
    target: Any = None,
    mode: str = "cascading",
    similarity: str = "spearman",
    threshold: float = 0.5,
    absolute: bool = True,
    seed: int = 0,
) -> RandomisationResult:
    """Randomise ``model``'s parameterised layers from the top down and compare the maps.

    Args:
        model: the model; it comes back unchanged (weights, modes, hooks), also on error.
        explain: ``explain(model, inputs, target) -> (batch, ...)`` attributions.
        inputs, target: passed to ``explain``.
        mode: "cascading" (cumulative, Adebayo's main test) or "independent". Default
            "cascading".
        similarity: "spearman" or "ssim" (2-D maps). Default "spearman".
        threshold: the check passes below it (see :attr:`RandomisationResult.passed`).
            Default 0.5.
        absolute: compare ``|a|`` (summed over the channel dimension 1 for 4-D maps).
            Default True.
        seed: seed of the re-initialisation.
        inputs: the inputs passed to ``explain``.
        target: the target passed to ``explain`` (default ``None``).

    Returns:
        :class:`RandomisationResult` with the per-layer curve and ``passed``.
    """
    if mode not in MODES:
        raise ValueError(f"mode is {mode!r}; expected one of {list(MODES)}")
    compare = {"spearman": spearman, "ssim": ssim}.get(similarity)
    if compare is None:
        raise ValueError(f"similarity is {similarity!r}; expected 'spearman' or 'ssim'")
    layers = [(n, m) for n, m in model.named_modules() if list(m.parameters(recurse=False))]
    if not layers:
        raise ValueError("model has no layer with parameters; nothing to randomise")
    layers.reverse()  # top (output) layer first
    saved = copy.deepcopy(model.state_dict())
    with preserve_model_state(model):
        try:
            reference = _map(explain(model, inputs, target), absolute)
            rows = []
            for index, (_name, layer) in enumerate(layers):
                if mode == "independent":
                    model.load_state_dict(saved)
                _randomise(layer, seed + index)
                rows.append(compare(reference, _map(explain(model, inputs, target), absolute)))
        finally:
            model.load_state_dict(saved)
    names = [n or type(m).__name__ for n, m in layers]
    return RandomisationResult(names, torch.stack(rows), similarity, mode, threshold)


def _map(attributions: Tensor, absolute: bool) -> Tensor:
    values = attributions.detach().double()
    values = values.abs() if absolute else values
    return values.sum(1) if values.dim() == 4 else values


@torch.no_grad()
def _randomise(layer: nn.Module, seed: int) -> None:
    """Re-initialise ``layer``'s own parameters (its ``reset_parameters`` or a normal draw of
    each parameter's scale), from ``seed``, without touching the global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
            if isinstance(layer, nn.modules.batchnorm._NormBase) and layer.affine:
                layer.weight.normal_()  # a reset BatchNorm is the identity, not random
                layer.bias.normal_()
            return
        for parameter in layer.parameters(recurse=False):
            parameter.normal_(0.0, float(parameter.std()) if parameter.numel() > 1 else 1.0)
