"""How an ember call on DTensors runs: ``DTensor.__torch_function__`` lands here.

A call is matched to a rule (``_ops``) that picks the placements its DTensor inputs must have and the
placements of its outputs (torch's sharding propagation: each op lists its valid layouts for one mesh dimension
and the cheapest redistribution of the inputs that matches one on every mesh dimension wins, by torch's
communication-cost model). The inputs are redistributed (recorded as ``RedistributeBackward``), the op runs on
the local shards, and the outputs become DTensors. Under autograd the local op runs on leaf aliases of the local
shards, and one node (named like the local op's node, ``MmBackward0``) is recorded on the DTensor outputs: its
backward lays each output gradient out as that output's placements, runs the local op's backward and returns the
input gradients as DTensors (a replicated input of a sharded or partial computation gets a ``Partial`` gradient).

Calls without a rule run on replicas (the inputs all-gathered/all-reduced first) and give replicated results;
in-place calls without a rule run on the global tensor and keep this rank's part of it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..._tensor import Tensor
from ...autograd.grad_mode import STATE, no_grad
from ...autograd.graph import Node
from ...ops._dispatch import record
from ...overrides import DisableTorchFunctionSubclass
from ..device_mesh import DeviceMesh
from ._api import DTensor, _alias_plain, _redistribute, _wrap, spec_for
from ._redistribute import grad_placements, independent, redistribute_local
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["dispatch", "Call", "Plan", "search", "RULES"]


# ---------------------------------------------------------------------------------------------- calls and plans
@dataclass
class Call:
    """One call: the public function, its name, arguments, and the DTensors among them (in order)."""

    func: Callable
    name: str
    args: tuple
    kwargs: dict
    dts: list[DTensor]

    @property
    def mesh(self) -> DeviceMesh:
        return self.dts[0].device_mesh

    def substitute(self, locals_: Sequence[Any]) -> tuple[tuple, dict]:
        """The arguments with the DTensors replaced, in order, by ``locals_``."""
        it = iter(locals_)

        def sub(a: Any) -> Any:
            if isinstance(a, DTensor):
                return next(it)
            if isinstance(a, (list, tuple)) and any(isinstance(b, (DTensor, list, tuple)) for b in a):
                return type(a)(sub(b) for b in a) if not hasattr(a, "_fields") else type(a)(*(sub(b) for b in a))
            return a
        args = tuple(sub(a) for a in self.args)
        kwargs = {k: sub(v) for k, v in self.kwargs.items()}
        return args, kwargs


@dataclass
class Plan:
    """A rule's decision: the placements each DTensor input must have, each tensor output's placements and
    global shape, and (optionally) the local computation ``local(call, locals) -> result``."""

    targets: list[tuple[Placement, ...]]
    outs: list[tuple[Placement, ...]] | None
    shapes: list[tuple[int, ...]] | None
    local: Callable[[Call, list[Tensor]], Any] | None = None
    extra: dict = field(default_factory=dict)


RULES: dict[str, Callable[[Call], Plan | None]] = {}


# ---------------------------------------------------------------------------------------------- the cost search
_LATENCY = 6.6   # torch's model: base latency (µs); per hop and bandwidth (GB/s) within / between hosts below


@functools.lru_cache(maxsize=64)
def _topology(mesh: DeviceMesh) -> list[tuple[int, float, float]]:
    """Per mesh dimension: (ranks, latency per hop, bandwidth) as torch estimates them (a dimension whose ranks,
    with the inner dimensions', outnumber a host's devices crosses hosts; a CPU host counts one device)."""
    per_host = 1
    if mesh.device_type == "cuda":
        from ... import cuda
        per_host = max(cuda.device_count(), 1)
    out: list[tuple[int, float, float]] = []
    total = 1
    for k in reversed(range(mesh.ndim)):
        n = mesh.size(k)
        total *= n
        out.append((n, 2.7, 87.7 * 0.22) if total > per_host else (n, 0.6, 87.7))
    return out[::-1]


def _comm(bytes_gb: float, topo: tuple[int, float, float], hops: int) -> float:
    n, hop, bandwidth = topo
    return _LATENCY + hops * hop + bytes_gb * hops / n / bandwidth * 1e6


def _transition(cur: Placement, new: Placement, topo: tuple[int, float, float], bytes_gb: float
                ) -> tuple[float, float]:
    """torch's cost of one placement change on a mesh dimension, and the bytes after it."""
    n = topo[0]
    if cur == new:
        return 0.0, bytes_gb
    if isinstance(cur, Shard):
        if isinstance(new, Replicate):
            bytes_gb *= n
            return _comm(bytes_gb, topo, n - 1), bytes_gb
        if isinstance(new, Shard):
            return _comm(bytes_gb, topo, n - 1) + 1.0, bytes_gb
        return math.inf, bytes_gb
    if isinstance(cur, Partial):
        if isinstance(new, Replicate):
            return _comm(bytes_gb, topo, 2 * (n - 1)), bytes_gb
        if isinstance(new, Shard):
            return _comm(bytes_gb, topo, n - 1), bytes_gb / n
        return math.inf, bytes_gb
    if isinstance(new, Shard):
        return 0.0, bytes_gb / n
    return 0.0, bytes_gb


def _shardable(shape: Sequence[int], mesh: DeviceMesh, placements: Sequence[Placement]) -> bool:
    splits: dict[int, int] = {}
    for k, p in enumerate(placements):
        if isinstance(p, Shard):
            splits[p.dim] = splits.get(p.dim, 1) * mesh.size(k)
    return all(shape[d] >= n for d, n in splits.items())


def redistribute_cost(mesh: DeviceMesh, cur: Sequence[Placement], new: Sequence[Placement], shape: Sequence[int],
                      itemsize: int) -> float:
    """torch's estimate of moving a tensor between layouts (µs): one step per mesh dimension, innermost first
    (a shard moved to another dim is one all-to-all; a nested shard whose outer split changes is gathered and
    split again; a split of a dim that other mesh dimensions split waits for the gathers). Free from a full
    replica or when unchanged."""
    cur, new = tuple(cur), tuple(new)
    if all(isinstance(p, Replicate) for p in cur) or cur == new:
        return 0.0
    topology = _topology(mesh)
    shards = math.prod(mesh.size(k) for k, p in enumerate(cur) if isinstance(p, Shard))
    nbytes = itemsize * math.prod(shape) / shards / 1024 ** 3
    cost = 0.0
    for i in reversed(range(mesh.ndim)):
        c, t = cur[i], new[i]
        if c == t and not (isinstance(c, Shard) and not _keeps(cur, new, i)):
            continue
        if c == t:   # regathered and split again
            step, _ = _transition(c, Replicate(), topology[i], nbytes)
        elif isinstance(c, Replicate) and isinstance(t, Shard) and not independent(cur, new, i):
            continue   # (split after the gathers: free, and it no longer shrinks what they move)
        else:
            step, nbytes = _transition(c, t, topology[i], nbytes)
        cost += step
    return cost


def _keeps(state: Sequence[Placement], new: Sequence[Placement], i: int) -> bool:
    """Whether the shard on mesh dim ``i`` stays as it is (the same split of the same piece)."""
    p = state[i]
    return p == new[i] and all(state[j] == new[j] for j in range(i) if p in (state[j], new[j]))


def _mixed_partials(placements: Sequence[Placement]) -> bool:
    ops = {p.reduce_op for p in placements if isinstance(p, Partial)}
    return len(ops) > 1 and ops != {"sum", "avg"}


def search(mesh: DeviceMesh, inputs: Sequence[DTensor], strategies: list[list[Placement]], n_out: int = 1, *,
           uneven: bool = False, fixed: Sequence[int] = (), want: tuple[Placement, ...] | None = None
           ) -> tuple[list[tuple[Placement, ...]], list[tuple[Placement, ...]]] | None:
    """torch's choice among ``strategies`` (rows ``[out_1..out_n, in_1..in_m]`` valid on one mesh dimension;
    all-replicate is always valid), expanded over the mesh dimensions: a choice needing no redistribution, else
    the first free one, else the cheapest by torch's communication-cost model. ``fixed`` inputs keep their
    placements and ``want`` asks for the first output's placements (in-place ops). Returns (input placements,
    output placements), or None when nothing fits."""
    m = len(inputs)
    rows = [list(r) for r in strategies]
    if not any(isinstance(p, Shard) for d in inputs for p in d.placements):   # (torch fills its shard rows
        rows = [r for r in rows if not any(isinstance(p, Shard) for p in r)]   # from the inputs' shard kinds)
    if not any(all(isinstance(p, Replicate) for p in r) for r in rows):
        rows.insert(0, [Replicate()] * (n_out + m))
    current = [d.placements for d in inputs]
    shapes = [tuple(d.shape) for d in inputs]
    items = [d.dtype.itemsize for d in inputs]
    best: tuple[float, list, list] | None = None
    free = exact = None
    for comb in itertools.product(rows, repeat=mesh.ndim):
        outs = [tuple(row[j] for row in comb) for j in range(n_out)]
        ins = [tuple(row[n_out + i] for row in comb) for i in range(m)]
        if any(_mixed_partials(p) for p in (*outs, *ins)):
            continue
        if any(ins[i] != current[i] for i in fixed) or (want is not None and outs[0] != want):
            continue
        if not all(_shardable(shapes[i], mesh, ins[i]) or (uneven and ins[i] == current[i]) for i in range(m)):
            continue
        if all(ins[i] == current[i] for i in range(m)):
            exact = (ins, outs)
            continue
        cost = sum(redistribute_cost(mesh, current[i], ins[i], shapes[i], items[i]) for i in range(m))
        if cost == 0 and free is None:
            free = (ins, outs)
        if best is None or cost < best[0]:
            best = (cost, ins, outs)
    if exact is not None:
        return exact
    if free is not None:
        return free
    if best is None or best[0] == math.inf:
        return None
    return best[1], best[2]


# ---------------------------------------------------------------------------------------------- running a plan
_NODE_CLASSES: dict[str, type] = {}


class DTensorOpNode(Node):
    """The node of one DTensor op: the local op's graph (leaf aliases of the local inputs → local outputs) kept
    for backward."""

    __slots__ = ()

    def backward(self, *grads: Any) -> tuple:
        return _op_backward(self, grads)

    def release(self) -> None:
        self.__dict__.pop("inner", None)
        super().release()


def _node_class(name: str) -> type:
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = _NODE_CLASSES[name] = type(name, (DTensorOpNode,),
                                         {"__slots__": (), "__module__": "torch.autograd.graph"})
    return cls


def _flatten(result: Any) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _flatten(r)]
    return []


def _rebuild(result: Any, wrapped: Sequence[Any]) -> Any:
    it = iter(wrapped)

    def sub(r: Any) -> Any:
        if isinstance(r, Tensor):
            return next(it)
        if isinstance(r, (list, tuple)):
            items = [sub(x) for x in r]
            return type(r)(*items) if hasattr(r, "_fields") else type(r)(items)
        return r
    return sub(result)


def execute(call: Call, plan: Plan) -> Any:
    """Redistribute the inputs as ``plan`` says, run the local op, wrap the outputs (recording autograd)."""
    ready = [d if d.placements == t else _redistribute(d, t) for d, t in zip(call.dts, plan.targets, strict=True)]
    need = STATE.enabled and any(d._rg for d in ready)
    leaves: list[Tensor | None] = []
    locals_: list[Tensor] = []
    for d in ready:
        loc = _alias_plain(d)
        if need and d._rg:
            loc._rg = True
        leaves.append(loc if need and d._rg else None)
        locals_.append(loc)
    run = plan.local or _default_local
    if need:
        result = run(call, locals_)
    else:
        with no_grad():
            result = run(call, locals_)
    outs = _flatten(result)
    mesh = call.mesh
    if plan.outs is None:   # replicated results of their own shapes
        rep = tuple(Replicate() for _ in range(mesh.ndim))
        plan.outs, plan.shapes = [rep] * len(outs), [tuple(o.shape) for o in outs]
    if len(outs) != len(plan.outs):
        raise RuntimeError(f"DTensor rule for {call.name} planned {len(plan.outs)} outputs, the op gave {len(outs)}")
    if need:   # an input handed back as it is still needs a node of its own
        outs = [_alias(o) if o._rg and o._grad_fn is None else o for o in outs]
    wrapped = [_wrap(o, spec_for(o, mesh, pl, shape), False) for o, pl, shape in zip(outs, plan.outs, plan.shapes,
                                                                                       strict=True)]
    diff = [i for i, o in enumerate(outs) if o._grad_fn is not None] if need else []
    if diff:
        node = _node_class(type(outs[diff[0]]._grad_fn).__name__)()
        node.inner = (leaves, [outs[i] for i in diff])
        node.diff = diff
        node.out_specs = [w._spec for w in wrapped]
        node.in_specs = [d._spec for d in ready]
        node.in_leaf = [d._grad_fn is None for d in ready]
        record(wrapped[0] if len(wrapped) == 1 else wrapped, node, ready)
        for i, w in enumerate(wrapped):
            if i not in diff:
                w._grad_fn, w._rg = None, False
    return _rebuild(result, wrapped)


def _alias(t: Tensor) -> Tensor:
    from ...ops.extra import _alias as alias
    return alias(t)


def _default_local(call: Call, locals_: list[Tensor]) -> Any:
    args, kwargs = call.substitute(locals_)
    return call.func(*args, **kwargs)


def _op_backward(node: DTensorOpNode, grads: Sequence[Any]) -> tuple:
    leaves, outs = node.inner
    out_specs = node.out_specs
    mesh = out_specs[0].mesh
    partial_grad = [False] * mesh.ndim
    sharded_out = [False] * mesh.ndim
    gout_locals, gout_tensors = [], []
    for j, i in enumerate(node.diff):
        spec = out_specs[i]
        for k, p in enumerate(spec.placements):
            if not isinstance(p, Replicate):
                sharded_out[k] = True
        g = grads[i]
        if g is None:
            continue
        want = list(grad_placements(spec.placements))
        if isinstance(g, DTensor):
            for k, (gp, p) in enumerate(zip(g.placements, spec.placements, strict=True)):
                if isinstance(p, Replicate) and gp == Partial("sum"):
                    want[k] = gp
                    partial_grad[k] = True
            loc = redistribute_local(g._local_tensor, mesh, g.placements, want, spec.shape)
        else:
            loc = g
        scale = math.prod(mesh.size(k) for k, p in enumerate(spec.placements) if p == Partial("avg"))
        if scale != 1:
            loc = loc / scale
        gout_locals.append(loc)
        gout_tensors.append(outs[j])
    present = [leaf for leaf in leaves if leaf is not None]
    if not gout_tensors:
        return (None,) * len(leaves)
    from ...autograd import grad as autograd_grad
    with DisableTorchFunctionSubclass():
        got = autograd_grad(gout_tensors, present, gout_locals, retain_graph=True, allow_unused=True)
    it = iter(got)
    result: list[Any] = []
    for leaf, spec, is_leaf in zip(leaves, node.in_specs, node.in_leaf, strict=True):
        if leaf is None:
            result.append(None)
            continue
        g = next(it)
        if g is None:
            result.append(None)
            continue
        pl = []
        for k, p in enumerate(spec.placements):
            if isinstance(p, Shard):
                pl.append(p)
            elif isinstance(p, Partial):
                if p.reduce_op == "avg":
                    g = g * mesh.size(k)
                pl.append(Replicate())
            else:
                pl.append(Partial("sum") if sharded_out[k] or partial_grad[k] else Replicate())
        pl_t = tuple(pl)
        if is_leaf:   # a leaf's gradient comes in the leaf's own layout (its optimizer updates the local shard)
            target = grad_placements(spec.placements)
            if target != pl_t:
                g = redistribute_local(g, mesh, pl_t, target, spec.shape)
                pl_t = target
        result.append(_wrap(g, spec_for(g, mesh, pl_t, spec.shape), False))
    return tuple(result)


# ---------------------------------------------------------------------------------------------- entry point
_PROPERTIES: dict[int, str] = {}


def _property_name(func: Any) -> str | None:
    prop = getattr(func, "__self__", None)
    if not isinstance(prop, property):
        return None
    name = _PROPERTIES.get(id(prop))
    if name is None:
        for n, v in vars(Tensor).items():
            if isinstance(v, property):
                _PROPERTIES[id(v)] = n
        name = _PROPERTIES.get(id(prop), "")
    return name


def _plain(func: Callable, args: tuple, kwargs: dict) -> Any:
    with DisableTorchFunctionSubclass():
        return func(*args, **kwargs)


def _collect(args: tuple, kwargs: dict) -> list[DTensor]:
    found: list[DTensor] = []

    def walk(a: Any) -> None:
        if isinstance(a, DTensor):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            for b in a:
                walk(b)
    for a in args:
        walk(a)
    for v in kwargs.values():
        walk(v)
    return found


def _check_plain(call: Call) -> None:
    """torch's error for plain tensors (other than 0-d ones) mixed with DTensors."""
    def walk(a: Any) -> bool:
        if isinstance(a, Tensor) and not isinstance(a, DTensor):
            return a._data.ndim > 0
        if isinstance(a, (list, tuple)):
            return any(walk(b) for b in a)
        return False
    if any(walk(a) for a in call.args) or any(walk(v) for v in call.kwargs.values()):
        raise RuntimeError(f"{_aten_name(call)} got mixed torch.Tensor and DTensor, need to convert all torch.Tensor "
                           "to DTensor before calling distributed operators!")
    meshes = {d.device_mesh for d in call.dts}
    if len(meshes) > 1:
        raise NotImplementedError(f"aten.{call.name}: DTensor does not support cross-mesh operation yet! Got meshes: "
                                  f"{' '.join(map(str, meshes))}")


def _aten_name(call: Call) -> str:
    """torch's name of the aten op a call reaches, as its errors print it (approximately: ember has no aten)."""
    name = call.name.strip("_")
    name = {"matmul": "mm", "truediv": "div", "rsub": "rsub"}.get(name, name)
    tensors = sum(isinstance(a, Tensor) for a in call.args)
    return f"aten.{name}.Tensor" if tensors == 2 and name in _BINARY_TENSOR else f"aten.{name}.default"


_BINARY_TENSOR = frozenset("add sub mul div eq ne lt le gt ge pow remainder fmod maximum minimum".split())


def dispatch(func: Callable, types: Any, args: tuple, kwargs: dict) -> Any:
    """``DTensor.__torch_function__``."""
    from . import _ops  # noqa: F401 (fills RULES)
    if any(not issubclass(t, DTensor) and issubclass(t, Tensor) and t is not Tensor for t in types):
        return NotImplemented
    name = getattr(func, "__name__", "")
    if name in ("__get__", "__set__", "__delete__"):
        prop = _property_name(func)
        if name == "__get__" and prop in _GETTERS:
            return _GETTERS[prop](args[0])
        if name == "__set__" and prop == "data":
            return _set_data(args[0], args[1])
        return _plain(func, args, kwargs)
    if name in _PASS or (name == "type" and len(args) == 1 and not kwargs):
        return _plain(func, args, kwargs)
    if name in _REFUSED:
        raise RuntimeError(_REFUSED[name])
    call = Call(func, name, args, kwargs, _collect(args, kwargs))
    if not call.dts:
        return _plain(func, args, kwargs)
    _check_plain(call)
    call = _scalars_as_replicas(call)
    rule = RULES.get(name)
    if rule is not None:
        plan = rule(call)
        if isinstance(plan, Plan):
            return execute(call, plan)
        if plan is not None:
            return plan.value   # the rule ran the call itself (in-place ops)
    if _is_inplace(name):
        if getattr(func, "__module__", None) == "ember.nn.init":   # (its fills run without grad, as torch's)
            with no_grad():
                return inplace_global(call)
        return inplace_global(call)
    return replicate_fallback(call)


def _scalars_as_replicas(call: Call) -> Call:
    """0-d plain tensors take part as replicated DTensors (torch's implicit replication of scalar tensors)."""
    mesh = call.mesh

    def sub(a: Any) -> Any:
        if isinstance(a, Tensor) and not isinstance(a, DTensor):
            return DTensor.from_local(a, mesh, [Replicate()] * mesh.ndim)
        if isinstance(a, (list, tuple)) and any(isinstance(b, Tensor) for b in a) and not hasattr(a, "_fields"):
            return type(a)(sub(b) for b in a)
        return a
    if not any(isinstance(a, Tensor) and not isinstance(a, DTensor) for a in _walk(call.args, call.kwargs)):
        return call
    args = tuple(sub(a) for a in call.args)
    kwargs = {k: sub(v) for k, v in call.kwargs.items()}
    return Call(call.func, call.name, args, kwargs, _collect(args, kwargs))


def _walk(args: tuple, kwargs: dict) -> list[Any]:
    out: list[Any] = []

    def walk(a: Any) -> None:
        out.append(a)
        if isinstance(a, (list, tuple)):
            for b in a:
                walk(b)
    for a in (*args, *kwargs.values()):
        walk(a)
    return out


def _is_inplace(name: str) -> bool:
    return (name.endswith("_") and not name.startswith("__")) or name == "__setitem__" or (
        name.startswith("__i") and name.endswith("__") and name not in ("__index__", "__int__", "__invert__",
                                                                         "__iter__"))


def replicate_fallback(call: Call) -> Any:
    """Run the call on replicas: tensor results are replicated DTensors (values from the global tensors)."""
    rep = tuple(Replicate() for _ in range(call.mesh.ndim))
    return execute(call, Plan([rep] * len(call.dts), None, None))


def inplace_global(call: Call) -> Any:
    """An in-place call without a rule: run it on the global tensor (every rank the same, random fills included,
    as one process would) and keep this rank's part in place."""
    self_ = call.args[0] if call.args and isinstance(call.args[0], DTensor) else call.dts[0]
    if STATE.enabled and any(d._rg for d in call.dts):
        raise RuntimeError(f"{call.name}: in-place operations on DTensors that require grad are not supported "
                           "(use torch.no_grad())")
    mesh = self_.device_mesh
    rep = tuple(Replicate() for _ in range(mesh.ndim))
    with no_grad():
        fulls = [redistribute_local(d._local_tensor, mesh, d.placements, rep, d.shape).clone() for d in call.dts]
        args, kwargs = call.substitute(fulls)
        call.func(*args, **kwargs)
        full = fulls[[i for i, d in enumerate(call.dts) if d is self_][0]]
        mine = redistribute_local(full, mesh, rep, self_.placements, self_.shape)
        self_._data[...] = mine._data
        self_._vc[0] += 1
    return self_


# ---------------------------------------------------------------------------------------------- special cases
def _transpose_prop(name: str) -> Callable[[DTensor], Any]:
    def get(d: DTensor) -> Any:
        import ember
        if name == "T":
            return ember.permute(d, tuple(reversed(range(d.ndim))))
        if name == "mT":
            return ember.transpose(d, -2, -1)
        if name == "H":
            return ember.permute(d, tuple(reversed(range(d.ndim)))).conj()
        return ember.transpose(d, -2, -1).conj()
    return get


def _data_get(d: DTensor) -> DTensor:
    return _wrap(_alias_plain(d), d._spec, False)


def _set_data(d: DTensor, value: Any) -> None:
    if not isinstance(value, DTensor):
        raise RuntimeError("setting .data of a DTensor needs a DTensor")
    d._data, d._dtype, d._device = value._data, value._dtype, value._device
    d._spec = value._spec


_GETTERS: dict[str, Callable[[DTensor], Any]] = {"T": _transpose_prop("T"), "mT": _transpose_prop("mT"),
                                                 "H": _transpose_prop("H"), "mH": _transpose_prop("mH"),
                                                 "data": _data_get}

# methods that act on the Python object or its metadata, not on values
_PASS = frozenset("""
requires_grad_ retain_grad register_hook register_post_accumulate_grad_hook backward is_floating_point is_complex
is_signed element_size get_device data_ptr untyped_storage storage_offset is_shared share_memory_ is_inference
is_set_to _is_view is_pinned pin_memory __hash__ __reduce_ex__ __reduce__ __setstate__ __getstate__
__dir__ __sizeof__ dim_order has_names __class__ __instancecheck__ __subclasscheck__ __init__
""".split())

_REFUSED = {"tolist": ".tolist() is not supported for tensor subclasses, got DTensor",
            "numpy": ".numpy() is not supported for tensor subclasses, got DTensor"}
