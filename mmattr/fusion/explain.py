"""``explain``: attribute a multimodal prediction and measure each modality's contribution."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mmattr.adapters.base import Adapter
from mmattr.engine.registry import MethodInfo, method_info
from mmattr.engine.toolkit import (
    OutputSelector,
    capture_layers,
    preserve_model_state,
    replace_layer,
)
from mmattr.fusion._bundle import Bundle, resolve_target
from mmattr.fusion._inputs import build_bundle, feature_masks
from mmattr.fusion._layers import called_layer, tied_copies
from mmattr.fusion.estimators import select_estimators
from mmattr.fusion.explanation import Explanation

QA_TARGETS = ("start", "end")


def explain(
    model: Callable,
    inputs: Tensor | Mapping[str, Any],
    adapters: Mapping[str, Adapter] | None = None,
    method: str | type = "integrated_gradients",
    target: Any = None,
    forward: Callable | None = None,
    contributions: Sequence[str] | None = None,
    output: OutputSelector = None,
    **method_kwargs: Any,
) -> Explanation:
    """Attribute ``model``'s output to each modality and estimate each modality's contribution.

    The model is called ``model(**{name: tensor}, **model_kwargs)`` (``forward`` replaces it);
    a processor's output is split by its keys and passed with its own names; a single-input
    model whose parameter has another name takes its input positionally.

    Args:
        model: the model (an ``nn.Module`` or any callable).
        inputs: a tensor, a mapping modality name -> raw input, ``ModalityInput`` or tensor, or
            a processor's ``BatchEncoding``/``BatchFeature`` (``input_ids`` and its masks ->
            "text", ``pixel_values``/``pixel_mask`` -> "image", ``input_values``/
            ``input_features`` -> "audio").
        adapters: modality name -> adapter; default by name ("text", "image", "audio", "graph")
            for raw inputs, none (zero baseline, one group per element) for tensors.
        method: a registered input-attribution method (gradient or perturbation, no layer;
            ``mmattr methods`` lists them) by snake_case name ("integrated_gradients",
            "saliency", "feature_ablation", ...) or class. Default "integrated_gradients".
        target: as in the engine, or "predicted" (the argmax per example), or "start"/"end"
            for question answering (``output="start_logits"``/``"end_logits"`` at the
            predicted position).
        contributions: registered estimators (``mmattr.fusion.estimators``): among
            "attribution_share", "modality_shapley", "mm_shap", "leave_one_out"; None (default)
            runs the default ones, all but "mm_shap". ``mm_shap`` reads
            ``mm_shap_permutations`` (default 20).
        output: what to explain when the model returns a ``ModelOutput``, dict or tuple: a
            field name ("logits", "start_logits", "logits_per_image": the paired scores), an
            index or a callable output -> tensor. Default None: the tensor returned, else the
            ``logits`` field or the only tensor field.
        **method_kwargs: passed to the method's ``attribute`` (``n_steps``...).
        forward: optional callable ``forward(model, **model_inputs)`` used instead of
            ``model(**model_inputs)`` (default ``None``).

    Example:
        >>> import torch
        >>> model = lambda text, image: text.sum(1, keepdim=True) + 2 * image.sum(1, keepdim=True)
        >>> inputs = {"text": torch.ones(1, 3), "image": torch.ones(1, 2)}
        >>> e = explain(model, inputs)
        >>> round(e.contributions["modality_shapley"].shares["image"], 3)
        0.571
    """
    estimators = select_estimators(contributions)
    permutations = method_kwargs.pop("mm_shap_permutations", 20)
    if isinstance(target, str) and target in QA_TARGETS:
        output = f"{target}_logits" if output is None else output
        target = "predicted"
    info = method_info(method, lambda i: i.input_method, "an input-attribution method")
    bundle = build_bundle(model, inputs, adapters, forward, output)
    with preserve_model_state(model):
        bundle.target = resolve_target(bundle, target)
        attributions = _attribute(bundle, model, info, method_kwargs)
        results = {
            estimator.name: estimator.run(
                bundle,
                attributions=attributions,
                completeness=info.convergence_delta,
                n_permutations=permutations,
            )
            for estimator in estimators
        }
    meta = {n: dict(bundle.inputs[n].meta) for n in bundle.names}
    return Explanation(attributions, results, bundle.target, info.cls.__name__, meta)


def _takes(method_class: type, parameter: str) -> bool:
    return parameter in inspect.signature(method_class.attribute).parameters


def _attribute(
    bundle: Bundle, model: Callable, info: MethodInfo, kwargs: dict[str, Any]
) -> dict[str, Tensor]:
    """Run the engine method on the tuple of modality tensors (embeddings for token ids)."""
    method_class = info.cls
    if info.kind == "perturbation":
        inputs = tuple(bundle.inputs[n].tensor for n in bundle.names)
        baselines = tuple(bundle.baselines[n] for n in bundle.names)
        if _takes(method_class, "feature_mask"):  # Occlusion takes windows instead
            masks = feature_masks(bundle)
            kwargs.setdefault("feature_mask", tuple(masks[n] for n in bundle.names))
        forward_func = _PositionalForward(bundle, model, {})
    else:
        layers = {n: _gradient_layer(bundle, model, n) for n in bundle.names}
        inputs, baselines = _gradient_inputs(bundle, layers, model)
        forward_func = _PositionalForward(bundle, model, layers)
    if _takes(method_class, "baselines"):
        kwargs.setdefault("baselines", baselines)
    instance = method_class(forward_func)
    result = instance.attribute(inputs, target=bundle.target, **kwargs)
    if isinstance(result, tuple) and len(result) == 2 and kwargs.get("return_convergence_delta"):
        result = result[0]
    result = result if isinstance(result, tuple) else (result,)
    return {n: a.detach() for n, a in zip(bundle.names, result)}


def _gradient_layer(bundle: Bundle, model: Callable, name: str) -> nn.Module | None:
    tensor, adapter = bundle.inputs[name].tensor, bundle.adapters[name]
    if tensor.is_floating_point():
        return None
    layer = adapter.attribution_layer(model) if adapter is not None else None
    if layer is None:
        raise TypeError(
            f"inputs[{name!r}] has dtype {tensor.dtype} and no attribution layer; gradient "
            "methods need floating inputs or an adapter whose attribution_layer(model) gives "
            "the embedding, e.g. adapters={'text': TextAdapter.from_processor(processor, model)}"
        )
    return layer


def _gradient_inputs(
    bundle: Bundle, layers: dict[str, nn.Module | None], model: Callable
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Modality tensors, or the attribution layer's output for the input and its baseline
    (``layers`` is updated when the forward calls a tied copy of the layer instead)."""
    inputs, baselines = [], []
    for name in bundle.names:
        if layers[name] is None:
            inputs.append(bundle.inputs[name].tensor)
            baselines.append(bundle.baselines[name])
            continue
        value = _embedded(layers[name], bundle.inputs[name].tensor, model)
        if value is None:
            value = _layer_value(bundle, name, layers[name], bundle.inputs[name].tensor)
        if value is None:
            layers[name] = called_layer(bundle, name, layers[name], model)
            value = _layer_value(bundle, name, layers[name], bundle.inputs[name].tensor)
        inputs.append(value)
        adapter = bundle.adapters[name]
        if hasattr(adapter, "baseline_embedding"):  # the protocol's optional method
            baselines.append(adapter.baseline_embedding(bundle.inputs[name]).detach())
        else:
            baselines.append(_layer_value(bundle, name, layers[name], bundle.baselines[name]))
    return tuple(inputs), tuple(baselines)


def _embedded(layer: nn.Module, ids: Tensor, model: Callable) -> Tensor | None:
    """An embedding's output on ``ids`` without a model forward: what the forward gives it when
    it calls this very module (``_PositionalForward`` checks that it does), else None."""
    if not isinstance(layer, nn.Embedding) or tied_copies(layer, model):
        return None
    with torch.no_grad():
        return layer(ids).detach()


def _layer_value(bundle: Bundle, name: str, layer: nn.Module, source: Tensor) -> Tensor | None:
    """The attribution layer's output when modality ``name`` is ``source`` (None: not called)."""
    tensors = {**bundle.coalition(set(bundle.names)), name: source}
    with capture_layers([layer]) as records, torch.no_grad():
        bundle.output(tensors)
    return records[0].values[0].detach().clone() if records[0].values else None


class _PositionalForward(nn.Module):
    """forward(*modality_tensors) -> model output, as a module holding the model so that methods
    that hook the model's layers (DeepLift, GuidedBackprop) find them."""

    def __init__(self, bundle: Bundle, model: Callable, layers: dict[str, nn.Module | None]):
        super().__init__()
        self.model = model if isinstance(model, nn.Module) else None
        self.bundle, self.layers = bundle, layers

    def forward(self, *tensors: Tensor) -> Tensor:
        bundle = self.bundle
        values = dict(zip(bundle.names, tensors))
        replaced: list[str] = []
        with contextlib.ExitStack() as stack:
            for name, layer in self.layers.items():
                if layer is not None:
                    embedded = values[name]
                    swap = lambda _, e=embedded, n=name: replaced.append(n) or e  # noqa: E731
                    stack.enter_context(replace_layer(layer, swap))
                    rows = embedded.shape[0] // bundle.batch
                    ids = bundle.inputs[name].tensor
                    values[name] = ids.repeat(rows, *([1] * (ids.dim() - 1)))
            output = bundle.output(values)
        missed = [n for n, layer in self.layers.items() if layer is not None and n not in replaced]
        if missed:
            raise ValueError(
                f"the attribution layer of inputs[{missed[0]!r}] "
                f"({type(self.layers[missed[0]]).__name__}) was not called by the model's "
                "forward; pass the embedding the forward calls: TextAdapter(tokenizer, embedding)"
            )
        return output
