"""Summaries of attributions: running statistics per tensor and per class (Captum's)."""

from mmattr.engine.summary.stat import (
    MSE,
    CommonStats,
    Count,
    Max,
    Mean,
    Min,
    Stat,
    StdDev,
    Sum,
    Var,
)
from mmattr.engine.summary.summarizer import ClassSummarizer, Summarizer, SummarizerSingleTensor

__all__ = [
    "ClassSummarizer",
    "CommonStats",
    "Count",
    "MSE",
    "Max",
    "Mean",
    "Min",
    "Stat",
    "StdDev",
    "Sum",
    "Summarizer",
    "SummarizerSingleTensor",
    "Var",
]
