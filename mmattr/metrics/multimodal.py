"""Metrics per modality of a multimodal :class:`~mmattr.fusion.Explanation`: any map metric
on each modality's attributions, and deletion/insertion curves of one modality at a time
(the others held at their inputs) with the adapter's baseline and feature groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

from torch import Tensor

from mmattr.adapters.base import Adapter, ModalityInput
from mmattr.metrics._common import MaxExamples
from mmattr.metrics.deletion import Curve, deletion_curve, insertion_curve

if TYPE_CHECKING:
    from mmattr.fusion import Explanation

__all__ = ["modality_curves", "per_modality"]


def per_modality(
    explanation: Explanation,
    metric: Callable[..., Tensor],
    modalities: Sequence[str] | None = None,
    **kwargs: Any,
) -> dict[str, Tensor]:
    """``metric(explanation.attributions[m], **kwargs_m)`` for each modality ``m``; a keyword
    given as a mapping modality -> value (ground-truth ``masks``) is read per modality.

    Args:
        explanation: the ``Explanation`` returned by ``mmattr.explain``.
        metric: a metric taking ``attributions`` (and ``kwargs``) and returning a
            ``(batch,)`` tensor.
        modalities: modalities to evaluate (``None``: all of ``explanation.attributions``;
            default ``None``).
        **kwargs: passed to ``metric``; a mapping keyed by modality gives each modality its
            own value.

    Example:
        >>> import torch
        >>> from mmattr import Explanation
        >>> from mmattr.metrics import pointing_game
        >>> attributions = {"image": torch.tensor([[0.1, 0.9, 0.0]])}
        >>> explanation = Explanation(attributions, {}, target=0, method="Saliency")
        >>> per_modality(explanation, pointing_game, masks={"image": torch.tensor([[0, 1, 0]])})
        {'image': tensor([1.], dtype=torch.float64)}
    """
    names = _modalities(explanation, modalities)
    results = {}
    for name in names:
        chosen = {}
        for key, value in kwargs.items():
            if isinstance(value, Mapping):
                if name not in value:
                    raise ValueError(
                        f"{key} has modalities {list(value)}; expected {name!r} as well "
                        f"(asked for {names})"
                    )
                value = value[name]
            chosen[key] = value
        results[name] = metric(explanation.attributions[name], **chosen)
    return results


def modality_curves(
    model: Callable[..., Tensor],
    inputs: Mapping[str, Tensor | ModalityInput],
    explanation: Explanation,
    adapters: Mapping[str, Adapter | None] | None = None,
    modalities: Sequence[str] | None = None,
    kind: str = "deletion",
    n_steps: int | None = 20,
    order: str = "most",
    max_examples_per_batch: MaxExamples = "auto",
    show_progress: bool = False,
) -> dict[str, Curve]:
    """Deletion (or insertion) curve of each modality, the others held at their inputs.

    Args:
        model: called ``model(**{modality: tensor}, **model_kwargs)``, as :func:`mmattr.explain`.
        inputs: modality -> model-ready tensor or ``ModalityInput`` (``adapter.prepare(raw)``).
        explanation: its ``attributions`` rank the features; ``target`` is explained.
            Attributions over an embedding (token ids) are summed over the embedding.
        adapters: modality -> adapter giving ``baseline`` and ``feature_mask``; without one,
            zero and one group per element.
        modalities: which ones; default all of the explanation's.
        kind: "deletion" or "insertion"; n_steps, order, max_examples_per_batch,
            show_progress: as :func:`mmattr.metrics.deletion_curve`. ``n_steps`` default 20.
        n_steps: number of points of each curve (``None``: one per feature; default ``20``).
        order: remove features from the ``"most"`` relevant first or from the ``"least"``
            (default ``"most"``).
        max_examples_per_batch: cap on perturbed examples per forward call (``"auto"``: fit
            memory; ``None``: no cap; default ``"auto"``).
        show_progress: show a progress bar (default ``False``).

    Returns:
        modality -> :class:`Curve`.
    """
    if kind not in ("deletion", "insertion"):
        raise ValueError(f"kind is {kind!r}; expected 'deletion' or 'insertion'")
    prepared = {
        n: v if isinstance(v, ModalityInput) else ModalityInput(v) for n, v in inputs.items()
    }
    adapters = dict(adapters or {})
    curves = {}
    for name in _modalities(explanation, modalities):
        if name not in prepared:
            raise ValueError(f"inputs has modalities {list(prepared)}; expected {name!r} too")
        x, adapter = prepared[name], adapters.get(name)
        curve = deletion_curve if kind == "deletion" else insertion_curve
        curves[name] = curve(
            _ModalityForward(model, prepared, name),
            x.tensor,
            _to_input_shape(explanation.attributions[name], x.tensor, name),
            baselines=adapter.baseline(x) if adapter is not None else None,
            target=explanation.target,
            feature_mask=adapter.feature_mask(x) if adapter is not None else None,
            n_steps=n_steps,
            order=order,
            max_examples_per_batch=max_examples_per_batch,
            show_progress=show_progress,
        )
    return curves


def _modalities(explanation: Any, modalities: Sequence[str] | None) -> list[str]:
    available = list(explanation.attributions)
    names = available if modalities is None else list(modalities)
    missing = [n for n in names if n not in available]
    if missing:
        raise ValueError(
            f"modalities has {missing}; the explanation has attributions for {available}"
        )
    return names


def _to_input_shape(attributions: Tensor, tensor: Tensor, name: str) -> Tensor:
    """Attributions of an embedding (batch, tokens, hidden) summed to the ids' (batch, tokens)."""
    if attributions.shape == tensor.shape:
        return attributions
    if attributions.shape[: tensor.dim()] == tensor.shape:
        return attributions.sum(dim=tuple(range(tensor.dim(), attributions.dim())))
    raise ValueError(
        f"explanation.attributions[{name!r}] has shape {tuple(attributions.shape)}; expected "
        f"{tuple(tensor.shape)}, the shape of inputs[{name!r}] (or it followed by an embedding)"
    )


class _ModalityForward:
    """forward(rows of one modality) with the other modalities and model kwargs repeated."""

    def __init__(self, model: Callable, inputs: dict[str, ModalityInput], name: str) -> None:
        self.model, self.inputs, self.name = model, inputs, name

    def __call__(self, rows: Tensor) -> Tensor:
        batch = self.inputs[self.name].tensor.shape[0]
        repeats = rows.shape[0] // batch
        kwargs = {}
        for name, x in self.inputs.items():
            kwargs[name] = rows if name == self.name else _repeat(x.tensor, repeats)
            static = x.meta.get("unbatched_kwargs", ())
            for key, value in x.model_kwargs.items():
                kwargs[key] = value if key in static else _repeat(value, repeats)
        return self.model(**kwargs)


def _repeat(value: Any, repeats: int) -> Any:
    if not isinstance(value, Tensor) or value.dim() == 0 or repeats == 1:
        return value
    return value.repeat(repeats, *([1] * (value.dim() - 1)))
