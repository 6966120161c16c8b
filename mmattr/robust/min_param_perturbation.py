"""MinParamPerturbation: the smallest attack parameter that makes the model wrong, as Captum's
``captum.robust.MinParamPerturbation``."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, Callable, Iterator

import torch
from torch import Tensor

from mmattr.engine.toolkit import TargetType, format_additional_args, preserve_model_state
from mmattr.robust._checks import RobustInputError, check_number
from mmattr.robust._evaluation import (
    DEFAULT_PER_EVAL,
    check_per_eval,
    evaluate_together,
    fgsm_sweep,
    resolve_per_eval,
)


class MinParamPerturbationMode(Enum):
    LINEAR = 0
    BINARY = 1


def drange(start: float, stop: float, step: float) -> Iterator[float]:
    """``start, start + step, ...`` below ``stop``, accumulated as Captum does."""
    current = start
    while current < stop:
        yield current
        current += step


def default_correct_fn(model_out: Tensor, target: TargetType) -> bool:
    """True when every example's arg-max class is its target; needs (batch, classes) outputs."""
    if not isinstance(model_out, Tensor) or model_out.ndim != 2:
        shape = (
            tuple(model_out.shape) if isinstance(model_out, Tensor) else type(model_out).__name__
        )
        raise RobustInputError(
            f"the model output is {shape}; the default correct_fn needs a 2D (batch, classes) "
            "tensor, otherwise pass correct_fn"
        )
    target_tensor = target if isinstance(target, Tensor) else torch.tensor(target)
    return bool((torch.argmax(model_out, dim=1) == target_tensor.to(model_out.device)).all())


class MinParamPerturbation:
    r"""``min { p ∈ arg_min, arg_min + arg_step, ... < arg_max : correct_fn(F(attack(x, p))) is
    False }`` found by a linear scan or a binary search; returns the attacked input and ``p``,
    or ``(None, None)`` when no value breaks the model.

    Args:
        forward_func: the model; it gets the (preprocessed) input as one argument, followed by
            ``additional_forward_args``.
        attack: ``attack(inputs, **attack_kwargs, **{arg_name: p})``; an mmattr FGSM searched
            over ``epsilon`` takes one gradient for the whole search.
        arg_name, arg_min, arg_max, arg_step: the searched parameter and its range.
        mode: ``"linear"`` (default) or ``"binary"`` (assumes monotone success).
        num_attempts: attacks per value (for random attacks). Default 1.
        preproc_fn: applied before the model. Default None.
        apply_before_preproc: attack the raw inputs, then preprocess. Default False.
        correct_fn: ``correct_fn(model_out, target=..., **correct_fn_kwargs) -> bool``. Default:
            every arg-max equals ``target``.
        arg_name: name of the ``attack`` argument that is searched.
        arg_min: smallest value of ``arg_name`` tried.
        arg_max: largest value of ``arg_name`` tried.
        arg_step: step between tried values.

    Example::

        >>> import torch
        >>> model = torch.nn.Linear(2, 2)
        >>> search = MinParamPerturbation(model, lambda x, shift: x + shift, "shift", 0, 10, 1)
        >>> _, shift = search.evaluate(torch.ones(1, 2), target=0)
    """

    def __init__(
        self,
        forward_func: Callable,
        attack: Callable,
        arg_name: str,
        arg_min: int | float,
        arg_max: int | float,
        arg_step: int | float,
        mode: str = "linear",
        num_attempts: int = 1,
        preproc_fn: Callable | None = None,
        apply_before_preproc: bool = False,
        correct_fn: Callable | None = None,
    ) -> None:
        for name, value in (("forward_func", forward_func), ("attack", attack)):
            if not callable(value):
                raise TypeError(f"{name} is {type(value).__name__}; expected a callable")
        self.forward_func = forward_func
        self.attack = attack
        self.arg_name = arg_name
        self.arg_min = check_number(arg_min, "arg_min")
        self.arg_max = check_number(arg_max, "arg_max")
        self.arg_step = check_number(arg_step, "arg_step", positive=True)
        if not self.arg_max > self.arg_min + self.arg_step:
            raise RobustInputError(
                f"arg_min={arg_min}, arg_max={arg_max}, arg_step={arg_step}: expected "
                "arg_max > arg_min + arg_step (Step size cannot be smaller than range between "
                "min and max)"
            )
        if not isinstance(mode, str) or mode.upper() not in MinParamPerturbationMode.__members__:
            raise RobustInputError(
                f"Provided perturb mode {mode!r} is not valid - must be linear or binary"
            )
        if isinstance(num_attempts, bool) or not isinstance(num_attempts, int) or num_attempts < 1:
            raise ValueError(f"num_attempts is {num_attempts!r}; expected an int >= 1")
        self.num_attempts = num_attempts
        self.preproc_fn = preproc_fn
        self.apply_before_preproc = apply_before_preproc
        self.correct_fn = correct_fn if correct_fn is not None else default_correct_fn
        self.mode = MinParamPerturbationMode[mode.upper()]

    def evaluate(
        self,
        inputs: Any,
        additional_forward_args: Any = None,
        target: TargetType = None,
        perturbations_per_eval: int | str | None = DEFAULT_PER_EVAL,
        attack_kwargs: dict[str, Any] | None = None,
        correct_fn_kwargs: dict[str, Any] | None = None,
    ) -> tuple[Any, int | float | None]:
        """The first (linear) or smallest found (binary) parameter at which ``correct_fn`` is
        False, with the attacked input: ``(attacked_input, param)`` or ``(None, None)``.

        Args:
            inputs: what ``attack`` (or ``preproc_fn``) takes.
            additional_forward_args: passed to the model after the input. Default None.
            target: given to ``correct_fn`` (when not None). Default None.
            perturbations_per_eval: attacked inputs per forward: an int (Captum's default is
                1), None (a whole scan, or a binary step's attempts), or ``"auto"`` (default):
                where attacks are cheap (an FGSM search over ``epsilon``) a linear scan's
                forwards take 1, 2, 4, ... values up to what a memory budget holds; else 1, so
                no attack runs past the answer. Results are the same.
            attack_kwargs: extra keyword arguments of ``attack``. Default None.
            correct_fn_kwargs: extra keyword arguments of ``correct_fn``. Default None.
        """
        check_per_eval(perturbations_per_eval)
        args = format_additional_args(additional_forward_args)
        preproc_input = inputs if not self.preproc_fn else self.preproc_fn(inputs)
        judge = _Judge(self.forward_func, self.correct_fn, args, target, correct_fn_kwargs)
        attack_at, cheap = self._attack_at(inputs, preproc_input, dict(attack_kwargs or {}))
        per_eval, grow = perturbations_per_eval, perturbations_per_eval == "auto" and cheap
        if per_eval == "auto":
            per_eval = (
                resolve_per_eval("auto", self.forward_func, preproc_input, args) if cheap else 1
            )
        with preserve_model_state(self.forward_func):
            if self.mode is MinParamPerturbationMode.LINEAR:
                return self._linear(attack_at, judge, per_eval, grow)
            return self._binary(attack_at, judge, per_eval)

    def _attack_at(
        self, inputs: Any, preproc_input: Any, attack_kwargs: dict
    ) -> tuple[Callable, bool]:
        """``param -> (input for the model, attacked input)``, and whether that is cheap (an
        FGSM epsilon search: one gradient, then a tensor operation per value)."""
        source = inputs if self.apply_before_preproc else preproc_input
        sweep = fgsm_sweep(self.attack, self.arg_name, source, attack_kwargs)

        def at(param: int | float) -> tuple[Any, Any]:
            if sweep is not None:
                attacked = sweep(param)
            else:
                attacked = self.attack(source, **attack_kwargs, **{self.arg_name: param})
            if self.apply_before_preproc and self.preproc_fn:
                return self.preproc_fn(attacked), attacked
            return attacked, attacked

        return at, sweep is not None

    def _linear(
        self, attack_at: Callable, judge: _Judge, per_eval: int | None, grow: bool = False
    ) -> tuple:
        """Values in order, ``per_eval`` per forward; with ``grow`` the forwards take 1, 2, 4,
        ... up to ``per_eval`` values, so an early answer costs few evaluations."""
        batch: list[tuple[Any, Any, int | float]] = []
        size = 1 if grow else per_eval
        for param in drange(self.arg_min, self.arg_max, self.arg_step):
            for _ in range(self.num_attempts):
                batch.append((*attack_at(param), param))
                if len(batch) == size:
                    found = judge.first_wrong(batch)
                    if found is not None:
                        return found
                    batch = []
                    size = min(2 * size, per_eval) if grow else size
        found = judge.first_wrong(batch) if batch else None
        return found if found is not None else (None, None)

    def _binary(self, attack_at: Callable, judge: _Judge, per_eval: int | None) -> tuple:
        """Captum's bisection over whole steps: a value that breaks the model lowers ``high``,
        one that does not raises ``low``; the smallest breaking value found wins."""
        low, high = self.arg_min, self.arg_max
        best: tuple[Any, int | float | None] = (None, None)
        while high > low:
            mid_step = ((high - low) // self.arg_step) // 2
            if mid_step == 0 and low + self.arg_step < high:
                mid_step = 1
            mid = low + mid_step * self.arg_step
            found = self._attempts_at(mid, attack_at, judge, per_eval)
            if found is not None:
                high = mid
                if best[1] is None or best[1] > mid:
                    best = found
            if math.isclose(low, mid):
                break
            if found is None:
                low = mid
        return best

    def _attempts_at(
        self, param: float, attack_at: Callable, judge: _Judge, per_eval: int | None
    ) -> tuple[Any, Any] | None:
        """The first of ``num_attempts`` attacks at ``param`` that breaks the model, or None."""
        batch: list[tuple[Any, Any, int | float]] = []
        for attempt in range(self.num_attempts):
            batch.append((*attack_at(param), param))
            if len(batch) == per_eval or attempt == self.num_attempts - 1:
                found = judge.first_wrong(batch)
                if found is not None:
                    return found
                batch = []
        return None


class _Judge:
    """Runs the model on a batch of attacked inputs and finds the first it gets wrong."""

    def __init__(self, forward_func, correct_fn, args, target, correct_fn_kwargs) -> None:
        self.forward_func, self.correct_fn, self.args = forward_func, correct_fn, args
        self.kwargs = {} if target is None else {"target": target}
        self.kwargs.update(correct_fn_kwargs or {})

    def first_wrong(self, batch: list[tuple[Any, Any, Any]]) -> tuple[Any, Any] | None:
        """``(attacked input, param)`` of the first entry not judged correct, or None."""
        outputs = evaluate_together(self.forward_func, [entry[0] for entry in batch], self.args)
        for (_, attacked, param), output in zip(batch, outputs):
            if not self.correct_fn(output, **self.kwargs):
                return attacked, param
        return None
