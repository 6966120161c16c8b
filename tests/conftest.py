import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

# the suite runs on 2 xdist workers: one thread each keeps the cores from being oversubscribed
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
