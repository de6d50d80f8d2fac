"""Finite-difference checks of gradients (``gradcheck``) and of gradients of gradients
(``gradgradcheck``), with torch's signatures and tolerances."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor, from_array
from .grad_mode import no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _as_tuple(x: Any) -> tuple:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _outputs(func: Callable, inputs: tuple) -> tuple[Tensor, ...]:
    out = func(*inputs)
    return tuple(o for o in _as_tuple(out) if isinstance(o, Tensor))


def _numerical_jacobian(func: Callable, inputs: tuple, wrt: Tensor, eps: float) -> list[np.ndarray]:
    """Central differences: one column per element of ``wrt``, one matrix per output."""
    flat = wrt._data.reshape(-1) if wrt._data.flags.c_contiguous else None
    if flat is None:
        raise ValueError("gradcheck expects contiguous inputs")
    cols: list[list[np.ndarray]] = []
    with no_grad():
        for i in range(flat.size):
            orig = flat[i].item()
            flat[i] = orig + eps
            plus = [np.array(o._data, dtype=np.complex128 if o.is_complex() else np.float64).reshape(-1)
                    for o in _outputs(func, inputs)]
            flat[i] = orig - eps
            minus = [np.array(o._data, dtype=plus[k].dtype).reshape(-1)
                     for k, o in enumerate(_outputs(func, inputs))]
            flat[i] = orig
            cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=True)])
    n_out = len(cols[0]) if cols else len(_outputs(func, inputs))
    return [np.stack([c[k] for c in cols], axis=1) if cols else np.zeros((0, 0)) for k in range(n_out)]


def _analytical_jacobian(func: Callable, inputs: tuple, wrt: Tensor) -> list[np.ndarray]:
    from . import grad as autograd_grad
    outs = _outputs(func, inputs)
    mats = []
    for o in outs:
        rows = []
        for j in range(o._data.size):
            if not o._rg:
                rows.append(np.zeros(wrt._data.size))
                continue
            seed = np.zeros(o._data.size, dtype=o._data.dtype)
            seed[j] = 1
            g = autograd_grad(o, wrt, from_array(seed.reshape(o._data.shape), o._dtype, o._device),
                              retain_graph=True, allow_unused=True)[0]
            rows.append(np.zeros(wrt._data.size) if g is None else np.array(g._data, dtype=np.float64).reshape(-1))
        mats.append(np.stack(rows, axis=0) if rows else np.zeros((0, wrt._data.size)))
    return mats


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Compare the gradients autograd computes for ``func`` at ``inputs`` with central differences.

    Inputs that require grad should be float64 (as in torch, float32 is too coarse for eps=1e-6).
    """
    inputs = _as_tuple(inputs)
    for t in inputs:
        if isinstance(t, Tensor) and t._rg and t._dtype.itemsize < 8 and not t._dtype.is_complex:
            import warnings
            warnings.warn(f"Input #{inputs.index(t)} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are not of double "
                          "precision floating point or complex. ", UserWarning, stacklevel=2)
    for idx, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t._rg):
            continue
        numerical = _numerical_jacobian(func, inputs, t, eps)
        analytical = _analytical_jacobian(func, inputs, t)
        for k, (a, n) in enumerate(zip(analytical, numerical, strict=True)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(f"Jacobian mismatch for output {k} with respect to input {idx},\n"
                                         f"numerical:{n}\nanalytical:{a}\n")
                return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Sequence[Tensor] | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """gradcheck of the function mapping inputs (and grad_outputs) to input gradients (double backward)."""
    from . import grad as autograd_grad
    inputs = _as_tuple(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(from_array(rng.standard_normal(o._data.shape).astype(o._data.dtype), o._dtype,
                                        o._device).requires_grad_(True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._rg]

    def first_grads(*args: Any) -> tuple:
        ins, gos = args[:n_in], args[n_in:]
        o = _outputs(func, ins)
        gs = autograd_grad(o, [ins[i] for i in diff_idx], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
