"""The ``mmattr`` command: ``mmattr demo | zoo | methods | benchmark | insights | run``.

Arguments and output folders are checked before any work; a bad one ends the command with
one line on stderr and exit status 2 (an unexpected failure still shows its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Sequence

from mmattr.paths import check_writable_folder


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _positive_steps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of steps")
    return value


def _writable(folder: str, command: str) -> str:
    """``--out`` checked (created if needed) before the command does any work."""
    try:
        check_writable_folder(folder, "--out")
    except ValueError as error:
        raise UsageError(f"{command}: {error}") from None
    return folder


def _demo(args: argparse.Namespace) -> int:
    from mmattr import demo

    if args.only is not None and args.only not in demo.SECTIONS:
        raise UsageError(
            f"mmattr demo: --only {args.only!r} is not a section; expected one of "
            + ", ".join(demo.SECTIONS)
        )
    path = demo.run(out_dir=_writable(args.out, "mmattr demo"), only=args.only)
    print(f"report: {path}")
    return 0


def _zoo(args: argparse.Namespace) -> int:
    from mmattr import zoo

    if args.action == "list":
        for name in zoo.list_models():
            print(name)
        return 0
    if args.name not in zoo.list_models():
        given = "name a model" if args.name is None else f"{args.name!r} is not a zoo model"
        raise UsageError(
            f"mmattr zoo train: {given}; expected one of {', '.join(zoo.list_models())}"
        )
    folder = _writable(str(zoo.cache_dir()) if args.out is None else args.out, "mmattr zoo train")
    model, metrics = zoo.train(args.name, steps=args.steps, seed=args.seed)
    path = zoo.save(args.name, model, folder)
    print(f"{args.name}: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
    print(f"saved {path}; load it with zoo.load({args.name!r}, weights={str(path.parent)!r})")
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


def _benchmark(args: argparse.Namespace) -> int:
    from mmattr.metrics import zoo_benchmark

    split = {
        k: getattr(args, k).split(",") if getattr(args, k) else None
        for k in ("models", "methods", "metrics")
    }
    try:
        zoo_benchmark.check_names(**split)
    except ValueError as error:
        raise UsageError(f"mmattr benchmark: {error}") from None
    examples = args.examples
    if examples is not None and (not examples.isdigit() or int(examples) < 2):
        raise UsageError(
            f"mmattr benchmark: --examples is {examples!r}; expected an int of at least 2"
        )
    examples = None if examples is None else int(examples)
    out = _writable(args.out, "mmattr benchmark")
    records = zoo_benchmark.benchmark(**split, out=out, n_examples=examples)
    print(
        f"{len(records)} rows: {out}/results.md, results.csv, results.json, heatmap.png, "
        "deletion.png"
    )
    return 0


def _insights(args: argparse.Namespace) -> int:
    from mmattr.insights.cli import run_insights

    return run_insights(args.zoo, args.app, args.port)


def _run(args: argparse.Namespace) -> int:
    from mmattr import jobs

    try:
        config = jobs.load_config(args.job, out=args.out)
        out = jobs.run(config, restart=args.restart)
    except jobs.JobError as error:
        raise UsageError(f"mmattr run: {error}") from None
    if os.environ.get("RANK", "0") == "0":  # one line, not one per torchrun rank
        print(f"results: {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mmattr", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="explain the shipped zoo models; write an HTML report")
    demo.add_argument("--out", default="mmattr-report", help="report folder (default: %(default)s)")
    demo.add_argument(
        "--only", default=None, help="run one section: qa, image, vqa, audio, graph, generation"
    )
    demo.set_defaults(run=_demo)

    zoo = commands.add_parser("zoo", help="list the zoo models, or retrain one into a folder")
    zoo.add_argument("action", choices=["list", "train"])
    zoo.add_argument("name", nargs="?", default=None)
    zoo.add_argument(
        "--steps", type=_positive_steps, default=None, help="training steps (default: the full run)"
    )
    zoo.add_argument("--seed", type=int, default=0)
    zoo.add_argument(
        "--out",
        default=None,
        help="folder for the retrained weights (default: $XDG_CACHE_HOME/mmattr/zoo); "
        "the shipped weights are never replaced",
    )
    zoo.set_defaults(run=_zoo)

    methods = commands.add_parser("methods", help="list the registered methods and estimators")
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
    insights = commands.add_parser("insights", help="explore attributions in a browser tab")
    source = insights.add_mutually_exclusive_group(required=True)
    source.add_argument("--zoo", default=None, help="a zoo model: shapes-cnn, vqa, keyword-audio")
    source.add_argument("--app", default=None, help="module:function returning an Explorer")
    insights.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    insights.set_defaults(run=_insights)
    run = commands.add_parser("run", help="explain a whole dataset from a TOML job (torchrun)")
    run.add_argument("job", help="the job file (TOML); see examples/vqa.toml")
    run.add_argument("--out", default=None, help="output folder (default: the job's 'out')")
    run.add_argument("--restart", action="store_true", help="replace the folder's earlier shards")
    run.set_defaults(run=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
