"""The ``mmattr`` command: ``mmattr demo | zoo | methods | insights``."""

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


def _insights(args: argparse.Namespace) -> int:
    from mmattr.insights.cli import run_insights

    return run_insights(args.zoo, args.app, args.port)


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

    insights = commands.add_parser("insights", help="explore attributions in a browser tab")
    source = insights.add_mutually_exclusive_group(required=True)
    source.add_argument("--zoo", default=None, help="a zoo model: shapes-cnn, vqa, keyword-audio")
    source.add_argument("--app", default=None, help="module:function returning an Explorer")
    insights.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    insights.set_defaults(run=_insights)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
