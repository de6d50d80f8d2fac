"""``ember.testing``: torch.testing's ``assert_close`` (same tolerances, checks and failure messages), ``make_tensor``
and the deprecated ``assert_allclose``."""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._tensor import Tensor
from ._creation import make_tensor
from ._deprecated import assert_allclose

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

_TOLERANCES = {D.float16: (1e-3, 1e-5), D.bfloat16: (1.6e-2, 1e-5), D.float32: (1.3e-6, 1e-5),
               D.float64: (1e-7, 1e-7), D.complex32: (1e-3, 1e-5), D.complex64: (1.3e-6, 1e-5),
               D.complex128: (1e-7, 1e-7), **dict.fromkeys((D.quint8, D.qint8, D.qint32, D.quint4x2, D.quint2x4),
                                                           (1.3e-6, 1e-5))}
# compressed layouts: (name in messages, compressed indices, plain indices)
_ROWS, _COLS = ("crow_indices", "col_indices"), ("ccol_indices", "row_indices")
_COMPRESSED = {"sparse_csr": ("CSR", *_ROWS), "sparse_bsr": ("BSR", *_ROWS), "sparse_csc": ("CSC", *_COLS),
               "sparse_bsc": ("BSC", *_COLS)}


class _Mismatch(AssertionError):
    """A failed comparison, raised to the caller as ``kind`` (TypeError for inputs no comparison handles);
    ``trail`` names the item of nested inputs it occurred for."""

    def __init__(self, message: str, trail: str = "", kind: type[Exception] = AssertionError) -> None:
        super().__init__(message)
        self.message, self.trail, self.kind = message, trail, kind


def _unsupported(actual: Any, expected: Any) -> _Mismatch:
    return _Mismatch(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.",
                     kind=TypeError)


def _tolerances(*dtypes: D.dtype) -> tuple[float, float]:
    pairs = [_TOLERANCES.get(dt, (0.0, 0.0)) for dt in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _host(t: Tensor) -> np.ndarray:
    a = t.detach()
    if a.dtype is D.bfloat16:
        a = a.float()
    return np.asarray(a.resolve_conj().resolve_neg().cpu()._data)   # (float8 too, which numpy() refuses)


def _index(flat: int, shape: tuple[int, ...]) -> str:
    idx = np.unravel_index(flat, shape) if shape else ()
    return "(" + ", ".join(str(int(i)) for i in idx) + ("," if len(idx) == 1 else "") + ")"


def _value(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _greatest(diff: np.ndarray) -> int:
    """The flat index of the largest entry (the first nan, when there is one, as torch.max)."""
    nan = np.flatnonzero(np.isnan(diff))
    return int(nan[0]) if nan.size else int(np.argmax(diff))


def _header(identifier: str, exact: bool) -> str:
    return f"{identifier} are not {'equal' if exact else 'close'}!\n\n"


def _scalar_message(actual: Any, expected: Any, rtol: float, atol: float, identifier: str = "Scalars") -> str:
    diff = abs(actual - expected)
    rel = diff / abs(expected) if expected else float("inf")
    exact = rtol == 0 and atol == 0
    tol = ("", "") if exact else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    return (_header(identifier, exact) + f"Expected {expected} but got {actual}.\n"
            f"Absolute difference: {diff}{tol[0]}\nRelative difference: {rel}{tol[1]}")


def _values_close(actual: Tensor, expected: Tensor, rtol: float, atol: float, equal_nan: bool,
                  identifier: str = "Tensor-likes") -> None:
    """torch's isclose on two tensors of one dtype and shape; on a mismatch, its message (a 0-d pair's as
    scalars)."""
    a, e = _host(actual), _host(expected)
    exact = rtol == 0 and atol == 0
    if a.dtype == bool:
        a, e = a.astype(np.int64), e.astype(np.int64)
    wide = np.complex128 if np.iscomplexobj(a) else np.float64
    aw, ew = a.astype(wide), e.astype(wide)
    with np.errstate(all="ignore"):
        close = aw == ew
        if not exact or np.issubdtype(a.dtype, np.inexact):   # (an infinite difference is never close)
            gap = np.abs(aw - ew)
            close |= np.isfinite(gap) & (gap <= atol + rtol * np.abs(ew))
        if equal_nan:
            close |= np.isnan(aw) & np.isnan(ew)
        if close.all():
            return
        if not actual.shape:
            raise _Mismatch(_scalar_message(actual.item(), expected.item(), rtol, atol,
                                            "Scalars" if identifier == "Tensor-likes" else identifier))
        n, bad = close.size, int((~close).sum())
        counts = f"Mismatched elements: {bad} / {n} ({100 * bad / n:.1f}%)\n"
        shape = tuple(actual.shape)
        if actual.dtype.is_floating_point and actual.dtype.itemsize == 1:   # float8: compared bit for bit
            first = _index(int(np.flatnonzero(~close)[0]), shape)
            raise _Mismatch(f"{identifier} are not 'equal'!\n\n{counts}The first mismatched element is at index "
                            f"{first}.")
        if a.dtype.kind in "iub":   # as torch: integer differences, relative ones in the default float dtype
            abs_diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
            rel_diff = abs_diff.astype(np.float32) / np.abs(e.astype(np.int64)).astype(np.float32)
        else:                       # in the inputs' own precision (bfloat16's: rounded back from float32)
            own = (lambda x: x.astype(D.bfloat16.np).astype(np.float32)) \
                if actual.dtype is D.bfloat16 and expected.dtype is D.bfloat16 else (lambda x: x)
            abs_diff = own(np.abs(a - e))
            rel_diff = own(abs_diff / np.abs(e))
    abs_diff = np.where(close, 0, abs_diff).reshape(-1)
    rel_diff = np.where(close, 0, rel_diff).reshape(-1)
    ia, ir = _greatest(abs_diff), _greatest(rel_diff)
    tol = ("", "") if exact else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    raise _Mismatch(_header(identifier, exact) + counts +
                    f"Greatest absolute difference: {_value(abs_diff[ia])} at index {_index(ia, shape)}{tol[0]}\n"
                    f"Greatest relative difference: {_value(rel_diff[ir])} at index {_index(ir, shape)}{tol[1]}")


def _promoted(actual: Tensor, expected: Tensor) -> tuple[Tensor, Tensor]:
    """Both in their promoted dtype (the wide unsigned ones counting as int64), on the CPU when devices differ."""
    if actual.device != expected.device:
        actual, expected = actual.cpu(), expected.cpu()
    if actual.dtype is not expected.dtype:
        wide = (D.uint16, D.uint32, D.uint64)
        common = D.promote_types(D.int64 if actual.dtype in wide else actual.dtype,
                                 D.int64 if expected.dtype in wide else expected.dtype)
        actual, expected = actual.to(common), expected.to(common)
    return actual, expected


def _compare_tensors(actual: Tensor, expected: Tensor, rtol: float | None, atol: float | None, equal_nan: bool,
                     check_device: bool, check_dtype: bool, check_layout: bool, check_stride: bool) -> None:
    """torch's TensorLikePair: attributes (shape, quantization, layout or strides, device, dtype), then values:
    quantized ones dequantized, sparse ones by their indices and values."""
    def mismatch(name: str, a: Any, e: Any) -> None:
        if a != e:
            raise _Mismatch(f"The values for attribute '{name}' do not match: {a} != {e}.")

    mismatch("shape", actual.shape, expected.shape)
    mismatch("is_quantized", actual.is_quantized, expected.is_quantized)
    if actual.is_quantized:
        mismatch("qscheme()", actual.qscheme(), expected.qscheme())
    if actual.layout != expected.layout:
        if check_layout:
            mismatch("layout", actual.layout, expected.layout)
    elif check_stride and actual.layout._name == "strided":
        mismatch("stride()", actual.stride(), expected.stride())
    if check_device:
        mismatch("device", actual.device, expected.device)
    if check_dtype:
        mismatch("dtype", actual.dtype, expected.dtype)
    if rtol is None or atol is None:
        rtol, atol = _tolerances(actual.dtype, expected.dtype)
    actual, expected = _promoted(actual, expected)
    layout = actual.layout._name
    if layout != expected.layout._name:
        actual, expected = (t.to_dense() if t.layout._name != "strided" else t for t in (actual, expected))
        layout = "strided"
    if actual.is_quantized:
        _values_close(actual.dequantize(), expected.dequantize(), rtol, atol, equal_nan,
                      "Quantized scalars" if not actual.shape else "Quantized tensor-likes")
    elif layout == "sparse_coo":
        if actual.is_coalesced() != expected.is_coalesced():
            actual, expected = actual.coalesce(), expected.coalesce()
        for what, a, e in (("sparse dimensions", actual.sparse_dim(), expected.sparse_dim()),
                           ("specified values", actual._nnz(), expected._nnz())):
            if a != e:
                raise _Mismatch(f"The number of {what} in sparse COO tensors does not match: {a} != {e}")
        _values_close(actual._indices(), expected._indices(), 0.0, 0.0, False, "Sparse COO indices")
        _values_close(actual._values(), expected._values(), rtol, atol, equal_nan, "Sparse COO values")
    elif layout in _COMPRESSED:
        name, compressed, plain = _COMPRESSED[layout]
        if actual._nnz() != expected._nnz():
            raise _Mismatch(f"The number of specified values in sparse {name} tensors does not match: "
                            f"{actual._nnz()} != {expected._nnz()}")
        for method in (compressed, plain):
            a, e = getattr(actual, method)(), getattr(expected, method)()
            common = D.promote_types(a.dtype, e.dtype)
            _values_close(a.to(common), e.to(common), 0.0, 0.0, False, f"Sparse {name} {method}")
        _values_close(actual.values(), expected.values(), rtol, atol, equal_nan, f"Sparse {name} values")
    else:
        if actual.dtype.is_floating_point and actual.dtype.itemsize == 1 and (rtol or atol):
            raise _Mismatch(f"Rtol={rtol} and atol={atol} are not supported for bitwise comparison of low dimensional "
                            "floats. Please use rtol=0.0 and atol=0.0.")
        _values_close(actual, expected, rtol, atol, equal_nan)


def _compare_numbers(actual: Any, expected: Any, rtol: float | None, atol: float | None, equal_nan: bool,
                     check_dtype: bool) -> None:
    """torch's NumberPair (NumPy numbers as their Python values)."""
    actual, expected = (x.item() if isinstance(x, np.number) else x for x in (actual, expected))
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if rtol is None or atol is None:
        rtol, atol = (1e-7, 1e-7) if isinstance(expected, (float, complex)) or isinstance(actual, (float, complex)) \
            else (0.0, 0.0)
    if actual == expected or (equal_nan and cmath.isnan(actual) and cmath.isnan(expected)):
        return
    diff = abs(actual - expected)
    if not (math.isfinite(diff) and diff <= atol + rtol * abs(expected)):   # (an infinite difference never is)
        raise _Mismatch(_scalar_message(actual, expected, rtol, atol))


def _compare(actual: Any, expected: Any, kw: dict) -> None:
    """Nested sequences and mappings item by item; leaves by torch's pairs in its order: None, booleans,
    numbers, tensor-likes (tensors or NumPy arrays, of related types)."""
    if isinstance(expected, Sequence) and not isinstance(expected, str) and isinstance(actual, Sequence) \
            and not isinstance(actual, str):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _nested(a, e, kw, f"[{i}]")
        return
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        if set(actual) != set(expected):
            raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                            f"{sorted(set(expected) - set(actual), key=repr)}\nAdditional keys in the actual "
                            f"mapping: {sorted(set(actual) - set(expected), key=repr)}")
        for k in expected:
            _nested(actual[k], expected[k], kw, f"[{k!r}]")
        return
    if actual is None or expected is None:
        if actual is not None or expected is not None:
            raise _Mismatch(f"None mismatch: {actual} is not {expected}")
        return
    booleans = (bool, np.bool_)
    if isinstance(actual, booleans) and isinstance(expected, booleans):
        if bool(actual) is not bool(expected):
            raise _Mismatch(f"Booleans mismatch: {bool(actual)} is not {bool(expected)}")
        return
    numbers = (int, float, complex, np.number)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        _compare_numbers(actual, expected, kw["rtol"], kw["atol"], kw["equal_nan"], kw["check_dtype"])
        return
    likes = (Tensor, np.ndarray)
    if not (isinstance(actual, likes) and isinstance(expected, likes)) \
            or not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))) \
            or (not kw["allow_subclasses"] and type(actual) is not type(expected)):
        raise _unsupported(actual, expected)
    if isinstance(actual, np.ndarray):
        from ..ops.creation import from_numpy
        actual, expected = from_numpy(actual), from_numpy(expected)
    _compare_tensors(actual, expected, kw["rtol"], kw["atol"], kw["equal_nan"], kw["check_device"],
                     kw["check_dtype"], kw["check_layout"], kw["check_stride"])


def _nested(actual: Any, expected: Any, kw: dict, item: str) -> None:
    try:
        _compare(actual, expected, kw)
    except _Mismatch as m:
        raise _Mismatch(m.message, item + m.trail, m.kind) from None


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Assert that ``actual`` and ``expected`` (tensors, arrays, scalars, or sequences/mappings of them) have
    the same shape, device and dtype and values within ``atol + rtol * |expected|`` (dtype-based defaults)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    kw = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_device": check_device,
          "check_dtype": check_dtype, "check_layout": check_layout, "check_stride": check_stride,
          "allow_subclasses": allow_subclasses}
    try:
        _compare(actual, expected, kw)
    except _Mismatch as m:
        text = m.message + (f"\n\nThe failure occurred for item {m.trail}" if m.trail else "")
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise m.kind(text) from None
