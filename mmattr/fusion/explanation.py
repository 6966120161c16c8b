"""The one result object of :func:`mmattr.explain`: attributions and modality contributions.

Saved as a safetensors file (tensors) beside a JSON file (everything else); never pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

_PAIR_SEPARATOR = "|"


@dataclass
class Contribution:
    """Each modality's part of one prediction, by one estimator.

    Attributes:
        values: modality -> number in the output's units.
        shares: modality -> fraction; the absolute shares sum to 1.
        interactions: (modality, modality) -> number, where the estimator has them.
        estimator: the estimator's name.
        evaluations: model calls spent (one call per example evaluated).
        extra: estimator-specific numbers (the completeness gap, signed sums...).
    """

    values: dict[str, float]
    estimator: str
    evaluations: int = 0
    interactions: dict[tuple[str, str], float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shares(self) -> dict[str, float]:
        total = sum(abs(v) for v in self.values.values())
        if total == 0:
            return {name: 0.0 for name in self.values}
        return {name: abs(v) / total for name, v in self.values.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "estimator": self.estimator,
            "evaluations": self.evaluations,
            "interactions": {_PAIR_SEPARATOR.join(k): v for k, v in self.interactions.items()},
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contribution:
        pairs = {tuple(k.split(_PAIR_SEPARATOR)): v for k, v in data["interactions"].items()}
        return cls(data["values"], data["estimator"], data["evaluations"], pairs, data["extra"])


@dataclass
class Explanation:
    """Per-modality attributions of one prediction and each modality's contribution.

    Attributes:
        attributions: modality -> attribution tensor (shape of the modality's tensor, or of its
            attribution layer's output for token ids).
        contributions: estimator name -> :class:`Contribution`.
        target: the explained output index (``None`` for a scalar output).
        method: the attribution method's name.
        meta: modality -> metadata to draw it (tokens, segments, ... JSON-serialisable parts
            survive ``save``; tensors in it are saved too). ``inputs`` is an alias kept for
            code written before the rename.
    """

    attributions: dict[str, Tensor]
    contributions: dict[str, Contribution]
    target: Any
    method: str
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """The former name of :attr:`meta` (it never held the inputs themselves)."""
        return self.meta

    def render(self, **kwargs: Any) -> Any:
        """A matplotlib Figure of the modality contributions."""
        from mmattr.visualizers.modality import visualize_contributions

        return visualize_contributions(self.contributions, **kwargs)

    def to_html(self) -> str:
        """An HTML page with the contributions chart and one table per estimator."""
        from mmattr.visualizers import figure_base64

        image = figure_base64(self.render())
        rows = "".join(
            f"<tr><td>{name}</td>"
            + "".join(f"<td>{m}: {s:.3f}</td>" for m, s in c.shares.items())
            + "</tr>"
            for name, c in self.contributions.items()
        )
        return (
            f"<html><body><h1>{self.method}</h1><img src='data:image/png;base64,{image}'/>"
            f"<table>{rows}</table></body></html>"
        )

    def save(self, path: str | Path) -> None:
        """Write ``path`` (JSON) and ``path.safetensors`` (the tensors)."""
        from safetensors.torch import save_file

        path = Path(path)
        tensors = {f"attr/{k}": v.detach().contiguous() for k, v in self.attributions.items()}
        meta: dict[str, dict[str, Any]] = {}
        for modality, info in self.meta.items():
            meta[modality] = {}
            for key, value in info.items():
                if isinstance(value, Tensor):
                    tensors[f"meta/{modality}/{key}"] = value.detach().contiguous()
                else:
                    meta[modality][key] = value
        save_file(tensors, str(path) + ".safetensors")
        target = self.target.tolist() if isinstance(self.target, Tensor) else self.target
        document = {
            "method": self.method,
            "target": target,
            "target_is_tensor": isinstance(self.target, Tensor),
            "contributions": {k: c.to_dict() for k, c in self.contributions.items()},
            "meta": meta,
        }
        path.write_text(json.dumps(document, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Explanation:
        """Read what :meth:`save` wrote; no pickle is involved."""
        from safetensors.torch import load_file

        path = Path(path)
        document = json.loads(path.read_text())
        tensors = load_file(str(path) + ".safetensors")
        attributions = {k[5:]: v for k, v in tensors.items() if k.startswith("attr/")}
        meta: dict[str, dict[str, Any]] = document.get("meta", document.get("inputs", {}))
        for key, value in tensors.items():
            if key.startswith("meta/"):
                _, modality, name = key.split("/", 2)
                meta.setdefault(modality, {})[name] = value
        target = document["target"]
        if document["target_is_tensor"]:
            target = torch.tensor(target)
        elif isinstance(target, list):
            target = [tuple(t) if isinstance(t, list) else t for t in target]
        contributions = {k: Contribution.from_dict(c) for k, c in document["contributions"].items()}
        return cls(attributions, contributions, target, document["method"], meta)
