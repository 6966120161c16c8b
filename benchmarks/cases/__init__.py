"""Each module registers its cases on import."""

from benchmarks.cases import fusion, gradient, layers, perturbation, robust, shapley_error  # noqa: F401
