"""Attribution over whole datasets: sharded across torch.distributed ranks, resumable.

>>> from mmattr import jobs
>>> config = jobs.load_config("examples/vqa.toml", out="vqa-run")   # doctest: +SKIP
>>> jobs.run(config)                                                 # doctest: +SKIP
>>> jobs.open("vqa-run").frame().head()                              # doctest: +SKIP

From the shell: ``mmattr run JOB.toml [--out DIR] [--restart]``, or
``torchrun --nproc-per-node N -m mmattr run JOB.toml``.
"""

from mmattr.jobs.config import JobConfig, JobError, load_config, parse_config
from mmattr.jobs.reader import JobResults, open_job
from mmattr.jobs.runner import run

open = open_job  # noqa: A001  (mmattr.jobs.open(folder), as the issue names it)

__all__ = ["JobConfig", "JobError", "JobResults", "load_config", "open", "parse_config", "run"]
