"""The output folder: atomic shard writes, done markers, the manifest.

A shard's Parquet records and safetensors attributions are each written under a temporary name
and renamed (``os.replace``); the shard's done marker is written the same way last, so a reader
(and a resumed run) sees a shard only when all its files are whole.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from mmattr.jobs.config import JobConfig, JobError

FORMAT = "mmattr-job/1"
MANIFEST = "manifest.json"
FOLDERS = ("records", "attributions", "done")


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}"


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """``write(temporary path)``, then rename onto ``path``; a failure leaves no ``path``."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(str(temporary))
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise JobError(f"cannot write {path}: {error.strerror or error}") from error


def write_json(path: Path, document: dict[str, Any]) -> None:
    atomic_write(path, lambda name: Path(name).write_text(json.dumps(document, indent=1)))


def read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def check_folder(out: Path, config: JobConfig, restart: bool) -> None:
    """Raise a :class:`JobError` unless ``out`` can hold this job (read-only but for a probe)."""
    if out.exists() and not out.is_dir():
        raise JobError(f"out is {str(out)!r}, a file; expected a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise JobError(
            f"out folder {str(out)!r} is not writable: {error.strerror or error}"
        ) from None
    manifest = read_manifest(out)
    if manifest is None:
        foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if foreign:
            raise JobError(
                f"out folder {str(out)!r} holds {foreign[:5]}, which is not an mmattr "
                "job; choose an empty or new folder"
            )
        return
    if manifest.get("format") != FORMAT:
        raise JobError(
            f"out folder {str(out)!r} has a manifest of format "
            f"{manifest.get('format')!r}; expected {FORMAT!r}"
        )
    if manifest["fingerprint"] != config.fingerprint() and not restart:
        old, new = manifest["config"], config.to_dict()
        changed = sorted(k for k in new if k not in ("out", "base_dir") and old.get(k) != new[k])
        raise JobError(
            f"out folder {str(out)!r} holds another job (config differs in "
            f"{changed}); pass --restart to replace it, or choose another --out"
        )


def init_folder(out: Path, config: JobConfig, n_examples: int, restart: bool) -> None:
    """Write the manifest (rank 0, before any rank works); ``restart`` (or a new config) clears
    earlier shards. Done markers go first: a shard without one is never read back, so a crash
    between these steps cannot mix two jobs' records."""
    manifest = read_manifest(out)
    for stale in out.glob("*/.*.tmp-*"):  # left by a process killed mid-write
        stale.unlink(missing_ok=True)
    if manifest is not None and manifest["fingerprint"] == config.fingerprint() and not restart:
        return
    shutil.rmtree(out / "done", ignore_errors=True)
    document = {
        "format": FORMAT,
        "fingerprint": config.fingerprint(),
        "config": config.to_dict(),
        "n_examples": n_examples,
        "shard_size": config.shard_size,
        "n_shards": -(-n_examples // config.shard_size),
        "complete": False,
    }
    write_json(out / MANIFEST, document)
    for folder in FOLDERS:
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir()


def finished_shards(out: Path) -> dict[int, dict[str, Any]]:
    """Shard number -> its done marker (rows, first and last example), for whole shards only."""
    done = {}
    for path in (out / "done").glob("shard-*.json"):
        marker = json.loads(path.read_text())
        done[marker["shard"]] = marker
    return done


def write_shard(out: Path, shard: int, table: Any, tensors: dict[str, Any]) -> None:
    """Records (a pyarrow table) and attributions (name -> tensor), then the done marker."""
    import pyarrow.parquet as pq
    from safetensors.torch import save_file

    name = shard_name(shard)
    atomic_write(out / "records" / f"{name}.parquet", lambda path: pq.write_table(table, path))
    if tensors:
        atomic_write(
            out / "attributions" / f"{name}.safetensors", lambda path: save_file(tensors, path)
        )
    ids = table.column("example_id").to_pylist()
    marker = {"shard": shard, "rows": len(ids), "first": min(ids), "last": max(ids)}
    write_json(out / "done" / f"{name}.json", marker)


def finish(out: Path, dataset: dict[str, Any]) -> None:
    """Mark the job complete with its dataset-level results."""
    manifest = read_manifest(out)
    manifest.update(complete=True, dataset=dataset, shards=sorted(finished_shards(out)))
    write_json(out / MANIFEST, manifest)
