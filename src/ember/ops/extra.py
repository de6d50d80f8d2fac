"""The rest of torch's surface: top-level spellings of methods and functional ops (with aten's signatures),
``*_copy`` variants of views, complex views, small composites (cov, trapezoid, cartesian_prod, gradient, ...),
creation helpers and a few interop/control-flow functions. Legacy linear algebra lives in :mod:`.lapack`,
storage management in :mod:`.tensor_storage`.

Composites are written with ember ops, as torch's own are, so their gradients (and grad_fn names) follow;
:func:`composed` records one torch-named node over such a composition.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CPU, canonical
from .._core.warn import warn
from ..autograd.grad_mode import STATE, no_grad
from . import creation as C
from . import elementwise as E
from . import indexing as I
from . import reduction as R
from . import shape as S
from . import views as V
from ._dispatch import (
    Node,
    Tensor,
    binary_dtype,
    bind,
    check_inplace,
    from_array,
    history_alias,
    inplace,
    make_node_class,
    needs_grad,
    no_unsigned_kernel,
    out_dtype_error,
    record,
    tie,
    wrap_dim,
    writable_alias,
    write_out,
    xp_of,
)
from ._signature import type_name

_isinstance = isinstance
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _xp(t: Tensor) -> Any:
    return np if t._device is CPU else xp_of(t._device)


# ---- top-level spellings of Tensor methods -------------------------------------------------------------
def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of ``input`` (``CloneBackward0``)."""
    return input.clone() if memory_format is None else input.clone(memory_format=memory_format)


def detach(input: Tensor) -> Tensor:
    """A view of ``input`` cut from the autograd graph."""
    return input.detach()


def detach_(input: Tensor) -> Tensor:
    """Cut ``input`` from the autograd graph in place."""
    return input.detach_()


def _no_detach_copy_grad(node: Node, g: Tensor) -> tuple:
    raise RuntimeError("derivative for aten::detach_copy is not implemented")


_DetachCopyNode = make_node_class("NotImplemented", _no_detach_copy_grad)


def detach_copy(input: Tensor) -> Tensor:
    """A detached copy of ``input``; torch records it (on an input requiring grad) under a node whose backward
    raises."""
    t = input.detach().clone()
    if input._rg and STATE.enabled:
        record(t, _DetachCopyNode(), (input,))
    return t


class FillBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (C.zeros_like(g),)


class FillBackward1(Node):
    """fill with a 0-d tensor value: the value receives the summed gradient."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return C.zeros_like(g), g.sum()


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor like ``input`` filled with ``value`` (a number or a 0-d tensor)."""
    is_t = _isinstance(value, Tensor)
    if is_t and value.dim():
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} "
                           "dimensions.")
    out = C.empty_like(input)
    from ..autograd.grad_mode import no_grad
    with no_grad():
        out.fill_(value)
    if needs_grad(input, value):
        record(out, FillBackward1() if is_t else FillBackward0(), (input, value) if is_t else (input,))
    return out


def fill_(input: Tensor, value: Any) -> Tensor:
    """Fill ``input`` with ``value`` in place."""
    return input.fill_(value)


def zero_(input: Tensor) -> Tensor:
    """Fill ``input`` with zeros in place."""
    return input.zero_()


def is_signed(input: Tensor) -> bool:
    return input.is_signed()


def is_conj(input: Tensor) -> bool:
    E._tensor_arg(input, "is_conj", "input", 1)
    return input.is_conj()


def is_neg(input: Tensor) -> bool:
    E._tensor_arg(input, "is_neg", "input", 1)
    return input.is_neg()


def is_inference(input: Tensor) -> bool:
    return input.is_inference()


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    return input.split_with_sizes(split_sizes, dim)


def unsafe_split(input: Tensor, split_size: int, dim: int = 0) -> tuple[Tensor, ...]:
    return input.unsafe_split(split_size, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    return input.unsafe_chunk(chunks, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    return input.unsafe_split_with_sizes(split_sizes, dim)


def as_strided_(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None
                ) -> Tensor:
    return input.as_strided_(size, stride, storage_offset)


def addmv_(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return input.addmv_(mat, vec, beta=beta, alpha=alpha)


def resize_as_(input: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    return input.resize_as_(the_template, memory_format=memory_format)


# ---- functional ops under aten's names and signatures ------------------------------------------------------
# (torch's top-level losses take the reduction as an int, 0 none / 1 mean / 2 sum, and default to none)
def _reduction(fn: str, reduction: Any, pos: int) -> str:
    if type(reduction) is not int:
        raise TypeError(f"{fn}(): argument 'reduction' (position {pos}) must be int, not {type(reduction).__name__}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _REDUCTIONS[reduction]


def _F() -> Any:
    from ..nn import functional
    return functional


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """aten's dropout: ``train`` required, positional."""
    return _F().dropout(input, p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _F().dropout(input, p, train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """aten's alpha_dropout (SELU-preserving)."""
    return _F().alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _F().alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """aten's feature_alpha_dropout (whole channels)."""
    return _F().feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _F().feature_alpha_dropout(input, p, train, inplace=True)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    from ..nn.functional._layers import _channel_dropout
    return _channel_dropout(input, p, train, inplace, input.dim() - 2)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole channels (dim 1) with probability ``p`` (``dropout2d`` for any rank)."""
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return _feature_dropout(input, p, train, True)


class NativeDropoutBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor, _gmask: Tensor | None = None) -> tuple:
        (mask,) = self.saved
        return (g * mask * self.scale,)


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple[Tensor, Tensor]:
    """Dropout returning ``(output, keep_mask)`` (same random stream as ``F.dropout``)."""
    if train is False or p == 0:
        return input.clone(), C.ones_like(input, dtype=D.bool)
    noise = C.empty_like(input).bernoulli_(1 - p)
    mask = noise.to(D.bool)
    scale = 0.0 if p == 1 else 1.0 / (1 - p)
    out = from_array(input._data * (noise._data * input._dtype.np.type(scale)), input._dtype, input._device)
    if needs_grad(input):
        node = record(out, NativeDropoutBackward0(), (input,))
        node.save(mask)
        node.scale = scale
    return out, mask


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """aten's embedding: ``weight`` first, ``padding_idx=-1`` for none."""
    return _F().embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                          scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False) -> Tensor:
    """The pointwise KL divergence ``target * (log target - input)`` (``log_target``: target given as logs)."""
    red = _reduction("kl_div", reduction, 3)
    loss = E.exp(target) * (target - input) if log_target else E.xlogy(target, target) - target * input
    return loss if red == "none" else loss.mean() if red == "mean" else loss.sum()


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None, reduction: int = 0) -> Tensor:
    """aten's binary_cross_entropy_with_logits (int reduction)."""
    return _F().binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction("binary_cross_entropy_with_logits", reduction, 5),
        pos_weight=pos_weight)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    """aten's cosine_embedding_loss (int reduction)."""
    return _F().cosine_embedding_loss(input1, input2, target, margin,
                                      reduction=_reduction("cosine_embedding_loss", reduction, 5))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 0) -> Tensor:
    """aten's hinge_embedding_loss (int reduction)."""
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction, 4))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    """aten's margin_ranking_loss (int reduction)."""
    return _F().margin_ranking_loss(input1, input2, target, margin,
                                    reduction=_reduction("margin_ranking_loss", reduction, 5))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """aten's poisson_nll_loss (every argument required, int reduction)."""
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps,
                                 reduction=_reduction("poisson_nll_loss", reduction, 6))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: int = 0) -> Tensor:
    """aten's triplet_margin_loss (int reduction)."""
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_reduction("triplet_margin_loss", reduction, 8))


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:
    """Pad with ``value`` (negative pads crop), ``pad`` given from the last dim backwards."""
    return _F().pad(input, list(pad), "constant", value)


def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None,
                      bias: Tensor | None, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, mean, rstd)``; the statistics keep the normalised dims as size 1."""
    out = _F().layer_norm(input, normalized_shape, weight, bias, eps)
    k = input.dim() - len(normalized_shape)
    xp = _xp(input)
    a = input._data.astype(np.float32) if input._dtype.itemsize < 4 else input._data
    axes = tuple(range(k, input.dim()))
    mean = a.mean(axis=axes, keepdims=True) if a.size else xp.zeros(input.shape[:k] + (1,) * (input.dim() - k))
    rstd = 1 / xp.sqrt(a.var(axis=axes, keepdims=True) + eps) if a.size else mean
    dt = D.float32 if input._dtype.itemsize < 4 else input._dtype
    return out, from_array(xp.asarray(mean, dt.np), dt, input._device), \
        from_array(xp.asarray(rstd, dt.np), dt, input._device)


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                      running_var: Tensor | None, training: bool, momentum: float, eps: float
                      ) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, save_mean, save_invstd)``: the batch statistics per channel when training, else empty."""
    from ..nn.functional._normalization import _batch_norm
    xp = _xp(input)
    dt = D.float32 if input._dtype.itemsize < 4 else input._dtype
    if training:
        a = input._data.astype(dt.np)
        axes = (0,) + tuple(range(2, input.dim()))
        mean, var = a.mean(axis=axes), a.var(axis=axes)
        stats = (from_array(xp.asarray(mean, dt.np), dt, input._device),
                 from_array(xp.asarray(1 / xp.sqrt(var + eps), dt.np), dt, input._device))
    else:
        stats = (C.empty(0, dtype=dt, device=input.device), C.empty(0, dtype=dt, device=input.device))
    out = _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)
    return (out, *stats)


# ---- *_copy: a view op's result as a new tensor --------------------------------------------------------
class _CopyOfView(Node):
    """The node of a ``*_copy`` op: torch's view node name + ``_copy``, the view's backward."""

    __slots__ = ()

    def backward(self, *grads: Tensor) -> tuple:
        return self.inner.backward(*grads)


_copy_nodes: dict[str, type[Node]] = {}


def _copy_node(inner: Node) -> Node:
    name = type(inner).__name__ + "_copy"
    cls = _copy_nodes.get(name)
    if cls is None:
        cls = _copy_nodes[name] = type(name, (_CopyOfView,), {"__slots__": (), "__module__": "torch.autograd.graph"})
    node = cls()
    node.inner = inner
    return node


def _copy_variant(view_fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``name``: ``view_fn``'s result(s) copied into fresh contiguous tensors, with the view's gradient; an
    ``out=`` (a tensor, or a list of them for several results) must have the result's dtype, as torch's."""
    def fn(input: Tensor, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        res = view_fn(input, *args, **kwargs)
        many = _isinstance(res, (tuple, list))
        outs = [from_array(_xp(r).array(r._data, copy=True, order="C"), r._dtype, r._device)
                for r in (res if many else (res,))]
        if out is not None:
            for o, r in zip(out if many else (out,), outs, strict=True):
                write_out(o, r, name, out_dtype_error, grad_check=False)
            return None if many else out
        inner = (res[0] if many and res else res)._grad_fn if needs_grad(input) else None
        if inner is not None:
            record(outs if many else outs[0], _copy_node(inner), (input,))
        return tuple(outs) if many else outs[0]
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Like ``{view_fn.__name__}`` but returns new tensors (no shared memory)."
    return fn


def _slice(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1
           ) -> Tensor:
    d = wrap_dim(dim, input.dim())
    return input[(slice(None),) * d + (slice(start, end, step),)]


class AliasBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g,)


def _alias(input: Tensor) -> Tensor:
    return V.make_view(input, input._data[...], AliasBackward0)


# ---- complex views --------------------------------------------------------------------------------------
class ViewAsRealBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (view_as_complex(g.contiguous()),)


class ViewAsComplexBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (view_as_real(g.resolve_conj()),)


def _reinterpret(xp: Any, first: Any, dt: D.dtype, shape: tuple, strides: tuple) -> Any:
    """A ``dt`` array of ``shape``/byte ``strides`` over the memory starting at ``first`` (a contiguous
    1-d view of the first bytes of a tensor's memory)."""
    if not math.prod(shape):   # no memory to view: an empty array with those strides (custom dtypes: dense)
        return xp.empty(shape, dt.np) if dt.kind else xp.lib.stride_tricks.as_strided(xp.empty(0, dt.np), shape,
                                                                                        strides)
    if dt.kind:   # NumPy cannot stride a custom dtype (complex32): stride same-size integers, then relabel
        carrier = np.dtype(f"u{dt.itemsize}")
        return xp.lib.stride_tricks.as_strided(first.view(carrier), shape, strides).view(dt.np)
    return xp.lib.stride_tricks.as_strided(first.view(dt.np), shape, strides)


def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor: real and imaginary parts in a new last dim of size 2."""
    if not input._dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if input.is_conj():
        raise RuntimeError("view_as_real doesn't work on unresolved conjugated tensors.  To resolve the "
                           "conjugate tensor so you can view it as real, use self.resolve_conj(); however, be "
                           "warned that the resulting tensor will NOT alias the original.")
    return as_real(input)


def as_real(input: Tensor) -> Tensor:
    """``view_as_real`` without its conjugate-bit check (``real`` / ``imag`` of a conjugate read through it)."""
    arr = input._data
    rdt = input._dtype.to_real()
    first = arr[None][(slice(0, 1),) + (0,) * arr.ndim] if arr.size else None
    strides = tuple(s * arr.itemsize for s in input.stride())   # (an empty array's NumPy strides may be 0s)
    out = _reinterpret(_xp(input), first, rdt, arr.shape + (2,), strides + (rdt.itemsize,))
    t = V.make_view(input, out, ViewAsRealBackward0)
    t._dtype = rdt
    return t


def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a real tensor whose last dim (size 2, stride 1) holds real and imaginary parts."""
    if input._dtype not in (D.float16, D.float32, D.float64):
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, but got a tensor "
                           f"of scalar type: {input._dtype._short}")
    if input.dim() == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input.stride(-1) != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in input.stride()[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    cdt = input._dtype.to_complex()
    arr = input._data
    first = arr[None][(slice(0, 1),) + (0,) * (arr.ndim - 1)].reshape(2) if arr.size else None
    out = _reinterpret(_xp(input), first, cdt, arr.shape[:-1], tuple(s * arr.itemsize for s in input.stride()[:-1]))
    t = V.make_view(input, out, ViewAsComplexBackward0)
    t._dtype = cdt
    return t


class ComposedNode(Node):
    """One torch-named node over a composition of ember ops: backward rebuilds the composition from the
    saved inputs and differentiates it (keeping a graph under ``create_graph``)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        from ..autograd import grad
        from ..autograd.grad_mode import enable_grad
        create = STATE.enabled
        ins = self.saved
        if not create:   # rebuilt on fresh leaves: the inputs' own (possibly shared) history stays untouched
            ins = tuple(t.detach().requires_grad_(nxt is not None) if _isinstance(t, Tensor) else t
                        for t, nxt in zip(ins, self._next, strict=True))
        else:   # on aliases: each input's gradient alone, not also its share through inputs with common history
            ins = tuple(t.view_as(t) if _isinstance(t, Tensor) and nxt is not None else t
                        for t, nxt in zip(ins, self._next, strict=True))
        want = [t for t, nxt in zip(ins, self._next, strict=True) if nxt is not None]
        with enable_grad():
            y = self.fn(*ins)
        grads = iter(grad(y, want, g, create_graph=create, allow_unused=True))
        out = []
        twice = self.twice if create else {}
        for i, (t, nxt) in enumerate(zip(ins, self._next, strict=True)):
            gi = next(grads) if nxt is not None else None
            if gi is None and nxt is not None:
                gi = C.zeros_like(t)
            if i in twice and gi is not None:   # torch's backward kernel takes the inputs (or raises)
                gi = twice[i](gi, self)
            out.append(gi)
        return tuple(out)


_composed_nodes: dict[str, type[Node]] = {}


def no_derivative(kernel: str) -> Callable[[Tensor, Node], Tensor]:
    """:func:`composed`'s ``twice`` entry for a torch backward kernel without a derivative (``aten::kernel``):
    the gradient raises torch's error when differentiated."""
    err = (RuntimeError, f"derivative for aten::{kernel} is not implemented")
    return lambda g, node: tie(g, node, "NotImplemented", range(len(node._next)), err)


def composed(name: str, fn: Callable[..., Tensor], *inputs: Any, grad_form: Callable[..., Tensor] | None = None,
             twice: dict[int, Callable[[Tensor, Node], Tensor]] | None = None) -> Tensor:
    """``fn(*inputs)`` computed without a graph and recorded as one node named ``name``, whose backward
    differentiates ``grad_form`` (default ``fn``: the same function written for differentiation). ``twice``
    maps an input's position to ``f(gradient, node)``, applied under ``create_graph`` where torch's backward
    kernel takes the inputs (see :func:`tie`)."""
    from ..autograd.grad_mode import no_grad
    with no_grad():
        out = fn(*inputs)
    if needs_grad(*inputs):
        cls = _composed_nodes.get(name)
        if cls is None:
            cls = _composed_nodes[name] = type(name, (ComposedNode,), {"__slots__": (),
                                                                         "__module__": "torch.autograd.graph"})
        node = record(out, cls(), inputs)
        node.save(*inputs)
        node.fn = grad_form or fn
        node.twice = twice or {}
    return out


# ---- composites ---------------------------------------------------------------------------------------
def _float_dtype(t: Tensor) -> D.dtype:
    return t._dtype if t._dtype.is_floating_point or t._dtype.is_complex else D.get_default_dtype()


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast), ``DistBackward0``."""
    for pos, (arg, t) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"dist(): argument '{arg}' (position {pos}) must be Tensor, not {type(t).__name__}")
    dt = E.result_type(input, other)   # torch subtracts first (a bool raises there), then checks the difference
    if dt.category == 1 and D.bool not in (input._dtype, other._dtype):
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got {dt._short} instead.")
    return composed("DistBackward0", lambda a, b: R.vector_norm(a - b, p), input, other)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float, *, out: Tensor | None = None) -> Tensor:
    """Rescale each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` to norm ``maxnorm``."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    if input.dim() < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} dimensions")
    d = wrap_dim(dim, input.dim())
    rest = [i for i in range(input.dim()) if i != d]

    def fn(x: Tensor) -> Tensor:
        norm = R.vector_norm(x, p, rest, keepdim=True)
        factor = I.where(norm > maxnorm, maxnorm / (norm + 1e-7), C.ones_like(norm))
        return x * factor
    res = composed("RenormBackward0", fn, input)
    return res if out is None else write_out(out, res, "renorm")


def renorm_(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """In-place :func:`renorm`."""
    check_inplace(input)
    res = renorm(history_alias(input) if STATE.enabled and input._rg else input, p, dim, maxnorm)
    E._check_written(input)   # (an expanded input: torch's overlap error, after the argument checks)
    if res._rg:
        return inplace(input, res)
    input._data[...] = res._data
    input._vc[0] += 1
    return input


def _isin_operand(x: Any) -> bool:
    return _isinstance(x, Tensor)


def isin(elements: Any = None, test_elements: Any = None, *, element: Any = None, test_element: Any = None,
         assume_unique: bool = False, invert: bool = False, out: Tensor | None = None) -> Tensor:
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a scalar, which torch's
    keywords name ``element`` / ``test_element``)."""
    elements = element if elements is None else elements
    test_elements = test_element if test_elements is None else test_elements
    if not _isinstance(elements, Tensor) and not _isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got ({type(elements).__name__}, "
                        f"{type(test_elements).__name__}), but expected one of:\n"
                        " * (Tensor elements, Tensor test_elements, *, bool assume_unique = False, bool invert = "
                        "False, Tensor out = None)\n"
                        " * (Number element, Tensor test_elements, *, bool assume_unique = False, bool invert = "
                        "False, Tensor out = None)\n"
                        " * (Tensor elements, Number test_element, *, bool assume_unique = False, bool invert = "
                        "False, Tensor out = None)\n")
    for v in (elements, test_elements):
        dt = v._dtype if _isinstance(v, Tensor) else D.complex128 if _isinstance(v, complex) else D.float64
        if dt.is_complex:   # (a Python complex is read as a complex128 tensor)
            raise RuntimeError(f"Unsupported input type encountered for isin(): {dt._short}")
    if _isinstance(test_elements, Tensor):   # (a number to test against: an eq kernel)
        no_unsigned_kernel("isin_default_cpu", binary_dtype(elements, test_elements))
    like = elements if _isinstance(elements, Tensor) else test_elements
    xp = _xp(like)
    a = elements._data if _isinstance(elements, Tensor) else xp.asarray(elements)
    b = test_elements._data if _isinstance(test_elements, Tensor) else xp.asarray([test_elements])
    res = from_array(xp.asarray(xp.isin(a, b, assume_unique=assume_unique, invert=invert)), D.bool, like._device)
    return res if out is None else write_out(out, res, "isin")


def unravel_index(indices: Tensor, shape: Any) -> tuple[Tensor, ...]:
    """The coordinates in a tensor of ``shape`` of flat ``indices`` (one int64 tensor per dim)."""
    if not _isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices).__name__}")
    if indices._dtype.category != 1:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    dims = (shape,) if _isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in dims):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(dims)))
    xp = _xp(indices)
    idx = indices._data.astype(np.int64)
    out = []
    for s in reversed(dims):
        out.append(xp.mod(idx, s) if s else xp.zeros_like(idx))
        idx = xp.floor_divide(idx, s) if s else idx
    return tuple(from_array(xp.asarray(a), D.int64, indices._device) for a in reversed(out))


def _vector(t: Tensor, what: str = "Expect a 1D vector, but got shape") -> None:
    if t.dim() != 1:
        raise RuntimeError(f"{what} {list(t.shape)}")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All tuples of one element from each 1-d tensor, as rows (``itertools.product`` order)."""
    for t in tensors:
        _vector(t)
    if len(tensors) == 1:
        return tensors[0]
    grids = S.meshgrid(*tensors, indexing="ij")
    return S.stack([g.flatten() for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-d tensor's elements, as rows (``itertools`` order)."""
    _vector(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return C.empty(0, dtype=input.dtype, device=input.device)
    import itertools
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    xp = _xp(input)
    return S.stack([input[from_array(xp.asarray(idx[:, k]), D.int64, input._device)] for k in range(r)], 1)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-d tensor: columns ``x**(N-1) … x**0`` (or increasing powers)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = D.int64 if x._dtype.category < 2 else x._dtype
    if n == 0:
        return C.empty(x.shape[0], 0, dtype=dt, device=x.device)
    ones = C.ones(x.shape[0], 1, dtype=dt, device=x.device)
    res = ones if n == 1 else S.cat([ones, R.cumprod(x[:, None].expand(-1, n - 1).to(dt), 1)], 1)
    return res if increasing else S.flip(res, (1,))


def _no_bool(name: str, y: Tensor, x: Any) -> None:
    """torch's refusal of bool samples (or sample points)."""
    given = _isinstance(x, Tensor)
    if y._dtype is D.bool or given and x._dtype is D.bool:
        raise RuntimeError(f"{name}: received a bool input for {'`x` or `y`' if given else '`y`'}, but bool is not "
                           "supported")


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``, with sample points ``x`` or a constant spacing ``dx``."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments - got (Tensor, x=Tensor, "
                        f"dx={type(dx).__name__}), but expected one of:\n * (Tensor y, Tensor x, *, int dim = -1)\n"
                        " * (Tensor y, *, Number dx = 1, int dim = -1)\n")
    given = _isinstance(x, Tensor)
    if not y.dim():   # (with x, dim is first wrapped as for one dim)
        raise IndexError(f"Dimension specified as {wrap_dim(dim, 0) if given else dim} but tensor has no dimensions")
    d = wrap_dim(dim, y.dim())
    n = y.shape[d]
    if n == 0:   # torch's early exit: zeros of y's dtype, no graph, no further checks
        return C.zeros(y.shape[:d] + y.shape[d + 1:], dtype=y.dtype, device=y.device)
    _no_bool("trapezoid", y, x)
    if not given:
        spacing = 1 if x is None and dx is None else (x if dx is None else dx)
        ends = y.select(d, 0) + y.select(d, -1)
        return E.mul_scalar(R.sum(y, d) - E.mul_scalar(ends, 0.5), spacing)
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        shape = [1] * y.dim()
        shape[d] = n - 1 if n else 0
        spacing = R.diff(x).view(shape)
    else:
        spacing = R.diff(x, dim=d)
    mids = y.narrow(d, 0, n - 1) + y.narrow(d, 1, n - 1)   # left + right, as torch (complex NaNs)
    return E.div_scalar(R.sum(mids * spacing, d), 2.0)


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """Alias of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element shorter than ``y`` there)."""
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid() received an invalid combination of arguments")
    given = _isinstance(x, Tensor)
    d = wrap_dim(dim, y.dim()) if given else dim   # torch checks dim first with x, the dtype first without
    _no_bool("cumulative_trapezoid", y, x)
    if not y.dim():
        if given:
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, y.dim())
    n = y.shape[d]
    m = builtins.max(n - 1, 0)
    mids = y.narrow(d, 0, m) + y.narrow(d, 1, m) if n else y.narrow(d, 0, 0)   # left + right (complex NaNs)
    if _isinstance(x, Tensor):
        if x.dim() == 1:
            if x.shape[0] != n:
                raise RuntimeError("cumulative_trapezoid: There must be one `x` value for each sample point")
            shape = [1] * y.dim()
            shape[d] = m
            spacing = R.diff(x).view(shape)
        else:
            spacing = R.diff(x, dim=d)
        return E.div_scalar(R.cumsum(mids * spacing, d), 2.0)
    spacing = 1 if x is None and dx is None else (x if dx is None else dx)
    return R.cumsum(mids * (spacing / 2.0), d)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in columns)."""
    if _isinstance(correction, bool) or not _isinstance(correction, (int, np.integer, Tensor)) or \
            _isinstance(correction, Tensor) and (correction._dtype.category != 1 or correction._data.ndim):
        raise TypeError(f"cov(): argument 'correction' must be int, not {type_name(correction)}")
    if input.dim() > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    if input._dtype is D.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.view(1, -1) if input.dim() < 2 else input
    n_obs = x.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        if wt.dim() > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                               f"{wt.dim()} dimensions")
        if name == "fweights" and wt._dtype.category != 1:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{wt._dtype._short} dtype")
        if name == "aweights" and not wt._dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{wt._dtype._short} dtype")
        if wt.numel() != n_obs:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                               f"input but got {wt.numel()} != {n_obs}")
        if bool((wt < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = wt if w is None else w * wt
    if x._dtype.category < 2:
        x = x.to(D.get_default_dtype())
    if w is None:
        w_sum = n_obs
        avg = x.sum(1) / C.tensor(n_obs, dtype=x.dtype, device=x.device)   # torch divides by a tensor
        norm = float(w_sum - correction)
    else:
        w_sum = w.sum()
        if not bool(w_sum):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        avg = (x * w).sum(1) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
    if float(norm) <= 0:
        warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
             "of observations.", stacklevel=2)
        norm = 0.0 if not _isinstance(norm, Tensor) else norm.clamp(min=0)
    xm = x - avg[:, None]
    from .matmul import mm
    c = mm(xm, (xm if w is None else xm * w).t().conj())
    return (c / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in ``input``'s rows, clipped to [-1, 1]."""
    if input.dim() > 2:
        raise RuntimeError("corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal()
    std = E.sqrt(d.real if d.is_complex() else d)
    c = c / std.view(-1, 1)
    c = c / std.view(1, -1)
    if c.is_complex():
        from .elementwise import complex as make_complex
        return make_complex(c.real.clamp(-1, 1), c.imag.clamp(-1, 1))
    return c.clamp(-1, 1)


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """Reduce rows of ``source`` into ``input``'s slices ``index`` along ``dim`` (prod, mean, amax, amin)."""
    res = _index_reduce("index_reduce", input, dim, index, source, reduce, include_self)
    return write_out(out, res, "index_reduce", out_dtype_error) if out is not None else res


def _index_reduce(fn: str, input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str,
                  include_self: bool) -> Tensor:
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"{fn}(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if index._dtype not in (D.int32, D.int64):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {index._dtype._short}")
    if index.dim() > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.dim()} with type: "
                         f"{index._dtype._short} and size: {list(index.shape)}")
    d = wrap_dim(dim, builtins.max(input.dim(), 1))
    if input._dtype is not source._dtype:
        raise RuntimeError(f"index_reduce_(): self ({input._dtype._short}) and source ({source._dtype._short}) "
                           "must have the same scalar type")
    n = index.numel()
    if not source.dim() and n != 1:   # torch's message reads source.size(dim)
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    sd = source.shape[d] if source.dim() else 1
    if n != sd:
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to source.size(dim): ({sd}), "
                           f"for dim: {d}")
    if source.dim() not in (0, input.dim()) or source.dim() and any(
            a != b for i, (a, b) in enumerate(zip(input.shape, source.shape, strict=True)) if i != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    V.warn_once("index_reduce() is in beta and the API may change at any time.", stacklevel=4)   # (its kernel's)
    dt = input._dtype
    unsigned = dt.few and not dt.kind   # uint16/32/64
    if (dt is D.bool or dt.is_complex or unsigned) and (not include_self or input.dim() <= 1):
        kernel = "index_func_" if include_self else "index_reduce_func_exclude_input_init"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dt._short}'")
    if unsigned and reduce != "prod" and n and input.numel():   # (2+ dims: torch's slice-wise kernel)
        no_unsigned_kernel({"mean": "add_stub", "amax": "maximum_cpu", "amin": "minimum_cpu"}[reduce], dt)
    size = input.shape[d] if input.dim() else 1
    flat = index._data.reshape(-1)
    if not include_self:   # its fill of the indexed slices checks first (negative indices wrap there)
        I._check_range(flat, size, f"index {{}} is out of bounds for dimension {d} with size {{}}", negative_ok=True)
    if not size and n:
        raise IndexError(f"select(): index {int(flat[0])} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {d}")
    I._check_range(flat, size, "index out of range in self")
    if input._dtype.is_complex and reduce in ("amax", "amin") and n:   # (2+ dims: torch's slice-wise kernel)
        kernel = "maximum_cpu" if reduce == "amax" else "minimum_cpu"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input._dtype._short}'")
    shape = [1] * source.dim()
    if shape:
        shape[d] = -1
    idx = index.to(D.int64).view(shape).expand_as(source) if shape else index.to(D.int64).view(())

    def fn_(x: Tensor, src: Tensor) -> Tensor:
        return I.reduce_scattered(x, d, idx, src, reduce, include_self)
    return composed("IndexReduceBackward0", fn_, input, source)


def index_reduce_(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place :func:`index_reduce`."""
    check_inplace(input)
    if STATE.enabled and (input._rg or source._rg):
        return inplace(input, _index_reduce("index_reduce_", history_alias(input), dim, index, source, reduce,
                                            include_self))
    input._data[...] = _index_reduce("index_reduce_", input, dim, index, source, reduce, include_self)._data
    input._vc[0] += 1
    return input


def histogramdd(input: Tensor, bins: Any, *, range: Sequence[float] | None = None, weight: Tensor | None = None,
                density: bool = False) -> Any:
    """A D-dimensional histogram of the points in ``input``'s last dim: ``(hist, bin_edges)``."""
    from .reduction import return_type
    if input.dim() < 2 and input.dim() != 1:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions, but got "
                           f"{input.dim()}")
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                           f"but got input {input._dtype._short}")
    xp = _xp(input)
    ndim = input.shape[-1] if input.dim() > 1 else 1
    pts = input._data.reshape(-1, ndim)
    if _isinstance(bins, int):
        bins_arg: Any = [bins] * ndim
    elif _isinstance(bins, (list, tuple)) and bins and all(_isinstance(b, Tensor) for b in bins):
        if len(bins) != ndim:
            raise RuntimeError(f"torch.histogramdd: expected {ndim} sequences of bin edges for a {ndim}-dimensional "
                               f"histogram but got {len(bins)}")
        bins_arg = [b._data for b in bins]
    elif _isinstance(bins, (list, tuple)) and all(_isinstance(b, int) for b in bins):
        if len(bins) != ndim:
            raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
        bins_arg = list(bins)
    else:
        got = ", ".join(type(a).__name__ for a in (input, bins))
        raise TypeError(f"histogramdd() received an invalid combination of arguments - got ({got}), but expected one "
                        "of:\n * (Tensor input, int bins, tuple of floats range = None, Tensor weight = None, bool "
                        "density = False)\n * (Tensor input, tuple of ints bins, tuple of floats range = None, Tensor "
                        "weight = None, bool density = False)\n * (Tensor input, tuple of Tensors bins, tuple of "
                        "floats range = None, Tensor weight = None, bool density = False)\n")
    rng = None if range is None else [(range[2 * i], range[2 * i + 1]) for i in builtins.range(ndim)]
    if rng is None and pts.shape[0] == 0:
        rng = [(0.0, 1.0)] * ndim
    w = None if weight is None else weight._data.reshape(-1)
    hist, edges = xp.histogramdd(pts, bins_arg, range=rng, weights=w, density=density)
    dt = input._dtype
    result = return_type("histogramdd", ("hist", "bin_edges"))
    return result(from_array(xp.asarray(hist, dt.np), dt, input._device),
                  tuple(from_array(xp.asarray(e, dt.np), dt, input._device) for e in edges))


def _igamma_ops() -> tuple[Callable, Callable]:
    from .special import special_gammainc, special_gammaincc
    return special_gammainc, special_gammaincc


def igamma(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularised lower incomplete gamma function (``special.gammainc``)."""
    return _igamma_ops()[0](input, other, out=out)


def igammac(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularised upper incomplete gamma function (``special.gammaincc``)."""
    return _igamma_ops()[1](input, other, out=out)


def igamma_(input: Tensor, other: Tensor) -> Tensor:
    """In-place :func:`igamma`."""
    return _igamma_ops()[0]._inplace(input, other)


def igammac_(input: Tensor, other: Tensor) -> Tensor:
    """In-place :func:`igammac`."""
    return _igamma_ops()[1]._inplace(input, other)


# ---- creation ------------------------------------------------------------------------------------------
def scalar_tensor(s: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding ``s`` (default dtype: the default float dtype, whatever ``s`` is)."""
    dt = dtype or D.get_default_dtype()
    if _isinstance(s, complex) and s.imag and not dt.is_complex and dt is not D.bool:
        c_name = _C_TYPES.get(dt.name, "double")
        raise RuntimeError(f"value cannot be converted to type {c_name} without overflow")
    return C.full((), s, dtype=dt, device=device, requires_grad=requires_grad)


_C_TYPES = {"float32": "float", "float64": "double", "int64": "int64_t", "int32": "int", "int16": "int16_t",
            "int8": "int8_t", "uint8": "uint8_t"}


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor with the given ``size`` and element ``stride``."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    extent = 1 + builtins.sum((n - 1) * s for n, s in zip(size, stride, strict=True)) if all(size) else 0
    buf = C.empty(extent, dtype=dtype, device=device)
    out = V.as_strided(buf, size, stride)
    t = from_array(out._data, out._dtype, out._device)   # owns the buffer: no view history
    t._base = None
    if requires_grad:
        t.requires_grad_()
    return t


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False
               ) -> Tensor:
    """A 1-d CPU tensor sharing the memory of an object implementing the buffer protocol."""
    mv = memoryview(buffer)
    nbytes = mv.nbytes
    dt = dtype
    isz = dt.itemsize
    if nbytes <= 0:
        raise ValueError(f"both buffer length ({nbytes}) and count ({count}) must not be 0")
    if not 0 <= offset < nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({nbytes} bytes) minus 1")
    if count <= 0 and (nbytes - offset) % isz:
        raise ValueError(f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be a "
                         f"multiple of element size ({isz})")
    if count == 0:
        raise ValueError(f"both buffer length ({nbytes}) and count ({count}) must not be 0")
    n = (nbytes - offset) // isz if count < 0 else count
    if offset + n * isz > nbytes:
        raise ValueError(f"requested buffer length ({n} * {isz} bytes) after offset ({offset} bytes) must not "
                         f"be greater than actual buffer length ({nbytes} bytes)")
    if mv.readonly:
        warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. "
             "This means you can write to the underlying (supposedly non-writable) buffer using the "
             "tensor. You may want to copy the buffer to protect its data or make it writable before "
             "converting it to a tensor. This type of warning will be suppressed for the rest of this "
             "program.", UserWarning, stacklevel=2)
    arr = np.frombuffer(buffer, dtype=dt.np, count=n, offset=offset)
    t = from_array(arr, dt, CPU)
    if requires_grad:
        t.requires_grad_()
    return t


# ---- scatter into strided views --------------------------------------------------------------------------
def as_strided_scatter(input: Tensor, src: Tensor, size: Sequence[int], stride: Sequence[int],
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` written into its ``as_strided(size, stride, storage_offset)`` view."""
    def fn(x: Tensor, s: Tensor) -> Tensor:
        out = _clone_preserving_strides(x)
        V.as_strided(out, size, stride, storage_offset).copy_(s)
        return out
    return composed("AsStridedScatterBackward0", fn, input, src)


def _clone_preserving_strides(x: Tensor) -> Tensor:
    """A copy of ``x``'s whole storage seen with ``x``'s sizes, strides and offset, as torch's as_strided_scatter
    writes into (a plain clone of an expanded ``x``)."""
    n = x.untyped_storage().nbytes() // x.element_size()
    if x.is_contiguous() and not x.storage_offset() and n == x.numel() or \
            any(k > 1 and s == 0 for k, s in zip(x.shape, x.stride(), strict=True)):
        return x.clone()
    return V.as_strided(V.as_strided(x, (n,), (1,), 0).clone(), x.shape, x.stride(), x.storage_offset())


class SliceInverseBackward0(Node):
    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (_slice(g, self.dim, self.start, self.end, self.step), None)


def slice_inverse(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """The tensor of ``src``'s geometry over ``input``'s memory (``input`` being ``src``'s slice)."""
    from ..autograd.grad_mode import no_grad
    with no_grad():
        arr = V.as_strided(input, src.shape, src.stride(), src.storage_offset())._data
    t = V.make_view(input, arr)
    if needs_grad(input, src):
        node = record(t, SliceInverseBackward0(), (input, src))
        node.__dict__.update(dim=wrap_dim(dim, src.dim()), start=start, end=end, step=step)
    return t


def new_empty_strided(self: Tensor, size: Sequence[int], stride: Sequence[int], *, dtype: Any = None,
                      layout: Any = None, device: Any = None, requires_grad: bool = False,
                      pin_memory: bool = False) -> Tensor:
    """An uninitialised strided tensor with ``self``'s dtype and device by default."""
    return empty_strided(size, stride, dtype=dtype or self._dtype, device=device or self._device,
                         requires_grad=requires_grad)


def _elementwise_py(name: str, self: Tensor, fn: Callable[..., Any], *others: Tensor) -> Tensor:
    """Apply a Python function elementwise in place (CPU only, no tensor requiring grad, as torch; it writes the
    data directly: the version counter stays)."""
    if self._rg or any(o._rg for o in others):
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    if self._device is not CPU:
        raise TypeError(f"{name} is only implemented on CPU tensors")
    check_inplace(self)
    from ._dispatch import broadcast_shapes
    arrs = [np.broadcast_to(o._data, self._data.shape) for o in others]
    broadcast_shapes(self._data.shape, *(o._data.shape for o in others))
    flat = [a.reshape(-1) for a in arrs]
    if not self._data.flags.writeable:   # an expanded tensor: element after element, as torch's loop (a shared
        dst = writable_alias(self._data, overlapping=True)   # element sees each earlier write)
        for i, idx in enumerate(np.ndindex(dst.shape)):
            dst[idx] = fn(dst[idx].item(), *(f[i].item() for f in flat))
    else:
        cur = self._data.reshape(-1).tolist()
        vals = [fn(v, *(f[i].item() for f in flat)) for i, v in enumerate(cur)]
        self._data[...] = np.asarray(vals, dtype=self._dtype.np).reshape(self._data.shape)
    return self


def apply_(self: Tensor, callable: Callable[[Any], Any]) -> Tensor:
    """``callable(x)`` for every element, in place (slow: a Python call per element, as in torch)."""
    return _elementwise_py("apply_", self, callable)


def map_(self: Tensor, other: Tensor, callable: Callable[[Any, Any], Any]) -> Tensor:
    """``callable(self_i, other_i)`` for every element (``other`` broadcast to ``self``), in place."""
    return _elementwise_py("map_", self, callable, other)


def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable[[Any, Any, Any], Any]) -> Tensor:
    """``callable(self_i, x_i, y_i)`` for every element, in place."""
    return _elementwise_py("map2_", self, callable, x, y)


_AMBIGUOUS_ORDER = "The tensor does not have unique dim order, or cannot map to exact one of the given memory formats."


def dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple[int, ...]:
    """The dims from outermost to innermost in memory, ordered as torch orders an elementwise result's (a 0 stride
    decides nothing); ``ambiguity_check`` (True, or a list of memory formats) raises torch's errors for a tensor
    whose order is not unique (an expanded dim; equal neighbouring strides or a size-1 dim; or contiguous in more
    than one of the formats)."""
    if not _isinstance(ambiguity_check, (bool, list)):
        raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    shape, st = self.shape, self.stride()
    if ambiguity_check is True:
        if any(s == 0 and n > 1 for n, s in zip(shape, st, strict=True)):
            raise RuntimeError("The tensor does not have unique dim order.")
        if 1 in shape or any(a == b for a, b in zip(st, st[1:], strict=False)):
            raise RuntimeError(_AMBIGUOUS_ORDER)
    elif ambiguity_check and sum(self.is_contiguous(memory_format=f) for f in ambiguity_check) > 1:
        raise RuntimeError(_AMBIGUOUS_ORDER)
    dense = C._iteration_strides(tuple(max(n, 1) for n in shape), tuple(st))
    return tuple(sorted(range(len(st)), key=lambda i: -dense[i]))


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero()`` padded with ``fill_value`` (or truncated) to exactly ``size`` rows."""
    if size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    nz = input.nonzero()
    k = nz.shape[0]
    if k >= size:
        return nz[:size].clone()
    pad = C.full((size - k, input.dim()), fill_value, dtype=D.int64, device=input.device)
    return S.cat([nz, pad], 0)


def chalf(self: Tensor, memory_format: Any = None) -> Tensor:
    """``self.to(complex32)`` (torch's experimental complex half)."""
    return C.to_dtype(self, D.complex32, memory_format=memory_format)


def _hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    return _F().hardshrink(self, lambd)


def _prelu(self: Tensor, weight: Tensor) -> Tensor:
    return _F().prelu(self, weight)


_COPIES = {
    "view_copy": V.view, "permute_copy": V.permute, "t_copy": V.t, "transpose_copy": V.transpose,
    "expand_copy": V.expand, "squeeze_copy": V.squeeze, "unsqueeze_copy": V.unsqueeze, "select_copy": V.select,
    "slice_copy": _slice, "diagonal_copy": V.diagonal, "as_strided_copy": V.as_strided, "unfold_copy": V.unfold,
    "unbind_copy": V.unbind, "split_copy": V.split, "split_with_sizes_copy": V.split_with_sizes,
    "alias_copy": _alias, "view_as_real_copy": view_as_real, "view_as_complex_copy": view_as_complex,
}


def _sparse_accessor(name: str) -> Callable[[Tensor], Tensor]:
    """``input.<name>()``; a COO tensor refuses its ``_copy`` variant, as torch (no SparseCPU kernel)."""
    def get(input: Tensor) -> Tensor:
        if input.is_sparse:
            from ..sparse._coo import not_implemented
            raise not_implemented(f"{name}_copy")
        return getattr(input, name)()
    get.__name__ = name
    return get


_COPIES.update({f"{n}_copy": _sparse_accessor(n) for n in ("indices", "values", "crow_indices", "col_indices",
                                                            "ccol_indices", "row_indices")})
globals().update({name: _copy_variant(fn, name) for name, fn in _COPIES.items()})

bind({
    "new_empty_strided": new_empty_strided, "apply_": apply_, "map_": map_, "map2_": map2_,
    "dim_order": dim_order, "nonzero_static": nonzero_static, "chalf": chalf, "hardshrink": _hardshrink,
    "prelu": _prelu, "cov": cov, "corrcoef": corrcoef, "dist": dist, "renorm": renorm, "renorm_": renorm_,
    "igamma": igamma, "igamma_": igamma_, "igammac": igammac, "igammac_": igammac_, "index_reduce": index_reduce,
    "index_reduce_": index_reduce_, "as_strided_scatter": as_strided_scatter, "slice_inverse": slice_inverse,
})

__all__ = [
    "clone", "detach", "detach_", "detach_copy", "fill", "fill_", "zero_", "is_signed", "is_conj", "is_neg",
    "is_inference", "split_with_sizes", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes", "as_strided_",
    "addmv_", "resize_as_", "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout",
    "feature_alpha_dropout_", "feature_dropout", "feature_dropout_", "native_dropout", "embedding", "kl_div",
    "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "poisson_nll_loss", "triplet_margin_loss", "constant_pad_nd", "native_layer_norm", "native_batch_norm",
    "view_as_real", "view_as_complex", "dist", "renorm", "isin", "unravel_index", "cartesian_prod",
    "combinations", "vander", "trapezoid", "trapz", "cumulative_trapezoid", "cov", "corrcoef", "index_reduce",
    "histogramdd", "igamma", "igammac", "scalar_tensor", "empty_strided", "frombuffer", "as_strided_scatter",
    "slice_inverse", "nonzero_static", "embedding_bag", *_COPIES,
]


# ---- embedding_bag with aten's outputs --------------------------------------------------------------------------
_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor | None, scale_grad_by_freq: bool = False,
                  mode: int = 0, sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None
                  ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """aten's embedding_bag: ``(output, offset2bag, bag_size, max_indices)`` (the bookkeeping as torch's CPU
    kernel reports it: empty/zero for ``sum`` without padding, per-bag counts for ``mean``, argmax rows for
    ``max``)."""
    if offsets is None:
        raise TypeError("embedding_bag(): argument 'offsets' (position 3) must be Tensor, not NoneType")
    out = _F().embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq,
                             mode=_BAG_MODES[mode], sparse=sparse, per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding_idx)
    xp = _xp(indices)
    n_bags = out.shape[0]
    flat = indices._data.reshape(-1)
    if indices.dim() == 2:
        bag = xp.repeat(xp.arange(indices.shape[0]), indices.shape[1])
    else:  # the bag of each index: the last offset at or before its position
        starts = offsets._data[:-1] if include_last_offset else offsets._data
        bag = xp.searchsorted(starts, xp.arange(flat.size), side="right") - 1
    keep = flat != padding_idx if padding_idx is not None else xp.ones(flat.shape, bool)
    zeros = xp.zeros(n_bags, np.int64)

    def t(a: Any) -> Tensor:
        return from_array(xp.asarray(a, np.int64), D.int64, indices._device)
    if mode == 0:   # torch's reduced-precision/float32 sum kernel leaves offset2bag empty unless padding is set
        o2b = bag if padding_idx is not None or weight._dtype is D.float64 else xp.zeros(0, np.int64)
        return out, t(o2b), t(zeros), t(zeros)
    size = xp.bincount(bag[keep], minlength=n_bags)[:n_bags] if flat.size else zeros
    if mode == 1:
        return out, t(bag), t(size), t(size.copy())
    vals = weight._data[flat]                                       # (n, dim): each bag's candidate rows
    hit = (vals == out._data[bag]) & keep[:, None]
    pos = xp.where(hit, xp.arange(flat.size)[:, None], flat.size)
    first = xp.full((n_bags, weight.shape[1]), flat.size, np.int64)
    first_t = I.scatter_reduce(t(first), 0, t(xp.broadcast_to(bag[:, None], pos.shape)), t(pos), "amin")
    fp = first_t._data
    rows = xp.where(fp < flat.size, xp.concatenate([flat, xp.zeros(1, flat.dtype)])[xp.minimum(fp, flat.size)], 0)
    return out, t(bag), t(size), t(rows)


# ---- gradient, constants and small helpers ---------------------------------------------------------------------
def _along(t: Tensor, d: int, start: int, stop: int | None) -> Tensor:
    return t[(slice(None),) * d + (slice(start, stop),)]


def _gradient_dim(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    """The second-order accurate central differences of ``f`` along ``d`` (one-sided at the edges), with a
    uniform spacing ``h`` or the sample coordinates ``h`` (a 1-d tensor)."""
    n = f.shape[d]
    f0, f1, f2 = (_along(f, d, i, i + 1) for i in range(3)) if edge_order == 2 else (
        _along(f, d, 0, 1), _along(f, d, 1, 2), None)
    l2, l1, l0 = (_along(f, d, n - 3, n - 2) if edge_order == 2 else None, _along(f, d, n - 2, n - 1),
                  _along(f, d, n - 1, None))
    prev, mid, nxt = _along(f, d, 0, n - 2), _along(f, d, 1, n - 1), _along(f, d, 2, None)
    if not _isinstance(h, Tensor):   # torch's C++ arithmetic with Scalars (its values and graph)
        interior = E.div_scalar(E.div_scalar(nxt - prev, h), 2)
        if edge_order == 1:
            left, right = E.div_scalar(f1 - f0, h), E.div_scalar(l0 - l1, h)
        else:
            m = E.mul_scalar
            left = E.div_scalar(m(f0, -1.5) + m(f1, 2) - m(f2, 0.5), h)
            right = E.div_scalar(m(l2, 0.5) - m(l1, 2) + m(l0, 1.5), h)
        return S.cat([left, interior, right], d)
    shape = [1] * f.dim()
    shape[d] = n - 1
    dx = R.diff(h).view(shape)
    hs, hd = _along(dx, d, 0, n - 2), _along(dx, d, 1, None)
    interior = (hs * hs * nxt + (hd * hd - hs * hs) * mid - hd * hd * prev) / (hs * hd * (hd + hs))
    a1, a2 = _along(dx, d, 0, 1), _along(dx, d, n - 2, None)
    if edge_order == 1:
        left, right = (f1 - f0) / a1, (l0 - l1) / a2
    else:
        b1, b2 = _along(dx, d, 1, 2), _along(dx, d, n - 3, n - 2)
        left = (-(2 * a1 + b1) / (a1 * (a1 + b1)) * f0 + (a1 + b1) / (a1 * b1) * f1
                - a1 / (b1 * (a1 + b1)) * f2)
        right = (a2 / (b2 * (b2 + a2)) * l2 - (a2 + b2) / (b2 * a2) * l1
                 + (2 * a2 + b2) / (a2 * (b2 + a2)) * l0)
    return S.cat([left, interior, right], d)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple[Tensor, ...]:
    """Estimate the derivative of a sampled function along each of ``dim`` (numpy.gradient's scheme)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(range(input.dim())) if dim is None else [dim] if _isinstance(dim, int) else list(dim)
    dims = [wrap_dim(d, input.dim()) for d in dims]
    if _isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            where = ("since dim argument was not given" if dim is None else
                     f"since dim argument was given as {dim}")
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                               f"equal to 'self.dim() = {input.dim()}', {where}, but got a list of length "
                               f"{len(spacing)}")
        steps = list(spacing)
    else:
        steps = [spacing] * len(dims)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    f = input if input._dtype.is_floating_point or input._dtype.is_complex else input.to(D.get_default_dtype())
    return tuple(_gradient_dim(f, d, h.item() if _isinstance(h, Tensor) and h.dim() == 0 else h, edge_order)
                 for d, h in zip(dims, steps, strict=True))


def empty_permuted(size: Sequence[int], physical_layout: Sequence[int], *, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose dims lie in memory in the order ``physical_layout``."""
    size, order = tuple(size), tuple(physical_layout)
    if sorted(order) != list(range(len(size))):
        raise RuntimeError(f"Dimension out of range (expected to be in range of [{-len(size)}, {len(size) - 1}], "
                           f"but got {builtins.max(order, default=0)})")
    phys = C.empty(tuple(size[i] for i in order), dtype=dtype, device=device)
    out = V.permute(phys, [order.index(i) for i in range(len(size))])
    t = from_array(out._data, out._dtype, out._device)
    if requires_grad:
        t.requires_grad_()
    return t


def get_device(input: Tensor) -> int:
    """The CUDA device index of ``input``, -1 on the CPU."""
    return input.get_device()


e, pi, inf, nan, newaxis = math.e, math.pi, math.inf, math.nan, None
__all__ += ["gradient", "empty_permuted", "get_device", "e", "pi", "inf", "nan",
            "newaxis"]


# ---- small Tensor methods torch still carries ------------------------------------------------------------------
def _new(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """The legacy constructor with ``self``'s dtype and device: sizes → uninitialised, data → a copy."""
    return C.legacy_new(Tensor, self._dtype, args, kwargs, self._device)


def _volatile(self: Tensor) -> bool:
    warn("volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2)
    return False


def _as_subclass(self: Tensor, cls: type) -> Tensor:
    """``self`` as an instance of the Tensor subclass ``cls``: an alias view of it (``AliasBackward0`` when it
    requires grad), as torch makes it."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                        "Make sure your class inherits from Tensor.")
    from ..overrides import _alias_as
    return _alias_as(self, cls)


def _module_load(self: Tensor, other: Any, assign: bool = False) -> Any:
    """What ``nn.Module.load_state_dict`` stores for this parameter (``other`` itself, as torch's default)."""
    return other


bind({
    "new": _new, "as_subclass": _as_subclass,
    "module_load": _module_load, "const_data_ptr": Tensor.data_ptr, "is_distributed": lambda self: False,
})
for _name in ("is_xla", "is_mps", "is_nested", "is_mkldnn", "is_vulkan", "is_xpu", "is_ipu", "is_maia", "is_mtia"):
    setattr(Tensor, _name, property(lambda self: False))
Tensor.volatile = property(_volatile)  # type: ignore[attr-defined]


# ---- small aten composites --------------------------------------------------------------------------------------
def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-d convolution of a (time, batch, channel) input with a (kernel, in, out) weight."""
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")

    def fn(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        y = _F().conv1d(x.permute(1, 2, 0), w.permute(2, 1, 0), b, padding=pad)
        return y.permute(2, 0, 1).contiguous()
    return composed("ConvTbcBackward0", fn, input, weight, bias)


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dim but ``dim`` (kept as size 1); ``dim=-1``: the whole norm."""
    if dim == -1:
        return R.vector_norm(v, pow)
    d = wrap_dim(dim, v.dim())
    # a trailing size-1 dim keeps the reduced dims non-empty (a 1-d ``v``: elementwise, not the whole norm)
    dims = [i for i in builtins.range(v.dim() + 1) if i != d]
    return R.vector_norm(v.unsqueeze(-1), pow, dims, keepdim=True).squeeze(-1)


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int, C_: int, HxW: int,
                      group: int, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, mean, rstd)`` of group normalisation; the statistics have shape ``(N, group)``."""
    out = _F().group_norm(input, group, weight, bias, eps)
    xp = _xp(input)
    dt = D.float32 if input._dtype.itemsize < 4 else input._dtype
    a = input._data.astype(dt.np).reshape(N, group, -1)
    mean, var = a.mean(-1), a.var(-1)
    return (out, from_array(xp.asarray(mean, dt.np), dt, input._device),
            from_array(xp.asarray(1 / xp.sqrt(var + eps), dt.np), dt, input._device))


__all__ += ["conv_tbc", "norm_except_dim", "native_group_norm"]


# ---- aten spellings of grid sampling, control flow, segment reductions, DLPack/file interop ---------------------
_INTERP = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def affine_grid_generator(theta: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """aten's affine_grid (``align_corners`` required)."""
    return _F().affine_grid(theta, list(size), align_corners=align_corners)


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
                 ) -> Tensor:
    """aten's grid_sample: modes as ints (0 bilinear, 1 nearest, 2 bicubic; 0 zeros, 1 border, 2 reflection)."""
    return _F().grid_sample(input, grid, _INTERP[interpolation_mode], _PADDING[padding_mode], align_corners)


grid_sampler_2d = grid_sampler_3d = grid_sampler


def cond(pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any], operands: Any = ()) -> Any:
    """Run ``true_fn(*operands)`` or ``false_fn(*operands)`` by ``pred`` (a bool or one-element tensor)."""
    if not _isinstance(operands, (tuple, list)):
        raise RuntimeError(f"Expect operands to be a tuple of possibly nested dict/list/tuple that only consists of "
                           f"tensor leaves, but got {operands}.")
    return true_fn(*operands) if bool(pred) else false_fn(*operands)


def while_loop(cond_fn: Callable[..., Any], body_fn: Callable[..., Any], carried_inputs: Any) -> tuple:
    """Apply ``body_fn`` to the carried values while ``cond_fn`` of them holds; return the final values."""
    if not _isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list, got {type(carried_inputs)}")
    carried = tuple(carried_inputs)
    while bool(cond_fn(*carried)):
        out = body_fn(*carried)
        carried = tuple(out) if _isinstance(out, (tuple, list)) else (out,)
    return carried


_warn_always = [False]


def set_warn_always(b: bool, /) -> None:
    """Ask warnings that torch shows once per process to show every time (a flag code may read back)."""
    _warn_always[0] = bool(b)


def is_warn_always_enabled() -> bool:
    """Whether :func:`set_warn_always` is on."""
    return _warn_always[0]


_SEGMENT_INIT = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf, "amax": -math.inf,
                 "amin": math.inf}


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None, indices: Tensor | None = None,
                   offsets: Tensor | None = None, axis: int = 0, unsafe: bool = False, initial: Any = None
                   ) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis`` (given by ``lengths`` or ``offsets``) with sum,
    mean, prod, max or min; empty segments give ``initial`` (mean: nan)."""
    if reduce not in _SEGMENT_INIT:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    xp = _xp(data)
    d = wrap_dim(axis, data.dim())
    lens = lengths._data if lengths is not None else xp.diff(offsets._data)
    if d != lens.ndim - 1:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of lengths but got {axis}.")
    if lens.ndim != 1:
        raise NotImplementedError("ember's segment_reduce takes 1-d lengths or offsets")
    if not unsafe and int(lens.sum()) != data.shape[d]:
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    n_seg = lens.shape[0]
    host = lens if isinstance(lens, np.ndarray) else lens.get()   # CuPy's repeat takes counts from the host
    seg = xp.asarray(np.repeat(np.arange(n_seg), host.astype(np.int64)))
    shape = [1] * data.dim()
    shape[d] = -1
    idx = from_array(xp.asarray(seg, np.int64), D.int64, data._device).view(shape).expand_as(data)
    out_shape = list(data.shape)
    out_shape[d] = n_seg
    start = _SEGMENT_INIT[reduce] if initial is None or reduce == "mean" else initial
    count = from_array(xp.asarray(lens.reshape([-1 if i == d else 1 for i in range(data.dim())]),
                                  data._dtype.np), data._dtype, data._device)

    def fn(x: Tensor) -> Tensor:
        init = C.full(out_shape, start, dtype=x.dtype, device=x.device)
        op = {"max": "amax", "min": "amin", "mean": "sum"}.get(reduce, reduce)
        res = I.scatter_reduce(init, d, idx, x, op, include_self=True)
        return res / count if reduce == "mean" else res
    return composed("SegmentReduceBackward0", fn, data)


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory (for other array libraries)."""
    return tensor._data.__dlpack__()


def from_file(filename: str, shared: bool | None = None, size: int = 0, *, dtype: Any = None, layout: Any = None,
              device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``size`` elements read from a binary file; ``shared=True`` maps the file, so writes go back to it."""
    dt = dtype or D.get_default_dtype()
    import os
    nbytes = size * dt.itemsize
    if os.path.getsize(filename) < nbytes:
        raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{filename}>: file is too small")
    arr = np.memmap(filename, dtype=dt.np, mode="r+", shape=(size,)) if shared else \
        np.fromfile(filename, dtype=dt.np, count=size)
    t = from_array(arr, dt, CPU)
    if device is not None and canonical(device) is not CPU:
        t = t.to(device)
    return t.requires_grad_() if requires_grad else t


__all__ += ["affine_grid_generator", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "cond", "while_loop",
            "set_warn_always", "is_warn_always_enabled", "segment_reduce", "to_dlpack", "from_file"]


# ---- remaining aten helpers ------------------------------------------------------------------------------------
def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Rescale (in place, no autograd) the rows of ``input`` named by ``indices`` whose norm exceeds
    ``max_norm``; returns ``input``."""
    from ..nn.functional._layers import _renorm_rows
    _renorm_rows(input, indices, max_norm, norm_type)
    return input


def batch_norm_update_stats(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                            momentum: float) -> tuple[Tensor, Tensor]:
    """The per-channel batch mean and biased variance; the running statistics (if given) move towards the
    batch's mean and unbiased variance by ``momentum``, in place."""
    from ..nn.functional._normalization import _update_running
    xp = _xp(input)
    dt = D.float32 if input._dtype.itemsize < 4 else input._dtype
    a = input._data.astype(dt.np)
    axes = (0,) + tuple(builtins.range(2, input.dim()))
    mean, var = a.mean(axis=axes), a.var(axis=axes)
    count = a.size // builtins.max(a.shape[1], 1)
    if count > 0:
        _update_running(running_mean, running_var, momentum, mean, var, count)
    return (from_array(xp.asarray(mean, dt.np), dt, input._device),
            from_array(xp.asarray(var, dt.np), dt, input._device))


# ---- SyncBatchNorm's building blocks: torch has CUDA kernels only (its CPU backend refuses them) -------------
def _sync_bn_device(op: str, t: Tensor) -> None:
    if t._device is CPU:
        from ..sparse._coo import not_implemented
        raise not_implemented(op, "CPU")


def _channels(x: Tensor, v: Tensor) -> Tensor:
    """A per-channel vector shaped to broadcast against ``x`` (channels in dim 1)."""
    return v.reshape((1, -1) + (1,) * (x.dim() - 2))


def _reduced_dims(x: Tensor) -> list[int]:
    return [0, *builtins.range(2, x.dim())]


def _bn_stats(input: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    x = input.float() if input._dtype.itemsize < 4 else input
    dims = _reduced_dims(x)
    mean = x.mean(dims)
    return mean, (((x - _channels(x, mean)) ** 2).mean(dims) + eps).rsqrt()


def batch_norm_stats(input: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Per-channel mean and ``1 / sqrt(biased var + eps)`` of ``input`` (channels in dim 1)."""
    _sync_bn_device("batch_norm_stats", input)
    return _bn_stats(input, eps)


def _bn_elemt(input: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Tensor, invstd: Tensor) -> Tensor:
    y = (input - _channels(input, mean)) * _channels(input, invstd)
    if weight is not None:
        y = y * _channels(input, weight)
    if bias is not None:
        y = y + _channels(input, bias)
    return y.to(input._dtype)


def batch_norm_elemt(input: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Tensor, invstd: Tensor,
                     eps: float, *, out: Tensor | None = None) -> Tensor:
    """``input`` normalised by the given per-channel ``mean`` and ``invstd``, then scaled and shifted."""
    _sync_bn_device("batch_norm_elemt", input)
    res = _bn_elemt(input, weight, bias, mean, invstd)
    return res if out is None else write_out(out, res, "batch_norm_elemt")


def _bn_gather(mean: Tensor, invstd: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               momentum: float, eps: float, counts: Tensor) -> tuple[Tensor, Tensor]:
    n = counts.to(mean._dtype).reshape(-1, 1)
    total = n.sum()
    mean_all = (mean * n).sum(0) / total
    var_all = (n * ((1 / invstd ** 2 - eps) + (mean - mean_all) ** 2)).sum(0) / total
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(momentum * mean_all.to(running_mean._dtype))
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(momentum * (var_all * total / (total - 1)).to(running_var._dtype))
    return mean_all, (var_all + eps).rsqrt()


def batch_norm_gather_stats_with_counts(input: Tensor, mean: Tensor, invstd: Tensor, running_mean: Tensor | None,
                                        running_var: Tensor | None, momentum: float, eps: float, counts: Tensor
                                        ) -> tuple[Tensor, Tensor]:
    """The global mean and invstd from per-process ``mean``/``invstd`` rows weighted by ``counts``; the running
    statistics (if given) move towards them by ``momentum`` (the variance unbiased), in place."""
    _sync_bn_device("batch_norm_gather_stats_with_counts", input)
    return _bn_gather(mean, invstd, running_mean, running_var, momentum, eps, counts)


def batch_norm_gather_stats(input: Tensor, mean: Tensor, invstd: Tensor, running_mean: Tensor | None,
                            running_var: Tensor | None, momentum: float, eps: float, count: int
                            ) -> tuple[Tensor, Tensor]:
    """:func:`batch_norm_gather_stats_with_counts` with the same ``count`` for every row."""
    _sync_bn_device("batch_norm_gather_stats", input)
    return _bn_gather(mean, invstd, running_mean, running_var, momentum, eps,
                      C.full((mean.shape[0],), count, dtype=mean._dtype, device=mean._device))


def _bn_backward_reduce(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor, weight: Tensor | None,
                        input_g: bool, weight_g: bool, bias_g: bool) -> tuple[Any, Any, Any, Any]:
    dims = _reduced_dims(input)
    sum_dy = grad_out.sum(dims, dtype=mean._dtype)
    sum_dy_xmu = (grad_out * (input - _channels(input, mean))).sum(dims, dtype=mean._dtype)
    grad_weight = (sum_dy_xmu * invstd).to(weight._dtype) if weight_g and weight is not None else None
    grad_bias = sum_dy.to(weight._dtype) if bias_g and weight is not None else None
    return (sum_dy if input_g else None, sum_dy_xmu if input_g else None, grad_weight, grad_bias)


def batch_norm_backward_reduce(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor,
                               weight: Tensor | None, input_g: bool, weight_g: bool, bias_g: bool
                               ) -> tuple[Any, Any, Any, Any]:
    """The per-channel sums batch norm's backward needs: ``sum(dy)``, ``sum(dy * (x - mean))`` (for
    ``input_g``), and the weight's and bias's gradients (for ``weight_g`` / ``bias_g``)."""
    _sync_bn_device("batch_norm_backward_reduce", grad_out)
    return _bn_backward_reduce(grad_out, input, mean, invstd, weight, input_g, weight_g, bias_g)


def _bn_backward_elemt(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor, weight: Tensor | None,
                       sum_dy: Tensor, sum_dy_xmu: Tensor, count: Tensor) -> Tensor:
    n = count.sum().to(mean._dtype)
    scale = invstd if weight is None else invstd * weight
    g = (grad_out - _channels(input, sum_dy / n)
         - (input - _channels(input, mean)) * _channels(input, invstd ** 2 * sum_dy_xmu / n))
    return (g * _channels(input, scale)).to(input._dtype)


def batch_norm_backward_elemt(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor,
                              weight: Tensor | None, sum_dy: Tensor, sum_dy_xmu: Tensor, count: Tensor) -> Tensor:
    """Batch norm's input gradient from the globally reduced sums (``count``: the elements per process)."""
    _sync_bn_device("batch_norm_backward_elemt", grad_out)
    return _bn_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count)


__all__ += ["batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts",
            "batch_norm_backward_reduce", "batch_norm_backward_elemt"]


def is_distributed(input: Tensor) -> bool:
    return False


def is_vulkan_available() -> bool:
    return False


def init_num_threads() -> None:
    """Nothing to initialise: NumPy's BLAS manages its own threads."""


__all__ += ["embedding_renorm_", "batch_norm_update_stats", "is_distributed", "is_vulkan_available",
            "init_num_threads"]


def get_device_module(device: Any = None) -> Any:
    """The device module (``ember.cuda`` or ``ember.cpu``) for ``device`` (default: the current accelerator
    if there is one, else the CPU)."""
    import importlib
    if device is None:
        from .._core.device import cuda_available
        kind = "cuda" if cuda_available() else "cpu"
    else:
        from .._core.device import device as as_device
        kind = device.type if hasattr(device, "type") else as_device(device).type
    return importlib.import_module(f"ember.{kind}")


__all__ += ["get_device_module"]



class layout:
    """A tensor memory layout (``torch.layout``); ember tensors are all ``strided`` (dense)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> tuple:
        return _layout_named, (self._name,)


def _layout_named(name: str) -> layout:
    """The layout object called ``name`` (pickles refer to layouts by name)."""
    return _LAYOUTS[name]


layout.__module__ = "torch"
strided = layout("strided")
_LAYOUTS = {"strided": strided}
Tensor.layout = property(lambda self: strided)  # type: ignore[attr-defined,assignment]
__all__ += ["layout", "strided"]


# ---- hash_tensor ------------------------------------------------------------------------------------------------
def hash_tensor(input: Tensor, dim: Any = None, *, keepdim: bool = False, mode: int = 0) -> Tensor:
    """An xor-reduction hash over ``dim`` (all by default) as uint64: each element is widened to its 64-bit
    float or integer type and its bits are xor-ed, so equal tensors hash equal and one flipped bit shows."""
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    dt = input._dtype
    if dt.is_complex or dt is D.uint64:
        raise R.not_implemented("xor_sum_cpu", dt)
    a = input._data
    dims = R.reduce_dims(dim, a.ndim)
    R.empty_check("hash_tensor", a, None if dim is None else dims)
    wide = a.astype(np.float64 if dt.is_floating_point else np.int64)
    bits = wide.view(np.uint64)
    hashed = _xor_fold(_xp(input), bits, dims, keepdim) if dims else bits.copy()
    return from_array(hashed, D.uint64, input._device)


def _xor_fold(xp: Any, bits: Any, dims: tuple[int, ...], keepdim: bool) -> Any:
    """XOR of ``bits`` over ``dims`` by halving the reduced length (CuPy's ``bitwise_xor`` has no ``reduce``;
    xor is associative and commutative, so the result is NumPy's reduction bit for bit)."""
    kept = [s for d, s in enumerate(bits.shape) if d not in dims]
    x = xp.moveaxis(bits, dims, tuple(range(bits.ndim - len(dims), bits.ndim)))
    x = x.reshape(*kept, math.prod(bits.shape[d] for d in dims))
    while x.shape[-1] > 1:
        n, half = x.shape[-1], x.shape[-1] // 2
        folded = x[..., :half] ^ x[..., half:2 * half]
        if n % 2:
            folded[..., :1] ^= x[..., n - 1:]
        x = folded
    out = x[..., 0] if x.shape[-1] else xp.zeros(kept, bits.dtype)
    return out.reshape([1 if d in dims else s for d, s in enumerate(bits.shape)]) if keepdim else out


bind({"hash_tensor": hash_tensor})
__all__ += ["hash_tensor"]
