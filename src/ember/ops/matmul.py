"""Matrix products: mm, mv, dot, vdot, bmm, matmul, outer/ger and the fused ``beta * input + alpha * product``
family (addmm, addmv, baddbmm, addbmm, addr), with their in-place variants.

The forward is one ``xp.matmul`` (BLAS; float16/bfloat16 accumulate in float32 on the CPU, as torch does).
Each product's backward node carries torch's name and computes the gradients as products written with ember
ops, so double backward works. ``matmul`` follows torch's dispatch (dot / mv / mm / folded mm / batched bmm):
the path decides the error message and the graph. When autograd records, the batched cases are composed of
ember ops exactly as torch composes them (same ``grad_fn`` chain); otherwise they are one broadcast product.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core import gemm
from .._core.device import CPU
from .._core.dtype import promote_types
from .._tensor import CONJ
from ..autograd.grad_mode import STATE
from ._dispatch import (
    Node,
    Tensor,
    bind,
    broadcast_error,
    check_inplace,
    check_same_device,
    inplace,
    new_tensor,
    out_dtype_error,
    record,
    write_out,
    xp_of,
)
from .elementwise import mul, sparse_operand
from .views import unsafe_view

_isinstance = isinstance

# C++ element type names, as torch prints them in some dtype errors
_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
        "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
        "uint8": "unsigned char", "uint16": "short unsigned int", "uint32": "unsigned int",
        "uint64": "long unsigned int", "bool": "bool", "complex64": "c10::complex<float>",
        "complex128": "c10::complex<double>"}
_NO_KERNEL = frozenset(("bool", "uint16", "uint32", "uint64"))
_LOW = frozenset(("float16", "bfloat16"))


def cpp_name(dt: Any) -> str:
    """The C++ element type name torch prints for ``dt`` in some errors ('float', 'long int', ...)."""
    return _CPP[dt.name]


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _c(x: Tensor) -> Tensor:
    """Complex conjugate (identity for real tensors)."""
    return x.conj() if x._dtype.is_complex else x


def _h(x: Tensor) -> Tensor:
    """Conjugate transpose of the last two dims."""
    return _c(x.mT)


def _arg(fn: str, name: str, pos: int, x: Any) -> None:
    if not _isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _kernel(dt: Any, kernel: str) -> None:
    """torch's error for a product kernel it lacks for ``dt`` (of the float8 types, it has only 2-d ``mm`` for
    all but e8m0)."""
    if dt.name in _NO_KERNEL or dt.kind and not (
            kernel == "addmm_impl_cpu_" and dt.kind == "float8" and dt is not D.float8_e8m0fnu):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


# ---- the checks of torch's four product kernels (matmul reuses them on folded shapes) ---------------------
def _mm_check(sa: tuple, sb: tuple, da: Any, db: Any) -> None:
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")
    if da is not db:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP[da.name]} != {_CPP[db.name]}")
    if sa[0] * sa[1] * sb[1]:   # an empty result or contraction runs no kernel
        _kernel(da, "addmm_impl_cpu_")


def _mv_check(sm: tuple, sv: tuple, dm: Any, dv: Any, di: Any = None, ni: int | None = None) -> None:
    """addmv's checks; ``di``/``ni``: dtype and length of the added input (mv: the result, shaped like it)."""
    ni = sm[0] if ni is None else ni
    if sm[1] != sv[0] or ni != sm[0]:
        raise RuntimeError(f"size mismatch, got input ({ni}), mat ({sm[0]}x{sm[1]}), vec ({sv[0]})")
    di = dv if di is None else di
    if not (dm is dv is di):
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{di._short}, {dm._short}, and {dv._short}")
    if sm[0] * sm[1]:
        _kernel(dm, "addmv_impl_cpu")


def _bmm_check(sa: tuple, sb: tuple, da: Any, db: Any) -> None:
    if sb[0] != sa[0] or sb[1] != sa[2]:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{sa[0]}, {sa[2]}] but got: [{sb[0]}, {sb[1]}].")
    if da is not db:
        raise RuntimeError(f"expected scalar type {da._short} but found {db._short}")
    if sa[0] * sa[1] * sa[2] * sb[2]:
        _kernel(da, "bmm")


def _dot_check(a: Tensor, b: Tensor) -> None:
    na, nb = a._data.ndim, b._data.ndim
    if na != 1 or nb != 1:
        raise RuntimeError(f"1D tensors expected, but got {na}D and {nb}D tensors")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {a._dtype._short} and "
                           f"{b._dtype._short}")
    n1, n2 = a._data.shape[0], b._data.shape[0]
    if n1 != n2:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n1}] and src [{n2}] to have the "
                           f"same number of elements, but got {n1} and {n2} elements respectively")
    _kernel(a._dtype, "dot")


def _product(xp: Any, a: Any, b: Any, dt: Any, fused: bool = False) -> Any:
    """``a @ b`` on the backend; half types accumulate in float32 on the CPU (NumPy's own loops do not), float8
    ones too, rounded as torch rounds to float8 (saturating where it does) — after the addition of a fused
    product (``fused``: the float32 product is returned and :func:`_fused` rounds once, as torch's addmm,
    addmv and baddbmm do)."""
    if xp is np and dt.name in _LOW:
        prod = np.matmul(a.astype(np.float32), b.astype(np.float32))
        return prod if fused else prod.astype(dt.np)
    if dt.kind == "float8":
        prod = np.matmul(a.astype(np.float32), b.astype(np.float32))
        return prod if fused else D.convert(prod, D.float32, dt)
    return gemm.matmul(xp, a, b)


def _save_factors(node: Node, a: Tensor, b: Tensor) -> None:
    """What torch saves for a product ``P(a, b)``: ``b`` when ``a`` needs a gradient, ``a`` when ``b`` does, in
    torch's order for the node (by argument name: mm and bmm save ``mat2`` before ``self``). A ``b`` not saved
    leaves its layout (a bool, see :func:`_transposed`) for the gradient of ``b`` to follow."""
    sb, sa = b if a._rg else _transposed(b), a if b._rg else None
    if node._b_first:
        node.save(sb, sa)
    else:
        node.save(sa, sb)


def _factors(node: Node) -> tuple:
    """The saved ``(a, b)`` of a product node."""
    x, y = node.saved
    return (y, x) if node._b_first else (x, y)


def _transposed(b: Tensor) -> bool:
    """Whether the matrix ``b`` is a transposed contiguous one (``weight.t()`` in ``linear``)."""
    a = b._data
    return a.ndim == 2 and a.strides[0] == a.itemsize and a.shape[0] > 1 and a.shape[1] > 1


def _result(arr: Any, like: Tensor, node_cls: type[Node], inputs: tuple) -> Tensor:
    """Wrap the product of ``inputs`` and, when one of them requires grad, record ``node_cls``."""
    res = new_tensor(arr, like._dtype, like._device)
    if STATE.enabled and (inputs[0]._rg or inputs[1]._rg):
        node = node_cls()
        record(res, node, inputs)
        _save_factors(node, *inputs)
    return res


def _finish(res: Tensor, out: Tensor | None, fn: str, inputs: tuple) -> Tensor:
    """Return ``res``, or copy it into ``out=`` with torch's checks (no autograd, same dtype)."""
    if out is None:
        return res
    if STATE.enabled and (out._rg or any(t._rg for t in inputs)):
        raise RuntimeError(f"{fn}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if out._dtype is not res._dtype:
        if fn in ("dot", "vdot"):
            raise RuntimeError(f"result dtype {out._dtype._short} does not match input dtype "
                               f"{res._dtype._short}")
        raise out_dtype_error(res._dtype, out._dtype)
    return write_out(out, res)


# ---- backward nodes ------------------------------------------------------------------------------------
class _Product(Node):
    """Backward of a bilinear product ``P(a, b)``: ``_ga(g, b)`` and ``_gb(a, g)`` are the input gradients."""

    __slots__ = ()
    _ga: Callable
    _gb: Callable
    _b_first = False   # torch's order of the saved factors

    def backward(self, g: Tensor) -> tuple:
        a, b = _factors(self)
        return (self._ga(g, b) if self._next[0] is not None else None,
                self._gb(a, g, b) if self._next[1] is not None else None)


class _AddProduct(Node):
    """Backward of ``beta * input + alpha * P(m1, m2)`` (``beta``/``alpha`` are node attributes)."""

    __slots__ = ()
    _ga: Callable
    _gb: Callable
    _b_first = False

    def backward(self, g: Tensor) -> tuple:
        m1, m2 = _factors(self)
        beta, alpha = _sconj(self.beta), _sconj(self.alpha)
        gi = (g if beta == 1 else g * beta) if self._next[0] is not None else None
        gp = g if alpha == 1 else g * alpha
        return (gi, self._ga(gp, m2) if self._next[1] is not None else None,
                self._gb(m1, gp, m2) if self._next[2] is not None else None)


def _sconj(s: Any) -> Any:
    return s.conjugate() if type(s) is complex else s


def _nodes(name: str, add_name: str | None, ga: Callable, gb: Callable) -> tuple[type[Node], Any]:
    """The product node class ``name`` and, when ``add_name`` is given, its fused add-product twin."""
    attrs = {"__slots__": (), "_ga": staticmethod(ga), "_gb": staticmethod(gb),
             "__module__": "torch.autograd.graph"}
    prod = type(name, (_Product,), dict(attrs))
    return prod, (type(add_name, (_AddProduct,), dict(attrs)) if add_name else None)


def _mm_mat2_grad(a: Tensor, g: Tensor, b: Tensor | bool) -> Tensor:
    """``aᴴ·g``, laid out like ``b`` (the tensor or its saved layout): when ``b`` is a transposed contiguous
    matrix (``weight.t()`` in ``linear``) the product is computed transposed, so the gradient reaching the weight
    is contiguous and becomes its ``.grad`` without a copy (torch's ``mm_mat2_backward`` does the same)."""
    if b if type(b) is bool else _transposed(b):
        return g.t().mm(_c(a)).t()
    return _h(a).mm(g)


MmBackward0, AddmmBackward0 = _nodes("MmBackward0", "AddmmBackward0", lambda g, b: g.mm(_h(b)), _mm_mat2_grad)
MmBackward0._b_first = True   # torch saves a node's tensors in its arguments' alphabetical order: mat2, self
MvBackward0, AddmvBackward0 = _nodes("MvBackward0", "AddmvBackward0",
                                     lambda g, v: g.unsqueeze(1) * _c(v), lambda m, g, _v: _h(m).mv(g))
BmmBackward0, BaddbmmBackward0 = _nodes("BmmBackward0", "BaddbmmBackward0",
                                        lambda g, b: g.bmm(_h(b)), lambda a, g, _b: _h(a).bmm(g))
BmmBackward0._b_first = True
_, AddbmmBackward0 = _nodes("_Addbmm", "AddbmmBackward0", lambda g, b: g.unsqueeze(0).matmul(_h(b)),
                            lambda a, g, _b: _h(a).matmul(g.unsqueeze(0)))
_, AddrBackward0 = _nodes("_Addr", "AddrBackward0", lambda g, v2: g.mv(_c(v2)), lambda v1, g, _v2: g.mT.mv(_c(v1)))
DotBackward0, _ = _nodes("DotBackward0", None, lambda g, b: g * _c(b), lambda a, g, _b: g * _c(a))
VdotBackward0, _ = _nodes("VdotBackward0", None, lambda g, b: _c(g) * b, lambda a, g, _b: g * a)


# ---- products ------------------------------------------------------------------------------------------
def _no_out_dtype(name: str, out_dtype: Any, out: Any) -> None:
    """torch's dispatcher error for the ``out_dtype`` overloads of the products (no CPU kernel)."""
    if out_dtype is not None:
        from ..sparse._coo import not_implemented
        raise not_implemented(f"{name}.dtype{'' if out is None else '_out'}", "CPU")


def mm(input: Tensor, mat2: Tensor, out_dtype: Any = None, *, out: Tensor | None = None) -> Tensor:
    """2-d matrix product (no broadcasting, no type promotion)."""
    _no_out_dtype("mm", out_dtype, out)
    _arg("mm", "input", 1, input)
    _arg("mm", "mat2", 2, mat2)
    if sparse_operand(input) or sparse_operand(mat2):   # sparse hook: ember.sparse owns products with sparse
        from ..sparse._coo import mm_dense
        return mm_dense(input, mat2)
    return _finish(_mm(input, mat2), out, "mm", (input, mat2))


def _mm(input: Tensor, mat2: Tensor) -> Tensor:
    a, b = input._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _mm_check(a.shape, b.shape, input._dtype, mat2._dtype)
    check_same_device(input, mat2)
    return _result(_product(_xp(input), a, b, input._dtype), input, MmBackward0, (input, mat2))


def mv(input: Tensor, vec: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix-vector product."""
    _arg("mv", "input", 1, input)
    _arg("mv", "vec", 2, vec)
    if input.is_sparse:   # sparse (COO) hook
        from ..sparse._coo import sparse_mv
        return sparse_mv(input, vec)
    a, v = input._data, vec._data
    if a.ndim == 0:   # torch reads the input's first size before its shape check
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    _mv_check(a.shape, v.shape, input._dtype, vec._dtype)
    check_same_device(input, vec)
    res = _result(_product(_xp(input), a, v, input._dtype), input, MvBackward0, (input, vec))
    return _finish(res, out, "mv", (input, vec))


def _dot(fn: str, input: Tensor, other: Tensor, out: Tensor | None, node: type[Node], conj: bool) -> Tensor:
    _arg(fn, "input", 1, input)
    _arg(fn, "other" if fn == "vdot" else "tensor", 2, other)
    _dot_check(input, other)
    check_same_device(input, other)
    xp = _xp(input)
    a = xp.conj(input._data) if conj and input._dtype.is_complex else input._data
    res = _result(_product(xp, a, other._data, input._dtype), input, node, (input, other))
    if out is None and other._math_bits & CONJ and bool(input._math_bits & CONJ) != conj:
        res._math_bits = CONJ   # torch computes it as the conjugate of the product of the unconjugated operands
    return _finish(res, out, fn, (input, other))


def dot(input: Tensor, tensor: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inner product of two 1-d tensors of equal length and dtype."""
    return _dot("dot", input, tensor, out, DotBackward0, False)


def vdot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inner product conjugating the first vector."""
    return _dot("vdot", input, other, out, VdotBackward0, True)


def bmm(input: Tensor, mat2: Tensor, out_dtype: Any = None, *, out: Tensor | None = None) -> Tensor:
    """Batched matrix product of two 3-d tensors with the same batch size."""
    _no_out_dtype("bmm", out_dtype, out)
    _arg("bmm", "input", 1, input)
    _arg("bmm", "mat2", 2, mat2)
    if input.is_sparse or mat2.is_sparse:   # sparse (COO) hook
        from ..sparse._coo import sparse_bmm
        return sparse_bmm(input, mat2)
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _bmm_check(a.shape, b.shape, input._dtype, mat2._dtype)
    check_same_device(input, mat2)
    res = _result(_product(_xp(input), a, b, input._dtype), input, BmmBackward0, (input, mat2))
    return _finish(res, out, "bmm", (input, mat2))


def _vecmat(v: Tensor, m: Tensor) -> Tensor:
    """1-d @ 2-d as torch computes it: ``v.unsqueeze(0).mm(m).squeeze_(0)`` (its graph: SqueezeBackward4 →
    MmBackward0 → UnsqueezeBackward0; its errors: mm's)."""
    return v.unsqueeze(0).mm(m).squeeze_(0)


def _should_fold(a: Tensor, b: Tensor, has_out: bool) -> bool:
    """torch's choice of folding the batch of the larger operand into one mm/mv (see ``_matmul_impl``)."""
    na, nb = a._data.ndim, b._data.ndim
    if not (max(na, nb) >= 3 and min(na, nb) <= 2):
        return False
    if (b._rg if na >= nb else a._rg) and not has_out:
        return True
    if na == 2:
        return False
    t1 = a._data if na >= nb else b._data.swapaxes(-1, -2)
    if t1.size == 0:
        return True
    shape, strides = t1.shape, t1.strides
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(t1.ndim - 2))


def _batch_geometry(a: Tensor, b: Tensor) -> tuple[tuple[int, ...], int, int, int, int]:
    """Broadcast batch shape and the per-batch sizes ``n, m1, m2, p`` of a batched matmul (torch's names)."""
    sa, sb = a._data.shape, b._data.shape
    ba, bb = sa[:-2], sb[:-2]
    try:
        batch = tuple(np.broadcast_shapes(ba, bb))
    except ValueError:
        raise broadcast_error(ba, bb) from None
    n, m1 = (sa[-2] if len(sa) > 1 else 1), sa[-1]
    m2, p = (sb[-2], sb[-1]) if len(sb) > 1 else (sb[0], 1)
    return batch, n, m1, m2, p


def _fold_operands(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, bool]:
    """The folded problem ``t1 @ t2`` (``t1`` ≥ 3-d, ``t2`` 1-d or 2-d) and whether it is transposed."""
    transpose = b._data.ndim > a._data.ndim
    if not transpose:
        return a, b, False
    return b.mT, (a.t() if a._data.ndim == 2 else a), True


def _matmul_graph(a: Tensor, b: Tensor) -> Tensor:
    """matmul with batch dims composed of ember ops as torch composes it, so autograd records torch's chain
    (view / expand / clone nodes around one mm, mv or bmm) and each node's backward is the usual one."""
    if _should_fold(a, b, False):
        t1, t2, transpose = _fold_operands(a, b)
        lead = tuple(t1.shape[:-1])
        folded = t1.reshape(math.prod(lead), t1.shape[-1])
        if t2._data.ndim == 1:
            return unsafe_view(folded.mv(t2), lead)
        res = unsafe_view(folded.mm(t2), lead + (t2.shape[1],))
        return res.mT.contiguous() if transpose else res
    batch, n, m1, m2, p = _batch_geometry(a, b)
    size = math.prod(batch)
    a3 = a.expand(batch + (n, m1)).reshape(size, n, m1)
    vector = b._data.ndim == 1
    b3 = b.expand(batch + (m2,)).reshape(size, m2).unsqueeze(2) if vector else \
        b.expand(batch + (m2, p)).reshape(size, m2, p)
    res = a3.bmm(b3)
    shape = batch + ((n,) if a._data.ndim > 1 else ()) + ((p,) if not vector else ())
    return unsafe_view(res.squeeze(-1) if vector else res, shape)


def _batched_matmul(a: Tensor, b: Tensor, has_out: bool) -> Tensor:
    """matmul with batch dims: recorded as torch's chain when autograd records, else one broadcast product
    after the checks of the path torch takes (same errors either way)."""
    da, db = a._data, b._data
    na, nb = da.ndim, db.ndim
    if na == 3 and nb == 3 and da.shape[0] != db.shape[0]:
        # torch squeezes a batch of one that requires grad, then takes the fold path
        if da.shape[0] == 1 and a._rg:
            return matmul(a.squeeze(0), b)
        if db.shape[0] == 1 and b._rg:
            return matmul(a, b.squeeze(0))
    if STATE.enabled and (a._rg or b._rg) and not has_out:
        return _matmul_graph(a, b)
    dt = a._dtype
    if _should_fold(a, b, has_out):
        t1, t2, transpose = _fold_operands(a, b)
        folded = (math.prod(t1.shape[:-1]), t1.shape[-1])
        if t2._data.ndim == 2:
            _mm_check(folded, t2._data.shape, t1._dtype, t2._dtype)
        else:
            _mv_check(folded, t2._data.shape, t1._dtype, t2._dtype)
        check_same_device(a, b)
        if not transpose and nb == 2:   # one gemm over the folded batch
            arr = _product(_xp(a), da.reshape(folded), db, dt).reshape(da.shape[:-1] + db.shape[-1:])
            return new_tensor(arr, dt, a._device)
    else:
        batch, n, m1, m2, p = _batch_geometry(a, b)
        size = math.prod(batch)
        _bmm_check((size, n, m1), (size, m2, p), dt, b._dtype)
        check_same_device(a, b)
    return new_tensor(_product(_xp(a), da, db, dt), dt, a._device)


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """torch.matmul: dot, mv, mm, or batched products with broadcast batch dims (no type promotion)."""
    _arg("matmul", "input", 1, input)
    _arg("matmul", "other", 2, other)
    if sparse_operand(input) or sparse_operand(other):   # sparse hook
        from ..sparse._coo import matmul_dense
        return matmul_dense(input, other)
    na, nb = input._data.ndim, other._data.ndim
    if na == 2 and nb == 2:
        res = _mm(input, other)
    elif na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    elif na == 1 and nb == 1:
        res = dot(input, other)
    elif na == 2 and nb == 1:
        res = mv(input, other)
    elif na == 1 and nb == 2:
        res = _vecmat(input, other)
    else:
        res = _batched_matmul(input, other, out is not None)
    return _finish(res, out, "matmul", (input, other))


def _rmatmul(self: Tensor, other: Any) -> Any:
    return matmul(other, self) if _isinstance(other, Tensor) else NotImplemented


def _matmul_op(self: Tensor, other: Any) -> Any:
    return matmul(self, other) if _isinstance(other, Tensor) else NotImplemented


# ---- beta * input + alpha * product --------------------------------------------------------------------
def _expand_check(input: Tensor, shape: tuple) -> None:
    """torch's expand error when ``input`` cannot broadcast to the product's ``shape``."""
    s = input._data.shape
    if s == shape[len(shape) - len(s):]:
        return
    if len(s) > len(shape) or any(x != 1 and x != y for x, y in zip(s[::-1], shape[::-1], strict=False)):
        input.expand(shape)   # raises torch's message


_SCALAR_CPP = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t",
               "float64": "double"}


def _scalars(dt: Any, beta: Any, alpha: Any) -> tuple[Any, Any]:
    """Integer products take integer scalars (torch truncates them); real ones take a complex scalar's real
    part, refusing a nonzero imaginary part as torch's checked conversion does."""
    if type(beta) is int and type(alpha) is int:   # (the common beta=1, alpha=1: nothing to convert)
        return beta, alpha
    if not dt.is_complex:
        for x in (beta, alpha):
            if isinstance(x, complex) and x.imag:
                raise RuntimeError(f"value cannot be converted to type {_SCALAR_CPP.get(dt.name, 'float')} "
                                   "without overflow")
        beta, alpha = (x.real if isinstance(x, complex) else x for x in (beta, alpha))
    return (int(beta), int(alpha)) if dt.category < 2 else (beta, alpha)


def _add_product(input: Tensor, prod: Any, beta: Any, alpha: Any, dt: Any) -> Any:
    """``beta * input + alpha * prod`` into the fresh ``prod``; beta == 0 ignores input (NaN too), alpha == 0
    ignores the product, as torch's BLAS calls do; an empty result takes neither (nor checks them)."""
    if not prod.size:
        return prod
    beta, alpha = _scalars(dt, beta, alpha)
    xp = _xp(input)
    if alpha == 0:
        prod = xp.zeros_like(prod)
    elif alpha != 1:
        prod *= alpha
    if beta != 0:
        bias = input._data if input._data.dtype == prod.dtype else input._data.astype(prod.dtype)
        prod += bias if beta == 1 else bias * beta
    return prod


def _fused(fn: str, input: Tensor, m1: Tensor, m2: Tensor, prod: Any, beta: Any, alpha: Any,
           node_cls: type[Node], out: Tensor | None, dt: Any, summed: bool = False) -> Tensor:
    """The result of ``fn``: ``beta * input + alpha * prod`` (``summed``: ``prod`` is that sum already)."""
    if input._device is not m1._device or m1._device is not m2._device:
        check_same_device(input, m1)
        check_same_device(m1, m2)
    if fn != "addmv" and m1._data.shape[-1] == 0 and prod.size and beta != 0:   # torch's input.mul_(beta)
        kind = D.result_type_of([dt], [], [D.scalar_dtype(beta)])
        if not D.can_cast(kind, dt):
            raise RuntimeError(f"result type {kind._short} can't be cast to the desired output type {dt._short}")
    arr = prod if summed else _add_product(input, prod, beta, alpha, dt)
    if dt.kind == "float8":
        arr = D.convert(arr, D.float32, dt)
    elif arr.dtype != dt.np:   # a half type's float32 product and addend, rounded once
        arr = arr.astype(dt.np)
    res = new_tensor(arr, dt, m1._device)
    if STATE.enabled and (input._rg or m1._rg or m2._rg):
        node = node_cls()
        node.beta, node.alpha = beta, alpha
        record(res, node, (input, m1, m2))
        _save_factors(node, m1, m2)
    return _finish(res, out, fn, (input, m1, m2))


def _same_dtypes(self_name: str, input: Tensor, m1: Tensor, m2: Tensor) -> None:
    """ADDMM_META's dtype checks (self vs mat2, then mat1 vs mat2)."""
    if input._dtype is not m2._dtype:
        raise RuntimeError(f"{self_name} and mat2 must have the same dtype, but got {input._dtype._short} "
                           f"and {m2._dtype._short}")
    if m1._dtype is not m2._dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {m1._dtype._short} and "
                           f"{m2._dtype._short}")


def _fused_args(fn: str, input: Any, a: Any, b: Any, names: tuple[str, str]) -> None:
    if _isinstance(input, Tensor) and _isinstance(a, Tensor) and _isinstance(b, Tensor):
        return
    _arg(fn, "input", 1, input)
    _arg(fn, names[0], 2, a)
    _arg(fn, names[1], 3, b)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, out_dtype: Any = None, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``, input broadcast to the product (``nn.Linear``'s op)."""
    _no_out_dtype("addmm", out_dtype, out)
    _fused_args("addmm", input, mat1, mat2, ("mat1", "mat2"))
    if (input._sparse_layout or mat1._sparse_layout or mat2._sparse_layout) and (
            sparse_operand(mat1) or input.is_sparse or mat2.is_sparse):   # sparse hook (a class flag first)
        from ..sparse._coo import addmm_dense
        return addmm_dense(input, mat1, mat2, beta, alpha)
    _same_dtypes("self", input, mat1, mat2)
    a, b = mat1._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {a.ndim}-D tensor")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {b.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    dt = mat1._dtype
    if a.shape[0] * a.shape[1] * b.shape[1]:   # an empty result or contraction runs no kernel
        _kernel(dt, "addmm_impl_cpu_")
    _expand_check(input, (a.shape[0], b.shape[1]))
    prod = _product(_xp(mat1), a, b, dt, fused=True)
    return _fused("addmm", input, mat1, mat2, prod, beta, alpha, AddmmBackward0, out, dt)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    _fused_args("addmv", input, mat, vec, ("mat", "vec"))
    i, a, v = input._data, mat._data, vec._data
    if i.ndim > 1 or a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {i.ndim}, {a.ndim}, {v.ndim}")
    _mv_check(a.shape, v.shape, mat._dtype, vec._dtype, input._dtype, a.shape[0] if i.size == 1 else len(i))
    prod = _product(_xp(mat), a, v, mat._dtype, fused=True)
    if prod.dtype != mat._dtype.np:   # a half type: torch's gemv takes beta and alpha in it
        beta, alpha = (float(np.asarray(s, mat._dtype.np)) if isinstance(s, float) else s for s in (beta, alpha))
    return _fused("addmv", input, mat, vec, prod, beta, alpha, AddmvBackward0, out, mat._dtype)


def _batch_dims(b1: Tensor, b2: Tensor) -> None:
    if b1._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, out_dtype: Any = None, *, beta: Any = 1,
            alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _no_out_dtype("baddbmm", out_dtype, out)
    _fused_args("baddbmm", input, batch1, batch2, ("batch1", "batch2"))
    _batch_dims(batch1, batch2)
    a, b = batch1._data, batch2._data
    _expand_check(input, (a.shape[0], a.shape[1], b.shape[2]))
    if input._dtype is not batch1._dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {_CPP[input._dtype.name]}, batch1: "
                           f"{_CPP[batch1._dtype.name]}, batch2: {_CPP[batch2._dtype.name]}")
    if batch1._dtype.kind:
        _kernel(batch1._dtype, "baddbmm")
    _bmm_check(a.shape, b.shape, batch1._dtype, batch2._dtype)
    prod = _product(_xp(batch1), a, b, batch1._dtype, fused=True)
    return _fused("baddbmm", input, batch1, batch2, prod, beta, alpha, BaddbmmBackward0, out, batch1._dtype)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1,
           out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * sum_b (batch1[b] @ batch2[b])``."""
    _fused_args("addbmm", input, batch1, batch2, ("batch1", "batch2"))
    _batch_dims(batch1, batch2)
    a, b = batch1._data, batch2._data
    _expand_check(input, (a.shape[1], b.shape[2]))
    _same_dtypes("self", input, batch1, batch2)
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {a.shape[0]} and "
                           f"{b.shape[0]}")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({a.shape[1]}x{a.shape[2]} and "
                           f"{b.shape[1]}x{b.shape[2]})")
    dt = batch1._dtype
    _kernel(dt, "addbmm")
    n, k, p = a.shape[1], a.shape[2], b.shape[2]
    xp = _xp(batch1)
    if xp is np and dt.name in _LOW and a.shape[0]:   # torch: one addmm_ per batch, each rounded to the half type
        acc = _add_product(input, _product(xp, a[0], b[0], dt, fused=True), beta, alpha, dt).astype(dt.np)
        for i in range(1, a.shape[0]):
            acc = _add_product(new_tensor(acc, dt, batch1._device), _product(xp, a[i], b[i], dt, fused=True), 1,
                               alpha, dt).astype(dt.np)
        return _fused("addbmm", input, batch1, batch2, acc, beta, alpha, AddbmmBackward0, out, dt, summed=True)
    # sum over the batch as one gemm: [n, B*k] @ [B*k, p]
    bk = a.shape[0] * k
    prod = _product(xp, a.transpose(1, 0, 2).reshape(n, bk), b.reshape(bk, p), dt)
    return _fused("addbmm", input, batch1, batch2, prod, beta, alpha, AddbmmBackward0, out, dt)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1,
         out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``, with type promotion (unlike the other products)."""
    _fused_args("addr", input, vec1, vec2, ("vec1", "vec2"))
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    dt = promote_types(promote_types(input._dtype, vec1._dtype), vec2._dtype)
    shape = (vec1._data.shape[0], vec2._data.shape[0])
    _expand_check(input, shape)
    for name, s in (("beta", beta), ("alpha", alpha)):
        if _isinstance(s, (bool, np.bool_)) and dt is not D.bool:
            raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
        if dt.category < 2 and not _isinstance(s, (int, np.integer, np.bool_)):
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating "
                               "point number.")
    if dt.kind:
        _kernel(dt, "addr_cpu")
    xp = _xp(vec1)
    v1, v2 = vec1._data.astype(dt.np, copy=False), vec2._data.astype(dt.np, copy=False)
    if dt.category == 0:   # bool: logical and/or
        prod = xp.multiply.outer(v1, v2)
        return _finish(new_tensor((input._data & bool(beta)) | (prod & bool(alpha)), dt, vec1._device), out,
                       "addr", (input, vec1, vec2))
    # torch's kernel: beta * input + (alpha * vec1) * vec2, each operation rounded in dt (alpha == 0 keeps a NaN
    # of the product, beta == 0 ignores input's); the scalars converted to dt with its overflow checks
    if v1.size and v2.size:
        b, a = (xp.asarray(D.checked_scalar(dt, x, half_range=True), dtype=dt.np) for x in (beta, alpha))
        prod = xp.multiply.outer(v1 * a, v2)
        if b != 0:
            prod += input._data.astype(dt.np, copy=False) * b
    else:
        prod = xp.zeros(shape, dt.np)
    return _fused("addr", input, vec1, vec2, prod, beta, alpha, AddrBackward0, out, dt, summed=True)


def outer(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Outer product of two vectors (a broadcast product, as in torch: MulBackward0, promotes dtypes)."""
    _arg("outer", "input", 1, input)
    _arg("outer", "vec2", 2, vec2)
    for name, v in (("self", input), ("vec2", vec2)):
        if v._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    return mul(input.reshape(-1, 1), vec2, out=out)


ger = outer


def _inplace(fn: Callable, dims: tuple[int, int], shape_of: Callable, names: tuple[str, str]) -> Callable:
    """The in-place variant ``self.fn_(a, b)`` (the operands also by torch's ``names``); the product (shaped
    ``shape_of(a.shape, b.shape)`` when ``a``, ``b`` have ``dims`` dims) must have ``self``'s shape."""
    name = fn.__name__ + "_"

    def method(self: Tensor, *operands: Any, beta: Any = 1, alpha: Any = 1, **named: Any) -> Tensor:
        if named or len(operands) != 2:
            operands = _named_operands(name, operands, named, names)
        a, b = operands
        check_inplace(self)
        if _isinstance(a, Tensor) and _isinstance(b, Tensor) and (a._data.ndim, b._data.ndim) == dims:
            shape = shape_of(a._data.shape, b._data.shape)
            if shape != self._data.shape:
                raise RuntimeError(f"Bad in-place call: input tensor size {list(self._data.shape)} and "
                                   f"output tensor size {list(shape)} should match")
        return inplace(self, fn(self, a, b, beta=beta, alpha=alpha))
    method.__name__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}`."
    return method


def _named_operands(fn: str, given: tuple, named: dict, names: tuple[str, ...]) -> tuple:
    """Operands given positionally and/or by their names, in order; Python's TypeErrors otherwise."""
    if len(given) > len(names):
        raise TypeError(f"{fn}() takes {len(names) + 1} positional arguments but {len(given) + 1} were given")
    for key in named:
        if key not in names:
            raise TypeError(f"{fn}() got an unexpected keyword argument '{key}'")
        if names.index(key) < len(given):
            raise TypeError(f"{fn}() got multiple values for argument '{key}'")
    missing = [n for n in names[len(given):] if n not in named]
    if missing:
        raise TypeError(f"{fn}() missing {len(missing)} required positional arguments: "
                        + ", ".join(f'"{n}"' for n in missing))
    return (*given, *(named[n] for n in names[len(given):]))


bind({"mm": mm, "mv": mv, "dot": dot, "vdot": vdot, "bmm": bmm, "matmul": matmul, "addmm": addmm,
      "addmv": addmv, "baddbmm": baddbmm, "addbmm": addbmm, "addr": addr, "outer": outer, "ger": ger,
      "addmm_": _inplace(addmm, (2, 2), lambda a, b: (a[0], b[1]), ("mat1", "mat2")),
      "addmv_": _inplace(addmv, (2, 1), lambda a, b: (a[0],), ("mat", "vec")),
      "baddbmm_": _inplace(baddbmm, (3, 3), lambda a, b: (a[0], a[1], b[2]), ("batch1", "batch2")),
      "addbmm_": _inplace(addbmm, (3, 3), lambda a, b: (a[1], b[2]), ("batch1", "batch2")),
      "addr_": _inplace(addr, (1, 1), lambda a, b: (a[0], b[0]), ("vec1", "vec2")),
      "__matmul__": _matmul_op, "__rmatmul__": _rmatmul})

__all__ = ["mm", "mv", "dot", "vdot", "bmm", "matmul", "addmm", "addmv", "baddbmm", "addbmm", "addr", "outer",
           "ger"]
