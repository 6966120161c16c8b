"""What a job runs on: the model (zoo or ``module:function``), its forward, the adapters and the
dataset (zoo generator, torch ``Dataset``/``IterableDataset``, Hugging Face folder)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mmattr.jobs.config import JobConfig, JobError, resolve

ZOO_BLOCK = 96  # zoo examples generated per seed: example i is row i % 96 of block i // 96
Row = dict[str, Any]


def _call(function: Callable[..., Any], what: str, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as error:  # the user's code: name it and what it raised
        raise JobError(f"{what} raised {type(error).__name__}: {error}") from error


def load_model(config: JobConfig) -> tuple[nn.Module, Any]:
    """(model in eval mode, the zoo bundle or None). DDP / DataParallel wrappers are unwrapped:
    attribution needs no gradient synchronisation, and ranks explain different examples."""
    bundle = None
    if ":" in config.model:
        model = _call(
            resolve(config.model, "model.name", config.base_dir), f"model.name {config.model!r}"
        )
    else:
        from mmattr import zoo

        if config.model not in zoo.list_models():
            raise JobError(
                f"model.name is {config.model!r}; expected a zoo model "
                f"{zoo.list_models()} or 'module:function'"
            )
        bundle = zoo.load(config.model)
        model = bundle.model
    if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        model = model.module
    if not isinstance(model, nn.Module):
        raise JobError(
            f"model.name {config.model!r} returned {type(model).__name__}; "
            "expected a torch.nn.Module"
        )
    return model.eval(), bundle


def make_forward(config: JobConfig, model: nn.Module) -> Callable[..., Tensor]:
    """``forward(**inputs)``: ``model.forward`` (or the job's ``forward(model)``), then softmax
    if ``model.output = "softmax"``."""
    call: Callable[..., Tensor] = model
    if config.forward is not None:
        factory = resolve(config.forward, "model.forward", config.base_dir)
        call = _call(factory, f"model.forward {config.forward!r}", model)
    if config.output == "softmax":
        inner = call
        return lambda **inputs: inner(**inputs).softmax(-1)
    return call


def make_adapters(config: JobConfig, bundle: Any) -> dict[str, Any]:
    """Modality -> adapter: ``"token"`` (the zoo model's vocabulary) or ``module:function``."""
    adapters = {}
    for name, reference in config.adapters.items():
        if reference == "token":
            if bundle is None or not hasattr(bundle, "vocab"):
                raise JobError(
                    f"adapters.{name} is 'token', which needs a zoo model with a "
                    f"vocabulary; model.name is {config.model!r}"
                )
            from mmattr.adapters import TokenAdapter

            adapters[name] = TokenAdapter(bundle.vocab, bundle.pad_id)
        else:
            factory = resolve(reference, f"adapters.{name}", config.base_dir)
            adapters[name] = _call(factory, f"adapters.{name} {reference!r}")
    return adapters


class ZooExamples(torch.utils.data.Dataset):
    """A zoo generator as a map-style dataset made lazily, one block of examples at a time."""

    def __init__(self, name: str, n: int, seed: int) -> None:
        from mmattr import zoo

        if name not in zoo.list_models():
            raise JobError(
                f"dataset.name is {name!r}; expected a zoo generator "
                f"{zoo.list_models()} or 'module:function'"
            )
        self.zoo_model, self.n, self.seed = zoo.load(name), n, seed
        self.block: tuple[int, list[Row]] = (-1, [])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Row:
        number = index // ZOO_BLOCK
        if self.block[0] != number:
            self.block = (number, self.zoo_model.make_data(ZOO_BLOCK, self.seed + number))
        return self.block[1][index % ZOO_BLOCK]


def load_dataset(config: JobConfig) -> tuple[Any, int | None]:
    """(dataset, number of examples or None for an unsized stream)."""
    if config.dataset_path is not None:
        dataset = _hugging_face(config)
    elif ":" in config.dataset:
        factory = resolve(config.dataset, "dataset.name", config.base_dir)
        dataset = _call(factory, f"dataset.name {config.dataset!r}")
    else:
        if config.n is None:
            raise JobError("dataset.n is missing; a zoo generator needs a number of examples")
        return ZooExamples(config.dataset, config.n, config.seed), config.n
    if not isinstance(dataset, (torch.utils.data.Dataset, torch.utils.data.IterableDataset)):
        raise JobError(
            f"dataset {config.dataset!r} is a {type(dataset).__name__}; expected a "
            "torch Dataset or IterableDataset"
        )
    size = len(dataset) if hasattr(dataset, "__len__") else None
    if size is None and config.n is None:
        raise JobError(
            f"dataset {config.dataset!r} has no len(); set dataset.n, the number of "
            "examples to read from the stream"
        )
    _check_columns(config, dataset)
    return dataset, min(s for s in (size, config.n) if s is not None)


def _check_columns(config: JobConfig, dataset: Any) -> None:
    """The first example must be a mapping holding every column the job names."""
    first = next(iter(dataset)) if isinstance(dataset, torch.utils.data.IterableDataset) else (
        dataset[0])  # fmt: skip
    if not isinstance(first, Mapping):
        raise JobError(f"dataset {config.dataset!r} gives {type(first).__name__} examples; "
                       "expected a mapping column -> value")  # fmt: skip
    wanted = [*config.inputs.values(), *([config.label] if config.label else [])]
    missing = [column for column in wanted if column not in first]
    if missing:
        raise JobError(f"dataset has no columns {missing} (named by dataset.inputs / "
                       f"dataset.label); its examples have {sorted(first)}")  # fmt: skip


def _hugging_face(config: JobConfig) -> Any:
    path = Path(config.base_dir, config.dataset_path)
    if not path.is_dir():
        raise JobError(f"dataset.path is {config.dataset_path!r}; no folder at {path}")
    try:
        import datasets
    except ImportError:
        raise JobError("dataset.path needs the 'datasets' package (pip install datasets)") from None
    return _SavedRows(datasets.load_from_disk(str(path)).with_format("torch"))


class _SavedRows(torch.utils.data.Dataset):
    """A ``datasets`` table saved with ``save_to_disk``, read row by row as a torch Dataset
    (``datasets.Dataset`` is not one)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: int) -> Row:
        return self.table[index]


def shard_rows(
    dataset: Any, size: int | None, shard_size: int, wanted: set[int]
) -> Iterator[tuple[int, list[tuple[int, Row]]]]:
    """(shard number, [(example index, row)]) for the ``wanted`` shards, in order. A stream is
    read through (its other shards skipped); a map-style dataset is indexed."""
    if isinstance(dataset, torch.utils.data.IterableDataset):
        current: list[tuple[int, Row]] = []
        for index, row in enumerate(dataset):
            if size is not None and index >= size:
                break
            if index // shard_size in wanted:
                current.append((index, row))
            if (index + 1) % shard_size == 0 and current:
                yield index // shard_size, current
                current = []
        if current:
            yield current[0][0] // shard_size, current
        return
    for shard in sorted(wanted):
        stop = min(size, (shard + 1) * shard_size)
        yield shard, [(i, dataset[i]) for i in range(shard * shard_size, stop)]
