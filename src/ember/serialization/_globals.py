"""The globals a torch checkpoint's pickle names, and the ember objects that stand for them.

Loading maps names such as ``torch._utils._rebuild_tensor_v2`` or ``torch.FloatStorage`` to the functions
and markers here; saving writes the same names for ember's objects, so files interchange with torch.
The rebuild functions validate what the pickle hands them: a hostile file gets a clean error, never a
view outside its storage or an allocation larger than its data.
"""

from __future__ import annotations

import codecs
import functools
from collections import Counter, OrderedDict
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, device
from .._legacy import legacy_type
from .._tensor import Size, Tensor, _as_subclass, from_array
from ..ops.storage import UntypedStorage

__all__ = [
    "StorageType",
    "torch_globals",
    "torch_name",
    "REBUILD_V2",
    "REBUILD_V3",
    "REBUILD_PARAMETER",
    "REBUILD_PARAMETER_WITH_STATE",
    "REBUILD_FROM_TYPE_V2",
    "REBUILD_QTENSOR",
    "is_parameter",
    "qtensor_params",
    "parameter_class",
    "tensor_classes",
]


class StorageType:
    """A legacy typed-storage class named in a checkpoint (``torch.FloatStorage``): it carries a dtype."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: D.dtype | None) -> None:
        self.name = name
        self.dtype = dtype  # None: a sub-byte quantized storage ember cannot hold

    def __repr__(self) -> str:
        return f"StorageType(torch.{self.name})"

    def __reduce__(self) -> str:
        return self.name  # pickled as the global torch.<name>


class _Unsupported:
    """A global torch allows in checkpoints that ember cannot rebuild; using it raises."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"ember cannot load {self.name}: this checkpoint holds a kind of object ember "
            "does not implement (quantized, sparse, nested, meta or float8 data)"
        )

    def __repr__(self) -> str:
        return self.name


_STORAGE_DTYPES = {
    "DoubleStorage": D.float64,
    "FloatStorage": D.float32,
    "HalfStorage": D.float16,
    "LongStorage": D.int64,
    "IntStorage": D.int32,
    "ShortStorage": D.int16,
    "CharStorage": D.int8,
    "ByteStorage": D.uint8,
    "BoolStorage": D.bool,
    "BFloat16Storage": D.bfloat16,
    "ComplexDoubleStorage": D.complex128,
    "ComplexFloatStorage": D.complex64,
    "QInt8Storage": D.qint8,
    "QInt32Storage": D.qint32,
    "QUInt8Storage": D.quint8,
    "QUInt4x2Storage": None,
    "QUInt2x4Storage": None,
}
STORAGE_TYPES = {name: StorageType(name, dt) for name, dt in _STORAGE_DTYPES.items()}


class _StorageOfDtype(dict):
    """dtype → legacy storage type; torch's KeyError for the dtypes it cannot save (uint1..7, int1..7)."""

    def __missing__(self, key: D.dtype) -> Any:
        raise KeyError(f"dtype {key!r} is not recognized")


STORAGE_OF_DTYPE = _StorageOfDtype({st.dtype: st for st in STORAGE_TYPES.values() if st.dtype is not None})
# saved by torch through UntypedStorage plus a dtype argument
V3_DTYPES = (D.uint16, D.uint32, D.uint64, D.complex32, *D.FLOAT8_DTYPES, D.float4_e2m1fn_x2, D.bits8, D.bits16,
             D.bits1x8, D.bits2x4, D.bits4x2)
_LEGACY_TENSORS = ("Float", "Double", "Half", "BFloat16", "Byte", "Char", "Short", "Int", "Long", "Bool")


# ---- nn.Parameter, which lives in ember.nn (optional here) ---------------------------------------------
def parameter_class() -> type | None:
    """``ember.nn.Parameter`` when ember.nn is importable."""
    try:
        from ..nn.parameter import Parameter
    except ImportError:
        return None
    return Parameter


def is_parameter(t: Tensor) -> bool:
    return type(t).__name__ == "Parameter"


def _make_parameter(data: Tensor, requires_grad: bool = True) -> Tensor:
    cls = parameter_class()
    if cls is None:  # ember.nn missing: a leaf tensor with the flag
        t = from_array(data._data, data._dtype, data._device)
        t.requires_grad = requires_grad
        return t
    return cls(data, requires_grad)


# ---- rebuilding tensors ---------------------------------------------------------------------------------
def _int_tuple(v: Any, what: str) -> tuple[int, ...]:
    if not isinstance(v, (tuple, list)) or not all(type(x) is int and x >= 0 for x in v):
        raise RuntimeError(f"invalid tensor {what} in checkpoint: {v!r}")
    return tuple(v)


def _strided(flat: Any, dtype: D.dtype, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> Any:
    """A view of the flat storage array ``flat`` with torch's sizes/strides/offset (all in elements)."""
    n = flat.size
    if len(size) != len(stride):
        raise RuntimeError(
            f"invalid checkpoint: sizes {list(size)} and strides {list(stride)} differ in length"
        )
    # (an empty view needs no memory: torch takes any offset for it, as views of empty tensors have)
    need = 0 if 0 in size else offset + 1 + sum((s - 1) * st for s, st in zip(size, stride, strict=True))
    if type(offset) is not int or offset < 0 or need > n:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
            f"itemsize {dtype.itemsize} requiring a storage size of {need * dtype.itemsize} are out "
            f"of bounds for storage of size {n * dtype.itemsize}"
        )
    numel = 0 if 0 in size else 1
    for s in size:
        numel *= s
    contiguous, expect = True, 1   # (the exact strides: a size-1 or empty dim's stride is kept too, as torch)
    for s, st in zip(reversed(size), reversed(stride), strict=True):
        if st != expect:
            contiguous = False
        expect *= s
    if contiguous:
        return flat[offset : offset + numel].reshape(size)
    item = dtype.itemsize
    if isinstance(flat, np.ndarray):
        return np.ndarray(
            size, dtype=dtype.np, buffer=flat, offset=offset * item if numel else 0,
            strides=tuple(s * item for s in stride)
        )
    from .._core.device import xp_of
    from ..ops.views import _as_strided

    return _as_strided(xp_of(_device_of(flat)), flat[offset:], size, tuple(s * item for s in stride))


def _device_of(arr: Any) -> device:
    return device("cuda", arr.device.id)


def _typed_flat(storage: Any, dtype: D.dtype) -> Any:
    if not isinstance(storage, UntypedStorage):
        raise RuntimeError(f"invalid checkpoint: expected a storage, got {type(storage).__name__}")
    arr = storage._array
    if arr.dtype == dtype.np and arr.flags.c_contiguous:
        return arr.reshape(-1)
    flat = storage._bytes()
    if flat.size % dtype.itemsize:
        raise RuntimeError(f"invalid checkpoint: a storage of {flat.size} bytes cannot hold {dtype} elements")
    return flat.view(dtype.np)


def _build(storage: Any, dtype: D.dtype, offset: Any, size: Any, stride: Any, metadata: Any = None) -> Tensor:
    flat = _typed_flat(storage, dtype)
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if metadata:  # torch's lazy conj/neg bits: ember materialises them over a copy of the storage
        if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"}:
            raise RuntimeError(f"invalid tensor metadata in checkpoint: {metadata!r}")
        if metadata.get("conj"):
            flat = flat.conj()
        if metadata.get("neg"):
            flat = -flat
    return from_array(_strided(flat, dtype, offset, size, stride), dtype, storage._device)


def _set_grad(t: Tensor, requires_grad: Any) -> Tensor:
    if type(requires_grad) is not bool:
        raise RuntimeError(f"invalid requires_grad in checkpoint: {requires_grad!r}")
    if requires_grad:
        t.requires_grad = True
    return t


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> Tensor:
    return _build(storage, _storage_dtype(storage), storage_offset, size, stride)


def _storage_dtype(storage: Any) -> D.dtype:
    if not isinstance(storage, UntypedStorage):
        raise RuntimeError(f"invalid checkpoint: expected a storage, got {type(storage).__name__}")
    return D.from_numpy_dtype(storage._array.dtype)


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    backward_hooks: Any,
    metadata: Any = None,
) -> Tensor:
    t = _build(storage, _storage_dtype(storage), storage_offset, size, stride, metadata)
    return _set_grad(t, requires_grad)


def _rebuild_tensor_v3(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    backward_hooks: Any,
    dtype: Any,
    metadata: Any = None,
) -> Tensor:
    if isinstance(dtype, _Unsupported):
        dtype()
    if not isinstance(dtype, D.dtype) or dtype.kind == "quantized":   # torch saves those as qtensors
        raise RuntimeError(f"invalid dtype in checkpoint: {dtype!r}")
    return _set_grad(_build(storage, dtype, storage_offset, size, stride, metadata), requires_grad)


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> Tensor:
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise RuntimeError("invalid nn.Parameter in checkpoint")
    return _make_parameter(data, requires_grad)


def _set_state(obj: Any, state: Any) -> Any:
    """Restore Python attributes saved with a tensor (a dict, or a (dict, slots) pair)."""
    dict_state, slots = state if isinstance(state, tuple) and len(state) == 2 else (state, None)
    for part in (dict_state, slots):
        if not part:
            continue
        if not isinstance(part, dict):
            raise RuntimeError(f"Invalid serialized state: {state!r}")
        for k, v in part.items():
            if not isinstance(k, str) or hasattr(type(obj), k):
                raise RuntimeError(
                    f"Invalid serialized state: attribute {k!r} cannot be restored on a tensor"
                )
            setattr(obj, k, v)
    return obj


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> Tensor:
    return _set_state(_rebuild_parameter(data, requires_grad, backward_hooks), state)


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Tensor:
    if func not in _TENSOR_REBUILDERS or not isinstance(args, tuple):
        raise RuntimeError(f"invalid checkpoint: _rebuild_from_type_v2 with {func!r}")
    ret = func(*args)
    if type(ret) is not new_type:
        if not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
            raise RuntimeError(f"invalid checkpoint: {new_type!r} is not a tensor type")
        ret = _make_parameter(ret, ret._rg) if new_type is parameter_class() else _as_subclass(ret, new_type)
    return _set_state(ret, state)


def _rebuild_device_tensor_from_cpu_tensor(data: Any, dtype: Any, device: Any, requires_grad: Any) -> Tensor:
    if not isinstance(data, Tensor) or not isinstance(dtype, D.dtype):
        raise RuntimeError("invalid device tensor in checkpoint")
    return _set_grad(data.to(device=device, dtype=dtype), requires_grad)


def _rebuild_device_tensor_from_numpy(data: Any, dtype: Any, device: Any, requires_grad: Any) -> Tensor:
    if not isinstance(data, np.ndarray) or not isinstance(dtype, D.dtype):
        raise RuntimeError("invalid device tensor in checkpoint")
    return _rebuild_device_tensor_from_cpu_tensor(
        from_array(data.astype(dtype.np), dtype, CPU), dtype, device, requires_grad
    )


def _get_layout(name: Any) -> Any:
    """The layout object a checkpoint names (``torch.strided``, ``torch.sparse_coo``)."""
    from ..ops.extra import _LAYOUTS
    layout = _LAYOUTS.get(name[len("torch."):]) if isinstance(name, str) and name.startswith("torch.") else None
    if layout is None:
        raise RuntimeError(f"ember has no layout {name!r} (the checkpoint asks for it)")
    return layout


def _rebuild_sparse_tensor(layout: Any, data: Any) -> Tensor:
    """A sparse COO tensor from its indices, values, size and coalesced flag (``torch._utils``' name)."""
    from ..sparse._coo import rebuild_sparse_tensor
    return rebuild_sparse_tensor(layout, data)


# ---- quantized tensors -----------------------------------------------------------------------------------
def _qschemes() -> tuple[Any, ...]:
    from ..ops import quantize as Q
    return (Q.per_tensor_affine, Q.per_tensor_symmetric, Q.per_channel_affine, Q.per_channel_symmetric,
            Q.per_channel_affine_float_qparams)


def qtensor_params(t: Any) -> tuple:
    """The quantizer parameters torch pickles with a quantized tensor: ``(per_tensor_affine, scale, zero_point)``,
    or ``(per_channel_affine, scales, zero_points, axis)`` for both per-channel schemes (float zero points mark
    ``per_channel_affine_float_qparams`` when loading)."""
    from ..ops import quantize as Q
    if t._axis is None:
        return (t._qscheme, t._scale, t._zero_point)
    return (Q.per_channel_affine, t._scale, t._zero_point, t._axis)


_QDTYPE_OF_NP = {D.qint8.np: D.qint8, D.quint8.np: D.quint8, D.qint32.np: D.qint32}


def _qdtype_of(storage: Any) -> D.dtype:
    """The quantized dtype of a storage a checkpoint made from ``torch.QInt8Storage`` & co."""
    if not isinstance(storage, UntypedStorage):
        raise RuntimeError(f"invalid checkpoint: expected a storage, got {type(storage).__name__}")
    dtype = _QDTYPE_OF_NP.get(storage._array.dtype)
    if dtype is None:
        raise RuntimeError(f"invalid checkpoint: a quantized tensor on a storage of {storage._array.dtype}")
    return dtype


def _qparam_list(v: Any, kinds: Any) -> Tensor:
    """Per-channel scales or zero points: a 1-d real tensor, or a list of numbers (older checkpoints)."""
    if isinstance(v, list) and all(type(x) in (kinds if isinstance(kinds, tuple) else (kinds,)) for x in v):
        return from_array(np.asarray(v, np.float64 if kinds is float else None), None, CPU)
    if isinstance(v, Tensor) and v.dim() == 1 and not v.is_quantized and not v.dtype.is_complex:
        return v
    raise RuntimeError(f"invalid per-channel quantizer parameter in checkpoint: {v!r}")


def _rebuild_qtensor(storage: Any, storage_offset: Any, size: Any, stride: Any, quantizer_params: Any,
                     requires_grad: Any, backward_hooks: Any) -> Tensor:
    """A quantized tensor from its integer storage and quantizer parameters (``torch._utils``' name)."""
    from ..ops import quantize as Q
    bad = RuntimeError(f"invalid quantizer parameters in checkpoint: {quantizer_params!r}")
    if not isinstance(quantizer_params, tuple) or not quantizer_params:
        raise bad
    scheme, *params = quantizer_params
    dtype = _qdtype_of(storage)
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    arr = _strided(_typed_flat(storage, dtype), dtype, storage_offset, size, stride)
    if scheme is Q.per_tensor_affine:
        if len(params) != 2:
            raise bad
        scale, zero_point = params
        if type(scale) not in (float, int) or type(zero_point) is not int:
            raise bad
        scale, axis = float(scale), None
    elif scheme in (Q.per_channel_affine, Q.per_channel_affine_float_qparams):
        if len(params) != 3:
            raise bad
        scale, zero_point, axis = (_qparam_list(params[0], float), _qparam_list(params[1], (int, float)),
                                   params[2])
        if type(axis) is not int:
            raise bad
        if not 0 <= axis < len(size):
            raise ValueError(f"_rebuild_qtensor: per_channel axis {axis} out of range for size {size}")
        lengths = (scale.numel(), zero_point.numel())
        if lengths != (size[axis], size[axis]):
            raise ValueError(f"_rebuild_qtensor: per_channel scales/zero_points length must equal size[axis]="
                             f"{size[axis]}, got scales={lengths[0]}, zero_points={lengths[1]}")
        float_zp = zero_point.dtype.is_floating_point if isinstance(params[1], Tensor) else (
            scheme is Q.per_channel_affine_float_qparams)
        if float_zp:
            scheme, scale, zero_point = Q.per_channel_affine_float_qparams, scale.float(), zero_point.float()
        else:
            scheme, scale, zero_point = Q.per_channel_affine, scale.double(), zero_point.long()
    else:
        raise RuntimeError(f"Can't deserialize quantized tensor with qscheme {scheme!r}")
    return _set_grad(Q._qtensor(arr, dtype, storage._device, scheme, scale, zero_point, axis), requires_grad)


REBUILD_V2, REBUILD_V3 = _rebuild_tensor_v2, _rebuild_tensor_v3
REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE = _rebuild_parameter, _rebuild_parameter_with_state
REBUILD_FROM_TYPE_V2 = _rebuild_from_type_v2
REBUILD_SPARSE, GET_LAYOUT, REBUILD_QTENSOR = _rebuild_sparse_tensor, _get_layout, _rebuild_qtensor
_TENSOR_REBUILDERS = (
    _rebuild_tensor,
    _rebuild_tensor_v2,
    _rebuild_tensor_v3,
    _rebuild_parameter,
    _rebuild_parameter_with_state,
)


# ---- the tables ---------------------------------------------------------------------------------------
def _safe_bytearray(*args: Any) -> bytearray:
    """``bytearray`` from pickled bytes/str only: ``bytearray(n)`` would let a file allocate n bytes."""
    if args and isinstance(args[0], int):
        raise RuntimeError("invalid checkpoint: bytearray(n) is refused (it allocates n bytes)")
    return bytearray(*args)


@functools.cache
def _ember_globals() -> dict[str, Any]:
    """Torch names of ember's objects: used to load torch files and to write ember's as torch writes them."""
    rc: dict[str, Any] = {
        "torch.Size": Size,
        "torch.Tensor": Tensor,
        "torch.device": device,
        "torch.serialization._get_layout": _get_layout,
        "torch.storage.UntypedStorage": UntypedStorage,
    }
    param = parameter_class()
    if param is not None:
        rc["torch.nn.parameter.Parameter"] = param
    for dt in (*D.ALL_DTYPES, *D.EXTRA_DTYPES):
        rc[f"torch.{dt.name}"] = dt
    for name in _LEGACY_TENSORS:
        rc[f"torch.{name}Tensor"] = legacy_type(D.BY_LEGACY[f"{name}Tensor"], "cpu")
    for name, st in STORAGE_TYPES.items():
        rc[f"torch.{name}"] = st
    for f in (*_TENSOR_REBUILDERS, _rebuild_device_tensor_from_cpu_tensor, _rebuild_device_tensor_from_numpy):
        rc[f"torch._utils.{f.__name__}"] = f
    rc["torch._tensor._rebuild_from_type_v2"] = _rebuild_from_type_v2
    rc["torch._utils._rebuild_sparse_tensor"] = _rebuild_sparse_tensor
    rc["torch._utils._rebuild_qtensor"] = _rebuild_qtensor
    for scheme in _qschemes():
        rc[f"torch.{scheme.name}"] = scheme
    return rc


@functools.cache
def torch_globals() -> dict[str, Any]:
    """Every global torch's weights-only unpickler allows by default, mapped to what ember loads it as."""
    rc = dict(_ember_globals())
    rc.update(
        {
            "collections.OrderedDict": OrderedDict,
            "collections.Counter": Counter,
            "_codecs.encode": codecs.encode,
            "builtins.bytearray": _safe_bytearray,
            "builtins.set": set,
            "builtins.complex": complex,
        }
    )
    rc.setdefault("torch.nn.parameter.Parameter", _make_parameter)
    for name in _LEGACY_TENSORS:
        rc[f"torch.cuda.{name}Tensor"] = legacy_type(D.BY_LEGACY[f"{name}Tensor"], "cuda")
        if name != "Bool":
            for prefix in ("torch.sparse", "torch.cuda.sparse"):
                rc[f"{prefix}.{name}Tensor"] = _Unsupported(f"{prefix}.{name}Tensor")
    for name, st in STORAGE_TYPES.items():
        if st.dtype is not None and st.dtype.kind != "quantized":
            rc[f"torch.cuda.{name}"] = st
    rc["torch.storage.TypedStorage"] = _Unsupported("torch.storage.TypedStorage")
    for kind in ("nested_tensor", "meta_tensor_no_storage", "wrapper_subclass"):
        rc[f"torch._utils._rebuild_{kind}"] = _Unsupported(f"torch._utils._rebuild_{kind}")
    return rc


@functools.cache
def _names_by_id() -> dict[int, tuple[str, str]]:
    return {id(obj): tuple(name.rsplit(".", 1)) for name, obj in _ember_globals().items()}  # type: ignore[misc]


def torch_name(obj: Any) -> tuple[str, str] | None:
    """(module, name) torch uses for ember object ``obj``, or None when it has none."""
    return _names_by_id().get(id(obj))


def tensor_classes() -> tuple[Any, ...]:
    """The tensor classes a checkpoint may name (building tensors from them is restricted when loading)."""
    return tuple(
        v for k, v in torch_globals().items() if isinstance(v, type) and (v is Tensor or k.endswith("Tensor"))
    )
