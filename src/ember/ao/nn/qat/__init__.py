"""Quantization-aware-training modules: float layers whose weights pass through a fake-quantize module."""

from .modules import Conv1d, Conv2d, Conv3d, Linear

__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d"]
