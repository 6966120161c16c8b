"""Turn ``explain``'s ``inputs``/``adapters`` arguments into a :class:`Bundle`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from mmattr.adapters.base import Adapter, ModalityInput
from mmattr.engine.toolkit import OutputSelector
from mmattr.fusion._bundle import KNOWN_MODALITIES, POSITIONAL, Bundle, resolve_keywords
from mmattr.fusion._processor import is_processor_output, split_processor_output

_DEFAULT_ADAPTERS = {
    "text": "TextAdapter",
    "image": "ImageAdapter",
    "audio": "AudioAdapter",
    "graph": "GraphAdapter",
}


def build_bundle(
    model: Callable,
    inputs: Any,
    adapters: Mapping[str, Adapter] | None,
    forward: Callable | None,
    output: OutputSelector = None,
) -> Bundle:
    positional = isinstance(inputs, Tensor)
    keywords: dict[str, str] = {}
    if positional:
        inputs = {POSITIONAL: inputs}
    elif is_processor_output(inputs):
        inputs, keywords = split_processor_output(inputs)
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError(
            f"inputs is {type(inputs).__name__}; expected a tensor or a non-empty mapping "
            "modality name -> raw input, ModalityInput or tensor"
        )
    adapters = dict(adapters or {})
    extra = sorted(set(adapters) - set(inputs))
    if extra:
        raise ValueError(f"adapters has names {extra} that inputs lacks; inputs has {list(inputs)}")
    names = list(inputs)
    chosen = {n: adapters.get(n) or _default_adapter(n, inputs[n]) for n in names}
    prepared = {n: _prepare(n, inputs[n], chosen[n]) for n in names}
    call = forward if forward is not None else model
    keywords = {n: keywords.get(n, n) for n in names}
    if not positional:
        kwargs = [k for p in prepared.values() for k in p.model_kwargs]
        keywords = resolve_keywords(call, keywords, kwargs)
    baselines = {n: _baseline(n, prepared[n], chosen[n]) for n in names}
    return Bundle(
        call, names, prepared, chosen, baselines, positional, keywords=keywords, selector=output
    )


def _default_adapter(name: str, raw: Any) -> Adapter | None:
    if isinstance(raw, (Tensor, ModalityInput)):
        return None
    if name not in _DEFAULT_ADAPTERS:
        raise ValueError(
            f"inputs[{name!r}] is a {type(raw).__name__} and no adapter was given; pass "
            f"adapters={{{name!r}: ...}} or name the modality one of {list(KNOWN_MODALITIES)}"
        )
    import mmattr.adapters as package

    adapter_class = getattr(package, _DEFAULT_ADAPTERS[name])
    try:
        return adapter_class()
    except TypeError as error:  # e.g. TextAdapter needs the model's tokenizer and embedding
        raise ValueError(
            f"inputs[{name!r}] is a {type(raw).__name__} and the default {name} adapter cannot "
            f"be built without arguments ({error}); pass adapters={{{name!r}: "
            f"{adapter_class.__name__}(...)}}"
            + (", e.g. TextAdapter.for_model(model, tokenizer)" if name == "text" else "")
        ) from error


def _prepare(name: str, raw: Any, adapter: Adapter | None) -> ModalityInput:
    if adapter is not None and name in KNOWN_MODALITIES and adapter.modality != name:
        raise TypeError(
            f"adapters[{name!r}] is a {adapter.modality} adapter "
            f"({type(adapter).__name__}); expected a {name} adapter"
        )
    if isinstance(raw, ModalityInput):
        processed = "processor_key" in raw.meta and hasattr(adapter, "annotate")
        prepared = adapter.annotate(raw) if processed else raw
    elif adapter is None:
        prepared = ModalityInput(raw)
    else:
        try:
            prepared = adapter.prepare(raw)
        except (TypeError, ValueError, AttributeError) as error:
            raise TypeError(
                f"inputs[{name!r}] is a {type(raw).__name__} that {type(adapter).__name__} "
                f"cannot prepare: {error}"
            ) from error
    if not isinstance(prepared.tensor, Tensor) or prepared.tensor.dim() == 0:
        raise TypeError(
            f"inputs[{name!r}] gave {type(prepared.tensor).__name__}; expected a tensor with a "
            "batch dimension"
        )
    return prepared


def _baseline(name: str, x: ModalityInput, adapter: Adapter | None) -> Tensor:
    baseline = torch.zeros_like(x.tensor) if adapter is None else adapter.baseline(x)
    if baseline.shape != x.tensor.shape:
        raise ValueError(
            f"the baseline of {name!r} has shape {tuple(baseline.shape)}; expected "
            f"{tuple(x.tensor.shape)}"
        )
    return baseline


def feature_masks(bundle: Bundle) -> dict[str, Tensor]:
    """Per-modality integer groups, offset so groups stay distinct across modalities."""
    masks, offset = {}, 0
    for name in bundle.names:
        x, adapter = bundle.inputs[name], bundle.adapters[name]
        if adapter is None:
            per_example = torch.arange(x.tensor[0].numel()).reshape(x.tensor.shape[1:])
            mask = per_example.unsqueeze(0)
        else:
            mask = adapter.feature_mask(x).long()
            mask = mask - mask.min()
        masks[name] = mask + offset
        offset = int(masks[name].max()) + 1
    return masks
