"""What ember calls do with nested tensors (``NestedTensor.__torch_function__``): see ``_tensor``'s docstring.

Each handler receives the called function, its name and arguments, and returns the result (nested tensors
built with :func:`wrap` / :func:`from_padded`); calls torch's strided nested tensors refuse raise its
NotImplementedError or RuntimeError (the jagged layout accepts every pointwise op).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, _as_subclass
from ..nn import functional as F
from ..ops import creation as C
from ..ops import matmul as MM
from ..ops import reduction as R
from ._tensor import (
    NestedTensor,
    buffer,
    constituents,
    from_padded,
    not_implemented,
    to_padded,
    wrap,
)

__all__ = ["dispatch"]

# pointwise ops torch's strided nested tensors implement (the jagged layout takes every pointwise op)
_STRIDED_POINTWISE = frozenset("""abs neg negative positive relu gelu silu tanh sqrt sin cos sgn logical_not isnan
isinf clone detach dropout to type float double half int long bool short char byte bfloat16 cpu cuda add sub
subtract mul multiply div divide true_divide eq ne gt ge lt le greater greater_equal less less_equal not_equal
masked_fill where zero_ fill_ tanh_ relu_ neg_ abs_ sgn_ mul_ add_ sub_ div_""".split())
_POINTWISE = _STRIDED_POINTWISE | frozenset("""exp log sigmoid rsqrt sign floor ceil round trunc reciprocal square
erf erfc frac exp2 expm1 log1p log2 log10 clamp clip clamp_min clamp_max mish hardswish hardsigmoid leaky_relu elu
selu celu softplus relu6 hardtanh logsigmoid pow rsub __rdiv__ __rpow__ __rsub__ tan sinh cosh asin acos atan atan2
asinh acosh atanh maximum minimum logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor remainder
fmod floor_divide nan_to_num sinc lerp silu_ exp_ log_ sigmoid_ sqrt_ sin_ cos_ clamp_""".split())
_ATEN = {"pow": "pow.Tensor_Scalar", "square": "pow.Tensor_Scalar", "rsub": "rsub.Scalar", "__rsub__": "rsub.Scalar",
         "__rdiv__": "reciprocal", "selu": "elu", "relu6": "hardtanh", "logsigmoid": "log_sigmoid_forward",
         "__rpow__": "pow.Scalar"}
_WITH_DIM = frozenset("mean max min amax amin argmax argmin prod var std".split())   # ``aten::<op>.dim`` overloads
_PERMUTING = {"T": "permute", "H": "permute", "mT": "transpose.int", "mH": "transpose.int"}
_COMPARE = frozenset("eq ne gt ge lt le greater greater_equal less less_equal not_equal".split())
# Tensor methods/properties that act on the nested tensor's own fields (autograd flags, hooks, metadata)
_OWN = frozenset("""__get__ __set__ __delete__ requires_grad_ retain_grad register_hook
register_post_accumulate_grad_hook data_ptr element_size is_floating_point is_complex is_signed get_device
_is_view""".split())
_DUNDER = {"__eq__": "eq", "__ne__": "ne", "__and__": "bitwise_and", "__or__": "bitwise_or",
           "__xor__": "bitwise_xor", "__floordiv__": "floor_divide", "__mod__": "remainder", "__neg__": "neg",
           "__abs__": "abs", "__pos__": "positive", "__matmul__": "matmul", "__truediv__": "div"}


def dispatch(func: Any, args: tuple, kwargs: dict) -> Any:
    """Run ``func`` (an ember function or Tensor method) on arguments among which are nested tensors."""
    name = getattr(func, "__name__", "")
    name = _DUNDER.get(name, name)
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(func, name, args, kwargs)
    if name in _POINTWISE or (name.endswith("_") and name[:-1] in _POINTWISE):
        return _pointwise(func, name, args, kwargs)
    if name == "__get__":
        prop = next((k for k, v in vars(Tensor).items() if isinstance(v, property) and v is func.__self__), "")
        if prop in _PERMUTING:
            raise not_implemented(_PERMUTING[prop])
        if prop == "data":
            nt = args[0]
            return wrap(buffer(nt).detach(), nt._nsizes, nt, contiguous=nt._contig)
    if name in _OWN:
        return func(*args, **kwargs)
    if name == "backward":
        return func(*_map(args, _same), **{k: _same(v) if isinstance(v, NestedTensor) else v
                                           for k, v in kwargs.items()})
    if name in ("__repr__", "__str__", "__format__"):
        return repr(args[0])
    result = func(*_map(args, buffer), **kwargs)
    if _has_tensor(result):   # a tensor computed from the buffer as if it were dense: torch has no kernel
        with_dim = name in _WITH_DIM and (len(args) > 1 or "dim" in kwargs)
        raise not_implemented(name + ".dim" if with_dim else _ATEN.get(name, name))
    return result


def _map(args: Any, fn: Callable[[NestedTensor], Any]) -> Any:
    if isinstance(args, NestedTensor):
        return fn(args)
    if isinstance(args, (list, tuple)):
        return type(args)(_map(a, fn) for a in args)
    return args


def _same(nt: NestedTensor) -> Tensor:
    """``nt``'s buffer as a plain tensor sharing its autograd fields (a root for ``backward``)."""
    return _as_subclass(nt, Tensor)


def _has_tensor(r: Any) -> bool:
    return isinstance(r, Tensor) or (isinstance(r, (list, tuple)) and any(_has_tensor(x) for x in r))


def _first(args: Any) -> NestedTensor:
    return next(a for a in (*args,) if isinstance(a, NestedTensor))


def _wrapdim(dim: int, n: int) -> int:
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _arg(args: tuple, kwargs: dict, i: int, key: str, default: Any = None) -> Any:
    return args[i] if len(args) > i else kwargs.get(key, default)


def _rows(nt: NestedTensor, k: int = 1) -> Tensor | None:
    """``nt``'s buffer as ``(rows, *last k dims)`` when those dims are the same in every constituent."""
    sizes = nt._nsizes
    if sizes.shape[1] < k or not len(sizes):
        return None
    tail = sizes[:, sizes.shape[1] - k:]
    if not (tail == tail[0]).all():
        return None
    return buffer(nt).reshape(-1, *(int(v) for v in tail[0]))


# ---------------------------------------------------------------------------------------------- pointwise

def _pointwise(func: Any, name: str, args: tuple, kwargs: dict) -> Any:
    nt = _first(args)
    base = name[:-1] if name.endswith("_") and name not in _POINTWISE else name
    if not nt._is_jagged and base not in _STRIDED_POINTWISE and name not in _STRIDED_POINTWISE:
        raise not_implemented(_ATEN.get(base, base))
    if name == "where" and not nt._is_jagged:   # torch's strided where refuses both ways
        other = _arg(args, kwargs, 2, "other")
        raise RuntimeError("self must not be nested" if isinstance(other, NestedTensor) else "other must be nested")
    ref = buffer(nt)
    rows = None
    mapped = []
    for i, a in enumerate(args):
        if isinstance(a, NestedTensor):
            if i and name in _COMPARE and not nt._is_jagged:
                raise RuntimeError(f"{name} does not support nested tensor as other value.")
            if a is not nt:
                if nt._is_jagged and a._is_jagged and a._ragged is not nt._ragged:
                    raise RuntimeError(f"cannot call binary pointwise function {name}.Tensor with inputs of shapes "
                                       f"{_shape_text(nt)} and {_shape_text(a)}")
                if a._nsizes.shape != nt._nsizes.shape or not np.array_equal(a._nsizes, nt._nsizes):
                    raise RuntimeError(f"{name} does not support broadcasting when given a NestedTensor")
            b = buffer(a)
            mapped.append(b if b.shape == ref.shape else b.reshape(ref.shape))
        elif isinstance(a, Tensor) and a.dim() > 0:
            if not nt._is_jagged:
                raise RuntimeError("Expected both self and other to be nested, but got a "
                                   + ("nested self and non-nested other" if i else "non-nested self and nested other"))
            if rows is None:   # a dense operand broadcasts over the rows of the jagged values
                rows = _rows(nt, min(a.dim(), nt._nsizes.shape[1] - 1))
                if rows is None:
                    raise RuntimeError(f"{name}: dense operand must broadcast over the ragged dim")
                mapped = [m.reshape(rows.shape) if isinstance(m, Tensor) and m.shape == ref.shape else m
                          for m in mapped]
                ref = rows
            mapped.append(a)
        else:
            mapped.append(a)
    if name.endswith("_") and not name.startswith("__"):
        return _inplace(func, nt, mapped, kwargs)
    out = func(*mapped, **kwargs)
    return wrap(out, nt._nsizes, nt, contiguous=nt._contig)


def _shape_text(nt: NestedTensor) -> str:
    return "(" + ", ".join(str(nt._dim_size(i)) for i in range(nt.dim())) + ")"


def _inplace(func: Any, nt: NestedTensor, mapped: list, kwargs: dict) -> NestedTensor:
    """An in-place op on the buffer; the nested tensor takes over the buffer's new autograd history."""
    plain = _same(nt)
    mapped = [plain if isinstance(m, Tensor) and m._data is nt._data else m for m in mapped]
    func(*mapped, **kwargs)
    nt._grad_fn, nt._output_nr, nt._rg = plain._grad_fn, plain._output_nr, plain._rg
    return nt


# ---------------------------------------------------------------------------------------------- handlers

def _contiguous(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt = args[0]
    return nt if nt._contig else wrap(buffer(nt).clone(), nt._nsizes, nt)


def _unbind(func: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    return args[0].unbind(_arg(args, kwargs, 1, "dim", 0))


def _method(func: Any, name: str, args: tuple, kwargs: dict) -> Any:
    return getattr(NestedTensor, name)(*args, **kwargs)


def _select(func: Any, name: str, args: tuple, kwargs: dict) -> Tensor:
    nt, dim, index = args[0], _arg(args, kwargs, 1, "dim"), _arg(args, kwargs, 2, "index")
    if _wrapdim(dim, nt.dim()) != 0:
        raise not_implemented("select.int")
    return constituents(nt)[index]


def _getitem(func: Any, name: str, args: tuple, kwargs: dict) -> Tensor:
    nt, key = args
    if isinstance(key, int) and not isinstance(key, bool):
        return constituents(nt)[key]
    raise not_implemented("slice.Tensor")


def _linear(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt, weight, bias = args[0], _arg(args, kwargs, 1, "weight"), _arg(args, kwargs, 2, "bias")
    if not isinstance(nt, NestedTensor):
        raise not_implemented("linear")
    if not nt._is_jagged and (nt.dim() != 3 or weight.dim() != 2):
        raise RuntimeError(f"Linear requires nested_tensor.dim == 3 and dense_matrix.dim == 2. Nested tensor dim: "
                           f"{nt.dim()}. Dense tensor dim: {weight.dim()}")
    rows = _rows(nt)
    last = int(nt._nsizes[0, -1]) if rows is not None else None
    if rows is None or last != weight.shape[-1]:
        raise RuntimeError("Shape mismatch for NestedTensor Linear: Expected input's (a nested tensor) 'last_dim' to "
                           f"equal 'weight.size(1), but got: last_dim = {last}, and weight.size(1) = "
                           f"{weight.shape[-1]}")
    out = F.linear(rows, weight, bias)
    sizes = nt._nsizes.copy()
    sizes[:, -1] = weight.shape[0]
    return wrap(out, sizes, nt)


def _softmax(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt, dim = args[0], _arg(args, kwargs, 1, "dim")
    dtype = kwargs.get("dtype")
    dim = _wrapdim(dim, nt.dim())
    if dim == 0:
        raise RuntimeError("Cannot apply softmax across nested dimension 0")
    op = F.log_softmax if name == "log_softmax" else F.softmax
    if dim == nt.dim() - 1 and (rows := _rows(nt)) is not None:
        return wrap(op(rows, -1, dtype=dtype), nt._nsizes, nt)
    padded = to_padded(nt, -math.inf)
    return from_padded(op(padded, dim, dtype=dtype), nt._nsizes, nt,
                       "LogSoftmaxBackward0" if name == "log_softmax" else "SoftmaxBackward0")


def _matmul(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    a, b = args[0], _arg(args, kwargs, 1, "mat2" if name == "bmm" else "other")
    if not isinstance(a, NestedTensor):
        raise RuntimeError("Expected both to be nested, but got a non-nested self and nested other")
    if not isinstance(b, NestedTensor):
        if a._is_jagged and b.dim() == 2 and (rows := _rows(a)) is not None:   # rows @ dense matrix
            sizes = a._nsizes.copy()
            sizes[:, -1] = b.shape[-1]
            return wrap(MM.matmul(rows, b), sizes, a)
        if name != "bmm" or b.dim() != 3:
            raise RuntimeError("Expected both to be nested, but got a nested self and non-nested other")
    if name == "bmm" and a.dim() != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor, got {a.dim()}D")
    bsizes = b._nsizes if isinstance(b, NestedTensor) else np.tile(np.array(b.shape[1:]), (len(a._nsizes), 1))
    if len(bsizes) != len(a._nsizes) or (len(bsizes) and not np.array_equal(a._nsizes[:, -1], bsizes[:, -2])):
        raise RuntimeError(f"{name}: the constituents' inner dimensions do not match")
    bp = to_padded(b, 0.0) if isinstance(b, NestedTensor) else b
    out = MM.matmul(to_padded(a, 0.0), bp)
    sizes = np.concatenate([a._nsizes[:, :-1], bsizes[:, -1:]], axis=1)
    return from_padded(out, sizes, a, "BmmBackward0" if name == "bmm" else "MatmulBackward0")


def _transpose(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt, d0, d1 = args[0], _arg(args, kwargs, 1, "dim0"), _arg(args, kwargs, 2, "dim1")
    n = nt.dim()
    d0, d1 = _wrapdim(d0, n), _wrapdim(d1, n)
    if d0 == 0 or d1 == 0:
        raise RuntimeError("Nested tensor dimension 0 cannot be transposed")
    if d0 == d1:
        return wrap(buffer(nt).view(-1), nt._nsizes, nt, contiguous=nt._contig)
    sizes = nt._nsizes.copy()
    sizes[:, [d0 - 1, d1 - 1]] = sizes[:, [d1 - 1, d0 - 1]]
    out = from_padded(to_padded(nt, 0.0).transpose(d0, d1), sizes, nt, "TransposeBackward0", contiguous=False)
    if nt._is_jagged:   # the ragged dim moves with the transpose, keeping its symbolic size
        out._ragged_idx = {d0: d1, d1: d0}.get(nt._ragged_idx, nt._ragged_idx)
        out._ragged, out._joffsets = nt._ragged, nt._joffsets
    return out


def _view(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt = args[0]
    shape = args[1:] if len(args) > 2 or not isinstance(_arg(args, kwargs, 1, "shape"), (list, tuple)) else \
        tuple(_arg(args, kwargs, 1, "shape"))
    shape = tuple(int(s) for s in shape)
    if not shape or shape[0] != len(nt._nsizes):
        raise RuntimeError(f"{name}: For now nested {name} cannot change or infer the implicit batch dimension")
    old = nt._nsizes
    new = np.empty((len(old), len(shape) - 1), np.int64)
    for k, s in enumerate(shape[1:]):
        if s == -1:
            if k >= old.shape[1]:
                raise RuntimeError("nested tensor does not infer shape")
            new[:, k] = old[:, k]
        else:
            new[:, k] = s
    numels, want = _numel_rows(old), _numel_rows(new)
    bad = np.flatnonzero(numels != want)
    if len(bad):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {int(numels[bad[0]])}")
    return wrap(buffer(nt).view(-1), new, nt)


def _numel_rows(sizes: np.ndarray) -> np.ndarray:
    return np.prod(sizes, axis=1, dtype=np.int64) if sizes.shape[1] else np.ones(len(sizes), np.int64)


def _unsqueeze(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt, dim = args[0], _arg(args, kwargs, 1, "dim")
    dim = _wrapdim(dim, nt.dim() + 1)
    if dim == 0:
        raise RuntimeError("unsqueeze(): For nested tensors, unsqueezing dimension 0 is not supported at the moment "
                           "if you need this feature, please open an issue on github describing your use case.")
    return wrap(buffer(nt).view(-1), np.insert(nt._nsizes, dim - 1, 1, axis=1), nt)


def _squeeze(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt, dim = args[0], _arg(args, kwargs, 1, "dim")
    if dim is None:
        raise RuntimeError("squeeze(): For nested tensors, squeeze without the dim argument is not supported at the "
                           "moment, however you can use squeeze(Tensor self, int dim) instead if you need this "
                           "feature, please open an issue on github describing your use case.")
    dim = _wrapdim(dim, nt.dim())
    if dim == 0:
        raise RuntimeError("squeeze(): For nested tensors, squeezing dimension 0 is not supported at the moment if "
                           "you need this feature, please open an issue on github describing your use case.")
    sizes = nt._nsizes
    if len(sizes) and (sizes[:, dim - 1] == 1).all():
        sizes = np.delete(sizes, dim - 1, axis=1)
    return wrap(buffer(nt).view(-1), sizes, nt)


def _dims(dim: Any) -> list[int]:
    return [dim] if isinstance(dim, int) else list(dim)


def _reduce(func: Any, name: str, args: tuple, kwargs: dict) -> Any:
    nt = args[0]
    dim = _arg(args, kwargs, 1, "dim")
    keepdim = bool(_arg(args, kwargs, 2, "keepdim", False))
    dtype = kwargs.get("dtype")
    n = nt.dim()
    op = R.mean if name == "mean" else R.sum
    if not nt._is_jagged:
        if dim is None or name == "mean":
            raise not_implemented("sum" if name == "sum" and dim is None else _ATEN.get(name, name))
        dims = [_wrapdim(d, n) for d in _dims(dim)]
        if dims != [n - 1]:
            raise RuntimeError(f"NestedTensor can only be reduced across the last dimension for now got dimension "
                               f"{next(d for d in dims if d != n - 1)} instead.")
        if not keepdim:
            raise RuntimeError("NestedTensor always requires keepdim=True for now.")
        if dtype is not None:
            raise RuntimeError("NestedTensor does not support dtype argument for now.")
    if dim is None:   # jagged: every element, a dense 0-d result
        return op(buffer(nt), dtype=dtype)
    dims = sorted({_wrapdim(d, n) for d in _dims(dim)})
    if 0 in dims:
        raise RuntimeError(f"{name}(): not supported along the batch dimension for NestedTensor")
    if nt._is_jagged and nt._ragged_idx in dims:   # over the ragged dim: a dense (B, ...) result
        padded = to_padded(nt, 0.0)
        total = R.sum(padded, dims, keepdim=keepdim, dtype=dtype)
        if name == "mean":
            count = math.prod(padded.shape[d] for d in dims if d != nt._ragged_idx)
            lengths = C.tensor(nt._nsizes[:, nt._ragged_idx - 1] * count, dtype=total.dtype)
            total = total / lengths.reshape(-1, *([1] * (total.dim() - 1)))
        return total
    k = n - min(dims)
    rows = _rows(nt, k)
    if rows is not None and dims == list(range(min(dims), n)):
        out = op(rows, [d - n for d in dims], keepdim=keepdim, dtype=dtype)
        result_buf = out
    else:
        padded = to_padded(nt, 0.0)
        sizes = nt._nsizes.copy()
        sizes[:, [d - 1 for d in dims]] = 1
        red = op(padded, dims, keepdim=True, dtype=dtype)
        result_buf = buffer(from_padded(red, sizes, nt, "SumBackward1"))
    sizes = nt._nsizes.copy()
    sizes[:, [d - 1 for d in dims]] = 1
    if not keepdim:
        sizes = np.delete(sizes, [d - 1 for d in dims], axis=1)
    return wrap(result_buf, sizes, nt)


def _layer_norm(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    nt, shape = args[0], tuple(_arg(args, kwargs, 1, "normalized_shape"))
    weight, bias = _arg(args, kwargs, 2, "weight"), _arg(args, kwargs, 3, "bias")
    eps = _arg(args, kwargs, 4, "eps", 1e-5)
    if not nt._is_jagged and (weight is None or bias is None):
        raise ValueError("NestedTensor layer_norm requires weight and bias")
    rows = _rows(nt, len(shape))
    if rows is None or tuple(rows.shape[1:]) != shape:
        raise RuntimeError(f"layer_norm: normalized_shape {list(shape)} must match the regular trailing dims of the "
                           "NestedTensor")
    return wrap(F.layer_norm(rows, shape, weight, bias, eps), nt._nsizes, nt)


def _sdpa(func: Any, name: str, args: tuple, kwargs: dict) -> NestedTensor:
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
    defaults = (None, None, None, None, 0.0, False, None, False)
    q, k, v, mask, p, causal, scale, gqa = (_arg(args, kwargs, i, n, d)
                                           for i, (n, d) in enumerate(zip(names, defaults, strict=True)))
    if not all(isinstance(t, NestedTensor) for t in (q, k, v)):
        raise RuntimeError("scaled_dot_product_attention: query, key and value must all be nested tensors or all "
                           "be dense")
    if causal:
        raise RuntimeError("_scaled_dot_product_attention: Nested tensors for query / key are not supported when "
                           "is_causal=True")
    if not all(t._contig for t in (q, k, v)):
        raise RuntimeError("scaled_dot_product_attention: If inputs are nested tensors they must be contiguous")
    if mask is not None:
        raise RuntimeError("scaled_dot_product_attention: attn_mask is not supported for nested tensors")
    kp, vp, qp = to_padded(k, 0.0), to_padded(v, 0.0), to_padded(q, 0.0)
    lk = kp.shape[-2]
    valid = np.arange(lk)[None, :] < k._nsizes[:, -2][:, None]
    keep = C.tensor(valid.reshape(len(valid), *([1] * (qp.dim() - 2)), lk), device=qp.device)
    out = F.scaled_dot_product_attention(qp, kp, vp, attn_mask=keep, dropout_p=p, scale=scale, enable_gqa=gqa)
    sizes = q._nsizes.copy()
    sizes[:, -1] = v._nsizes[:, -1]
    return from_padded(out, sizes, q, "MatmulBackward0")


_HANDLERS: dict[str, Callable] = {
    "contiguous": _contiguous, "unbind": _unbind, "select": _select, "__getitem__": _getitem,
    "size": _method, "dim": _method, "numel": _method, "stride": _method, "is_contiguous": _method,
    "to_padded_tensor": _method, "linear": _linear, "softmax": _softmax, "log_softmax": _softmax,
    "matmul": _matmul, "bmm": _matmul, "transpose": _transpose, "swapaxes": _transpose, "swapdims": _transpose,
    "view": _view, "reshape": _view, "unsqueeze": _unsqueeze, "squeeze": _squeeze, "sum": _reduce, "mean": _reduce,
    "layer_norm": _layer_norm, "scaled_dot_product_attention": _sdpa,
}
