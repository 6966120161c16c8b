"""Baselines drawn from the product of per-feature choices (Captum's ProductBaselines)."""

from __future__ import annotations

import random
from typing import Any, Union

BaselineValues = Union[list[list[Any]], dict[Union[str, tuple[str, ...]], list[Any]]]


class ProductBaselines:
    """A baseline sampler: each call picks one value per feature, uniformly and independently
    (Python's ``random``, as Captum, so a seeded ``random`` gives Captum's samples).

    Args:
        baseline_values: one list of candidate values per feature, or a dict from feature
            name to its candidates; a tuple of names as a key draws their values jointly
            (each candidate is a tuple with one value per name).

    Example::

        >>> sampler = ProductBaselines({"colour": ["red", "blue"], ("w", "h"): [(1, 2)]})
        >>> sorted(sampler())
        ['colour', 'h', 'w']
    """

    def __init__(self, baseline_values: BaselineValues) -> None:
        if isinstance(baseline_values, dict):
            self.dict_keys = list(baseline_values)
            values = [baseline_values[key] for key in self.dict_keys]
        else:
            self.dict_keys = []
            values = list(baseline_values)
        for index, candidates in enumerate(values):
            if len(candidates) == 0:
                label = self.dict_keys[index] if self.dict_keys else index
                raise ValueError(
                    f"baseline_values[{label!r}] is empty; expected at least one value"
                )
        self.baseline_values = values

    def sample(self) -> list[Any] | dict[str, Any]:
        """One value per feature: a list, or a dict by feature name."""
        picked = [random.choice(candidates) for candidates in self.baseline_values]
        if not self.dict_keys:
            return picked
        sample: dict[str, Any] = {}
        for key, value in zip(self.dict_keys, picked):
            names, values = (key, value) if isinstance(key, tuple) else ((key,), (value,))
            sample.update(zip(names, values))
        return sample

    def __call__(self) -> list[Any] | dict[str, Any]:
        return self.sample()
