"""Python and NumPy protocols of tensors against torch: tensors and ranges inside tensor() data, ``in``,
NumPy ufuncs on tensors (a tensor back), ``__array__`` of a tensor that requires grad, == with arrays."""

import warnings

import numpy as np
import pytest
import torch

import ember


def _outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            r = fn()
    except Exception as e:   # noqa: BLE001 - the error itself is compared
        return type(e).__name__, str(e).split("\n")[0]
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        return "tensor", str(r.dtype)[6:], tuple(r.shape), r.tolist()
    return type(r).__name__, repr(np.asarray(r).tolist())


_CALLS = [
    "L.tensor([L.tensor([1., 2.]), L.tensor([3., 4.])])", "L.tensor([L.tensor([1.]), L.tensor([2.])])",
    "L.tensor([L.tensor(1), 2.5])", "L.tensor([[L.tensor(1)], [L.tensor([2])]])",
    "L.tensor([L.tensor([[1]])], dtype=L.int8)", "L.tensor([L.tensor(1, dtype=L.int8), L.tensor(2, dtype=L.int8)])",
    "L.tensor([L.tensor(True), L.tensor(False)])", "L.tensor(range(3))", "L.tensor(range(0))",
    "L.tensor([range(2), [1, 2]])",
    "'a' in L.tensor([1])", "None in L.tensor([1])", "[1] in L.tensor([1])", "1.0 in L.tensor([1])",
    "L.tensor(2) in L.tensor([1, 2])", "np.float32(3) in L.tensor([1, 2])",
    "np.sin(L.tensor([1., 2.]))", "np.greater(L.tensor([1., 2.]), 1)", "np.sin(L.tensor(1.))",
    "np.add(L.tensor(1), 2)", "np.isnan(L.tensor([1.]))", "np.maximum(L.tensor([1, 3]), L.tensor([2, 2]))",
    "np.asarray(L.tensor([1.], requires_grad=True))", "np.sin(L.tensor([1.], requires_grad=True))",
    "L.tensor([1, 2]) == np.array([1.5, 2])", "L.tensor([1, 2]) != np.array([1, 3])",
    "np.array([1, 3]) == L.tensor([1, 2])", "L.tensor([1, 2]) == np.array(['a', 'b'])",
    "L.tensor([1, 2]) < np.array([1, 3])",
]


@pytest.mark.parametrize("call", _CALLS)
def test_protocol_as_torch(call: str) -> None:
    want = _outcome(lambda: eval(call, {"L": torch, "np": np}))
    got = _outcome(lambda: eval(call, {"L": ember, "np": np}))
    assert got == want


def test_ufunc_result_shares_the_array() -> None:
    t = ember.tensor([1.0, 4.0])
    out = np.sqrt(t)
    assert isinstance(out, ember.Tensor)
    np.asarray(out)[0] = 7.0
    assert out[0].item() == 7.0
