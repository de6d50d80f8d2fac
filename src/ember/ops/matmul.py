"""Matrix products: mm, matmul, bmm, mv, dot, vdot, outer, addmm, addmv, baddbmm, addbmm — forward on
BLAS through ``xp.matmul``, backward as matrix products too."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.device import CPU
from ..autograd.grad_mode import STATE
from ._dispatch import Node, Tensor, bind, check_same_device, from_array, record, write_out, xp_of

_isinstance = isinstance


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _needs(t: Any) -> bool:
    return _isinstance(t, Tensor) and t._rg


def _same_dtype(a: Tensor, b: Tensor) -> None:
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a._dtype.name.replace('float32', 'float').replace('float64', 'double')} != "
                           f"{b._dtype.name.replace('float32', 'float').replace('float64', 'double')}")


def _mat(x: Tensor) -> Tensor:
    return x.conj() if x._dtype.is_complex else x


class MmBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        a, b = self.saved
        return (g.mm(_mat(b).t()) if _needs(a) else None, _mat(a).t().mm(g) if _needs(b) else None)


def _result(arr: Any, like: Tensor, node: Node | None, inputs: tuple, save: tuple) -> Tensor:
    res = from_array(arr if type(arr) is not np.float64 else np.asarray(arr), like._dtype, like._device)
    if type(res._data) is not np.ndarray and like._device is CPU:
        res._data = np.asarray(res._data, like._dtype.np)
    if node is not None and STATE.enabled and any(_needs(t) for t in inputs):
        record(res, node, inputs)
        node.save(*save)
    return res


def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """2-D matrix product, with torch's shape and dtype errors."""
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    (n, k), (k2, m) = input._data.shape, mat2._data.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    _same_dtype(input, mat2)
    check_same_device(input, mat2)
    res = _result(_xp(input).matmul(input._data, mat2._data), input, MmBackward0(), (input, mat2), (input, mat2))
    return write_out(out, res) if out is not None else res


class MvBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        a, v = self.saved
        return (g.unsqueeze(1).mm(_mat(v).unsqueeze(0)) if _needs(a) else None,
                _mat(a).t().mv(g) if _needs(v) else None)


def mv(input: Tensor, vec: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}")
    if input._data.shape[1] != vec._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input._data.shape[0]}), mat ({input._data.shape[0]}x"
                           f"{input._data.shape[1]}), vec ({vec._data.shape[0]})")
    _same_dtype(input, vec)
    res = _result(_xp(input).matmul(input._data, vec._data), input, MvBackward0(), (input, vec), (input, vec))
    return write_out(out, res) if out is not None else res


class DotBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        a, b = self.saved
        return (g * _mat(b) if _needs(a) else None, g * _mat(a) if _needs(b) else None)


def dot(input: Tensor, tensor: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inner product of two 1-D tensors of equal length and dtype."""
    if input._data.ndim != 1 or tensor._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {tensor._data.ndim}D tensors")
    if input._data.shape[0] != tensor._data.shape[0]:
        n1, n2 = input._data.shape[0], tensor._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n1}] and src [{n2}] to have the same "
                           f"number of elements, but got {n1} and {n2} elements respectively")
    if input._dtype is not tensor._dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {input._dtype._short} and "
                           f"{tensor._dtype._short}")
    arr = _xp(input).asarray(_xp(input).dot(input._data, tensor._data), dtype=input._dtype.np)
    res = _result(arr, input, DotBackward0(), (input, tensor), (input, tensor))
    return write_out(out, res) if out is not None else res


def vdot(input: Tensor, other: Tensor) -> Tensor:
    return dot(input.conj() if input._dtype.is_complex else input, other)


class BmmBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        a, b = self.saved
        return (g.bmm(_mat(b).transpose(1, 2)) if _needs(a) else None,
                _mat(a).transpose(1, 2).bmm(g) if _needs(b) else None)


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    (b1, n, k), (b2, k2, m) = input._data.shape, mat2._data.shape
    if b1 != b2 or k != k2:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b1}, {k}] but got: "
                           f"[{b2}, {k2}].")
    _same_dtype(input, mat2)
    res = _result(_xp(input).matmul(input._data, mat2._data), input, BmmBackward0(), (input, mat2), (input, mat2))
    return write_out(out, res) if out is not None else res


class _MatmulBackward(Node):
    """Backward of a broadcast batched matmul: products with the other operand, reduced by the engine."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        a, b = self.saved
        ga = gb = None
        if _needs(a):
            ga = g.matmul(_mat(b).transpose(-1, -2))
        if _needs(b):
            gb = _mat(a).transpose(-1, -2).matmul(g)
        return ga, gb


class UnsafeViewBackward0(_MatmulBackward):
    __slots__ = ()


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """torch.matmul: dot, mv, mm or broadcast batched products by the operands' dims."""
    if not _isinstance(other, Tensor) or not _isinstance(input, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    na, nb = input._data.ndim, other._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if na == 1 and nb == 1:
        res = dot(input, other)
    elif na == 2 and nb == 1:
        res = mv(input, other)
    elif na == 1 and nb == 2:
        res = mm(input.unsqueeze(0), other).squeeze(0)
    elif na == 2 and nb == 2:
        res = mm(input, other)
    else:
        _same_dtype(input, other)
        a, b = input, other
        if na == 1:
            a = input.unsqueeze(0)
        if nb == 1:
            b = other.unsqueeze(-1)
        ka, kb = a._data.shape[-1], b._data.shape[-2]
        if ka != kb:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{b._data.shape[0] if b._data.ndim > 2 else 1}, {ka}] but got: "
                               f"[{b._data.shape[0] if b._data.ndim > 2 else 1}, {kb}].")
        try:
            np.broadcast_shapes(a._data.shape[:-2], b._data.shape[:-2])
        except ValueError:
            from ._dispatch import broadcast_error
            raise broadcast_error(a._data.shape[:-2], b._data.shape[:-2]) from None
        res = _result(_xp(a).matmul(a._data, b._data), a, UnsafeViewBackward0(), (a, b), (a, b))
        if na == 1:
            res = res.squeeze(-2)
        if nb == 1:
            res = res.squeeze(-1)
    return write_out(out, res) if out is not None else res


class AddmmBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        m1, m2 = self.saved
        beta, alpha = self.beta, self.alpha
        gi = g * beta if beta != 1 else g
        g1 = g.mm(_mat(m2).t()) if _needs(m1) else None
        g2 = _mat(m1).t().mm(g) if _needs(m2) else None
        if alpha != 1:
            g1 = g1 * alpha if g1 is not None else None
            g2 = g2 * alpha if g2 is not None else None
        return gi, g1, g2


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``nn.Linear``'s op)."""
    if mat1._data.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1._data.ndim}-D tensor")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2._data.ndim}-D tensor")
    (n, k), (k2, m) = mat1._data.shape, mat2._data.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    _same_dtype(mat1, mat2)
    xp = _xp(mat1)
    prod = xp.matmul(mat1._data, mat2._data)
    if alpha != 1:
        prod *= alpha
    bias = input._data if beta == 1 else input._data * beta
    try:
        if beta == 0:
            arr = prod
        else:
            prod += bias
            arr = prod
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor ({m}) must match the existing size "
                           f"({input._data.shape[-1]}) at non-singleton dimension 1.  Target sizes: [{n}, {m}].  "
                           f"Tensor sizes: {list(input._data.shape)}") from None
    node = AddmmBackward0()
    node.__dict__.update(beta=beta, alpha=alpha)
    res = _result(arr, mat1, node, (input, mat1, mat2), (mat1, mat2))
    return write_out(out, res) if out is not None else res


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return input * beta + mv(mat, vec) * alpha if (beta != 1 or alpha != 1) else input + mv(mat, vec)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    p = bmm(batch1, batch2)
    return (input * beta if beta != 1 else input) + (p * alpha if alpha != 1 else p)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    p = bmm(batch1, batch2).sum(0)
    return (input * beta if beta != 1 else input) + (p * alpha if alpha != 1 else p)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    p = outer(vec1, vec2)
    return (input * beta if beta != 1 else input) + (p * alpha if alpha != 1 else p)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors (as a broadcast product, so autograd comes free)."""
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer

bind({"mm": mm, "mv": mv, "dot": dot, "vdot": vdot, "bmm": bmm, "matmul": matmul, "addmm": addmm,
      "addmv": addmv, "baddbmm": baddbmm, "addbmm": addbmm, "addr": addr, "outer": outer, "ger": ger,
      "__matmul__": matmul, "__rmatmul__": lambda self, other: matmul(other, self)})

__all__ = ["mm", "mv", "dot", "vdot", "bmm", "matmul", "addmm", "addmv", "baddbmm", "addbmm", "addr", "outer", "ger"]
