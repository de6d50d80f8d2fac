"""torch's dtypes over NumPy dtypes, and torch's type-promotion rules.

A :class:`dtype` is an interned object (compare with ``is``) carrying the NumPy dtype that stores it.
Promotion follows ATen's ``result_type``: operands are split into three tiers (tensors with dims,
zero-dim tensors, Python scalars) and a lower tier only matters when its category
(bool < integer < floating < complex) is higher.
"""

from __future__ import annotations

import threading

import ml_dtypes
import numpy as np

__all__ = [
    "dtype", "float16", "half", "bfloat16", "float32", "float", "float64", "double", "uint8", "int8",
    "int16", "short", "int32", "int", "int64", "long", "bool", "complex64", "cfloat", "complex128",
    "cdouble", "uint16", "uint32", "uint64", "finfo", "iinfo", "get_default_dtype", "set_default_dtype",
    "promote_types", "can_cast",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type (``ember.float32`` …); prints as ``torch.float32``."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed", "category",
                 "_legacy", "_short")

    def __init__(self, name: str, np_dtype: np.dtype, category: int, legacy: str, short: str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category
        self.is_floating_point = category == _FLOAT
        self.is_complex = category == _COMPLEX
        self.is_signed = category != _BOOL and name != "uint8" and not name.startswith("uint")
        self._legacy = legacy      # 'FloatTensor' …, for Tensor.type()
        self._short = short        # 'Float' …, used in error messages

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self) -> str:
        return self.name

    def to_real(self) -> dtype:
        """The real counterpart of a complex dtype (complex64 → float32); real dtypes map to themselves."""
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> dtype:
        """The complex counterpart of a floating dtype (float32 → complex64)."""
        return {float64: complex128, complex128: complex128}.get(self, complex64)


float16 = half = dtype("float16", np.float16, _FLOAT, "HalfTensor", "Half")
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, _FLOAT, "BFloat16Tensor", "BFloat16")
float32 = float = dtype("float32", np.float32, _FLOAT, "FloatTensor", "Float")
float64 = double = dtype("float64", np.float64, _FLOAT, "DoubleTensor", "Double")
uint8 = dtype("uint8", np.uint8, _INT, "ByteTensor", "Byte")
int8 = dtype("int8", np.int8, _INT, "CharTensor", "Char")
int16 = short = dtype("int16", np.int16, _INT, "ShortTensor", "Short")
int32 = int = dtype("int32", np.int32, _INT, "IntTensor", "Int")
int64 = long = dtype("int64", np.int64, _INT, "LongTensor", "Long")
uint16 = dtype("uint16", np.uint16, _INT, "UInt16Tensor", "UInt16")
uint32 = dtype("uint32", np.uint32, _INT, "UInt32Tensor", "UInt32")
uint64 = dtype("uint64", np.uint64, _INT, "UInt64Tensor", "UInt64")
bool = dtype("bool", np.bool_, _BOOL, "BoolTensor", "Bool")
complex64 = cfloat = dtype("complex64", np.complex64, _COMPLEX, "ComplexFloatTensor", "ComplexFloat")
complex128 = cdouble = dtype("complex128", np.complex128, _COMPLEX, "ComplexDoubleTensor", "ComplexDouble")

ALL_DTYPES = (float16, bfloat16, float32, float64, uint8, int8, int16, int32, int64, uint16, uint32, uint64,
              bool, complex64, complex128)
_FROM_NP: dict[np.dtype, dtype] = {d.np: d for d in ALL_DTYPES}
BY_NAME: dict[str, dtype] = {d.name: d for d in ALL_DTYPES}
BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64,
               cfloat=complex64, cdouble=complex128)
BY_LEGACY: dict[str, dtype] = {d._legacy: d for d in ALL_DTYPES}


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    """The ember dtype storing ``np_dtype``; TypeError (torch's text) for types torch lacks."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).name}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, uint32, "
            "uint16, uint8, and bool.") from None


class _DefaultDtype(threading.local):
    value: dtype = float32


_default = _DefaultDtype()


def get_default_dtype() -> dtype:
    """The dtype of Python floats turned into tensors (float32 unless changed)."""
    return _default.value


def set_default_dtype(d: dtype) -> None:
    """Change the default floating dtype; only floating types are allowed, as in torch."""
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default.value = d


_BARE_UNSIGNED = ("uint16", "uint32", "uint64")


def _promote_pair(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if (a.name in _BARE_UNSIGNED or b.name in _BARE_UNSIGNED) and not (a.is_floating_point or b.is_floating_point):
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, attempted to "
                           f"promote {a._short} and {b._short}")
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.is_complex and lo in (float64,):
            return complex128
        return hi
    if a.is_floating_point:
        # float16 with bfloat16 meets in float32; otherwise the wider one
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    if a.category == _INT:
        if a.name.startswith("uint") and b.name.startswith("uint") or (a.is_signed and b.is_signed):
            return a if a.itemsize > b.itemsize else b
        unsigned, signed = (a, b) if not a.is_signed else (b, a)
        if signed.itemsize > unsigned.itemsize:
            return signed
        return {1: int16, 2: int32, 4: int64}[unsigned.itemsize]
    return complex128 if complex128 in (a, b) else complex64


_PROMOTE: dict[tuple[dtype, dtype], dtype] = {}
for _a in ALL_DTYPES:
    for _b in ALL_DTYPES:
        try:
            _PROMOTE[_a, _b] = _promote_pair(_a, _b)
        except RuntimeError:
            pass


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both promote to, as ``torch.promote_types``."""
    try:
        return _PROMOTE[type1, type2]
    except KeyError:
        _promote_pair(type1, type2)  # raises torch's RuntimeError for unsupported unsigned pairs
        raise


def _combine_categories(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """ATen's rule for letting a lower tier (0-d tensors, scalars) influence a higher one."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return _PROMOTE[higher, lower]
    return higher


def scalar_dtype(value: object) -> dtype:
    """The dtype a Python scalar takes when it takes part in promotion (its category's default)."""
    t = type(value)
    if t is builtins_bool:
        return bool
    if t is builtins_int:
        return int64
    if t is builtins_float:
        return _default.value
    if t is builtins_complex:
        return complex128 if _default.value is float64 else complex64
    if isinstance(value, np.generic):
        return from_numpy_dtype(value.dtype)
    raise TypeError(f"unsupported scalar type {t.__name__}")


builtins_bool, builtins_int, builtins_float, builtins_complex = type(True), type(1), type(1.0), type(1j)  # noqa: UP003


def result_type_of(dims: list[dtype], zero_dims: list[dtype], scalars: list[dtype]) -> dtype:
    """Promote the three tiers of operands as ATen's ``result_type`` does."""
    def fold(ds: list[dtype]) -> dtype | None:
        out = None
        for d in ds:
            out = d if out is None else _PROMOTE[out, d]
        return out
    res = _combine_categories(fold(dims), _combine_categories(fold(zero_dims), fold(scalars)))
    assert res is not None
    return res


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether ``from_`` may be cast to ``to`` under torch's same-kind rule (no category downgrade)."""
    if from_.category > to.category:
        return False
    return True


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo``."""

    def __init__(self, type: dtype | None = None) -> None:
        type = type or _default.value
        if not (type.is_floating_point or type.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        self.dtype = type.to_real().name
        info = ml_dtypes.finfo(type.to_real().np)
        self.bits = info.bits
        self.eps = builtins_float(info.eps)
        self.max = builtins_float(info.max)
        self.min = builtins_float(info.min)
        self.tiny = self.smallest_normal = builtins_float(info.tiny)
        self.resolution = 10.0 ** -builtins_int(info.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype, as ``torch.iinfo``."""

    def __init__(self, type: dtype) -> None:
        if type.category not in (_INT, _BOOL):
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                            "'torch.iinfo'")
        info = np.iinfo(type.np) if type is not bool else None
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.min = builtins_int(info.min) if info else 0
        self.max = builtins_int(info.max) if info else 1

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
