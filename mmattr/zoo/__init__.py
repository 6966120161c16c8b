"""Small models trained here on synthetic data with known ground truth, shipped as safetensors.

>>> from mmattr import zoo
>>> bundle = zoo.load("shapes-cnn")
>>> fresh = bundle.make_data(8, seed=1)          # list of dicts: image, label, mask
>>> bundle.model(fresh[0]["image"][None]).shape
torch.Size([1, 4])
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from mmattr.paths import check_writable_folder
from mmattr.zoo import audio, graph, qa_bert, shapes, story_lm, vqa, vqa_gen  # noqa: F401  (registration)
from mmattr.zoo._registry import (
    ZooSpec,
    cache_dir,
    get_spec,
    list_models,
    register_model,
    rows,
)

__all__ = [
    "ZooModel",
    "ZooSpec",
    "cache_dir",
    "list_models",
    "load",
    "register_model",
    "save",
    "train",
]

HELD_OUT_SEED = 1_000_003  # seed of the shipped ``examples``; training data uses other seeds
N_EXAMPLES = 8


class ZooModel:
    """A loaded zoo model: ``.model`` (eval mode), ``.examples`` (held-out dicts with ground
    truth), ``.make_data(n, seed)`` and the spec's extras (``tokenizer``, ``vocab``, ``pad_id``,
    ``sample_rate``) as attributes.

    Args:
        spec: the model's registered ``ZooSpec``.
        model: the built ``nn.Module``.
    """

    def __init__(self, spec: ZooSpec, model: nn.Module) -> None:
        self.name, self.spec, self.model = spec.name, spec, model
        self.extras = spec.extras()
        self.examples = self.make_data(N_EXAMPLES, HELD_OUT_SEED)

    def make_data(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` fresh examples (for ``ba-shapes-gcn``: ``n`` whole graphs) from ``seed``."""
        return rows(self.spec.generate(n, seed))

    def accuracy(self, n: int = 512, seed: int = 7) -> float:
        """Accuracy on ``n`` freshly generated held-out examples."""
        return self.spec.accuracy(self.model, self.spec.generate(n, seed))

    def __getattr__(self, name: str) -> Any:
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"zoo model {self.__dict__.get('name')!r} has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"ZooModel({self.name!r}, extras={sorted(self.extras)})"


def load(name: str, weights: str | Path | None = None) -> ZooModel:
    """The model ``name`` (see ``list_models()``), loaded without pickle or network.

    Args:
        name: a registered zoo model.
        weights: ``None`` (default) for the shipped weights, or a folder (``zoo.save``'s, e.g.
            ``zoo.cache_dir()``) or ``.safetensors`` file holding retrained ones.
    """
    spec = get_spec(name)
    return ZooModel(spec, spec.load_model(weights))


def save(name: str, model: nn.Module, folder: str | Path | None = None) -> Path:
    """Write ``model``'s weights to ``folder/<name>.safetensors`` and return that path.

    Args:
        folder: default ``cache_dir()`` (``$XDG_CACHE_HOME/mmattr/zoo``); never inside the
            package, whose shipped weights stay as they are.
        name: the zoo name, used as the file name.
        model: the model whose ``state_dict`` is written.
    """
    return get_spec(name).save(model, cache_dir() if folder is None else folder)


def train(
    name: str, steps: int | None = None, seed: int = 0, save: bool | str | Path = False
) -> tuple[nn.Module, dict[str, float]]:
    """Train ``name`` from scratch, deterministically from ``seed``.

    Returns the model (eval mode) and metrics: ``first_loss``, ``final_loss`` (means over the
    first/last 10% of steps), ``accuracy`` on fresh held-out data, ``seconds``.

    Args:
        steps: training steps (default: the spec's full run).
        seed: seeds the initialisation, the data and the batches (default 0).
        save: ``False`` (default) keeps the weights in memory; ``True`` writes them to
            ``cache_dir()``, a path to that folder; ``zoo.load(name, weights=folder)`` reads
            them. The shipped weights are never replaced.
        name: the registered zoo name.
    """
    spec = get_spec(name)
    steps = spec.steps if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps is {steps!r}; expected a positive number of training steps")
    folder = None if save is False else (cache_dir() if save is True else save)
    if folder is not None:
        check_writable_folder(folder, "save")  # before training, not after
    torch.manual_seed(seed)
    model = spec.build().train()
    data = spec.generate(spec.train_size, seed=10_000 + seed)
    started = time.perf_counter()
    losses = _fit(spec, model, data, steps, seed)
    window = max(1, steps // 10)
    metrics = {
        "first_loss": sum(losses[:window]) / window,
        "final_loss": sum(losses[-window:]) / window,
        "accuracy": spec.accuracy(model, spec.generate(512, seed=HELD_OUT_SEED + 1)),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if folder is not None:
        spec.save(model, folder)
    return model.eval(), metrics


def _fit(spec: ZooSpec, model: nn.Module, data: Any, steps: int, seed: int) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=1e-4)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / steps)
    )
    generator = torch.Generator().manual_seed(seed)
    losses = []
    bar = tqdm(spec.batches(data, steps, generator), total=steps, desc=f"train {spec.name}")
    for batch in bar:
        loss = spec.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if len(losses) % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.4f}", refresh=False)
    return losses
