"""Legacy tensor types: ``ember.FloatTensor(...)`` constructs, ``isinstance(t, ember.FloatTensor)`` checks
dtype and device, ``t.type(ember.FloatTensor)`` converts — as torch's."""

from __future__ import annotations

from typing import Any

from ._core import dtype as D
from ._tensor import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor", "CharTensor",
           "ShortTensor", "IntTensor", "LongTensor", "BoolTensor", "ComplexFloatTensor", "ComplexDoubleTensor",
           "legacy_type"]


class _LegacyMeta(type):
    _legacy_dtype: D.dtype
    _legacy_device: str

    def __instancecheck__(cls, obj: Any) -> bool:
        return (isinstance(obj, Tensor) and obj._dtype is cls._legacy_dtype
                and obj._device.type == cls._legacy_device and obj.layout._name == "strided")

    def __call__(cls, *args: Any, **kwargs: Any) -> Tensor:
        from .ops.creation import legacy_new
        if cls._legacy_device == "cuda":
            from ._core.device import cuda_available
            if not cuda_available():
                raise TypeError(f"type torch.cuda.{cls.__name__} not available. Torch not compiled with CUDA "
                                "enabled.")
        return legacy_new(Tensor, cls._legacy_dtype, args, kwargs, cls._legacy_device)

    def __repr__(cls) -> str:
        prefix = "torch.cuda." if cls._legacy_device == "cuda" else "torch."
        return f"<class '{prefix}{cls.__name__}'>"


def legacy_type(dt: D.dtype, device: str) -> type:
    """The legacy type class for ``dt`` on ``device`` ('cpu' or 'cuda')."""
    return _LegacyMeta(dt._legacy, (), {"_legacy_dtype": dt, "_legacy_device": device,
                                        "dtype": dt, "is_cuda": device == "cuda"})


FloatTensor = legacy_type(D.float32, "cpu")
DoubleTensor = legacy_type(D.float64, "cpu")
HalfTensor = legacy_type(D.float16, "cpu")
BFloat16Tensor = legacy_type(D.bfloat16, "cpu")
ByteTensor = legacy_type(D.uint8, "cpu")
CharTensor = legacy_type(D.int8, "cpu")
ShortTensor = legacy_type(D.int16, "cpu")
IntTensor = legacy_type(D.int32, "cpu")
LongTensor = legacy_type(D.int64, "cpu")
BoolTensor = legacy_type(D.bool, "cpu")
ComplexFloatTensor = legacy_type(D.complex64, "cpu")
ComplexDoubleTensor = legacy_type(D.complex128, "cpu")
