"""Random numbers drawn on the GPU: a counter-based Philox4x32-10 generator per CUDA device.

As torch's CUDA generator, its state is a 64-bit seed and a 64-bit offset: element ``i`` of a draw uses
Philox's output block for counter ``offset + i`` under key ``seed``, and the draw advances the offset by
its element count. Nothing crosses to the host, so drawing costs one kernel launch. (torch's CUDA stream
of numbers depends on its kernels' launch shapes; ember's is its own, reproducible under a seed.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PhiloxState", "cuda_state", "manual_seed_all", "fill_uniform", "fill_normal", "fill_bernoulli"]

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

_kernels: dict[str, Any] = {}


def _kernel(cp: Any, name: str) -> Any:
    """The ElementwiseKernel ``name`` (compiled through NVRTC on first use, then cached by CuPy)."""
    k = _kernels.get(name)
    if k is None:
        body = {
            "uniform": ("uint64 offset, uint64 seed, float64 lo, float64 span", "T y",
                        "y = (T)(lo + span * philox_uniform(offset + i, seed))"),
            "normal": ("uint64 offset, uint64 seed, float64 mean, float64 std", "T y",
                       "y = (T)(mean + std * philox_normal(offset + i, seed))"),
            "bernoulli": ("float64 p, uint64 offset, uint64 seed", "T y",
                          "y = (T)(philox_uniform(offset + i, seed) < p ? 1 : 0)"),
            "bernoulli_tensor": ("P p, uint64 offset, uint64 seed", "T y",
                                 "y = (T)(philox_uniform(offset + i, seed) < (double)p ? 1 : 0)"),
        }[name]
        k = cp.ElementwiseKernel(body[0], body[1], body[2], f"ember_philox_{name}", preamble=_PHILOX)
        _kernels[name] = k
    return k


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


def _draw(cp: Any, arr: Any, name: str, head: tuple, tail: tuple, state: PhiloxState) -> None:
    """Run kernel ``name`` (arguments ``head``, offset, seed, ``tail``) over a contiguous buffer the size
    of ``arr`` and store it into ``arr``. Kernels write float32/float64/integer/bool directly; float16
    goes through float32."""
    ct = np.dtype(np.float32) if arr.dtype.kind == "f" and arr.dtype.itemsize < 4 else arr.dtype
    direct = arr.flags.c_contiguous and ct == arr.dtype
    out = arr if direct else cp.empty(arr.shape, ct)
    _kernel(cp, name)(*head, np.uint64(state.take(arr.size)), np.uint64(state.seed), *tail, out)
    if not direct:
        arr[...] = out.astype(arr.dtype, copy=False)


def fill_uniform(cp: Any, arr: Any, lo: float, hi: float, index: int, state: PhiloxState | None = None) -> None:
    """``arr`` ← U[lo, hi) drawn on the GPU."""
    _draw(cp, arr, "uniform", (), (float(lo), float(hi) - float(lo)), state or cuda_state(index))


def fill_normal(cp: Any, arr: Any, mean: float, std: float, index: int, state: PhiloxState | None = None) -> None:
    """``arr`` ← N(mean, std²) drawn on the GPU (Box-Muller on one Philox block per element)."""
    _draw(cp, arr, "normal", (), (float(mean), float(std)), state or cuda_state(index))


def fill_bernoulli(cp: Any, arr: Any, p: Any, index: int, state: PhiloxState | None = None) -> None:
    """``arr`` ← 1 with probability ``p`` (a number or a device array broadcast to ``arr``), else 0."""
    if isinstance(p, (int, float)):   # a number: a scalar kernel argument (CuPy types scalars by declaration)
        _draw(cp, arr, "bernoulli", (np.float64(p),), (), state or cuda_state(index))
    else:
        _draw(cp, arr, "bernoulli_tensor", (cp.broadcast_to(p, arr.shape),), (), state or cuda_state(index))
