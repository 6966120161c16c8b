#!/usr/bin/env bash
# GPU benchmarks on a lent machine: run from the repository root; output in $OUT/bench_gpu.txt.
# Usage: benchmarks/gpu.sh [CASE ...]  (no arguments: every GPU case; a device command is capped
# at 10 minutes, so pass a few cases per call there).
set -u
OUT="${OUT:-.}"
LOG="$OUT/bench_gpu.txt"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # works even where pip cannot install
{
  echo "## $(date -u) $(hostname)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" -m pip install -q -e . captum==0.9.0 2>&1 | tail -3 || true
  if ! "$PY" -c "import captum" 2>/dev/null; then
    # no network there: use Captum's pure-Python package carried from the local venv, copied
    # alone so that the venv's CPU torch cannot shadow the machine's CUDA build
    for src in .venv/lib/python3*/site-packages/captum; do
      [ -d "$src" ] && DEPS="$(mktemp -d)" && cp -r "$src" "$DEPS/" \
        && export PYTHONPATH="$PYTHONPATH:$DEPS"
    done
  fi
  "$PY" -c "import torch, captum; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'available', torch.cuda.is_available(), 'captum', captum.__version__)" \
    || echo '!! torch or captum missing'
  CASES=("$@")
  [ ${#CASES[@]} -eq 0 ] && CASES=(ig-resnet18 saliency-resnet18 ig-bert saliency-bert bert-layers
    image-ablation kernelshap lime shapley-sampling exact-shapley-k12 vqa-contributions memory)
  for c in "${CASES[@]}"; do
    if [ "$c" = memory ]; then
      timeout 300 "$PY" -m benchmarks.memory --device cuda || echo "!! memory failed ($?)"
      continue
    fi
    # one case per process: a failing case must not hide the others
    timeout 400 "$PY" -m benchmarks "$c" --repeat 5 --device cuda || echo "!! $c failed ($?)"
  done
} 2>&1 | tee -a "$LOG"
