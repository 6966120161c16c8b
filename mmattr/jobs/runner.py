"""``run(config)``: explain every example of a dataset, split across torch.distributed ranks.

Shard ``s`` (examples ``s*shard_size ... (s+1)*shard_size - 1``) belongs to rank ``s % world``,
so the split is deterministic; each example is explained alone, so its record does not depend
on the split. Finished shards (done markers) are skipped when the same job is run again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from mmattr.jobs import store
from mmattr.jobs.config import JobConfig
from mmattr.jobs.records import Batch, dataset_level, shard_table
from mmattr.jobs.sources import load_dataset, load_model, make_adapters, make_forward, shard_rows


class _Ranks:
    """torch.distributed when launched by torchrun (WORLD_SIZE > 1): gloo on CPU, nccl on GPU."""

    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        gpus = torch.cuda.device_count()
        self.device = torch.device(f"cuda:{local % gpus}" if gpus else "cpu")
        self.started = False
        if self.world > 1 and not torch.distributed.is_initialized():
            # nccl needs one GPU per rank; ranks sharing a GPU (or none) coordinate over gloo
            nccl = gpus >= per_node and torch.distributed.is_nccl_available()
            if nccl:
                torch.cuda.set_device(self.device)
            torch.distributed.init_process_group("nccl" if nccl else "gloo")
            self.started = True
        distributed = self.world > 1 and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if distributed else 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.started:
            torch.distributed.destroy_process_group()


def run(config: JobConfig, restart: bool = False, show_progress: bool = True) -> Path:
    """Run ``config`` (see :func:`mmattr.jobs.load_config`); returns the output folder.

    Args:
        config: the checked job.
        restart: replace an existing folder's shards, even those of another config (default
            False: resume a folder of the same job, refuse one of another).
        show_progress: one tqdm bar on rank 0 with global counts and examples/s (default True).
    """
    model, zoo_model = load_model(config)
    forward = make_forward(config, model)
    adapters = make_adapters(config, zoo_model)
    dataset, size = load_dataset(config)
    out = Path(config.out)
    store.check_folder(out, config, restart)
    ranks = _Ranks()
    try:
        if ranks.rank == 0:
            store.init_folder(out, config, size, restart)
        ranks.barrier()
        model.to(ranks.device)
        work = _Work(config, model, forward, adapters, ranks.device)
        _explain_shards(work, out, dataset, size, ranks, show_progress)
        ranks.barrier()
        if ranks.rank == 0:
            store.finish(out, dataset_level(config, out, dataset, forward, ranks.device))
        ranks.barrier()
    finally:
        ranks.close()
    return out


class _Work:
    """What one batch needs: the model, its forward, the adapters and the job's settings."""

    def __init__(self, config: JobConfig, model, forward, adapters, device) -> None:
        self.config, self.model, self.forward = config, model, forward
        self.adapters, self.device = adapters, device

    def inputs(self, rows: list[dict[str, Any]]) -> dict[str, Tensor]:
        """Model argument -> (batch, ...) tensor."""
        return {
            argument: torch.stack([torch.as_tensor(row[column]) for row in rows]).to(self.device)
            for argument, column in self.config.inputs.items()
        }

    def explain_batch(self, indices: list[int], rows: list[dict[str, Any]]) -> Batch:
        from mmattr.fusion import explain

        config, inputs = self.config, self.inputs(rows)
        with torch.inference_mode():
            output = self.forward(**inputs).flatten(1).double()  # (batch, classes)
        labels = [int(row[config.label]) for row in rows] if config.label else None
        batch = Batch(indices, output, labels, config.output)
        for i, target in enumerate(batch.targets(config.target)):
            one = {name: tensor[i : i + 1] for name, tensor in inputs.items()}
            batch.explanations.append(
                explain(
                    self.model,
                    one,
                    adapters=self.adapters,
                    method=config.method,
                    target=target,
                    forward=self.forward,
                    contributions=config.contributions,
                    **config.method_args,
                )
            )
        return batch


def _explain_shards(work: _Work, out: Path, dataset, size: int, ranks: _Ranks, show: bool):
    config = work.config
    n_shards = -(-size // config.shard_size)
    done = store.finished_shards(out)
    wanted = {s for s in range(n_shards) if s % ranks.world == ranks.rank and s not in done}
    finished = sum(marker["rows"] for marker in done.values())
    with tqdm(
        total=size,
        initial=finished,
        disable=not show or ranks.rank != 0,
        desc=f"mmattr run ({ranks.world} rank{'s' * (ranks.world > 1)})",
        unit="ex",
    ) as bar:
        for shard, rows in shard_rows(dataset, size, config.shard_size, wanted):
            batches = []
            for start in range(0, len(rows), config.batch_size):
                part = rows[start : start + config.batch_size]
                batches.append(work.explain_batch([i for i, _ in part], [r for _, r in part]))
                _progress(bar, out, sum(len(b.indices) for b in batches))
            table, tensors = shard_table(batches, config)
            store.write_shard(out, shard, table, tensors)
            _progress(bar, out, 0)


def _progress(bar: tqdm, out: Path, in_flight: int) -> None:
    """Global count on rank 0: whole shards of every rank (done markers) + this shard so far."""
    if bar.disable:
        return
    done = sum(marker["rows"] for marker in store.finished_shards(out).values())
    bar.update(max(0, done + in_flight - bar.n))
