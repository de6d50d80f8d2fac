"""Linear algebra: einsum, tensordot, kron, trace, diagonals, tril/triu, cross, block_diag, cdist, and the
``torch.linalg`` functions (norms, det, inverses, solvers, factorizations, pinv, lstsq, matrix functions).

Forwards run on the backend's LAPACK (``xp.linalg``) where it has the routine; a few small column loops
(triangular substitution, and the unblocked LU/Cholesky that find torch's failing pivot for error messages)
are vectorised over the batch. Backward formulas follow torch's (see ``FunctionsManual.cpp``) and are written
with ember ops, so they differentiate again. torch's error types and texts are reproduced, including
``LinAlgError`` (a RuntimeError) for singular or non-positive-definite inputs.
"""

from __future__ import annotations

import builtins
import math
import string
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU
from .._core.warn import warn
from ..autograd.forward_ad import _LEVEL as FW_LEVEL
from ..autograd.function import TRANSFORMS
from ..autograd.grad_mode import STATE
from ..autograd.graph import SavedOutput
from ._dispatch import (
    Node,
    Tensor,
    bind,
    broadcast_shapes,
    check_inplace,
    inplace,
    new_tensor,
    no_unsigned_kernel,
    out_dtype_error,
    record,
    tie,
    wrap_dim,
    write_out,
    xp_of,
)
from .matmul import cpp_name, dot, matmul, mm
from .reduction import acc_type, finish, norm_dtype, return_type, vector_norm
from .views import int_arg, unsafe_view

_isinstance = isinstance


class _LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a linear algebra routine failed (singular or non-positive-definite input)."""


LinAlgError = _LinAlgError


# ---- helpers ---------------------------------------------------------------------------------------------
def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


def _new(arr: Any, dt: D.dtype, like: Tensor) -> Tensor:
    """Wrap ``arr`` as a ``dt`` tensor on ``like``'s device (cast when computed in another type)."""
    return new_tensor(arr.astype(dt.np, copy=False), dt, like._device)


def _c(x: Tensor) -> Tensor:
    """Complex conjugate (identity for real tensors)."""
    return x.conj() if x._dtype.is_complex else x


def _h(x: Tensor) -> Tensor:
    """Conjugate transpose of the last two dims."""
    return _c(x.mT)


def _track(cls: type[Node], outs: Any, inputs: Sequence[Any], **attrs: Any) -> Node | None:
    """Record ``cls`` as the grad_fn of ``outs`` when grad mode is on and some input requires grad."""
    if not (STATE.enabled and any(_isinstance(t, Tensor) and t._rg for t in inputs)):
        return None
    node = cls()
    node.__dict__.update(attrs)
    record(outs, node, inputs)
    return node


def _defined(g: Tensor | None) -> bool:
    """Whether an output gradient carries information (the engine zero-fills the missing ones; one that requires
    grad does, whatever its values: forward AD differentiates the backward at zero gradients)."""
    return g is not None and (g._rg or bool(g._data.any()))


def _arg(fn: str, name: str, pos: int, x: Any) -> None:
    if not _isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _matrix(A: Tensor, fn: str, name: str = "A") -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")


def _square(A: Tensor, fn: str, name: str = "A") -> None:
    """torch's check of batches of square matrices (its message unprefixed when ``fn`` is empty)."""
    _matrix(A, fn, name)
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fn + ': ' if fn else ''}{name} must be batches of square matrices, but they are {m} "
                           f"by {n} matrices")


_LAPACK_DTYPES = frozenset(("float32", "float64", "complex64", "complex128"))


def _kernel(A: Tensor, kernel: str, skip_empty: bool = False) -> Any:
    """torch's dispatch refusal of a dtype its LAPACK kernel ``kernel`` (e.g. "lu_cpu") has no version for;
    returns the array to compute on. With ``skip_empty`` an empty input passes whatever its dtype (torch
    returns before dispatching such kernels): it comes back as float64 for the backend's LAPACK, and
    :func:`_new` casts the (empty or identity-like) results back."""
    if A._dtype.name in _LAPACK_DTYPES:
        return A._data
    if skip_empty and A._data.size == 0:
        return A._data.astype(np.float64)
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{A._dtype._short}'")


def _inexact(A: Tensor, fn: str) -> None:
    """torch's refusal of integer and bool inputs to linalg functions."""
    if A._dtype.category < 2:
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {A._dtype._short}")


def _floating(A: Tensor, fn: str, kernel: str | None = None, skip_empty: bool = False) -> Any:
    """torch's checks of a linalg input's dtype: integers refused under ``fn``; half types refused by the
    LAPACK ``kernel`` they reach (NotImplementedError; see :func:`_kernel` for ``skip_empty``) or, with
    none, by ``fn``'s low-precision check. Returns the array to compute on."""
    _inexact(A, fn)
    dt = A._dtype
    if kernel is not None:
        return _kernel(A, kernel, skip_empty)
    if dt.name not in _LAPACK_DTYPES:
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {dt._short}")
    return A._data


def _float_or_double(A: Tensor) -> None:
    """The refusal of torch's lstsq and matrix_rank (worded for real types, complex ones pass)."""
    if A._dtype.name not in _LAPACK_DTYPES:
        raise RuntimeError("This function doesn't handle types other than float and double")


def _same_b_A(b: Tensor, A: Tensor) -> None:
    """The dtype check torch's triangular_solve, cholesky_solve and ldl_solve share."""
    if b._dtype is not A._dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {b._dtype._short} and A "
                           f"of type {A._dtype._short} instead.")


def _same_dtype(fn: str, a: Tensor, b: Tensor, na: str = "A", nb: str = "B") -> None:
    if a._dtype is not b._dtype:
        raise RuntimeError(f"{fn}: Expected {na} and {nb} to have the same dtype, but found {na} of type "
                           f"{a._dtype._short} and {nb} of type {b._dtype._short} instead")


def _out_error(text: str) -> Callable[[D.dtype, D.dtype], RuntimeError]:
    """An ``out=`` dtype error worded as ``text`` with ``{want}``/``{got}`` (torch's short names) or
    ``{cwant}``/``{cgot}`` (its C++ names) filled in, for :func:`write_out`."""
    return lambda want, got: RuntimeError(text.format(want=want._short, got=got._short, cwant=cpp_name(want),
                                                      cgot=cpp_name(got)))


def _castable(out: Any, res: Tensor, fn: str, what: str = "result") -> None:
    """torch's linalg ``out=`` check that ``out`` takes the result without narrowing (worded under ``fn``,
    naming the output ``what``)."""
    if _isinstance(out, Tensor) and not D.can_cast(res._dtype, out._dtype):
        raise RuntimeError(f"{fn}: Expected {what} to be safely castable from {res._dtype._short} dtype, but got "
                           f"{what} with dtype {out._dtype._short}")


def _write_castable(out: Any, res: Tensor, fn: str, exact: bool = False, what: str = "result") -> Tensor:
    """:func:`_castable`, then with ``exact`` the same dtype as the result, then the copy into ``out``."""
    _castable(out, res, fn, what)
    return write_out(out, res, None, out_dtype_error if exact else None)


def _eps(dt: D.dtype) -> float:
    return float(np.finfo(dt.to_real().np).eps)


def _eye(n: int, like: Tensor) -> Tensor:
    from .creation import eye
    return eye(n, dtype=like._dtype, device=like._device)


def _failed(xp: Any, fn: Callable, *args: Any) -> Any:
    """Run an ``xp.linalg`` routine; None when it fails (NumPy raises; CuPy returns non-finite values)."""
    try:
        r = fn(*args)
    except np.linalg.LinAlgError:
        return None
    first = r[0] if _isinstance(r, tuple) else r
    if xp is not np and not bool(xp.isfinite(first).all()):
        return None
    return r


def _raise_info(fn: str, info: Any, batched: bool, body: Callable[[int], str],
                error: type[Exception] = _LinAlgError) -> None:
    """torch's LinAlgError (or ``error``) for the first failing matrix (``info`` > 0), prefixed by its batch
    index."""
    flat = np.asarray(info.get() if hasattr(info, "get") else info).reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        i = int(bad[0])
        prefix = f"(Batch element {i}): " if batched else ""
        raise error(f"{fn}: {prefix}{body(int(flat[i]))}")


def _pivot_row(xp: Any, col: Any) -> Any:
    """LAPACK's i?amax over each row of ``col``: the first largest |re| + |im| (not the modulus, for complex
    entries); NaNs never win except in the first place, where nothing exceeds them."""
    v = xp.abs(col.real) + xp.abs(col.imag) if xp.iscomplexobj(col) else xp.abs(col)
    nan = xp.isnan(v)
    return xp.where(nan[:, 0], 0, xp.argmax(xp.where(nan, -1, v), axis=1))


def _getrf(xp: Any, a: Any) -> tuple[Any, Any, Any, Any]:
    """Unblocked LU with partial pivoting of each (m, n) matrix, as LAPACK's getrf, vectorised over the batch:
    the packed factors, LAPACK's 1-based int32 pivots, the row permutation (rows of A in ``P^T A`` order) and
    info (the 1-based index of the first exactly-zero pivot, 0: none)."""
    m, n = a.shape[-2:]
    k = builtins.min(m, n)
    w = a.reshape((math.prod(a.shape[:-2]), m, n)).copy()
    rows = xp.arange(w.shape[0])
    perm = xp.broadcast_to(xp.arange(m), w.shape[:2]).copy()
    piv = xp.empty((w.shape[0], k), dtype=np.int32)
    info = xp.zeros(w.shape[0], dtype=np.int32)
    for j in builtins.range(k if w.size else 0):
        p = j + _pivot_row(xp, w[:, j:, j])
        piv[:, j] = p + 1
        for arr in (w, perm):
            top = arr[rows, j].copy()
            arr[rows, j] = arr[rows, p]
            arr[rows, p] = top
        d = w[:, j, j]
        zero = d == 0
        info = xp.where((info == 0) & zero, j + 1, info)
        w[:, j + 1:, j] /= xp.where(zero, 1, d)[:, None]
        w[:, j + 1:, j + 1:] -= w[:, j + 1:, j, None] * w[:, None, j, j + 1:]
    batch = a.shape[:-2]
    return w.reshape(a.shape), piv.reshape(batch + (k,)), perm.reshape(batch + (m,)), info.reshape(batch)


def _lu_solve(xp: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """``a^{-1} b`` through :func:`_lu` (IEEE inf/nan where a pivot is zero, as LAPACK's getrs) and info."""
    lu, _, perm, info = _getrf(xp, a)
    pb = xp.take_along_axis(b, perm[..., None], axis=-2)
    with np.errstate(all="ignore"):
        x = _substitute(xp, lu, _substitute(xp, lu, pb, False, True), True, False)
    return x, info


def _cholesky_loop(xp: Any, a: Any) -> tuple[Any, Any]:
    """Unblocked lower Cholesky of each matrix, stopping where LAPACK's potrf does: returns the (partial)
    factor and info (the order of the first leading minor that is not positive-definite, 0: none)."""
    n = a.shape[-1]
    w = xp.tril(a).reshape((-1, n, n)).copy()
    info = xp.zeros(w.shape[0], dtype=np.int32)
    active = xp.ones(w.shape[0], dtype=bool)
    for j in range(n):
        row = w[:, j, :j]
        d = (w[:, j, j] - (row * row.conj()).sum(-1)).real
        fail = active & ~(d > 0)
        info = xp.where(fail, j + 1, info)
        ok = active & ~fail
        root = xp.sqrt(xp.where(ok, d, 1))
        w[:, j, j] = xp.where(ok, root, xp.where(fail, d, w[:, j, j]))
        col = (w[:, j + 1:, j] - (w[:, j + 1:, :j] @ row.conj()[:, :, None])[:, :, 0]) / root[:, None]
        w[:, j + 1:, j] = xp.where(ok[:, None], col, w[:, j + 1:, j])
        active = ok
    return w.reshape(a.shape), info.reshape(a.shape[:-2])


def _own_batch(A: Tensor, batch: tuple) -> tuple:
    """The index that takes, from arrays over the broadcast ``batch``, the entries of ``A``'s own batch (for
    results torch reports per input matrix, whose broadcast copies repeat them)."""
    abatch = A._data.shape[:-2]
    lead = len(batch) - len(abatch)
    return (0,) * lead + tuple(slice(None) if k == kb else slice(0, 1)
                               for k, kb in zip(abatch, batch[lead:], strict=True))


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """torch's rule for when B holds vectors rather than matrices in ``A X = B``."""
    nb = B._data.ndim
    return nb == 1 or (nb == A._data.ndim - 1 and B._data.shape == A._data.shape[:-1])


# ---- einsum ---------------------------------------------------------------------------------------------
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _sublist_equation(args: Sequence[Any]) -> tuple[str, list[Tensor]]:
    """torch.einsum(op0, sublist0, op1, sublist1, ..., [sublist_out]) as an equation string."""
    def subs(lst: Sequence[Any]) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in lst)
    pairs = len(args) // 2
    eq = ",".join(subs(s) for s in args[1:2 * pairs:2])
    if len(args) % 2:
        eq += "->" + subs(args[-1])
    return eq, list(args[0:2 * pairs:2])


def _parse_term(eq: str, start: int, end: int, op: int) -> tuple[list[str], bool]:
    """The labels of one operand's subscripts (``'.'`` for the ellipsis position) and whether it has one."""
    labels: list[str] = []
    ell = False
    i = start
    while i < end:
        ch = eq[i]
        if ch == ".":
            if ell:
                raise RuntimeError(f"einsum(): found '.' for operand {op} for which an ellipsis was already "
                                   "found")
            if eq[i:i + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {op} that is not part of any ellipsis")
            labels.append(".")
            ell = True
            i += 3
            continue
        if ch != " ":
            if ch not in _LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation string, "
                                   "subscripts must be in [a-zA-Z]")
            labels.append(ch)
        i += 1
    return labels, ell


def _parse_einsum(eq: str, ops: Sequence[Tensor]) -> tuple[list[str], str, str]:
    """Explicit, letters-only subscripts (ellipsis dims get fresh letters), the output subscripts and the
    letters standing for the ellipsis dims."""
    arrow = eq.find("->")
    lhs_end = arrow if arrow >= 0 else len(eq)
    bounds, start = [], 0
    for i, ch in enumerate(eq[:lhs_end]):
        if ch == ",":
            bounds.append((start, i))
            start = i + 1
    bounds.append((start, lhs_end))
    if len(bounds) > len(ops):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(bounds) < len(ops):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    terms = [_parse_term(eq, s, e, k) for k, (s, e) in enumerate(bounds)]
    used = {ch for labels, _ in terms for ch in labels}
    fresh = [ch for ch in _LETTERS if ch not in used]
    ell_dims = 0
    for k, ((labels, ell), t) in enumerate(zip(terms, ops, strict=True)):
        n, nl = t._data.ndim, len(labels) - ell
        if not ell and nl != n:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({nl}) does not match "
                               f"the number of dimensions ({n}) for operand {k} and no ellipsis was given")
        if ell and nl > n:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({nl}) is more than the "
                               f"number of dimensions ({n}) for operand {k}")
        ell_dims = max(ell_dims, n - nl if ell else 0)
    ell_letters = "".join(fresh[:ell_dims])
    subs = ["".join(ell_letters[ell_dims - (t._data.ndim - len(labels) + 1):] if ch == "." else ch
                    for ch in labels) for (labels, _), t in zip(terms, ops, strict=True)]
    any_ell = any(ell for _, ell in terms)
    if arrow >= 0:
        out_labels, out_ell = _parse_term(eq, arrow + 2, len(eq), len(ops))
        seen: set[str] = set()
        for ch in out_labels:
            if ch == ".":
                continue
            if ch not in used:
                raise RuntimeError(f"einsum(): output subscript {ch} does not appear in the equation for any "
                                   "input operand")
            if ch in seen:
                raise RuntimeError(f"einsum(): output subscript {ch} appears more than once in the output")
            seen.add(ch)
        out = "".join(ell_letters if ch == "." else ch for ch in out_labels)
    else:
        counts = "".join(s for s, (labels, _) in zip(subs, terms, strict=True))
        singles = sorted((ch for ch in used if ch != "." and counts.count(ch) == 1), key=_LETTERS.index)
        out = (ell_letters if any_ell else "") + "".join(singles)
    return subs, out, ell_letters


def _label_sizes(subs: list[str], ops: Sequence[Tensor]) -> dict[str, int]:
    """Each label's size, with torch's broadcasting of size-1 dims and its errors."""
    sizes: dict[str, int] = {}
    for k, (s, t) in enumerate(zip(subs, ops, strict=True)):
        own: dict[str, int] = {}
        for ch, n in zip(s, t._data.shape, strict=True):
            if ch in own and own[ch] != n:
                raise RuntimeError(f"einsum(): subscript {ch} is repeated for operand {k} but the sizes "
                                   f"don't match, {n} != {own[ch]}")
            own[ch] = n
            prev = sizes.get(ch)
            if prev is None or prev == 1:
                sizes[ch] = n
            elif n != 1 and n != prev:
                raise RuntimeError(f"einsum(): subscript {ch} has size {n} for operand {k} which does not "
                                   f"broadcast with previously seen size {prev}")
    return sizes


def _sumproduct_pair(left: Tensor, right: Tensor, sum_dims: list[int]) -> Tensor:
    """``(left * right).sum(sum_dims, keepdim=True)`` for operands of equal rank (size-1 dims broadcast), as
    torch computes it: dims only one side has are summed at once, the rest permuted into one bmm."""
    if not sum_dims:
        return left * right
    lro: list[int] = []
    lo: list[int] = []
    ro: list[int] = []
    lro_size = lo_size = ro_size = sum_size = 1
    for i in range(left.dim()):
        sl, sr = left.shape[i] != 1, right.shape[i] != 1
        if i in sum_dims:
            if sl and sr:
                sum_size *= left.shape[i]
            elif sl:
                left = left.sum(i, keepdim=True)
            elif sr:
                right = right.sum(i, keepdim=True)
        elif sl and sr:
            lro.append(i)
            lro_size *= left.shape[i]
        elif sl:
            lo.append(i)
            lo_size *= left.shape[i]
        else:
            ro.append(i)
            ro_size *= right.shape[i]
    out_size = ([left.shape[d] for d in lro] + [left.shape[d] for d in lo] + [1] * len(sum_dims)
                + [right.shape[d] for d in ro])
    order = lro + lo + sum_dims + ro
    left = left.permute(order).reshape(lro_size, lo_size, sum_size)
    right = right.permute(lro + sum_dims + ro + lo).reshape(lro_size, sum_size, ro_size)
    return left.bmm(right).view(out_size).permute([order.index(d) for d in range(len(order))])


def _einsum_composed(subs: list[str], out: str, ell: str, ops: list[Tensor]) -> Tensor:
    """torch's einsum op for op: every operand aligned (diagonals of repeated labels, size-1 dims for missing
    ones, permuted to output labels then contracted ones), then contracted left to right pairwise."""
    def torch_order(ch: str) -> int:   # torch numbers labels A-Z then a-z
        return _LETTERS.index(ch)
    contracted = sorted({ch for sub in subs for ch in sub if ch not in out and ch not in ell}, key=torch_order)
    labels = list(out) + [ch for ch in ell if ch not in out] + contracted
    index = {ch: k for k, ch in enumerate(labels)}
    n_out, n_all = len(out), len(labels)
    counts = [0] * n_all
    aligned = []
    for sub, op in zip(subs, ops, strict=True):
        perm = [-1] * n_all
        dim = 0
        for ch in sub:
            k = index[ch]
            if perm[k] == -1:
                if op.shape[dim] != 1:
                    counts[k] += 1
                perm[k] = dim
                dim += 1
            else:   # a repeated label: its diagonal, kept where the label first appeared
                op = op.diagonal(0, perm[k], dim).movedim(-1, perm[k])
        for k in range(n_all):
            if perm[k] == -1:
                op = op.unsqueeze(dim)
                perm[k] = dim
                dim += 1
        aligned.append(op.permute(perm))
    while len(aligned) > 1:
        a, b = aligned[0], aligned[1]
        del aligned[:2]
        sum_dims, a_sum, b_sum = [], [], []
        for d in range(n_out, n_all):
            if a.shape[d] != 1 and b.shape[d] != 1:
                counts[d] -= 1
                if counts[d] == 1:
                    sum_dims.append(d)
                    counts[d] = 0
            elif counts[d] == 1:
                if a.shape[d] != 1:
                    a_sum.append(d)
                    counts[d] = 0
                elif b.shape[d] != 1:
                    b_sum.append(d)
                    counts[d] = 0
        if a_sum:
            a = a.sum(a_sum, keepdim=True)
        if b_sum:
            b = b.sum(b_sum, keepdim=True)
        aligned.insert(0, _sumproduct_pair(a, b, sum_dims))
    res = aligned[0]
    if n_all > n_out:
        return res.view(res.shape[:n_out]) if len(ops) > 1 else res.sum(list(range(n_out, n_all)))
    return res


def einsum(*args: Any) -> Tensor:
    """Einstein summation over operands, as ``torch.einsum``: explicit or implicit output, ellipsis,
    broadcasting of size-1 dims, operands given as a list, or the sublist format."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, or at least "
                        "one operand and its subscripts list")
    if _isinstance(args[0], str):
        listed = len(args) == 2 and not _isinstance(args[1], Tensor)
        eq, ops = args[0], list(args[1] if listed else args[1:])
    else:
        eq, ops = _sublist_equation(args)
    for t in ops:
        _arg("einsum", "tensors", 2, t)
    subs, out, ell = _parse_einsum(eq, ops)
    _label_sizes(subs, ops)
    return _einsum_composed(subs, out, ell, ops)   # (mixed dtypes: products promote, a contraction's bmm refuses)


# ---- tensordot, kron, inner -----------------------------------------------------------------------------
def _tensordot_dims(dims: Any, na: int, nb: int) -> tuple[list[int], list[int]]:
    if _isinstance(dims, Tensor):
        dims = dims.item() if dims._data.ndim == 0 else dims.tolist()
    if _isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    da, db = ([d] if _isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    return da, db


_TENSORDOT_OUT = _out_error("tensordot: Expected the output tensor to have dtype {want}, but got an output tensor "
                            "with dtype {got}")


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """Contract ``dims`` of ``a`` with ``dims`` of ``b`` (an int: the last/first ones) as one matrix
    product."""
    _arg("tensordot", "a", 1, a)
    _arg("tensordot", "b", 2, b)
    na, nb = a._data.ndim, b._data.ndim
    da, db = _tensordot_dims(dims, na, nb)
    if a._dtype is not b._dtype:
        raise RuntimeError("both inputs should have same dtype")
    ca, cb = [wrap_dim(d, na) for d in da], [wrap_dim(d, nb) for d in db]
    for x, y, i, j in zip(ca, cb, da, db, strict=True):
        sa, sb = a._data.shape[x], b._data.shape[y]
        if sa != sb:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa} in dim {i} and "
                               f"second has size {sb} in dim {j}")
    fa = [d for d in range(na) if d not in ca]
    fb = [d for d in range(nb) if d not in cb]
    k = math.prod(a._data.shape[d] for d in ca)
    size1, size2 = math.prod(a._data.shape[d] for d in fa), math.prod(b._data.shape[d] for d in fb)
    left, right = a.permute(fa + ca), b.permute(cb + fb)
    if size1 == size2 == 1:   # torch contracts two vectors with dot
        prod = dot(left.reshape(k), right.reshape(k))
    else:
        prod = mm(left.reshape(size1, k), right.reshape(k, size2))
    res = prod.view([a._data.shape[d] for d in fa] + [b._data.shape[d] for d in fb])
    return res if out is None else write_out(out, res, None, _TENSORDOT_OUT)


def _unsafe_reshape(t: Tensor, shape: list[int]) -> Tensor:
    """torch's ``_unsafe_view`` where the memory allows it (a contiguous tensor), else ``reshape``."""
    return unsafe_view(t, tuple(shape)) if t._data.flags.c_contiguous else t.reshape(shape)


def kron(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Kronecker product (dims aligned to the right, dtypes promoted)."""
    _arg("kron", "input", 1, input)
    _arg("kron", "other", 2, other)
    n = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (n - input._data.ndim) + input._data.shape
    sb = (1,) * (n - other._data.ndim) + other._data.shape
    # torch: input as (a0, 1, a1, 1, ...) times other as (1, b0, 1, b1, ...), all through _unsafe_view
    a = _unsafe_reshape(input, [x for s in sa for x in (s, 1)])
    b = _unsafe_reshape(other, [x for s in sb for x in (1, s)])
    res = unsafe_view(a * b, tuple(x * y for x, y in zip(sa, sb, strict=True)))
    return res if out is None else write_out(out, res, "kron")


def inner(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Sum of products over the last dims (a scalar operand multiplies)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        res = input * other
    elif input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input._data.shape)} and {list(other._data.shape)}")
    else:
        res = tensordot(input, other, ([-1], [-1]))
    return res if out is None else write_out(out, res, "inner", _TENSORDOT_OUT if input.dim() and other.dim() else None)


# ---- trace, diagonals -----------------------------------------------------------------------------------
class TraceBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .creation import eye
        n, m = self._meta[0][0]
        return (g * eye(n, m, dtype=g._dtype, device=g._device),)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integers sum to int64, as torch.sum)."""
    _arg("trace", "input", 1, input)
    _basic_kernel(input, "trace")
    a = input._data
    if a.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
    dt = input._dtype
    dt = D.int64 if dt.category == 1 else dt
    xp = _xp(input)
    diag = xp.diagonal(a)   # summed in order in torch's accumulation type (float32 in double), as its loop
    total = xp.cumsum(diag, dtype=acc_type(dt))[-1] if diag.size else xp.zeros((), dt.np)
    res = _new(total.astype(dt.np), dt, input)
    _track(TraceBackward0, res, (input,))
    return res


def _diag_positions(xp: Any, rows: int, cols: int, offset: int) -> tuple[Any, Any]:
    """Row and column indices of the ``offset`` diagonal of a rows x cols matrix."""
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    idx = xp.arange(n)
    return idx - min(offset, 0), idx + max(offset, 0)


class DiagEmbedBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_diag_copy(g, self.offset, self.dim1, self.dim2),)


class DiagonalBackward0_copy(Node):  # noqa: N801 - torch's name
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_embed_diag(g, self._meta[0][0], self.offset, self.dim1, self.dim2),)


def _embed_diag(t: Tensor, shape: tuple, offset: int, d1: int, d2: int) -> Tensor:
    """A zero tensor of ``shape`` with ``t``'s last dim written on the ``offset`` diagonal of dims d1, d2."""
    xp = _xp(t)
    out = xp.zeros(shape, dtype=t._dtype.np)   # contiguous, as torch's
    r, c = _diag_positions(xp, shape[d1], shape[d2], offset)
    xp.moveaxis(out, (d1, d2), (-2, -1))[..., r, c] = t._data
    res = _new(out, t._dtype, t)
    _track(DiagEmbedBackward0, res, (t,), offset=offset, dim1=d1, dim2=d2)
    return res


def _diag_copy(t: Tensor, offset: int, d1: int, d2: int) -> Tensor:
    """The ``offset`` diagonal of dims d1, d2 as a new tensor (diagonal last)."""
    res = _new(_xp(t).diagonal(t._data, offset, d1, d2).copy(), t._dtype, t)
    _track(DiagonalBackward0_copy, res, (t,), offset=offset, dim1=d1, dim2=d2)
    return res


def _diagonal(t: Tensor) -> Tensor:
    """The main diagonals of a batch of matrices (a differentiable copy)."""
    n = t._data.ndim
    return _diag_copy(t, 0, n - 2, n - 1)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims dim1, dim2) whose ``offset`` diagonal holds the last dim of ``input``."""
    _arg("diag_embed", "input", 1, input)
    n = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = input._data.shape[-1] + abs(offset)
    rest = iter(input._data.shape[:-1])
    shape = tuple(size if i in (d1, d2) else next(rest) for i in range(n))
    return _embed_diag(input, shape, offset, d1, d2)


def diag(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """1-d → the matrix with ``input`` on a diagonal; 2-d → that diagonal (a copy)."""
    _arg("diag", "input", 1, input)
    n = input._data.ndim
    if n == 1:
        res = diag_embed(input, diagonal)
    elif n == 2:
        res = _diag_copy(input, diagonal, 0, 1)
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")
    return res if out is None else write_out(out, res)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input on a diagonal of a square matrix."""
    _arg("diagflat", "input", 1, input)
    return diag_embed(input.reshape(-1), offset)


# ---- tril / triu ----------------------------------------------------------------------------------------
class TrilBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (tril(g, self.diagonal),)


class TriuBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (triu(g, self.diagonal),)


def _triangle(name: str, node: type[Node]) -> tuple[Callable, Callable]:
    def op(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
        _arg(name, "input", 1, input)
        diagonal = int_arg(diagonal, name, "diagonal", 2)
        if input._data.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        no_unsigned_kernel(name, input._dtype)
        xp = _xp(input)   # a contiguous result whatever the input's layout, as torch's kernel
        res = _new(xp.asarray(getattr(xp, name)(input._data, diagonal), order="C"), input._dtype, input)
        _track(node, res, (input,), diagonal=diagonal)
        return res if out is None else write_out(out, res)

    def op_(self: Tensor, diagonal: int = 0) -> Tensor:
        check_inplace(self)
        return inplace(self, op(self, diagonal))

    op.__name__, op_.__name__ = name, name + "_"
    op.__doc__ = f"The {'lower' if name == 'tril' else 'upper'} triangle (last two dims), from ``diagonal``."
    op_.__doc__ = f"In-place :func:`{name}`."
    return op, op_


tril, tril_ = _triangle("tril", TrilBackward0)
triu, triu_ = _triangle("triu", TriuBackward0)


# ---- cross, block_diag, cdist ---------------------------------------------------------------------------
class LinalgCrossBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        a, b = self.saved
        d = self.dim
        return (_cross(_c(b), g, d) if a._rg else None, _cross(g, _c(a), d) if b._rg else None)


def _cross(a: Tensor, b: Tensor, dim: int) -> Tensor:
    xp = _xp(a)
    shape = broadcast_shapes(a._data.shape, b._data.shape)
    arrs = [xp.broadcast_to(x._data, shape) for x in (a, b)]
    res = _new(xp.cross(arrs[0], arrs[1], axis=dim), a._dtype, a)
    node = _track(LinalgCrossBackward0, res, (a, b), dim=dim)
    if node is not None:
        node.save(a, b)
    return res


def _basic_kernel(x: Tensor, kernel: str) -> None:
    """torch's refusal of bool, the wide unsigned types, float8 and complex32 by ``kernel`` (trace, cross)."""
    dt = x._dtype
    if dt.category == 0 or dt.kind or dt.name in ("uint16", "uint32", "uint64"):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")


def _cross_checks(input: Tensor, other: Tensor, dim: int, shown: Any) -> None:
    a, b = input._data, other._data
    if a.shape[dim] != 3 or b.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {shown} must have length 3. Got {a.shape[dim]} "
                           f"and {b.shape[dim]}")
    if input._dtype is not other._dtype:
        raise RuntimeError(f"expected scalar type {input._dtype._short} but found {other._dtype._short}")
    _basic_kernel(input, "cross")


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Tensor | None = None) -> Tensor:
    """3-vector cross product along ``dim`` (default, deprecated: the input's first dim of size 3)."""
    _arg("cross", "input", 1, input)
    _arg("cross", "other", 2, other)
    if dim is None:
        warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass "
             "the dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will "
             "change to agree with that of linalg.cross in a future release.", UserWarning,
             stacklevel=2)
        dim = next((i for i, s in enumerate(input._data.shape) if s == 3), None)   # input's own shape
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim, out=out)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """``torch.linalg.cross``: cross product of 3-vectors along ``dim`` with broadcasting."""
    _arg("linalg_cross", "input", 1, input)
    _arg("linalg_cross", "other", 2, other)
    if input._data.ndim != other._data.ndim:   # (before dim is wrapped)
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if not input._data.ndim:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, input._data.ndim)
    _cross_checks(input, other, d, dim)
    res = _cross(input, other, d)
    return res if out is None else write_out(out, res, None, out_dtype_error)


class BlockDiagBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        grads = []
        for (r, c, h, w), (shape, _) in zip(self.blocks, self._meta, strict=True):
            grads.append(g[r:r + h, c:c + w].reshape(shape))
        return tuple(grads)


def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of 0-d, 1-d (a row) or 2-d tensors, dtypes promoted."""
    from ._dispatch import result_dtype
    for i, t in enumerate(tensors):
        _arg("block_diag", "tensors", 1, t)
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} "
                               f"has {t._data.ndim} dimensions")
    if not tensors:
        return new_tensor(np.zeros((1, 0), D.get_default_dtype().np), D.get_default_dtype(), CPU)
    dt = result_dtype(*tensors)
    dims = [(t._data.shape + (1, 1))[:2] if t._data.ndim == 0 else
            ((1,) + t._data.shape if t._data.ndim == 1 else t._data.shape) for t in tensors]
    xp = _xp(tensors[0])
    out = xp.zeros((sum(h for h, _ in dims), sum(w for _, w in dims)), dtype=dt.np)
    blocks, r, c = [], 0, 0
    for t, (h, w) in zip(tensors, dims, strict=True):
        out[r:r + h, c:c + w] = t._data.reshape(h, w)
        blocks.append((r, c, h, w))
        r, c = r + h, c + w
    res = new_tensor(out, dt, tensors[0]._device)
    _track(BlockDiagBackward0, res, tensors, blocks=blocks)
    return res


class CdistBackward0(Node):
    """Gradient of the p-norm distances (torch's ``_cdist_backward``: 0 where a distance is 0)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        x1, x2, dist = self.saved
        p = self.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        d, gg = dist.unsqueeze(-1), g.unsqueeze(-1)
        if p == 0:
            w = diff * 0
        elif p == 1:
            w = diff.sign()
        elif p == 2 and STATE.grad:   # a graph of the gradient: no NaN from d = 0 into d's own gradient
            from .indexing import where
            zero = d == 0
            w = where(zero, 0.0, diff / where(zero, 1.0, d))
        elif p == 2:
            w = (diff / d).masked_fill(d == 0, 0)
        elif math.isinf(p):
            w = diff.sign() * (diff.abs() == d)
        else:
            w = (diff.sign() * diff.abs().pow(p - 1) / d.pow(p - 1)).masked_fill(d == 0, 0)
        t = w * gg
        g1, g2 = t.sum(-2) if x1._rg else None, -t.sum(-3) if x2._rg else None
        if self.by_mm:   # torch differentiates its matmul form
            return g1, g2
        err = (NotImplementedError, "the derivative for '_cdist_backward' is not implemented.")
        return tuple(None if gi is None else tie(gi, self, "CdistBackwardBackward0", (0, 1), err) for gi in (g1, g2))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"
          ) -> Tensor:
    """p-norm distances between the rows of ``x1`` and ``x2`` (batch dims broadcast)."""
    _arg("cdist", "x1", 1, x1)
    _arg("cdist", "x2", 2, x2)
    for name, t in (("X1", x1), ("X2", x2)):
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t._data.ndim}D")
    c1, c2 = x1._data.shape[-1], x2._data.shape[-1]
    if c1 != c2:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {c1} X2: {c2}")
    for name, t in (("X1", x1), ("X2", x2)):
        if not t._dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {t._dtype._short}")
    if x1._dtype is D.float16 or x1._dtype is D.bfloat16:
        raise NotImplementedError(f'"cdist" not implemented for \'{x1._dtype._short}\'')
    if x1._dtype is not x2._dtype:
        raise RuntimeError(f"expected scalar type {x1._dtype._short} but found {x2._dtype._short}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    xp = _xp(x1)
    batch = broadcast_shapes(x1._data.shape[:-2], x2._data.shape[:-2])
    diff = xp.abs(x1._data[..., :, None, :] - x2._data[..., None, :, :])
    if p == 0:
        arr = (diff != 0).sum(-1).astype(diff.dtype)
    elif math.isinf(p):
        arr = diff.max(-1) if diff.shape[-1] else diff.sum(-1)
    elif p == 2:
        arr = xp.sqrt((diff * diff).sum(-1))
    else:
        arr = (diff ** p).sum(-1) ** (1 / p)
    res = _new(xp.broadcast_to(arr, batch + arr.shape[-2:]).copy(), x1._dtype, x1)
    node = _track(CdistBackward0, res, (x1, x2), p=float(p), by_mm=p == 2 and (
        compute_mode == "use_mm_for_euclid_dist" or (compute_mode == "use_mm_for_euclid_dist_if_necessary"
                                                     and max(x1._data.shape[-2], x2._data.shape[-2]) > 25)))
    if node is not None:
        node.save(x1, x2, SavedOutput(res))
    return res


# ---- norms ----------------------------------------------------------------------------------------------
def _matrix_norm_dims(A: Tensor, dim: Any) -> tuple[int, int]:
    dims = list(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
    d0, d1 = (wrap_dim(d, A._data.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(input: Tensor, ord: Any = "fro", dim: Sequence[int] = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None, out: Tensor | None = None) -> Tensor:
    """Frobenius, nuclear, spectral (±2), max-column (±1) or max-row (±inf) norm of the matrices in
    ``dim``."""
    _arg("linalg_matrix_norm", "input", 1, input)
    if ord not in (("fro", "nuc") if _isinstance(ord, str) else (2, -2, 1, -1, math.inf, -math.inf)):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    _matrix(input, "linalg.matrix_norm")
    _inexact(input, "linalg.matrix_norm")
    svd = ord in ("nuc", 2, -2)
    if svd:   # torch's SVD refuses half types (whatever ``dtype``)
        _floating(input, "linalg.matrix_norm")
    d0, d1 = _matrix_norm_dims(input, dim)
    dt = norm_dtype(input, dtype, "linalg.matrix_norm")
    x = input if dt is None else input.to(dt)
    if ord == "fro" or (input._data.size == 0 and (_isinstance(ord, str) or ord > 0)):   # empty: 0, as torch
        res = vector_norm(x, 2, (d0, d1), keepdim)
    elif svd:
        s = svdvals(x.movedim((d0, d1), (-2, -1)))
        res = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            res = res.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (d0, d1))
    else:
        summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
        if x._dtype.kind == "float8":   # torch sums through vector_norm's kernel
            raise NotImplementedError(f"\"norm_cpu\" not implemented for '{x._dtype._short}'")
        sums = vector_norm(x, 1, summed, keepdim)   # torch's graph: Amax/AminBackward0 -> LinalgVectorNormBackward0
        other -= int(not keepdim and summed < other)
        res = sums.amax(other, keepdim=keepdim) if ord > 0 else sums.amin(other, keepdim=keepdim)
    return res if out is None else write_out(out, res, None, _norm_out("linalg.matrix_norm"))


def _norm_out(fn: str) -> Callable[[D.dtype, D.dtype], RuntimeError]:
    return _out_error(fn + " expected out tensor dtype {want} but got: {got}")


def linalg_norm(input: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    """``torch.linalg.norm``: a matrix norm for 2 dims (or a string order), otherwise a vector norm."""
    _arg("linalg_norm", "input", 1, input)
    if dim is not None and _isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        if ord is not None and (len(dim) == 2 or _isinstance(ord, str)):
            res = matrix_norm(input, ord, dim, keepdim, dtype=dtype)
        else:
            res = vector_norm(input, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    elif ord is None:
        res = vector_norm(input, 2, None, keepdim, dtype=dtype)
    elif input._data.ndim == 2:
        res = matrix_norm(input, ord, (-2, -1), keepdim, dtype=dtype)
    elif input._data.ndim != 1:
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {input._data.ndim}D.")
    elif _isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a non-string order. Got {ord}")
    else:
        res = vector_norm(input, ord, None, keepdim, dtype=dtype)
    return res if out is None else write_out(out, res, None, _norm_out("linalg.norm"))


# ---- determinants ---------------------------------------------------------------------------------------
def _solve_adjoint(A: Tensor, d: Tensor, errors: str | None = None) -> Tensor:
    """``A^{-H} * d`` for a batch of scalars ``d``: solve(A^H, d I) (inf/NaN for a singular ``A``, as torch's
    gradients there; ``errors``: raise torch's LinAlgError under that name instead)."""
    return _solve_ex(_h(A), d.unsqueeze(-1).unsqueeze(-1) * _eye(A._data.shape[-1], A), True, errors).result


class LinalgDetBackward0(Node):
    """d det = det * A^{-H}: zero on exactly singular inputs (as torch's perturbed LU gives); with
    create_graph, near-singular inputs take the adjugate through an SVD so second derivatives exist."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        A, det = self.saved
        d = g * _c(det)
        singular = det.abs() < 100 * _eps(A._dtype) if STATE.enabled else det == 0
        from .indexing import where
        if not bool(singular._data.any()):
            return (_solve_adjoint(A, d),)
        mask = singular.unsqueeze(-1).unsqueeze(-1)
        grad = _solve_adjoint(where(mask, _eye(A._data.shape[-1], A), A), d)
        if not STATE.enabled:
            return (grad,)
        U, S, Vh = linalg_svd(A)
        alpha = _c(linalg_det(U) * linalg_det(Vh)) * g
        n = S._data.shape[-1]
        others = where(_eye(n, S).bool(), 1, S.unsqueeze(-2).expand(*S.shape[:-1], n, n)).prod(-1)
        adj = (U * (alpha.unsqueeze(-1) * others).unsqueeze(-2)).matmul(Vh)
        return (where(mask, adj, grad),)


def linalg_det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``torch.linalg.det``: determinants of square matrices (0 for singular ones)."""
    _arg("linalg_det", "A", 1, A)
    _square(A, "linalg.det")
    res = _new(_xp(A).linalg.det(_floating(A, "linalg.det", "lu_cpu", skip_empty=True)), A._dtype, A)
    node = _track(LinalgDetBackward0, res, (A,))
    if node is not None:
        node.save(A, SavedOutput(res))
    return res if out is None else write_out(out, res, None, out_dtype_error)


class LinalgSlogdetBackward0(Node):
    __slots__ = ()

    def backward(self, g_sign: Tensor, g_logabs: Tensor) -> tuple:
        A, sign = self.saved
        g = g_logabs
        if A._dtype.is_complex:   # the phase's gradient: -i Im(conj(g_sign) sign)
            g = g - 1j * (_c(g_sign) * sign).imag
        # torch.func's reverse transforms (grad, vjp, jacrev) refuse a singular A; autograd and forward AD give NaN
        reverse_transform = bool(TRANSFORMS.stack) and FW_LEVEL[0] < 0
        return (_solve_adjoint(A, g, "torch.linalg.solve" if reverse_transform else None),)


_Slogdet = return_type("linalg_slogdet", ("sign", "logabsdet"))


def linalg_slogdet(A: Tensor, *, out: Any = None) -> Any:
    """``(sign, log|det|)`` of square matrices; differentiable through ``logabsdet``."""
    return finish(_slogdet(A, "linalg.slogdet"), out, out_dtype_error)


def _slogdet(A: Tensor, fn: str) -> Any:
    """linalg.slogdet with its checks worded under ``fn`` (torch's logdet names itself)."""
    _arg("linalg_slogdet", "A", 1, A)
    _square(A, fn)
    _floating(A, fn)
    sign, logabs = _xp(A).linalg.slogdet(A._data)
    outs = [_new(sign, A._dtype, A), _new(logabs, A._dtype.to_real(), A)]
    node = _track(LinalgSlogdetBackward0, outs, (A,))
    if node is not None:
        node.save(A, SavedOutput(outs[0]))
    return _Slogdet(*outs)


def logdet(input: Tensor) -> Tensor:
    """log det: NaN for a negative determinant, -inf for a singular matrix."""
    from .indexing import where
    sign, logabs = _slogdet(input, "logdet")
    if input._dtype.is_complex:
        return sign.log() + logabs
    return where(sign == -1, math.nan, logabs)


# ---- inverses and solvers -------------------------------------------------------------------------------
class LinalgInvExBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor, g_info: Any = None) -> tuple:
        (inv,) = self.saved
        ih = _h(inv)
        return (-ih.matmul(g).matmul(ih),)


_InvEx = return_type("linalg_inv_ex", ("inverse", "info"))


def _singular_message(k: int) -> str:
    return (f"The diagonal element {k} is zero, the inversion could not be completed because the input "
            "matrix is singular.")


def inv_ex(A: Tensor, *, check_errors: bool = False, out: Any = None) -> Any:
    """``(inverse, info)``: info > 0 marks a singular matrix (its first zero pivot) instead of raising."""
    return finish(_inv_ex(A, "linalg.inv_ex" if check_errors else None), out, out_dtype_error)


def _inv_ex(A: Tensor, errors: str | None) -> Any:
    """inv_ex; ``errors``: the function name a LinAlgError is raised under (None: report in info only)."""
    _arg("linalg_inv_ex", "A", 1, A)
    _square(A, "linalg.inv")
    _floating(A, "linalg.inv")
    xp = _xp(A)
    a = A._data
    arr = _failed(xp, xp.linalg.inv, a)
    if arr is None:
        arr, info = _lu_solve(xp, a, xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape))
        if errors:
            _raise_info(errors, info, a.ndim > 2, _singular_message)
    else:
        info = xp.zeros(a.shape[:-2], dtype=np.int32)
    outs = [_new(arr, A._dtype, A), _new(info, D.int32, A)]
    node = _track(LinalgInvExBackward0, outs, (A,))
    if node is not None:
        node.save(SavedOutput(outs[0]))
    return _InvEx(*outs)


def inv(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse of square matrices; LinAlgError for singular ones."""
    res = _inv_ex(A, "linalg.inv").inverse
    return res if out is None else write_out(out, res, None, out_dtype_error)


class LinalgSolveExBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor, g_info: Any = None) -> tuple:
        A, X = self.saved
        left, vector = self.left, self.vector
        if vector:
            g, X = g.unsqueeze(-1), X.unsqueeze(-1)
        gB = _solve_ex(_h(A), g, left, None).result   # inf/NaN for a singular A, as torch's LU solve
        gA = (-gB.matmul(_h(X)) if left else -_h(X).matmul(gB)) if A._rg else None
        return gA, (gB.squeeze(-1) if vector else gB)


_SolveEx = return_type("linalg_solve_ex", ("result", "info"))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    """``(X, info)`` solving ``A X = B`` (``X A = B`` when not ``left``) with broadcast batch dims."""
    return finish(_solve_ex(A, B, left, "torch.linalg.solve_ex" if check_errors else None), out, out_dtype_error)


def _solve_ex(A: Tensor, B: Tensor, left: bool, errors: str | None) -> Any:
    """solve_ex; ``errors``: the function name a LinAlgError is raised under (None: report in info only)."""
    _arg("linalg_solve_ex", "A", 1, A)
    _arg("linalg_solve_ex", "B", 2, B)
    _inexact(A, "linalg.solve")
    _same_dtype("linalg.solve", A, B)
    _matrix(A, "linalg.solve")
    _square(A, "linalg.solve")
    vector = _is_vector_rhs(A, B)
    b = B._data[..., None] if vector else B._data
    n = A._data.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        shape = f"{b.shape[-2]}x{b.shape[-1]}"
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                           f"{shape})")
    if vector and not left:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for "
                           "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    batch = broadcast_shapes(b.shape[:-2], A._data.shape[:-2])
    a = _kernel(A, "lu_cpu", skip_empty=True)
    xp = _xp(A)
    a = xp.broadcast_to(a, batch + (n, n))
    b = xp.broadcast_to(b.astype(a.dtype, copy=False), batch + b.shape[-2:])
    if not left:
        a, b = a.swapaxes(-1, -2), b.swapaxes(-1, -2)
    arr = _failed(xp, xp.linalg.solve, a, b)
    info = xp.zeros(batch, dtype=np.int32)
    if arr is None:
        arr, info = _lu_solve(xp, a, b)
        if errors:
            _raise_info(errors, info, len(batch) > 0,
                        lambda k: "The solver failed because the input matrix is singular.")
    if not left:
        arr = arr.swapaxes(-1, -2)
    outs = [_new(arr[..., 0] if vector else arr, A._dtype, A), _new(info[_own_batch(A, batch)], D.int32, A)]
    node = _track(LinalgSolveExBackward0, outs, (A, B), left=left, vector=vector)
    if node is not None:
        node.save(A, SavedOutput(outs[0]))
    return _SolveEx(*outs)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B``); LinAlgError for singular ``A``."""
    res = _solve_ex(A, B, left, "torch.linalg.solve").result
    return res if out is None else write_out(out, res, None, out_dtype_error)


def _substitute(xp: Any, a: Any, b: Any, upper: bool, unit: bool) -> Any:
    """Forward/back substitution ``a^{-1} b`` for triangular ``a``, one row at a time over all batches and
    columns (a zero diagonal gives inf/nan, as LAPACK's trsm)."""
    n = a.shape[-1]
    x = xp.empty(b.shape, dtype=b.dtype)
    for i in (range(n - 1, -1, -1) if upper else range(n)):
        lo, hi = (i + 1, n) if upper else (0, i)
        r = b[..., i, :] - (a[..., i:i + 1, lo:hi] @ x[..., lo:hi, :])[..., 0, :]
        x[..., i, :] = r if unit else r * (1 / a[..., i, i, None])   # BLAS trsm multiplies by the reciprocal
    return x


class LinalgSolveTriangularBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        A, X = self.saved
        upper, left, unit = self.upper, self.left, self.unitriangular
        gB = solve_triangular(_h(A), g, upper=not upper, left=left, unitriangular=unit)
        gA = None
        if A._rg:
            gA = -gB.matmul(_h(X)) if left else -_h(X).matmul(gB)
            gA = gA.triu(int(unit)) if upper else gA.tril(-int(unit))
        return gA, gB


def solve_triangular(input: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B``) reading only the ``upper`` or lower triangle of ``A``."""
    A = input
    _arg("linalg_solve_triangular", "input", 1, A)
    _arg("linalg_solve_triangular", "B", 2, B)
    fn = "linalg.solve_triangular"
    _square(A, fn)
    _matrix(B, fn, "B")
    n = A._data.shape[-1]
    b = B._data
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                           f"{b.shape[-2]}x{b.shape[-1]})")
    batch = broadcast_shapes(b.shape[:-2], A._data.shape[:-2])
    _kernel(A, "triangular_solve_cpu")
    b = b.astype(A._dtype.np, copy=False)   # the result takes A's dtype, as in torch
    xp = _xp(A)
    a = xp.broadcast_to(A._data, batch + (n, n))
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    with np.errstate(all="ignore"):
        if left:
            arr = _substitute(xp, a, b, upper, unitriangular)
        else:
            arr = _substitute(xp, a.swapaxes(-1, -2), b.swapaxes(-1, -2), not upper, unitriangular)
            arr = arr.swapaxes(-1, -2)
    res = _new(arr, A._dtype, A)
    node = _track(LinalgSolveTriangularBackward0, res, (A, B), upper=upper, left=left,
                  unitriangular=unitriangular)
    if node is not None:
        node.save(A, SavedOutput(res))
    return res if out is None else write_out(out, res, None, _out_error("expected scalar type {want} but found {got}"))


# ---- Cholesky -------------------------------------------------------------------------------------------
class LinalgCholeskyExBackward0(Node):
    """Murray (2016): A^{-H}-conjugated Φ(L^H gL), Hermitian by construction."""

    __slots__ = ()

    def backward(self, g: Tensor, g_info: Any = None) -> tuple:
        (L,) = self.saved
        if self.upper:
            L, g = _h(L), _h(g)
        phi = _h(L).matmul(g).tril()
        phi = 0.5 * (phi + _h(phi.tril(-1)))
        gA = solve_triangular(_h(L), phi, upper=True, left=True)
        return (solve_triangular(L, gA, upper=False, left=False),)


_CholeskyEx = return_type("linalg_cholesky_ex", ("L", "info"))


class CholeskyBackward0(LinalgCholeskyExBackward0):
    """The deprecated ``torch.cholesky``'s node (same formula)."""

    __slots__ = ()


def cholesky_ex(input: Tensor, *, upper: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """``(L, info)``: the Cholesky factor and, per matrix, the order of the first leading minor that is not
    positive-definite (0 when the factorization succeeded)."""
    return finish(_cholesky(input, upper, "linalg.cholesky_ex" if check_errors else None,
                            LinalgCholeskyExBackward0), out, out_dtype_error)


def _cholesky(A: Tensor, upper: bool, errors: str | None, node_cls: type[Node]) -> Any:
    """cholesky_ex; ``errors``: the function name a LinAlgError is raised under (None: info only)."""
    _arg("linalg_cholesky_ex", "input", 1, A)
    legacy = node_cls is CholeskyBackward0   # the deprecated torch.cholesky: its own name, no integer check
    _square(A, "cholesky" if legacy else "linalg.cholesky")
    if not legacy:
        _inexact(A, "linalg.cholesky")
    a = _kernel(A, "cholesky_cpu", skip_empty=True)
    xp = _xp(A)
    if upper:
        a = xp.conj(a.swapaxes(-1, -2))
    arr = _failed(xp, xp.linalg.cholesky, a)
    if arr is None:
        arr, info = _cholesky_loop(xp, a)
        if errors:
            _raise_info(errors, info, a.ndim > 2, lambda k: (
                "The factorization could not be completed because the input is not positive-definite (the "
                f"leading minor of order {k} is not positive-definite)."))
    else:
        info = xp.zeros(a.shape[:-2], dtype=np.int32)
    if upper:
        arr = xp.conj(arr.swapaxes(-1, -2))
    outs = [_new(xp.ascontiguousarray(arr), A._dtype, A), _new(info, D.int32, A)]
    node = _track(node_cls, outs, (A,), upper=upper)
    if node is not None:
        node.save(SavedOutput(outs[0]))
    return _CholeskyEx(*outs)


def linalg_cholesky(input: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    """Cholesky factor of Hermitian positive-definite matrices; LinAlgError otherwise."""
    res = _cholesky(input, upper, "linalg.cholesky", LinalgCholeskyExBackward0).L
    return res if out is None else write_out(out, res, None, out_dtype_error)


# ---- QR, SVD, eigh --------------------------------------------------------------------------------------
class LinalgQrBackward0(Node):
    __slots__ = ()

    def backward(self, gQ: Tensor, gR: Tensor) -> tuple:
        mode = self.mode
        if mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                               "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                               "differentiate through linalg.qr.")
        Q, R = self.saved
        m, n = Q._data.shape[-2], R._data.shape[-1]
        if mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        gA = gR.matmul(_h(R)) - _h(Q).matmul(gQ)
        if m >= n:
            gA = gA.triu()
            diag = _diagonal(gA)
            gA = Q.matmul(gA + _h(gA) - (diag.real if diag._dtype.is_complex else diag).diag_embed()) + gQ
            return (solve_triangular(_h(R), gA, upper=False, left=False),)
        skew = _h(gA) - gA
        gA = Q.matmul(skew.tril() - 0.5 * _diagonal(skew).diag_embed())
        gA = solve_triangular(_h(R[..., :m]), gA, upper=False, left=False)
        from .shape import cat
        gA = cat([gA, gA.new_zeros(*gA.shape[:-1], n - m)], -1)
        return (gA + Q.matmul(gR),)


_QR = return_type("linalg_qr", ("Q", "R"))


def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> Any:
    """QR factorization (``mode``: 'reduced', 'complete', or 'r' for R alone, Q then empty)."""
    _arg("linalg_qr", "A", 1, A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    _matrix(A, "linalg.qr")
    _floating(A, "linalg.qr", "geqrf_cpu")
    xp = _xp(A)
    if mode == "r":
        q, r = xp.zeros((0,), dtype=A._dtype.np), xp.linalg.qr(A._data, mode="r")
    else:
        q, r = xp.linalg.qr(A._data, mode=mode)
    outs = [_new(q, A._dtype, A), _new(r, A._dtype, A)]
    node = _track(LinalgQrBackward0, outs, (A,), mode=mode)
    if node is not None:
        node.save(SavedOutput(outs[0]), SavedOutput(outs[1]))
    return finish(_QR(*outs), out, out_dtype_error)


def _skew(x: Tensor) -> Tensor:
    return x - _h(x)


_SVD_GAUGE = ("svd_backward: The singular vectors in the complex case are specified up to multiplication by "
              "e^{i phi}. The specified loss function depends on this phase term, making it ill-defined.")
_EIGH_GAUGE = ("linalg_eigh_backward: The eigenvectors in the complex case are specified up to "
               "multiplication by e^{i phi}. The specified loss function depends on this quantity, so it is "
               "ill-defined.")


def _gauge_check(xp: Any, a: Any, b: Any, message: str) -> None:
    """torch's check that a loss of complex singular/eigen vectors does not depend on their phases."""
    if not bool(xp.allclose(a, b, rtol=1e-2, atol=1e-2)):
        raise RuntimeError(message)


class LinalgSvdBackward0(Node):
    """torch's ``svd_backward`` (distinct singular values; full rank when rectangular)."""

    __slots__ = ()

    def backward(self, gU: Tensor, gS: Tensor, gVh: Tensor) -> tuple:
        U, S, Vh = self.saved
        k = S._data.shape[-1]
        m, n = U._data.shape[-2], Vh._data.shape[-1]
        if self.full_matrices:
            U, Vh, gU, gVh = U[..., :k], Vh[..., :k, :], gU[..., :k], gVh[..., :k, :]
        use_u, use_v = _defined(gU), _defined(gVh)
        if not (use_u or use_v):
            return ((U * gS.unsqueeze(-2)).matmul(Vh),)
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye(k, S)
        ret = gS.diag_embed()
        skew_u = _skew(_h(U).matmul(gU)) if use_u else None
        skew_v = _skew(Vh.matmul(_h(gVh))) if use_v else None
        if U._dtype.is_complex:
            imag_u, imag_v = (_diagonal(x).imag._data if x is not None else 0 for x in (skew_u, skew_v))
            _gauge_check(_xp(U), imag_u, -imag_v, _SVD_GAUGE)
            if use_u and use_v:
                ret = ret + (_diagonal(skew_u) / (2 * S)).diag_embed()
        if use_u:
            ret = ret + skew_u / E * S.unsqueeze(-2)
        if use_v:
            ret = ret + S.unsqueeze(-1) * (skew_v / E)
        if m > n and use_u:
            gUSinv = gU / S.unsqueeze(-2)
            return ((U.matmul(ret) + gUSinv - U.matmul(_h(U).matmul(gUSinv))).matmul(Vh),)
        if m < n and use_v:
            SinvgVh = gVh / S.unsqueeze(-1)
            return (U.matmul(ret.matmul(Vh) + SinvgVh - SinvgVh.matmul(_h(Vh)).matmul(Vh)),)
        return (U.matmul(ret).matmul(Vh),)


_SVD = return_type("linalg_svd", ("U", "S", "Vh"))


def _svd(A: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    """U, S, Vh recorded on one node (svdvals keeps U and Vh for its backward)."""
    _matrix(A, "linalg.svd")
    _floating(A, "linalg.svd", "linalg_svd_cpu", skip_empty=True)
    xp = _xp(A)
    m, n = A._data.shape[-2:]
    k = min(m, n)
    if A._data.size == 0:   # LAPACK refuses empty matrices
        batch = A._data.shape[:-2]
        ku, kv = (m, n) if full_matrices else (k, k)
        u = xp.broadcast_to(xp.eye(m, ku, dtype=A._dtype.np), batch + (m, ku)).copy()
        vh = xp.broadcast_to(xp.eye(kv, n, dtype=A._dtype.np), batch + (kv, n)).copy()
        s = xp.zeros(batch + (k,), dtype=A._dtype.to_real().np)
    else:
        u, s, vh = xp.linalg.svd(A._data, full_matrices=full_matrices)
    outs = [_new(u, A._dtype, A), _new(s, A._dtype.to_real(), A), _new(vh, A._dtype, A)]
    node = _track(LinalgSvdBackward0, outs, (A,), full_matrices=full_matrices)
    if node is not None:
        node.save(*(SavedOutput(o) for o in outs))
    return outs[0], outs[1], outs[2]


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out: Any = None) -> Any:
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, singular values descending."""
    _arg("linalg_svd", "A", 1, A)
    return finish(_SVD(*_svd(A, full_matrices)), out, out_dtype_error)


def svdvals(A: Tensor, *, driver: str | None = None, out: Tensor | None = None) -> Tensor:
    """Singular values, descending (differentiable: U and Vh are kept for the backward)."""
    _arg("linalg_svdvals", "A", 1, A)
    res = _svd(A, False)[1]
    return res if out is None else write_out(out, res, None, out_dtype_error)


class LinalgEighBackward0(Node):
    __slots__ = ()

    def backward(self, gL: Tensor, gV: Tensor) -> tuple:
        L, V = self.saved
        if not _defined(gV):
            return ((V * gL.unsqueeze(-2)).matmul(_h(V)),)
        VhgV = _h(V).matmul(gV)
        if V._dtype.is_complex:
            _gauge_check(_xp(V), _diagonal(VhgV).imag._data, 0, _EIGH_GAUGE)
        VhgV = 0.5 * _skew(VhgV)
        n = L._data.shape[-1]
        Lc = _c(L)
        ret = VhgV / (Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + _eye(n, L))
        if _defined(gL):   # the diagonal is gL
            ret = ret + (gL - _diagonal(VhgV) if VhgV._dtype.is_complex else gL).diag_embed()
        return (V.matmul(ret.matmul(_h(V))),)


_Eigh = return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))


def _eigh(A: Tensor, UPLO: str) -> tuple[Tensor, Tensor]:
    _arg("linalg_eigh", "input", 1, A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _square(A, "linalg.eigh")
    w, v = _xp(A).linalg.eigh(_kernel(A, "linalg_eigh_cpu", skip_empty=True), UPLO=UPLO)
    outs = [_new(w, A._dtype.to_real(), A), _new(v, A._dtype, A)]
    node = _track(LinalgEighBackward0, outs, (A,))
    if node is not None:
        node.save(SavedOutput(outs[0]), SavedOutput(outs[1]))
    return outs[0], outs[1]


def eigh(input: Tensor, UPLO: str = "L", *, out: Any = None) -> Any:
    """Eigenvalues (ascending) and orthonormal eigenvectors of Hermitian matrices (reads the ``UPLO``
    triangle)."""
    return finish(_Eigh(*_eigh(input, UPLO)), out, out_dtype_error)


def eigvalsh(input: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    """Eigenvalues of Hermitian matrices, ascending."""
    res = _eigh(input, UPLO)[0]
    return res if out is None else write_out(out, res, None, out_dtype_error)


# ---- pseudo-inverse, rank, least squares ----------------------------------------------------------------
def _tolerance(S: Any, xp: Any, A: Tensor, atol: Any, rtol: Any) -> Any:
    """torch's cutoff ``max(atol, rtol * s_max)``; rtol defaults to eps * max(m, n) unless atol > 0 is
    given."""
    m, n = A._data.shape[-2:]
    def arr(x: Any) -> Any:
        return x._data if _isinstance(x, Tensor) else x
    if rtol is None:
        rtol = 0.0 if atol is not None and (not _isinstance(atol, (int, float)) or atol > 0) else \
            _eps(A._dtype) * max(m, n)
    smax = S.max(-1) if S.shape[-1] else xp.zeros(S.shape[:-1], dtype=S.dtype)
    return xp.maximum(0.0 if atol is None else arr(atol), arr(rtol) * smax)


class LinalgPinvBackward0(Node):
    """d(A^+) adjoint (Golub & Pereyra): -P^H g P^H + (I - A P) g^H P P^H + P^H P g^H (I - P A)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        A, P = self.saved
        Ph, gh = _h(P), _h(g)
        left = gh.matmul(P).matmul(Ph)
        right = Ph.matmul(P).matmul(gh)
        return (-Ph.matmul(g).matmul(Ph) + left - A.matmul(P).matmul(left) + right
                - right.matmul(P).matmul(A),)


def pinv(input: Tensor, rcond: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None,
         out: Tensor | None = None) -> Tensor:
    """Moore-Penrose pseudo-inverse, dropping singular values ``<= max(atol, rtol * s_max)``."""
    A = input
    _arg("linalg_pinv", "input", 1, A)
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg_pinv() received an invalid combination of arguments - got rcond together "
                            "with atol/rtol")
        rtol = rcond
    if rtol is None and atol is not None and not _isinstance(atol, Tensor):   # torch's default rtol's check
        _float_or_double(A)
    if A._data.ndim < 2 or A._dtype.name not in _LAPACK_DTYPES:
        raise RuntimeError(f"linalg.pinv({A._dtype._short}{{{list(A._data.shape)}}}): expected a tensor with 2 or "
                           "more dimensions of float, double, cfloat or cdouble types")
    xp = _xp(A)
    a = A._data
    m, n = a.shape[-2:]
    if a.size == 0:
        arr = xp.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
    elif hermitian:
        w, v = xp.linalg.eigh(a)
        s = xp.abs(w)
        keep = s > _tolerance(s, xp, A, atol, rtol)[..., None]
        arr = (v * xp.where(keep, 1 / xp.where(keep, w, 1), 0)[..., None, :]) @ xp.conj(v.swapaxes(-1, -2))
    else:
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        keep = s > _tolerance(s, xp, A, atol, rtol)[..., None]
        inv_s = xp.where(keep, 1 / xp.where(keep, s, 1), 0)
        arr = (xp.conj(vh.swapaxes(-1, -2)) * inv_s[..., None, :]) @ xp.conj(u.swapaxes(-1, -2))
    res = _new(arr.astype(a.dtype, copy=False), A._dtype, A)
    node = _track(LinalgPinvBackward0, res, (A,))
    if node is not None:
        node.save(A, SavedOutput(res))
    return res if out is None else _write_castable(out, res, "linalg.pinv")


def matrix_rank(input: Tensor, tol: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None,
                out: Tensor | None = None) -> Tensor:
    """Number of singular values above ``max(atol, rtol * s_max)`` (``tol``: legacy absolute tolerance)."""
    A = input
    _arg("linalg_matrix_rank", "input", 1, A)
    if tol is not None:
        atol, rtol = tol, 0.0
    if rtol is None:   # computing the default rtol refuses other dtypes; a given one leaves them to the kernels
        _float_or_double(A)
    _matrix(A, "torch.linalg.matrix_rank", "input")
    xp = _xp(A)
    a = A._data
    if a.size == 0:   # torch returns before the kernels' dtype checks
        s = xp.zeros(a.shape[:-2] + (0,))
    elif hermitian:
        s = xp.abs(xp.linalg.eigvalsh(_kernel(A, "linalg_eigh_cpu")))
    else:
        s = xp.linalg.svd(_floating(A, "linalg.svd", "linalg_svd_cpu"), compute_uv=False)
    res = _new((s > _tolerance(s, xp, A, atol, rtol)[..., None]).sum(-1).astype(np.int64), D.int64, A)
    return res if out is None else write_out(out, res)


class LinalgLstsqBackward0(Node):
    """torch's ``linalg_lstsq_backward``: through the pseudo-inverse for the solution, plus the residuals."""

    __slots__ = ()

    def backward(self, gX: Tensor, gL: Tensor) -> tuple:
        A, B, X = self.saved
        b_rg = B._rg
        if self.vector:
            B, X, gX = B.unsqueeze(-1), X.unsqueeze(-1), gX.unsqueeze(-1)
        P = pinv(A)
        gA = gB = None
        if A._rg:
            gA = LinalgPinvBackward0.backward(_Saved(A, P), gX.matmul(_h(B)))[0]
        if b_rg:
            gB = _h(P).matmul(gX)
        if gL._data.size:
            r = A.matmul(X) - B
            gl = gL.unsqueeze(-2)
            gA = gA + 2 * (gl * r).matmul(_h(X)) if gA is not None else None
            gB = gB - 2 * gl * r if gB is not None else None
        if self.vector and gB is not None:
            gB = gB.squeeze(-1)
        return gA, gB


class _Saved:
    """A stand-in node exposing given tensors as ``saved`` (to reuse another node's formula)."""

    __slots__ = ("saved",)

    def __init__(self, *saved: Tensor) -> None:
        self.saved = saved


def _householder(xp: Any, x: Any) -> Any:
    """Unit vectors v with (I - 2 v v^H) x = beta e_1 for each column x of the batch."""
    alpha = x[:, 0]
    phase = xp.where(alpha == 0, 1, alpha / xp.where(alpha == 0, 1, xp.abs(alpha)))
    v = x.copy()
    v[:, 0] = alpha + phase * xp.sqrt((xp.abs(x) ** 2).sum(-1))
    vn = xp.sqrt((xp.abs(v) ** 2).sum(-1))
    return v / xp.where(vn == 0, 1, vn)[:, None]


def _gelsy(xp: Any, a: Any, b: Any, rcond: float) -> tuple[Any, Any]:
    """LAPACK gelsy's least squares: QR with column pivoting (largest remaining column first), the rank as the
    largest r whose leading r x r block of R has condition below 1/rcond, then the minimum-norm solution of
    the truncated triangular system, un-pivoted."""
    m, n = a.shape[-2:]
    k = min(m, n)
    w = a.reshape((-1, m, n)).copy()
    c = b.reshape((-1, m, b.shape[-1])).copy()
    rows = xp.arange(w.shape[0])
    perm = xp.broadcast_to(xp.arange(n), (w.shape[0], n)).copy()
    for j in range(k):
        p = j + xp.argmax((xp.abs(w[:, j:, j:]) ** 2).sum(1), axis=1)
        for arr in (w.swapaxes(1, 2), perm):
            first = arr[rows, j].copy()
            arr[rows, j] = arr[rows, p]
            arr[rows, p] = first
        v = _householder(xp, w[:, j:, j])
        for arr in (w, c):
            arr[:, j:] -= 2 * v[:, :, None] * (xp.conj(v)[:, None, :] @ arr[:, j:])
    R = xp.triu(w[:, :k])
    rank = xp.zeros(w.shape[0], dtype=np.int64)
    for r in range(1, k + 1):
        sv = xp.linalg.svd(R[:, :r, :r], compute_uv=False)
        rank = xp.where((rank == r - 1) & (sv[:, -1] > rcond * sv[:, 0]), r, rank)
    kept = xp.arange(k)[None, :, None] < rank[:, None, None]
    y = xp.linalg.pinv(xp.where(kept, R, 0)) @ xp.where(kept, c[:, :k], 0)
    x = xp.take_along_axis(y, xp.argsort(perm, axis=1)[:, :, None], axis=1)
    return x.reshape(a.shape[:-2] + x.shape[-2:]), rank.reshape(a.shape[:-2])


def _gels(xp: Any, a: Any, b: Any) -> Any:
    """LAPACK gels's least squares for full-rank matrices: QR when tall, the minimum-norm LQ solution when
    wide."""
    m, n = a.shape[-2:]
    with np.errstate(all="ignore"):
        if m >= n:
            q, r = xp.linalg.qr(a)
            return _substitute(xp, r, xp.conj(q.swapaxes(-1, -2)) @ b, True, False)
        q, r = xp.linalg.qr(xp.conj(a.swapaxes(-1, -2)))
        return q @ _substitute(xp, xp.conj(r.swapaxes(-1, -2)), b, False, False)


_Lstsq = return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(input: Tensor, b: Tensor, rcond: float | None = None, *, driver: str | None = None,
          out: Any = None) -> Any:
    """Least-squares solutions of ``A X = B`` (minimum norm when rank-deficient) with torch's outputs per
    driver: ``rank`` except for gels, ``residuals`` for gels/gelsd/gelss when tall and full-rank,
    ``singular_values`` for gelsd/gelss."""
    A, B = input, b
    _arg("linalg_lstsq", "input", 1, A)
    _arg("linalg_lstsq", "b", 2, B)
    fn = "torch.linalg.lstsq"
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    if B._data.ndim < 1:
        raise RuntimeError(f"{fn}: other must have at least 1 dimension.")
    if A._dtype is not B._dtype:
        raise RuntimeError(f"{fn}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{A._dtype._short} and other's dtype {B._dtype._short}")
    dim_diff = A._data.ndim - B._data.ndim
    if not 0 <= dim_diff <= 1:
        raise RuntimeError(f"{fn}: input.dim() must be greater or equal to other.dim() and (input.dim() - "
                           "other.dim()) <= 1")
    vector = _is_vector_rhs(A, B)
    b = B._data[..., None] if vector else B._data
    m, n = A._data.shape[-2:]
    if b.shape[-2] != m:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size({-1 if vector else -2})")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if rcond is None:   # its default needs the dtype's eps
        _float_or_double(A)
    xp = _xp(A)
    # torch broadcasts against other's leading dims minus dim_diff + 1, even for a matrix other
    batch = broadcast_shapes(A._data.shape[:-2], B._data.shape[:B._data.ndim - 2 + dim_diff])
    _kernel(A, "linalg_lstsq_cpu")
    a = xp.broadcast_to(A._data, batch + (m, n))
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    rdt = A._dtype.to_real()
    rcond = _eps(A._dtype) * max(m, n) if rcond is None or rcond < 0 else rcond
    s = xp.zeros(batch + (min(m, n),) if driver in ("gelsd", "gelss") else (0,), rdt.np)
    if a.size == 0:
        x, rank = xp.zeros(batch + (n, b.shape[-1]), a.dtype), None if driver == "gels" else xp.zeros(batch, np.int64)
    elif driver == "gelsy":
        x, rank = _gelsy(xp, a, b.astype(a.dtype, copy=False), rcond)
    elif driver == "gels":
        x, rank = _gels(xp, a, b), None
    else:
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        keep = s > (rcond * s.max(-1))[..., None]
        rank = keep.sum(-1)
        inv_s = xp.where(keep, 1 / xp.where(keep, s, 1), 0)
        x = xp.conj(vh.swapaxes(-1, -2)) @ (inv_s[..., :, None] * (xp.conj(u.swapaxes(-1, -2)) @ b))
    x = x.astype(a.dtype, copy=False)
    full = rank is None or bool((rank == n).all())
    if driver == "gels" and a.size == 0 and m > n:   # torch's gels path leaves these zero
        res = xp.zeros(batch + (b.shape[-1],), rdt.np)
    elif driver != "gelsy" and m > n and full:
        r = a @ x - b
        res = (xp.abs(r) ** 2).sum(-2).astype(rdt.np)
    else:
        res = xp.zeros((0,), dtype=rdt.np)
    sol = _new(x[..., 0] if vector else x, A._dtype, A)
    residuals = _new(res, rdt, A)
    node = _track(LinalgLstsqBackward0, [sol, residuals], (A, B), vector=vector)
    if node is not None:
        node.save(A, B, SavedOutput(sol))
    # rank and singular values keep A's own batch shape (the broadcast copies repeat them)
    own = _own_batch(A, batch)
    rank_t = _new(xp.zeros((0,), np.int64) if rank is None else rank[own].astype(np.int64), D.int64, A)
    sv = _new(s[own] if s.ndim == len(batch) + 1 else s, rdt, A)
    res = _Lstsq(sol, residuals, rank_t, sv)
    if out is not None and len(out) == len(res):   # (torch names the residuals "solution" too)
        for o, r, what in zip(out, res, ("solution", "solution", "rank", "singular_values"), strict=True):
            _castable(o, r, "torch.linalg.lstsq", what)
    return finish(res, out)


# ---- matrix functions and products ----------------------------------------------------------------------
def matrix_power(input: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """``input`` to an integer power by repeated squaring (negative powers through the inverse)."""
    A = input
    _arg("linalg_matrix_power", "input", 1, A)
    _square(A, "linalg.matrix_power")
    if n < 0:
        A, n = inv(A), -n
        if n == 1:
            return A if out is None else _write_castable(out, A, "matrix_power", exact=True)
    if n == 0:
        res = A.clone()
        res.copy_(_eye(A._data.shape[-1], A).expand_as(A))
    elif n == 1:
        res = A.clone()
    elif n == 3:   # torch's special case: (A·A)·A
        res = matmul(matmul(A, A), A)
    else:
        res, z = None, A
        while n:
            if n & 1:
                res = z if res is None else matmul(res, z)
            n >>= 1
            if n:
                z = matmul(z, z)
    return res if out is None else _write_castable(out, res, "matrix_power", exact=True)


_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0,
           960960.0, 16380.0, 182.0, 1.0)


def _expm(xp: Any, a: Any) -> Any:
    """Matrix exponential by scaling and squaring with the degree-13 Padé approximant (Higham 2005), each
    matrix scaled by its own power of two; computed in double precision."""
    work = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    n = a.shape[-1]
    norm1 = xp.abs(work).sum(-2).max(-1) if n else xp.zeros(a.shape[:-2])
    s = xp.maximum(0, xp.ceil(xp.log2(xp.maximum(norm1, 1e-300) / 5.371920351148152))).astype(np.int64)
    work = work / (2.0 ** s)[..., None, None]
    b = _PADE13
    ident = xp.broadcast_to(xp.eye(n, dtype=work.dtype), work.shape)
    a2 = work @ work
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = work @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    r = xp.linalg.solve(v - u, v + u) if n else work
    for i in range(int(s.max()) if s.size else 0):
        r = xp.where((i < s)[..., None, None], r @ r, r)
    return r.astype(a.dtype)


class LinalgMatrixExpBackward0(Node):
    """The adjoint of d exp through the block-triangular identity exp([[A^H, G], [0, A^H]])[:n, n:]."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from .shape import cat
        (A,) = self.saved
        n = A._data.shape[-1]
        Ah = _h(A)
        big = cat([cat([Ah, g], -1), cat([Ah * 0, Ah], -1)], -2)
        return (matrix_exp(big)[..., :n, n:],)


def matrix_exp(input: Tensor) -> Tensor:
    """The matrix exponential of square matrices."""
    A = input
    _arg("linalg_matrix_exp", "input", 1, A)
    _square(A, "linalg.matrix_exp")
    _inexact(A, "linalg.matrix_exp")   # half types too: computed in double, rounded once
    if A._dtype.kind:   # float8 fails torch's norm (a sum), complex32 its batched products
        raise NotImplementedError(f"\"{'bmm' if A._dtype.is_complex else 'sum_cpu'}\" not implemented for "
                                  f"'{A._dtype._short}'")
    res = _new(_expm(_xp(A), A._data), A._dtype, A)
    node = _track(LinalgMatrixExpBackward0, res, (A,))
    if node is not None:
        node.save(A)
    return res


def _chain_order(dims: list[int]) -> Callable[[int, int], Any]:
    """The cheapest parenthesisation of a matrix chain (classic dynamic programme); returns split(i, j)."""
    k = len(dims) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1], s) for s in range(i, j))
    return lambda i, j: split[i][j]


_MULTI_DOT_OUT = _out_error("multi_dot(): expected out tensor to have dtype {cwant} but got {cgot}")


def multi_dot(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """The product of a chain of matrices in the cheapest order (first/last may be vectors)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first, last = ts[0]._data.ndim, ts[-1]._data.ndim
    if first not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {first}D")
    if last not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {last}D")
    for i, t in enumerate(ts[1:-1], 1):
        if t._data.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t._data.ndim}D")
    for i, t in enumerate(ts):
        if t._dtype is not ts[0]._dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{cpp_name(ts[0]._dtype)} and tensor {i} {cpp_name(t._dtype)}")
    mats = [ts[0].unsqueeze(0) if first == 1 else ts[0]] + ts[1:-1] + \
        [ts[-1].unsqueeze(1) if last == 1 else ts[-1]]
    for i in range(len(mats) - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:   # (the shapes as given, vectors too)
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i]._data.shape)} and "
                               f"{list(ts[i + 1]._data.shape)} cannot be multiplied")
    split = _chain_order([m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]])

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        s = split(i, j)
        return mm(product(i, s), product(s + 1, j))
    shape = ([ts[0]._data.shape[0]] if first == 2 else []) + ([ts[-1]._data.shape[1]] if last == 2 else [])
    res = product(0, len(mats) - 1).view(shape)
    return res if out is None else write_out(out, res, None, _MULTI_DOT_OUT)


def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    """Deprecated product of 2-d matrices (``linalg.multi_dot``)."""
    warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
         "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
         "multiple parameters.", UserWarning, stacklevel=2)
    for t in matrices:
        if t._data.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {t._data.ndim}, expected 2 instead.")
    res = matrices[0].clone() if len(matrices) == 1 else multi_dot(matrices)
    return res if out is None else write_out(out, res, None, _MULTI_DOT_OUT)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """Dot products of vectors along ``dim`` (conjugating ``x``), with broadcasting."""
    _inexact(x, "linalg.vecdot")
    _same_dtype("linalg.vecdot", x, y, "x", "y")
    res = (_c(x) * y).sum(dim)
    return res if out is None else write_out(out, res, None, _out_error(
        "linalg.vecdot: Expected out of dtype{want} but found {got}"))


def tensorinv(input: Tensor, ind: int = 2, *, out: Tensor | None = None) -> Tensor:
    """The inverse of ``A`` seen as a linear map from its first ``ind`` dims to the rest."""
    A = input
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    if ind > A._data.ndim:
        raise RuntimeError(f"ArrayRef: invalid slice, N = {ind}; size = {A._data.ndim}")
    rows, cols = A._data.shape[:ind], A._data.shape[ind:]
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(cols)} != {math.prod(rows)}")
    res = _inv_ex(A.reshape(math.prod(rows), math.prod(cols)), "inv").inverse.reshape(cols + rows)
    return res if out is None else _write_castable(out, res, "tensorinv")


def tensorsolve(input: Tensor, other: Tensor, dims: Sequence[int] | None = None, *,
                out: Tensor | None = None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) = B`` (``dims`` of A moved to the end first)."""
    A, B = input, other
    if dims is not None:
        moved = [wrap_dim(d, A._data.ndim) for d in dims]
        A = A.movedim(moved, list(range(A._data.ndim - len(moved), A._data.ndim)))
    if B._data.ndim > A._data.ndim:   # (torch's C++ size arithmetic underflows)
        raise RuntimeError("cannot create std::vector larger than max_size()")
    rest = A._data.shape[B._data.ndim:]
    if math.prod(rest) != B.numel():
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {math.prod(rest)} != {B.numel()}")
    res = solve(A.reshape(B.numel(), math.prod(rest)), B.flatten()).reshape(rest)
    return res if out is None else _write_castable(out, res, "tensorsolve")


# ---- torch-level aliases and legacy forms ---------------------------------------------------------------
_TorchSVD = return_type("svd", ("U", "S", "V"))
_TorchSlogdet = return_type("slogdet", ("sign", "logabsdet"))


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """Legacy ``torch.svd``: returns V (not Vh); without ``compute_uv`` U and V are zero."""
    if input._data.ndim < 2:
        raise RuntimeError(f"linalg.svd: input should have at least 2 dimensions, but has {input._data.ndim} "
                           "dimensions instead")
    U, S, Vh = _svd(input, not some)
    if not compute_uv:
        m, n = input._data.shape[-2:]
        batch = input._data.shape[:-2]
        xp = _xp(input)
        return finish(_TorchSVD(_new(xp.zeros(batch + (m, m), input._dtype.np), input._dtype, input), S,
                                _new(xp.zeros(batch + (n, n), input._dtype.np), input._dtype, input)), out,
                      out_dtype_error)
    return finish(_TorchSVD(U, S, _h(Vh)), out, out_dtype_error)


def slogdet(input: Tensor, *, out: Any = None) -> Any:
    """``torch.slogdet`` (same as ``linalg.slogdet``, its own result type)."""
    return finish(_TorchSlogdet(*linalg_slogdet(input)), out, out_dtype_error)


def cholesky(input: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Deprecated ``torch.cholesky`` (``linalg.cholesky`` with ``upper``)."""
    warn("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
         "future PyTorch release.", UserWarning, stacklevel=2)
    res = _cholesky(input, upper, "cholesky", CholeskyBackward0).L
    return res if out is None else _write_castable(out, res, "cholesky")


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with a relative cutoff ``rcond``."""
    return pinv(input, rtol=rcond)


bind({"det": linalg_det, "logdet": logdet, "slogdet": slogdet, "inverse": inv, "pinverse": pinverse,
      "matrix_power": matrix_power, "matrix_exp": matrix_exp, "cholesky": cholesky, "svd": svd,
      "trace": trace, "diag": diag, "diag_embed": diag_embed, "diagflat": diagflat, "cross": cross,
      "tril": tril, "triu": triu, "tril_": tril_, "triu_": triu_, "kron": kron, "inner": inner})

def linalg_diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.linalg.diagonal``: ``A.diagonal`` over the last two dims by default (a view)."""
    return A.diagonal(offset, dim1, dim2)


def det(input: Tensor) -> Tensor:
    """:func:`linalg.det` under torch's top-level argument name."""
    return linalg_det(input)


def inverse(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """:func:`linalg.inv` under torch's top-level argument name."""
    return inv(input, out=out)
__all__ = ["einsum", "tensordot", "kron", "inner", "trace", "diag", "diag_embed", "diagflat", "tril", "triu",
           "cross", "block_diag", "cdist", "chain_matmul", "det", "logdet", "slogdet", "inverse", "pinverse",
           "matrix_power", "matrix_exp", "svd", "cholesky"]
