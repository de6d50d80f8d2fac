"""Run every workload under ember and torch in one process and print per-step times and their ratio.

    python benchmarks/run.py [--repeat N] [--filter SUBSTRING] [--markdown] [--device cuda] [--cuda-graph]

The ratio is ember time / torch time (below 1: ember is faster). Each workload is timed as the best
of ``repeat`` rounds of enough steps to last ~0.2 s, after a warm-up, alternating frameworks per round.
``--device cuda`` builds every workload with the library's default device set to cuda and waits for
the GPU at the end of each timed round; ``--cuda-graph`` then also times ember replaying each step
captured as a CUDA graph (``ember.cuda.graphs``) against torch eager.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import types
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from workloads import GPU_WORKLOADS, WORKLOADS  # noqa: E402


def _time_steps(step: Any, n: int, sync: Any) -> float:
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return (time.perf_counter() - t0) / n


def _calibrate(step: Any, sync: Any) -> int:
    n = 1
    while True:
        if _time_steps(step, n, sync) * n > 0.05:
            return max(1, int(n * 0.2 / (_time_steps(step, n, sync) * n) * 1.0) or 1)
        n *= 4


class _CapturableOptimizers:
    """``lib`` as workloads see it, except that Adam/AdamW are built with ``capturable=True`` (torch's
    requirement for capturing ``step()`` in a CUDA graph: the step count stays on the GPU)."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self.optim = types.SimpleNamespace(**{
            name: (functools.partial(getattr(lib.optim, name), capturable=True) if name in ("Adam", "AdamW")
                   else getattr(lib.optim, name)) for name in dir(lib.optim) if not name.startswith("_")})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lib, name)


def _graphed(lib: Any, step: Any) -> Any:
    """``step`` captured once as a CUDA graph (after warm-up on the capture stream); returns its replay."""
    s = lib.cuda.Stream()
    with lib.cuda.stream(s):
        for _ in range(3):
            step()
    s.synchronize()
    g = lib.cuda.CUDAGraph()
    with lib.cuda.graph(g, stream=s):
        step()
    return g.replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--filter", default="")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--cuda-graph", action="store_true", help="also time ember's steps replayed as CUDA graphs")
    args = parser.parse_args()
    import torch

    import ember
    libs = {"ember": ember, "torch": torch}
    cuda = args.device.startswith("cuda")
    syncs = {k: (lib.cuda.synchronize if cuda else lambda: None) for k, lib in libs.items()}
    rows = []
    for name, (workload, per) in (WORKLOADS | GPU_WORKLOADS if cuda else WORKLOADS).items():
        if args.filter not in name:
            continue
        steps = {}
        for k, lib in libs.items():   # the default device is set only while building (torch slows every op
            lib.set_default_device(args.device)   # while one is set), so steps make new tensors with new_*
            try:
                steps[k] = workload(lib)
            finally:
                lib.set_default_device(None)
        if cuda and args.cuda_graph:
            try:
                ember.set_default_device(args.device)
                try:
                    graph_step = workload(_CapturableOptimizers(ember))
                finally:
                    ember.set_default_device(None)
                steps["ember graph"] = _graphed(ember, graph_step)
                syncs["ember graph"] = syncs["ember"]
            except Exception as exc:  # a workload that cannot be captured is reported, not fatal
                print(f"{name}: CUDA graph capture failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        counts = {k: _calibrate(s, syncs[k]) for k, s in steps.items()}
        best = {k: float("inf") for k in steps}
        for _ in range(args.repeat):
            for k, s in steps.items():
                best[k] = min(best[k], _time_steps(s, counts[k], syncs[k]))
        e, t = best["ember"] / per, best["torch"] / per
        rows.append((name, e, t, e / t))
        if "ember graph" in best:
            g = best["ember graph"] / per
            rows.append((f"{name} [ember CUDA graph]", g, t, g / t))
    unit = lambda s: f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"  # noqa: E731
    if args.markdown:
        print("| workload | ember | torch | ember/torch |\n|---|---:|---:|---:|")
        for name, e, t, r in rows:
            print(f"| {name} | {unit(e)} | {unit(t)} | {r:.2f}× |")
    else:
        for name, e, t, r in rows:
            print(f"{name:36s} ember {unit(e):>10s}  torch {unit(t):>10s}  ratio {r:5.2f}")


if __name__ == "__main__":
    main()
