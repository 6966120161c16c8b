"""The attribution layer the forward really calls.

Some models hold two modules sharing one embedding matrix (``T5EncoderModel``:
``get_input_embeddings()`` is ``shared``, the forward calls ``encoder.embed_tokens``). Gradient
methods replace the layer's output, so a layer the forward never calls would explain nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from mmattr.engine.toolkit import capture_layers
from mmattr.fusion._bundle import Bundle


def called_layer(bundle: Bundle, name: str, layer: nn.Module, model: Callable) -> nn.Module:
    """``layer`` if the forward calls it, else the module sharing its weight that it calls."""
    copies = [layer, *tied_copies(layer, model)]
    with capture_layers(copies) as records, torch.no_grad():
        bundle.output(bundle.coalition(set(bundle.names)))
    called = [record.layer for record in records if record.values]
    if called:
        return called[0]
    names = dict(_module_names(model))
    shown = [names.get(id(module), type(module).__name__) for module in copies]
    raise ValueError(
        f"the attribution layer of inputs[{name!r}] ({shown[0]}) is never called by the model's "
        f"forward, nor any module sharing its weight ({shown[1:]}); pass the embedding the "
        "forward calls: TextAdapter(tokenizer, embedding)"
    )


def tied_copies(layer: nn.Module, model: Callable) -> list[nn.Module]:
    """Other modules of ``model`` whose ``weight`` is ``layer``'s (tied embeddings)."""
    weight = getattr(layer, "weight", None)
    if weight is None or not isinstance(model, nn.Module):
        return []
    return [
        module
        for module in model.modules()
        if module is not layer and getattr(module, "weight", None) is weight
    ]


def _module_names(model: Callable) -> list[tuple[int, str]]:
    if not isinstance(model, nn.Module):
        return []
    return [(id(module), path or "model") for path, module in model.named_modules()]
