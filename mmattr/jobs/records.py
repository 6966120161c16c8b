"""Per-example records (one Parquet row per example) and the dataset-level results.

Columns: ``example_id``, ``target``, ``prediction``, ``label`` and ``correct`` (with a label
column), the chosen metrics (``confidence`` = p(prediction), ``margin`` = p(top 1) - p(top 2)),
then ``{estimator}/{modality}`` (value in the output's units), ``{estimator}/{modality}/share``
and ``{estimator}/{a}|{b}`` (interactions, where the estimator has them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from mmattr.jobs.config import JobConfig


@dataclass
class Batch:
    """The examples of one batch: model output (batch, classes) and one Explanation each."""

    indices: list[int]
    output: Tensor
    labels: list[int] | None
    output_kind: str
    explanations: list[Any] = field(default_factory=list)

    def predictions(self) -> list[int]:
        return self.output.argmax(1).tolist()

    def targets(self, kind: str) -> list[int]:
        return self.labels if kind == "label" else self.predictions()

    def metrics(self, names: list[str]) -> dict[str, list[float]]:
        probabilities = self.output.softmax(-1) if self.output_kind == "logits" else self.output
        top = probabilities.topk(min(2, probabilities.shape[1]), dim=1).values
        values = {"confidence": top[:, 0], "margin": top[:, 0] - top[:, -1]}
        return {name: values[name].tolist() for name in names}


def _row(batch: Batch, i: int, config: JobConfig) -> dict[str, Any]:
    row: dict[str, Any] = {
        "example_id": batch.indices[i],
        "target": batch.targets(config.target)[i],
        "prediction": batch.predictions()[i],
    }
    if batch.labels is not None:
        row["label"] = batch.labels[i]
        row["correct"] = row["label"] == row["prediction"]
    row.update({name: values[i] for name, values in batch.metrics(config.metrics).items()})
    for estimator, contribution in batch.explanations[i].contributions.items():
        for modality, value in contribution.values.items():
            row[f"{estimator}/{modality}"] = float(value)
            row[f"{estimator}/{modality}/share"] = contribution.shares[modality]
        for (a, b), value in contribution.interactions.items():
            row[f"{estimator}/{a}|{b}"] = float(value)
    return row


def shard_table(batches: list[Batch], config: JobConfig) -> tuple[Any, dict[str, Tensor]]:
    """(pyarrow table of the shard's records, ``"{example_id}/{modality}"`` -> attribution)."""
    import pyarrow as pa

    rows, tensors = [], {}
    for batch in batches:
        for i, index in enumerate(batch.indices):
            rows.append(_row(batch, i, config))
            if config.save_attributions:
                for modality, value in batch.explanations[i].attributions.items():
                    tensors[f"{index}/{modality}"] = value[0].detach().cpu().contiguous()
    return pa.Table.from_pylist(rows), tensors


def dataset_level(
    config: JobConfig, out: Path, dataset: Any, forward: Callable[..., Tensor], device: Any
) -> dict[str, Any]:
    """Means of every record column over all ranks' shards, and, with a
    ``[dataset_contributions]`` table, perceptual score and EMAP gap on the first ``n`` examples."""
    from mmattr.jobs.reader import open_job

    frame = open_job(out).frame()
    numeric = frame.drop(columns=["example_id", "target", "prediction", "label"], errors="ignore")
    result: dict[str, Any] = {"n_examples": len(frame), "means": numeric.mean().to_dict()}
    settings = config.dataset_contributions
    if settings and config.label:
        result.update(_dataset_contributions(config, dataset, forward, device))
    return result


def _dataset_contributions(config, dataset, forward, device) -> dict[str, Any]:
    from mmattr.fusion import dataset_contributions

    settings = config.dataset_contributions
    rows = list(itertools.islice(iter_rows(dataset), settings["n"]))
    inputs = {
        argument: torch.stack([torch.as_tensor(row[column]) for row in rows]).to(device)
        for argument, column in config.inputs.items()
    }
    labels = torch.tensor([int(row[config.label]) for row in rows], device=device)
    scores = dataset_contributions(
        forward,
        (inputs, labels),
        forward=forward,
        batch_size=settings["batch_size"],
        n_permutations=settings["n_permutations"],
        seed=config.seed,
        show_progress=False,
    )
    return {
        "perceptual_score": scores["perceptual_score"].to_dict(),
        **{key: scores[key] for key in ("accuracy", "emap_accuracy", "emap_gap")},
        "dataset_contributions_n": len(rows),
    }


def iter_rows(dataset: Any):
    """The examples of a map-style or iterable dataset, in order."""
    if isinstance(dataset, torch.utils.data.IterableDataset):
        yield from dataset
        return
    for index in range(len(dataset)):
        yield dataset[index]
