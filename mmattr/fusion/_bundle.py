"""A multimodal input made model-ready: modality tensors, baselines, masks and one batched call."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mmattr.adapters.base import Adapter, ModalityInput
from mmattr.engine.toolkit import (
    OutputSelector,
    check_finite,
    expand_target,
    output_tensor,
    select_target,
    validate_target,
)

KNOWN_MODALITIES = ("text", "image", "audio", "graph")
POSITIONAL = "input"


@dataclass
class Bundle:
    """Everything the estimators need about one multimodal input (batch ``B``).

    ``keywords``: modality -> the model's parameter it is passed as (default its own name;
    None: the one positional argument). ``selector``: the output field explained.
    """

    call: Callable[..., Any]
    names: list[str]
    inputs: dict[str, ModalityInput]
    adapters: dict[str, Adapter | None]
    baselines: dict[str, Tensor]
    positional: bool
    target: Any = None
    keywords: dict[str, str | None] = field(default_factory=dict)
    selector: OutputSelector = None

    @property
    def batch(self) -> int:
        return self.inputs[self.names[0]].tensor.shape[0]

    def output(self, tensors: Mapping[str, Tensor]) -> Tensor:
        """The model output for ``tensors`` (rows of each modality; model_kwargs repeated)."""
        rows = max(t.shape[0] for t in tensors.values())
        args: list[Tensor] = []
        kwargs: dict[str, Any] = {}
        for name in self.names:
            value = _repeat_rows(tensors[name], rows, self.batch)
            keyword = None if self.positional else self.keywords.get(name, name)
            if keyword is None:
                args.append(value)
            else:
                kwargs[keyword] = value
            static = self.inputs[name].meta.get("unbatched_kwargs", ())
            for key, value in self.inputs[name].model_kwargs.items():
                repeated = _repeat_rows(value, rows, self.batch, view=True)
                kwargs[key] = value if key in static else repeated
        return output_tensor(self.call(*args, **kwargs), self.selector)

    def scores(self, variants: list[dict[str, Tensor]]) -> Tensor:
        """Target score of each variant in one batched forward: shape (len(variants), B)."""
        stacked = {n: torch.cat([v[n] for v in variants]) for n in self.names}
        return self.row_scores(stacked).reshape(len(variants), self.batch)

    def row_scores(self, stacked: Mapping[str, Tensor]) -> Tensor:
        """Target score of each row of ``stacked`` (blocks of B rows), under inference mode."""
        rows = next(iter(stacked.values())).shape[0]
        with torch.inference_mode():
            output = self.output(stacked)
        target = expand_target(self.target, rows // self.batch)
        selected = check_finite(select_target(output, target), "model output")
        return selected.reshape(rows, -1).sum(-1).double().clone()

    def coalition(self, present: set[str]) -> dict[str, Tensor]:
        """Each modality as given if present, else its baseline."""
        return {n: self.inputs[n].tensor if n in present else self.baselines[n] for n in self.names}


def _repeat_rows(value: Any, rows: int, batch: int, view: bool = False) -> Any:
    """``value``'s rows repeated to ``rows``; with ``view`` a batch of one is expanded without a
    copy (model kwargs such as masks, which models read and never write)."""
    if not isinstance(value, Tensor) or value.dim() == 0 or value.shape[0] == rows:
        return value
    if view and value.shape[0] == batch == 1:
        return value.expand(rows, *value.shape[1:])
    if value.shape[0] == batch and rows % batch == 0:
        return value.repeat(rows // batch, *([1] * (value.dim() - 1)))
    return value


def resolve_keywords(
    call: Callable, keywords: dict[str, str], model_kwargs: list[str]
) -> dict[str, str | None]:
    """The parameter each modality is passed as (``keywords``: modality -> its name). Names and
    model kwargs must be parameters of the forward function, except that a single-input model
    takes its one input positionally (None) when the name is not one of its parameters."""
    forward = call.forward if isinstance(call, nn.Module) else call
    try:
        parameters = inspect.signature(forward).parameters
    except (TypeError, ValueError):
        return dict(keywords)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(keywords)
    unknown = [k for k in [*keywords.values(), *model_kwargs] if k not in parameters]
    required = [
        name
        for name, p in parameters.items()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(keywords) == 1 and unknown == list(keywords.values()) and len(required) == 1:
        return {name: None for name in keywords}
    if unknown:
        raise ValueError(
            f"inputs has modality names {unknown} that the forward function does not take; "
            f"expected names among its parameters {list(parameters)}"
        )
    return dict(keywords)


def resolve_target(bundle: Bundle, target: Any) -> Any:
    """``"predicted"`` becomes the argmax per example (one forward); others are checked for
    their form here and against the output by the first forward that selects them."""
    if not isinstance(target, str):
        validate_target(target, bundle.batch)
        return target
    if target != "predicted":
        raise ValueError(
            f"target is {target!r}; expected 'predicted', 'start' or 'end' (question "
            "answering), an int, a tuple or a list"
        )
    with torch.inference_mode():
        output = bundle.output(bundle.coalition(set(bundle.names)))
    if output.dim() < 2:
        raise ValueError(
            f"target='predicted' needs an output of shape (batch, classes); the model "
            f"returned shape {tuple(output.shape)}"
        )
    return output.flatten(1).argmax(1).tolist()


def row_of(bundle: Bundle, index: int) -> Bundle:
    """The bundle of example ``index`` alone (batch 1)."""
    batch = bundle.batch

    def take(value: Any) -> Any:
        if isinstance(value, Tensor) and value.dim() > 0 and value.shape[0] == batch:
            return value[index : index + 1]
        return value

    def kwargs_of(x: ModalityInput) -> dict[str, Any]:
        static = x.meta.get("unbatched_kwargs", ())
        return {k: v if k in static else take(v) for k, v in x.model_kwargs.items()}

    inputs = {
        n: ModalityInput(take(x.tensor), kwargs_of(x), x.meta) for n, x in bundle.inputs.items()
    }
    baselines = {n: take(b) for n, b in bundle.baselines.items()}
    target = bundle.target
    if isinstance(target, list):
        target = [target[index]]
    elif isinstance(target, Tensor) and target.numel() > 1:
        target = target.reshape(-1)[index : index + 1]
    return dataclasses.replace(bundle, inputs=inputs, baselines=baselines, target=target)
