"""``ember.backends``: torch's backend switches. ``cuda.matmul.allow_tf32`` and
``set_float32_matmul_precision`` select CuPy's cuBLAS compute type for float32 products (TF32 tensor
cores or full float32); the cuDNN flags are accepted and recorded (ember's GPU convolutions are
cuBLAS GEMMs, which are deterministic, so ``deterministic``/``benchmark`` change nothing).
"""

from __future__ import annotations

from . import cpu, cuda, cudnn, mps
from ._precision import get_float32_matmul_precision, set_float32_matmul_precision

__all__ = ["cpu", "cuda", "cudnn", "mps", "get_float32_matmul_precision", "set_float32_matmul_precision"]
