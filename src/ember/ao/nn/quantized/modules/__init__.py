"""The static quantized modules (``torch.ao.nn.quantized.modules``), with ``Quantize`` / ``DeQuantize``, what
``QuantStub`` / ``DeQuantStub`` become after convert."""

from __future__ import annotations

from typing import Any

from ..... import nn
from ....._core import dtype as D
from .....ops import creation as C
from .....ops.quantize import quantize_per_tensor
from .activation import ELU, Hardswish, LeakyReLU, PReLU, ReLU6, Sigmoid, Softmax
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import Dropout
from .embedding_ops import Embedding, EmbeddingBag, EmbeddingPackedParams
from .functional_modules import FloatFunctional, FXFloatFunctional, QFunctional
from .linear import Linear, LinearPackedParams
from .normalization import (
    BatchNorm2d,
    BatchNorm3d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LayerNorm,
)
from .utils import WeightedQuantizedModule

__all__ = ["BatchNorm2d", "BatchNorm3d", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "DeQuantize", "ELU", "GroupNorm", "Hardswish", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LayerNorm", "LeakyReLU", "Linear", "LinearPackedParams", "Quantize", "ReLU6", "Sigmoid",
           "Softmax", "PReLU", "Dropout", "Embedding", "EmbeddingBag", "EmbeddingPackedParams", "FloatFunctional",
           "FXFloatFunctional", "QFunctional", "WeightedQuantizedModule"]


class Quantize(nn.Module):
    """Quantizes its float input per tensor with the stored ``scale``/``zero_point`` (buffers) to ``dtype``."""

    def __init__(self, scale: float, zero_point: int, dtype: Any, factory_kwargs: dict | None = None) -> None:
        super().__init__()
        device = (factory_kwargs or {}).get("device")
        self.register_buffer("scale", C.tensor([scale], device=device))
        self.register_buffer("zero_point", C.tensor([zero_point], dtype=D.int64, device=device))
        self.dtype = dtype

    def forward(self, X: Any) -> Any:
        return quantize_per_tensor(X, float(self.scale), int(self.zero_point), self.dtype)

    @staticmethod
    def from_float(mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Quantize:
        if not hasattr(mod, "activation_post_process"):
            raise AssertionError("Input float module must have activation_post_process")
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Quantize(float(scale.float().item()), int(zero_point.long().item()),
                        mod.activation_post_process.dtype)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, zero_point={self.zero_point}, dtype={self.dtype}"


class DeQuantize(nn.Module):
    """Dequantizes its quantized input to float."""

    def forward(self, Xq: Any) -> Any:
        return Xq.dequantize()

    @staticmethod
    def from_float(mod: nn.Module, use_precomputed_fake_quant: bool = False) -> DeQuantize:
        return DeQuantize()
