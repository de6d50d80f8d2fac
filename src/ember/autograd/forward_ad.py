"""Forward-mode automatic differentiation: dual tensors that carry a tangent through every op, as
``torch.autograd.forward_ad``.

A dual tensor is a primal tensor plus a tangent (``_fwt``). So that ops notice it without a check of their
own, it gets a hidden ``_rg`` flag marked ``_fw_only`` (public ``requires_grad``/``grad_fn`` stay False/None,
as in torch); while a level is active the op machinery's ``record`` takes :func:`record_dual` instead of its
fast path. An output's tangent comes from the op's node: a direct rule where one is registered (products and
convolutions: the product rule with the forward op; nodes over a composition of ember ops: the composition
run on dual inputs), else from the backward, which is linear in its grad_output: ``J·t = d/du <node.backward(u),
t>`` (a backward of the backward; elementwise ops need only one backward call per input, their Jacobian being
diagonal). Ops finish setting up their node (saved tensors) after ``record``, so that tangent is computed when
first read — by the next op, ``unpack_dual``, or before any in-place write (:func:`flush`), so it sees the
values the op saw (input tangents are copied for it). The tangent of a view is a view of its input's tangent,
and an in-place op writes into the existing tangent, as in torch. Ops torch has no forward formula for raise
its NotImplementedError.

Grad mode does not stop forward AD (as in torch): while a level is active ``STATE.enabled`` stays on, op sites
call ``record``, and ``record`` links a backward node only under grad mode; inference mode turns forward AD off.
Before any in-place write (op sites check in once a level has been entered) the pending tangents are computed,
so a tangent never sees a later value of a tensor the op saved.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Sequence
from typing import Any, NamedTuple

from .._core.device import xp_of
from .._core.memory_format import layout_strides
from .._tensor import _INFERENCE, Tensor, from_array, zeros_of
from .grad_mode import DUAL, STATE, switch

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

ACTIVE = DUAL   # a dual level is active (and not suspended while a tangent is computed): read by ``record``
_LEVEL = [-1]
_TOKEN: list[object] = [None]   # one per level entered: marks the tangents nodes keep for their saved outputs
_DUALS: dict[int, weakref.ref] = {}   # tensors given a tangent or a hidden flag in this level (by id)
_PENDING: list[weakref.ref] = []   # tangents still to compute (flushed before in-place writes)
_isinstance = isinstance


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the primal (a view of the dual tensor) and its tangent (or None)."""

    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Start the (single) forward-AD level; returns its index."""
    if _LEVEL[0] >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _LEVEL[0] = 0
    _TOKEN[0] = object()
    switch(STATE.grad, True)
    _INFERENCE[0] = True   # in-place ops on plain tensors then check in (and flush pending tangents)
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """End the level: every tangent made in it is dropped and dual tensors become plain tensors again."""
    if level is None:
        level = _LEVEL[0]
    if level != _LEVEL[0]:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    switch(STATE.grad, False)
    _LEVEL[0] = level - 1
    _PENDING.clear()
    for r in list(_DUALS.values()):
        t = r()
        if t is None:
            continue
        d = t.__dict__
        d.pop("_fwt", None)
        d.pop("_fwa", None)
        d.pop("_fwp", None)
        if d.pop("_fw_only", False):
            t._rg = False
    _DUALS.clear()


class dual_level(contextlib.ContextDecorator):
    """Context manager (and decorator) entering a forward-AD level for its body."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()


def _check_level(level: int, op: str) -> None:
    if level != _LEVEL[0]:
        raise RuntimeError(f"Invalid level given to {op}")


def _track(t: Tensor) -> None:
    """Remember ``t`` so that leaving the level clears its forward-AD fields."""
    key = id(t)
    if key in _DUALS:
        r = _DUALS[key]
        if r() is t:
            return

    def drop(ref: weakref.ref, key: int = key) -> None:
        if _DUALS.get(key) is ref:
            del _DUALS[key]
    _DUALS[key] = weakref.ref(t, drop)


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A new tensor aliasing ``tensor`` (a view of it) that carries ``tangent`` (as is when its layout matches
    ``tensor``'s, else a copy in that layout)."""
    if level is None:
        level = _LEVEL[0]
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    _check_level(level, "_make_dual")
    if tangent_of(tensor) is not None:
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {level} is not supported.")
    if tangent._data.shape != tensor._data.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor._data.shape)} while the "
                           f"given forward gradient is of size {list(tangent._data.shape)}.")
    if tangent._device is not tensor._device:
        raise RuntimeError("Trying to set a forward gradient that has a different device than that of the original "
                           f"Tensor, this is not supported. Tensor is on {tensor._device} while the given forward "
                           f"gradient is on {tangent._device}.")
    if STATE.inference:   # inference mode: no forward AD (torch's result carries no tangent)
        return _alias(tensor)
    real = tensor._rg and not tensor._fw_only
    if real and STATE.grad:
        prev = switch(True, False)
        try:
            dual = tensor.view_as(tensor)   # differentiable (torch's grad_fn here is ViewBackward0)
        finally:
            switch(*prev)
    else:
        dual = _alias(tensor)
        dual._rg = True
        if real:   # a view made under no_grad: requires grad, as a leaf
            dual._no_grad_view = True
        else:
            dual._fw_only = True
    set_tangent(dual, tangent if _same_layout(tangent._data, tensor._data) else in_layout(tangent, tensor._data))
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """The primal (a view of ``tensor`` without tangent) and the tangent of ``tensor`` (None if it has none);
    outside a level, ``tensor`` itself and None."""
    if level is None:
        level = _LEVEL[0]
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    if STATE.inference:   # no forward AD in inference mode
        return UnpackedDualTensor(_alias(tensor), None)
    t = tangent_of(tensor)
    if t is not None:
        _check_level(level, "_fw_primal")
    real = tensor._rg and not tensor._fw_only
    if real and STATE.grad:   # a view through torch's Identity node
        from ..ops.views import make_view
        from .graph import CppFunction
        prev = switch(True, False)
        try:
            primal = make_view(tensor, tensor._data, CppFunction)
        finally:
            switch(*prev)
    else:
        primal = _alias(tensor)
        if real:   # a view made under no_grad
            primal._rg = True
            primal._no_grad_view = True
    return UnpackedDualTensor(primal, t)


# ---- tangents of tensors ---------------------------------------------------------------------------------
def _alias(t: Tensor) -> Tensor:
    """A view of ``t``'s whole memory, outside autograd."""
    a = from_array(t._data, t._dtype, t._device)
    a._base = t._base if t._base is not None else t
    a._vc = t._vc
    return a


def set_tangent(t: Tensor, tangent: Tensor) -> None:
    d = t.__dict__
    d["_fwt"] = tangent
    d["_fwa"] = t._data   # the array the tangent is laid out for (in-place view ops replace it)
    d.pop("_fwp", None)
    _track(t)


def tangent_of(t: Tensor) -> Tensor | None:
    """``t``'s tangent at the active level (computed now if it was pending), or None."""
    d = t.__dict__
    if not d:
        fn = t._grad_fn
        return None if fn is None else _saved_output_tangent(t, fn)
    tan = d.get("_fwt")
    if tan is not None:
        if d["_fwa"] is not t._data:   # an in-place view op (squeeze_, t_, ...) gave t new metadata
            tan = _view_of_tangent(t._data, d["_fwa"], tan)
            if tan is None:
                del d["_fwt"]
                return None
            set_tangent(t, tan)
        return tan
    p = d.get("_fwp")
    if p is None:
        return None
    pending, k = p
    tan = pending.results()[k]
    set_tangent(t, tan)
    d["_fwa"] = pending.outs[k][3]   # laid out for the output as recorded
    return tangent_of(t)


def _saved_output_tangent(t: Tensor, fn: Any) -> Tensor | None:
    """The tangent of an op's output as its node saved it (a fresh tensor over the same array, made when a
    backward unpacks it): what :func:`record_dual` left on the node in this level."""
    kept = fn.__dict__.get("_fw_outs")
    if kept is None or kept[0] is not _TOKEN[0]:
        return None
    entry = kept[1].get(t._output_nr)
    if entry is None or entry[1] is not t._data:
        return None
    value = entry[0]
    tan = value[0].results()[value[1]] if type(value) is tuple else value
    set_tangent(t, tan)
    return tan


def node_of(t: Tensor) -> Any:
    """The node whose pending tangent ``t`` awaits (None when ``t`` has none pending)."""
    p = t.__dict__.get("_fwp")
    return None if p is None else p[0].node


def flush() -> None:
    """Compute every pending tangent now (before an in-place write changes what they depend on)."""
    while _PENDING:
        p = _PENDING.pop()()
        if p is not None:
            p.results()


def _same_layout(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` (same shape) have the same strides in elements (size-1 dims aside)."""
    ia, ib = a.itemsize, b.itemsize
    return all(n == 1 or sa // ia == sb // ib for n, sa, sb in zip(a.shape, a.strides, b.strides, strict=True))


def in_layout(t: Tensor, like: Any) -> Tensor:
    """A copy of ``t`` with the strides of the array ``like`` when they are dense (else contiguous); a
    differentiable one when ``t`` has a history (a tangent that depends on tensors requiring grad)."""
    xp = xp_of(t._device)
    strides = layout_strides(like.shape, tuple(s // like.itemsize for s in like.strides), None)
    history = t._rg and not t._fw_only
    if strides is None:
        arr = xp.empty(t._data.shape, t._data.dtype) if history else xp.ascontiguousarray(t._data)
    else:
        buf = xp.empty(t._data.size, t._data.dtype)
        arr = xp.lib.stride_tricks.as_strided(buf, like.shape, tuple(s * buf.itemsize for s in strides))
        if not history:
            arr[...] = t._data
    out = from_array(arr, t._dtype, t._device)
    if history:
        prev = switch(True, False)
        try:
            out.copy_(t)
        finally:
            switch(*prev)
    return out


def _extent(arr: Any, offset: int) -> tuple[int, int]:
    lo = hi = offset
    for n, s in zip(arr.shape, arr.strides, strict=True):
        if n == 0:
            return offset, offset
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi


def _ptr(arr: Any) -> int:
    return arr.__array_interface__["data"][0] if type(arr).__module__ == "numpy" else arr.data.ptr


def view_tangent(view: Tensor, src: Tensor, tan: Tensor) -> Tensor | None:
    """The tangent of ``view`` (whose memory lies within ``src``'s) as the same view of ``src``'s tangent
    ``tan``; None when the layouts do not allow it (the caller then computes a copy)."""
    return _view_of_tangent(view._data, src._data, tan)


def _view_of_tangent(v: Any, s: Any, tan: Tensor) -> Tensor | None:
    ta = tan._data
    size = s.itemsize
    if v.itemsize != size or ta.shape != s.shape or not _same_layout(ta, s):
        return None
    off = _ptr(v) - _ptr(s)
    lo, hi = _extent(v, off)
    slo, shi = _extent(s, 0)
    if off < 0 or off % size or any(st % size for st in v.strides) or lo < slo or hi > shi:
        return None
    xp = xp_of(tan._device)
    if v.size == 0:
        arr = xp.empty(v.shape, ta.dtype)
    else:
        strided = xp.lib.stride_tricks.as_strided
        n = off // size
        start = strided(ta, (n + 1,), (ta.itemsize,))[n:]   # the tangent's element where the view starts
        arr = strided(start, v.shape, tuple(st // size * ta.itemsize for st in v.strides))
    out = from_array(arr, tan._dtype, tan._device)
    out._base = tan._base if tan._base is not None else tan
    out._vc = tan._vc
    return out


# ---- tangents of op outputs ------------------------------------------------------------------------------
class _Pending:
    """The tangents of one node's outputs, computed on first read as ``J·t`` through the node's backward."""

    __slots__ = ("node", "tangents", "outs", "create_graph", "done", "__weakref__")

    def __init__(self, node: Any, tangents: list, outs: list, create_graph: bool) -> None:
        self.node = node
        self.tangents = tangents
        self.outs = outs   # per output: (shape, dtype, device, array for the layout) or None
        self.create_graph = create_graph
        self.done: list | None = None

    def results(self) -> list:
        if self.done is None:
            self.done = _jvp_of_node(self.node, self.tangents, self.outs, self.create_graph)
            self.node = self.tangents = None
        return self.done


class _Sink:
    """Stands at the end of the edges a node's backward must see as live (for inputs that carry a tangent)."""

    _next = ()
    _n_outputs = 1
    _seq = -1
    _hooked = False


_SINK_EDGE = (_Sink(), 0)


# elementwise ops (each output element depends on the same element of each broadcast input): their Jacobian
# per input is diagonal, so for real dtypes J_i·t_i is simply the backward's i-th gradient for grad_output t_i
_DIAGONAL = frozenset((
    "AbsBackward0", "AcosBackward0", "AddBackward0", "AddcdivBackward0", "AddcmulBackward0", "AsinBackward0",
    "AsinhBackward0", "Atan2Backward0", "AtanBackward0", "AtanhBackward0", "CeluBackward0", "ClampBackward1",
    "CloneBackward0", "CosBackward0", "CoshBackward0", "DigammaBackward0", "DivBackward0", "EluBackward0",
    "ErfBackward0", "ErfcBackward0", "Exp2Backward0", "ExpBackward0", "Expm1Backward0", "FmaxBackward0",
    "FminBackward0", "GeluBackward0", "HardshrinkBackward0", "HardsigmoidBackward0", "HardswishBackward0",
    "HardtanhBackward0", "HypotBackward0", "LeakyReluBackward0", "LerpBackward0", "LerpBackward1", "LgammaBackward0",
    "Log10Backward0", "Log1PBackward0", "Log2Backward0", "LogBackward0", "LogSigmoidBackward0", "LogitBackward0",
    "MaximumBackward0", "MinimumBackward0", "MishBackward0", "MulBackward0", "NanToNumBackward0", "NegBackward0",
    "PowBackward0", "PowBackward1", "PowBackward2", "ReciprocalBackward0", "ReluBackward0", "RsqrtBackward0",
    "RsubBackward1", "SigmoidBackward0", "SiluBackward0", "SinBackward0", "SincBackward0", "SinhBackward0",
    "SoftplusBackward0", "SoftshrinkBackward0", "SqrtBackward0", "SubBackward0", "TanBackward0", "TanhBackward0",
    "ThresholdBackward0", "WhereBackward0", "XlogyBackward0"))


def _diagonal_jvp(node: Any, tangents: list, out: tuple) -> Tensor | None:
    """``sum_i J_i·t_i`` of an elementwise op with real operands through one backward call per input with a
    tangent (only that input's edge live); None when the backward does not answer in the output's shape."""
    shape = out[0]
    edges = node._next
    total = None
    try:
        for i, t in enumerate(tangents):
            if t is None:
                continue
            if t._dtype.is_complex:
                return None
            node._next = [_SINK_EDGE if k == i else None for k in range(len(edges))]
            v = node.backward(t if t._data.shape == shape else t.expand(shape))[i]
            if v is None or v._data.shape != shape:
                return None
            total = v if total is None else total + v
    finally:
        node._next = edges
    return total


# ---- direct tangent formulas -------------------------------------------------------------------------------
# Bilinear ops (products, convolutions) take the product rule with their own forward op, P(ta, b) + P(a, tb);
# ops recorded as one node over a composition of ember ops run that composition again on dual inputs. Each
# rule gets (node, tangents, shape of the output) and returns the output's tangent, or None to fall back.
def _product_rule(prod: Any) -> Any:
    def rule(node: Any, tangents: list, shape: tuple) -> Tensor | None:
        from ..ops.matmul import _factors
        ta, tb = tangents[-2:]
        a, b = _factors(node)
        terms = []
        if ta is not None:
            terms.append(prod(ta, b))
        if tb is not None:
            terms.append(prod(a, tb))
        if len(tangents) == 3:   # beta * input + alpha * P(m1, m2)
            alpha, beta = node.alpha, node.beta
            if terms and alpha != 1:
                terms = [t * alpha for t in terms]
            ti = tangents[0]
            if ti is not None and beta != 0:
                terms.append(ti if beta == 1 else ti * beta)
        total = _sum(terms)
        return total if total is None or total._data.shape == shape else total.expand(shape)
    return rule


def _sum(terms: list) -> Tensor | None:
    total = None
    for t in terms:
        total = t if total is None else total + t
    return total


def _conv_rule(node: Any, tangents: list, shape: tuple) -> Tensor | None:
    from ..nn.functional._conv import _convolution
    x, w = node.saved
    tx, tw, tb = tangents
    terms = []
    if tx is not None:
        terms.append(_convolution(tx, w, tb, node.geom, node.transposed))
    if tw is not None:
        terms.append(_convolution(x, tw, tb if tx is None else None, node.geom, node.transposed))
    if not terms and tb is not None:
        terms.append(tb.reshape(-1, *(1,) * (len(shape) - 2)).expand(shape))
    return _sum(terms)


def _logcumsumexp_rule(node: Any, tangents: list, shape: tuple) -> Tensor | None:
    """``dy_i = sum_{j<=i} exp(x_j - y_i) t_j``, shifted by the maximum (the backward-of-backward route
    differentiates a log of the grad_output, which is NaN at the zero it is taken at)."""
    x, y = node.saved
    (t,) = tangents
    if not x.ndim:
        return t
    d = node.dim
    m = x.detach().amax(d, keepdim=True)
    return (t * (x - m).exp()).cumsum(d) * (m - y).exp()


def _layer_norm_rule(node: Any, tangents: list, shape: tuple) -> Tensor | None:
    """With ``x̂ = (x - mean)·r``: ``dx̂ = r·(tx - mean(tx) - x̂·mean(tx·x̂))``, then ``dx̂·w + x̂·tw + tb``
    (in ember ops of the saved input, so the tangent is differentiable to any order)."""
    x, w = node.saved
    tx, tw, tb = tangents
    dims = node.dims
    xc = x - x.mean(dims, keepdim=True)
    xhat = xc * ((xc * xc).mean(dims, keepdim=True) + node.eps).rsqrt()
    terms = []
    if tx is not None:
        r = ((xc * xc).mean(dims, keepdim=True) + node.eps).rsqrt()
        dxhat = r * (tx - tx.mean(dims, keepdim=True) - xhat * (tx * xhat).mean(dims, keepdim=True))
        terms.append(dxhat if w is None else dxhat * w)
    if tw is not None:
        terms.append(xhat * tw)
    if tb is not None:
        terms.append(tb.expand(shape))
    return _sum(terms)


def _composed_rule(node: Any, tangents: list, shape: tuple) -> Tensor | None:
    duals = [t if tan is None else _dual_copy(t, tan) for t, tan in zip(node.saved, tangents, strict=True)]
    prev = switch(STATE.grad, True)
    try:
        return tangent_of(node.fn(*duals))
    finally:
        switch(*prev)


def _dual_copy(t: Tensor, tangent: Tensor) -> Tensor:
    """A view of ``t`` (keeping its history when grad mode is on) carrying ``tangent``."""
    if t._rg and not t._fw_only and STATE.grad:
        d = t.view_as(t)
    else:
        d = _alias(t)
        d._rg = True
        d._fw_only = True
    set_tangent(d, tangent)
    return d


def _rules() -> dict[str, Any]:
    from ..ops import matmul as M
    mm, mv, bmm = M.mm, M.mv, M.bmm
    rules: dict[str, Any] = {"ConvolutionBackward0": _conv_rule, "LogcumsumexpBackward0": _logcumsumexp_rule,
                             "NativeLayerNormBackward0": _layer_norm_rule}
    for names, prod in ((("MmBackward0", "AddmmBackward0"), mm), (("MvBackward0", "AddmvBackward0"), mv),
                        (("BmmBackward0", "BaddbmmBackward0"), bmm), (("DotBackward0",), M.dot),
                        (("VdotBackward0",), M.vdot), (("AddrBackward0",), M.outer),
                        (("AddbmmBackward0",), lambda a, b: bmm(a, b).sum(0))):
        for name in names:
            rules[name] = _product_rule(prod)
    return rules


_RULES: dict[str, Any] = {}


def _rule_of(node: Any) -> Any:
    if not _RULES:
        _RULES.update(_rules())
    cls = type(node)
    rule = _RULES.get(cls.__name__)
    if rule is None and "fn" in node.__dict__ and any(c.__name__ == "ComposedNode" for c in cls.__mro__):
        rule = _composed_rule
    return rule


def _jvp_of_node(node: Any, tangents: list, outs: list, create_graph: bool) -> list:
    """``J·t`` for each output of ``node``: by the op's direct rule when it has one, else the gradient w.r.t.
    ``u`` of ``<node.backward(u), t>``. Backward formulas skip inputs without an edge, so those with a tangent
    get a live one meanwhile. Runs with the level suspended and grad mode ``create_graph`` (a composed rule
    resumes the level for its composition)."""
    from .graph import _reduce_to, run_backward
    prev = switch(create_graph, False)
    try:
        outs = [_live_meta(o) for o in outs]
        rule = _rule_of(node) if len(outs) == 1 and outs[0] is not None else None
        if rule is not None:
            g = rule(node, tangents, outs[0][0])
            if g is not None and g._data.shape == outs[0][0]:
                return [g if _same_layout(g._data, outs[0][3]) else in_layout(g, outs[0][3])]
        if len(outs) == 1 and type(node).__name__ in _DIAGONAL and not outs[0][1].is_complex:
            g = _diagonal_jvp(node, tangents, outs[0])
            if g is not None:
                return [g if _same_layout(g._data, outs[0][3]) else in_layout(g, outs[0][3])]
        switch(True, False)
        edges = node._next
        node._next = [_SINK_EDGE if e is None and t is not None else e for e, t in zip(edges, tangents, strict=True)]
        try:
            us = []
            for o in outs:
                if o is None:
                    us.append(None)
                    continue
                u = zeros_of(o[0], o[1], o[2])
                if o[1].is_floating_point or o[1].is_complex:
                    u._rg = True
                    u.__dict__["_fw_dummy"] = True   # an internal leaf: results reaching it keep no outer history
                us.append(u)
            vs = node.backward(us[0]) if len(us) == 1 else node.backward(*us)
        finally:
            node._next = edges
        total = None
        for v, t, meta in zip(vs, tangents, node._meta, strict=False):
            if v is None or t is None or meta is None:
                continue
            if v._data.shape != meta[0]:
                v = _reduce_to(v, meta, node)
            term = (v.conj() * t).real.sum() if v._dtype.is_complex or t._dtype.is_complex else (v * t).sum()
            total = term if total is None else total + term
        leaves = [u for u in us if u is not None and u._rg]
        grads: list = [None] * len(leaves)
        if total is not None and total._rg and leaves:
            one = from_array(xp_of(total._device).ones((), total._data.dtype), total._dtype, total._device)
            grads = run_backward([total], [one], False, create_graph, leaves, True, False)
        switch(create_graph, False)
        res, it = [], iter(grads)
        for o, u in zip(outs, us, strict=True):
            if u is None or not u._rg:
                res.append(None)
                continue
            g = next(it)
            if g is None:
                g = zeros_of(o[0], o[1], o[2])
            res.append(g if _same_layout(g._data, o[3]) else in_layout(g, o[3]))
        return res
    finally:
        switch(*prev)


# ops torch has no forward formula for (node name: torch's op name in its error)
_NO_FORWARD = {"GridSampler2DBackward0": "grid_sampler_2d", "GridSampler3DBackward0": "grid_sampler_3d",
               "CdistBackward0": "_cdist_forward", "PdistBackward0": "_pdist_forward",
               "MultiMarginLossBackward0": "multi_margin_loss",
               "MultilabelMarginLossBackward0": "multilabel_margin_loss_forward",
               "EmbeddingBagBackward0": "_embedding_bag", "CtcLossBackward0": "_ctc_loss",
               "ToSparseBackward1": "_to_sparse", "IndexReduceBackward0": "index_reduce",
               "ScaledDotProductFlashAttentionForCpuBackward0": "_scaled_dot_product_flash_attention_for_cpu",
               "IgammaBackward0": "igamma", "IgammacBackward0": "igammac", "SpecialZetaBackward0": "special_zeta",
               "SegmentReduceBackward0": "segment_reduce", "OrmqrBackward0": "ormqr"}


def _check_forward_formula(node: Any, out: Any) -> None:
    """torch's NotImplementedError for an op without forward formula: those in :data:`_NO_FORWARD`, those whose
    backward is not implemented either (named by the error their backward raises) and non-differentiable ones
    (``NotImplemented`` nodes: named ``aten::op``)."""
    from ..ops._dispatch import _UNIMPLEMENTED
    cls = type(node)
    name = _NO_FORWARD.get(cls.__name__)
    if name is None and cls.__name__ == "NotImplemented":
        o = out if _isinstance(out, Tensor) else out[0]
        try:
            node.backward(zeros_of(o._data.shape, o._dtype, o._device))
        except RuntimeError as e:
            match = re.fullmatch(r"derivative for (aten::\w+) is not implemented", str(e))
            if match is None:
                raise
            raise NotImplementedError(f"Trying to use forward AD with {match[1]} that does not support it.") from None
    if name is None and cls in _UNIMPLEMENTED.values():
        name = next(op for (_, op), c in _UNIMPLEMENTED.items() if c is cls)
    if name is not None:
        raise NotImplementedError(f"Trying to use forward AD with {name} that does not support it because it has "
                                  "not been implemented yet.\nPlease file an issue to PyTorch at https://github.com/"
                                  "pytorch/pytorch/issues/new?template=feature-request.yml so that we can prioritize "
                                  "its implementation or submit a PR adding the implementation to derivatives.yaml")


def record_dual(out: Tensor | Sequence[Tensor], node: Any, inputs: Sequence[Any], real: bool) -> bool:
    """Give the outputs of ``node`` their tangents (views: views of their input's tangent; others: pending).
    Returns whether some input had a tangent. ``real``: the outputs also have a real grad_fn."""
    tangents = [tangent_of(t) if _isinstance(t, Tensor) else None for t in inputs]
    if all(t is None for t in tangents):
        return False
    _check_forward_formula(node, out)
    outs = (out,) if _isinstance(out, Tensor) else tuple(out)
    pending = None
    meta: list = []
    need: list[tuple[int, Tensor]] = []
    kept: dict[int, tuple] = {}   # real nodes: the outputs' tangents, for the outputs their backward unpacks
    for k, o in enumerate(outs):
        if o is None or not (o._dtype.is_floating_point or o._dtype.is_complex):
            meta.append(None if o is None else (o._data.shape, o._dtype, o._device, o._data))
            continue
        meta.append((o._data.shape, o._dtype, o._device, o._data, weakref.ref(o)))
        d = o.__dict__
        if d:   # a tangent the op's own steps gave it (composites computed under no_grad): the node's replaces it
            d.pop("_fwt", None)
            d.pop("_fw_only", None)
        if not real:
            o._rg = True
            o._fw_only = True
        if o._base is not None:
            tan = _view_of_input(o, inputs, tangents)
            if tan is not None:
                set_tangent(o, tan)
                if real:
                    kept[k] = (tan, o._data)
                continue
        need.append((k, o))
    if need:   # the tangents as they are now: they may be written in place before these are computed
        pending = _Pending(node, [None if t is None else snapshot(t) for t in tangents], meta, real)
        if len(_PENDING) >= 1024:   # forget the computed and the dead ones
            _PENDING[:] = [r for r in _PENDING if (p := r()) is not None and p.done is None]
        _PENDING.append(weakref.ref(pending))
        for k, o in need:
            o.__dict__["_fwp"] = (pending, k)
            _track(o)
            if real:
                kept[k] = ((pending, k), o._data)
    if kept:
        node.__dict__["_fw_outs"] = (_TOKEN[0], kept)
    return True


def _live_meta(o: tuple | None) -> tuple | None:
    """An output's (shape, dtype, device, array) as it is now: ops may set the dtype of a view after
    recording it (``view_as_real``)."""
    if o is None or len(o) == 4:
        return o
    t = o[4]()
    return o[:4] if t is None else (t._data.shape, t._dtype, t._device, t._data)


def snapshot(t: Tensor) -> Tensor:
    """A copy of tangent ``t`` (differentiable when ``t`` has a history)."""
    if t._rg and not t._fw_only and STATE.grad:
        prev = switch(True, False)
        try:
            return t.clone()
        finally:
            switch(*prev)
    return from_array(t._data.copy(), t._dtype, t._device)


def _view_of_input(o: Tensor, inputs: Sequence[Any], tangents: list) -> Tensor | None:
    """The view ``o``'s tangent as the same view of its input's tangent; None when that tangent has a history
    to keep under grad mode (a raw view would drop it: the node's route computes it differentiably)."""
    base = o._base
    for t, tan in zip(inputs, tangents, strict=True):
        if tan is not None and (t is base or t._base is base):
            if tan._rg and not tan._fw_only and STATE.grad:
                return None
            return view_tangent(o, t, tan)
    return None


def inplace_tangent(self: Tensor, result: Tensor) -> None:
    """After ``result`` was written into ``self``: its tangent is written into ``self``'s (a view of its base's
    tangent for a view: the base gets a zero tangent first when it has none), as torch."""
    tr = tangent_of(result)
    ts = tangent_of(self)
    if tr is None:
        if ts is not None:
            ts._data[...] = 0
        return
    if self._base is not None and STATE.grad and _scatter_into_base(self, tr, ts):
        return
    if ts is None and self._base is not None:
        base = self._base
        tb = tangent_of(base)
        if tb is None:
            tb = zeros_of(base._data.shape, tr._dtype, base._device)
            tb = in_layout(tb, base._data)
            set_tangent(base, tb)
            if not base._rg:
                base._rg = True
                base._fw_only = True
        ts = view_tangent(self, base, tb)
        if ts is not None:
            set_tangent(self, ts)
    if ts is None:
        set_tangent(self, tr if _same_layout(tr._data, self._data) else in_layout(tr, self._data))
    elif STATE.grad and any(t._rg and not t._fw_only for t in (tr, ts)):   # a tangent with a history: keep it
        prev = switch(True, False)
        try:
            ts.copy_(tr)
        finally:
            switch(*prev)
    else:
        ts._data[...] = tr._data
        ts._vc[0] += 1
    if not self._rg:
        self._rg = True
        self._fw_only = True


def _history(t: Tensor | None) -> bool:
    return t is not None and t._rg and not t._fw_only


def _scatter_into_base(view: Tensor, tr: Tensor, ts: Tensor | None) -> bool:
    """In-place write into a view when a tangent involved has a history: the base's tangent becomes its copy
    with ``tr`` scattered where the view lies (differentiable; the view's own tangent may be a separate tensor
    then, computed through its node). False (nothing done) without a history or for layouts it can't place."""
    base = view._base
    tb = tangent_of(base)
    if not (_history(tr) or _history(ts) or _history(tb)):
        return False
    b, v = base._data, view._data
    size = b.itemsize
    off = _ptr(v) - _ptr(b)
    if not b.flags.c_contiguous or (tb is not None and not tb._data.flags.c_contiguous) or off % size or any(
            s % size for s in v.strides) or v.itemsize != size:
        return False
    prev = switch(True, False)
    try:
        if tb is None:
            tb = zeros_of(b.shape, tr._dtype, base._device)
        new = tb.as_strided_scatter(tr, v.shape, tuple(s // size for s in v.strides), off // size)
    finally:
        switch(*prev)
    set_tangent(base, new)
    set_tangent(view, tr)
    for t in (base, view):
        if not t._rg:
            t._rg = True
            t._fw_only = True
    return True


# ---- custom Functions ------------------------------------------------------------------------------------
class _JvpCtx:
    """The ``ctx`` a Function's ``jvp`` sees: the node's attributes, with ``saved_tensors`` the tensors given
    to ``save_for_forward``."""

    def __init__(self, node: Any) -> None:
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._node, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._node, name, value)

    @property
    def saved_tensors(self) -> tuple:
        saved = self._node.__dict__.get("_to_save_fwd")
        return tuple(saved) if saved is not None else self._node.saved_tensors


def function_jvp(cls: Any, node: Any, args: tuple, outputs: Any) -> None:
    """Run a custom Function's ``jvp`` when some input is dual and attach the tangents it returns."""
    tangents = []
    for a in args:
        if _isinstance(a, Tensor):
            t = tangent_of(a)
            if t is None and (a._dtype.is_floating_point or a._dtype.is_complex):
                t = zeros_of(a._data.shape, a._dtype, a._device)
            tangents.append(t)
        else:
            tangents.append(None)
    prev = switch(STATE.grad, False)
    try:
        result = cls.jvp(_JvpCtx(node), *tangents)
    finally:
        switch(*prev)
    outs = outputs if isinstance(outputs, tuple) else (outputs,)
    result = result if isinstance(result, tuple) else (result,)
    if len(result) != len(outs):
        raise RuntimeError(f"jvp() function of {cls.__name__} returned an incorrect number of tangents (expected "
                           f"{len(outs)}, got {len(result)})")
    for o, t in zip(outs, result, strict=True):
        if not _isinstance(o, Tensor) or t is None or not (o._dtype.is_floating_point or o._dtype.is_complex):
            continue
        if t._data.shape != o._data.shape:
            raise RuntimeError("Trying to set a forward gradient that has a different size than that of the "
                               f"original Tensor, this is not supported. Tensor is of size {list(o._data.shape)} "
                               f"while the given forward gradient is of size {list(t._data.shape)}.")
        set_tangent(o, t if _same_layout(t._data, o._data) else in_layout(t, o._data))
        if not o._rg:
            o._rg = True
            o._fw_only = True
