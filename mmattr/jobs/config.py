"""Job files: parse a TOML job, check every key before any work, resolve ``module:function``.

A job names the model, the dataset, the adapters, the method, the contributions and metrics,
the batch and shard sizes and the output folder (see ``examples/vqa.toml``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ESTIMATORS = ("attribution_share", "modality_shapley", "mm_shap", "leave_one_out")
METRICS = ("confidence", "margin")
OUTPUTS = ("logits", "softmax")
TARGETS = ("predicted", "label")
_SECTIONS = {
    "": {"out", "batch_size", "shard_size", "save_attributions", "seed"},
    "model": {"name", "forward", "output"},
    "dataset": {"name", "path", "n", "seed", "inputs", "label"},
    "method": {"name", "target", "args", "contributions", "metrics"},
    "dataset_contributions": {"n", "n_permutations", "batch_size"},
}


class JobError(ValueError):
    """A job that cannot run: a bad key, a missing dataset, an unusable output folder."""


@dataclass
class JobConfig:
    """A checked job. Defaults: batch_size 16, shard_size 4 x batch_size, output "logits",
    target "predicted", the contributions of :func:`mmattr.explain`, no metrics."""

    out: str
    model: str
    inputs: dict[str, str]
    dataset: str | None = None
    dataset_path: str | None = None
    n: int | None = None
    seed: int = 0
    label: str | None = None
    forward: str | None = None
    output: str = "logits"
    adapters: dict[str, str] = field(default_factory=dict)
    method: str = "integrated_gradients"
    target: str = "predicted"
    method_args: dict[str, Any] = field(default_factory=dict)
    contributions: list[str] = field(
        default_factory=lambda: ["attribution_share", "modality_shapley", "leave_one_out"]
    )
    metrics: list[str] = field(default_factory=list)
    batch_size: int = 16
    shard_size: int = 0
    save_attributions: bool = True
    dataset_contributions: dict[str, int] = field(default_factory=dict)
    base_dir: str = "."  # the job file's folder: relative paths and modules resolve from it

    def fingerprint(self) -> str:
        """A hash of everything that changes the records (not the output folder)."""
        document = {k: v for k, v in asdict(self).items() if k not in ("out", "base_dir")}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_config(path: str | Path, out: str | None = None) -> JobConfig:
    """Read and check the job file ``path``; ``out`` overrides its output folder."""
    path = Path(path)
    if not path.is_file():
        raise JobError(f"job file {str(path)!r} does not exist; expected a TOML job file")
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise JobError(f"job file {str(path)!r} is not valid TOML: {error}") from None
    if out is not None:
        document["out"] = out
    return parse_config(document, base_dir=str(path.resolve().parent))


def parse_config(document: dict[str, Any], base_dir: str = ".") -> JobConfig:
    """A :class:`JobConfig` from the parsed TOML ``document``; a :class:`JobError` names the key."""
    _check_keys(document)
    model, dataset = _table(document, "model"), _table(document, "dataset")
    method = _table(document, "method", required=False)
    config = JobConfig(
        out=_get(document, "out", str),
        model=_get(model, "name", str, "model.name"),
        inputs=_get(dataset, "inputs", dict, "dataset.inputs"),
        base_dir=base_dir,
    )
    config.dataset = _get(dataset, "name", str, "dataset.name", None)
    config.dataset_path = _get(dataset, "path", str, "dataset.path", None)
    if (config.dataset is None) == (config.dataset_path is None):
        raise JobError(
            "dataset needs exactly one of 'name' (a zoo generator or 'module:function') and "
            "'path' (a Hugging Face datasets folder); got "
            f"{sorted(k for k in ('name', 'path') if k in dataset) or 'neither'}"
        )
    config.n = _get(dataset, "n", int, "dataset.n", None)
    config.seed = _get(dataset, "seed", int, "dataset.seed", 0)
    config.label = _get(dataset, "label", str, "dataset.label", None)
    config.forward = _get(model, "forward", str, "model.forward", None)
    config.output = _choice(
        _get(model, "output", str, "model.output", "logits"), OUTPUTS, "model.output"
    )
    config.adapters = _get(document, "adapters", dict, "adapters", {})
    config.method = _get(method, "name", str, "method.name", config.method)
    config.target = _choice(
        _get(method, "target", str, "method.target", "predicted"), TARGETS, "method.target"
    )
    config.method_args = _get(method, "args", dict, "method.args", {})
    config.contributions = _names(method, "contributions", ESTIMATORS, config.contributions)
    config.metrics = _names(method, "metrics", METRICS, [])
    config.batch_size = _positive(document, "batch_size", 16)
    config.shard_size = _positive(document, "shard_size", 4 * config.batch_size)
    config.save_attributions = _get(document, "save_attributions", bool, None, True)
    config.dataset_contributions = _dataset_contributions(document)
    _check_values(config)
    return config


def _check_keys(document: dict[str, Any]) -> None:
    for section, allowed in _SECTIONS.items():
        table = document if not section else document.get(section, {})
        if not isinstance(table, dict):
            raise JobError(f"{section} is {table!r}; expected a table [{section}]")
        tables = set(_SECTIONS) - {""} | {"adapters"} if not section else set()
        unknown = sorted(set(table) - allowed - tables)
        if unknown:
            where = f"[{section}]" if section else "the top level"
            raise JobError(f"{where} has unknown keys {unknown}; expected among {sorted(allowed)}")


def _table(document: dict[str, Any], name: str, required: bool = True) -> dict[str, Any]:
    if name not in document:
        if required:
            raise JobError(f"the job has no [{name}] table; expected one")
        return {}
    return document[name]


_MISSING = object()


def _get(table: dict, key: str, kind: type, name: str | None = None, default: Any = _MISSING):
    name = name or key
    if key not in table:
        if default is _MISSING:
            raise JobError(f"{name} is missing; expected a {kind.__name__}")
        return default
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise JobError(f"{name} is {value!r}; expected a {kind.__name__}")
    return value


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise JobError(f"{name} is {value!r}; expected one of {list(allowed)}")
    return value


def _names(table: dict, key: str, allowed: tuple[str, ...], default: list[str]) -> list[str]:
    values = _get(table, key, list, f"method.{key}", default)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise JobError(f"method.{key} has {unknown}; expected names among {list(allowed)}")
    return list(values)


def _positive(table: dict, key: str, default: int) -> int:
    value = _get(table, key, int, key, default)
    if value < 1:
        raise JobError(f"{key} is {value}; expected a positive int")
    return value


def _dataset_contributions(document: dict[str, Any]) -> dict[str, int]:
    table = document.get("dataset_contributions")
    if table is None:
        return {}
    return {
        "n": _positive(table, "n", 100),
        "n_permutations": _positive(table, "n_permutations", 5),
        "batch_size": _positive(table, "batch_size", 256),
    }


def _check_values(config: JobConfig) -> None:
    if not config.inputs or not all(isinstance(v, str) for v in config.inputs.values()):
        raise JobError(
            f"dataset.inputs is {config.inputs!r}; expected a table model argument -> column"
        )
    import mmattr

    class_name = "".join(part.capitalize() for part in config.method.split("_"))
    if not isinstance(getattr(mmattr, class_name, None), type):
        raise JobError(
            f"method.name is {config.method!r}; expected an engine method in snake_case such "
            "as 'integrated_gradients', 'saliency', 'feature_ablation'"
        )
    unknown = sorted(set(config.adapters) - set(config.inputs))
    if unknown:
        raise JobError(
            f"adapters has {unknown}; expected names among dataset.inputs {sorted(config.inputs)}"
        )
    needs_label = [
        k
        for k, on in (
            ("method.target = 'label'", config.target == "label"),
            ("[dataset_contributions]", bool(config.dataset_contributions)),
        )
        if on
    ]
    if needs_label and config.label is None:
        raise JobError(
            f"dataset.label is missing; {' and '.join(needs_label)} need the label column"
        )
    if config.n is not None and config.n < 1:
        raise JobError(f"dataset.n is {config.n}; expected a positive int")


def resolve(reference: str, what: str, base_dir: str = ".") -> Callable[..., Any]:
    """The function named ``module:function`` (the job file's folder is importable)."""
    module_name, _, function_name = reference.partition(":")
    if not module_name or not function_name:
        raise JobError(f"{what} is {reference!r}; expected 'module:function'")
    if base_dir not in sys.path:
        sys.path.insert(0, base_dir)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise JobError(
            f"{what} is {reference!r}; module {module_name!r} cannot be imported ({error})"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise JobError(f"{what} is {reference!r}; {module_name} has no function {function_name!r}")
    return function
