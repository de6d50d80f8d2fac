"""Run every workload under ember and torch in one process and print per-step times and their ratio.

    python benchmarks/run.py [--repeat N] [--filter SUBSTRING] [--markdown]

The ratio is ember time / torch time (below 1: ember is faster). Each workload is timed as the best
of ``repeat`` rounds of enough steps to last ~0.2 s, after a warm-up, alternating frameworks per round.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from workloads import WORKLOADS  # noqa: E402


def _time_steps(step: Any, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def _calibrate(step: Any) -> int:
    n = 1
    while True:
        if _time_steps(step, n) * n > 0.05:
            return max(1, int(n * 0.2 / (_time_steps(step, n) * n) * 1.0) or 1)
        n *= 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--filter", default="")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    import torch

    import ember
    rows = []
    for name, (workload, per) in WORKLOADS.items():
        if args.filter not in name:
            continue
        steps = {lib.__name__: workload(lib) for lib in (ember, torch)}
        counts = {k: _calibrate(s) for k, s in steps.items()}
        best = {k: float("inf") for k in steps}
        for _ in range(args.repeat):
            for k, s in steps.items():
                best[k] = min(best[k], _time_steps(s, counts[k]))
        e, t = best["ember"] / per, best["torch"] / per
        rows.append((name, e, t, e / t))
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
