"""Compare ember against torch (the oracle): conversion both ways and assertions on values, dtypes,
shapes, errors and gradients. Tests that import this module are skipped when torch is absent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402


def to_torch(x: Any, requires_grad: bool | None = None) -> Any:
    """An ember tensor (or nested list/tuple of them) as an independent torch tensor."""
    if isinstance(x, (list, tuple)):
        return type(x)(to_torch(v) for v in x)
    if not isinstance(x, ember.Tensor):
        return x
    dt = getattr(torch, x.dtype.name)
    if x.dtype is ember.bfloat16:
        t = torch.from_numpy(np.array(x.detach().float().numpy())).to(dt)
    else:
        t = torch.from_numpy(np.array(x.detach().numpy()))
    rg = x.requires_grad if requires_grad is None else requires_grad
    return t.requires_grad_(rg) if rg else t


def to_ember(t: Any, requires_grad: bool | None = None) -> Any:
    """A torch tensor (or nested list/tuple of them) as an independent ember tensor."""
    if isinstance(t, (list, tuple)):
        return type(t)(to_ember(v) for v in t)
    if not isinstance(t, torch.Tensor):
        return t
    dt = getattr(ember, str(t.dtype).split(".")[1])
    if t.dtype == torch.bfloat16:
        e = ember.tensor(t.detach().float().numpy()).to(dt)
    else:
        e = ember.tensor(t.detach().numpy().copy(), dtype=dt)
    rg = t.requires_grad if requires_grad is None else requires_grad
    return e.requires_grad_(rg) if rg else e


def assert_close(e: Any, t: Any, rtol: float | None = None, atol: float | None = None, check_dtype: bool = True,
                 equal_nan: bool = True) -> None:
    """Same shape, dtype and values (within dtype-appropriate tolerances) for an ember/torch pair."""
    if isinstance(t, (list, tuple)):
        assert isinstance(e, (list, tuple)) and len(e) == len(t), (e, t)
        for a, b in zip(e, t, strict=True):
            assert_close(a, b, rtol, atol, check_dtype, equal_nan)
        return
    if not isinstance(t, torch.Tensor):
        assert e == t or (isinstance(t, float) and np.isnan(t) and np.isnan(e)), (e, t)
        return
    assert isinstance(e, ember.Tensor), f"expected an ember Tensor, got {type(e).__name__}"
    assert tuple(e.shape) == tuple(t.shape), f"shape {tuple(e.shape)} != torch {tuple(t.shape)}"
    if check_dtype:
        assert repr(e.dtype) == str(t.dtype), f"dtype {e.dtype!r} != torch {t.dtype}"
    tn = t.detach().to(torch.float32).numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()
    e = e.detach().resolve_conj().resolve_neg()   # (ember's conjugate / negative bits refuse numpy(), as torch's)
    en = e.float().numpy() if e.dtype is ember.bfloat16 else e.numpy()
    if tn.dtype == bool or tn.dtype.kind in "iu":
        np.testing.assert_array_equal(en, tn)
        return
    defaults = {np.dtype(np.float16): (1e-3, 1e-3), np.dtype(np.float32): (1.3e-6, 1e-5),
                np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
                np.dtype(np.complex128): (1e-7, 1e-7)}
    r, a = defaults.get(tn.dtype, (1.6e-2, 1e-5))
    np.testing.assert_allclose(en, tn, rtol=r if rtol is None else rtol, atol=a if atol is None else atol,
                               equal_nan=equal_nan)


def outcomes(fn: Callable[[Any], Any]) -> tuple[Any, Any]:
    """``fn(torch)`` and ``fn(ember)``, each its result or the exception it raised (the compared outcome)."""
    out = []
    for lib in (torch, ember):
        try:
            out.append(fn(lib))
        except Exception as e:   # noqa: BLE001 - the exception is the compared result
            out.append(e)
    return out[0], out[1]


def same_exception(t: Any, e: Any, lines: int | None = 1) -> bool:
    """Outcomes of one call (torch's ``t``, ember's ``e``): when torch raised, ember raised an exception of the same
    type (by name: torch's LinAlgError is its own class) whose first ``lines`` lines of text (None: all) are
    torch's (True: nothing more to compare); otherwise ember did not raise (False)."""
    if isinstance(t, Exception):
        assert type(e).__name__ == type(t).__name__, (t, e)
        assert str(e).split("\n")[:lines] == str(t).split("\n")[:lines]
        return True
    assert not isinstance(e, Exception), e
    return False


def assert_same_error(fn_ember: Callable[[], Any], fn_torch: Callable[[], Any], match_message: bool = True) -> None:
    """Both raise; same exception type and (by default) the same message."""
    with pytest.raises(Exception) as te:
        fn_torch()
    with pytest.raises(Exception) as ee:
        fn_ember()
    assert type(ee.value).__name__ == type(te.value).__name__ or isinstance(ee.value, type(te.value)), \
        f"ember raised {type(ee.value).__name__}({ee.value}), torch {type(te.value).__name__}({te.value})"
    if match_message:
        assert str(ee.value) == str(te.value), f"\nember: {ee.value}\ntorch: {te.value}"


def check_grads(fn: Callable[[Any, Any], Any], *inputs: np.ndarray, seed: int = 0, rtol: float = 1e-5,
                atol: float = 1e-6, requires_grad: tuple[bool, ...] | None = None) -> None:
    """Run ``fn(lib, *tensors)`` under ember and torch (float64 inputs), backprop a fixed random cotangent
    (not ``.sum()``, which hides transposed gradients) and compare outputs and input gradients."""
    rng = np.random.default_rng(seed)
    rg = requires_grad or tuple(np.asarray(x).dtype.kind in "fc" for x in inputs)
    e_in = [ember.tensor(np.asarray(x), requires_grad=r) for x, r in zip(inputs, rg, strict=True)]
    t_in = [torch.tensor(np.asarray(x), requires_grad=r) for x, r in zip(inputs, rg, strict=True)]
    e_out, t_out = fn(ember, *e_in), fn(torch, *t_in)
    assert_close(e_out, t_out, rtol, atol)
    cot = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(cot, dtype=t_out.dtype))
    e_out.backward(ember.tensor(cot, dtype=e_out.dtype))
    for i, (e, t) in enumerate(zip(e_in, t_in, strict=True)):
        if t.requires_grad:
            if t.grad is None:
                assert e.grad is None or not e.grad.abs().sum().item(), f"input {i}: torch grad None"
            else:
                assert e.grad is not None, f"input {i}: ember grad is None"
                assert_close(e.grad, t.grad, rtol, atol)
