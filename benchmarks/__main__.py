"""``python -m benchmarks CASE [CASE ...] [--repeat N] [--device cpu|cuda]`` or ``all``."""

from __future__ import annotations

import argparse
import warnings

import torch

from benchmarks import cases  # noqa: F401  (registers the cases)
from benchmarks._harness import CASES, measure


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("cases", nargs="+", help=f"'all' or any of: {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    names = list(CASES) if args.cases == ["all"] else args.cases
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; expected any of {list(CASES)}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    for name in names:
        measure(name, args.repeat, args.device)


if __name__ == "__main__":
    main()
