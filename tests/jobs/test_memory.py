"""Memory bounded by the batch: peak RSS of a 10,000-example job within 10% of a 1,000-example
job (same tiny model; each run in its own process, so peaks are not shared)."""

from __future__ import annotations

import subprocess
import sys

from tests.jobs._jobs import ROOT, environment, tiny_job

MEASURE = """
import resource, sys
from mmattr import jobs
jobs.run(jobs.load_config(sys.argv[1], out=sys.argv[2]), show_progress=False)
print(len(jobs.open(sys.argv[2]).frame()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kib(tmp_path, rows: str) -> tuple[int, int]:
    job = tiny_job(tmp_path / f"{rows}.toml", rows, batch=250, shard=1000,
                   contributions=("attribution_share",))  # fmt: skip
    command = [sys.executable, "-c", MEASURE, str(job), str(tmp_path / rows)]
    done = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    examples, peak = done.stdout.split()
    return int(examples), int(peak)


def test_peak_memory_does_not_grow_with_the_dataset(tmp_path):
    small, small_peak = peak_rss_kib(tmp_path, "rows_1000")
    large, large_peak = peak_rss_kib(tmp_path, "rows_10000")
    assert (small, large) == (1_000, 10_000)
    assert abs(large_peak - small_peak) <= 0.10 * small_peak, (small_peak, large_peak)
