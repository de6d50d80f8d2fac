"""torch.ao.nn: module variants for quantization (``qat``: float modules with fake-quantized weights;
``quantized.dynamic``: int8-weight modules with activations quantized per call)."""

from . import intrinsic, qat, quantized

__all__ = ["intrinsic", "qat", "quantized"]
