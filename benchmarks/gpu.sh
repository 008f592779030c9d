#!/usr/bin/env bash
# The speed benchmarks on a GPU, in one command (issue 11, item 6):
#
#     bash benchmarks/gpu.sh [PYTHON]        # default: .venv/bin/python
#
# Needs a CUDA build of jaxlib in that environment (pip install -U "jax[cuda12]"); refuses to
# run on any other backend, since the numbers would not be a GPU's. Prints, and writes to
# outputs/bench/gpu-<date>.txt:
#   1. the machine (nvidia-smi, jax devices);
#   2. benchmarks/engine.py: GD throughput of the engine per batch size, against the
#      hand-written optax baseline and the paper's code (ratios printed);
#   3. benchmarks/stiff_flow.py: the Fig 1 flow from init scales 0.6 and 0.25, implicit and
#      explicit solvers against GD at its stability limit;
#   4. the whole Marion & Chizat reproduction (`python -m implicit_bias.papers.marion_chizat
#      bench`), cold (empty compilation cache) then warm, with compile seconds per figure.
# CI never runs this; nothing in the test suite needs a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
mkdir -p outputs/bench
LOG=outputs/bench/gpu-$(date -u +%Y%m%dT%H%M%SZ).txt
CACHE=$(mktemp -d)
trap 'rm -rf "$CACHE"' EXIT
export IMPLICIT_BIAS_COMPILATION_CACHE="$CACHE"
{
  echo "# bash benchmarks/gpu.sh $PY   ($(date -u))"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$PY" - <<'PYEOF'
import sys
import jax
print("jax", jax.__version__, "backend", jax.default_backend(), jax.devices())
if jax.default_backend() != "gpu":
    sys.exit("no GPU backend: install a CUDA jaxlib (pip install -U 'jax[cuda12]')")
PYEOF
  echo; echo "## engine (GD, Fig 1 model, float32)"
  "$PY" benchmarks/engine.py --batches 1,64,1024,4096,16384,65536
  echo; echo "## engine (GD, Fig 7 GELU MLP)"
  "$PY" benchmarks/engine.py --model mlp --batches 16,160,480,4800 --workers 1
  echo; echo "## stiff gradient flow (Fig 1 flow, float64)"
  "$PY" benchmarks/stiff_flow.py
  echo; echo "## Marion & Chizat reproduction, cold (empty compilation cache)"
  "$PY" -m implicit_bias.papers.marion_chizat bench
  echo; echo "## Marion & Chizat reproduction, warm (same cache)"
  "$PY" -m implicit_bias.papers.marion_chizat bench
} 2>&1 | tee "$LOG"
echo "written: $LOG"
