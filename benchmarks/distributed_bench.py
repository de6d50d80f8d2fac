"""Distributed benchmarks over 2 ranks on this machine (MPI over shared memory).

    python benchmarks/distributed_bench.py [--nproc 2] [--repeat 7] [--max-mb 64]

1. All-reduce (float32 SUM, in place) from 1 KB to 64 MB: ``ember.distributed.all_reduce`` against mpi4py's raw
   ``Allreduce(IN_PLACE, array)`` on the same buffer, rounds alternating between the contenders,
   median time of one call per size.
   ``ember`` is the default (each collective first compares a shape signature across ranks; a repeated
   collective's payload, up to 128 KB on 2 ranks, travels with its signature);
   ``ember unchecked`` runs with ``EMBER_DISTRIBUTED_CHECKS=0`` semantics (no signature).
2. DDP weak scaling for the MLP workload (64→512→512→10, ReLU, Adam, cross-entropy, batch 128 per rank): the
   step time of DistributedDataParallel on 2 ranks against the plain model's step time measured at the same
   moment on the same 2 ranks (so both see the same CPU contention); efficiency = plain / DDP.

Relaunches itself under ``mpiexec -n NPROC`` when not started by MPI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def _launch(argv: list[str], nproc: int) -> int:
    from ember.distributed.run import find_mpiexec
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise SystemExit("distributed_bench: mpiexec not found (pip install 'ember[mpi]')")
    env = dict(os.environ, HYDRA_LAUNCHER="fork", OMP_NUM_THREADS="1", EMBER_BENCH_CHILD="1")
    return subprocess.call([mpiexec, "-n", str(nproc), sys.executable, os.path.abspath(__file__), *argv], env=env)


def _median_calls(fns: dict, reps: int, rounds: int, barrier: object) -> dict:
    """Median time of one call, over ``rounds`` rounds of ``reps`` calls alternating between the functions. The
    median of single calls, not a mean: on a shared machine a rank descheduled for milliseconds now and then would
    dominate a mean of microsecond calls."""
    times: dict = {k: [] for k in fns}
    clock = time.perf_counter
    for _ in range(rounds):
        for k, fn in fns.items():
            barrier()
            out = times[k]
            for _ in range(reps):
                t0 = clock()
                fn()
                out.append(clock() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def _contenders(comm: object, pg: object, arr: np.ndarray) -> dict:
    """In-place SUM all-reduces of ``arr``: raw mpi4py, ember, ember without the signature check."""
    from mpi4py import MPI

    import ember
    import ember.distributed as dist
    t = ember.from_numpy(arr)   # the same memory for every contender

    def checked() -> None:
        pg._checks = True
        dist.all_reduce(t)

    def unchecked() -> None:
        pg._checks = False
        dist.all_reduce(t)
    return {"mpi4py": lambda: comm.Allreduce(MPI.IN_PLACE, arr), "ember": checked, "ember unchecked": unchecked}


def allreduce_table(repeat: int, max_mb: int) -> list[tuple]:
    from mpi4py import MPI

    import ember.distributed as dist
    comm = MPI.COMM_WORLD
    pg = dist.group.WORLD
    rows = []
    size = 1024
    while size <= max_mb * 1024 * 1024:
        arr = np.ones(size // 4, np.float32)
        fns = _contenders(comm, pg, arr)
        reps = max(2, min(400, int(2e6 // size)))
        for fn in fns.values():   # warm up
            fn()
        arr.fill(1)
        med = _median_calls(fns, reps, repeat, comm.Barrier)
        rows.append((size, med))
        size *= 4
    pg._checks = True
    return rows


def ddp_efficiency(repeat: int) -> tuple[float, float]:
    from mpi4py import MPI

    import ember
    import ember.nn as nn
    from ember.nn.parallel import DistributedDataParallel
    comm = MPI.COMM_WORLD
    ember.manual_seed(0)

    def mlp() -> nn.Module:
        return nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    plain = mlp()
    ddp = DistributedDataParallel(mlp())
    x = ember.randn(128, 64)
    y = ember.randint(0, 10, (128,))
    loss_fn = nn.CrossEntropyLoss()

    def stepper(model: nn.Module):
        opt = ember.optim.Adam(model.parameters(), lr=1e-3)

        def step() -> None:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        return step
    fns = {"plain": stepper(plain), "ddp": stepper(ddp)}
    for fn in fns.values():
        fn()
    med = _median_calls(fns, 10, repeat, comm.Barrier)   # a step is long: its median is a fair summary
    return med["plain"], med["ddp"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--max-mb", type=int, default=64)
    args = parser.parse_args(argv)
    if os.environ.get("EMBER_BENCH_CHILD") != "1":
        return _launch(sys.argv[1:] if argv is None else argv, args.nproc)
    import ember.distributed as dist
    dist.init_process_group("mpi")
    rows = allreduce_table(args.repeat, args.max_mb)
    plain, ddp = ddp_efficiency(args.repeat)
    if dist.get_rank() == 0:
        def size_s(b: int) -> str:
            return f"{b // 1024} KB" if b < 1024 * 1024 else f"{b // (1024 * 1024)} MB"
        print(f"all_reduce float32 SUM in place, {dist.get_world_size()} ranks (median call over {args.repeat} rounds)")
        print(f"{'size':>7} | {'mpi4py':>10} | {'ember':>10} | {'GB/s':>6} | {'overhead':>8} | {'unchecked':>10} | "
              f"{'overhead':>8}")
        for size, med in rows:
            raw, ours, bare = med["mpi4py"], med["ember"], med["ember unchecked"]
            print(f"{size_s(size):>7} | {raw * 1e6:8.1f}us | {ours * 1e6:8.1f}us | {size / ours / 1e9:6.2f} | "
                  f"{(ours / raw - 1) * 100:+7.1f}% | {bare * 1e6:8.1f}us | {(bare / raw - 1) * 100:+7.1f}%")
        print(f"\nDDP MLP 64-512-512-10, Adam, batch 128 per rank, {dist.get_world_size()} ranks: plain step "
              f"{plain * 1e3:.2f} ms, DDP step {ddp * 1e3:.2f} ms, scaling efficiency {plain / ddp * 100:.0f}%")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
