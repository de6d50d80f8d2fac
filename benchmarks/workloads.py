"""Benchmark workloads, each written once against the torch API and run with ``lib`` = torch or ember.

A workload is ``setup(lib) -> step`` where ``step()`` runs one iteration; ``INNER`` says how many
framework operations one step counts for when the result is reported per op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Workload = Callable[[Any], Callable[[], Any]]


def small_elementwise(lib: Any) -> Callable[[], Any]:
    """Per-op overhead: 8 elementwise ops on 10-element float32 tensors."""
    a = lib.ones(10)
    b = lib.full((10,), 2.0)

    def step() -> Any:
        c = a + b
        c = c * b
        c = c - a
        c = c / b
        c = lib.exp(c)
        c = c.neg()
        c = a * 3.0
        return c + 1
    return step


def autograd_small(lib: Any) -> Callable[[], Any]:
    """Per-op autograd overhead: 4 ops forward + backward on 10-element tensors."""
    x = lib.ones(10, requires_grad=True)
    w = lib.full((10,), 0.5, requires_grad=True)

    def step() -> Any:
        y = (x * w + 1.0).tanh().sum()
        y.backward()
        return y
    return step


def matmul_2048(lib: Any) -> Callable[[], Any]:
    """One 2048x2048 float32 matrix product."""
    lib.manual_seed(0)
    a = lib.rand(2048, 2048)
    b = lib.rand(2048, 2048)
    return lambda: a @ b


def reductions(lib: Any) -> Callable[[], Any]:
    """Reduction-heavy: sum/mean/max/var/logsumexp/argmax over rows and columns of 1000x1000."""
    lib.manual_seed(0)
    x = lib.rand(1000, 1000)

    def step() -> Any:
        return (x.sum(0), x.mean(1), x.max(dim=1).values, x.var(0), x.logsumexp(1), x.argmax(0), x.sum())
    return step


def indexing(lib: Any) -> Callable[[], Any]:
    """Indexing-heavy: fancy indexing, masks, gather, index_select, scatter_add, setitem on 1000x100."""
    lib.manual_seed(0)
    x = lib.rand(1000, 100)
    idx = lib.randint(0, 1000, (500,))
    cols = lib.randint(0, 100, (1000, 5))
    mask = x > 0.5

    def step() -> Any:
        a = x[idx]
        b = x[mask]
        c = x.gather(1, cols)
        d = x.index_select(0, idx)
        e = x.new_zeros(1000, 100).scatter_add(1, cols, c)
        y = x.clone()
        y[y < 0.1] = 0
        y[idx, 3] = 1.0
        return a, b, c, d, e, y
    return step


def two_layer_net(lib: Any) -> Callable[[], Any]:
    """The seeds' two-layer net: x.mm(w1).clamp(min=0).mm(w2), squared error, backward, SGD on ``.data``."""
    lib.manual_seed(0)
    n, d_in, h, d_out = 64, 1000, 100, 10
    x = lib.randn(n, d_in)
    y = lib.randn(n, d_out)
    w1 = lib.randn(d_in, h, requires_grad=True)
    w2 = lib.randn(h, d_out, requires_grad=True)
    lr = 1e-6

    def step() -> Any:
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        w1.data -= lr * w1.grad.data
        w2.data -= lr * w2.grad.data
        w1.grad.data.zero_()
        w2.grad.data.zero_()
        return loss
    return step


def matmul_4096(lib: Any) -> Callable[[], Any]:
    """One 4096x4096 float32 matrix product (GPU runs only: the issue's cuBLAS parity check)."""
    lib.manual_seed(0)
    a = lib.rand(4096, 4096)
    b = lib.rand(4096, 4096)
    return lambda: a @ b


GPU_WORKLOADS: dict[str, tuple[Workload, int]] = {"matmul 4096x4096": (matmul_4096, 1)}

WORKLOADS: dict[str, tuple[Workload, int]] = {
    "small_elementwise (per op)": (small_elementwise, 8),
    "autograd_small (per op, fwd+bwd)": (autograd_small, 4),
    "matmul 2048x2048": (matmul_2048, 1),
    "reductions 1000x1000": (reductions, 1),
    "indexing 1000x100": (indexing, 1),
    "two-layer net step (seed)": (two_layer_net, 1),
}


def _load_area_workloads() -> None:
    """Merge ``WORKLOADS`` from every ``workloads_<area>.py`` beside this file (one file per feature area)."""
    import importlib
    import pathlib

    for path in sorted(pathlib.Path(__file__).parent.glob("workloads_*.py")):
        WORKLOADS.update(importlib.import_module(path.stem).WORKLOADS)


_load_area_workloads()
