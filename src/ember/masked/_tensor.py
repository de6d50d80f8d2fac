"""``MaskedTensor``: a tensor whose elements are either specified (mask True) or masked out (mask False).

Mechanism. A MaskedTensor is a Tensor subclass whose own tensor fields (array, dtype, autograd history) are
those of its data, plus a boolean mask of the same shape in ``_masked_mask``. Autograd therefore sees the data:
a leaf MaskedTensor accumulates its gradient as a plain tensor in ``_grad`` and ``.grad`` presents it masked
with the leaf's mask (as torch prints it). Its ``__torch_function__`` maps ember calls onto data and mask:
unary and binary elementwise ops keep the mask (binary ones require matching masks), reductions run the
``ember.masked`` functional op and reduce the mask with ``any``, shape ops (view, index, cat, ...) apply to
both. Calls torch's MaskedTensor does not implement raise its TypeError; calls that return no tensor
(metadata, ``backward``) run on the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import overrides
from .._core import dtype as D
from .._core.warn import warn
from .._tensor import Tensor, _as_subclass, _new
from ..ops import elementwise as EW
from ..ops import indexing as IX
from ..ops import reduction as R
from ..ops.extra import _alias
from ..overrides import DisableTorchFunctionSubclass
from . import _ops

__all__ = ["MaskedTensor", "is_masked_tensor", "masked_tensor", "as_masked_tensor"]

_PROTOTYPE = ("The PyTorch API of MaskedTensors is in prototype stage and will change in the near future. Please "
              "open a Github issue for features requests and see our documentation on the torch.masked module for "
              "further information about the project.")
_SUPPORTED = (D.float16, D.float32, D.float64, D.bool, D.int8, D.int16, D.int32, D.int64)

_UNARY = frozenset("""abs absolute acos arccos acosh arccosh angle asin arcsin asinh arcsinh atan arctan atanh arctanh
bitwise_not ceil clamp clip conj_physical cos cosh deg2rad digamma erf erfc erfinv exp exp2 expm1 fix floor frac
lgamma log log10 log1p log2 logit i0 isnan nan_to_num neg negative positive pow rad2deg reciprocal round rsqrt
sigmoid sign sgn signbit sin sinc sinh sqrt square tan tanh trunc""".split())
_BINARY = frozenset("""add atan2 arctan2 bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift
div divide floor_divide fmod logaddexp logaddexp2 mul multiply nextafter remainder sub subtract true_divide eq ne le
ge greater greater_equal gt less_equal lt less maximum minimum fmax fmin not_equal""".split())
_REDUCE = frozenset("sum mean amin amax argmin argmax prod all var std".split())
_PASSTHROUGH = frozenset("""select transpose split t __getitem__ expand view reshape cat concat concatenate unsqueeze
unfold stack expand_as view_as reshape_as flatten squeeze""".split())
_ON_DATA = frozenset("detach clone to float double half int long bool contiguous cpu cuda type".split())
_SOFTMAX = frozenset({"softmax"})
_PERMUTING = {"T": "permute", "H": "permute", "mT": "transpose", "mH": "transpose"}
_ATEN = {"log_softmax": "_log_softmax"}   # the aten op torch names in its refusal
# operators that reach handlers under their dunder name: the name of the op and whether the operands swap
_DUNDER = {"__eq__": ("eq", False), "__ne__": ("ne", False), "__floordiv__": ("floor_divide", False),
           "__and__": ("bitwise_and", False), "__or__": ("bitwise_or", False), "__xor__": ("bitwise_xor", False),
           "__rdiv__": (None, True), "__rsub__": (None, True), "__rpow__": (None, True),
           "__rfloordiv__": (None, True), "__rmod__": (None, True)}


def is_masked_tensor(obj: Any, /) -> bool:
    """Whether ``obj`` is a MaskedTensor."""
    return isinstance(obj, MaskedTensor)


def _plain(t: Tensor) -> Tensor:
    """``t``'s data as a plain Tensor in ``t``'s autograd graph (an alias view of a leaf)."""
    if t._grad_fn is None and t._rg:
        with DisableTorchFunctionSubclass():
            return _alias(t)
    return _as_subclass(t, Tensor)


def _arm() -> None:
    """Ops reach MaskedTensors through the protocol: turn it (back) on if needed."""
    if not overrides._ACTIVE:
        overrides.activate()


def _wrap(data: Tensor, mask: Tensor) -> MaskedTensor:
    """``data`` (a result in the graph) as a MaskedTensor with ``mask``."""
    _arm()
    warn(_PROTOTYPE, UserWarning, stacklevel=3)
    out = _as_subclass(data, MaskedTensor)
    out._masked_mask = mask
    return out


def _validate(data: Any, mask: Any) -> None:
    if is_masked_tensor(data) or not isinstance(data, Tensor):
        raise TypeError("data must be a Tensor")
    if is_masked_tensor(mask) or not isinstance(mask, Tensor):
        raise TypeError("mask must be a Tensor")
    if data.layout != mask.layout:
        raise TypeError("data and mask must have the same layout.")
    if mask.dtype is not D.bool:
        raise TypeError("mask must have dtype bool.")
    if data.dtype not in _SUPPORTED:
        raise TypeError(f"{data.dtype} is not supported in MaskedTensor.")
    if data.dim() != mask.dim():
        raise ValueError("data.dim() must equal mask.dim()")
    if data.size() != mask.size():
        raise ValueError("data.size() must equal mask.size()")


def _no_dispatch(name: str) -> TypeError:
    """torch's failure for an op MaskedTensor does not implement (after its UserWarning)."""
    warn(f"{name} is not implemented in __torch_dispatch__ for MaskedTensor.\nIf you would like this "
         "operator to be supported, please file an issue for a feature request at "
         "https://github.com/pytorch/maskedtensor/issues with a minimal reproducible code snippet.\nIn the "
         "case that the semantics for the operator are not trivial, it would be appreciated to also include "
         "a proposal for the semantics.", UserWarning, stacklevel=4)
    return TypeError(f"Multiple dispatch failed for 'torch._ops.aten.{name}.default'; all __torch_dispatch__ "
                     "handlers returned NotImplemented:\n\n  - tensor subclass <class "
                     "'torch.masked.maskedtensor.core.MaskedTensor'>\n\nFor more information, try re-running with "
                     "TORCH_LOGS=not_implemented")


def _map(a: Any, fn: Callable[[MaskedTensor], Any]) -> Any:
    if isinstance(a, MaskedTensor):
        return fn(a)
    if isinstance(a, (list, tuple)):
        return type(a)(_map(b, fn) for b in a)
    return a


def _masks_match(a: Any, b: Any) -> bool:
    if isinstance(a, MaskedTensor) and isinstance(b, MaskedTensor):
        ma, mb = a._masked_mask, b._masked_mask
        return ma.dim() == mb.dim() and bool(EW.equal(ma, mb)) if ma.shape == mb.shape else False
    return True


def _any(mask: Tensor, dim: Any, keepdim: bool) -> Tensor:
    dims = [dim] if isinstance(dim, int) else list(dim)
    for d in sorted((d % max(mask.dim(), 1) for d in dims), reverse=True):
        mask = R.any(mask, dim=d, keepdim=keepdim)
    return mask


class MaskedTensor(Tensor):
    """torch.masked.MaskedTensor: ``data`` where ``mask`` is True, unspecified elsewhere."""

    _masked_mask: Tensor

    def __new__(cls, data: Any, mask: Any, requires_grad: bool = False) -> MaskedTensor:
        if is_masked_tensor(data) or not isinstance(data, Tensor):
            raise TypeError("data must be a Tensor")
        if is_masked_tensor(mask) or not isinstance(mask, Tensor):
            raise TypeError("mask must be a Tensor")
        warn(_PROTOTYPE, UserWarning, stacklevel=2)
        if data.requires_grad:
            warn("It is not recommended to create a MaskedTensor with a tensor that requires_grad. To "
                 "avoid this, you can use data.detach().clone()", UserWarning, stacklevel=2)
        _validate(data, mask)
        _arm()
        with DisableTorchFunctionSubclass():
            src = data.detach().clone()
        self = _new(cls)
        for slot in ("_data", "_dtype", "_device", "_vc"):
            setattr(self, slot, getattr(src, slot))
        self._base, self._grad_fn, self._output_nr, self._rg = None, None, 0, False
        self._masked_mask = mask.clone()
        if requires_grad:
            self.requires_grad_(True)
        return self

    def __init__(self, data: Any, mask: Any, requires_grad: bool = False) -> None:
        pass

    # ---- accessors -------------------------------------------------------------------------------
    def get_data(self) -> Tensor:
        """The data (every element, specified or not) as a plain tensor, differentiable."""
        return _plain(self)

    def get_mask(self) -> Tensor:
        return self._masked_mask

    @property
    def _masked_data(self) -> Tensor:
        return _plain(self)

    def to_tensor(self, value: Any) -> Tensor:
        """A plain tensor: the data with masked-out elements set to ``value``."""
        with DisableTorchFunctionSubclass():
            return _plain(self).masked_fill(~self._masked_mask, value)

    def is_sparse_coo(self) -> bool:
        return False

    def is_sparse_csr(self) -> bool:
        return False

    @property
    def grad(self) -> MaskedTensor | None:   # type: ignore[override]
        g = self._grad
        if g is None:
            return None
        return g if isinstance(g, MaskedTensor) else _wrap(g, self._masked_mask)

    @grad.setter
    def grad(self, value: Any) -> None:
        self._grad = value.get_data().detach() if isinstance(value, MaskedTensor) else value

    def __repr__(self) -> str:
        data, mask = self._data, self._masked_mask._data
        if data.ndim == 0:
            s = _format_item(data.item()) if bool(mask.item()) else "--"
            return f"MaskedTensor({s}, {bool(mask.item())})"
        body = "\n".join("  " + line for line in _format(data, mask).split("\n"))
        return "MaskedTensor(\n" + body + "\n)"

    __str__ = __repr__
    __format__ = object.__format__   # a Tensor subclass in torch: no number formats, even when 0-d

    # ---- dispatch --------------------------------------------------------------------------------
    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _DUNDER:
            base, swap = _DUNDER[name]
            if swap:
                return NotImplemented
            name = base
        elif name.startswith("__") and name.endswith("__") and name not in ("__getitem__", "__get__"):
            name = name.strip("_")
        with DisableTorchFunctionSubclass():
            return _handle(func, name, args, kwargs)


def _format_item(v: Any) -> str:
    return f"{v:8.4f}" if isinstance(v, float) else str(v)


def _format(data: Any, mask: Any) -> str:
    """torch's layout: 1-d rows of ``%8.4f`` floats (or ``str`` of other items) with ``--`` for masked-out
    elements, nested in brackets indented by two spaces per level."""
    if data.ndim == 1:
        pairs = list(zip([_format_item(v) for v in data.tolist()], mask.tolist(), strict=True))
        width = max((8 if not m else len(s) for s, m in pairs), default=0)
        return "[" + ", ".join(s if m else "--".rjust(width) for s, m in pairs) + "]"
    subs = ["\n".join("  " + line for line in _format(d, m).split("\n")) for d, m in zip(data, mask, strict=True)]
    return "[\n" + ",\n".join(subs) + "\n]"


def _handle(func: Any, name: str, args: tuple, kwargs: dict) -> Any:
    if name == "norm":   # torch's Tensor.norm hands its reduction an argument it does not take
        raise TypeError("_reduce_dim_args() got an unexpected keyword argument 'p'")
    if name in _UNARY or (name.endswith("_") and name[:-1] in _UNARY):
        return _unary(func, name, args, kwargs)
    if name in _BINARY or (name.endswith("_") and name[:-1] in _BINARY):
        return _binary(func, name, args, kwargs)
    if name in _REDUCE:
        return _reduce(name, args, kwargs)
    if name in _PASSTHROUGH:
        data = func(*_map(args, _plain), **kwargs)
        mask = func(*_map(args, lambda a: a._masked_mask), **kwargs)
        return _wrap_all(data, mask)
    if name in _SOFTMAX:
        self, dim = args[0], (args[1] if len(args) > 1 else kwargs.get("dim"))
        return _wrap(_ops.softmax(self, dim), self._masked_mask)
    if name in _ON_DATA:
        self = args[0]
        return _wrap(func(_plain(self), *args[1:], **kwargs), self._masked_mask)
    if name == "where":
        cond, a, b = (*args, *kwargs.values())[:3]
        if not (isinstance(a, MaskedTensor) and isinstance(b, MaskedTensor)):
            raise _no_dispatch("where")
        mask = IX.where(cond, a._masked_mask, b._masked_mask)
        return _wrap(IX.where(cond, _plain(a), _plain(b)), mask)
    result = func(*args, **kwargs)
    if name == "__get__":
        prop = next((k for k, v in vars(Tensor).items() if isinstance(v, property) and v is func.__self__), "")
        if prop in _PERMUTING and isinstance(result, Tensor):
            raise _no_dispatch(_PERMUTING[prop])
        return result
    if not _has_tensor(result) or any(result is a for a in args):
        return result
    raise _no_dispatch(_ATEN.get(name, name))


def _has_tensor(r: Any) -> bool:
    if isinstance(r, Tensor):
        return True
    return isinstance(r, (list, tuple)) and any(_has_tensor(x) for x in r)


def _wrap_all(data: Any, mask: Any) -> Any:
    if isinstance(data, (list, tuple)):
        return type(data)(_wrap_all(d, m) for d, m in zip(data, mask, strict=True))
    return _wrap(data, mask)


def _unary(func: Any, name: str, args: tuple, kwargs: dict) -> Any:
    if kwargs:
        raise ValueError("MaskedTensor unary ops require that len(kwargs) == 0. If you need support for this, please "
                         "open an issue on Github.")
    if any(isinstance(a, Tensor) for a in args[1:]):
        raise TypeError("MaskedTensor unary ops do not support additional Tensor arguments")
    self = args[0]
    if name.endswith("_"):   # in place: the data (self's own array) changes, the mask stays
        func(self, *args[1:])
        return self
    return _wrap(func(_plain(self), *args[1:]), self._masked_mask)


def _binary(func: Any, name: str, args: tuple, kwargs: dict) -> Any:
    if kwargs:
        raise ValueError("len(kwargs) must equal 0")
    if any(isinstance(a, Tensor) for a in args[2:]):
        raise TypeError("MaskedTensor binary ops do not support Tensor arguments aside from the lhs and rhs")
    if not _masks_match(*args[:2]):
        raise ValueError("Input masks must match. If you need support for this, please open an issue on Github.")
    if name.endswith("_"):
        func(args[0], *_map(args[1:], _plain))
        return args[0]
    data = func(*_map(args, _plain))
    mask = next(a._masked_mask for a in args[:2] if isinstance(a, MaskedTensor))
    return _wrap(data, mask.expand_as(data))


def _reduce(name: str, args: tuple, kwargs: dict) -> MaskedTensor:
    self = args[0]
    mask = self._masked_mask
    if len(args) == 1 and not kwargs:
        if name == "all":
            data = R.all(_plain(self).masked_fill(~mask, True))
        else:
            data = getattr(_ops, name)(self)
        return _wrap(data, R.any(mask))
    dim, keepdim, dtype = _dim_args(*args[1:], **kwargs)
    if name == "all":
        data = R.all(_plain(self).masked_fill(~mask, True), dim=dim, keepdim=keepdim)
    else:
        data = getattr(_ops, name)(self, dim, keepdim=keepdim, dtype=dtype)
    return _wrap(data, _any(mask, dim, keepdim))


def _dim_args(dim: Any, keepdim: bool = False, dtype: Any = None) -> tuple[Any, bool, Any]:
    return dim, keepdim, dtype



def masked_tensor(data: Tensor, mask: Tensor, requires_grad: bool = False) -> MaskedTensor:
    """A MaskedTensor holding a copy of ``data`` (a new leaf: no gradient flows back to ``data``)."""
    return MaskedTensor(data, mask, requires_grad)


def as_masked_tensor(data: Tensor, mask: Tensor) -> MaskedTensor:
    """A MaskedTensor over ``data`` that stays in ``data``'s graph (gradients flow back to ``data``)."""
    if is_masked_tensor(data) or not isinstance(data, Tensor):
        raise TypeError("data must be a Tensor")
    if is_masked_tensor(mask) or not isinstance(mask, Tensor):
        raise TypeError("mask must be a Tensor")
    _validate(data, mask)
    with DisableTorchFunctionSubclass():
        src = _alias(data) if data.requires_grad else data.detach()
    return _wrap(src, mask)
