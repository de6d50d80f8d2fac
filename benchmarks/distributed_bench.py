"""Distributed benchmarks over 2 ranks on this machine (MPI over shared memory).

    python benchmarks/distributed_bench.py [--nproc 2] [--repeat 7] [--max-mb 64]

1. All-reduce (float32 SUM, in place) from 1 KB to 64 MB: ``ember.distributed.all_reduce`` against mpi4py's raw
   ``Allreduce(IN_PLACE, array)`` on the same buffer, rounds alternating between the contenders,
   median time of one call per size.
   ``ember`` is the default (each collective first compares a shape signature across ranks; a repeated
   collective's payload, up to 128 KB on 2 ranks, travels with its signature);
   ``ember unchecked`` runs with ``EMBER_DISTRIBUTED_CHECKS=0`` semantics (no signature).
2. DDP scaling for the MLP workload (64→512→512→10, ReLU, Adam, cross-entropy, global batch 128 x ranks): the
   step time of one process on the whole batch (the other ranks asleep) against DistributedDataParallel's step
   with every rank on its share; efficiency = single / (ranks x DDP). Also the plain model's step on a share,
   run by every rank at the same moment (same CPU contention as DDP's): what DDP adds to it.

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


def _alone(comm: object, fn: object, reps: int, rounds: int) -> float:
    """Median time of ``fn`` run by rank 0 alone, the other ranks asleep (polling a barrier every millisecond, so
    that they leave the CPU to it): the single-process baseline."""
    times = []
    for _ in range(rounds):
        comm.Barrier()
        if comm.Get_rank() == 0:
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        req = comm.Ibarrier()
        while not req.Test():
            time.sleep(0.001)
    return float(np.median(times)) if times else 0.0


def ddp_efficiency(repeat: int) -> dict:
    """Step times of the MLP workload: ``single`` (one process, the full batch of 128 x world size), ``ddp`` (every
    rank on its 128 samples), ``plain`` (the plain model on 128 samples, run by every rank at the same moment:
    what a DDP step costs without its communication)."""
    from mpi4py import MPI

    import ember
    import ember.nn as nn
    from ember.nn.parallel import DistributedDataParallel
    comm = MPI.COMM_WORLD
    ember.manual_seed(0)

    def mlp() -> nn.Module:
        return nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    single, plain = mlp(), mlp()
    ddp = DistributedDataParallel(mlp())
    per_rank = 128
    xs = ember.randn(per_rank * comm.Get_size(), 64)
    ys = ember.randint(0, 10, (per_rank * comm.Get_size(),))
    lo = per_rank * comm.Get_rank()
    x, y = xs[lo:lo + per_rank].contiguous(), ys[lo:lo + per_rank].contiguous()
    loss_fn = nn.CrossEntropyLoss()

    def stepper(model: nn.Module, x: object, y: object):
        opt = ember.optim.Adam(model.parameters(), lr=1e-3)

        def step() -> None:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        return step
    fns = {"plain": stepper(plain, x, y), "ddp": stepper(ddp, x, y)}
    whole = stepper(single, xs, ys)
    for fn in fns.values():
        fn()
    whole()
    med = _median_calls(fns, 10, repeat, comm.Barrier)   # a step is long: its median is a fair summary
    med["single"] = _alone(comm, whole, 10, repeat)
    return med


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
    steps = ddp_efficiency(args.repeat)
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
        n = dist.get_world_size()
        single, ddp, plain = steps["single"], steps["ddp"], steps["plain"]
        print(f"\nDDP MLP 64-512-512-10, Adam, cross-entropy, global batch {128 * n}: one process on the whole batch "
              f"{single * 1e3:.2f} ms/step; {n} ranks on 128 each {ddp * 1e3:.2f} ms/step: speedup "
              f"{single / ddp:.2f}x, scaling efficiency {single / ddp / n * 100:.0f}%")
        print(f"(the plain model on 128 samples on every rank at once: {plain * 1e3:.2f} ms/step; DDP's cost over it: "
              f"{(ddp / plain - 1) * 100:+.0f}%)")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
