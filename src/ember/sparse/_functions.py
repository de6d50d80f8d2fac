"""``torch.sparse.spdiags``, ``spsolve`` and ``as_sparse_gradcheck``, and the legacy ``torch.sparse.FloatTensor``
family of constructors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import device as _device
from .._tensor import Size, Tensor
from ..ops.extra import strided
from ..ops.views import warn_once
from ._compressed import is_compressed, sparse_bsc, sparse_bsr, sparse_compressed_tensor, sparse_csc, sparse_csr
from ._coo import SparseTensor, is_sparse, not_implemented, sparse_coo, sparse_coo_tensor

__all__ = ["spdiags", "spsolve", "as_sparse_gradcheck", "BFloat16Tensor", "ByteTensor", "CharTensor",
           "DoubleTensor", "FloatTensor", "HalfTensor", "IntTensor", "LongTensor", "ShortTensor"]

# the dispatch-key names torch's messages give each layout
_LAYOUT_KEYS = {strided: "Strided", sparse_coo: "Sparse", sparse_csr: "SparseCsr", sparse_csc: "SparseCsc",
                sparse_bsr: "SparseBsr", sparse_bsc: "SparseBsc"}


def _require_tensor(x: Any, fn: str, name: str, pos: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def spdiags(diagonals: Tensor, offsets: Tensor, shape: Sequence[int], layout: Any = None) -> Tensor:
    """A sparse 2-D matrix of ``shape`` with row ``i`` of ``diagonals`` on diagonal ``offsets[i]`` (0: the main
    one, >0 above it, <0 below). As in SciPy, element ``(r, c)`` of a diagonal takes ``diagonals[i, c]``, so the
    start of a row lands on the diagonal's first column; offsets beyond the matrix place nothing."""
    _require_tensor(diagonals, "_spdiags", "diagonals", 1)
    _require_tensor(offsets, "_spdiags", "offsets", 2)
    if len(shape) != 2:
        raise RuntimeError("Output shape must be 2d")
    if diagonals.dim() not in (1, 2):
        raise RuntimeError("Diagonals must be vector or matrix")
    if offsets.dim() > 1:
        raise RuntimeError("Offsets must be scalar or vector")
    rows = diagonals.reshape(1, -1) if diagonals.dim() == 1 else diagonals
    n_offsets = offsets.numel()
    if rows.shape[0] != n_offsets:
        raise RuntimeError(f"Number of diagonals ({rows.shape[0]}) does not match the number of offsets "
                           f"({n_offsets})")
    if offsets.dtype is not D.int64:
        raise RuntimeError(f"Offset Tensor must have dtype Long but got {offsets.dtype._short}")
    layout = sparse_coo if layout is None else layout
    if layout not in (sparse_coo, sparse_csr, sparse_csc):
        raise RuntimeError("Only output layouts (Sparse, SparseCsc, SparseCsr) are supported, got "
                           f"{_LAYOUT_KEYS.get(layout, layout)}")
    offs = np.asarray(offsets.cpu().numpy()).reshape(-1).astype(np.int64)
    if len(np.unique(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    m, n = (int(s) for s in shape)
    length = rows.shape[1]
    which, out_r, out_c = [], [], []
    for i, k in enumerate(offs.tolist()):
        r = np.arange(max(0, -k), max(max(0, -k), min(m, n - k, length - k)), dtype=np.int64)
        which.append(np.full(len(r), i, dtype=np.int64))
        out_r.append(r)
        out_c.append(r + k)
    which_a, r_a, c_a = (np.concatenate(a) if a else np.zeros(0, np.int64) for a in (which, out_r, out_c))
    dev = diagonals.device
    from ..ops.creation import tensor as make_tensor
    values = rows[make_tensor(which_a, device=dev), make_tensor(c_a, device=dev)]
    out = sparse_coo_tensor(make_tensor(np.stack([r_a, c_a]), device=dev), values, (m, n), check_invariants=False)
    return out if layout is sparse_coo else out.to_sparse(layout=layout)


def spsolve(input: Tensor, other: Tensor, *, left: bool = True) -> Tensor:
    """The solution ``x`` of ``input @ x = other`` for a sparse CSR ``input``. torch solves it with cuDSS on CUDA
    only: on the CPU (and for other layouts) it raises its dispatcher error, as here."""
    dev = "CUDA" if input.device.type == "cuda" else "CPU"
    key = {sparse_coo: "Sparse", sparse_csr: "SparseCsr"}.get(input.layout, "")
    if dev == "CPU" or input.layout is not sparse_csr:
        raise not_implemented("_spsolve", key + dev)
    if not left:
        raise RuntimeError("spsolve: only left=True is supported")
    from ..linalg import solve
    return solve(input.to_dense(), other)


def as_sparse_gradcheck(gradcheck: Callable) -> Callable:
    """Wrap ``gradcheck`` (``autograd.gradcheck`` or a partial of it) so that the checked function may take and
    return sparse tensors: each sparse input that requires grad reaches ``gradcheck`` as its strided values
    (rebuilt into the sparse tensor inside the function), each sparse output leaves it densified. Without
    ``masked=True`` unspecified input elements are materialized as explicit zeros, so their gradients are
    checked too."""
    from ..ops.creation import ones

    def gradcheck_with_sparse_support(func: Callable, inputs: Any, **kwargs: Any) -> Any:
        masked = kwargs.pop("masked", False)
        marker = "__STRIDED_REPRESENTATION__"

        def to_strided(args: Any) -> tuple:
            out: list[Any] = []
            for obj in args if isinstance(args, (list, tuple)) else (args,):
                if not (isinstance(obj, Tensor) and obj.requires_grad and (is_sparse(obj) or is_compressed(obj))):
                    out.append(obj)
                    continue
                spec: dict[str, Any] = {"layout": obj.layout, "shape": obj.shape}
                if not masked:   # every element specified: zeros made explicit
                    batch = obj.dim() - obj.dense_dim() - obj.sparse_dim()
                    block = tuple(obj.values().shape[batch + 1:batch + 3]) \
                        if obj.layout in (sparse_bsr, sparse_bsc) else None
                    full = ones(obj.shape, dtype=D.bool, device=obj.device)
                    obj = obj.to_dense().sparse_mask(full.to_sparse(layout=obj.layout, blocksize=block,
                                                                    dense_dim=obj.dense_dim()))
                if obj.layout is sparse_coo:
                    spec.update(indices=obj._indices(), is_coalesced=obj.is_coalesced())
                    values = obj._values()
                else:
                    rowwise = obj.layout in (sparse_csr, sparse_bsr)
                    spec.update(compressed=obj.crow_indices() if rowwise else obj.ccol_indices(),
                                plain=obj.col_indices() if rowwise else obj.row_indices())
                    values = obj.values()
                out += [marker, spec, values.detach().requires_grad_(True)]
            return tuple(out)

        def from_strided(args: tuple) -> tuple:
            out, rest = [], list(args)
            while rest:
                a = rest.pop(0)
                if isinstance(a, str) and a == marker:
                    spec, values = rest.pop(0), rest.pop(0)
                    if spec["layout"] is sparse_coo:
                        a = sparse_coo_tensor(spec["indices"], values, spec["shape"],
                                              is_coalesced=spec["is_coalesced"])
                    else:
                        a = sparse_compressed_tensor(spec["compressed"], spec["plain"], values, spec["shape"],
                                                     layout=spec["layout"])
                out.append(a)
            return tuple(out)

        def wrapper(*args: Any, **kw: Any) -> Any:
            outputs = func(*from_strided(args), **kw)
            many = isinstance(outputs, (list, tuple))
            dense = tuple(o.to_dense(masked_grad=masked)
                          if isinstance(o, Tensor) and o.requires_grad and (is_sparse(o) or is_compressed(o))
                          else o for o in (outputs if many else (outputs,)))
            return dense if many else dense[0]

        return gradcheck(wrapper, to_strided(inputs), **kwargs)

    return gradcheck_with_sparse_support


# ---- legacy constructors: torch.sparse.FloatTensor(...) --------------------------------------------------------
class _SparseLegacyMeta(type):
    """``torch.sparse.<T>Tensor``: calling it makes a COO tensor (deprecated, warned once per form);
    ``isinstance`` checks for a COO tensor of the type's dtype on the CPU."""

    _legacy_dtype: D.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, SparseTensor) and obj.dtype is cls._legacy_dtype and obj.device.type == "cpu"

    def __call__(cls, *args: Any, device: Any = None) -> SparseTensor:
        kind = None if device is None else _device(device).type
        if kind not in (None, "cpu"):
            raise RuntimeError(f"legacy constructor expects device type: cpu but device type: {kind} was passed")
        if len(args) in (2, 3) and all(isinstance(a, Tensor) for a in args[:2]):
            indices, values = args[:2]
            if indices.dtype is not D.int64:
                raise RuntimeError(f"expected scalar type Long but found {indices.dtype._short}")
            form = "indices, values, shape" if len(args) == 3 else "indices, values"
            warn_once(f"torch.sparse.SparseTensor({form}, *, device=) is deprecated.  Please use "
                      f"torch.sparse_coo_tensor({form}, dtype=, device=).")
            return sparse_coo_tensor(indices, values, *args[2:], check_invariants=False)
        sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
            if len(args) == 1 and isinstance(args[0], (tuple, list)):
                raise TypeError("torch.sparse.SparseTensor(sequence) only accepts sizes.  Please use "
                                "torch.sparse_coo_tensor() or construct a strided tensor and convert it to "
                                "sparse via to_sparse.")
            got = ", ".join(type(a).__name__ for a in args)
            raise TypeError(f"new() received an invalid combination of arguments - got ({got}), but expected one "
                            "of:\n * (*, torch.device device = None)\n * (Tensor indices, Tensor values, *, "
                            "torch.device device = None)\n * (Tensor indices, Tensor values, tuple of ints size, *, "
                            "torch.device device = None)\n * (tuple of ints size, *, torch.device device = None)\n")
        if args:
            warn_once("torch.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
                      "torch.sparse_coo_tensor(shape, dtype=, device=).")
        else:
            warn_once("torch.sparse.SparseTensor() is deprecated.  Please use torch.sparse_coo_tensor((0,), "
                      "dtype=).")
        shape = tuple(sizes) or (0,)
        from ..ops.creation import zeros
        return sparse_coo_tensor(zeros(len(shape), 0, dtype=D.int64), zeros(0, dtype=cls._legacy_dtype), shape,
                                 check_invariants=False)

    def __repr__(cls) -> str:
        return f"<class 'torch.sparse.{cls.__name__}'>"


def _legacy(dt: D.dtype) -> type:
    return _SparseLegacyMeta(dt._legacy, (), {"_legacy_dtype": dt, "dtype": dt, "is_sparse": True,
                                              "is_cuda": False, "__module__": "torch.sparse"})


BFloat16Tensor = _legacy(D.bfloat16)
ByteTensor = _legacy(D.uint8)
CharTensor = _legacy(D.int8)
DoubleTensor = _legacy(D.float64)
FloatTensor = _legacy(D.float32)
HalfTensor = _legacy(D.float16)
IntTensor = _legacy(D.int32)
LongTensor = _legacy(D.int64)
ShortTensor = _legacy(D.int16)
