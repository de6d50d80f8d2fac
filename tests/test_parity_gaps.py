"""Differences with torch left over from earlier fuzzing rounds, each compared with torch."""
import warnings

import numpy as np
import pytest

from oracle import outcomes, same_exception


def _raises_as_torch(fn, lines=1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, e = outcomes(fn)
    assert same_exception(t, e, lines), (t, e)


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(2, dtype=lib.float8_e4m3fn), lambda lib: lib.ones(2, dtype=lib.complex32),
    lambda lib: lib.quantize_per_tensor(lib.ones(2), 0.1, 0, lib.quint8), lambda lib: lib.ones(2, dtype=lib.bfloat16)])
def test_numpy_refuses_dtypes_numpy_lacks(make):
    _raises_as_torch(lambda lib: make(lib).numpy())


def test_numpy_shares_unsigned_arrays():
    t, e = outcomes(lambda lib: lib.tensor([1, 2], dtype=lib.uint32).numpy())
    assert e.dtype == t.dtype and np.array_equal(e, t)
