"""Peak memory of one attribution call, each contender in a fresh process.

``python -m benchmarks.memory [--device cpu|cuda]``: integrated gradients on resnet18
(224×224, batch 4, 50 steps) with mmattr's ``internal_batch_size="auto"`` against Captum's
default (``None``: all 200 rows at once). CPU: growth of peak RSS; CUDA: peak allocated.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import warnings

import torch

CONTENDERS = {
    "mmattr-auto": ("mmattr", "auto"),
    "mmattr-default": ("mmattr", None),
    "captum-default": ("captum", None),
}


def _child(contender: str, device: str) -> None:
    warnings.filterwarnings("ignore")
    import captum.attr as captum_attr

    import mmattr
    from benchmarks.cases.gradient import resnet18

    library, batch_size = CONTENDERS[contender]
    torch.manual_seed(0)
    model, x = resnet18(device)
    cls = mmattr.IntegratedGradients if library == "mmattr" else captum_attr.IntegratedGradients
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
    else:
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cls(model).attribute(x, target=0, internal_batch_size=batch_size)
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() - start
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - start
    print(json.dumps({"contender": contender, "peak_bytes": peak}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.device)
        return
    print(f"== ig-resnet18 peak memory ({args.device}), one fresh process per contender")
    for contender in CONTENDERS:
        out = (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.memory",
                    "--child",
                    contender,
                    "--device",
                    args.device,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        peak = json.loads(out)["peak_bytes"]
        print(f"  {contender:<16} {peak / 2**20:9.0f} MiB")


if __name__ == "__main__":
    main()
