"""``ember.version``: torch.version's fields for ember (no CUDA/HIP toolkit is compiled in: CuPy brings its own).

``__version__`` is the torch API version ember implements with ember's own release as the local label
(``2.13.0+ember0.1.0``), so that programs checking ``torch.__version__ >= "2.0"`` take torch's branch;
``ember_version`` is ember's release alone."""

from __future__ import annotations

from .torch_version import TorchVersion

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "ember_version"]

ember_version = "0.1.0"
__version__ = TorchVersion(f"2.13.0+ember{ember_version}")
debug = False
cuda: str | None = None
git_version = "unknown"
hip: str | None = None
