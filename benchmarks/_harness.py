"""Run contenders interleaved in one process, several repetitions; print medians and ratios."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

CASES: dict[str, Callable[[str], "Setup"]] = {}


@dataclass
class Setup:
    """Contenders of one case: name -> zero-argument callable; ``floor`` is the reference."""

    contenders: dict[str, Callable[[], object]]
    evaluations: dict[str, str] = field(default_factory=dict)
    note: str = ""
    #: contenders run once only (too slow to repeat), e.g. Captum's exact Shapley at k=8
    once: tuple[str, ...] = ()


def case(name: str):
    """Register a case: a function ``setup(device) -> Setup``."""

    def register(setup: Callable[[str], Setup]) -> Callable[[str], Setup]:
        CASES[name] = setup
        return setup

    return register


def _timed(fn: Callable[[], object], device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(name: str, repeat: int, device: str) -> dict[str, float]:
    """Median seconds per contender; contenders alternate within each repetition."""
    setup = CASES[name](device)
    for key, fn in setup.contenders.items():
        if key not in setup.once:  # a run-once contender is too slow to run twice
            fn()  # warm-up: allocator, lazy init, caches
    times: dict[str, list[float]] = {k: [] for k in setup.contenders}
    for rep in range(repeat):
        for key, fn in setup.contenders.items():
            if key in setup.once and rep > 0:
                continue
            times[key].append(_timed(fn, device))
    medians = {k: statistics.median(v) for k, v in times.items()}
    report(name, setup, medians, repeat, device)
    return medians


def report(name: str, setup: Setup, medians: dict[str, float], repeat: int, device: str) -> None:
    floor = medians.get("floor")
    print(f"\n== {name} ({device}, median of {repeat}) {setup.note}")
    for key, seconds in medians.items():
        ratio = f"{seconds / floor:6.2f}x floor" if floor else ""
        evals = setup.evaluations.get(key, "")
        print(f"  {key:<22} {seconds:9.4f} s  {ratio}  {evals}")
    if "captum" in medians and "mmattr" in medians:
        print(f"  captum / mmattr: {medians['captum'] / medians['mmattr']:.2f}x")
