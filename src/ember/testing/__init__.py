"""``ember.testing``: torch.testing's ``assert_close`` (same tolerances, checks and failure messages), ``make_tensor``
and the deprecated ``assert_allclose``."""

from __future__ import annotations

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
               D.float64: (1e-7, 1e-7), D.complex64: (1.3e-6, 1e-5), D.complex128: (1e-7, 1e-7)}


class _Mismatch(AssertionError):
    """A failed comparison; ``trail`` names the item of nested inputs it occurred for."""

    def __init__(self, message: str, trail: str = "") -> None:
        super().__init__(message)
        self.message, self.trail = message, trail


def _tolerances(*dtypes: D.dtype) -> tuple[float, float]:
    pairs = [_TOLERANCES.get(dt, (0.0, 0.0)) for dt in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _host(t: Tensor) -> np.ndarray:
    a = t.detach()
    if a.dtype is D.bfloat16:
        a = a.float()
    return np.asarray(a.resolve_conj().cpu().numpy())


def _as_tensor(x: Any) -> Tensor | None:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        from ..ops.creation import from_numpy
        return from_numpy(x)
    return None


def _index(flat: int, shape: tuple[int, ...]) -> str:
    idx = np.unravel_index(flat, shape) if shape else ()
    return "(" + ", ".join(str(int(i)) for i in idx) + ("," if len(idx) == 1 else "") + ")"


def _value(v: Any) -> str:
    return repr(v.item() if hasattr(v, "item") else v)


def _greatest(diff: np.ndarray) -> int:
    """The flat index of the largest entry (the first nan, when there is one, as torch.max)."""
    nan = np.flatnonzero(np.isnan(diff))
    return int(nan[0]) if nan.size else int(np.argmax(diff))


def _compare_tensors(actual: Tensor, expected: Tensor, rtol: float | None, atol: float | None, equal_nan: bool,
                     check_device: bool, check_dtype: bool, check_stride: bool) -> None:
    for name, a, e, check in (("shape", actual.shape, expected.shape, True),
                              ("device", actual.device, expected.device, check_device),
                              ("dtype", actual.dtype, expected.dtype, check_dtype),
                              ("stride()", actual.stride(), expected.stride(), check_stride)):
        if check and a != e:
            raise _Mismatch(f"The values for attribute '{name}' do not match: {a} != {e}.")
    if rtol is None:
        rtol, atol = _tolerances(actual.dtype, expected.dtype)
    a, e = _host(actual), _host(expected)
    if not check_device or not check_dtype:
        common = np.result_type(a, e)
        a, e = a.astype(common), e.astype(common)
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
    n, bad = close.size, int((~close).sum())
    ia, ir = _greatest(abs_diff), _greatest(rel_diff)
    shape = tuple(actual.shape)
    if exact:
        lines = [f"Greatest absolute difference: {_value(abs_diff[ia])} at index {_index(ia, shape)}",
                 f"Greatest relative difference: {_value(rel_diff[ir])} at index {_index(ir, shape)}"]
    else:
        lines = [f"Greatest absolute difference: {_value(abs_diff[ia])} at index {_index(ia, shape)} "
                 f"(up to {atol} allowed)",
                 f"Greatest relative difference: {_value(rel_diff[ir])} at index {_index(ir, shape)} "
                 f"(up to {rtol} allowed)"]
    raise _Mismatch(f"Tensor-likes are not {'equal' if exact else 'close'}!\n\n"
                    f"Mismatched elements: {bad} / {n} ({100 * bad / n:.1f}%)\n" + "\n".join(lines))


def _compare_scalars(actual: Any, expected: Any, rtol: float | None, atol: float | None, equal_nan: bool) -> None:
    if rtol is None:
        rtol, atol = (1e-7, 1e-7) if isinstance(expected, (float, complex)) or isinstance(actual, (float, complex)) \
            else (0.0, 0.0)
    if actual == expected or (equal_nan and actual != actual and expected != expected):
        return
    diff = abs(actual - expected)
    if math.isfinite(diff) and diff <= atol + rtol * abs(expected):   # (an infinite difference is never close)
        return
    rel = diff / abs(expected) if expected else float("inf")
    if rtol == 0 and atol == 0:
        raise _Mismatch(f"Scalars are not equal!\n\nExpected {expected} but got {actual}.\n"
                        f"Absolute difference: {diff}\nRelative difference: {rel}")
    raise _Mismatch(f"Scalars are not close!\n\nExpected {expected} but got {actual}.\n"
                    f"Absolute difference: {diff} (up to {atol} allowed)\nRelative difference: {rel} "
                    f"(up to {rtol} allowed)")


def _compare(actual: Any, expected: Any, kw: dict) -> None:
    ta, te = _as_tensor(actual), _as_tensor(expected)
    if ta is not None or te is not None:
        if ta is None or te is None:
            raise _Mismatch(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                            f"{type(expected)}.")
        _compare_tensors(ta, te, **kw)
        return
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        if set(actual) != set(expected):
            raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                            f"{sorted(set(expected) - set(actual), key=repr)}\nExtra keys in the actual mapping: "
                            f"{sorted(set(actual) - set(expected), key=repr)}")
        for k in expected:
            _nested(actual[k], expected[k], kw, f"[{k!r}]")
        return
    if isinstance(expected, Sequence) and not isinstance(expected, str) and isinstance(actual, Sequence):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _nested(a, e, kw, f"[{i}]")
        return
    if isinstance(actual, (bool, int, float, complex)) and isinstance(expected, (bool, int, float, complex)):
        if type(actual) is not type(expected) and kw["check_dtype"]:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: {type(actual)} != {type(expected)}.")
        _compare_scalars(actual, expected, kw["rtol"], kw["atol"], kw["equal_nan"])
        return
    raise _Mismatch(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _nested(actual: Any, expected: Any, kw: dict, item: str) -> None:
    try:
        _compare(actual, expected, kw)
    except _Mismatch as m:
        raise _Mismatch(m.message, item + m.trail) from None


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
          "check_dtype": check_dtype, "check_stride": check_stride}
    try:
        _compare(actual, expected, kw)
    except _Mismatch as m:
        text = m.message + (f"\n\nThe failure occurred for item {m.trail}" if m.trail else "")
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise AssertionError(text) from None
