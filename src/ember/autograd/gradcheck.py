"""Finite-difference checks of gradients (``gradcheck``) and of gradients of gradients
(``gradgradcheck``), with torch's signatures, tolerances and messages.

Jacobians are laid out as torch prints them: one row per input element, one column per output element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._core.warn import warn
from .._tensor import Tensor, from_array

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _as_tuple(x: Any) -> tuple:
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _host(t: Tensor) -> np.ndarray:
    """The values of ``t`` as a float64 (or complex128) NumPy array."""
    a = t.detach().cpu().resolve_conj().resolve_neg()
    a = a.float() if a.dtype.itemsize < 4 and a.is_floating_point() else a
    return np.array(a.numpy(), dtype=np.complex128 if a.is_complex() else np.float64)   # a copy


def _is_diff(o: Any) -> bool:
    return isinstance(o, Tensor) and (o.is_floating_point() or o.is_complex())


def _numerical_jacobians(func: Callable, inputs: tuple, wrt: list[int], eps: float) -> list[list[np.ndarray]]:
    """Central differences: ``[input][output]`` matrices, perturbing each element of each input in place
    (through the backend array, so no version counter moves; grad mode stays as the caller's, because
    ``func`` may itself differentiate, as in gradgradcheck). Outputs are real (complex ones are split by
    :func:`gradcheck`); for a complex input element the entry is ``ds/dx + i ds/dy`` (x, y its real and
    imaginary parts), what reverse mode returns for a real output (torch's convention)."""
    def values() -> list[np.ndarray]:
        return [_host(o).reshape(-1) for o in _as_tuple(func(*inputs)) if _is_diff(o)]

    def derivative(arr: Any, idx: tuple, step: complex) -> list[np.ndarray]:
        orig = arr[idx].item()
        arr[idx] = orig + step
        plus = values()
        arr[idx] = orig - step
        minus = values()
        arr[idx] = orig
        return [(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=True)]

    sizes = [v.size for v in values()]
    jac: list[list[np.ndarray]] = []
    for i in wrt:
        arr = inputs[i]._data
        cols: list[list[np.ndarray]] = [[] for _ in sizes]
        for idx in np.ndindex(*arr.shape):
            d = derivative(arr, idx, eps)
            if arr.dtype.kind == "c":
                d = [dx + 1j * dy for dx, dy in zip(d, derivative(arr, idx, eps * 1j), strict=True)]
            for k, col in enumerate(d):
                cols[k].append(col)
        dtype = np.complex128 if arr.dtype.kind == "c" else np.float64
        jac.append([np.stack(c) if c else np.zeros((0, n), dtype) for c, n in zip(cols, sizes, strict=True)])
    return jac


def _analytical_jacobians(func: Callable, inputs: tuple, wrt: list[int],
                          check_grad_dtypes: bool) -> list[list[np.ndarray]]:
    """Reverse mode, one backward per (real) output element: ``[input][output]`` matrices."""
    from . import grad
    outs = [o for o in _as_tuple(func(*inputs)) if _is_diff(o)]
    diff_in = [inputs[i] for i in wrt]
    jac = [[np.zeros((inputs[i].numel(), o.numel()), np.complex128 if inputs[i].is_complex() else np.float64)
            for o in outs] for i in wrt]
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue
        flat = np.zeros(o.numel())
        for j in range(o.numel()):
            flat[j] = 1
            seed = from_array(flat.reshape(o.shape).astype(o._data.dtype), o.dtype, o.device)
            flat[j] = 0
            gs = grad(o, diff_in, seed, retain_graph=True, allow_unused=True)
            for n, (g, x) in enumerate(zip(gs, diff_in, strict=True)):
                if g is None:
                    continue
                if check_grad_dtypes and (g.dtype != x.dtype or g.device != x.device):
                    raise GradcheckError("Gradient has dtype mismatch")
                jac[n][k][:, j] = _host(g).reshape(-1)
    return jac


def _forward_jacobians(func: Callable, inputs: tuple, wrt: list[int]) -> list[list[np.ndarray]]:
    """Forward mode, one jvp per input element (and per real/imaginary direction of a complex one):
    ``[input][output]`` matrices laid out as the numerical ones (``ds/dx + i ds/dy`` for complex inputs)."""
    from . import forward_ad as fw
    sizes = [o.numel() for o in _as_tuple(func(*inputs)) if _is_diff(o)]
    with fw.dual_level():
        args = list(inputs)
        for i in wrt:
            x = inputs[i].detach()
            args[i] = fw.make_dual(x, from_array(np.zeros_like(_host(x)), x.dtype, x.device))

        def column(arr: Any, idx: tuple, step: complex) -> list[np.ndarray]:
            arr[idx] = step   # the tangent's element, written in place (read before it is reset)
            cols = []
            for o in _as_tuple(func(*args)):
                if _is_diff(o):
                    tan = fw.unpack_dual(o).tangent
                    cols.append(np.zeros(o.numel()) if tan is None else _host(tan).reshape(-1))
            arr[idx] = 0
            return cols

        jac: list[list[np.ndarray]] = []
        for i in wrt:
            arr = fw.unpack_dual(args[i]).tangent._data
            rows = []
            for idx in np.ndindex(*arr.shape):
                row = column(arr, idx, 1)
                if arr.dtype.kind == "c":
                    row = [a + 1j * b for a, b in zip(row, column(arr, idx, 1j), strict=True)]
                rows.append(row)
            dtype = np.complex128 if arr.dtype.kind == "c" else np.float64
            jac.append([np.stack([r[k] for r in rows]) if rows else np.zeros((0, n), dtype)
                        for k, n in enumerate(sizes)])
    return jac


def _part_of_outputs(func: Callable, part: str) -> Callable:
    """``func`` with each complex output replaced by its real or imaginary part (a differentiable view)."""
    def wrapped(*args: Any) -> tuple:
        return tuple(getattr(o, part) if isinstance(o, Tensor) and o.is_complex() else o
                     for o in _as_tuple(func(*args)))
    return wrapped


def _check_inputs(inputs: tuple) -> list[int]:
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them "
                         "have requires_grad=True.")
    for i in wrt:
        t = inputs[i]
        if t.dtype.name not in ("float64", "complex128"):
            warn(f"Input #{i} requires gradient and is not a double precision floating point or "
                 "complex. This check will likely fail if all the inputs are not of double "
                 "precision floating point or complex. ", UserWarning, stacklevel=3)
        if any(st == 0 and n > 1 for st, n in zip(t.stride(), t.shape, strict=True)):
            raise RuntimeError(f"The {i}th input has a dimension with stride 0. gradcheck only supports "
                               "inputs that are non-overlapping to be able to compute the numerical "
                               "gradients correctly. You should call .contiguous on the input before "
                               "passing it to gradcheck.")
    return wrt


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _fmt(m: np.ndarray, like: Tensor) -> str:
    """A Jacobian printed as torch does: a tensor of the input's dtype."""
    return repr(from_array(np.ascontiguousarray(m)).to(like.dtype))


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Compare the gradients autograd computes for ``func`` at ``inputs`` with central differences
    (``allclose(analytical, numerical, rtol, atol)``), as ``torch.autograd.gradcheck``.

    Inputs that require grad should be float64: float32 is too coarse for ``eps=1e-6``.
    ``fast_mode`` runs the full check; ``check_forward_ad`` compares forward-mode Jacobians (one jvp per input
    element, :mod:`~ember.autograd.forward_ad`) with the same numerical ones; batched checks are not supported.
    """
    inputs = _as_tuple(inputs)
    wrt = _check_inputs(inputs)
    if not (check_backward_ad or check_forward_ad):
        return True
    outs = _as_tuple(func(*inputs))
    complex_outputs = {k for k, o in enumerate(o for o in outs if _is_diff(o)) if o.is_complex()}
    modes = (check_backward_ad, check_forward_ad)
    if not complex_outputs:
        return _compare(func, inputs, wrt, eps, atol, rtol, raise_exception, check_grad_dtypes, set(), "", modes)
    # as torch: the imaginary parts of complex outputs first, then the real parts, each a real function
    return all(_compare(_part_of_outputs(func, part), inputs, wrt, eps, atol, rtol, raise_exception,
                        check_grad_dtypes, complex_outputs, name, modes)
               for part, name in (("imag", "imaginary"), ("real", "real")))


def _compare(func: Callable, inputs: tuple, wrt: list[int], eps: float, atol: float, rtol: float,
             raise_exception: bool, check_grad_dtypes: bool, complex_outputs: set[int], part: str,
             modes: tuple[bool, bool]) -> bool:
    """One gradcheck pass over a function with real outputs, in reverse and/or forward mode (``modes``);
    messages name the ``part`` of complex outputs."""
    numerical = _numerical_jacobians(func, inputs, wrt, eps)
    outs = [o for o in _as_tuple(func(*inputs)) if _is_diff(o)]
    if modes[0]:
        analytical = _analytical_jacobians(func, inputs, wrt, check_grad_dtypes)
        for n, i in enumerate(wrt):
            for k, (a, num) in enumerate(zip(analytical[n], numerical[n], strict=True)):
                if not outs[k].requires_grad:
                    if np.any(num != 0):
                        return _fail("Numerical gradient for function expected to be zero", raise_exception)
                    continue
                if not np.allclose(a, num, rtol=rtol, atol=atol):
                    prefix = (f"While considering the {part} part of complex outputs only, "
                              if k in complex_outputs else "")
                    return _fail(f"{prefix}Jacobian mismatch for output {k} with respect to input {i},\n"
                                 f"numerical:{_fmt(num, inputs[i])}\nanalytical:{_fmt(a, inputs[i])}\n",
                                 raise_exception)
    if modes[1]:
        forward = _forward_jacobians(func, inputs, wrt)
        for n, i in enumerate(wrt):
            for k, (a, num) in enumerate(zip(forward[n], numerical[n], strict=True)):
                if not np.allclose(a, num, rtol=rtol, atol=atol):
                    return _fail(f"Jacobian computed with forward mode mismatch for output {k} with respect to "
                                 f"input {i},\nnumerical:{_fmt(num, inputs[i])}\nanalytical:{_fmt(a, inputs[i])}\n",
                                 raise_exception)
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """gradcheck of the map (inputs, grad_outputs) → input gradients, i.e. of the double backward.

    Without ``grad_outputs``, random ones (requiring grad) are drawn, as torch does.
    """
    from . import grad
    inputs = _as_tuple(inputs)
    outs = [o for o in _as_tuple(func(*inputs)) if _is_diff(o) and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        def draw(o: Tensor) -> np.ndarray:
            values = rng.uniform(-9, 9, o.shape)
            return values + 1j * rng.uniform(-9, 9, o.shape) if o.is_complex() else values
        grad_outputs = tuple(from_array(np.asarray(draw(o), o._data.dtype), o.dtype, o.device).requires_grad_(True)
                             for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_grads(*args: Any) -> tuple:
        ins, gos = args[:n_in], args[n_in:]
        o = [t for t in _as_tuple(func(*ins)) if _is_diff(t) and t.requires_grad]
        gs = grad(o, [ins[i] for i in wrt], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    if not check_rev_over_rev:
        return True
    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, check_grad_dtypes=check_grad_dtypes)

