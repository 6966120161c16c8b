"""Read a job's output folder: records as a pyarrow table or pandas frame, and one example's
attributions or :class:`~mmattr.Explanation`. Only whole shards (done markers) are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from mmattr.jobs import store
from mmattr.jobs.config import JobError


class JobResults:
    """The results in ``folder``: ``.manifest``, ``.complete``, ``.dataset`` (dataset-level
    results once complete), ``.table()``, ``.frame()``, ``.attributions(id)``,
    ``.explanation(id)``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        manifest = store.read_manifest(self.folder)
        if manifest is None:
            raise JobError(
                f"folder is {str(folder)!r}; expected an mmattr job folder with {store.MANIFEST}"
            )
        self.manifest = manifest
        self.complete: bool = manifest["complete"]
        self.dataset: dict[str, Any] = manifest.get("dataset", {})

    def table(self) -> Any:
        """Every finished example's record, as a pyarrow table sorted by ``example_id``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        shards = sorted(store.finished_shards(self.folder))
        tables = [
            pq.read_table(self.folder / "records" / f"{store.shard_name(s)}.parquet")
            for s in shards
        ]
        if not tables:
            return pa.table({"example_id": pa.array([], pa.int64())})
        table = pa.concat_tables(tables, promote_options="default")
        return table.sort_by("example_id")

    def frame(self) -> Any:
        """:meth:`table` as a pandas DataFrame."""
        return self.table().to_pandas()

    def attributions(self, example_id: int) -> dict[str, Tensor]:
        """Modality -> attribution tensor (the example's shape, no batch dimension)."""
        from safetensors import safe_open

        shard = int(example_id) // self.manifest["shard_size"]
        path = self.folder / "attributions" / f"{store.shard_name(shard)}.safetensors"
        if shard not in store.finished_shards(self.folder) or not path.is_file():
            raise KeyError(f"example_id {example_id} has no saved attributions in {self.folder}")
        with safe_open(str(path), framework="pt") as file:
            prefix = f"{int(example_id)}/"
            return {
                k[len(prefix) :]: file.get_tensor(k) for k in file.keys() if k.startswith(prefix)
            }

    def explanation(self, example_id: int) -> Any:
        """The example's :class:`~mmattr.Explanation` (attributions with a batch dimension of 1,
        contributions rebuilt from the record)."""
        from mmattr.fusion import Contribution, Explanation

        table = self.table()
        rows = table.filter(table.column("example_id").to_numpy() == int(example_id)).to_pylist()
        if not rows:
            raise KeyError(f"example_id {example_id} is not in {self.folder}")
        record, contributions = rows[0], {}
        for estimator in self.manifest["config"]["contributions"]:
            values, pairs = {}, {}
            for key, value in record.items():
                parts = key.split("/")
                if parts[0] == estimator and len(parts) == 2 and value is not None:
                    if "|" in parts[1]:
                        pairs[tuple(parts[1].split("|"))] = value
                    else:
                        values[parts[1]] = value
            contributions[estimator] = Contribution(values, estimator, interactions=pairs)
        attributions = {k: v[None] for k, v in self.attributions(example_id).items()}
        method = self.manifest["config"]["method"]
        return Explanation(attributions, contributions, record["target"], method)


def open_job(folder: str | Path) -> JobResults:
    """The results of the job in ``folder`` (see :class:`JobResults`)."""
    return JobResults(folder)
