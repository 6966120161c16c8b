"""Each module registers its cases on import."""

from benchmarks.cases import (  # noqa: F401
    fusion,
    gradient,
    layers,
    lrp,
    perturbation,
    shapley_error,
)
