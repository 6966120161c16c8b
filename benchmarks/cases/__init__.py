"""Each module registers its cases on import."""

from benchmarks.cases import (  # noqa: F401
    fusion,
    generation,
    gradient,
    hf,
    jobs,
    layers,
    lrp,
    metrics,
    perturbation,
    robust,
    shapley_error,
    threads,
)
