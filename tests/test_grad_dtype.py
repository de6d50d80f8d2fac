"""``Tensor.grad_dtype`` (torch 2.13): a leaf's gradient dtype, applied by backward and ``autograd.grad`` and
checked on ``.grad`` assignment — compared with torch step by step."""

import pytest

import ember
from oracle import assert_same_error, torch


def _story(lib: object) -> list:
    seen = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    seen.append(x.grad_dtype)
    x.grad_dtype = lib.float64
    (x * 2).sum().backward()
    seen += [x.grad.dtype, x.grad.tolist()]
    (x * 3).sum().backward()   # accumulates in the requested dtype
    seen += [x.grad.dtype, x.grad.tolist()]
    x.grad = None
    x.grad_dtype = None
    seen.append(x.grad_dtype)
    (x * 2).sum().backward()
    seen.append(x.grad.dtype)
    x.grad = lib.ones(2, dtype=lib.float64)   # None: any dtype may be assigned
    seen.append(x.grad.dtype)
    half = lib.tensor([1.0, 2.0], requires_grad=True)
    half.grad_dtype = lib.float16
    seen.append(lib.autograd.grad((half * 3).sum(), half)[0].dtype)
    seen.append(lib.ones(2).grad_dtype)
    return [str(v) for v in seen]


def test_grad_dtype_story_matches_torch() -> None:
    assert _story(ember) == _story(torch)


@pytest.mark.parametrize("action", [
    "(x * 2).grad_dtype", "setattr(x * 2, 'grad_dtype', L.float64)", "setattr(x, 'grad_dtype', 'a')",
    "setattr(with_grad, 'grad_dtype', L.int64)", "setattr(wants64, 'grad', L.ones(2))",
    "setattr(x, 'grad', L.ones(2, dtype=L.float64))",
])
def test_grad_dtype_errors_match_torch(action: str) -> None:
    def run(lib: object) -> object:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with_grad = lib.tensor([1.0, 2.0], requires_grad=True)
        with_grad.sum().backward()
        wants64 = lib.tensor([1.0, 2.0], requires_grad=True)
        wants64.grad_dtype = lib.float64
        return eval(action, {"L": lib, "x": x, "with_grad": with_grad, "wants64": wants64})
    assert_same_error(lambda: run(ember), lambda: run(torch))
