"""The ``mmattr`` command: ``mmattr demo | zoo | methods | run``."""

from __future__ import annotations

import argparse
import os
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


def _run(args: argparse.Namespace) -> int:
    from mmattr import jobs

    try:
        config = jobs.load_config(args.job, out=args.out)
        out = jobs.run(config, restart=args.restart)
    except jobs.JobError as error:
        print(f"mmattr run: {error}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":  # one line, not one per torchrun rank
        print(f"results: {out}")
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

    run = commands.add_parser("run", help="explain a whole dataset from a TOML job (torchrun)")
    run.add_argument("job", help="the job file (TOML); see examples/vqa.toml")
    run.add_argument("--out", default=None, help="output folder (default: the job's 'out')")
    run.add_argument("--restart", action="store_true", help="replace the folder's earlier shards")
    run.set_defaults(run=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
