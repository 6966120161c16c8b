"""Dataset-level modality reliance: perceptual score and the EMAP gap.

perceptual_m = acc(f) - mean_k acc(f with modality m permuted across the dataset)
(Gat et al., 2021); EMAP gap = acc(f) - acc(EMAP(f)), EMAP(f)(x_i) = sum_m E_j f(x_i^m, x_j^-m)
- (M - 1) E_{j,k} f(x_j^m, x_k^-m) (Hessel & Lee, 2020).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from mmattr.engine.toolkit import chunk_bounds
from mmattr.fusion.explanation import Contribution


def _logits(call: Callable, inputs: Mapping[str, Tensor], batch_size: int) -> Tensor:
    total = next(iter(inputs.values())).shape[0]
    with torch.inference_mode():
        parts = [
            call(**{n: t[start:stop] for n, t in inputs.items()})
            for start, stop in chunk_bounds(total, batch_size)
        ]
    return torch.cat(parts).flatten(1).double()


def _accuracy(logits: Tensor, labels: Tensor) -> float:
    return float((logits.argmax(1) == labels).double().mean())


def _perceptual(call, inputs, labels, batch_size, n_permutations, generator, bar):
    base = _accuracy(_logits(call, inputs, batch_size), labels)
    values = {}
    for name in inputs:
        drops = []
        for _ in range(n_permutations):
            order = torch.randperm(labels.shape[0], generator=generator)
            shuffled = {**inputs, name: inputs[name][order]}
            drops.append(base - _accuracy(_logits(call, shuffled, batch_size), labels))
            bar.update(1)
        values[name] = sum(drops) / len(drops)
    return base, values


def _emap(call, inputs, labels, batch_size, bar) -> float:
    """Accuracy of the EMAP logits (N, classes), built from the per-modality conditional means."""
    names, n = list(inputs), labels.shape[0]
    conditional = {}
    for name in names:
        means = []
        for i in range(n):
            grid = {m: t if m != name else t[i : i + 1].expand_as(t) for m, t in inputs.items()}
            means.append(_logits(call, grid, batch_size).mean(0))
            bar.update(1)
        conditional[name] = torch.stack(means)  # (N, classes): E_j f(x_i^m, x_j^-m)
    grand = conditional[names[0]].mean(0)
    emap = sum(conditional.values()) - (len(names) - 1) * grand
    return _accuracy(emap, labels)


def dataset_contributions(
    model: Callable,
    dataset: tuple[Mapping[str, Tensor], Tensor],
    forward: Callable | None = None,
    batch_size: int = 256,
    n_permutations: int = 5,
    seed: int = 0,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Perceptual score per modality and the EMAP gap over a labelled dataset.

    Args:
        model: called ``model(**{name: (batch, ...)})`` -> (batch, classes); ``forward``
            replaces it.
        dataset: (mapping modality -> tensor (N, ...), labels (N,)). EMAP costs N^2 * M rows.
        n_permutations: permutations averaged per modality for the perceptual score (default 5).
        forward: optional callable ``forward(model, **batch)`` used instead of
            ``model(**batch)`` (default ``None``).
        batch_size: examples per forward call (default ``256``).
        seed: seed of the random generator, for reproducible draws (default ``0``).
        show_progress: show a progress bar (default ``True``).

    Returns a dict: ``"perceptual_score"`` (a :class:`Contribution`), ``"accuracy"``,
    ``"emap_accuracy"`` and ``"emap_gap"`` (accuracy lost by the best additive model: > 0 means
    the model uses cross-modal interactions).
    """
    inputs, labels = dataset
    if not isinstance(inputs, Mapping) or not isinstance(labels, Tensor):
        raise TypeError(
            f"dataset is ({type(inputs).__name__}, {type(labels).__name__}); expected "
            "(mapping modality -> tensor (N, ...), labels tensor (N,))"
        )
    sizes = {n: t.shape[0] for n, t in inputs.items()}
    if any(s != labels.shape[0] for s in sizes.values()):
        raise ValueError(f"dataset tensors have {sizes} rows; labels has {labels.shape[0]}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size is {batch_size!r}; expected a positive int (rows per call)")
    call = forward if forward is not None else model
    generator = torch.Generator().manual_seed(seed)
    total = len(inputs) * (n_permutations + labels.shape[0])
    with tqdm(total=total, disable=not show_progress, desc="dataset contributions") as bar:
        accuracy, values = _perceptual(
            call, inputs, labels, batch_size, n_permutations, generator, bar
        )
        emap_accuracy = _emap(call, inputs, labels, batch_size, bar)
    n = labels.shape[0]
    evaluations = n * (1 + len(inputs) * n_permutations) + len(inputs) * n * n
    return {
        "perceptual_score": Contribution(values, "perceptual_score", evaluations=evaluations),
        "accuracy": accuracy,
        "emap_accuracy": emap_accuracy,
        "emap_gap": accuracy - emap_accuracy,
    }
