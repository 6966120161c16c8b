"""What AttackComparator and MinParamPerturbation share: perturbed inputs evaluated together in
one forward (Captum's ``perturbations_per_eval``), the running statistics of a metric, and the
attacks whose result can be computed once and reused."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from mmattr.engine.toolkit import expand_additional_args, resolve_batch_size
from mmattr.robust._checks import RobustInputError

#: Captum evaluates one perturbed input per forward; mmattr sizes batches from a memory budget.
DEFAULT_PER_EVAL = "auto"


def check_per_eval(perturbations_per_eval: Any) -> None:
    """An int >= 1, ``"auto"`` (batches sized from a memory budget) or None (all at once)."""
    value = perturbations_per_eval
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"perturbations_per_eval is {type(value).__name__}; expected an int >= 1, "
            '"auto" or None (all perturbations in one forward)'
        )
    if value < 1:
        raise RobustInputError(f"perturbations_per_eval is {value}; expected an int >= 1")


def resolve_per_eval(
    value: int | str | None, forward_func: Callable, sample: Any, args: tuple | None
) -> int | None:
    """Perturbed inputs per forward: ``value`` itself, or for ``"auto"`` as many copies of
    ``sample`` as the forward-only memory budget holds (measured with one probe forward on one
    example); 1 when ``sample`` is not a tensor or a tuple of tensors."""
    if value != "auto":
        return value
    tensors = sample if isinstance(sample, tuple) else (sample,)
    if not all(isinstance(t, Tensor) and t.dim() > 0 for t in tensors):
        return 1
    count = len(tensors)

    def unpacked(*values: Any) -> Any:  # the model takes the input as one argument
        return forward_func(
            values[:count] if isinstance(sample, tuple) else values[0], *values[count:]
        )

    rows = resolve_batch_size("auto", unpacked, tensors, args, 1 << 30, with_gradients=False)
    return max(1, rows // max(batch_size_of(sample), 1))


def concatenate(values: Sequence[Any]) -> Any:
    """Perturbed inputs joined along the batch: tensors concatenated, tuples and lists per
    position (as a tuple), bools or-ed, as Captum's ``_reduce_list``."""
    first = values[0]
    if isinstance(first, Tensor):
        return torch.cat([value.to(first.device) for value in values])
    if isinstance(first, bool):
        return any(values)
    if isinstance(first, (tuple, list)):
        return tuple(concatenate([value[i] for value in values]) for i in range(len(first)))
    raise TypeError(
        f"perturbed inputs are {type(first).__name__}; to evaluate several in one forward they "
        "must be tensors or tuples/lists of tensors (use perturbations_per_eval=1)"
    )


def batch_size_of(value: Any) -> int:
    return value.shape[0] if isinstance(value, Tensor) else value[0].shape[0]


def evaluate_together(
    forward_func: Callable, values: Sequence[Any], args: tuple | None
) -> list[Any]:
    """The model's output for each of ``values``, from one forward over all of them (the
    extra forward arguments repeated once per value)."""
    extra = expand_additional_args(args, len(values)) or ()
    with torch.no_grad():
        if len(values) == 1:
            return [forward_func(values[0], *extra)]
        output = forward_func(concatenate(values), *extra)
    rows = sum(batch_size_of(value) for value in values)
    if not isinstance(output, Tensor) or output.dim() == 0 or output.shape[0] != rows:
        # not one output row per example (an aggregated output): evaluate them one by one
        return [evaluate_together(forward_func, [value], args)[0] for value in values]
    outputs, start = [], 0
    for value in values:
        stop = start + batch_size_of(value)
        outputs.append(output[start:stop])
        start = stop
    return outputs


class RunningStats:
    """Captum's ``Summarizer`` over ``Mean`` / ``Min`` / ``Max``, with the same numbers: the mean
    updated as ``m += (x - m) / n``, min and max element-wise; a tuple metric gets one set of
    statistics per element."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.count = 0
        self.values: list[dict[str, Tensor]] | None = None
        self.was_tuple: bool | None = None

    def update(self, metric: Any) -> None:
        was_tuple = isinstance(metric, tuple)
        if self.was_tuple is not None and was_tuple != self.was_tuple:
            raise RobustInputError(
                "metric returned a tuple for one call and not for another; expected the same form"
            )
        self.was_tuple = was_tuple
        elements = metric if was_tuple else (metric,)
        elements = [
            e if isinstance(e, Tensor) else torch.tensor(e, dtype=torch.float) for e in elements
        ]
        self.count += 1
        if self.values is None:
            self.values = [{} for _ in elements]
        for stats, x in zip(self.values, elements):
            _update_one(stats, x, self.names, self.count)

    @property
    def summary(self) -> dict[str, Any] | list[dict[str, Any]] | None:
        if self.values is None:
            return None
        summaries = [{name: stats[name] for name in self.names} for stats in self.values]
        return summaries if self.was_tuple else summaries[0]


def _update_one(stats: dict[str, Tensor], x: Tensor, names: Sequence[str], count: int) -> None:
    if not stats:
        for name in names:
            stats[name] = (
                (x.clone() if x.is_floating_point() else x.double()) if name == "mean" else x
            )
        return
    for name in names:
        if name == "mean":
            stats[name] = stats[name] + (x - stats[name]) / count
        else:
            stats[name] = (torch.min if name == "min" else torch.max)(stats[name], x)


def fgsm_sweep(attack: Callable, arg_name: str, source: Any, kwargs: dict) -> Callable | None:
    """For an (unmodified) mmattr FGSM searched over ``epsilon``: ``epsilon -> attacked input``
    from one gradient, which FGSM's result depends on only through a sign. None otherwise."""
    from mmattr.robust.fgsm import FGSM

    owner = attack if isinstance(attack, FGSM) else getattr(attack, "__self__", None)
    if not isinstance(owner, FGSM) or arg_name != "epsilon":
        return None
    if attack is not owner and getattr(attack, "__func__", None) is not FGSM.perturb:
        return None
    if type(owner).perturb is not FGSM.perturb:  # a subclass changed the attack
        return None
    return owner.epsilon_sweep(source, **kwargs)
