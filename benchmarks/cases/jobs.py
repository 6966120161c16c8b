"""Issue 19 case ``run-vqa``: examples/s of a dataset job on the zoo's ``vqa`` against a
hand-written loop over ``explain()`` in one process.

Every contender is a fresh process (the job's start-up, torchrun's included, is part of its
cost; the loop pays the same imports). The job is ``examples/vqa.toml`` with ``N`` examples and
no dataset-level step; the loop computes the same per-example explanations and keeps them in a
list. Threads per process are set with ``OMP_NUM_THREADS``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._harness import Setup, case

N = 64
ROOT = Path(__file__).resolve().parents[2]
JOB_TABLES = f"""
out = "unused"
batch_size = 8
shard_size = 16
[model]
name = "vqa"
output = "softmax"
[dataset]
name = "vqa"
n = {N}
seed = 1000003
inputs = {{ image = "image", question = "question_ids" }}
label = "label"
[adapters]
question = "token"
[method]
name = "integrated_gradients"
args = {{ n_steps = 16 }}
contributions = ["attribution_share", "modality_shapley", "leave_one_out"]
"""

LOOP = f"""
import torch
from mmattr import explain, jobs, zoo
from mmattr.adapters import TokenAdapter

vqa = zoo.load("vqa")
forward = lambda image, question: vqa.model(image=image, question=question).softmax(-1)
adapters = {{"question": TokenAdapter(vqa.vocab, vqa.pad_id)}}
examples = [row for block in range({N} // 96 + 1) for row in vqa.make_data(96, 1000003 + block)]
results = []
for example in examples[:{N}]:
    inputs = {{"image": example["image"][None], "question": example["question_ids"][None]}}
    with torch.inference_mode():
        predicted = int(forward(**inputs).argmax())
    results.append(explain(vqa.model, inputs, adapters=adapters, target=predicted,
                   forward=forward, n_steps=16,
                   contributions=("attribution_share", "modality_shapley", "leave_one_out")))
"""


def _process(command: list[str], threads: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)


def _job(job: Path, ranks: int, threads: int):
    def call() -> None:
        out = tempfile.mkdtemp(prefix="run-vqa-")
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}"]
        prefix = [sys.executable, *(launcher if ranks > 1 else [])]
        _process([*prefix, "-m", "mmattr", "run", str(job), "--out", out], threads)

    return call


@case("run-vqa")
def run_vqa(device: str) -> Setup:
    job = Path(tempfile.mkdtemp(prefix="run-vqa-job-")) / "vqa.toml"
    job.write_text(JOB_TABLES)
    contenders = {
        "loop 1x1": lambda: _process([sys.executable, "-c", LOOP], 1),
        "loop 1x2": lambda: _process([sys.executable, "-c", LOOP], 2),
        "job 1 rank x1": _job(job, 1, 1),
        "job 1 rank x2": _job(job, 1, 2),
        "job 2 ranks x1": _job(job, 2, 1),
    }
    note = f"{N} examples; ranks x threads; seconds per {N} examples incl. start-up"
    return Setup(contenders, note=note)
