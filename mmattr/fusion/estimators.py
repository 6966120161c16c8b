"""Every modality-contribution estimator registers here; ``explain()`` and the CLI read it.

An estimator is a function ``(bundle, **what_it_uses) -> Contribution``; registering one is a
decorator line above it::

    @register_estimator(default=True)
    def leave_one_out(bundle: Bundle) -> Contribution: ...

``explain`` passes each estimator only the keyword arguments its signature names among
``attributions`` (modality -> tensor), ``completeness`` (the method has a convergence delta)
and ``n_permutations``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

_MODULES = ("attribution_share", "modality_shapley", "mm_shap", "leave_one_out")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class EstimatorInfo:
    """A registered estimator: its name, function, whether ``explain`` runs it by default and
    the first line of its docstring."""

    name: str
    function: Callable[..., Any]
    default: bool
    summary: str

    def run(self, bundle: Any, **available: Any) -> Any:
        """Call the estimator with the arguments among ``available`` that it takes."""
        taken = inspect.signature(self.function).parameters
        return self.function(bundle, **{k: v for k, v in available.items() if k in taken})


_ESTIMATORS: dict[str, EstimatorInfo] = {}


def register_estimator(*, default: bool = False) -> Callable[[F], F]:
    """Function decorator: register an estimator under its function name.

    Args:
        default: ``explain`` runs it when ``contributions`` is not given (default False).
    """

    def decorate(function: F) -> F:
        summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        _ESTIMATORS[function.__name__] = EstimatorInfo(
            function.__name__, function, default, summary
        )
        return function

    return decorate


def estimators() -> dict[str, EstimatorInfo]:
    """Registered estimators by name: the shipped ones first, then any registered later."""
    for module in _MODULES:
        importlib.import_module(f"{__package__}.{module}")
    order = [*_MODULES, *(name for name in _ESTIMATORS if name not in _MODULES)]
    return {name: _ESTIMATORS[name] for name in order}


def select_estimators(names: Sequence[str] | None = None) -> list[EstimatorInfo]:
    """The registrations of ``names`` (None: the defaults); a ValueError naming the unknown
    ones and listing the registered names."""
    registered = estimators()
    if names is None:
        return [info for info in registered.values() if info.default]
    unknown = [name for name in names if name not in registered]
    if unknown:
        raise ValueError(f"contributions has {unknown}; expected names among {list(registered)}")
    return [registered[name] for name in names]
