#!/usr/bin/env bash
# GPU check (issue 17): default look at 256 and 512 px on Cycles OptiX, Cycles CUDA and EEVEE,
# label exactness of every output, images/hour for each. A few minutes on one GPU.
# Exit 0: all passed; 1: a check or render failed; 2: no GPU here (nothing measured).
# Usage: bash benchmarks/gpu_check.sh [--backends optix,cuda,eevee] [--sizes 256,512] [--n 12] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
exec timeout "${GPU_CHECK_TIMEOUT:-900}" python benchmarks/gpu_check.py "$@"
