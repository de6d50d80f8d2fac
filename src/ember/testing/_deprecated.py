"""``torch.testing.assert_allclose``: the pre-1.12 comparison, kept (with its FutureWarning) for old test code.
Unlike ``assert_close`` it converts non-tensors, ignores dtype differences, treats NaNs as equal and uses its own,
looser default tolerances."""

from __future__ import annotations

from typing import Any

from .._core import dtype as D
from .._core.warn import warn
from .._tensor import Tensor

__all__ = ["assert_allclose"]

_MESSAGE = ("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future release. "
            "Please use `torch.testing.assert_close()` instead. You can find detailed upgrade instructions in "
            "https://github.com/pytorch/pytorch/issues/61844.")
_TOLERANCES = {D.float16: (1e-3, 1e-3), D.float32: (1e-4, 1e-5), D.float64: (1e-5, 1e-8)}


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated: use :func:`ember.testing.assert_close`."""
    from ..ops.creation import tensor
    from . import assert_close

    warn(_MESSAGE, FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_TOLERANCES.get(t.dtype, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)


assert_allclose.__deprecated__ = _MESSAGE  # type: ignore[attr-defined]
