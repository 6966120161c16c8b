"""The zoo's registry: each model is a ``ZooSpec`` subclass registered by name (timm style)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mmattr.paths import check_writable_folder

WEIGHTS_DIR = Path(__file__).parent / "weights"
_REGISTRY: dict[str, type[ZooSpec]] = {}

Data = dict[str, Any]  # columns: tensors with a leading example dimension, or lists


def register_model(name: str) -> Callable[[type[ZooSpec]], type[ZooSpec]]:
    """Class decorator: ``@register_model("shapes-cnn")`` makes the spec loadable by name.

    Args:
        name: the name ``load``/``train`` find the spec by.
    """

    def add(cls: type[ZooSpec]) -> type[ZooSpec]:
        if name in _REGISTRY:
            raise ValueError(f"zoo model {name!r} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return add


def list_models() -> list[str]:
    """Names of the registered zoo models, sorted."""
    return sorted(_REGISTRY)


def get_spec(name: str) -> ZooSpec:
    if name not in _REGISTRY:
        raise ValueError(f"name is {name!r}; expected one of {', '.join(list_models())}")
    return _REGISTRY[name]()


def cache_dir() -> Path:
    """Where retrained weights go by default: ``$XDG_CACHE_HOME/mmattr/zoo`` (``~/.cache``
    when unset), never the installed package."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "mmattr" / "zoo"


def take(data: Data, index: torch.Tensor | list[int]) -> Data:
    """The examples at ``index`` of every column."""
    index = torch.as_tensor(index, dtype=torch.long)
    return {
        key: value[index] if isinstance(value, torch.Tensor) else [value[i] for i in index.tolist()]
        for key, value in data.items()
    }


def rows(data: Data) -> list[dict[str, Any]]:
    """Columns to a list of one dict per example."""
    size = len(next(iter(data.values())))
    return [{key: value[i] for key, value in data.items()} for i in range(size)]


class ZooSpec:
    """One zoo model: its data generator with ground truth, architecture and training recipe.

    A model's registration is data: the training constants, its data generator
    (``generate = staticmethod(generate)``), its ``architecture`` (a module class, built with
    no arguments) and the ``inputs`` columns the model takes, in order. A model that needs
    more overrides ``generate``, ``build`` or ``logits`` (and ``labels`` where the classes are
    not the ``label`` column); ``loss`` and ``accuracy`` follow from those.
    """

    name: str = ""
    steps: int = 1000  # default training steps
    batch_size: int = 64
    lr: float = 3e-3
    train_size: int = 4000
    architecture: type[nn.Module] | None = None
    inputs: tuple[str, ...] = ()  # the model's positional inputs, as columns of a batch

    def generate(self, n: int, seed: int) -> Data:
        raise NotImplementedError

    def build(self) -> nn.Module:
        """A fresh, untrained model: ``architecture()``."""
        if self.architecture is None:
            raise NotImplementedError(f"zoo model {self.name!r} sets no architecture")
        return self.architecture()

    def logits(self, model: nn.Module, batch: Data) -> torch.Tensor:
        """The model on the batch's ``inputs`` columns, ``(n, classes)``."""
        if not self.inputs:
            raise NotImplementedError(f"zoo model {self.name!r} sets no inputs")
        return model(*(batch[column] for column in self.inputs))

    def labels(self, batch: Data) -> torch.Tensor:
        """The class of each example: the ``label`` column unless a model says otherwise."""
        return batch["label"]

    def extras(self) -> dict[str, Any]:
        """Whatever the adapters need beside the model (tokenizer, vocabulary, sample rate)."""
        return {}

    def config(self) -> dict[str, Any]:
        """JSON-able settings saved beside the weights (architecture sizes, vocabulary)."""
        return {}

    def loss(self, model: nn.Module, batch: Data) -> torch.Tensor:
        return nn.functional.cross_entropy(self.logits(model, batch), self.labels(batch))

    def batches(self, data: Data, steps: int, generator: torch.Generator) -> Iterator[Data]:
        size = len(next(iter(data.values())))
        for _ in range(steps):
            yield take(data, torch.randint(size, (self.batch_size,), generator=generator))

    @torch.no_grad()
    def accuracy(self, model: nn.Module, data: Data) -> float:
        was_training = model.training
        model.eval()
        predicted = self.logits(model, data).argmax(-1)
        model.train(was_training)
        return float((predicted == self.labels(data)).float().mean())

    def weights_path(self, weights: str | Path | None = None) -> Path:
        """The weights file: shipped (``weights=None``), in a folder, or the file given."""
        if weights is None:
            return WEIGHTS_DIR / f"{self.name}.safetensors"
        path = Path(weights).expanduser()
        return path / f"{self.name}.safetensors" if path.is_dir() else path

    def save(self, model: nn.Module, folder: str | Path) -> Path:
        """Write ``folder/<name>.safetensors`` (a folder outside the package); its path."""
        path = check_writable_folder(folder, "folder") / f"{self.name}.safetensors"
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(path), metadata={"config": json.dumps(self.config())})
        return path

    def load_model(self, weights: str | Path | None = None) -> nn.Module:
        """The model with the shipped weights, or those in ``weights`` (a file or folder)."""
        path = self.weights_path(weights)
        if not path.is_file():
            where = "shipped weights" if weights is None else f"weights in {str(weights)!r}"
            raise FileNotFoundError(
                f"no {where} for {self.name!r} at {path}; run `mmattr zoo train {self.name}` "
                f"and load with zoo.load({self.name!r}, weights={str(cache_dir())!r})"
            )
        model = self.build()
        model.load_state_dict(load_file(str(path)))
        return model.eval()
