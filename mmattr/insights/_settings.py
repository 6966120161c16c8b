"""What the explorer may be asked to do: the methods, their bounded parameters, validation.

Every request is checked here before any work starts; a bad value is an :class:`InsightsError`
naming the parameter, the value that came and what is allowed (the server answers it as a
400 with the message; the page shows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: method -> its main parameter -> (lowest, highest, default). Bounds keep each request's work
#: small: at most 256 interpolation steps or 64 samples per view.
METHODS: dict[str, dict[str, tuple[int, int, int]]] = {
    "integrated_gradients": {"n_steps": (1, 256, 32)},
    "saliency": {},
    "input_x_gradient": {},
    "gradient_shap": {"n_samples": (1, 64, 16)},
    "feature_ablation": {},
}
#: "adapter": each modality's adapter baseline (zero for plain tensors); "zero": zeros for
#: every floating modality (token ids keep their adapter's PAD baseline).
BASELINES = ("adapter", "zero")
_KEYS = {"example", "method", "target", "baseline", "n_steps", "n_samples"}


def bounds(method: str, defaults: Mapping[str, int] | None = None) -> dict[str, tuple[int, ...]]:
    """``method``'s parameters -> (lowest, highest, default), with this explorer's defaults."""
    own = defaults or {}
    return {k: (low, high, own.get(k, d)) for k, (low, high, d) in METHODS[method].items()}


class InsightsError(ValueError):
    """A request the explorer refuses; the message names the parameter and what is allowed."""


@dataclass(frozen=True)
class Settings:
    """One view: which example, which method with which parameters."""

    example: int
    method: str
    target: int | str = "predicted"
    baseline: str = "adapter"
    params: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "example": self.example,
            "method": self.method,
            "target": self.target,
            "baseline": self.baseline,
            **dict(self.params),
        }


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InsightsError(f"{name} is {value!r}; expected an integer in [{low}, {high}]")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise InsightsError(f"{name} is {value!r}; expected an integer in [{low}, {high}]")
    return number


def parse_settings(
    request: Any,
    n_examples: int,
    n_classes: int | None,
    methods: tuple[str, ...],
    defaults: Mapping[str, int] | None = None,
) -> Settings:
    """Check a request (a JSON object) and return its :class:`Settings`.

    Args:
        request: ``{"example", "method", "target" ("predicted" or a class index), "baseline",
            and the method's parameter (``n_steps``/``n_samples``)}``; missing ones default.
        n_examples: the dataset's size; ``example`` must be in [0, n_examples).
        n_classes: the output's size for an integer ``target`` (None: not known).
        methods: the methods this explorer offers.
        defaults: parameter name -> the default this explorer uses instead of ``METHODS``'
            (default None).
    """
    if not isinstance(request, dict):
        raise InsightsError(f"request is {type(request).__name__}; expected a JSON object")
    unknown = sorted(set(request) - _KEYS)
    if unknown:
        raise InsightsError(
            f"request has unknown keys {unknown}; expected keys among {sorted(_KEYS)}"
        )
    example = _integer(request.get("example", 0), "example", 0, n_examples - 1)
    method = request.get("method", methods[0])
    if method not in methods:
        raise InsightsError(f"method is {method!r}; expected one of {list(methods)}")
    target = request.get("target", "predicted")
    if target != "predicted":
        high = (n_classes or 1) - 1
        target = _integer(target, "target", 0, high if n_classes else 10**6)
    baseline = request.get("baseline", BASELINES[0])
    if baseline not in BASELINES:
        raise InsightsError(f"baseline is {baseline!r}; expected one of {list(BASELINES)}")
    params = []
    for name, (low, high, default) in bounds(method, defaults).items():
        params.append((name, _integer(request.get(name, default), name, low, high)))
    return Settings(example, method, target, baseline, tuple(params))
