"""The base of every attack: an object whose ``perturb`` gives perturbed inputs."""

from __future__ import annotations

from typing import Any, Callable


class Perturbation:
    """An attack: ``attack(inputs, ...)`` is ``attack.perturb(inputs, ...)``, which returns
    perturbed inputs of the inputs' shapes (a tensor for a tensor, a tuple for a tuple)."""

    perturb: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.perturb(*args, **kwargs)
