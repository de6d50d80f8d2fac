"""Random numbers drawn on the GPU: a counter-based Philox4x32-10 generator per CUDA device.

As torch's CUDA generator, its state is a 64-bit seed and a 64-bit offset: element ``i`` of a draw uses
Philox's output block for counter ``offset + i`` under key ``seed``, and the draw advances the offset by
its element count. Nothing crosses to the host, so drawing costs one kernel launch. (torch's CUDA stream
of numbers depends on its kernels' launch shapes; ember's is its own, reproducible under a seed.) Inside
a CUDA graph capture the counter is read from GPU memory that each replay advances, so replays draw
fresh numbers, as torch's graph-safe generator does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.device import CAPTURING

__all__ = ["PhiloxState", "cuda_state", "manual_seed_all", "fill_uniform", "fill_normal", "fill_bernoulli",
           "begin_capture", "end_capture"]

DEFAULT_SEED = 67280421310721   # torch's default seed for every generator

_PHILOX = r"""
__device__ inline void philox4x32_10(unsigned long long ctr, unsigned long long key, unsigned int* w) {
    unsigned int c0 = (unsigned int)ctr, c1 = (unsigned int)(ctr >> 32), c2 = 0u, c3 = 0u;
    unsigned int k0 = (unsigned int)key, k1 = (unsigned int)(key >> 32);
    for (int r = 0; r < 10; ++r) {
        unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    w[0] = c0; w[1] = c1; w[2] = c2; w[3] = c3;
}
__device__ inline double philox_uniform(unsigned long long ctr, unsigned long long key) {
    unsigned int w[4];
    philox4x32_10(ctr, key, w);
    return (double)((((unsigned long long)w[0] << 32) | w[1]) >> 11) * (1.0 / 9007199254740992.0);
}
__device__ inline double philox_normal(unsigned long long ctr, unsigned long long key) {
    unsigned int w[4];
    philox4x32_10(ctr, key, w);
    double u1 = ((double)w[0] + 1.0) * (1.0 / 4294967296.0);   // (0, 1]
    double u2 = (double)w[1] * (1.0 / 4294967296.0);
    return sqrt(-2.0 * log(u1)) * cospi(2.0 * u2);
}
"""

_kernels: dict[tuple[str, bool], Any] = {}
# name → (parameters before the counter, parameters after, output expression of u = uniform / z = normal)
_BODIES = {
    "uniform": ("", ", float64 lo, float64 span", "lo + span * philox_uniform(CTR, seed)"),
    "normal": ("", ", float64 mean, float64 std", "mean + std * philox_normal(CTR, seed)"),
    "bernoulli": ("float64 p, ", "", "philox_uniform(CTR, seed) < p ? 1 : 0"),
    "bernoulli_tensor": ("P p, ", "", "philox_uniform(CTR, seed) < (double)p ? 1 : 0"),
}


def _kernel(cp: Any, name: str, graph: bool) -> Any:
    """The ElementwiseKernel ``name`` (compiled through NVRTC on first use, then cached by CuPy). Eager
    kernels take the first counter as a number; graph kernels read it from device memory (``base[0] +
    rel``), so each replay of a captured graph draws new numbers."""
    k = _kernels.get((name, graph))
    if k is None:
        head, tail, expr = _BODIES[name]
        counter = "raw uint64 base, uint64 rel, uint64 seed" if graph else "uint64 offset, uint64 seed"
        first = "(base[0] + rel)" if graph else "offset"
        k = cp.ElementwiseKernel(head + counter + tail, "T y", f"y = (T)({expr.replace('CTR', first + ' + i')})",
                                 f"ember_philox_{name}{'_graph' if graph else ''}", preamble=_PHILOX)
        _kernels[name, graph] = k
    return k


class _GraphDraws:
    """The draws of one CUDA graph capture on one device: counters ``base[0] + rel`` under their own key.
    ``base`` lives on the GPU and the captured graph ends by adding the capture's total to it."""

    def __init__(self, cp: Any, key: int) -> None:
        self.base = cp.zeros(1, cp.uint64)
        self.key, self.rel = key, 0


_captures: dict[int, _GraphDraws] = {}
_capture_serial = [0]


def begin_capture(cp: Any, index: int) -> None:
    """Before a capture on GPU ``index``: its default generator's draws will come from a device counter."""
    _capture_serial[0] += 1
    key = (cuda_state(index).seed + 0x9E3779B97F4A7C15 * _capture_serial[0]) & 0xFFFFFFFFFFFFFFFF
    _captures[index] = _GraphDraws(cp, key)


def end_capture(index: int) -> _GraphDraws:
    """Still inside the capture: record the counter's advance; returns what the graph must keep alive."""
    g = _captures.pop(index)
    if g.rel:
        g.base += np.uint64(g.rel)
    return g


class PhiloxState:
    """One CUDA generator's state: ``seed`` and ``offset`` (elements drawn since seeding)."""

    __slots__ = ("seed", "offset")

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed, self.offset = seed & 0xFFFFFFFFFFFFFFFF, 0

    def manual_seed(self, seed: int) -> None:
        self.seed, self.offset = seed & 0xFFFFFFFFFFFFFFFF, 0

    def take(self, n: int) -> int:
        """Reserve ``n`` counters; returns the first."""
        start = self.offset
        self.offset = (start + n) & 0xFFFFFFFFFFFFFFFF
        return start

    def get_state(self) -> np.ndarray:
        """torch's CUDA generator state layout: 16 bytes, seed then offset (little-endian uint64)."""
        return np.array([self.seed, self.offset], dtype="<u8").view(np.uint8)

    def set_state(self, state: np.ndarray) -> None:
        if state.size != 16:
            raise RuntimeError("RNG state is wrong size")
        self.seed, self.offset = (int(v) for v in np.ascontiguousarray(state).view("<u8"))


_states: dict[int, PhiloxState] = {}
_pending_seed = [DEFAULT_SEED]   # the seed a device's generator starts from when first used


def cuda_state(index: int) -> PhiloxState:
    """The default generator of CUDA device ``index``."""
    s = _states.get(index)
    if s is None:
        s = _states[index] = PhiloxState(_pending_seed[0])
    return s


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA device's default generator (``torch.manual_seed`` does this too)."""
    for s in _states.values():
        s.manual_seed(seed)
    _pending_seed[0] = seed


def _draw(cp: Any, arr: Any, name: str, head: tuple, tail: tuple, state: PhiloxState | None, index: int) -> None:
    """Run kernel ``name`` (arguments ``head``, counter, key, ``tail``) over a contiguous buffer the size
    of ``arr`` and store it into ``arr``. Kernels write float32/float64/integer/bool directly; float16
    goes through float32."""
    ct = np.dtype(np.float32) if arr.dtype.kind == "f" and arr.dtype.itemsize < 4 else arr.dtype
    direct = arr.flags.c_contiguous and ct == arr.dtype
    out = arr if direct else cp.empty(arr.shape, ct)
    if CAPTURING[0]:
        g = _captures.get(index)
        if state is not None or g is None:
            raise RuntimeError("CUDA graph capture: random numbers inside a captured graph come from the default "
                               "CUDA generator only (pass no generator=)")
        _kernel(cp, name, True)(*head, g.base, np.uint64(g.rel), np.uint64(g.key), *tail, out)
        g.rel += arr.size
    else:
        state = state or cuda_state(index)
        _kernel(cp, name, False)(*head, np.uint64(state.take(arr.size)), np.uint64(state.seed), *tail, out)
    if not direct:
        arr[...] = out.astype(arr.dtype, copy=False)


def fill_uniform(cp: Any, arr: Any, lo: float, hi: float, index: int, state: PhiloxState | None = None) -> None:
    """``arr`` ← U[lo, hi) drawn on the GPU."""
    _draw(cp, arr, "uniform", (), (float(lo), float(hi) - float(lo)), state, index)


def fill_normal(cp: Any, arr: Any, mean: float, std: float, index: int, state: PhiloxState | None = None) -> None:
    """``arr`` ← N(mean, std²) drawn on the GPU (Box-Muller on one Philox block per element)."""
    _draw(cp, arr, "normal", (), (float(mean), float(std)), state, index)


def fill_bernoulli(cp: Any, arr: Any, p: Any, index: int, state: PhiloxState | None = None) -> None:
    """``arr`` ← 1 with probability ``p`` (a number or a device array broadcast to ``arr``), else 0."""
    if isinstance(p, (int, float)):   # a number: a scalar kernel argument (CuPy types scalars by declaration)
        _draw(cp, arr, "bernoulli", (np.float64(p),), (), state, index)
    else:
        _draw(cp, arr, "bernoulli_tensor", (cp.broadcast_to(p, arr.shape),), (), state, index)
