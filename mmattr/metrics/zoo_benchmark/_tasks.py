"""The zoo models as benchmark tasks: model-ready inputs, baselines, targets, the planted
ground truth, the feature groups of the deletion curves and how an attribution becomes a map
of the ground truth's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

#: Seed of the benchmark's examples: no zoo training run or shipped example uses it.
SEED = 24_681


@dataclass
class Task:
    """One zoo model, ready for every method and metric.

    Attributes:
        forward: ``forward(inputs, *args) -> logits``.
        inputs: (n, ...) the attributed tensor; baselines: the same shape.
        target: (n,) the true class (or answer start); args: extra forward arguments.
        truth: (n, ...) planted ground-truth mask, nonzero inside.
        feature_mask: groups of the deletion curves and of feature ablation.
        window: occlusion's sliding window and strides.
        to_map: attributions (n, *inputs.shape[1:]) -> (n, *truth.shape[1:]) magnitudes.
    """

    name: str
    forward: Callable[..., Tensor]
    inputs: Tensor
    baselines: Tensor
    target: Tensor
    args: tuple | None
    truth: Tensor
    feature_mask: Tensor
    window: tuple[tuple[int, ...], tuple[int, ...]]
    to_map: Callable[[Tensor], Tensor]


def _grid_mask(height: int, width: int, cell: int) -> Tensor:
    rows = torch.arange(height)[:, None] // cell
    cols = torch.arange(width)[None, :] // cell
    return (rows * (-(-width // cell)) + cols)[None, None]  # (1, 1, H, W)


def _channel_magnitude(attributions: Tensor) -> Tensor:
    return attributions.abs().sum(1)


def shapes_cnn(bundle: Any, n: int) -> Task:
    data = bundle.spec.generate(n, SEED)
    image = data["image"]
    return Task(
        "shapes-cnn",
        bundle.model,
        image,
        image.mean(dim=(2, 3), keepdim=True).expand_as(image).contiguous(),  # mean colour
        data["label"],
        None,
        data["mask"],
        _grid_mask(32, 32, 2),
        ((3, 3, 3), (3, 2, 2)),
        _channel_magnitude,
    )


def keyword_audio(bundle: Any, n: int) -> Task:
    from mmattr.zoo.audio import HOP

    data = bundle.spec.generate(n, SEED)
    with torch.no_grad():
        spectrum = bundle.model.spectrum(data["waveform"])  # (n, mels, frames)
    centres = torch.arange(spectrum.shape[-1]) * HOP
    start, end = data["span_samples"].unbind(-1)
    truth = ((centres[None] >= start[:, None]) & (centres[None] < end[:, None])).float()
    mels = spectrum.shape[1]
    return Task(
        "keyword-audio",
        bundle.model.classify,
        spectrum,
        spectrum.mean(dim=-1, keepdim=True).expand_as(spectrum).contiguous(),  # mean spectrum
        data["label"],
        None,
        truth,
        torch.arange(spectrum.shape[-1])[None, None],
        ((mels, 5), (mels, 2)),
        _channel_magnitude,
    )


def vqa(bundle: Any, n: int) -> Task:
    """The image of the questions about one object, the question held fixed."""
    data = bundle.spec.generate(3 * n, SEED)
    keep = torch.nonzero(data["mask"].flatten(1).any(1)).flatten()[:n]
    image, question = data["image"][keep], data["question_ids"][keep]

    def forward(pixels: Tensor, question_ids: Tensor) -> Tensor:
        return bundle.model(image=pixels, question=question_ids)

    return Task(
        "vqa",
        forward,
        image,
        torch.zeros_like(image),
        data["label"][keep],
        (question,),
        data["mask"][keep].float(),
        _grid_mask(32, 32, 2),
        ((3, 3, 3), (3, 2, 2)),
        _channel_magnitude,
    )


def qa_bert(bundle: Any, n: int) -> Task:
    """The word embeddings of the context; truth: the asked noun's pieces."""
    data = bundle.spec.generate(n, SEED)
    model, tokenizer, ids = bundle.model, bundle.tokenizer, data["input_ids"]
    special = torch.isin(ids, torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id]))
    embed = model.get_input_embeddings()
    with torch.no_grad():
        inputs = embed(ids)
        baselines = embed(torch.where(special, ids, tokenizer.pad_token_id))

    def forward(embeddings: Tensor, token_type_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return model(
            inputs_embeds=embeddings, token_type_ids=token_type_ids, attention_mask=attention_mask
        ).start_logits

    hidden = inputs.shape[-1]
    return Task(
        "qa-bert",
        forward,
        inputs,
        baselines,
        data["start"],
        (data["token_type_ids"], data["attention_mask"]),
        data["key_mask"].float(),
        torch.arange(ids.shape[1])[None, :, None],
        ((1, hidden), (1, hidden)),
        lambda a: a.norm(dim=-1),
    )


def ba_shapes_gcn(bundle: Any, n: int) -> Task:
    """One graph; each example is a house node, explained over all nodes' features; truth:
    the nodes of its house."""
    graph = bundle.make_data(1, seed=SEED)[0]
    houses = torch.nonzero(graph["motif"]).flatten()
    nodes = houses[torch.linspace(0, len(houses) - 1, n).long()]
    model, edge_index = bundle.model, graph["edge_index"]

    def forward(x: Tensor, node: Tensor) -> Tensor:
        """Rows of one graph as one disjoint union graph: one model call for all rows."""
        rows, size = x.shape[:2]
        offsets = torch.arange(rows, device=x.device) * size
        edges = (edge_index[:, None, :] + offsets[None, :, None]).reshape(2, -1)
        logits = model(x.reshape(rows * size, -1), edges).view(rows, size, -1)
        return logits[torch.arange(rows, device=x.device), node]

    x = graph["x"][None].expand(n, -1, -1).contiguous()
    truth = (graph["house"][None] == graph["house"][nodes][:, None]).float()
    features = x.shape[-1]
    return Task(
        "ba-shapes-gcn",
        forward,
        x,
        torch.zeros_like(x),
        graph["label"][nodes],
        (nodes,),
        truth,
        torch.arange(x.shape[1])[None, :, None],
        ((1, features), (1, features)),
        lambda a: a.abs().sum(-1),
    )


TASKS: dict[str, Callable[[Any, int], Task]] = {
    "shapes-cnn": shapes_cnn,
    "keyword-audio": keyword_audio,
    "vqa": vqa,
    "qa-bert": qa_bert,
    "ba-shapes-gcn": ba_shapes_gcn,
}
