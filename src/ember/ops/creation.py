"""Tensor creation and conversion: ``tensor``, ``zeros``…, legacy constructors, ``to``, ``clone``,
``detach``, ``copy_``, the NumPy bridge."""

from __future__ import annotations

import cmath
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, canonical, device, to_host, xp_of
from .._core.fma import add_product, fused_multiply_add, two_product
from .._core.memory_format import (
    contiguous_format,
    is_contiguous_as,
    layout_strides,
    preserve_format,
    suggest_memory_format,
)
from .._core.warn import warn
from .._tensor import _INFERENCE, Size, dense_empty
from ..autograd.grad_mode import STATE
from ._dispatch import (
    Node,
    Tensor,
    _assign,
    bind,
    broadcast_error,
    broadcast_shapes,
    check_inplace,
    factory_requires_grad,
    from_array,
    record,
    scalar_range,
    sized,
    writable_alias,
)
from ._signature import Signature, parse_error, type_name
from .info import get_num_threads

_isinstance = isinstance
_bool, _int, _float, _complex = bool, int, float, complex
_PY_DTYPES = (_float, _int, _bool, _complex)   # Python types torch takes as dtypes
_device = device


def _resolve_dtype(dtype: Any) -> D.dtype | None:
    """``dtype`` as a torch dtype: Python's float/int/bool/complex and the legacy tensor types too; NumPy
    dtypes and dtype names are refused, as torch does."""
    if dtype is None or _isinstance(dtype, D.dtype):
        return dtype
    if _isinstance(dtype, type) and hasattr(dtype, "_legacy_dtype"):
        return dtype._legacy_dtype
    if dtype is _float:
        return D.float64
    if dtype is _int:
        return D.int64
    if dtype is _bool:
        return D.bool
    if dtype is _complex:
        return D.complex128
    raise TypeError(f"dtype must be torch.dtype, not {type_name(dtype)}")


_SEQUENCES = (list, tuple, range)   # the common sequences torch.tensor() reads as a dimension (besides arrays)
_NOT_DIMS = (str, bytes, dict, Mapping, Tensor, np.ndarray, np.generic)


def _is_sequence(x: Any) -> bool:
    """Whether torch.tensor() reads ``x`` as a dimension: any Python sequence (a deque, an array.array, a class with
    ``__len__`` and ``__getitem__``), as torch's sequence check, but not a string, mapping, array or tensor."""
    if _isinstance(x, _SEQUENCES):
        return True
    t = type(x)
    return hasattr(t, "__getitem__") and hasattr(t, "__len__") and not _isinstance(x, _NOT_DIMS)


def _infer_dtype(data: Any) -> D.dtype:
    """torch.tensor's dtype inference over nested Python data (and its errors for what is not a number)."""
    first = data
    while _is_sequence(first) and len(first):
        first = first[0]
    if _isinstance(first, (str, bytes)) and first is not data:   # torch reads a leading string as a dimension
        raise ValueError(f"too many dimensions '{type(first).__name__}'")
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if _is_sequence(x):
            stack.extend(x)
        elif _isinstance(x, Tensor):
            kinds.add(x._dtype)
        elif _isinstance(x, np.ndarray):
            kinds.add(D.from_numpy_dtype(x.dtype))
        elif _isinstance(x, np.generic):
            kinds.add(D.from_numpy_dtype(x.dtype))
        elif type(x) is _bool or _isinstance(x, np.bool_):
            kinds.add("bool")
        elif _isinstance(x, _int):
            kinds.add("int")
        elif _isinstance(x, _float):
            kinds.add("float")
        elif _isinstance(x, _complex):
            kinds.add("complex")
        elif _isinstance(x, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
        else:
            raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")
    default = D.get_default_dtype()
    if "complex" in kinds and default is D.bfloat16:
        raise RuntimeError("invalid default scalar type for complex")
    result: D.dtype | None = None
    for k in kinds:
        d = {"bool": D.bool, "int": D.int64, "float": default,
             "complex": default.to_complex()}.get(k, k)  # type: ignore[arg-type]
        result = d if result is None else D.promote_types(result, d)
    return result if result is not None else default


_PLAIN_LEAVES = frozenset((_bool, _int, _float))
_PLAIN_SEQUENCES = frozenset((list, tuple))


def _plain_dtype(data: Any) -> D.dtype | None:
    """The dtype torch.tensor infers for the common data, a Python bool/int/float or regular nested lists/tuples of
    them (read a depth at a time, by the set of types there), else None: anything else takes the general path (and
    its errors)."""
    types = {type(data)}
    if not types <= _PLAIN_LEAVES:
        if not types <= _PLAIN_SEQUENCES:
            return None
        level = [data]
        while True:
            n = len(level[0])
            types = set()
            for x in level:
                if len(x) != n:
                    return None
                types.update(map(type, x))
            if types and types <= _PLAIN_SEQUENCES:
                level = [y for x in level for y in x]
            elif types <= _PLAIN_LEAVES:
                break
            else:
                return None
    return D.get_default_dtype() if _float in types or not types else D.int64 if _int in types else D.bool


class _NotScalar(Exception):
    """A sequence, or a tensor of more than one element, where tensor() expects a number."""


def _check_ragged(data: Any, depth: int = 0) -> tuple[int, ...]:
    """The shape of nested sequences, raising torch's errors for ragged input (:class:`_NotScalar` for a
    sequence where the first element made a number expected). A tensor among them is a number (one element only,
    as torch reads it)."""
    if not _is_sequence(data):
        if _isinstance(data, Tensor):
            if data._data.size != 1:
                raise _NotScalar(data)
            return ()
        if _isinstance(data, np.ndarray):
            return data.shape
        return ()
    n = len(data)
    if n == 0:
        return (0,)
    inner = _check_ragged(data[0], depth + 1)
    for i in range(1, n):
        item = data[i]
        if not inner and (_is_sequence(item) or _isinstance(item, np.ndarray) and item.ndim):
            raise _NotScalar(item)
        s = _check_ragged(item, depth + 1)
        if s != inner:
            if not _is_sequence(item):
                raise TypeError("not a sequence")
            raise ValueError(f"expected sequence of length {inner[0]} at dim {depth + 1} (got {len(item)})")
    return (n,) + inner


def _not_scalar_error(item: Any, dt: D.dtype) -> Exception:
    """torch's error for ``item`` read as a number of dtype ``dt`` (an index for integers, else a float)."""
    integral = dt.category <= 1
    if _is_sequence(item):
        name = type(item).__name__
        return TypeError(f"'{name}' object cannot be interpreted as an integer" if integral else
                         f"must be real number, not {name}")
    try:
        (operator.index if integral else _float)(item)
    except (TypeError, ValueError) as e:
        return e
    return TypeError(f"not a number: {type(item).__name__}")


def _to_numpy_nested(data: Any) -> Any:
    if _isinstance(data, Tensor):   # (one element: checked by _check_ragged)
        return _host(data._data).reshape(())
    if _is_sequence(data):
        return [_to_numpy_nested(x) for x in data]
    return data


_host = to_host
# dtypes Python data is first gathered in (then rounded once more, as torch stores a double as a float first)
_BUILD_AS = {D.float16: np.float32, D.bfloat16: np.float32, D.complex32: np.complex64}   # (rounded via float32)


def _cast_array(arr: np.ndarray, dt: D.dtype, scalar: bool = False, dst: np.ndarray | None = None) -> np.ndarray:
    """astype with torch's conversions (float → int truncates; NaN → int64 min; float16 from values float32
    cannot hold exactly rounds through float32, as c10::Half converts only from float; NaN → bfloat16 as
    :func:`_bfloat16_nans`, ``scalar``: element by element, as torch converts Python data; ``dst``: the array
    written)."""
    if arr.dtype == dt.np:
        return arr
    src = arr
    if arr.dtype.kind == "c" and dt.np.kind not in "cb":   # drop the imaginary part without NumPy's ComplexWarning
        arr = arr.real
    if dt is D.float16 and not np.can_cast(arr.dtype, np.float32):
        with np.errstate(all="ignore"):
            arr = arr.astype(np.float32)
    # errstate, not warnings.catch_warnings: changing the filters would reset every module's once-per-location
    # warning registry, so the user's warnings would repeat after each tensor() call
    with np.errstate(all="ignore"):
        if 0 in arr.strides and arr.size > 1:   # expanded: torch's layout (NumPy's puts the 0-stride dims innermost)
            out = arr.astype(dt.np, order="C") if c_like(arr.strides) else \
                _strided_copy(arr, _iteration_strides(arr.shape, _elem_strides(arr)), np, dt.np)
        else:
            out = arr.astype(dt.np)
    if dt is D.bfloat16 and src.dtype.kind == "f":
        _bfloat16_nans(src, out, scalar, dst)
    return out


def _f64_step() -> int:
    """How many float64 elements torch's vectorized CPU loops convert per step: two vectors, 16 elements where it
    runs its AVX512 kernels (the CPU has AVX512 F/CD/BW/DQ/VL), else 8 (AVX2)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:   # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return 16 if features.get("AVX512_SKX") else 8


_F64_STEP = _f64_step()


def _bfloat16_nans(src: np.ndarray, out: np.ndarray, scalar: bool, dst: np.ndarray | None = None) -> None:
    """Give the NaNs of ``out`` (``src`` converted to bfloat16) torch's CPU bit patterns: its scalar conversion
    writes the positive quiet NaN 0x7FC0, its vectorized float32/float64 loops 0xFFFF. The vectorized loops run
    along the innermost run of unit-stride elements in torch's iteration order (dims by stride, contiguous ones
    merged): all of it for float32, whole steps of :data:`_F64_STEP` for float64; 0-d tensors, float16 sources,
    strided or expanded rows and Python data (``scalar``) go element by element. ``dst``: the array written
    (``copy_``), whose rows must be unit-stride too."""
    nan = np.isnan(src)
    if not nan.any():
        return
    bits = out.view(np.uint16)
    bits[nan] = 0x7FC0
    if scalar or not src.ndim or src.dtype not in (np.float32, np.float64):
        return
    a = np.squeeze(src)   # (a view: size-1 dims don't take part in the iteration)
    b = np.squeeze(dst) if dst is not None and dst.shape == src.shape else a
    order = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
    shape = [a.shape[d] for d in order]
    run = 1
    for d in reversed(order):   # the innermost dims that merge into one unit-stride row (in both arrays)
        if a.strides[d] != a.itemsize * run or b.strides[d] != b.itemsize * run:
            break
        run *= a.shape[d]
    if run == 1 and shape and (a.strides[order[-1]] != a.itemsize or b.strides[order[-1]] != b.itemsize):
        return
    vec = run if src.dtype == np.float32 else run // _F64_STEP * _F64_STEP
    if not vec:
        return
    pos = (np.arange(a.size).reshape(shape) % run).transpose(np.argsort(order)).reshape(src.shape)
    bits[nan & (pos < vec)] = 0xFFFF


def _place(arr: np.ndarray, dev: device) -> Any:
    return arr if dev is CPU else xp_of(dev).asarray(arr)


def _cpu_only(dt: D.dtype, dev: device) -> None:
    """ember holds the extra dtypes (ml_dtypes' float8 and complex32, raw containers) on the CPU only."""
    if dt.kind and dev is not CPU:
        raise RuntimeError(f"ember supports {dt!r} tensors on the CPU only, not on '{dev}'")


def _build(nested: Any, src: D.dtype, dt: D.dtype | None) -> np.ndarray:
    """Python data gathered in the requested dtype (in the inferred one for ember's extra dtypes)."""
    built = src if dt is None or dt.kind else dt
    with np.errstate(all="ignore"):
        try:
            return np.array(nested, dtype=_BUILD_AS.get(built, built.np))
        except OverflowError:
            raise ValueError("Overflow when unpacking long long") from None
        except TypeError:   # a complex number for a real floating dtype: the message of torch's parser
            if src.is_complex and built.is_floating_point:
                raise TypeError("must be real number, not complex") from None
            raise


def _checked_integers(nested: Any, src: D.dtype, dt: D.dtype) -> np.ndarray:
    """Python numbers into integer dtype ``dt`` by torch's checked conversion: values beyond the type's range,
    NaN and infinities are refused (an unsigned type also takes negative integers down to minus its maximum,
    wrapped); floats truncate; complex numbers are refused. uint64 takes Python integers only, checked exactly."""
    if dt is D.uint64 and (src.is_floating_point or src.is_complex):
        raise TypeError("an integer is required")
    if src.is_complex:
        raise TypeError("'complex' object cannot be interpreted as an integer")
    if dt is D.uint64:
        values = np.array(nested, dtype=object)
        if values.size and values.min() < 0:
            raise OverflowError("can't convert negative int to unsigned")
        if values.size and values.max() >= 2 ** 64:
            raise OverflowError("int too big to convert")
        return values.astype(np.uint64)
    a = _build(nested, D.float64 if src.is_floating_point else D.int64, None)
    int_low, low, high = D.checked_int_range(dt.np)
    # floats from 2**53 on would round the ints (fmax skips NaN without nanmax's All-NaN warning)
    if src.is_floating_point and a.size and np.fmax.reduce(np.abs(a), axis=None) >= 2.0 ** 53:
        a = np.array(nested, dtype=object)
        a = np.asarray(np.frompyfunc(lambda v: v if _isinstance(v, (_int, np.integer)) else
                                     math.trunc(v) if math.isfinite(v) else high + 1, 1, 1)(a), dtype=object)
        src = D.int64
    bad = ~((a >= low) & (a <= high)) if src.is_floating_point else (a < int_low) | (a > high)   # (NaN fails)
    if bad.any():
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")
    with np.errstate(all="ignore"):
        return a.astype(dt.np)


def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Copy ``data`` (nested sequences, NumPy arrays, scalars, tensors) into a new leaf tensor."""
    if _isinstance(data, Tensor):
        _copy_construct_warning("torch.tensor")
    return _tensor(data, dtype, device, requires_grad)


def _copy_construct_warning(via: str) -> None:
    """torch's warning for a tensor copied by ``via(sourceTensor)`` (attributed to the caller's caller)."""
    warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
         f"sourceTensor.detach().clone().requires_grad_(True), rather than {via}(sourceTensor).", UserWarning,
         stacklevel=3)


def _tensor(data: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    """:func:`tensor` without its warning."""
    dt = _resolve_dtype(dtype)
    dev = canonical(device)
    if _isinstance(data, Tensor):
        src_dt = data._dtype
        arr = _host(data._data).copy(order="K")
    elif _isinstance(data, np.ndarray):
        src_dt = D.from_numpy_dtype(data.dtype)
        arr = data.copy(order="K")
    else:
        if hasattr(data, "to_numpy") and not _isinstance(data, (list, tuple)):   # pandas objects
            return tensor(data.to_numpy(), dtype=dtype, device=device, requires_grad=requires_grad)
        if hasattr(data, "__array__") and not _isinstance(data, (list, tuple, _int, _float, _complex)):
            return tensor(np.asarray(data), dtype=dtype, device=device, requires_grad=requires_grad)
        src_dt = plain = _plain_dtype(data)   # (the common data: regular, nothing to convert)
        if plain is None:
            src_dt = _infer_dtype(data)   # (before the shape: torch's first error is about the dtype)
            try:
                _check_ragged(data)
            except _NotScalar as e:
                raise _not_scalar_error(e.args[0], dt or src_dt) from None
        if dt is not None and dt.kind in ("storage", "quantized"):
            raise RuntimeError("store_scalar: invalid type")
        nested = data if plain is not None else _to_numpy_nested(data)
        if dt is not None and dt.category == 1 and not dt.kind and dt is not src_dt:
            arr = _checked_integers(nested, src_dt, dt)
            src_dt = dt
        elif type(data) is _int and not -(2 ** 63) <= data < 2 ** 63 and (dt is None or dt.category == 1):
            raise ValueError("Overflow when unpacking long long")
        else:
            arr = _build(nested, src_dt, dt)
    target = dt or src_dt
    # an array's copy keeps the order of its strides, compacted (``order="K"``), as torch's copy does
    _cpu_only(target, dev)
    if target is not src_dt and (target.kind or src_dt.kind):
        arr = D.convert(np.asarray(arr), src_dt, target)
    else:
        arr = _cast_array(np.asarray(arr), target, scalar=not _isinstance(data, (Tensor, np.ndarray)))
    t = from_array(_place(arr, dev), target, dev)
    if requires_grad:
        factory_requires_grad(t)
    return t


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Share memory with ``data`` when no dtype/device change is needed; otherwise copy."""
    dt = _resolve_dtype(dtype)
    if _isinstance(data, Tensor):
        return data.to(device=device, dtype=dt) if (dt or device) else data
    if _isinstance(data, np.ndarray) and (dt is None or dt.np == data.dtype) and canonical(device) is CPU:
        return from_numpy(data)
    return tensor(data, dtype=dt, device=device)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """``torch.asarray``: share when possible (``copy=False`` forbids copying), copy when asked."""
    if copy:
        t = tensor(obj.detach() if _isinstance(obj, Tensor) else obj, dtype=dtype, device=device)
    else:
        t = as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        factory_requires_grad(t)
    return t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory (dtype and strides kept)."""
    if not _isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if any(s < 0 for s in ndarray.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative "
                         "strides are not currently supported. (You can probably work around this by making a "
                         "copy of your array  with array.copy().) ")
    if not ndarray.flags.writeable and not _READONLY_WARNED[0]:
        _READONLY_WARNED[0] = True   # torch warns once per process
        warn("The given NumPy array is not writable, and PyTorch does not support non-writable tensors. "
             "This means writing to this tensor will result in undefined behavior. You may want to copy "
             "the array to protect its data or make it writable before converting it to a tensor. This "
             "type of warning will be suppressed for the rest of this program.", UserWarning, stacklevel=2)
    return from_array(ndarray, D.from_numpy_dtype(ndarray.dtype), CPU)


_READONLY_WARNED = [False]


class _Capsule:
    """A bare DLPack capsule (``to_dlpack``'s) as the producer object NumPy's and CuPy's ``from_dlpack`` take."""

    def __init__(self, capsule: Any) -> None:
        import ctypes
        api = ctypes.pythonapi
        api.PyCapsule_GetName.restype, api.PyCapsule_GetName.argtypes = ctypes.c_char_p, [ctypes.py_object]
        api.PyCapsule_GetPointer.restype = ctypes.c_void_p
        api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        name = api.PyCapsule_GetName(capsule)
        if name not in (b"dltensor", b"dltensor_versioned"):
            raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
                               "consumed only once, so you might have already constructed a tensor from it once.")
        # DLTensor {data; DLDevice {type, id}; ...}, after a 32-byte header in the versioned form
        at = api.PyCapsule_GetPointer(capsule, name) + (32 if name == b"dltensor_versioned" else 0) + 8
        self.device = tuple(ctypes.cast(at, ctypes.POINTER(ctypes.c_int32))[:2])
        self.capsule = capsule

    def __dlpack__(self, **consumer: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.device


class _Writable:
    """A writable NumPy view of ``arr``'s memory (through the array interface); keeps ``arr`` alive."""

    def __init__(self, arr: np.ndarray) -> None:
        self.base = arr
        face = arr.__array_interface__
        self.__array_interface__ = {**face, "data": (face["data"][0], False)}


def from_dlpack(ext_tensor: Any) -> Tensor:
    """Import a DLPack-capable array (NumPy, CuPy, torch…) or a bare DLPack capsule, sharing memory."""
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    dev_type, dev_id = ext_tensor.__dlpack_device__() if hasattr(ext_tensor, "__dlpack_device__") else (1, 0)
    if dev_type == 1:
        arr = np.from_dlpack(ext_tensor)
        if isinstance(ext_tensor, _Capsule) and not arr.flags.writeable:   # NumPy's reading of an unversioned
            arr = np.asarray(_Writable(arr))                               # capsule; torch's tensor is writable
        return from_array(arr, None, CPU)
    cp = xp_of(canonical(f"cuda:{dev_id}"))
    return from_array(cp.from_dlpack(ext_tensor), None, canonical(f"cuda:{dev_id}"))


def _plain_size(size: tuple) -> tuple[int, ...] | None:
    """``size`` as given to ``zeros(*size)`` when it is the common case, non-negative Python ints (as a
    sequence or not), else None."""
    if len(size) == 1 and _isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if type(s) is not _int or s < 0:
            return None
    return size


def _size_args(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and _isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    out = []
    for s in size:
        if _isinstance(s, Tensor):
            s = int(s)
        if not _isinstance(s, (_int, np.integer)) or _isinstance(s, _bool):
            raise TypeError(f"zeros(): argument 'size' (position 1) must be tuple of ints, but found element of "
                            f"type {type(s).__name__} at pos 0")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(_int(s))
    return tuple(out)


def _factory(shape: tuple[int, ...], fill: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    dt = _resolve_dtype(dtype) or D.get_default_dtype()
    dev = canonical(device)
    xp = np if dev is CPU else xp_of(dev)
    if dt.kind:
        D.check_fill(dt, fill)
        _cpu_only(dt, dev)
    elif type(fill) is _int and 0 <= fill <= 1:   # zeros, ones: every dtype holds 0 and 1 (nothing to check)
        pass
    elif fill is not None and type(fill) is not _bool:   # (torch checks a 16-bit float value unless one element)
        fill = D.checked_scalar(dt, fill, half_range=math.prod(shape) != 1)
        if dt is D.bool:   # (any value: its truth; NumPy takes no int beyond int64)
            fill = _bool(fill)
    if fill is None:
        arr = xp.empty(shape, dt.np)
    elif fill == 0 and type(fill) is not _complex and not (type(fill) is _float and math.copysign(1.0, fill) < 0):
        arr = xp.zeros(shape, dt.np)
    elif fill == 1 and type(fill) is _int:   # (xp.ones fills as xp.full does, through more Python)
        arr = xp.empty(shape, dt.np)
        arr.fill(1)
    elif dt.kind == "float8":
        arr = D.convert(np.full(shape, fill, np.float32), D.float32, dt)
    else:
        arr = xp.full(shape, fill, dt.np)
    t = from_array(dense_empty(arr) if 0 in shape else arr, dt, dev)
    if requires_grad:
        factory_requires_grad(t)
    return t


def zeros(*dims: Any, size: Any = None, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
          device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    dims = sized(dims, size, "zeros", "size")
    shape = _plain_size(dims)
    if shape is None:
        if any(_isinstance(s, _int) and s < 0 for s in (dims[0] if len(dims) == 1 and
                                                        _isinstance(dims[0], (list, tuple)) else dims)):
            raise RuntimeError("zeros: Dimension size must be non-negative.")
        shape = _size_args(dims)
    return _maybe_out(_factory(shape, 0, dtype, device, requires_grad), out)


def ones(*dims: Any, size: Any = None, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
         device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    dims = sized(dims, size, "ones", "size")
    return _maybe_out(_factory(_plain_size(dims) or _size_args(dims), 1, dtype, device, requires_grad), out)


def empty(*dims: Any, size: Any = None, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
          device: Any = None, requires_grad: bool = False, pin_memory: bool = False,
          memory_format: Any = None) -> Tensor:
    dims = sized(dims, size, "empty", "size")
    return _maybe_out(_factory(_plain_size(dims) or _size_args(dims), None, dtype, device, requires_grad), out)


def full(size: Sequence[int], fill_value: Any, *, out: Tensor | None = None, dtype: Any = None,
         layout: Any = None, device: Any = None, requires_grad: bool = False,
         pin_memory: bool | None = False) -> Tensor:
    if type(fill_value) is int:
        scalar_range(fill_value)
    if dtype is None:
        dtype = D.scalar_dtype(fill_value.item() if _isinstance(fill_value, Tensor) else fill_value)
    if _isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    shape = _size_args((size,))
    if isinstance(dtype, D.dtype) and dtype.kind == "float8" and math.prod(shape) > 1:
        D.check_overflow(dtype, fill_value)     # torch checks the value only when filling several elements
    return _maybe_out(_factory(shape, fill_value, dtype, device, requires_grad), out)


def _maybe_out(t: Tensor, out: Tensor | None) -> Tensor:
    if out is None:
        return t
    from ._dispatch import write_out
    return write_out(out, t)


def _like(input: Tensor, dtype: Any, device: Any) -> tuple[D.dtype, Any]:
    return (_resolve_dtype(dtype) or input._dtype, device if device is not None else input._device)


def _like_factory(input: Tensor, fill: Any, dtype: Any, device: Any, requires_grad: bool,
                  memory_format: Any) -> Tensor:
    """A new tensor of ``input``'s shape (filled with ``fill`` unless None) laid out as torch lays out
    ``*_like`` results (``preserve_format``): ``input``'s strides when they are dense, else dense strides in
    the order of ``input``'s (gaps or overlaps removed); contiguous under ``contiguous_format``."""
    dt, dev = _like(input, dtype, device)
    if dt.kind == "quantized":     # torch makes *_like tensors with empty_strided, which refuses them
        raise D.convert_refusal(dt)
    arr = input._data
    elem = tuple(s // arr.itemsize for s in arr.strides)
    strides = layout_strides(arr.shape, elem, memory_format)
    if strides is None and memory_format in (None, preserve_format) and arr.size and not arr.flags.c_contiguous:
        strides = _iteration_strides(arr.shape, elem)
    t = _factory(arr.shape, fill, dt, dev, requires_grad)
    if strides is not None:
        xp = np if dev is CPU else xp_of(dev)
        buf = xp.empty(arr.size, dt.np)
        view = xp.lib.stride_tricks.as_strided(buf, arr.shape, tuple(s * buf.itemsize for s in strides))
        if fill is not None:
            view[...] = t._data
        t._data = view
    return t


def zeros_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, pin_memory: bool | None = False,
               memory_format: Any = None) -> Tensor:
    return _like_factory(input, 0, dtype, device, requires_grad, memory_format)


def ones_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, pin_memory: bool | None = False,
              memory_format: Any = None) -> Tensor:
    return _like_factory(input, 1, dtype, device, requires_grad, memory_format)


def empty_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, pin_memory: bool | None = False,
               memory_format: Any = None) -> Tensor:
    return _like_factory(input, None, dtype, device, requires_grad, memory_format)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, pin_memory: bool | None = False,
              memory_format: Any = None) -> Tensor:
    return _like_factory(input, fill_value, dtype, device, requires_grad, memory_format)


def eye(n: int, m: int | None = None, *, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
        device: Any = None, requires_grad: bool = False,
        pin_memory: bool | None = False) -> Tensor:
    n = operator.index(n)   # (an int, NumPy integer or one-element integer tensor)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    m = n if m is None else operator.index(m)
    if m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    t = _factory((n, m), 0, dtype, device, requires_grad)
    xp = np if t._device is CPU else xp_of(t._device)
    t._data[...] = xp.eye(n, m, dtype=t._dtype.np)
    return _maybe_out(t, out)


def _num(x: Any) -> Any:
    return x.item() if _isinstance(x, Tensor) else x


_UNSET: Any = object()   # an argument not given (where None would be a wrong value, as for torch)


def arange(start: Any = _UNSET, end: Any = _UNSET, step: Any = 1, *, out: Tensor | None = None,
           dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool | None = False) -> Tensor:
    """Values ``start, start+step, …`` below ``end``; integer arguments give int64. The values are torch's CPU
    kernel's bit for bit (:func:`_arange_values`)."""
    if end is _UNSET:
        if start is _UNSET:
            raise TypeError("arange() missing end")   # worded as torch's parser by ops/_signature
        start, end = 0, start
    elif start is _UNSET:
        start = 0
    if (dtype is None and type(start) is _int and type(end) is _int and type(step) is _int and step > 0
            and -_INT62 < start <= end < _INT62):   # the common int64 range, directly (what the checks below pass)
        arr = np.arange((end - start + step - 1) // step, dtype=np.int64)
        if step != 1:
            arr *= step
        if start:
            arr += start
        return _ranged(arr, D.int64, device, requires_grad, out)
    if start is None or end is None or step is None:   # (torch: each a Number)
        raise TypeError("arange() got None")
    start, end, step = _num(start), _num(end), _num(step)
    dt = _resolve_dtype(dtype)
    if dt is not None:
        _range_kernel("arange_cpu", dt)
        if dt.is_complex:
            raise NotImplementedError(f"\"arange_cpu\" not implemented for '{dt._short}'")
    else:
        dt = D.int64 if all(_isinstance(v, (_int, np.integer)) for v in (start, end, step)) else \
            D.get_default_dtype()
    _check_range(start, end, step)
    if dt is D.int64:   # torch truncates all three to int64 and counts in integers (a step truncated to 0:
        start, end, step = (_int(D.checked_scalar(D.int64, v)) for v in (start, end, step))   # its ValueError)
        if step == 0:
            raise ValueError("step must be nonzero")
        n = max(0, (end - start + step - (1 if step > 0 else -1)) // step) if end != start else 0
    else:
        n = max(0, math.ceil((end - start) / step))
        if dt.category == 1:   # other integer dtypes: the count from the numbers, the values from int64 start/step
            start, step = (_int(D.checked_scalar(D.int64, v)) for v in (start, step))
    return _ranged(_arange_values(start, step, n, dt), dt, device, requires_grad, out)


_INT62 = 1 << 62   # int64 ranges within ±2**62 count and step without overflow


def _ranged(arr: np.ndarray, dt: D.dtype, device: Any, requires_grad: bool, out: Tensor | None) -> Tensor:
    """arange's values ``arr`` as a tensor of ``dt`` on ``device`` (or written to ``out=``)."""
    dev = canonical(device)
    t = from_array(arr if dev is CPU else xp_of(dev).asarray(arr), dt, dev)
    if requires_grad:
        factory_requires_grad(t)
    return _range_out(t, out)


def _range_out(t: Tensor, out: Tensor | None) -> Tensor:
    """``t`` written to ``out=`` as torch's arange: an ``out`` of as many elements keeps its shape; one of
    another non-zero count is resized with arange's own warning."""
    if out is None:
        return t
    n, have = t._data.size, out._data.size
    if have == n:
        t = t.reshape(out.shape)
    elif have:
        warn(f"The number of elements in the out tensor of shape {list(out.shape)} is {have} which does not match "
             f"the computed number of elements {n}. Note that this may occur as a result of rounding error. The "
             f"out tensor will be resized to a tensor of shape ({n},).", UserWarning, stacklevel=3)
        out.resize_(0)
    return _maybe_out(t, out)


_ARANGE_VECTOR_BYTES = 32   # torch's arange kernel fills 256-bit vectors (on AVX2 and on AVX512 builds alike)
_ARANGE_GRAIN = 32768       # at::internal::GRAIN_SIZE: the elements per thread of its parallel_for
_EXACT_INTEGERS = {8: 2.0 ** 53, 4: 2.0 ** 24, 2: 2.0 ** 11}   # by itemsize; bfloat16's is 2**8


def _arange_values(start: Any, step: Any, n: int, dt: D.dtype) -> np.ndarray:
    """torch's CPU arange kernel: integers as ``start + step*i`` in int64 (wrapped to ``dt``); floats in the
    accumulate type (double; float for 16-bit floats) with fused multiply-adds. Each thread's part of
    ``range(n)`` is filled a pair of vectors at a time — element ``j`` of the vector at ``i0`` is
    ``base + j*step`` with ``base = start + step*i0`` rounded to ``dt`` (bfloat16's vectors add the product
    unfused) — and the part's tail one element at a time as ``start + step*i``. Where every value is an integer
    the type holds exactly, all of that is ``start + step*i``."""
    if dt.category < 2:
        return (np.arange(n, dtype=np.int64) * np.int64(step) + np.int64(start)).astype(dt.np)
    acc = np.float32 if dt.itemsize == 2 else np.float64
    a0, s = np.float64(acc(start)), np.float64(acc(step))
    limit = 2.0 ** 8 if dt is D.bfloat16 else _EXACT_INTEGERS[dt.itemsize]
    if n == 0 or a0.is_integer() and s.is_integer() and max(abs(a0), abs(a0 + s * (n - 1))) <= limit:
        return (np.arange(n, dtype=np.float64) * s + a0).astype(dt.np)

    def rounded(v: np.ndarray) -> np.ndarray:   # to the accumulate type, then to dt
        return v.astype(acc).astype(dt.np)

    width = _ARANGE_VECTOR_BYTES // dt.itemsize
    j = np.arange(width, dtype=np.float64)
    product = two_product(j, s)
    out = np.empty(n, dt.np)
    parts = 1 if n <= _ARANGE_GRAIN else min(get_num_threads(), -(-n // _ARANGE_GRAIN))
    chunk = -(-n // parts)
    with np.errstate(invalid="ignore", over="ignore"):
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            rows = (hi - lo) // (2 * width) * 2
            mid = lo + rows * width
            if rows:
                base = rounded(fused_multiply_add(s, np.arange(lo, mid, width, dtype=np.float64), a0))
                base = np.repeat(base.astype(np.float64), width)   # (flat: NumPy's loops are slow on short rows)
                if dt is D.bfloat16:
                    vals = base + np.tile((j * s).astype(np.float32), rows)
                else:
                    vals = add_product(np.tile(product[0], rows), np.tile(product[1], rows), base)
                vals = np.where(np.isfinite(base), vals, base)   # an overflowed base stays infinite
                out[lo:mid] = rounded(vals)
            tail = fused_multiply_add(s, np.arange(mid, hi, dtype=np.float64), a0)
            out[mid:hi] = rounded(np.where(np.isfinite(tail), tail, s * np.arange(mid, hi) + a0))
    return out


def _range_kernel(kernel: str, dt: D.dtype) -> None:
    """torch's arange/linspace/logspace kernels take neither bool, the wide unsigned types, complex32 nor ember's
    extra dtypes."""
    if dt in (D.bool, D.uint16, D.uint32, D.uint64, D.complex32) or dt.kind:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def _check_range(start: Any, end: Any, step: Any) -> None:
    """torch's checks of arange/range bounds: a nonzero step (NaN is none), finite ends, a step towards ``end``."""
    if not (step > 0 or step < 0):
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {float(start):g} -> {float(end):g}")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")


def range_(start: Any = 0, end: Any = None, step: Any = 1, *, out: Tensor | None = None, dtype: Any = None,
           layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Deprecated ``torch.range``: like arange but includes ``end``; default float dtype."""
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    start, end, step = _num(start), _num(end), _num(step)
    _check_range(start, end, step)
    warn("torch.range is deprecated and will be removed in a future release because its behavior is "
         "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values "
         "in [start, end).", UserWarning, stacklevel=2)
    n = _int(math.floor((end - start) / step)) + 1
    dt = _resolve_dtype(dtype) or D.get_default_dtype()
    arr = (start + np.arange(n, dtype=np.float64) * step).astype(dt.np)
    t = from_array(_place(arr, canonical(device)), dt, canonical(device))
    return _maybe_out(factory_requires_grad(t) if requires_grad else t, out)


def _linspace_real(start: float, end: float, steps: int, dt: D.dtype) -> np.ndarray:
    """torch's CPU kernel: element i is ``start + step*i`` in the first half and ``end - step*(steps-1-i)`` in
    the second. float32/float64 compute in the dtype with one fused multiply-add; integers take ``step`` in
    double from the truncated ends and truncate the fused result; float16/bfloat16 round after every
    operation, the index included."""
    i = np.arange(steps)
    first = i < steps // 2
    k = np.where(first, i, steps - 1 - i).astype(np.float64)
    if dt.is_floating_point and dt.itemsize <= 2:
        def r(x: Any) -> np.ndarray:
            return np.asarray(x, np.float32).astype(dt.np).astype(np.float32)
        s, e = r(start), r(end)
        prod = r(r(r(e - s) / r(steps - 1)) * r(k))
        return np.where(first, s + prod, e - prod).astype(dt.np)
    if dt.is_floating_point:
        s, e = np.asarray(start, dt.np), np.asarray(end, dt.np)
        step = np.float64((e - s) / dt.np.type(steps - 1))
    else:
        s, e = (_cast_array(np.trunc(np.float64(v)), dt).astype(np.float64) for v in (start, end))
        step = (e - s) / (steps - 1)
    vals = fused_multiply_add(np.where(first, step, -step), k, np.where(first, s, e).astype(np.float64))
    return _cast_array(vals if dt.is_floating_point else np.trunc(vals), dt)


def linspace(start: Any, end: Any, steps: int, *, out: Tensor | None = None, dtype: Any = None,
             layout: Any = None, device: Any = None, requires_grad: bool = False,
             pin_memory: bool | None = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, bit for bit torch's (symmetric) CPU values."""
    start, end = _num(start), _num(end)
    dt = _space_dtype("linspace", start, end, steps, dtype)
    for v in (start, end)[:min(steps, 2)]:   # (the kernel converts both ends; one step fills with start)
        D.checked_scalar(dt, v, half_range=True)
    if steps == 1:
        only = np.array([start if dt.is_complex else start.real])
        arr = _cast_array(np.trunc(only) if dt.category < 2 else only, dt)
    elif dt.is_complex:
        real = dt.to_real()
        arr = _cast_array(_linspace_real(complex(start).real, complex(end).real, steps, real)
                          + 1j * _linspace_real(complex(start).imag, complex(end).imag, steps, real), dt)
    else:
        arr = _linspace_real(start.real, end.real, steps, dt)
    dev = canonical(device)
    t = from_array(_place(arr, dev), dt, dev)
    if requires_grad:
        factory_requires_grad(t)
    return _maybe_out(t, out)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, out: Tensor | None = None,
             dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
             pin_memory: bool | None = False) -> Tensor:
    """``base`` to the powers ``linspace(start, end, steps)``, as torch's CPU kernel computes them: ends in
    ``dtype`` (integers truncated), the step in double from their difference in ``dtype``, exponents ``start +
    step*i`` in the first half and ``end - step*(steps-1-i)`` in the second, powers by libm, cast to ``dtype``."""
    start, end = _num(start), _num(end)
    dt = _space_dtype("logspace", start, end, steps, dtype)
    if steps == 0:
        arr = np.empty(0, dt.np)
    elif steps == 1:   # std::pow(double, start): a complex power of a positive base in polar form
        if dt.is_complex and base > 0:
            z = _complex(start)
            only = cmath.rect(_libm_pow(float(base), z.real), z.imag * math.log(base))
        else:
            only = _complex(base) ** _complex(start) if dt.is_complex else _libm_pow(float(base), float(start))
        arr = _cast_array(np.array([D.checked_scalar(dt, only)]), dt)
    elif dt.is_complex:
        ct = dt.np.type
        s, e = ct(start), ct(end)
        step = (e - s) / ct(steps - 1)
        i = np.arange(steps)
        k = np.where(i < steps // 2, i, steps - 1 - i).astype(dt.to_real().np)
        stride = step.real * k + 1j * (step.imag * k)   # step * k with k a complex of zero imaginary part
        x = np.where(i < steps // 2, s + stride, e - stride)
        with np.errstate(all="ignore"):
            arr = np.exp(x.astype(dt.np) * np.log(ct(base))).astype(dt.np)
    else:
        s, e = (np.asarray(D.checked_scalar(dt, v, half_range=True), dt.np) for v in (start, end))
        with np.errstate(all="ignore"):
            diff = e.astype(np.int64) - s.astype(np.int64) if dt.category < 2 else e - s
        step = np.float64(diff) / (steps - 1)
        i = np.arange(steps, dtype=np.float64)
        first = i < steps // 2
        x = np.where(first, np.float64(s) + step * i, np.float64(e) - step * (steps - 1 - i))
        arr = _cast_array(_libm_pow(float(base), x), dt)
    dev = canonical(device)
    t = from_array(_place(np.asarray(arr, dt.np).reshape(steps), dev), dt, dev)
    if requires_grad:
        factory_requires_grad(t)
    return _maybe_out(t, out)


def _space_dtype(name: str, start: Any, end: Any, steps: int, dtype: Any) -> D.dtype:
    """linspace/logspace's checks, in torch's order: steps, a complex end with a real ``dtype``, the kernel's
    dtypes (only where it runs: 2 steps or more)."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    complex_ends = any(_isinstance(v, _complex) for v in (start, end))
    default = D.get_default_dtype()
    inferred = default.to_complex() if complex_ends else default
    dt = _resolve_dtype(dtype) or inferred
    if complex_ends and not dt.is_complex:
        raise RuntimeError(f"torch.{name}(): inferred dtype {D.CPP_NAMES[inferred]} can't be safely cast to "
                           f"passed dtype {dt._short}")
    if steps > 1:
        _range_kernel(f"{name}_cpu", dt)
    return dt


def _libm_pow(base: float, x: Any) -> Any:
    """``base ** x`` elementwise by libm's pow (overflow to inf, a negative base's fractional power NaN)."""
    def one(v: float) -> float:
        try:
            return math.pow(base, v)
        except OverflowError:
            return math.inf
        except ValueError:
            return math.nan
    if np.ndim(x) == 0:
        return one(float(x))
    return np.fromiter(map(one, np.asarray(x, np.float64).tolist()), np.float64, count=np.size(x))


def _tri_indices(row: int, col: int, offset: int, upper: bool, dtype: Any, device: Any) -> Tensor:
    r, c = np.indices((row, col))
    mask = (c - r >= offset) if upper else (c - r <= offset)
    arr = np.stack([r[mask], c[mask]]).astype((_resolve_dtype(dtype) or D.int64).np)
    dev = canonical(device)
    return from_array(_place(arr, dev), _resolve_dtype(dtype) or D.int64, dev)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None, pin_memory: bool | None = False, requires_grad: bool = False) -> Tensor:
    t = _tri_indices(row, col, offset, False, dtype, device)
    return factory_requires_grad(t) if requires_grad else t


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None, pin_memory: bool | None = False, requires_grad: bool = False) -> Tensor:
    t = _tri_indices(row, col, offset, True, dtype, device)
    return factory_requires_grad(t) if requires_grad else t


# ---- legacy constructors (torch.Tensor(...), torch.FloatTensor(...)) ---------------------------------
_LEGACY_NEW = tuple(Signature(t, False) for t in (
    "new(*, Device? device=None)", "new(Storage storage)", "new(Tensor other)",
    "new(SymInt[] size, *, Device? device=None)", "new(object data, *, Device? device=None)"))


def _legacy_error(args: tuple, kwargs: dict) -> TypeError:
    return TypeError(parse_error(_LEGACY_NEW, args, kwargs) or "new() received an invalid combination of arguments")


def _options(dt: D.dtype, dev: device) -> str:
    return f"TensorOptions(dtype={D.CPP_NAMES[dt]}, device={dev}, layout=Strided, requires_grad=false (default), " \
           "pinned_memory=false (default), memory_format=(nullopt))"


def legacy_new(cls: type, dt: D.dtype, args: tuple, kwargs: dict, dev: Any = None) -> Tensor:
    """torch's legacy constructor rules: sizes (ints or a torch.Size, or ``size=``) → uninitialised; data → copy;
    a same-dtype ndarray or tensor → shared; torch's parser errors otherwise."""
    given = kwargs
    kwargs = dict(kwargs)
    dev = canonical(kwargs.pop("device", dev))
    size = kwargs.pop("size", None)
    if kwargs or size is not None and args:
        raise _legacy_error(args, given)
    if size is not None:
        args = (Size(size),)
    if not args:
        t = from_array(_place(np.empty((0,), dt.np), dev), dt, dev)
    elif all(_isinstance(a, (_int, np.integer)) and not _isinstance(a, _bool) for a in args) or (
            len(args) == 1 and _isinstance(args[0], Size)):
        t = _factory(_size_args(args[0] if _isinstance(args[0], Size) else args), None, dt, dev, False)
    elif len(args) > 1:
        raise _legacy_error(args, given)
    elif _isinstance(args[0], Tensor):
        src = args[0]
        if "device" in given:
            raise RuntimeError("Legacy tensor constructor of the form torch.Tensor(tensor, device=device) is not "
                               "supported.  Use torch.tensor(...) or torch.as_tensor(...) instead.")
        if src._dtype is not dt:
            raise TypeError(f"expected {_options(dt, dev)} (got {_options(src._dtype, src._device)})")
        t = src
    elif _isinstance(args[0], np.ndarray) and args[0].dtype == dt.np and dev is CPU:
        t = from_numpy(args[0])
    elif not _isinstance(args[0], (Sequence, np.ndarray)):
        raise TypeError(f"new(): data must be a sequence (got {type_name(args[0])})")
    else:
        t = tensor(args[0], dtype=dt, device=dev)
    if cls is not Tensor and type(t) is not cls:
        from .._tensor import _as_subclass
        t = _as_subclass(t, cls)
    return t


# ---- conversion ---------------------------------------------------------------------------------------
class ToCopyBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        shape, dt = self._meta[0]
        return (to_dtype(g, dt) if not (g._dtype.is_complex and not dt.is_complex) else to_dtype(g.real, dt),)


def _elem_strides(arr: Any) -> tuple[int, ...]:
    return tuple(s // arr.itemsize for s in arr.strides)


def iterator_order(ndim: int, after: Callable[[int, int], int]) -> list[int]:
    """torch's TensorIterator dim order, innermost first: an insertion sort from the last dim inwards by
    ``after(a, b)`` (1: dim a goes outside dim b, -1: inside, 0: undecided, which moves on past the pair)."""
    perm = list(range(ndim - 1, -1, -1))
    for i in range(1, ndim):
        j = i
        for k in range(i - 1, -1, -1):
            c = after(perm[k], perm[j])
            if c > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif c < 0:
                break
    return perm


def _iteration_strides(shape: tuple[int, ...], *operands: tuple[int, ...]) -> tuple[int, ...]:
    """Dense strides in the dim order torch's TensorIterator gives a result over operands with these strides
    (a copy: one operand): an insertion sort by stride from the last dim inwards, the first operand that
    tells two dims apart deciding; a 0 stride (an expanded dim) decides nothing (so it keeps its place by
    index) and equal strides put the larger dim outside."""
    def outer(a: int, b: int) -> int:   # 1: dim a lies outside dim b, -1: inside, 0: undecided
        for strides in operands:
            if strides[a] == 0 or strides[b] == 0:
                continue
            if strides[a] != strides[b]:
                return 1 if strides[a] > strides[b] else -1
            if shape[a] > shape[b]:
                return 1
        return 0

    perm = iterator_order(len(shape), outer)   # innermost first
    out = [0] * len(shape)
    step = 1
    for d in perm:
        out[d] = step
        step *= shape[d]
    return tuple(out)


def c_like(strides: tuple[int, ...]) -> bool:
    """Whether the dims of an expanded array that are not expanded are in C order (torch's copy of it, and an
    elementwise result over it, is then C-contiguous)."""
    live = [s for s in strides if s]
    return all(a >= b for a, b in zip(live, live[1:], strict=False))


def _strided_copy(arr: Any, strides: tuple[int, ...], xp: Any, dtype: Any = None) -> Any:
    """A copy of ``arr`` (cast to ``dtype`` if given) with the given dense element ``strides``."""
    buf = xp.empty(arr.size, arr.dtype if dtype is None else dtype)
    # as_strided rebuilds the array from its type string, which NumPy cannot read back for extension dtypes
    # (float8's 'f1', complex32's 'W4'): those go through raw bytes
    plain = buf.view(f"V{buf.itemsize}") if buf.dtype.isbuiltin == 2 else buf
    out = xp.lib.stride_tricks.as_strided(plain, arr.shape, tuple(s * buf.itemsize for s in strides)).view(buf.dtype)
    out[...] = arr
    return out


def relayout(arr: Any, memory_format: Any, xp: Any) -> Any:
    """``arr`` laid out in ``memory_format`` (contiguous or channels-last): a copy."""
    strides = layout_strides(arr.shape, _elem_strides(arr), memory_format)
    if strides is None:
        return xp.array(arr, order="C", copy=True)
    return _strided_copy(arr, strides, xp)


def dense_in(arr: Any, memory_format: Any, xp: Any) -> Any:
    """``arr`` laid out densely in ``memory_format`` (contiguous or channels-last), as is when it already is."""
    if memory_format is contiguous_format:
        return xp.asarray(arr, order="C")   # (ascontiguousarray would make a 0-d array 1-d)
    strides = _elem_strides(arr)
    return arr if layout_strides(arr.shape, strides, memory_format) == strides else relayout(arr, memory_format, xp)


def follow_first(r: Any, first: Any, xp: Any) -> Any:
    """An elementwise result ``r`` laid out as its first operand ``first`` where NumPy chose C order but torch's
    TensorIterator, the operands' layouts disagreeing, takes the first one's (a channels-last input plus a
    contiguous one stays channels-last); ``r`` itself otherwise (no copy)."""
    if first.flags.c_contiguous or first.ndim < 2 or first.shape != r.shape or not r.flags.c_contiguous \
            or 0 in first.strides:   # (an expanded first operand leaves the order to the others, C here too)
        return r
    out = xp.empty_like(first, dtype=r.dtype)
    if out.strides == r.strides:
        return r
    out[...] = r
    return out


def _laid_out(arr: Any, memory_format: Any) -> bool:
    """Whether ``arr`` is already dense in ``memory_format``."""
    if memory_format is contiguous_format:
        return bool(arr.flags.c_contiguous)
    return is_contiguous_as(arr.shape, _elem_strides(arr), memory_format)


def _discarding_imaginary(src: D.dtype, dst: D.dtype, stacklevel: int) -> None:
    """torch's warning (once per process) for a complex -> real conversion."""
    if src.is_complex and not dst.is_complex:
        from .elementwise import _COMPLEX_CAST_WARNING as once
        if once:
            warn(once.pop(), UserWarning, stacklevel=stacklevel)


def to_dtype(self: Tensor, dtype: Any, dev: Any = None, copy: bool = False, memory_format: Any = None) -> Tensor:
    """Convert to ``dtype`` (and device, and memory format); returns ``self`` when nothing changes (the layout
    already follows ``memory_format``) unless ``copy``."""
    dt = _resolve_dtype(dtype) or self._dtype
    dev = canonical(dev) if dev is not None else self._device
    fmt = None if memory_format is preserve_format else memory_format
    if dt is self._dtype and dev is self._device and not copy and (
            fmt is None or suggest_memory_format(self._data.shape, _elem_strides(self._data)) is fmt):
        return self
    _discarding_imaginary(self._dtype, dt, 4)
    arr = self._data
    if dev is not self._device:
        arr = _host(arr) if dev is CPU else xp_of(dev).asarray(_host(arr))
    if dt.kind or self._dtype.kind:
        _cpu_only(dt, dev)
        arr = _place(D.convert(_host(arr), self._dtype, dt), dev) if dt is not self._dtype else arr
    else:
        arr = _cast_array(arr, dt) if dev is CPU else arr.astype(dt.np)
    if fmt is not None and (arr is self._data or not _laid_out(arr, fmt)):
        arr = relayout(arr, fmt, np if dev is CPU else xp_of(dev))
    elif arr is self._data:   # (copy=True: a copy laid out as clone's)
        arr = copy_like(arr, arr, np if dev is CPU else xp_of(dev))
    t = from_array(arr, dt, dev)
    if self._rg and STATE.enabled and (dt.is_floating_point or dt.is_complex):
        record(t, ToCopyBackward0(), (self,))
    return t


def to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None, non_blocking: Any = False,
       copy: Any = False, memory_format: Any = None, tensor: Tensor | None = None) -> Tensor:
    """torch's overloads ``to(device=None, dtype=None, non_blocking=False, copy=False)``, ``to(dtype,
    non_blocking=False, copy=False)`` and ``to(tensor, non_blocking=False, copy=False)``, each with
    ``memory_format=``. Other calls raise a TypeError, worded as torch's parser by ops/_signature."""
    dev = device
    if tensor is not None:
        args = (tensor, *args)
    if args:
        a, flags = args[0], args[1:]
        given = dtype is not None or dev is not None   # then by keyword as well: no overload
        if _isinstance(a, Tensor):
            dtype, dev = a._dtype, a._device
        elif _isinstance(a, D.dtype) or any(a is t for t in _PY_DTYPES):
            dtype = a
        elif _isinstance(a, (_float, _bool, _complex)):   # torch reads a Python number as its type's dtype
            dtype = type(a)
        else:
            dev, given = a, given and dev is not None
            if flags:   # (a bool here is a wrong dtype, not non_blocking, for torch)
                if flags[0] is False or flags[0] is True:
                    raise TypeError("to(): invalid dtype")   # worded as torch's parser by ops/_signature
                dtype, flags, given = flags[0], flags[1:], given or dtype is not None
        if given or len(flags) > 2:
            raise TypeError("to(): invalid arguments")   # worded as torch's parser by ops/_signature
        if len(flags) == 2:
            copy = flags[1]
        if flags:
            non_blocking = flags[0]
    if copy is not False and copy is not True or non_blocking is not False and non_blocking is not True:
        raise TypeError("to(): copy and non_blocking must be bool")
    if dev is not None and not _isinstance(dev, (str, _device, _int)) or _isinstance(dev, _bool):
        raise TypeError(f"to(): invalid device {type(dev).__name__}")
    return to_dtype(self, dtype, dev=dev, copy=copy, memory_format=memory_format)


def copy_like(src: Any, like: Any, xp: Any) -> Any:
    """A copy of ``src`` laid out as torch's ``empty_like(like)`` (preserve_format) would be: ``like`` has
    ``src``'s shape and the same or reversed (flipped) strides."""
    if not like.size:   # (torch keeps an empty tensor's strides, 0s included)
        return xp.lib.stride_tricks.as_strided(xp.empty(0, like.dtype), like.shape, like.strides)
    if 1 in like.shape and (dense := layout_strides(like.shape, _elem_strides(like), preserve_format)) is not None:
        return _strided_copy(src, dense, xp)   # dense: the same strides, size-1 dims' too (NumPy resets those)
    if 0 in like.strides and like.size > 1 or 1 in like.shape:   # expanded, or size-1 dims: torch's order
        return _strided_copy(src, _iteration_strides(like.shape, _elem_strides(like)), xp)   # (not NumPy's)
    return xp.array(src, order="K", copy=True) if xp is np else src.copy(order="K")


class CloneBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g,)


def clone(self: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy (keeping the strides of a dense input, as torch; or laid out in ``memory_format``)."""
    a = self._data
    xp = np if self._device is CPU else xp_of(self._device)
    if memory_format is not None and memory_format is not preserve_format:
        arr = relayout(a, memory_format, xp)
    else:
        arr = copy_like(a, a, xp)
    t = from_array(arr, self._dtype, self._device)
    if self._rg and STATE.enabled:
        record(t, CloneBackward0(), (self,))
    return t


def detach(self: Tensor) -> Tensor:
    """The same memory and version counter, cut from the graph (an inference tensor only if ``self`` is one,
    whatever the mode: it aliases ``self``)."""
    t = from_array(self._data, self._dtype, self._device)
    t._vc = self._vc
    if _INFERENCE[0]:   # (no tensor is an inference one before inference mode was first used)
        t._inference = self.is_inference()
    if self._math_bits:
        t._math_bits = self._math_bits
    return t


def detach_(self: Tensor) -> Tensor:
    if self._base is not None:
        raise RuntimeError("Can't detach views in-place. Use detach() instead. If you are using "
                           "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as "
                           "True, gradients are views of "
                           "DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, "
                           "please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the "
                           "solution.")
    self._grad_fn = None
    self._rg = False
    return self


class CopyBackwards(Node):
    """``copy_``'s node: the overwritten tensor gets zeros (not ``g * 0``: an inf/NaN gradient stays out), the
    source the gradient (reduced and cast to it by the engine)."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::CopyBackwards"

    def backward(self, g: Tensor) -> tuple:
        return (zeros_like(g), g)


def copy_(self: Tensor, other: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``other`` (broadcast, converted) into ``self`` in place."""
    if not _isinstance(other, Tensor):
        other = tensor(other, dtype=self._dtype, device=self._device)
    check_inplace(self)
    dst = self._data
    if not getattr(dst.flags, "writeable", True) and dst.size:   # expanded: torch's overlap error, then shapes
        _assign(dst, dst)
    if other._data.shape != dst.shape and (full := broadcast_shapes(dst.shape, other._data.shape)) != dst.shape:
        raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape {list(full)}")
    _discarding_imaginary(other._dtype, self._dtype, 3)
    if STATE.enabled and (self._rg or other._rg):
        from ._dispatch import history_alias, inplace
        res = _copy_result(history_alias(self), other)
        return inplace(self, res)
    arr = other._data
    if other._device is not self._device:
        arr = _host(arr) if self._device is CPU else xp_of(self._device).asarray(_host(arr))
    if other._dtype is not self._dtype and (other._dtype.kind or self._dtype.kind):
        arr = _place(D.convert(_host(arr), other._dtype, self._dtype), self._device)
    elif arr.dtype != self._data.dtype:
        arr = _cast_array(arr, self._dtype, dst=self._data) if _isinstance(arr, np.ndarray) else \
            arr.astype(self._dtype.np)
    try:
        _assign(self._data, arr)      # read-only (expanded) destinations get torch's overlap error
    except ValueError:
        raise broadcast_error(self._data.shape, other._data.shape) from None
    self._vc[0] += 1
    return self


def _copy_result(dst: Tensor, src: Tensor) -> Tensor:
    """Out-of-place form of ``dst.copy_(src)`` for autograd: ``src`` broadcast and cast to ``dst``."""
    s = src.to(dtype=dst._dtype, device=dst._device).expand(dst._data.shape)
    arr = s._data.copy()
    t = from_array(arr, dst._dtype, dst._device)
    if STATE.enabled and (dst._rg or src._rg):
        record(t, CopyBackwards(), (dst, src))
    return t


class FillBackward2(Node):
    """``fill_`` with a number: nothing of ``self``'s old values survives."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (zeros_like(g),)


class ZeroBackward0(FillBackward2):
    __slots__ = ()


class FillBackward3(Node):
    """``fill_`` with a 0-d tensor: every element receives the value, whose gradient is the sum."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return zeros_like(g), (g.sum() if self._next[1] is not None else None)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor, whose gradient is then recorded)."""
    return _fill(self, value, FillBackward2)


def _fill(self: Tensor, value: Any, node_cls: type[Node]) -> Tensor:
    if type(value) is int:   # (torch's argument parser: a Scalar holds int64 and uint64 values)
        scalar_range(value)
    by_tensor = _isinstance(value, Tensor)   # torch's tensor-valued fill refuses overlapping memory
    if by_tensor:
        if value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        if STATE.enabled and (self._rg or value._rg):
            check_inplace(self)
            return _recorded_fill(self, value, FillBackward3, (self, value))
        value = value.item()
    check_inplace(self)
    if self._dtype.kind:
        value = D.fill_value(self._dtype, value, self._data.size, node_cls is ZeroBackward0)
    elif by_tensor:   # a tensor's value is cast unchecked (wrapping), as torch
        value = _cast_array(np.asarray(value), self._dtype).item()
    else:
        value = D.checked_scalar(self._dtype, value, half_range=self._data.size > 1)
    if STATE.enabled and self._rg:
        return _recorded_fill(self, full((), value, dtype=self._dtype, device=self._device), node_cls, (self,))
    dst = self._data
    if type(dst) is np.ndarray and not dst.flags.writeable:   # an expanded tensor: torch fills it all the same
        alias = writable_alias(dst, overlapping=not by_tensor)
        if alias is None:
            _assign(dst, value)
        dst = alias
    dst[...] = value
    self._vc[0] += 1
    return self


def _recorded_fill(self: Tensor, value: Tensor, node_cls: type[Node], inputs: tuple) -> Tensor:
    """``self`` filled with the 0-d ``value``, recorded as ``node_cls`` over ``inputs`` (then rebased)."""
    from ._dispatch import inplace
    arr = xp_of(self._device).empty_like(self._data, order="C")
    arr.fill(value._data if value._device is self._device else value.item())
    res = from_array(arr, self._dtype, self._device)
    record(res, node_cls(), inputs)
    return inplace(self, res)


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero."""
    return _fill(self, 0, ZeroBackward0)


def _convert(dt: D.dtype) -> Any:
    def method(self: Tensor, *, memory_format: Any = None) -> Tensor:
        return to_dtype(self, dt, memory_format=memory_format)
    method.__name__ = method.__qualname__ = {D.float32: "float", D.float64: "double", D.float16: "half",
                                             D.int64: "long", D.int32: "int", D.int16: "short", D.int8: "char",
                                             D.uint8: "byte", D.complex64: "cfloat",
                                             D.complex128: "cdouble"}.get(dt, dt.name)
    return method


def cpu(self: Tensor, *, memory_format: Any = None) -> Tensor:
    return to_dtype(self, None, dev=CPU, memory_format=memory_format)


def cuda(self: Tensor, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> Tensor:
    d = canonical("cuda" if device is None else device if not _isinstance(device, _int) else f"cuda:{device}")
    return to_dtype(self, None, dev=d)


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    if _isinstance(data, Tensor):
        _copy_construct_warning("tensor.new_tensor")
    return _tensor(data, dtype or self._dtype, device or self._device, requires_grad)


def _new_factory(name: str, fill: Any) -> Any:
    def method(self: Tensor, *dims: Any, size: Any = None, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
        return _factory(_size_args(sized(dims, size, name, "size")), fill, dtype or self._dtype,
                        device or self._device, requires_grad)
    method.__name__ = name
    return method


def new_full(self: Tensor, size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    if fill_value is None or _isinstance(size, (_int, np.integer)):   # (torch: a Number; a tuple of ints)
        raise TypeError("new_full(): invalid arguments")   # worded as torch's parser by ops/_signature
    return _factory(_size_args((size,)), fill_value, dtype or self._dtype, device or self._device, requires_grad)


bind({
    "to": to, "clone": clone, "detach": detach, "detach_": detach_, "copy_": copy_, "fill_": fill_,
    "zero_": zero_, "cpu": cpu, "cuda": cuda, "new_tensor": new_tensor, "new_zeros": _new_factory("new_zeros", 0),
    "new_ones": _new_factory("new_ones", 1), "new_empty": _new_factory("new_empty", None), "new_full": new_full,
    "float": _convert(D.float32), "double": _convert(D.float64), "half": _convert(D.float16),
    "bfloat16": _convert(D.bfloat16), "long": _convert(D.int64), "int": _convert(D.int32),
    "short": _convert(D.int16), "char": _convert(D.int8), "byte": _convert(D.uint8), "bool": _convert(D.bool),
    "cfloat": _convert(D.complex64), "cdouble": _convert(D.complex128),
})
