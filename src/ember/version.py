"""``ember.version``: torch.version's fields for ember (no CUDA/HIP toolkit is compiled in: CuPy brings its own)."""

from __future__ import annotations

__all__ = ["__version__", "debug", "cuda", "git_version", "hip"]

__version__ = "0.1.0"
debug = False
cuda: str | None = None
git_version = "unknown"
hip: str | None = None
