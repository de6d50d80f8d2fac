#!/usr/bin/env bash
# The GPU check for a lent CUDA machine (no network there), in a fixed time budget (~6 min worst case):
#   1. the cuda test suites (tests/test_cuda*.py), NCCL collectives on one GPU, and the CuPy API audit against the
#      installed CuPy (tests/test_cupy_api.py), 8 workers, stopped gracefully (SIGINT: pytest still prints its summary) at 180 s;
#   2. the benchmarks with --device cuda --cuda-graph against torch CUDA, one workload at a time so that each
#      row is printed as soon as it is measured; no new workload starts after 130 s;
#   3. per-op cost microbenchmarks (35 s at most).
# Results go to stdout and to $OUT (default ./gpu-out); CuPy's kernel cache is saved there (cupy-cache.tar: put it
# in the repository root to reuse the compiled kernels next time).
# Usage: bash scripts/gpu_check.sh [pytest -k expression]
set -u
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-$PWD/.cupy-cache}
if [ -f cupy-cache.tar ]; then tar -xf cupy-cache.tar; fi
START=$SECONDS
phase() { echo "== $1 ($((SECONDS - START)) s elapsed)"; }

phase "environment"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import sys, numpy, cupy, torch; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__)"
} 2>&1 | tee "$OUT/env.txt"

phase "tests"
timeout -s INT -k 20 180 python3 -m pytest tests/test_cuda.py tests/test_cupy_api.py tests/test_cuda_surface.py \
  tests/test_cuda_memory_hooks.py "tests/test_distributed.py::test_nccl_collectives_world_of_one" -p no:cacheprovider -n 8 -q -rfE \
  --timeout 60 ${1:+-k "$1"} --junitxml="$OUT/junit.xml" > "$OUT/tests_full.txt" 2>&1
echo "pytest exit status $?"
grep -E "^(FAILED|ERROR)" "$OUT/tests_full.txt" | head -n 60
tail -n 3 "$OUT/tests_full.txt"
tail -n 150 "$OUT/tests_full.txt" > "$OUT/tests.txt"

phase "benchmarks"
timeout -s INT -k 10 170 python3 - > "$OUT/bench.txt" 2> "$OUT/bench_err.txt" <<'PY'
import sys
import time

sys.path.insert(0, "benchmarks")
import run  # noqa: E402

# the GPU-bound workloads first; samplers (drawn on the host) and file I/O last, where the budget may cut them
late = ("gamma", "Gamma", "Beta", "Dirichlet", "StudentT", "inomial", "poisson", "Categorical", "randperm",
        "normal(", "save", "load")
names = sorted(run.WORKLOADS | run.GPU_WORKLOADS, key=lambda n: any(w in n for w in late))
t0 = time.perf_counter()
for i, name in enumerate(names):
    if time.perf_counter() - t0 > 130:
        print(f"(budget spent: {len(names) - i} workloads not run: {', '.join(names[i:])})")
        break
    # --filter is a substring match: a name inside a longer one runs that one too (reported twice)
    sys.argv = ["run.py", "--device", "cuda", "--cuda-graph", "--repeat", "3", "--filter", name]
    try:
        run.main()
    except Exception as exc:   # one broken workload does not stop the others
        print(f"{name}: failed: {type(exc).__name__}: {exc}")
PY
cat "$OUT/bench.txt"; tail -n 20 "$OUT/bench_err.txt"

phase "microbenchmarks"
timeout -s INT -k 5 35 python3 scripts/gpu_microbench.py > "$OUT/micro.txt" 2>&1; cat "$OUT/micro.txt"
tar -cf "$OUT/cupy-cache.tar" .cupy-cache 2>/dev/null || true
phase "done"
