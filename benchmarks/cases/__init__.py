"""Each module registers its cases on import."""

from benchmarks.cases import gradient  # noqa: F401
