"""Running statistics of attributions (Captum's ``Stat`` classes, names and numbers).

Each statistic is updated with one tensor at a time and read with :meth:`Stat.get`; a
statistic that needs others (the variance needs the squared deviations and the count) names
them in :meth:`Stat.dependencies` and a :class:`~mmattr.Summarizer` adds and updates them
first. Mean and squared deviations use Welford's update: ``μ_n = μ_{n−1} + (x − μ_{n−1})/n``,
``M_n = M_{n−1} + (x − μ_{n−1})(x − μ_n)``.
"""

from __future__ import annotations

from typing import Any, Callable, Union

import torch
from torch import Tensor

from .._docs import document

StatValue = Union[Tensor, int, float]


class Stat:
    """A statistic updated with one tensor at a time.

    Args:
        name: the key of the statistic in a summary (default: the class name in lower case,
            with its parameters).
        kwargs: the parameters that identify the statistic (two stats are equal when their
            class and parameters are).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        document(cls)  # a subclass describes its own parameters; ``name`` is described here

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        self.params: dict[str, Any] = kwargs
        self._name = name
        self._other_stats: Any = None

    def _reads(self) -> dict[str, Stat]:
        """The statistics this one reads, by the attribute that holds each once looked up."""
        return {}

    def dependencies(self) -> list[Stat]:
        """Statistics this one reads; a summarizer updates them before this one."""
        return list(self._reads().values())

    def init(self) -> None:
        """Look up the dependencies (called once the summarizer holds them)."""
        for attribute, stat in self._reads().items():
            setattr(self, attribute, self._get_stat(stat))

    def _get_stat(self, stat: Stat) -> Any:
        return self._other_stats.get(stat)

    def update(self, x: Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__}.update")

    def get(self) -> StatValue | None:
        raise NotImplementedError(f"{type(self).__name__}.get")

    def __hash__(self) -> int:
        return hash((self.__class__, frozenset(self.params.items())))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Stat)
            and self.__class__ == other.__class__
            and self.params == other.params
        )

    @property
    def name(self) -> str:
        """The key in a summary: the custom name, else the class name (and parameters)."""
        if self._name is not None:
            return self._name
        default = self.__class__.__name__.lower()
        return default + (f"({self.params})" if self.params else "")


class Count(Stat):
    """The number of updates ``n``."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.n: int | None = None

    def update(self, x: Tensor) -> None:
        self.n = (self.n or 0) + 1

    def get(self) -> int | None:
        return self.n


class Mean(Stat):
    """The running mean ``μ_n = μ_{n−1} + (x − μ_{n−1}) / n`` (integers as float64)."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.rolling_mean: Tensor | None = None
        self.n: Count | None = None

    def _reads(self) -> dict[str, Stat]:
        return {"n": Count()}

    def update(self, x: Tensor) -> None:
        if self.rolling_mean is None:
            self.rolling_mean = x.clone() if x.is_floating_point() else x.double()
        else:
            self.rolling_mean = self.rolling_mean + (x - self.rolling_mean) / self.n.get()

    def get(self) -> Tensor | None:
        return self.rolling_mean


class MSE(Stat):
    """The sum of squared deviations from the mean, ``M_n = Σ (x_k − μ_n)²``."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.prev_mean: Tensor | None = None
        self.mse: Tensor | None = None
        self.mean: Mean | None = None

    def _reads(self) -> dict[str, Stat]:
        return {"mean": Mean()}

    def update(self, x: Tensor) -> None:
        mean = self.mean.get()
        if self.prev_mean is not None:
            step = (x - self.prev_mean) * (x - mean)
            self.mse = step if self.mse is None else self.mse + step
        self.prev_mean = mean.clone()

    def get(self) -> Tensor | None:
        if self.mse is None and self.prev_mean is not None:
            return torch.zeros_like(self.prev_mean)
        return self.mse


class Var(Stat):
    """The variance ``M_n / (n − order)`` in float64 (order 1: the sample variance); 0 while
    ``n ≤ order``.

    Args:
        name: the summary key (default "variance", "sample_variance" or "variance(order)").
        order: the degrees of freedom removed (default 0).
    """

    def __init__(self, name: str | None = None, order: int = 0) -> None:
        default = {0: "variance", 1: "sample_variance"}.get(order, f"variance({order})")
        super().__init__(name=name or default, order=order)
        self.order = order
        self.mse_stat: MSE | None = None
        self.n_stat: Count | None = None

    def _reads(self) -> dict[str, Stat]:
        return {"mse_stat": MSE(), "n_stat": Count()}

    def update(self, x: Tensor) -> None:
        pass

    def get(self) -> Tensor | None:
        mse, n = self.mse_stat.get(), self.n_stat.get()
        if mse is None:
            return None
        if n is None or n <= self.order:
            return torch.zeros_like(mse)
        return mse.to(torch.float64) / (n - self.order)


class StdDev(Stat):
    """The standard deviation ``√Var(order)``.

    Args:
        name: the summary key (default "std_dev", "sample_std_dev" or "std_dev(order)").
        order: as :class:`Var` (default 0).
    """

    def __init__(self, name: str | None = None, order: int = 0) -> None:
        default = {0: "std_dev", 1: "sample_std_dev"}.get(order, f"std_dev({order})")
        super().__init__(name=name or default, order=order)
        self.order = order
        self.var_stat: Var | None = None

    def _reads(self) -> dict[str, Stat]:
        return {"var_stat": Var(order=self.order)}

    def update(self, x: Tensor) -> None:
        pass

    def get(self) -> Tensor | None:
        var = self.var_stat.get()
        return None if var is None else torch.pow(var, 0.5)


class GeneralAccumFn(Stat):
    """``result = fn(result, x)`` on each update (the first ``x`` starts it).

    Args:
        fn: binary function combining the running result with each new value.
    """

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor], name: str | None = None) -> None:
        super().__init__(name=name)
        self.result: Tensor | None = None
        self.fn = fn

    def update(self, x: Tensor) -> None:
        self.result = x if self.result is None else self.fn(self.result, x)

    def get(self) -> Tensor | None:
        return self.result


class Min(GeneralAccumFn):
    """The element-wise minimum.

    Args:
        min_fn: binary function combining two values (default ``torch.min``).
    """

    def __init__(self, name: str | None = None, min_fn: Callable = torch.min) -> None:
        super().__init__(name=name, fn=min_fn)


class Max(GeneralAccumFn):
    """The element-wise maximum.

    Args:
        max_fn: binary function combining two values (default ``torch.max``).
    """

    def __init__(self, name: str | None = None, max_fn: Callable = torch.max) -> None:
        super().__init__(name=name, fn=max_fn)


class Sum(GeneralAccumFn):
    """The element-wise sum.

    Args:
        add_fn: binary function adding two values (default ``torch.add``).
    """

    def __init__(self, name: str | None = None, add_fn: Callable = torch.add) -> None:
        super().__init__(name=name, fn=add_fn)


def CommonStats() -> list[Stat]:  # noqa: N802 (Captum's name)
    """Mean, sample variance, sample standard deviation, min and max."""
    return [Mean(), Var(order=1), StdDev(order=1), Min(), Max()]
