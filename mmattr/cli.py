"""The ``mmattr`` command: ``mmattr demo | zoo | methods``."""

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
    from mmattr.engine.registry import methods
    from mmattr.fusion.estimators import estimators

    print(f"mmattr {mmattr.__version__}")
    print(f"  {'name':<30} {'class':<28} {'layers':<6} delta  captum")
    for kind in ("gradient", "perturbation", "layer", "neuron"):
        print(f"{kind}:")
        for name, info in methods(kind).items():
            delta = "yes" if info.convergence_delta else "no"
            print(
                f"  {name:<30} {info.cls.__name__:<28} {info.layers or '-':<6} {delta:<6} "
                f"{info.captum or '-'}"
            )
    print("estimators (explain contributions=; * by default):")
    for name, estimator in estimators().items():
        mark = "*" if estimator.default else " "
        print(f"  {name:<20}{mark} {estimator.summary}")
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

    methods = commands.add_parser("methods", help="list the registered methods and estimators")
    methods.set_defaults(run=_methods)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
