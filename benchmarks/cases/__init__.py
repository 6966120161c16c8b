"""Each module registers its cases on import."""

from benchmarks.cases import fusion, gradient, jobs, layers, perturbation, shapley_error  # noqa: F401
