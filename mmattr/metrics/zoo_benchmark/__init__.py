"""``benchmark``: every applicable attribution method on every zoo model, scored on the
planted ground truth (pointing game, relevance mass and rank, AUROC) and on faithfulness
(deletion/insertion) and complexity; written as CSV, JSON, a Markdown table and figures."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from mmattr.metrics.pointing_game import chance_rate
from mmattr.metrics.zoo_benchmark._methods import DEFAULT_METRICS, METHODS, METRICS, curve
from mmattr.metrics.zoo_benchmark._tasks import TASKS

__all__ = ["DEFAULT_EXAMPLES", "METHODS", "METRICS", "MODELS", "benchmark", "check_names"]

MODELS = tuple(TASKS)
#: held-out examples per model by default; the graph's are target nodes, each occluded over
#: all 700 nodes of its graph (700 model calls per example)
DEFAULT_EXAMPLES = {
    "shapes-cnn": 32,
    "keyword-audio": 32,
    "vqa": 32,
    "qa-bert": 32,
    "ba-shapes-gcn": 8,
}


def check_names(
    models: Sequence[str] | None, methods: Sequence[str] | None, metrics: Sequence[str] | None
) -> tuple[list[str], list[str], list[str]]:
    """The chosen names (defaults for None), each checked against what exists."""
    chosen = []
    for label, names, known, default in (
        ("models", models, MODELS, MODELS),
        ("methods", methods, tuple(METHODS), tuple(METHODS)),
        ("metrics", metrics, tuple(METRICS), DEFAULT_METRICS),
    ):
        names = list(default if names is None else names)
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ValueError(
                f"{label} has {unknown or 'nothing'}; expected names among {', '.join(known)}"
            )
        chosen.append(names)
    return chosen[0], chosen[1], chosen[2]


def benchmark(
    models: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    out: str | Path | None = None,
    n_examples: int | None = None,
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Score methods on zoo models; one record per (model, method).

    Args:
        models: zoo model names; default all of :data:`MODELS`.
        methods: among :data:`METHODS` ("random" is the control); default all.
        metrics: among :data:`METRICS`; default all but "faithfulness_correlation".
        out: folder for ``results.csv``, ``results.json``, ``results.md``, ``heatmap.png``
            and ``deletion.png``; None writes nothing.
        n_examples: held-out examples per model (fresh data, seed ``_tasks.SEED``); None:
            :data:`DEFAULT_EXAMPLES` (32, 8 for the graph).
        show_progress: a tqdm bar over (model, method) pairs. Default True.

    Returns:
        records ``{"model", "method", "examples", "chance", "seconds", <metric>: mean}``;
        ``chance`` is the pointing game's chance rate (mean ground-truth share).
    """
    models, methods, metrics = check_names(models, methods, metrics)
    if n_examples is not None and (
        isinstance(n_examples, bool) or not isinstance(n_examples, int) or n_examples < 2
    ):
        raise ValueError(f"n_examples={n_examples!r}; expected an int of at least 2")
    from mmattr import zoo  # the zoo sits above the metrics: loaded only when benchmarking

    records, curves = [], {}
    bar = tqdm(total=len(models) * len(methods), desc="benchmark", disable=not show_progress)
    for model_name in models:
        count = DEFAULT_EXAMPLES[model_name] if n_examples is None else n_examples
        task = TASKS[model_name](zoo.load(model_name), count)
        chance = float(chance_rate(task.truth).mean())
        for method in methods:
            bar.set_postfix_str(f"{model_name} / {method}")
            record, deletion = _score(task, method, metrics)
            records.append(
                {
                    "model": model_name,
                    "method": method,
                    "examples": count,
                    "chance": round(chance, 4),
                    **record,
                }
            )
            if deletion is not None:
                curves[(model_name, method)] = deletion
            bar.update()
    bar.close()
    if out is not None:
        from mmattr.metrics.zoo_benchmark._report import write_report

        write_report(records, curves, metrics, Path(out))
    return records


def _score(task: Any, method: str, metrics: list[str]) -> tuple[dict[str, Any], Any]:
    started = time.perf_counter()
    attributions = METHODS[method](task).detach()
    seconds = time.perf_counter() - started
    cache = {}
    for kind in ("deletion", "insertion"):
        if any(m.startswith(kind) for m in metrics):
            cache[kind] = curve(task, attributions, kind)
    values = {
        name: float(METRICS[name](task, attributions, cache).double().mean()) for name in metrics
    }
    mean_curve = cache["deletion"].scores.mean(0) if "deletion" in cache else None
    record = {"seconds": round(seconds, 3), **{k: round(v, 4) for k, v in values.items()}}
    return record, (None if mean_curve is None else (cache["deletion"].fractions, mean_curve))
