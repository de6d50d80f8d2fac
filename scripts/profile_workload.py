"""Profile one benchmark workload under ember: ``python scripts/profile_workload.py NAME [--device cuda]``.

Prints the functions with the most own time over ``--steps`` steps (after a warm-up), to find where a
workload's time goes per op on the CPU or the GPU."""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
from workloads import GPU_WORKLOADS, WORKLOADS  # noqa: E402

import ember  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a substring of the workload's name")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()
    name, (workload, _) = next((k, v) for k, v in (WORKLOADS | GPU_WORKLOADS).items() if args.name in k)
    ember.set_default_device(args.device)
    step = workload(ember)
    ember.set_default_device(None)
    sync = ember.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    for _ in range(3):
        step()
    sync()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.steps):
        step()
    sync()
    prof.disable()
    print(f"{name} on {args.device}, {args.steps} steps")
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
