"""torch.ao.nn: module variants for quantization (``qat``: float modules with fake-quantized weights)."""

from . import qat

__all__ = ["qat"]
