"""Check that ember's fast float32 normal transform equals the exact fused-multiply-add emulation on every input.

torch's AVX2 normal kernel evaluates ``log(1 - u1)`` and ``sincos(2 pi u2)`` with fused multiply-adds, where
u1, u2 are 24-bit uniforms (k / 2**24). ember computes those fused multiply-adds as a float64 sum rounded once
to float32 (``_fma32_rounded``), which can differ from the fused result only where that sum was rounded onto a
float32 midpoint. Both transforms have exactly 2**24 possible inputs, so this tries them all (about 15 s) and
exits non-zero on any difference. Run it after changing either transform: python scripts/check_normal_transform.py
"""

from __future__ import annotations

import sys

import numpy as np

from ember._core import random as R

STEP = 1 << 21


def differing_inputs() -> dict[str, np.ndarray]:
    """The k in [0, 2**24) where the fast and exact transforms disagree, per transform."""
    found: dict[str, list[np.ndarray]] = {"log": [], "sincos": []}
    for start in range(0, 1 << 24, STEP):
        k = np.arange(start, start + STEP)
        u = k.astype(np.float32) * np.float32(2.0**-24)
        x = np.float32(1) - u
        exact, fast = R._log_avx2(x), R._log_avx2(x, R._fma32_rounded)
        found["log"].append(k[exact.view(np.uint32) != fast.view(np.uint32)])
        t = R._TWO_PI_F * u
        exact_sc, fast_sc = R._sincos_avx2(t), R._sincos_avx2(t, R._fma32_rounded)
        differ = np.zeros(STEP, np.bool_)
        for a, b in zip(exact_sc, fast_sc, strict=True):
            differ |= a.view(np.uint32) != b.view(np.uint32)
        found["sincos"].append(k[differ])
    return {name: np.concatenate(v) for name, v in found.items()}


def main() -> int:
    differing = differing_inputs()
    for name, k in differing.items():
        print(f"{name}: {k.size} of 2**24 inputs differ" + (f", first {k[:10].tolist()}" if k.size else ""))
    return int(any(k.size for k in differing.values()))


if __name__ == "__main__":
    sys.exit(main())
