"""AttackComparator: a metric of the model on the original inputs and on attacked copies,
as Captum's ``captum.robust.AttackComparator``."""

from __future__ import annotations

import warnings
from collections import namedtuple
from typing import Any, Callable, Generic, NamedTuple, TypeVar

from torch import Tensor

from mmattr.engine.toolkit import format_additional_args, preserve_model_state
from mmattr.robust._evaluation import (
    DEFAULT_PER_EVAL,
    RunningStats,
    check_per_eval,
    evaluate_together,
    resolve_per_eval,
)

ORIGINAL_KEY = "Original"
#: What a metric returns: a number, a tensor, or a (named) tuple of them.
MetricResultType = TypeVar("MetricResultType", float, Tensor, tuple)


class AttackInfo(NamedTuple):
    attack_fn: Callable
    name: str
    num_attempts: int
    apply_before_preproc: bool
    attack_kwargs: dict[str, Any]
    additional_args: list[str]


def agg_metric(value: Any) -> Any:
    """A batch's metric reduced to one value per call: tensors averaged over dimension 0."""
    if isinstance(value, Tensor):
        return value.mean(dim=0)
    if isinstance(value, tuple):
        return tuple(agg_metric(element) for element in value)
    return value


class AttackComparator(Generic[MetricResultType]):
    r"""``metric(F(attack(x)))`` for every added attack beside ``metric(F(x))``; attacks with
    several attempts report the mean, min and max over attempts; ``summary()`` averages each
    over the batches evaluated so far.

    Args:
        forward_func: the model (or any callable); it gets the (preprocessed) input as one
            argument, followed by ``additional_forward_args``.
        metric: ``metric(model_out, **kwargs)`` -> float, tensor or tuple of them (a named
            tuple comes back named); ``kwargs`` are those given to :meth:`evaluate`.
        preproc_fn: applied to the inputs (and to attacked inputs) before the model. Default None.

    Example::

        >>> import torch
        >>> model = torch.nn.Linear(3, 2)
        >>> comparator = AttackComparator(model, metric=lambda out: out[:, 0])
        >>> comparator.add_attack(lambda x: x * 0, name="zero")
        >>> sorted(comparator.evaluate(torch.ones(2, 3)))
        ['Original', 'zero']
    """

    def __init__(
        self, forward_func: Callable, metric: Callable, preproc_fn: Callable | None = None
    ) -> None:
        for name, value in (("forward_func", forward_func), ("metric", metric)):
            if not callable(value):
                raise TypeError(f"{name} is {type(value).__name__}; expected a callable")
        if preproc_fn is not None and not callable(preproc_fn):
            raise TypeError(f"preproc_fn is {type(preproc_fn).__name__}; expected a callable")
        self.forward_func = forward_func
        self.metric = metric
        self.preproc_fn = preproc_fn
        self.attacks: dict[str, AttackInfo] = {}
        self.summary_results: dict[str, RunningStats] = {}
        self.metric_aggregator = agg_metric
        self.out_format: Callable | None = None

    def add_attack(
        self,
        attack: Callable,
        name: str | None = None,
        num_attempts: int = 1,
        apply_before_preproc: bool = True,
        attack_kwargs: dict[str, Any] | None = None,
        additional_attack_arg_names: list[str] | None = None,
    ) -> None:
        """Register ``attack(inputs, **attack_kwargs)`` under ``name`` (default: its class
        name), run ``num_attempts`` times (default 1) per evaluation, on the raw inputs
        (``apply_before_preproc=True``, default) or the preprocessed ones. The keyword
        arguments of :meth:`evaluate` named in ``additional_attack_arg_names`` reach it too."""
        if not callable(attack):
            raise TypeError(f"attack is {type(attack).__name__}; expected a callable")
        name = attack.__class__.__name__ if name is None else name
        if name in self.attacks:
            raise RuntimeError(f"Cannot add attack with same name as existing attack {name}")
        if isinstance(num_attempts, bool) or not isinstance(num_attempts, int) or num_attempts < 1:
            raise ValueError(f"num_attempts is {num_attempts!r}; expected an int >= 1")
        self.attacks[name] = AttackInfo(
            attack,
            name,
            num_attempts,
            apply_before_preproc,
            dict(attack_kwargs or {}),
            list(additional_attack_arg_names or []),
        )

    def evaluate(
        self,
        inputs: Any,
        additional_forward_args: Any = None,
        perturbations_per_eval: int | str | None = DEFAULT_PER_EVAL,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The metric on ``inputs`` and on each attack's output, and the summary updated.

        Args:
            inputs: what the attacks (and ``preproc_fn``) take; after ``preproc_fn``, a tensor
                or a tuple of tensors with the batch first.
            additional_forward_args: passed to the model after the input. Default None.
            perturbations_per_eval: how many of (original, attempts...) one forward evaluates:
                an int (Captum's default is 1), None (all), or ``"auto"`` (default: as many as
                a memory budget holds; the same results, fewer forwards).
            kwargs: passed to ``metric``, and to attacks that asked for them by name.

        Returns ``{"Original": metric, name: {"mean": ...} or {"mean", "min", "max"}}``.
        """
        check_per_eval(perturbations_per_eval)
        args = format_additional_args(additional_forward_args)
        preproc_input = self.preproc_fn(inputs) if self.preproc_fn is not None else inputs
        per_eval = resolve_per_eval(perturbations_per_eval, self.forward_func, preproc_input, args)
        stats = {ORIGINAL_KEY: RunningStats(["mean"])}
        pending = [(ORIGINAL_KEY, preproc_input)]
        with preserve_model_state(self.forward_func):
            for attack in self.attacks.values():
                stats[attack.name] = RunningStats(
                    ["mean", "min", "max"] if attack.num_attempts > 1 else ["mean"]
                )
                attack_args = _requested(attack, kwargs)
                for _ in range(attack.num_attempts):
                    if per_eval is not None and len(pending) == per_eval:
                        self._evaluate(pending, args, stats, kwargs)
                        pending = []
                    pending.append(
                        (attack.name, self._attacked(attack, inputs, preproc_input, attack_args))
                    )
            self._evaluate(pending, args, stats, kwargs)
        return self._update_results(stats)

    def _attacked(self, attack: AttackInfo, inputs: Any, preproc_input: Any, extra: dict) -> Any:
        source = inputs if attack.apply_before_preproc else preproc_input
        attacked = attack.attack_fn(source, **extra, **attack.attack_kwargs)
        if attack.apply_before_preproc and self.preproc_fn is not None:
            return self.preproc_fn(attacked)
        return attacked

    def _evaluate(self, pending: list, args: tuple | None, stats: dict, kwargs: dict) -> None:
        outputs = evaluate_together(self.forward_func, [value for _, value in pending], args)
        for (key, _), output in zip(pending, outputs):
            metric = self.metric(output, **kwargs)
            if self.out_format is None and isinstance(metric, tuple) and hasattr(metric, "_fields"):
                self.out_format = namedtuple(type(metric).__name__, metric._fields)
            stats[key].update(metric)

    def _format(self, summary: Any) -> dict[str, Any]:
        """A tuple metric's per-element statistics as ``{stat: tuple of elements}``."""
        if isinstance(summary, dict):
            return summary
        formatted = {}
        for key in summary[0]:
            values = tuple(element[key] for element in summary)
            formatted[key] = self.out_format(*values) if self.out_format else values
        return formatted

    def _update_results(self, stats: dict[str, RunningStats]) -> dict[str, Any]:
        results: dict[str, Any] = {ORIGINAL_KEY: self._format(stats[ORIGINAL_KEY].summary)["mean"]}
        self._summarise(ORIGINAL_KEY, results[ORIGINAL_KEY])
        for attack in self.attacks.values():
            attack_results = self._format(stats[attack.name].summary)
            results[attack.name] = attack_results
            if len(attack_results) == 1:
                self._summarise(attack.name, next(iter(attack_results.values())))
                continue
            for key, value in attack_results.items():
                self._summarise(f"{attack.name} {key.title()} Attempt", value)
        return results

    def _summarise(self, key: str, value: Any) -> None:
        self.summary_results.setdefault(key, RunningStats(["mean"])).update(
            self.metric_aggregator(value)
        )

    def summary(self) -> dict[str, dict[str, Any]]:
        """The mean over every :meth:`evaluate` call so far of each entry's (batch-averaged)
        metric; attacks with several attempts have ``"<name> Mean|Min|Max Attempt"`` entries."""
        return {key: self._format(stats.summary) for key, stats in self.summary_results.items()}

    def reset(self) -> None:
        """Forget the summary of earlier :meth:`evaluate` calls."""
        self.summary_results = {}


def _requested(attack: AttackInfo, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``evaluate`` the attack asked for; a missing one warns."""
    found = {}
    for key in attack.additional_args:
        if key not in kwargs:
            warnings.warn(
                f"Additional sample arg {key} not provided for {attack.name}", stacklevel=3
            )
        else:
            found[key] = kwargs[key]
    return found
