"""``explain``: attribute a multimodal prediction and measure each modality's contribution."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mmattr.adapters.base import Adapter
from mmattr.engine._hooks import capture_layers, preserve_model_state, replace_layer
from mmattr.fusion._bundle import Bundle, resolve_target
from mmattr.fusion._inputs import build_bundle, feature_masks
from mmattr.fusion.attribution_share import attribution_share
from mmattr.fusion.explanation import Explanation
from mmattr.fusion.leave_one_out import leave_one_out
from mmattr.fusion.mm_shap import mm_shap
from mmattr.fusion.modality_shapley import modality_shapley

DEFAULT_CONTRIBUTIONS = ("attribution_share", "modality_shapley", "leave_one_out")
ESTIMATORS = ("attribution_share", "modality_shapley", "mm_shap", "leave_one_out")


def explain(
    model: Callable,
    inputs: Tensor | Mapping[str, Any],
    adapters: Mapping[str, Adapter] | None = None,
    method: str | type = "integrated_gradients",
    target: Any = None,
    forward: Callable | None = None,
    contributions: Sequence[str] = DEFAULT_CONTRIBUTIONS,
    **method_kwargs: Any,
) -> Explanation:
    """Attribute ``model``'s output to each modality and estimate each modality's contribution.

    The model is called ``model(**{name: tensor}, **model_kwargs)`` (``forward`` replaces it).

    Args:
        model: the model (an ``nn.Module`` or any callable).
        inputs: a tensor, or a mapping modality name -> raw input, ``ModalityInput`` or tensor.
        adapters: modality name -> adapter; default by name ("text", "image", "audio", "graph")
            for raw inputs, none (zero baseline, one group per element) for tensors.
        method: an engine method by snake_case name ("integrated_gradients", "saliency",
            "feature_ablation", "shapley_value_sampling", ...) or class. Default
            "integrated_gradients".
        target: as in the engine, or "predicted" (the argmax per example).
        contributions: estimators among "attribution_share", "modality_shapley", "mm_shap",
            "leave_one_out". ``mm_shap`` reads ``mm_shap_permutations`` (default 20).
        **method_kwargs: passed to the method's ``attribute`` (``n_steps``...).

    Example:
        >>> model = lambda text, image: text.sum(1, keepdim=True) + 2 * image.sum(1, keepdim=True)
        >>> inputs = {"text": torch.ones(1, 3), "image": torch.ones(1, 2)}
        >>> e = explain(model, inputs)
        >>> round(e.contributions["modality_shapley"].shares["image"], 3)
        0.571
    """
    unknown = [c for c in contributions if c not in ESTIMATORS]
    if unknown:
        raise ValueError(f"contributions has {unknown}; expected names among {list(ESTIMATORS)}")
    permutations = method_kwargs.pop("mm_shap_permutations", 20)
    bundle = build_bundle(model, inputs, adapters, forward)
    method_class = _method_class(method)
    with preserve_model_state(model):
        bundle.target = resolve_target(bundle, target)
        attributions, completeness = _attribute(bundle, model, method_class, method_kwargs)
        results = {}
        for name in contributions:
            if name == "attribution_share":
                results[name] = attribution_share(bundle, attributions, completeness)
            elif name == "modality_shapley":
                results[name] = modality_shapley(bundle)
            elif name == "mm_shap":
                results[name] = mm_shap(bundle, permutations)
            else:
                results[name] = leave_one_out(bundle)
    meta = {n: dict(bundle.inputs[n].meta) for n in bundle.names}
    return Explanation(attributions, results, bundle.target, method_class.__name__, meta)


def _method_class(method: str | type) -> type:
    if isinstance(method, type):
        return method
    import mmattr

    class_name = "".join(part.capitalize() for part in str(method).split("_"))
    found = getattr(mmattr, class_name, None)
    if not isinstance(found, type):
        raise ValueError(
            f"method is {method!r}; expected an engine method name such as "
            f"'integrated_gradients' or a class; available: {sorted(mmattr.__all__)}"
        )
    return found


def _takes(method_class: type, parameter: str) -> bool:
    return parameter in inspect.signature(method_class.attribute).parameters


def _attribute(
    bundle: Bundle, model: Callable, method_class: type, kwargs: dict[str, Any]
) -> tuple[dict[str, Tensor], bool]:
    """Run the engine method on the tuple of modality tensors (embeddings for token ids)."""
    perturbation = _takes(method_class, "feature_mask") and not getattr(
        method_class, "needs_gradients", False
    )
    if perturbation:
        inputs = tuple(bundle.inputs[n].tensor for n in bundle.names)
        baselines = tuple(bundle.baselines[n] for n in bundle.names)
        masks = feature_masks(bundle)
        kwargs.setdefault("feature_mask", tuple(masks[n] for n in bundle.names))
        forward_func = _PositionalForward(bundle, model, {})
    else:
        layers = {n: _gradient_layer(bundle, model, n) for n in bundle.names}
        inputs, baselines = _gradient_inputs(bundle, layers)
        forward_func = _PositionalForward(bundle, model, layers)
    if _takes(method_class, "baselines"):
        kwargs.setdefault("baselines", baselines)
    instance = method_class(forward_func)
    result = instance.attribute(inputs, target=bundle.target, **kwargs)
    if isinstance(result, tuple) and len(result) == 2 and kwargs.get("return_convergence_delta"):
        result = result[0]
    result = result if isinstance(result, tuple) else (result,)
    attributions = {n: a.detach() for n, a in zip(bundle.names, result)}
    completeness = bool(instance.has_convergence_delta())
    return attributions, completeness


def _gradient_layer(bundle: Bundle, model: Callable, name: str) -> nn.Module | None:
    tensor, adapter = bundle.inputs[name].tensor, bundle.adapters[name]
    if tensor.is_floating_point():
        return None
    layer = adapter.attribution_layer(model) if adapter is not None else None
    if layer is None:
        raise TypeError(
            f"inputs[{name!r}] has dtype {tensor.dtype} and no attribution layer; gradient "
            "methods need floating inputs or an adapter whose attribution_layer(model) gives "
            "the embedding"
        )
    return layer


def _gradient_inputs(
    bundle: Bundle, layers: dict[str, nn.Module | None]
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Modality tensors, or the attribution layer's output for the input and its baseline."""
    inputs, baselines = [], []
    for name in bundle.names:
        if layers[name] is None:
            inputs.append(bundle.inputs[name].tensor)
            baselines.append(bundle.baselines[name])
            continue
        inputs.append(_layer_value(bundle, name, layers[name], bundle.inputs[name].tensor))
        adapter = bundle.adapters[name]
        if hasattr(adapter, "baseline_embedding"):  # the protocol's optional method
            baselines.append(adapter.baseline_embedding(bundle.inputs[name]).detach())
        else:
            baselines.append(_layer_value(bundle, name, layers[name], bundle.baselines[name]))
    return tuple(inputs), tuple(baselines)


def _layer_value(bundle: Bundle, name: str, layer: nn.Module, source: Tensor) -> Tensor:
    """The attribution layer's output when modality ``name`` is ``source``."""
    tensors = {**bundle.coalition(set(bundle.names)), name: source}
    with capture_layers([layer]) as records, torch.no_grad():
        bundle.output(tensors)
    return records[0].values[0].detach().clone()


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
        with contextlib.ExitStack() as stack:
            for name, layer in self.layers.items():
                if layer is not None:
                    embedded = values[name]
                    stack.enter_context(replace_layer(layer, lambda _, e=embedded: e))
                    rows = embedded.shape[0] // bundle.batch
                    ids = bundle.inputs[name].tensor
                    values[name] = ids.repeat(rows, *([1] * (ids.dim() - 1)))
            return bundle.output(values)
