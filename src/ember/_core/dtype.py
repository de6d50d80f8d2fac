"""torch's dtypes over NumPy dtypes, and torch's type-promotion rules.

A :class:`dtype` is an interned object (compare with ``is``) carrying the NumPy dtype that stores it.
Promotion follows ATen's ``result_type``: operands are split into three tiers (tensors with dims,
zero-dim tensors, Python scalars) and a lower tier only matters when its category
(bool < integer < floating < complex) is higher.
"""

from __future__ import annotations

import functools
import math
import threading

import ml_dtypes
import numpy as np

__all__ = [
    "dtype", "float16", "half", "bfloat16", "float32", "float", "float64", "double", "uint8", "int8",
    "int16", "short", "int32", "int", "int64", "long", "bool", "complex64", "cfloat", "complex128",
    "cdouble", "uint16", "uint32", "uint64", "finfo", "iinfo", "get_default_dtype", "set_default_dtype",
    "promote_types", "can_cast",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
    "complex32", "chalf", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7", "int1", "int2", "int3",
    "int4", "int5", "int6", "int7", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "qint8", "quint8",
    "qint32", "quint4x2", "quint2x4",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3
# what torch can do with a dtype beyond naming it (``dtype.kind``):
# "" an ordinary dtype; "float8", "complex32" stored and converted, few kernels; "storage" (float4_e2m1fn_x2,
# uint1..7, int1..7, bits*) only raw storage; "quantized" (qint8 …) no plain tensors at all. ``dtype.few``: torch
# has CPU kernels for only some ops of it (those kinds, and uint16/uint32/uint64, its "barebones" unsigned types)


class dtype:
    """A tensor element type (``ember.float32`` …); prints as ``torch.float32``."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "_signed", "category",
                 "_legacy", "_short", "kind", "few")

    def __init__(self, name: str, np_dtype: np.dtype, category: int, legacy: str, short: str,
                 kind: str = "", signed: builtins_bool | str | None = None) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)     # for "storage"/"quantized" dtypes: a same-size raw container
        self.itemsize = self.np.itemsize
        self.category = category
        self.is_floating_point = category == _FLOAT
        self.is_complex = category == _COMPLEX
        self._signed = (category != _BOOL and not name.startswith("uint")) if signed is None else signed
        self._legacy = legacy      # 'FloatTensor' …, for Tensor.type()
        self._short = short        # 'Float' …, used in error messages
        self.kind = kind
        self.few = kind != "" or name in ("uint16", "uint32", "uint64")

    @property
    def is_signed(self) -> builtins_bool:
        if type(self._signed) is str:      # bits and quantized types: torch refuses to say
            raise RuntimeError(self._signed)
        return self._signed

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self) -> str:
        return self.name

    def to_real(self) -> dtype:
        """The real counterpart of a complex dtype (complex64 → float32); real dtypes map to themselves."""
        return _TO_REAL.get(self, self)

    def to_complex(self) -> dtype:
        """The complex counterpart of a floating dtype (float16 → complex32, float32 → complex64)."""
        try:
            return _TO_COMPLEX[self]
        except KeyError:
            raise RuntimeError(f"Unknown Complex ScalarType for {self._short}") from None


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
complex32 = chalf = dtype("complex32", ml_dtypes.complex32, _COMPLEX, "ComplexHalfTensor", "ComplexHalf", "complex32")


def _float8(name: str, signed: builtins_bool = True) -> dtype:
    short = "F" + name[1:]
    return dtype(name, getattr(ml_dtypes, name), _FLOAT, short + "Tensor", short, "float8", signed)


def _raw(name: str, container: type, category: int, short: str, kind: str = "storage",
         signed: builtins_bool | str | None = None, legacy: str | None = None) -> dtype:
    return dtype(name, container, category, legacy or short + "Tensor", short, kind, signed)


float8_e4m3fn = _float8("float8_e4m3fn")
float8_e5m2 = _float8("float8_e5m2")
float8_e4m3fnuz = _float8("float8_e4m3fnuz")
float8_e5m2fnuz = _float8("float8_e5m2fnuz")
float8_e8m0fnu = _float8("float8_e8m0fnu", signed=False)
float4_e2m1fn_x2 = _raw("float4_e2m1fn_x2", np.uint8, _FLOAT, "Float4_e2m1fn_x2", signed=True)
uint1, uint2, uint3, uint4, uint5, uint6, uint7 = (_raw(f"uint{i}", np.uint8, _INT, f"UInt{i}") for i in range(1, 8))
int1, int2, int3, int4, int5, int6, int7 = (_raw(f"int{i}", np.int8, _INT, f"Int{i}") for i in range(1, 8))
_NO_SIGN = "Bits types are undefined"
bits8, bits16, bits1x8, bits2x4, bits4x2 = (
    _raw(n, c, _INT, "B" + n[1:], signed=_NO_SIGN)
    for n, c in (("bits8", np.uint8), ("bits16", np.uint16), ("bits1x8", np.uint8), ("bits2x4", np.uint8),
                 ("bits4x2", np.uint8)))
_QSIGN = "isSignedType not supported for quantized types"
qint8, quint8, qint32, quint4x2, quint2x4 = (
    _raw(n, c, _INT, s, "quantized", _QSIGN, f"quantized.{s}Tensor")
    for n, c, s in (("qint8", np.int8, "QInt8"), ("quint8", np.uint8, "QUInt8"), ("qint32", np.int32, "QInt32"),
                    ("quint4x2", np.uint8, "QUInt4x2"), ("quint2x4", np.uint8, "QUInt2x4")))

# the dtypes every op knows (tables elsewhere are built over these) …
ALL_DTYPES = (float16, bfloat16, float32, float64, uint8, int8, int16, int32, int64, uint16, uint32, uint64,
              bool, complex64, complex128)
FLOAT8_DTYPES = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu)
# … and those torch supports only partly (see ``dtype.kind``)
EXTRA_DTYPES = (complex32, *FLOAT8_DTYPES, float4_e2m1fn_x2, uint1, uint2, uint3, uint4, uint5, uint6, uint7,
                int1, int2, int3, int4, int5, int6, int7, bits8, bits16, bits1x8, bits2x4, bits4x2,
                qint8, quint8, qint32, quint4x2, quint2x4)
_FROM_NP: dict[np.dtype, dtype] = {d.np: d for d in (*ALL_DTYPES, complex32, *FLOAT8_DTYPES)}
BY_NAME: dict[str, dtype] = {d.name: d for d in (*ALL_DTYPES, *EXTRA_DTYPES)}
BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64,
               cfloat=complex64, cdouble=complex128, chalf=complex32)
BY_LEGACY: dict[str, dtype] = {d._legacy: d for d in (*ALL_DTYPES, complex32, *FLOAT8_DTYPES)}
_TO_REAL = {complex32: float16, complex64: float32, complex128: float64}
_TO_COMPLEX = {float16: complex32, bfloat16: complex64, float32: complex64, float64: complex128,
               complex32: complex32, complex64: complex64, complex128: complex128}


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    """The ember dtype storing ``np_dtype``; TypeError (torch's text) for types torch lacks."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        if not np.dtype(np_dtype).isnative:
            raise ValueError("given numpy array has byte order different from the native byte order. Conversion "
                             "between byte orders is currently not supported.") from None
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}. The only supported types "
            "are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, uint32, "
            "uint16, uint8, and bool.") from None


def holds_nan(np_dtype: np.dtype) -> builtins_bool:
    """Whether arrays of ``np_dtype`` can hold NaN: NumPy's floats and complexes, and the ml_dtypes floats
    (bfloat16, float8), whose ``kind`` is 'V'."""
    return np_dtype.kind in "fc" or (np_dtype in _FROM_NP and _FROM_NP[np_dtype].is_floating_point)


class _DefaultDtype(threading.local):
    value: dtype = float32


_default = _DefaultDtype()


def get_default_dtype() -> dtype:
    """The dtype of Python floats turned into tensors (float32 unless changed)."""
    return _default.value


def set_default_dtype(d: dtype, /) -> None:
    """Change the default floating dtype; only floating types are allowed, as in torch."""
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default.value = d


_BARE_UNSIGNED = ("uint16", "uint32", "uint64", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7")


def _promote_extra(a: dtype, b: dtype) -> dtype | None:
    """torch's refusals for pairs involving a quantized, bits, float8/float4 or sub-byte dtype (None: none)."""
    if "quantized" in (a.kind, b.kind):
        raise RuntimeError("promoteTypes with quantized numbers is not handled yet; figure out what the correct "
                           f"rules should be, offending types: {a._short} {b._short}")
    for d in (a, b):
        if d.name.startswith("bits"):
            raise RuntimeError(f"Promotion from {a._short} and {b._short} is unsupported.")
    if a.kind == "float8" or b.kind == "float8":
        raise RuntimeError(f"Promotion for Float8 Types is not supported, attempted to promote {a._short} and "
                           f"{b._short}")
    if a.name in _BARE_UNSIGNED or b.name in _BARE_UNSIGNED:
        if a.is_floating_point or b.is_floating_point:
            return None
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, attempted to "
                           f"promote {a._short} and {b._short}")
    if a.kind == "storage" or b.kind == "storage":    # float4_e2m1fn_x2, int1..7: torch fails an internal assert
        raise RuntimeError(f"Promotion for {a._short} and {b._short} is not supported")
    return None


def _promote_pair(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    _promote_extra(a, b)
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.is_complex and lo.is_floating_point:
            return _promote_pair(hi.to_real(), lo).to_complex()
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
    return a if a.itemsize > b.itemsize else b


# the table holds the common pairs; the others (mostly refused) are worked out when asked
_PROMOTE: dict[tuple[dtype, dtype], dtype] = {(d, d): d for d in EXTRA_DTYPES}
for _a in (*ALL_DTYPES, complex32):
    for _b in (*ALL_DTYPES, complex32):
        try:
            _PROMOTE[_a, _b] = _promote_pair(_a, _b)
        except RuntimeError:
            pass


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both promote to, as ``torch.promote_types``."""
    try:
        return _PROMOTE[type1, type2]
    except KeyError:
        return _promote_pair(type1, type2)  # raises torch's RuntimeError for the pairs torch refuses


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
        return _PROMOTE.get((higher, lower)) or promote_types(higher, lower)
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
            out = d if out is None else _PROMOTE.get((out, d)) or promote_types(out, d)
        return out
    res = _combine_categories(fold(dims), _combine_categories(fold(zero_dims), fold(scalars)))
    assert res is not None
    return res


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether ``from_`` may be cast to ``to`` under torch's same-kind rule (no category downgrade)."""
    if from_.category > to.category:
        return False
    return True


# torch's limits where they differ from ml_dtypes': the float8 types have 0 decimal digits (resolution 1),
# float8_e5m2fnuz's epsilon is torch's own
_FINFO_FIX: dict[str, dict[str, builtins_float]] = {d.name: {"resolution": 1.0} for d in FLOAT8_DTYPES}
_FINFO_FIX["float8_e5m2fnuz"]["eps"] = 0.125


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo``."""

    def __init__(self, type: dtype | None = None) -> None:
        type = type or _default.value
        if not (type.is_floating_point or type.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        if type.kind == "storage":
            raise TypeError("bad argument type for built-in operation")
        self.dtype = type.to_real().name
        info = ml_dtypes.finfo(type.to_real().np)
        self.bits = info.bits
        self.eps = builtins_float(info.eps)
        self.max = builtins_float(info.max)
        self.min = builtins_float(info.min)
        self.tiny = self.smallest_normal = builtins_float(info.tiny)
        self.resolution = 10.0 ** -builtins_int(info.precision)
        self.__dict__.update(_FINFO_FIX.get(self.dtype, {}))

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype, as ``torch.iinfo``."""

    def __init__(self, type: dtype) -> None:
        if type.kind == "quantized":
            raise NotImplementedError(f"\"dtype\" not implemented for '{type._short}'")
        if type.category != _INT or type.kind:
            if type is bool:
                raise TypeError("torch.bool is not supported by torch.iinfo")
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                            "'torch.iinfo'")
        info = np.iinfo(type.np)
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.min = builtins_int(info.min)
        self.max = builtins_int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={builtins_float(self.min):g}, max={builtins_float(self.max):g}, dtype={self.dtype})"


# ---- conversions to and from the float8 types, bit for bit as torch's CPU copy kernel ------------------------
# torch decodes each float8 NaN byte to these float32 bit patterns (ml_dtypes gives canonical NaNs)
_F8_NAN_BITS = {
    "float8_e4m3fn": {0x7F: 0x7FF00000, 0xFF: 0xFFF00000},
    "float8_e5m2": {0x7D: 0x7FE00000, 0x7E: 0x7FC00000, 0x7F: 0x7FE00000,
                    0xFD: 0xFFE00000, 0xFE: 0xFFC00000, 0xFF: 0xFFE00000},
    "float8_e4m3fnuz": {0x80: 0x7F800001},
    "float8_e5m2fnuz": {0x80: 0x7F800001},
    "float8_e8m0fnu": {0xFF: 0x7F800001},
}
_DECODE: dict[tuple[dtype, np.dtype], np.ndarray] = {}


def _decode_table(src: dtype, dst: np.dtype) -> np.ndarray:
    """The value of each of ``src``'s 256 bytes in NumPy dtype ``dst``, as torch converts them."""
    key = (src, dst)
    table = _DECODE.get(key)
    if table is None:
        bits = np.arange(256, dtype=np.uint8).view(src.np).astype(np.float32).view(np.uint32)
        for byte, pattern in _F8_NAN_BITS[src.name].items():
            bits[byte] = pattern
        f32 = bits.view(np.float32)
        with np.errstate(all="ignore"):
            table = f32.astype(dst)
        nan = np.isnan(f32)
        if dst in (float16.np, complex32.np):   # torch keeps the sign and the top payload bits, quieted
            table.view(np.uint16).reshape(256, -1)[nan, 0] = (
                ((bits[nan] >> 16) & 0x8000) | 0x7E00 | ((bits[nan] >> 13) & 0x3FF))
        elif dst == bfloat16.np:     # … and a canonical positive NaN in bfloat16
            table.view(np.uint16)[nan] = 0x7FC0
        elif dst.kind in "iu" and bits[nan].max() == 0x7F800001:   # the single-NaN formats give 0
            table[nan] = 0
        _DECODE[key] = table
    return table


def _encode_float8(x: np.ndarray, dst: dtype) -> np.ndarray:
    """float32 ``x`` rounded to float8 ``dst`` (nearest, ties to even) with torch's out-of-range rules:
    e4m3fn saturates to ±448 (NaN stays NaN), e5m2 NaN is 0x7F/0xFF, e8m0fnu takes |x| and 0 → 2**-127."""
    if dst is float8_e8m0fnu:
        out = np.asarray(np.abs(x)).astype(dst.np)
        out.view(np.uint8)[x == 0] = 0
        return out
    out = x.astype(dst.np)
    if dst is float8_e4m3fn:
        b = out.view(np.uint8)
        b[((b & 0x7F) == 0x7F) & ~np.isnan(x)] -= 1
    elif dst is float8_e5m2:
        out.view(np.uint8)[np.isnan(x)] |= 1
    return out


def convert_refusal(d: dtype, target: builtins_bool = True) -> Exception | None:
    """torch's error for converting to (``target``) or from a dtype it has no copy kernel for."""
    if d.kind == "quantized":
        if target:
            return RuntimeError("empty_strided not supported on quantized tensors yet see "
                                "https://github.com/pytorch/pytorch/issues/74540")
        return NotImplementedError(f"\"copy_\" not implemented for '{d._short}'")
    if d.kind == "storage":
        kernel = "copy_kernel" if d is float4_e2m1fn_x2 else "copy_"
        return NotImplementedError(f"\"{kernel}\" not implemented for '{d._short}'")
    return None


def convert(arr: np.ndarray, src: dtype, dst: dtype) -> np.ndarray:
    """``arr`` (holding ``src`` values) converted to ``dst`` where either is one of the extra dtypes; torch's
    error where it has no conversion."""
    if src is dst:
        return arr.copy()
    err = convert_refusal(dst, True) or convert_refusal(src, False)
    if err is not None:
        raise err
    if src.kind == "float8":
        table = _decode_table(src, np.dtype(np.float32) if dst.kind == "float8" else dst.np)
        arr = table[arr.view(np.uint8).reshape(-1)].reshape(arr.shape)   # (a 0-d index would give a scalar)
        if dst.kind != "float8":
            return arr
    if dst.kind == "float8":
        with np.errstate(all="ignore"):
            x = (arr.real if arr.dtype.kind == "c" else arr).astype(np.float32)
        return _encode_float8(x, dst)
    with np.errstate(all="ignore"):
        return arr.astype(dst.np)


_QUANT_ZERO = ("Could not run 'aten::zero_' with arguments from the 'QuantizedCPU' backend. This could be because the "
               "operator doesn't exist for this backend, or was omitted during the selective/custom build process "
               "(if using custom build).")


def check_fill(dt: dtype, fill: object) -> None:
    """torch's refusal to create a tensor of ``dt`` filled with ``fill`` (None: uninitialised)."""
    if dt.kind == "quantized":
        if fill is None:   # torch's factory builds no quantizer for a bare quantized dtype (an internal assert)
            raise RuntimeError('false INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/aten/src/ATen/quantized/'
                               'Quantizer.cpp":447, please report a bug to PyTorch. cannot call qscheme on '
                               'UnknownQuantizer')
        if fill == 0:
            raise NotImplementedError(_QUANT_ZERO)
        if dt.name in ("quint4x2", "quint2x4"):
            raise NotImplementedError(f"\"Copy\" not implemented for '{dt._short}'")
        raise RuntimeError("cannot call qscheme on UnknownQuantizer")
    if dt.kind == "storage" and fill is not None and not (fill == 0 and type(fill) is not builtins_complex):
        raise NotImplementedError(f"\"fill_cpu\" not implemented for '{dt._short}'")


def check_overflow(dt: dtype, value: object) -> None:
    """torch's checked conversion of a fill value to a float8 dtype (out of its range, or infinite where it
    has no infinity)."""
    info = finfo(dt)
    if type(value) is builtins_bool:
        return
    if type(value) is builtins_int:    # integers: against the range's ends (only the top one when unsigned)
        if value > info.max or (dt.is_signed and value < info.min):
            raise RuntimeError(f"value cannot be converted to type c10::{dt._short} without overflow")
        return
    v = builtins_float(value.real if type(value) is builtins_complex else value)  # type: ignore[union-attr, arg-type]
    if (dt is not float8_e5m2 or not np.isinf(v)) and not info.min <= v <= info.max and not np.isnan(v):
        raise RuntimeError(f"value cannot be converted to type c10::{dt._short} without overflow")


@functools.cache
def checked_int_range(np_dtype: np.dtype) -> tuple[builtins_int, builtins_int, builtins_int]:
    """What torch's checked conversion into an integer type accepts: (the lowest integer — minus the maximum for
    unsigned types, which wrap negatives —, the lowest float, the highest value)."""
    info = np.iinfo(np_dtype)
    low, high = builtins_int(info.min), builtins_int(info.max)
    return (-high if low == 0 else low), low, high


_C_TYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
            "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double"}


def checked_scalar(dt: dtype, value: object, *, half_range: builtins_bool = False) -> object:
    """A Python number as torch's checked conversion stores it in ``dt``: integer types refuse values beyond
    their range, NaN and infinities (unsigned types take negative integers down to minus their maximum,
    wrapped; floats truncate), float32 refuses finite values beyond its range (float16 too with
    ``half_range``); a complex number with an imaginary part fits no real type. Returns the value to store
    (for float16, the float32 it passes through)."""
    if type(value) is builtins_bool or dt.kind or dt is bool:
        return value
    if dt.is_complex:   # complex64 takes parts within float32's range
        parts = (value.real, value.imag) if isinstance(value, builtins_complex) else (value,)
        if dt is complex64 and any(math.isfinite(p) and abs(p) > 3.4028234663852886e38 for p in parts):
            raise RuntimeError("value cannot be converted to type c10::complex<float> without overflow")
        return value
    if type(value) is builtins_complex:
        if value.imag:
            raise RuntimeError(f"value cannot be converted to type {_C_TYPES.get(dt.name, dt.name)} without overflow")
        value = value.real
    if dt.category == 1:
        int_low, low, hi = checked_int_range(dt.np)
        if type(value) is builtins_int or isinstance(value, np.integer):
            v = builtins_int(value)
            if int_low <= v <= hi:
                return v % (hi + 1) if v < 0 <= low else v
        elif low <= builtins_float(value) <= hi:   # type: ignore[arg-type]  (NaN fails)
            return math.trunc(value)   # type: ignore[arg-type]
        raise RuntimeError(f"value cannot be converted to type {_C_TYPES[dt.name]} without overflow")
    limit = 3.4028234663852886e38 if dt is float32 else None
    if half_range:
        limit = {float16: 65504.0, bfloat16: 3.3895313892515355e38}.get(dt, limit)
    if limit is not None and math.isfinite(value) and abs(value) > limit:   # type: ignore[arg-type]
        raise RuntimeError(f"value cannot be converted to type {_C_TYPES[dt.name]} without overflow")
    if dt is float16:   # c10::Half converts only from float: the value is rounded to float32 first
        with np.errstate(over="ignore"):
            return builtins_float(np.float32(value))
    return value


def fill_value(dt: dtype, value: object, numel: builtins_int, zero: builtins_bool = False) -> object:
    """``value`` as ``fill_``/``zero_`` store it into a tensor of an extra dtype ``dt``: torch's error where it
    cannot (no fill kernel; a float8 value out of range when filling several elements)."""
    if dt.kind in ("storage", "quantized") and not zero:
        raise NotImplementedError(f"\"fill_cpu\" not implemented for '{dt._short}'")
    if dt.kind != "float8":
        return value
    if numel > 1:
        check_overflow(dt, value)
    return convert(np.asarray(value, np.float32), float32, dt)


# the C++ type names (GCC's spelling) some of torch's messages print
CPP_NAMES = {bool: "bool", uint8: "unsigned char", int8: "signed char", int16: "short int", int32: "int",
             int64: "long int", uint16: "short unsigned int", uint32: "unsigned int", uint64: "long unsigned int",
             float16: "c10::Half", bfloat16: "c10::BFloat16", float32: "float", float64: "double",
             complex32: "c10::complex<c10::Half>", complex64: "c10::complex<float>",
             complex128: "c10::complex<double>"}
