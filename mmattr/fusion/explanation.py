"""The one result object of :func:`mmattr.explain`: attributions and modality contributions.

Saved as a safetensors file (tensors) beside a JSON file (everything else); never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from mmattr.fusion import _explanation_io


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
            "interactions": [[a, b, v] for (a, b), v in self.interactions.items()],
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contribution:
        """The inverse of :meth:`to_dict`; a malformed ``data`` gets an error naming the field."""
        return cls(**_explanation_io.check_contribution(data, "contribution"))


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
        """Write ``path`` (JSON) and ``path.safetensors`` (the tensors); any modality name,
        target form and contribution key comes back exactly from :meth:`load`."""
        _explanation_io.write(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Explanation:
        """Read what :meth:`save` wrote: two regular files (no symlinks), no pickle; a
        malformed file gets an error naming the field."""
        fields = _explanation_io.read(path)
        contributions = {k: Contribution(**c) for k, c in fields["contributions"].items()}
        return cls(
            fields["attributions"],
            contributions,
            fields["target"],
            fields["method"],
            fields["meta"],
        )
