"""Each module registers its cases on import."""

from benchmarks.cases import (  # noqa: F401
    fusion,
    generation,
    gradient,
    layers,
    perturbation,
    shapley_error,
)
