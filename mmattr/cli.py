"""The ``mmattr`` command: ``mmattr demo | zoo | methods | benchmark``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _demo(args: argparse.Namespace) -> int:
    from mmattr import demo

    path = demo.run(out_dir=args.out, only=args.only)
    print(f"report: {path}")
    return 0


def _zoo(args: argparse.Namespace) -> int:
    from mmattr import zoo

    if args.action == "list":
        for name in zoo.list_models():
            print(name)
        return 0
    if not args.name:
        print("mmattr zoo train: name a model; one of " + ", ".join(zoo.list_models()))
        return 2
    _model, metrics = zoo.train(args.name, steps=args.steps, seed=args.seed, save=True)
    print(f"{args.name}: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
    return 0


def _methods(args: argparse.Namespace) -> int:
    import mmattr

    print(f"mmattr {mmattr.__version__}")
    for name in sorted(mmattr.__all__):
        print(f"  {name}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmattr.metrics import zoo_benchmark

    split = {k: getattr(args, k).split(",") if getattr(args, k) else None
             for k in ("models", "methods", "metrics")}
    try:
        zoo_benchmark.check_names(**split)
    except ValueError as error:
        print(f"mmattr benchmark: {error}", file=sys.stderr)
        return 2
    examples = args.examples
    if examples is not None and (not examples.isdigit() or int(examples) < 2):
        print(f"mmattr benchmark: --examples is {examples!r}; expected an int of at least 2",
              file=sys.stderr)
        return 2
    examples = None if examples is None else int(examples)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"mmattr benchmark: --out {args.out} is a file; expected a folder", file=sys.stderr)
        return 2
    records = zoo_benchmark.benchmark(**split, out=args.out, n_examples=examples)
    print(f"{len(records)} rows: {args.out}/results.md, results.csv, results.json, heatmap.png, "
          "deletion.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmattr", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="explain the shipped zoo models; write an HTML report")
    demo.add_argument("--out", default="mmattr-report", help="report folder (default: %(default)s)")
    demo.add_argument("--only", default=None, help="run one section: qa, image, vqa, audio, graph")
    demo.set_defaults(run=_demo)

    zoo = commands.add_parser("zoo", help="list or retrain the shipped models")
    zoo.add_argument("action", choices=["list", "train"])
    zoo.add_argument("name", nargs="?", default=None)
    zoo.add_argument(
        "--steps", type=int, default=None, help="training steps (default: the full run)"
    )
    zoo.add_argument("--seed", type=int, default=0)
    zoo.set_defaults(run=_zoo)

    methods = commands.add_parser("methods", help="print the version and the attribution classes")
    methods.set_defaults(run=_methods)

    bench = commands.add_parser(
        "benchmark", help="score attribution methods on the zoo's planted ground truth"
    )
    bench.add_argument("--models", default=None, help="comma-separated zoo models (default all)")
    bench.add_argument("--methods", default=None, help="comma-separated methods (default all)")
    bench.add_argument("--metrics", default=None, help="comma-separated metrics (default all)")
    bench.add_argument("--examples", default=None, help="examples per model (default 32; 8 graph)")
    bench.add_argument("--out", default="mmattr-benchmark", help="folder (default: %(default)s)")
    bench.set_defaults(run=_benchmark)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
