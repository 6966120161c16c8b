"""Shared helpers of the job tests: write a job file, run it in-process or under torchrun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

VQA_JOB = """
out = "unused"
batch_size = 2
shard_size = 4
[model]
name = "vqa"
output = "softmax"
[dataset]
name = "vqa"
n = {n}
seed = 5
inputs = {{ image = "image", question = "question_ids" }}
label = "label"
[adapters]
question = "token"
[method]
name = "integrated_gradients"
args = {{ n_steps = 4 }}
contributions = ["attribution_share", "modality_shapley", "leave_one_out"]
metrics = ["confidence", "margin"]
[dataset_contributions]
n = 12
n_permutations = 2
"""

TINY_JOB = """
out = "unused"
batch_size = {batch}
shard_size = {shard}
[model]
name = "{model}"
[dataset]
name = "tests.jobs.fixtures:{rows}"
inputs = {{ a = "a", b = "b" }}
label = "label"
[method]
name = "{method}"
contributions = {contributions}
"""


def tiny_job(
    path: Path,
    rows: str = "rows_40",
    model: str = "tests.jobs.fixtures:model",
    method: str = "saliency",
    batch: int = 4,
    shard: int = 8,
    contributions: tuple[str, ...] = ("attribution_share", "modality_shapley"),
) -> Path:
    """A job of the tiny two-input model over ``tests.jobs.fixtures:{rows}``."""
    text = TINY_JOB.format(rows=rows, model=model, method=method, batch=batch, shard=shard,
                           contributions=list(contributions))  # fmt: skip
    path.write_text(text.replace("'", '"'))
    return path


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def torchrun(job: Path, out: Path, nproc: int = 2, wait: bool = True):
    """``torchrun --nproc-per-node nproc -m mmattr run job --out out`` (gloo, CPU), in its own
    process group so that a run that times out leaves no rank behind."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
               "--standalone", "-m", "mmattr", "run", str(job), "--out", str(out)]  # fmt: skip
    stderr = subprocess.PIPE if wait else subprocess.DEVNULL  # an undrained pipe could block
    process = subprocess.Popen(command, env=environment(), cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=stderr, text=True, start_new_session=True)  # fmt: skip
    if not wait:
        return process
    try:
        _, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(command, process.returncode, "", stderr)
