"""The autograd graph and its backward engine.

Every differentiable op result carries a :class:`Node` (its ``grad_fn``); a node holds edges
``(node, output_nr)`` to the nodes of its inputs, the tensors it saved, and metadata (shape, dtype) of
its inputs so the engine — not each op — reduces broadcast gradients and casts them back.
Leaves that require grad get an :class:`AccumulateGrad` node, cached through a weak reference so the
graph, not the tensor, keeps it alive (no reference cycles).

The engine is iterative: it counts dependencies with an explicit stack, then runs nodes whose
gradients are complete, so a 100,000-op chain needs no recursion.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .grad_mode import STATE

if TYPE_CHECKING:
    from .._tensor import Tensor

__all__ = ["Node", "AccumulateGrad", "run_backward", "grad_edge"]

_HINT = (" Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
         "with torch.autograd.set_detect_anomaly(True, check_nan=False).")
_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after "
          "they have already been freed). Saved intermediate values of the graph are freed when you call "
          ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
          "graph a second time or if you need to access saved tensors after calling backward.")


class Node:
    """A backward function in the graph (``grad_fn``). Subclasses implement :meth:`backward`.

    ``_next``: one edge ``(node, output_nr)`` or ``None`` per differentiable input;
    ``_meta``: ``(shape, dtype)`` per input, used to reduce/cast incoming gradients;
    ``_saved``: tensors saved for backward (``None`` once freed), ``_versions`` their versions.
    """

    __slots__ = ("_next", "_meta", "_saved", "_versions", "_out_meta", "__weakref__", "__dict__")
    _n_outputs = 1
    _retained_outputs: tuple = ()

    def __init__(self) -> None:
        self._saved = None

    # -- construction helpers, called by the op machinery -------------------------------------------
    def save(self, *tensors: Any) -> None:
        """Save tensors (or None/scalars) for backward, recording their versions."""
        self._saved = tensors
        self._versions = tuple(t._vc[0] if hasattr(t, "_vc") else None for t in tensors)

    @property
    def saved(self) -> tuple:
        """The saved tensors, checked against in-place modification since they were saved.

        A saved output comes back with this node as its ``grad_fn`` while grad mode is on
        (``create_graph``), so gradients of gradients flow through it.
        """
        saved = self._saved
        if saved is None or saved is _RELEASED:
            raise RuntimeError(_FREED)
        out = []
        for t, v in zip(saved, self._versions, strict=True):
            if v is not None and t._vc[0] != v:
                raise RuntimeError(_modified_message(t, v))
            if type(t) is SavedOutput:
                t = t.unpack(self)
            out.append(t)
        return tuple(out)

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        return tuple(e if e is not None else (None, 0) for e in self._next)

    @property
    def metadata(self) -> dict:
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    def backward(self, *grads: Any) -> Sequence[Any]:
        """Gradients w.r.t. each input edge, given gradients w.r.t. each output."""
        raise NotImplementedError

    def fill_missing(self, grads: list) -> list:
        """Replace missing output gradients by zeros shaped like the outputs (``_out_meta``)."""
        from .._tensor import zeros_of
        return [g if g is not None else zeros_of(shape, dtype, dev)
                for g, (shape, dtype, dev) in zip(grads, self._out_meta, strict=True)]

    def release(self) -> None:
        """Free saved tensors (after a backward without ``retain_graph``)."""
        if self._saved is not None:
            self._saved = _RELEASED

    def register_hook(self, fn: Callable) -> Any:
        """``fn(grad_inputs, grad_outputs)`` runs after this node; may return new grad_inputs."""
        return _add_hook(self, "_hooks", fn)

    def register_prehook(self, fn: Callable) -> Any:
        """``fn(grad_outputs)`` runs before this node; may return new grad_outputs."""
        return _add_hook(self, "_pre_hooks", fn)

    def __call__(self, *grads: Any) -> Any:
        out = self.backward(*grads)
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


_RELEASED = ("released",)   # sentinel: the node had saved tensors, now freed


class RemovableHandle:
    """Returned by ``register_*hook``; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, store: dict) -> None:
        self._store = store
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id

    def remove(self) -> None:
        self._store.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _add_hook(obj: Any, attr: str, fn: Callable) -> RemovableHandle:
    try:
        store = getattr(obj, attr)
    except AttributeError:
        store = None
    if store is None:
        store = {}
        setattr(obj, attr, store)
    handle = RemovableHandle(store)
    store[handle.id] = fn
    return handle


class SavedOutput:
    """An op's own output saved for its backward, held without its grad_fn (no reference cycle)."""

    __slots__ = ("data", "_vc", "output_nr", "creator", "_dtype", "_device", "shape")

    def __init__(self, out: Tensor) -> None:
        self.data = out._data
        self._vc = out._vc
        self.output_nr = out._output_nr
        self._dtype = out._dtype
        self._device = out._device
        self.creator = type(out._grad_fn).__name__ if out._grad_fn is not None else None
        self.shape = out._data.shape

    def unpack(self, node: Node) -> Tensor:
        from .._tensor import from_array
        t = from_array(self.data, self._dtype, self._device)
        t._vc = self._vc
        if STATE.enabled:
            t._grad_fn = node
            t._output_nr = self.output_nr
            t._rg = True
        return t

    def type(self) -> str:
        return "torch." + self._dtype._legacy


def _modified_message(t: Tensor, expected: int) -> str:
    fn = t._grad_fn if type(t) is not SavedOutput else t.creator
    what = f"[{t.type()} [{', '.join(map(str, t.shape))}]]"
    if fn is not None:
        name = fn if isinstance(fn, str) else type(fn).__name__
        base = name[:-len("Backward0")] if name.endswith("Backward0") else name
        what += f", which is output {getattr(t, '_output_nr', getattr(t, 'output_nr', 0))} of {base},"
    return ("one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: {what} is at version {t._vc[0]}; expected version {expected} instead." + _HINT)


class AccumulateGrad(Node):
    """The sink node of a leaf tensor: adds incoming gradients into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        self._saved = None
        self._next = ()
        self._meta = ((variable._data.shape, variable._dtype),)
        self.variable = variable

    def backward(self, grad: Any) -> tuple:  # pragma: no cover - the engine accumulates directly
        accumulate_into_leaf(self.variable, grad, False)
        return ()


def grad_accumulator(t: Tensor) -> AccumulateGrad:
    """The (cached) AccumulateGrad node of a leaf that requires grad."""
    try:
        ref = t._accum
        acc = ref() if ref is not None else None
    except AttributeError:
        acc = None
    if acc is None:
        acc = AccumulateGrad(t)
        t._accum = weakref.ref(acc)
    return acc


def grad_edge(t: Tensor) -> tuple[Node, int] | None:
    """The edge through which gradient flows into ``t`` (None when it does not require grad)."""
    fn = t._grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if t._rg:
        return (grad_accumulator(t), 0)
    return None


def accumulate_into_leaf(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """``t.grad += g`` with torch's rules: the first gradient is stolen when nothing else holds it."""
    hooks = getattr(t, "_post_acc_hooks", None)
    old = t._grad_or_none()
    if old is None:
        # steal only a gradient nobody else references (engine frame + argument + getrefcount's own)
        if (not create_graph and g._base is None and sys.getrefcount(g) <= _STEAL_REFS
                and sys.getrefcount(g._data) <= 2 and g._data.flags.c_contiguous):
            t._grad = g.detach() if g._grad_fn is not None else g
        else:
            t._grad = g.detach().clone() if not create_graph else g.clone()
    elif create_graph or STATE.enabled:
        t._grad = old + g
    else:
        old._data += g._data if old._dtype is g._dtype else g._data.astype(old._dtype.np)
    if hooks:
        for h in tuple(hooks.values()):
            h(t)


_STEAL_REFS = 3


def _reduce_to(g: Tensor, meta: tuple) -> Tensor:
    shape, dtype = meta
    if g._data.shape != shape:
        g = g.sum_to_size(shape)
    if g._dtype is not dtype:
        g = g.to(dtype.to_real() if not dtype.is_complex and g._dtype.is_complex else dtype) \
            if not (g._dtype.is_complex and not dtype.is_complex) else g.real.to(dtype)
    return g


def _collect(roots: list[Node]) -> dict[Node, int]:
    """Dependency counts of every node reachable from ``roots`` (iterative DFS)."""
    deps: dict[Node, int] = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for e in node._next:
            if e is None:
                continue
            child = e[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps


def _needed(roots: list[Node], targets: set[Node]) -> set[Node]:
    """Nodes from which some target node is reachable (only those run when inputs are given)."""
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for e in node._next:
            if e is not None and e[0] not in seen:
                stack.append((e[0], False))
    needed: set[Node] = set()
    for node in order:   # post-order: children first
        if node in targets or any(e is not None and e[0] in needed for e in node._next):
            needed.add(node)
    return needed


def run_backward(tensors: Sequence[Tensor], grad_tensors: Sequence[Tensor], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Tensor] | None = None, allow_unused: bool = True,
                 accumulate: bool = True) -> list[Tensor | None]:
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``accumulate`` the gradients land in the ``.grad`` of leaves (of ``inputs`` only, when given);
    otherwise they are returned for ``inputs`` (``autograd.grad``).
    """
    roots: list[Node] = []
    root_grads: dict[Node, list] = {}
    for i, t in enumerate(tensors):
        edge = grad_edge(t)
        if edge is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        node, nr = edge
        buf = root_grads.get(node)
        if buf is None:
            buf = root_grads[node] = [None] * node._n_outputs
            roots.append(node)
        g = grad_tensors[i]
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    capture: dict[tuple[Node, int], int] = {}
    targets: set[Node] | None = None
    if inputs is not None:
        targets = set()
        for i, t in enumerate(inputs):
            edge = grad_edge(t)
            if edge is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture[edge] = i
            targets.add(edge[0])
    results: list[Any] = [None] * (len(inputs) if inputs is not None else 0)

    deps = _collect(roots)
    needed = _needed(roots, targets) if targets is not None else None
    buffers = root_grads
    ready = [n for n in roots if deps.get(n, 0) == 0]
    prev = STATE.enabled
    STATE.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * node._n_outputs
            if capture:
                for nr, g in enumerate(grads):
                    slot = capture.get((node, nr))
                    if slot is not None:
                        results[slot] = g
            if (needed is not None and node not in needed) or all(g is None for g in grads):
                _release_children(node, deps, ready, retain_graph)
                continue
            if type(node) is AccumulateGrad:
                g = grads[0]
                del grads
                if g is not None and accumulate and (targets is None or node in targets):
                    tensor_hooks = getattr(node.variable, "_hooks", None)
                    if tensor_hooks:
                        g = _run_tensor_hooks(tensor_hooks, g)
                    accumulate_into_leaf(node.variable, g, create_graph)
                continue
            if capture and not accumulate and node in targets and needed is not None \
                    and not any(e is not None and e[0] in needed for e in node._next):
                _release_children(node, deps, ready, retain_graph)
                continue
            outs = _call_node(node, grads, retain_graph)
            for e, g, meta in zip(node._next, outs, node._meta):
                if e is None:
                    continue
                child, nr = e
                if g is not None:
                    g = _reduce_to(g, meta)
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * child._n_outputs
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    ready.append(child)
    finally:
        STATE.enabled = prev
    if inputs is not None and not allow_unused and not accumulate:
        for i, r in enumerate(results):
            if r is None:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in "
                                   "the graph. Set allow_unused=True if this is the desired behavior.")
    return results


def _release_children(node: Node, deps: dict[Node, int], ready: list[Node], retain_graph: bool) -> None:
    """Skip ``node`` (no gradient reached it, or it leads to no requested input): unblock its children."""
    for e in node._next:
        if e is None:
            continue
        left = deps[e[0]] - 1
        deps[e[0]] = left
        if left == 0:
            ready.append(e[0])


def _run_tensor_hooks(hooks: dict, g: Tensor) -> Tensor:
    for h in tuple(hooks.values()):
        r = h(g)
        if r is not None:
            g = r
    return g


def _call_node(node: Node, grads: list, retain_graph: bool) -> Sequence[Any]:
    if node._saved is _RELEASED:
        raise RuntimeError(_FREED)
    th = getattr(node, "_tensor_pre_hooks", None)
    if th:
        for nr, hooks in th.items():
            if grads[nr] is not None:
                grads[nr] = _run_tensor_hooks(hooks, grads[nr])
    pre = getattr(node, "_pre_hooks", None)
    if pre:
        for h in tuple(pre.values()):
            r = h(tuple(grads))
            if r is not None:
                grads = list(r)
    if node._n_outputs == 1:
        outs = node.backward(grads[0])
    elif any(g is None for g in grads):
        outs = node.backward(*node.fill_missing(grads))
    else:
        outs = node.backward(*grads)
    post = getattr(node, "_hooks", None)
    if post:
        for h in tuple(post.values()):
            r = h(tuple(outs), tuple(grads))
            if r is not None:
                outs = r
    if not retain_graph:
        node.release()
    return outs

