"""``ember.backends``: torch's backend switches. ``cuda.matmul.allow_tf32`` and
``set_float32_matmul_precision`` select CuPy's cuBLAS compute type for float32 products (TF32 tensor
cores or full float32); the cuDNN, oneDNN, NNPACK and quantized-engine flags are accepted and recorded
(ember's kernels are NumPy/CuPy's: its GPU convolutions are cuBLAS GEMMs, which are deterministic, so
``deterministic``/``benchmark`` change nothing). Libraries ember does not call report ``is_available()``
False, as a torch build without them. As in torch, ``disable_global_flags()`` makes the flags read-only outside
their ``flags()`` context managers.
"""

from __future__ import annotations

from . import (
           cpu,
           cuda,
           cudnn,
           cusparselt,
           kleidiai,
           mha,
           miopen,
           mkl,
           mkldnn,
           mps,
           nnpack,
           openmp,
           opt_einsum,
           quantized,
)
from ._flags import disable_global_flags, flags_frozen
from ._precision import get_float32_matmul_precision, set_float32_matmul_precision

__all__ = ["cpu", "cuda", "cudnn", "cusparselt", "kleidiai", "mha", "miopen", "mkl", "mkldnn", "mps", "nnpack",
           "openmp", "opt_einsum", "quantized", "disable_global_flags", "flags_frozen",
           "get_float32_matmul_precision", "set_float32_matmul_precision"]
