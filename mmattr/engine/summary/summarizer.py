"""Summaries of attributions over many updates: per input tensor, and per class."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Union

import torch
from torch import Tensor

from .stat import Stat, StatValue

Summary = dict[str, Union[StatValue, None]]


def with_dependencies(stats: list[Stat]) -> list[Stat]:
    """The stats and everything they read, each once, dependencies before dependents."""
    ordered: list[Stat] = []

    def add(stat: Stat) -> None:
        if stat in ordered:
            return
        for dependency in stat.dependencies():
            add(dependency)
        ordered.append(stat)

    for stat in stats:
        if not isinstance(stat, Stat):
            raise TypeError(f"stats holds a {type(stat).__name__}; expected Stat instances")
        add(stat)
    return ordered


class SummarizerSingleTensor:
    """The statistics of one tensor stream; ``summary`` reports the requested ones.

    Args:
        stats: every statistic to update, dependencies first (see :func:`with_dependencies`).
        summary_stats_indices: positions in ``stats`` of the statistics to report.
    """

    def __init__(self, stats: list[Stat], summary_stats_indices: list[int]) -> None:
        self._stats = stats
        self._stat_to_stat = {stat: stat for stat in stats}
        self._summary_stats = [stats[i] for i in summary_stats_indices]
        for stat in stats:
            stat._other_stats = self
            stat.init()

    def update(self, x: Tensor) -> None:
        for stat in self._stats:
            stat.update(x)

    def get(self, stat: Stat) -> Stat | None:
        """This summarizer's instance of a statistic equal to ``stat``."""
        return self._stat_to_stat.get(stat)

    @property
    def summary(self) -> Summary:
        return {stat.name: stat.get() for stat in self._summary_stats}


class Summarizer:
    """Running statistics of a tensor, or of each tensor of a tuple, over updates.

    Args:
        stats: the statistics to report, e.g. ``[Mean(), Var()]`` or ``CommonStats()``;
            statistics they depend on are added (and updated) but not reported.

    Example::

        >>> import torch
        >>> from mmattr import Max, Mean
        >>> summarizer = Summarizer([Mean(), Max()])
        >>> for _ in range(3):
        ...     summarizer.update(torch.randn(4))
        >>> sorted(summarizer.summary)
        ['max', 'mean']
    """

    def __init__(self, stats: list[Stat]) -> None:
        self._stats = with_dependencies(list(stats))
        requested = set(stats)
        self._summary_stats_indicies = [
            i for i, stat in enumerate(self._stats) if stat in requested
        ]
        self._summarizers: list[SummarizerSingleTensor] = []
        self._is_inputs_tuple: bool | None = None

    def update(self, x: float | Tensor | tuple[float | Tensor, ...]) -> None:
        """Add one value: a number, a tensor, or a tuple of them (one summary each)."""
        is_tuple = isinstance(x, tuple)
        if self._is_inputs_tuple is None:
            self._is_inputs_tuple = is_tuple
        elif self._is_inputs_tuple != is_tuple:
            expected = "a tuple" if self._is_inputs_tuple else "a tensor or a number"
            raise ValueError(
                f"x is {type(x).__name__}; expected {expected}, as in the first update"
            )
        for index, value in enumerate(x if is_tuple else (x,)):
            if index >= len(self._summarizers):
                self._summarizers.append(
                    SummarizerSingleTensor(copy.deepcopy(self._stats), self._summary_stats_indicies)
                )
            if not isinstance(value, Tensor):
                value = torch.tensor(value, dtype=torch.float)
            self._summarizers[index].update(value)

    @property
    def summary(self) -> Summary | list[Summary] | None:
        """``{stat name: value}``, a list of them for tuple updates; None before any update."""
        if not self._summarizers:
            return None
        summaries = [summarizer.summary for summarizer in self._summarizers]
        return summaries if self._is_inputs_tuple else summaries[0]


class ClassSummarizer(Summarizer):
    """A :class:`Summarizer` over all examples and one per class label.

    Args:
        stats: as :class:`Summarizer`.
    """

    def __init__(self, stats: list[Stat]) -> None:
        super().__init__(stats)
        self.summaries: dict[Any, Summarizer] = defaultdict(lambda: Summarizer(stats=stats))

    def update(self, x: Tensor | tuple[Tensor, ...], labels: Any = None) -> None:  # type: ignore[override]
        """Add a batch: ``x`` (batch first) with one label, or one label per example.

        Without labels ``x`` is one value of the overall summary (no class).
        """
        if labels is None:
            super().update(x)
            return
        tensors = x if isinstance(x, tuple) else (x,)
        if isinstance(labels, Tensor):
            labels = labels.reshape(-1).tolist()
        labels = list(labels) if isinstance(labels, (list, tuple)) else [labels]
        batch = tensors[0].shape[0]
        if len(labels) > 1 and any(t.shape[0] != len(labels) for t in tensors):
            raise ValueError(
                f"labels has {len(labels)} entries; expected 1 or the batch size "
                f"{batch} of x (shapes {[tuple(t.shape) for t in tensors]})"
            )
        for i in range(batch):
            label = labels[0] if len(labels) == 1 else labels[i]
            self.summaries[label].update(tuple(t[i] for t in tensors))
            super().update(tuple(t[i].clone() for t in tensors))

    @property
    def class_summaries(self) -> dict[Any, Summary | list[Summary] | None]:
        """``{label: summary}`` for every label seen."""
        return {label: summarizer.summary for label, summarizer in self.summaries.items()}
