#!/usr/bin/env bash
# The GPU check for a lent CUDA machine (no network there): the cuda test suite, the benchmarks with
# --device cuda (and --cuda-graph) against torch CUDA, and per-op cost microbenchmarks.
# Results go to $OUT (default ./gpu-out); CuPy's kernel cache is saved there to carry into the next run.
# Usage: bash scripts/gpu_check.sh [pytest -k expression]
set -u
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-$PWD/.cupy-cache}
if [ -f cupy-cache.tar ]; then tar -xf cupy-cache.tar; fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, numpy, cupy, torch; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__)"
} 2>&1 | tee "$OUT/env.txt"
timeout 240 python3 -m pytest tests/test_cuda.py -p no:cacheprovider -n 8 -q -rf --timeout 120 ${1:+-k "$1"} \
  --junitxml="$OUT/junit.xml" 2>&1 | tail -n 150 > "$OUT/tests.txt"
tail -n 5 "$OUT/tests.txt"
timeout 200 python3 benchmarks/run.py --device cuda --cuda-graph --repeat 3 --markdown > "$OUT/bench.md" 2> "$OUT/bench_err.txt"
cat "$OUT/bench.md"; tail -n 20 "$OUT/bench_err.txt"
timeout 60 python3 scripts/gpu_microbench.py > "$OUT/micro.txt" 2>&1; cat "$OUT/micro.txt"
tar -cf "$OUT/cupy-cache.tar" .cupy-cache 2>/dev/null || true
