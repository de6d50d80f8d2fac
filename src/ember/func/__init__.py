"""``ember.func``: torch.func's composable transforms — ``vmap``, ``grad``/``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``/``jacfwd``, ``hessian`` and ``functional_call`` — with torch's results and errors.

``jvp``/``jacfwd``/``linearize`` run forward-mode AD (:mod:`ember.autograd.forward_ad`); the others are built on
reverse mode: ``grad`` differentiates a fresh view of its inputs (keeping
their history when an enclosing transform needs it, so transforms nest: ``grad(grad(f))``,
``vmap(grad(f))``, ``jacrev(jacrev(f))``), and ``vmap`` runs the function once per slice along the mapped
dims and stacks the results (torch's fallback path for ops without a batching rule: correct for any
function, per-sample cost).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._tensor import VMAP_READS, Tensor, from_array
from ..autograd import grad as _autograd_grad
from ..autograd.forward_ad import ACTIVE as FW_ACTIVE
from ..autograd.forward_ad import _dual_copy, set_tangent, tangent_of
from ..autograd.function import TRANSFORMS
from ..autograd.grad_mode import STATE, sync
from ..ops import random as _random

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "functional_call", "stack_module_state", "replace_all_batch_norm_modules_", "functionalize", "debug_unwrap"]


# ---- pytrees (tuples, lists, dicts of tensors) ----------------------------------------------------------------------
def _flatten(tree: Any) -> tuple[list[Any], Callable[[list[Any]], Any]]:
    """The leaves of a nested tuple/list/dict and a function rebuilding the structure from new leaves."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        counts = [len(p[0]) for p in parts]

        def rebuild(leaves: list[Any]) -> Any:
            out, i = [], 0
            for (_, fn), n in zip(parts, counts, strict=True):
                out.append(fn(leaves[i:i + n]))
                i += n
            return type(tree)(out) if not hasattr(tree, "_fields") else type(tree)(*out)
        return [leaf for p in parts for leaf in p[0]], rebuild
    if isinstance(tree, Mapping):
        keys = list(tree)
        sub = _flatten([tree[k] for k in keys])
        return sub[0], lambda leaves: dict(zip(keys, sub[1](leaves), strict=True))
    return [tree], lambda leaves: leaves[0]


# ---- vmap -----------------------------------------------------------------------------------------------------------
def _fn_name(func: Callable) -> str:
    return getattr(func, "__name__", repr(func))


_READ_ERRORS = {
    "item": "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over calling .item() on a "
            "Tensor, please try to rewrite what you're doing with other operations. If error is occurring somewhere "
            "inside PyTorch internals, please file a bug report.",
    "bool": "vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow. We don't "
            "support that yet, please file an issue at https://github.com/pytorch/pytorch/issues .",
    "data": "Cannot access data pointer of Tensor that doesn't have storage",
}


class _Reads:
    """The values the mapped function reads out of tensors (``.item()``, ``float()``, ``bool()``, ``.tolist()``,
    ``.numpy()``), slice after slice. torch refuses such reads from batched tensors; vmap here runs per slice,
    so a read is known to come from one when it differs from the first slice's read at the same place (reads of
    equal values in every slice go through). Reads by ember's own code or other threads are not checked."""

    def __init__(self) -> None:
        self.first: list[tuple[str, Any]] = []
        self.slice = self.n = 0
        self.thread = threading.get_ident()

    def next_slice(self) -> None:
        self.slice, self.n = self.slice + 1, 0

    def __call__(self, kind: str, value: Any) -> None:
        if threading.get_ident() != self.thread:
            return
        frame = sys._getframe(1)   # the caller past the Tensor methods (and their __torch_function__ wrappers)
        while frame is not None and frame.f_globals.get("__name__") in ("ember._tensor", "ember.overrides"):
            frame = frame.f_back
        if frame is None or frame.f_globals.get("__name__", "").startswith("ember."):
            return
        i, self.n = self.n, self.n + 1
        if not self.slice:
            self.first.append((kind, np.array(value, copy=True)))
        elif i >= len(self.first) or not _equal(self.first[i][1], value):
            raise RuntimeError(_READ_ERRORS[kind])


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:
        return bool(np.array_equal(a, b))


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``func`` mapped over dim ``in_dims`` of its inputs; the results stacked along ``out_dims``. Random ops
    inside follow ``randomness``: 'error' refuses them (torch's default), 'same' gives every slice the first slice's
    numbers, 'different' torch's numbers: each fill is drawn once for the whole batch (per ``chunk_size`` slices,
    as torch's batched tensor), each slice taking its part. Values read out of tensors (``.item()``, ``bool()``,
    ``.tolist()``) that differ between slices raise torch's errors."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        name = _fn_name(func)
        if not args:
            raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
                             "trying to vmap over a function with no inputs. The latter is unsupported.")
        if not isinstance(in_dims, (int, tuple)):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                             f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                             f"structure of `inputs`. in_dims has structure {len(dims)} but inputs has structure "
                             f"{len(args)}.")
        mapped: list[tuple[list[Any], Callable, list[int | None]]] = []
        sizes: list[int] = []
        for a, d in zip(args, dims, strict=True):
            leaves, rebuild = _flatten(a)
            leaf_dims = _flatten(d)[0] if isinstance(d, (tuple, list, Mapping)) else [d] * len(leaves)
            for leaf, ld in zip(leaves, leaf_dims, strict=True):
                if ld is None:
                    continue
                if not isinstance(ld, int):
                    raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={ld} for an input "
                                     "but in_dim must be either an integer dimension or None.")
                if not isinstance(leaf, Tensor):
                    raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={ld} for an "
                                     f"input but the input is of type {type(leaf)}. We cannot vmap over non-Tensor "
                                     "arguments, please use None as the respective in_dim")
                if not -leaf.dim() <= ld < max(leaf.dim(), 1):
                    raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={ld} for some "
                                     f"input, but that input is a Tensor of dimensionality {leaf.dim()} so "
                                     f"expected in_dim to satisfy -{leaf.dim()} <= in_dim < {leaf.dim()}.")
                sizes.append(leaf.shape[ld])
            mapped.append((leaves, rebuild, leaf_dims))
        if not sizes:
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): at least one input must be mapped "
                             "(in_dim is not None for some input).")
        if len(set(sizes)) > 1:
            raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        results = []
        st = _random.VMAP_RANDOMNESS
        outer = st.mode, st.levels, st.draws
        chained = st.draws is not None and randomness != "error"   # inside a 'different' vmap: one batched draw
        level = [1, 0, 0, 0]
        if chained:
            st.levels[-1][2] += 1   # this vmap's fills count as one fill of the enclosing slice
            st.levels = (*st.levels, level)
        else:
            st.levels, st.draws = (level,), {} if randomness == "different" else None
        st.mode = randomness
        start = _random.default_generator.get_state() if randomness == "same" and not chained else None
        reads = _Reads()
        VMAP_READS.append(reads)
        try:
            with _transform("vmap"):
                for b in range(sizes[0]):
                    if randomness == "different":   # each chunk of slices is one batched draw in torch
                        chunk = chunk_size or sizes[0]
                        level[:] = min(chunk, sizes[0] - b // chunk * chunk), b % chunk, 0, b // chunk
                    level[2] = 0
                    if b:
                        reads.next_slice()
                    if start is not None and b:   # 'same': every slice draws what the first drew
                        _random.default_generator.set_state(start)
                    call = [rebuild([leaf if ld is None else leaf.select(ld, b) for leaf, ld in zip(leaves, ldims,
                                                                                                  strict=True)])
                            for leaves, rebuild, ldims in mapped]
                    results.append(func(*call, **kwargs))
        finally:
            st.mode, st.levels, st.draws = outer
            VMAP_READS.remove(reads)
        return _stack_outputs(results, out_dims, name)
    return wrapped


def _stack_outputs(results: list[Any], out_dims: Any, name: str) -> Any:
    """The per-slice results stacked along ``out_dims`` (an int, or a tree matching the outputs; None: an output
    that is the same in every slice, returned as is)."""
    from ..ops.shape import stack
    leaves0, rebuild = _flatten(results[0])
    if isinstance(out_dims, (tuple, list, Mapping)):
        per_out = _flatten(out_dims)[0]
    elif out_dims is None or (isinstance(out_dims, int) and not isinstance(out_dims, bool)):
        per_out = [out_dims] * len(leaves0)
    else:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a python "
                         "collection of ints representing where in the outputs the vmapped dimension should appear.")
    if len(per_out) != len(leaves0):
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {len(per_out)} but outputs has "
                         f"structure {len(leaves0)}.")
    columns = list(zip(*(_flatten(r)[0] for r in results), strict=True))
    out = []
    for col, od in zip(columns, per_out, strict=True):
        if od is None:
            if not all(c is col[0] or (isinstance(c, Tensor) and _equal(c._data, col[0]._data)) for c in col[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            out.append(col[0])
            continue
        if not all(isinstance(c, Tensor) for c in col):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(col[0])}. Did "
                             "you mean to set out_dims= to None for output?")
        out.append(stack(col, od))   # torch's range: [-(d + 1), d]
    return rebuild(out)


# ---- the mode the autograd transforms run in -----------------------------------------------------------------------
@contextlib.contextmanager
def _differentiating(grad: bool | None = None) -> Iterator[None]:
    """As torch's autograd transforms: inference mode off inside them (so they differentiate under an enclosing
    ``inference_mode`` and return normal tensors), grad mode on for the reverse-mode ones (``grad=True``)."""
    prev = STATE.grad, STATE.inference
    STATE.grad, STATE.inference = prev[0] if grad is None else grad, False
    sync()
    with _transform("grad"):
        try:
            yield
        finally:
            STATE.grad, STATE.inference = prev
            sync()


@contextlib.contextmanager
def _transform(kind: str) -> Iterator[None]:
    """Mark a running transform (custom autograd.Functions check what they run under)."""
    outer = TRANSFORMS.stack
    TRANSFORMS.stack = (*outer, kind)
    try:
        yield
    finally:
        TRANSFORMS.stack = outer


def _plain(x: Tensor) -> Tensor:
    """``x``, or for an inference tensor a normal tensor over its memory: torch's transforms wrap their inputs,
    so inference tensors take part like any other (call inside :func:`_differentiating`)."""
    if not x.is_inference():
        return x
    t = from_array(x._data, x._dtype, x._device)
    t._vc = x._vc
    return t


# ---- reverse mode: grad, vjp, jacrev --------------------------------------------------------------------------------
def _watch(x: Any) -> Tensor:
    """A differentiable stand-in for ``x``: a view keeping its history when it already requires grad (an
    enclosing transform is differentiating through it), else a fresh leaf (keeping ``x``'s tangent inside a
    jvp: forward over reverse)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if x.requires_grad:
        return x.view_as(x)
    w = _plain(x.detach()).requires_grad_()
    tangent = _tangent(x)
    if tangent is not None:
        set_tangent(w, tangent)
    return w


def _tangent(x: Tensor) -> Tensor | None:
    return tangent_of(x) if FW_ACTIVE[0] else None


def _argnums(argnums: Any, n: int) -> tuple[int, ...]:
    if isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        for a in argnums:
            if not isinstance(a, int):
                raise RuntimeError(f"argnum must be int, got: {type(a)}")
    elif not isinstance(argnums, int):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    wrapped = tuple(a % n for a in nums)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"argnums elements must be unique, got {wrapped}")
    return wrapped


def _prepare(args: tuple, argnums: Any) -> tuple[list[Any], list[list[Tensor]], list[Callable], tuple]:
    nums = _argnums(argnums, len(args))
    new_args = list(args)
    watched, rebuilds = [], []
    for i in nums:
        leaves, rebuild = _flatten(args[i])
        ws = [_watch(leaf) for leaf in leaves]
        new_args[i] = rebuild(ws)
        watched.append(ws)
        rebuilds.append(rebuild)
    return new_args, watched, rebuilds, nums


class _Level:
    """What a reverse-mode transform keeps of its results when it returns (torch unwraps its level): with grad
    mode on outside it, the history leading to tensors requiring grad outside it (the inputs an enclosing
    transform differentiates, closed-over tensors, arguments not differentiated), not the history through its
    own fresh leaves. Inside a jvp (leaves carrying a tangent) results keep their tangents, themselves unwrapped."""

    def __init__(self, watched: list[list[Tensor]], outer_grad: bool) -> None:
        flat = [w for ws in watched for w in ws]
        self.forward = any(_tangent(w) is not None for w in flat)
        self.own = {id(w) for w in flat if w.grad_fn is None}
        self.outer_grad = outer_grad

    def differentiable(self, tree: Any) -> bool:
        """Whether results computed from ``tree`` need a graph (``create_graph``) for what they keep."""
        return self.forward or (self.outer_grad and any(self._outside(t) for t in _flatten(tree)[0]))

    def _outside(self, t: Any) -> bool:
        if not isinstance(t, Tensor) or not t.requires_grad:
            return False
        fn = t.grad_fn
        if fn is None:
            return id(t) not in self.own
        seen, stack = {fn}, [fn]
        while stack:
            node = stack.pop()
            var = getattr(node, "variable", None)
            if var is not None and not node._next and id(var) not in self.own and "_fw_dummy" not in var.__dict__:
                return True
            for e in node._next:
                if e is not None and e[0] not in seen:
                    seen.add(e[0])
                    stack.append(e[0])
        return False

    def _unwrap(self, t: Any) -> Any:
        if not isinstance(t, Tensor) or not t.requires_grad or (self.outer_grad and self._outside(t)):
            return t
        tangent = _tangent(t)
        return t.detach() if tangent is None else _dual_copy(t.detach(), self._unwrap(tangent))

    def unwrap(self, tree: Any) -> Any:
        """``tree`` with each tensor detached unless it keeps history (see the class)."""
        leaves, rebuild = _flatten(tree)
        return rebuild([self._unwrap(t) for t in leaves])


def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """``func`` returning ``(gradient w.r.t. args[argnums], value)`` (``((grad), (value, aux))`` with aux)."""
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        outer_grad = STATE.grad
        with _differentiating(True):
            new_args, watched, rebuilds, nums = _prepare(args, argnums)
            level = _Level(watched, outer_grad)
            out = func(*new_args, **kwargs)
            out, aux = _split_aux(out, has_aux, "grad_and_value(f)(*args): ")
            if not isinstance(out, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(out)}")
            if out.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs "
                                   "instead?")
            flat = [w for ws in watched for w in ws]
            gs = _autograd_grad(out, flat, create_graph=level.differentiable(out), allow_unused=True) \
                if out.requires_grad else [None] * len(flat)
            gs = level.unwrap([g if g is not None else w.new_zeros(w.shape) for g, w in zip(gs, flat, strict=True)])
            out, aux = level.unwrap(out), level.unwrap(aux)
            grads, i = [], 0
            for ws, rebuild in zip(watched, rebuilds, strict=True):
                grads.append(rebuild(gs[i:i + len(ws)]))
                i += len(ws)
            g = tuple(grads) if isinstance(argnums, tuple) else grads[0]
        return (g, (out, aux)) if has_aux else (g, out)
    return wrapped


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """``func``'s gradient w.r.t. ``args[argnums]`` (``func`` must return a scalar tensor)."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapped


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> Any:
    """``(func(*primals), vjp_fn[, aux])``; ``vjp_fn(cotangents)`` gives one gradient per primal."""
    outer_grad = STATE.grad
    with _differentiating(True):
        new_args, watched, rebuilds, _ = _prepare(primals, tuple(range(len(primals))))
        level = _Level(watched, outer_grad)
        out, aux = _vjp_output(func(*new_args), has_aux)
        aux = level.unwrap(aux)
        primal_out = level.unwrap(out)
        graph = level.differentiable(out)
    outs, _ = _flatten(out)
    _check_differentiable(outs)
    flat = [w for ws in watched for w in ws]

    def vjp_fn(cotangents: Any, *, retain_graph: bool = True, create_graph: bool | None = None) -> tuple:
        cots, _ = _flatten(cotangents)
        if _spec(cotangents) != _spec(out):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {_spec(cotangents)}, primal output: "
                               f"{_spec(out)}")
        for c, o in zip(cots, outs, strict=True):
            if c.shape != o.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] has "
                                   f"a shape of {o.shape}.")
        here = _Level(watched, STATE.grad)
        keep = graph or here.differentiable(cots) if create_graph is None else create_graph
        pairs = [(o, c) for o, c in zip(outs, cots, strict=True) if o.requires_grad]
        with _differentiating(True):
            gs = _autograd_grad([p[0] for p in pairs], flat, [p[1] for p in pairs], retain_graph=retain_graph,
                                create_graph=keep, allow_unused=True) if pairs else [None] * len(flat)
            gs = here.unwrap([g if g is not None else w.new_zeros(w.shape) for g, w in zip(gs, flat, strict=True)])
        res, i = [], 0
        for ws, rebuild in zip(watched, rebuilds, strict=True):
            res.append(rebuild(gs[i:i + len(ws)]))
            i += len(ws)
        return tuple(res)
    return (primal_out, vjp_fn, aux) if has_aux else (primal_out, vjp_fn)


def _spec(tree: Any) -> str:
    """A tree's structure as torch prints it in errors: ``*`` per leaf, in its tuples/lists/dicts."""
    if isinstance(tree, tuple):
        return "(" + ", ".join(map(_spec, tree)) + ("," if len(tree) == 1 else "") + ")"
    if isinstance(tree, list):
        return "[" + ", ".join(map(_spec, tree)) + "]"
    if isinstance(tree, Mapping):
        return "{" + ", ".join(f"{k!r}: {_spec(v)}" for k, v in tree.items()) + "}"
    return "*"


def _vjp_output(out: Any, has_aux: bool) -> tuple[Any, Any]:
    """``(output, aux)`` of a function vjp (and jacrev) differentiate, checked as torch does."""
    out, aux = _split_aux(out, has_aux, "vjp(f, *primals): ")
    for o in _flatten(out)[0]:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): expected f(*primals) to return only tensors, got unsupported type "
                               f"{type(o)}")
    return out, aux


def _check_differentiable(outs: list) -> None:
    """torch's vjp (and jacrev over it) refuses outputs it cannot give a cotangent to."""
    for o in outs:
        if isinstance(o, Tensor) and not (o.is_floating_point() or o.is_complex()):
            raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got Tensor "
                               f"with dtype {o.dtype}")


def _check_real(name: str, leaves: list, what: str) -> None:
    """jacrev/jacfwd take real inputs and outputs only."""
    for i, t in enumerate(leaves):
        if isinstance(t, Tensor) and t.is_complex():
            raise RuntimeError(f"{name}: Expected all {what} to be real but received complex tensor at flattened "
                               f"input idx: {i}")


def _detach_tree(tree: Any) -> Any:
    leaves, rebuild = _flatten(tree)
    return rebuild([x.detach() if isinstance(x, Tensor) else x for x in leaves])


def jacrev(func: Callable, argnums: Any = 0, *, has_aux: bool = False, chunk_size: int | None = None,
           _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian of ``func`` w.r.t. ``args[argnums]`` by reverse mode: ``output.shape + input.shape``."""
    from ..ops.shape import stack
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        outer_grad = STATE.grad
        _check_real("jacrev", [leaf for i in _argnums(argnums, len(args)) for leaf in _flatten(args[i])[0]], "inputs")
        with _differentiating(True):
            new_args, watched, rebuilds, _ = _prepare(args, argnums)
            level = _Level(watched, outer_grad)
            out, aux = _vjp_output(func(*new_args, **kwargs), has_aux)
            aux = level.unwrap(aux)
            outs, rebuild_out = _flatten(out)
            _check_differentiable(outs)
            _check_real("jacrev", outs, "outputs")
            flat = [w for ws in watched for w in ws]
            graph = level.differentiable(outs)
            per_out = []
            for o in outs:
                rows: list[list[Tensor]] = [[] for _ in flat]
                for j in range(o.numel()):
                    gs = _autograd_grad(o.reshape(-1)[j], flat, retain_graph=True, create_graph=graph,
                                        allow_unused=True) if o.requires_grad else [None] * len(flat)
                    for r, g, w in zip(rows, gs, flat, strict=True):
                        r.append(g if g is not None else w.new_zeros(w.shape))
                jacs = [(stack(r) if r else w.new_zeros((0, *w.shape))).reshape((*o.shape, *w.shape))
                        for r, w in zip(rows, flat, strict=True)]
                jacs = level.unwrap(jacs)
                grouped, i = [], 0
                for ws, rebuild in zip(watched, rebuilds, strict=True):
                    grouped.append(rebuild(jacs[i:i + len(ws)]))
                    i += len(ws)
                per_out.append(tuple(grouped) if isinstance(argnums, tuple) else grouped[0])
        result = rebuild_out(per_out)
        return (result, aux) if has_aux else result
    return wrapped


def jacfwd(func: Callable, argnums: Any = 0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """The Jacobian of ``func`` w.r.t. ``args[argnums]`` by forward mode: one :func:`jvp` per input element
    (a basis tangent), stacked into ``output.shape + input.shape``."""
    from ..ops.shape import stack

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if randomness not in ("error", "different", "same"):
            raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                               f"{randomness}")
        with _differentiating():
            nums = _argnums(argnums, len(args))
            trees = [_flatten(args[i]) for i in nums]
            flat = [leaf for leaves, _ in trees for leaf in leaves]
            for leaf in flat:
                if not isinstance(leaf, Tensor):
                    raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
            _check_real("jacfwd", flat, "inputs")

            def f(*xs: Any) -> Any:
                new_args, k = list(args), 0
                for i, (leaves, rebuild) in zip(nums, trees, strict=True):
                    new_args[i] = rebuild(list(xs[k:k + len(leaves)]))
                    k += len(leaves)
                return func(*new_args, **kwargs)

            zeros = [x.new_zeros(x.shape) for x in flat]
            columns: list[list[list[Tensor]]] = [[] for _ in flat]   # per input leaf, per element: output tangents
            outs = aux = rebuild_out = None
            for k, x in enumerate(flat):
                basis = x.new_ones(x.numel()).diag()   # row j: the tangent of element j
                for j in range(x.numel()):
                    tangents = [*zeros[:k], basis[j].reshape(x.shape), *zeros[k + 1:]]
                    outs, tans, aux, rebuild_out = _jvp_flat(f, flat, tangents, has_aux)
                    columns[k].append(tans)
            if outs is None:   # no input element: the output's shape from one plain call
                outs, _, aux, rebuild_out = _jvp_flat(f, flat, zeros, has_aux)
            _check_real("jacfwd", outs, "outputs")
            per_out = []
            for i, o in enumerate(outs):
                jacs = [stack([col[i] for col in cols], -1).reshape((*o.shape, *x.shape)) if cols
                        else o.new_zeros((*o.shape, *x.shape)) for cols, x in zip(columns, flat, strict=True)]
                grouped, k = [], 0
                for leaves, rebuild in trees:
                    grouped.append(rebuild(jacs[k:k + len(leaves)]))
                    k += len(leaves)
                per_out.append(tuple(grouped) if isinstance(argnums, tuple) else grouped[0])
            result = rebuild_out(per_out)
        return (result, aux) if has_aux else result
    return wrapped


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """The Hessian of a scalar ``func`` w.r.t. ``args[argnums]``: forward mode over reverse mode."""
    return jacfwd(jacrev(func, argnums), argnums)


_JVP = "jvp(f, primals, tangents): "


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False) -> Any:
    """``(func(*primals), J @ tangents)`` by forward-mode AD (dual tensors through every op)."""
    if not isinstance(primals, tuple):
        raise RuntimeError(_JVP + "Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    flat_p, rebuild = _flatten(primals)
    flat_t, _ = _flatten(tangents)
    if not isinstance(tangents, tuple) or len(tangents) != len(primals) or len(flat_t) != len(flat_p):
        raise RuntimeError(_JVP + "Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be.")
    for name, leaves in (("primals", flat_p), ("tangents", flat_t)):
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(_JVP + f"Expected {name} to only contain Tensors, got {type(leaf)}")
    outs, tans, aux, rebuild_out = _jvp_flat(lambda *xs: func(*rebuild(list(xs))), flat_p, flat_t, has_aux)
    res = (rebuild_out(outs), rebuild_out(tans))
    return (*res, aux) if has_aux else res


def _jvp_flat(func: Callable, primals: list[Tensor], tangents: list[Tensor], has_aux: bool) -> tuple:
    """``func(*primals)``'s flattened outputs and their tangents, the aux output and the outputs' rebuild.
    Inside an active dual level (ember has one level) the tangents come from the double-vjp instead."""
    with _differentiating():
        return _jvp_flat_plain(func, [_plain(p) for p in primals], [_plain(t) for t in tangents], has_aux)


def _jvp_flat_plain(func: Callable, primals: list[Tensor], tangents: list[Tensor], has_aux: bool) -> tuple:
    """:func:`_jvp_flat` in the transforms' mode, on normal tensors."""
    from ..autograd import forward_ad as fw
    if fw._LEVEL[0] >= 0:
        outs, tans, aux, rebuild_out = _jvp_by_vjp(func, primals, tangents, has_aux)
        if not any(p.requires_grad or _tangent(p) is not None for p in primals):   # nothing outside uses them
            outs, tans = [o.detach() for o in outs], [t.detach() for t in tans]
        return outs, tans, aux, rebuild_out
    with fw.dual_level():
        out, aux = _split_aux(func(*(fw.make_dual(p, t) for p, t in zip(primals, tangents, strict=True))), has_aux)
        outs, rebuild_out = _flatten(out)
        _check_outputs(outs)
        pairs = [fw.unpack_dual(o) for o in outs]
    res = [p.primal for p in pairs]
    tans = [p.tangent if p.tangent is not None else p.primal.new_zeros(p.primal.shape) for p in pairs]
    # plain results where nothing outside differentiates them (closed-over tensors may: their history stays)
    res, tans = ([r if r.requires_grad else r.detach() for r in rs] for rs in (res, tans))
    return res, tans, aux, rebuild_out


def _split_aux(out: Any, has_aux: bool, caller: str = _JVP) -> tuple[Any, Any]:
    """``(output, aux)`` of a transformed function's result (aux None without ``has_aux``); ``caller`` begins
    torch's error for a result that is not such a pair."""
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(caller + "output of function f should be a tuple: (output, aux) if has_aux is True")
    return out


def _check_outputs(outs: list) -> None:
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(_JVP + f"expected f(*primals) to return only tensors, got unsupported type {type(o)}")


def _jvp_by_vjp(func: Callable, primals: list[Tensor], tangents: list[Tensor], has_aux: bool) -> tuple:
    """The forward product as the derivative of the (linear) vjp w.r.t. its cotangents: for a jvp nested in
    another one (ember's forward AD has a single level)."""
    aux_box: list[Any] = []

    def f(*xs: Any) -> Any:
        out, aux = _split_aux(func(*xs), has_aux)
        aux_box.append(aux)
        return out
    out, vjp_fn = vjp(f, *primals)
    outs, rebuild_out = _flatten(out)
    _check_outputs(outs)
    with _differentiating(True):
        dummies = [o.new_zeros(o.shape).requires_grad_() for o in outs]
        gs = vjp_fn(rebuild_out(dummies), create_graph=True)
        pairs = [(g, t) for g, t in zip(gs, tangents, strict=True) if g.requires_grad]
        tans = _autograd_grad([p[0] for p in pairs], dummies, [p[1] for p in pairs], allow_unused=True,
                              create_graph=True) if pairs else [None] * len(dummies)
    tans = [t if t is not None else o.new_zeros(o.shape) for t, o in zip(tans, outs, strict=True)]
    return outs, tans, aux_box[0], rebuild_out


def linearize(func: Callable, *primals: Any) -> tuple[Any, Callable]:
    """``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is the Jacobian-vector product at ``primals``."""
    out = func(*primals)
    flat_p, _ = _flatten(primals)

    def jvp_fn(*tangents: Any) -> Any:
        flat_t, _ = _flatten(tangents)
        if len(tangents) != len(primals) or len(flat_t) != len(flat_p):
            raise RuntimeError("Expected the tangents to have the same argspec as the primals")
        for i, (t, p) in enumerate(zip(flat_t, flat_p, strict=True)):
            if t.shape != p.shape:
                raise RuntimeError(f"tangent:{i} with shape {t.shape} in flattened pytree doesn't match the shape "
                                   f"{p.shape} of the corresponding primal.")
        return jvp(func, primals, tangents)[1]
    return _detach_tree(out), jvp_fn


# ---- functional_call ------------------------------------------------------------------------------------------------
def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: Any = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """Call ``module`` with some of its parameters and buffers replaced by the given tensors (by dotted name;
    a dict, or a list/tuple of dicts with distinct keys), restoring them afterwards."""
    from ..nn.utils.stateless import _functional_call
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        merged = dicts
    elif isinstance(dicts, Sequence):
        if not all(isinstance(d, dict) for d in dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts: dict[str, int] = {}
        for d in dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                             "ambiguous")
        merged = {k: v for d in dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(dicts)}")
    return _functional_call(module, merged, args, kwargs, tie_weights=tie_weights, strict=strict)


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The parameters (as new leaves requiring grad) and buffers of same-shaped ``models``, each stacked along
    a new leading dim: the state to ``vmap`` an ensemble over with :func:`functional_call`."""
    from ..ops.shape import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors: list[Tensor], name: str) -> Tensor:
        """One model's tensors stacked: a new leaf requiring grad when they all do (all or none must)."""
        flags = {t.requires_grad for t in tensors}
        if len(flags) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        out = stack(tensors)
        return out.detach().requires_grad_() if flags == {True} else out
    states = [(dict(m.named_parameters()), dict(m.named_buffers())) for m in models]
    params = {k: stacked([s[0][k] for s in states], k) for k in states[0][0]}
    buffers = {k: stacked([s[1][k] for s in states], k) for k in states[0][1]}
    return params, buffers


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """Make every batch-norm module of ``root`` use batch statistics only (no running stats), in place."""
    for module in root.modules():
        if type(module).__name__.startswith(("BatchNorm", "SyncBatchNorm")) and hasattr(module, "running_mean"):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` itself: ember runs eagerly, so there is no traced program whose mutations to remove."""
    return func


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """``tensor`` itself (ember's transforms do not wrap tensors)."""
    return tensor
