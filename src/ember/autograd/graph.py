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

import heapq
import itertools
import os
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from .._core.device import CPU, xp_of
from .._core.dtype import int64
from .._core.memory_format import layout_strides
from .._core.warn import warn
from .._tensor import _INFERENCE, SAME_DTYPE, Tensor, from_array, zeros_of
from ._saved_hooks import ACTIVE as _HOOKS_ACTIVE
from ._saved_hooks import PACKED, Packed, current_hooks, disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks
from .forward_ad import _DUALS
from .grad_mode import STATE, sync

__all__ = ["Node", "AccumulateGrad", "SavedOutput", "RemovableHandle", "run_backward", "grad_edge",
           "grad_accumulator", "accumulate_into_leaf", "retain_grad", "move_retain_grad",
           "regenerate_view_history", "add_hook", "queue_callback", "FREED", "GradientEdge", "get_gradient_edge",
           "increment_version", "register_multi_grad_hook", "saved_tensors_hooks", "save_on_cpu",
           "disable_saved_tensors_hooks"]

ANOMALY = [False, True]   # anomaly detection: [enabled, check_nan] (process-wide, as torch's)
PROFILER: list[Callable | None] = [None]   # while a profile records: wraps node calls to time them
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stack() -> str:
    """The current Python stack outside ember, formatted as a traceback (what anomaly mode reports)."""
    frames = [f for f in traceback.extract_stack() if not f.filename.startswith(_PACKAGE)]
    return "".join(traceback.format_list(frames))


def _anomaly_warning(node: Node) -> None:
    """torch's warning naming the failing node and the forward call that created it."""
    trace = node.__dict__.get("_forward_trace")
    if trace is not None:
        warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
             f"{trace}", UserWarning, stacklevel=4)


def _call_node_checked(node: Node, grads: list, retain_graph: bool) -> Sequence[Any]:
    """:func:`_call_node` in anomaly mode: a failing node or (with check_nan) a NaN gradient is reported
    with the forward traceback, and NaN raises torch's error."""
    try:
        outs = _call_node(node, grads, retain_graph)
    except Exception:
        _anomaly_warning(node)
        raise
    if ANOMALY[1]:
        for i, g in enumerate(outs):
            if g is not None and (g._dtype.is_floating_point or g._dtype.is_complex) and \
                    bool(xp_of(g._device).isnan(g._data).any()):
                _anomaly_warning(node)
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    return outs


_HINT = (" Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
         "with torch.autograd.set_detect_anomaly(True, check_nan=False).")
FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after "
         "they have already been freed). Saved intermediate values of the graph are freed when you call "
         ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
         "graph a second time or if you need to access saved tensors after calling backward.")
_INFERENCE_SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in "
                    "inference mode in computation tracked by autograd. To work around this, you can make a "
                    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead "
                    "of `torch.inference_mode()`.")
_new = object.__new__
_SCALARS = frozenset((int, float, bool, complex, str, tuple))
_RELEASED = ("released",)   # ``_versions`` of a node whose saved tensors were freed
_UNVERSIONED = ("unversioned",)   # ``_versions`` when nothing saved has a version (None, numbers)
_isinstance = isinstance
_next_seq = itertools.count().__next__   # creation order of nodes: the engine runs later-created nodes first
_LEAF_FIRST = 1 << 62   # AccumulateGrad nodes run as soon as they are ready, as in torch


class Node:
    """A backward function in the graph (``grad_fn``). Subclasses implement :meth:`backward`.

    ``_next``: one edge ``(node, output_nr)`` or ``None`` per input;
    ``_meta``: ``(shape, dtype)`` per input (None for non-tensors), used to reduce/cast gradients;
    ``_saved``: what :meth:`save` stored, ``_versions`` the saved tensors' versions at that time.
    Hooks live in the instance ``__dict__``; ``_hooked`` says whether there are any (one check per node).
    """

    __slots__ = ("_next", "_meta", "_saved", "_versions", "_out_meta", "_seq", "__weakref__", "__dict__")
    _n_outputs = 1
    _hooked = False
    _vv: int | None = None   # for the node of a view: the version of the view's memory when it was made
    _runs_ungraded = False   # run even when no gradient reached it (a custom Function's node, as in torch)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """ember's own node classes print as torch's built-in ones (``<class 'SinBackward0'>``)."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith(("ember.", "torch.autograd.graph")):
            cls.__module__ = "builtins"

    def __init__(self) -> None:
        self._saved = None
        self._seq = _next_seq()
        if ANOMALY[0]:
            self.__dict__["_forward_trace"] = _user_stack()

    def _sequence_nr(self) -> int:
        return self._seq

    # -- construction helpers, called by the op machinery -------------------------------------------
    def save(self, *tensors: Any) -> None:
        """Save tensors (or None/scalars) for backward, recording their versions (or handing them to the
        saved-tensor hooks registered in this thread)."""
        if _HOOKS_ACTIVE[0]:
            hooks = current_hooks()
            if hooks is not None:
                self._save_packed(tensors, hooks)
                return
        self._saved = tensors
        versions = []   # a plain loop: cheaper than a comprehension's frame for these few items
        versioned = False
        for t in tensors:
            if type(t) in _VERSIONED:
                versions.append(t._vc[0])
                versioned = True
            elif t is None:
                versions.append(None)
            else:
                v = _version_of(t)
                versions.append(v)
                versioned = versioned or v is not None
        if not versioned:
            self._versions = _UNVERSIONED
            return
        if _INFERENCE[0]:
            for t in tensors:
                if type(t) is not SavedOutput and _isinstance(t, Tensor) and t.is_inference():
                    raise RuntimeError(_INFERENCE_SAVED)
        self._versions = versions

    def _save_packed(self, tensors: tuple, hooks: tuple[Callable, Callable]) -> None:
        """:meth:`save` under ``saved_tensors_hooks``: each tensor is stored as its pack hook's result."""
        if _INFERENCE[0]:
            for t in tensors:
                if type(t) is not SavedOutput and _isinstance(t, Tensor) and t.is_inference():
                    raise RuntimeError(_INFERENCE_SAVED)
        saved, versions = [], []
        for t in tensors:
            if type(t) is SavedOutput:
                alias = from_array(t.data, t._dtype, t._device)
                alias._vc = t._vc
                alias._rg = True   # as the output itself (its grad_fn is left out: no node → tensor → node cycle)
                saved.append(Packed(alias, hooks, (None, t.output_nr)))
                versions.append(PACKED)
            elif _isinstance(t, Tensor):
                saved.append(Packed(t, hooks, grad_edge(t)))
                versions.append(PACKED)
            else:
                saved.append(t)
                versions.append(_version_of(t))
        self._saved = tuple(saved)
        self._versions = versions

    @property
    def saved(self) -> tuple:
        """The saved tensors, checked against in-place modification since they were saved.

        A saved output comes back with this node as its ``grad_fn`` while grad mode is on
        (``create_graph``), so gradients of gradients flow through it. After the graph was freed the
        tensors come back as placeholders whose data raises torch's "backward a second time" error, so
        a backward that never reads them (e.g. an addition's) still works.
        """
        saved = self._saved
        if saved is None:
            return ()
        versions = self._versions
        if versions is _RELEASED or versions is _UNVERSIONED:
            return saved
        out = []
        for t, v in zip(saved, versions, strict=True):
            if v is PACKED:
                t = t.unpacked(self)
            elif v is not None:
                if t._vc[0] != v:
                    raise RuntimeError(_modified_message(t, v))
                if type(t) is SavedOutput:
                    t = t.unpack(self)
            out.append(t)
        return tuple(out)

    def release(self) -> None:
        """Free saved tensors (after a backward without ``retain_graph``), leaving placeholders that keep
        only ``requires_grad`` (other saved values, e.g. Python scalars, stay)."""
        saved = self._saved
        if saved is None:
            return
        versions = self._versions
        if versions is not _RELEASED:
            if versions is not _UNVERSIONED:
                self._saved = tuple([t if v is None else _FREED_RG if type(t) is SavedOutput or t._rg else _FREED
                                     for t, v in zip(saved, versions, strict=True)])
            self._versions = _RELEASED

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        edges = self._next
        if type(self).__name__ in _SCALAR_OVERLOADS:   # torch lists no edge for a Scalar argument
            edges = [e for e, m in zip(edges, self._meta, strict=True) if m is not None]
        return tuple(e if e is not None else (None, 0) for e in edges)

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
        return [g if g is not None else zeros_of(shape, dtype, dev)
                for g, (shape, dtype, dev) in zip(grads, self._out_meta, strict=True)]

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)`` runs after this node; may return new grad_inputs."""
        return self._add_hook("_post_hooks", fn)

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_outputs)`` runs before this node; may return new grad_outputs."""
        return self._add_hook("_pre_hooks", fn)

    def _add_hook(self, kind: str, fn: Callable, key: int | None = None) -> RemovableHandle:
        self._hooked = True
        store = self.__dict__.setdefault(kind, {})
        if key is not None:
            store = store.setdefault(key, {})
        return _store_hook(store, fn)

    def __call__(self, *grads: Any) -> Any:
        out = self.backward(*grads)
        return out[0] if len(out) == 1 else tuple(out)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


class _FreedTensor(Tensor):
    """Stands for a saved tensor after the graph was freed: reading its data or dtype (what any op reads
    first) raises torch's error."""

    __slots__ = ()

    @property
    def _data(self) -> Any:   # type: ignore[override]
        raise RuntimeError(FREED)

    @property
    def _dtype(self) -> Any:   # type: ignore[override]
        raise RuntimeError(FREED)


def _freed(requires_grad: bool) -> _FreedTensor:
    f = _new(_FreedTensor)
    f._device, f._rg, f._grad_fn, f._base, f._output_nr = CPU, requires_grad, None, None, 0
    return f


_FREED_RG, _FREED = _freed(True), _freed(False)


class RemovableHandle:
    """Returned by every ``register_*hook`` (tensors, nodes, modules, optimizers): ``remove()`` takes the
    hook out of the dict it was registered in (and of ``extra_dict``); ids increase, so dicts keep
    registration order."""

    next_id = 0

    def __init__(self, hooks_dict: dict, *, extra_dict: Any = None) -> None:
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = [] if extra_dict is None else extra_dict if isinstance(extra_dict, list) else [extra_dict]
        self._dicts = (hooks_dict, *extras)

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _RetainGrad:
    """Stores the gradient flowing through a non-leaf into its ``.grad`` (``retain_grad``)."""

    __slots__ = ("ref",)

    def __init__(self, t: Tensor) -> None:
        self.ref = weakref.ref(t)

    def __call__(self, g: Tensor) -> None:
        t = self.ref()
        if t is not None:
            old = t._grad_or_none()
            t._grad = g.clone() if old is None else old + g


def retain_grad(t: Tensor) -> None:
    """``Tensor.retain_grad``: populate ``.grad`` of this non-leaf during backward (a no-op on leaves).
    The hook runs after the tensor's other hooks and follows the tensor when an in-place op gives it a
    new grad_fn (:func:`move_retain_grad`)."""
    if not t._rg:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if t._grad_fn is None or getattr(t, "_retains_grad", False):
        return
    t._retains_grad = True
    t._grad_fn._add_hook("_retain_hooks", _RetainGrad(t), t._output_nr)


def move_retain_grad(t: Tensor, old_fn: Node | None, old_nr: int) -> None:
    """After ``t`` got a new grad_fn (in place, or a regenerated view), its retain_grad hook moves along."""
    if old_fn is None or old_fn is t._grad_fn or not getattr(t, "_retains_grad", False):
        return
    store = old_fn.__dict__.get("_retain_hooks", {}).get(old_nr, {})
    for key, hook in tuple(store.items()):
        if hook.ref() is t:
            del store[key]
            t._grad_fn._add_hook("_retain_hooks", hook, t._output_nr)


def add_hook(obj: Any, attr: str, fn: Callable) -> RemovableHandle:
    """Register ``fn`` in the dict ``obj.<attr>`` (created on first use)."""
    store = getattr(obj, attr, None)
    if store is None:
        store = {}
        setattr(obj, attr, store)
    return _store_hook(store, fn)


def _store_hook(store: dict, fn: Callable) -> RemovableHandle:
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
        t = from_array(self.data, self._dtype, self._device)
        t._vc = self._vc
        if STATE.enabled:
            t._grad_fn = node
            t._output_nr = self.output_nr
            t._rg = True
        return t

    def type(self) -> str:
        return "torch." + self._dtype._legacy


_VERSIONED = {Tensor, SavedOutput}   # exact types whose version is read inline by Node.save


def _version_of(t: Any) -> int | None:
    """The version of a saved value (None for None, numbers and other unversioned objects)."""
    if t is None or type(t) in _SCALARS:
        return None
    vc = getattr(t, "_vc", None)
    return vc[0] if vc is not None else None


def _modified_message(t: Any, expected: int) -> str:
    what = f"[{t.type()} [{', '.join(map(str, t.shape))}]]"
    if type(t) is SavedOutput:
        name, nr = t.creator, t.output_nr
    else:
        fn = t._grad_fn
        name, nr = (type(fn).__name__ if fn is not None else None), t._output_nr
        if fn is not None and t._base is not None and fn._vv is not None and fn._vv != t._vc[0]:
            name, nr = "AsStridedBackward0", 0   # what torch regenerates for a view modified in place
    if name is not None:
        what += f", which is output {nr} of {_strip_backward(name)},"
    return ("one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: {what} is at version {t._vc[0]}; expected version {expected} instead." + _HINT)


def multi_output_view_error(view: Tensor, what: str) -> RuntimeError:
    """torch's error for an in-place change reaching an output of a function that returns several views."""
    name = _strip_backward(type(view._grad_fn).__name__)
    return RuntimeError(f"Output {view._output_nr} of {name} is a view and {what}. This view is the output of a "
                        "function that returns multiple views. Such functions do not allow the output views to be "
                        "modified inplace. You should replace the inplace operation by an out-of-place one.")


def _strip_backward(name: str) -> str:
    """``SigmoidBackward0`` → ``Sigmoid``, ``PowBackward1`` → ``Pow1``, ``MyFnBackward`` → ``MyFn`` (torch names
    ops so in errors)."""
    i = name.rfind("Backward")
    tail = name[i + 8:]
    if i <= 0 or (tail and not tail.isdigit()):
        return name
    return name[:i] if tail in ("", "0") else name[:i] + tail


# nodes of torch's Scalar overloads (pow(Tensor, Scalar), lerp(..., Scalar weight), rsub(Tensor, Scalar), ...):
# their Python-number operands have no edge in next_functions (plain ops like mul wrap the number as a tensor)
_SCALAR_OVERLOADS = frozenset(("PowBackward0", "PowBackward2", "LerpBackward0", "RsubBackward1", "FmodBackward0",
                               "RemainderBackward0", "XlogyBackward1", "XlogyBackward2", "CopysignBackward1",
                               "SpecialXlog1pyBackward1", "SpecialXlog1pyBackward2", "SpecialZetaBackward1",
                               "SpecialZetaBackward2"))


class CppFunction(Node):
    """A node torch writes in C++ with no class of its own (``name()`` says which): the identity that
    ``forward_ad.unpack_dual`` puts between a tensor with history and its primal."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::Identity"

    def backward(self, g: Any) -> tuple:
        return (g,)


class AccumulateGrad(Node):
    """The sink node of a leaf tensor: adds incoming gradients into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        self._saved = None
        self._seq = _LEAF_FIRST + _next_seq()
        self._next = ()
        self._meta = ((variable._data.shape, variable._dtype),)
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def backward(self, grad: Any) -> tuple:
        accumulate_into_leaf(self.variable, cast_to_grad_dtype(self.variable, grad), STATE.grad)
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
        if t._base is not None and fn._vv is not None and fn._vv != t._vc[0]:
            return regenerate_view_history(t)
        return (fn, t._output_nr)
    if t._rg and not (_DUALS and t._fw_only):   # a forward-AD dual tensor may carry _rg only for its tangent
        return (grad_accumulator(t), 0)
    return None


class GradientEdge(NamedTuple):
    """A place in the graph where a gradient flows: a node and which of its outputs (``autograd.grad`` accepts
    it as an input, to get the gradient flowing there without holding the tensor)."""

    node: Node
    output_nr: int
    ownership_token: Any = None


def get_gradient_edge(tensor: Tensor) -> GradientEdge:
    """The edge through which gradient flows into ``tensor`` (its grad_fn, or a leaf's AccumulateGrad)."""
    edge = grad_edge(tensor)
    if edge is None:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require "
                           "gradients")
    return GradientEdge(edge[0], edge[1])


def increment_version(tensor: Tensor | Iterable[Tensor]) -> None:
    """Bump the version counter(s), as an in-place change would: for code that writes a tensor's memory behind
    autograd's back and wants saved copies of it checked."""
    for t in (tensor,) if _isinstance(tensor, Tensor) else tensor:
        t._vc[0] += 1


def register_multi_grad_hook(tensors: Sequence[Tensor], fn: Callable, *, mode: str = "all") -> RemovableHandle:
    """Call ``fn`` once per backward pass that reaches ``tensors``: ``mode='all'`` with the gradients of all of
    them (None for those the pass does not compute) as soon as the last one the pass computes is in,
    ``mode='any'`` with the first gradient computed. The handle removes every per-tensor hook."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    seen: dict[int, list] = {}   # per backward pass: [gradients so far, how many remain to come]

    def make_hook(i: int) -> Callable[[Tensor], None]:
        def hook(grad: Tensor) -> None:
            task_id = current_graph_task_id()
            state = seen.get(task_id)
            if state is None:
                expected = sum(1 for t in tensors if t.requires_grad and will_engine_execute_node(grad_edge(t)[0]))
                state = seen[task_id] = [[None] * len(tensors), expected]
                _FINAL_CALLBACKS.stack[-1].append(lambda: seen.pop(task_id, None))
                if mode == "any":
                    fn(grad)
            grads = state[0]
            grads[i] = grad
            state[1] -= 1
            if mode == "all" and state[1] == 0:   # every gradient this pass computes for them is in
                fn(grads)
        return hook

    handles = [t.register_hook(make_hook(i)) for i, t in enumerate(tensors) if t.requires_grad]
    return _MultiHandle(handles)


class _MultiHandle(RemovableHandle):
    """A handle removing several hooks at once."""

    def __init__(self, handles: list) -> None:
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def regenerate_view_history(view: Tensor) -> tuple[Node, int] | None:
    """A view whose memory was modified in place (through its base or another view) since its grad_fn was
    made: as torch, its history becomes an ``AsStridedBackward0`` of its base's current history."""
    from ..ops.views import AsStridedBackward0, node_of, storage_positions
    if view._multi_output_view:
        raise multi_output_view_error(view, "its base or another view of its base has been modified inplace")
    base = view._base
    edge = grad_edge(base)
    if edge is None:
        view._grad_fn, view._rg = None, False
        return None
    old_fn, old_nr = view._grad_fn, view._output_nr
    xp = xp_of(base._device)
    node = node_of(AsStridedBackward0, index=from_array(storage_positions(view._data, base._data, xp), int64,
                                                        base._device))
    node._next = (edge,)
    node._meta = ((base._data.shape, base._dtype),)
    node._vv = view._vc[0]
    view._grad_fn, view._output_nr = node, 0
    move_retain_grad(view, old_fn, old_nr)
    return (node, 0)


def _owned(g: Tensor) -> bool:
    """Whether nothing but the engine references ``g`` and its memory, so a leaf may keep its array as
    ``.grad`` without a copy (torch steals such gradients; a user's ``gradient=`` tensor is never stolen).
    A contiguous view (``weight.t()``'s gradient) qualifies when its base is referenced by it alone."""
    if g._grad_fn is not None or sys.getrefcount(g) > _ENGINE_REFS:
        return False
    if g._base is not None and (g._base._grad_fn is not None or sys.getrefcount(g._base) > 2):
        return False
    arr = g._data   # referenced by g, by ``arr`` and by getrefcount's argument; more means shared
    if not arr.flags.c_contiguous or sys.getrefcount(arr) > 3:
        return False
    owner = id(g._base._data) if g._base is not None else None   # the base tensor holds one more reference
    base = arr.base
    while base is not None:
        if sys.getrefcount(base) > 3 + (id(base) == owner) or not hasattr(base, "base"):
            return False
        base = base.base
    return True


_ENGINE_REFS = 4   # the engine's variable, the two calls' arguments, getrefcount's argument


def _copy_in_layout_of(leaf: Tensor, g: Tensor) -> Tensor:
    """A copy of ``g`` with ``leaf``'s strides when those are dense (torch's ``clone_obey_contract``)."""
    arr = leaf._data
    strides = layout_strides(arr.shape, tuple(s // arr.itemsize for s in arr.strides), None)
    if strides is None:
        return from_array(g._data.copy(), g._dtype, g._device)
    xp = xp_of(g._device)
    buf = xp.empty(g._data.size, g._data.dtype)
    out = xp.lib.stride_tricks.as_strided(buf, arr.shape, tuple(s * buf.itemsize for s in strides))
    out[...] = g._data
    return from_array(out, g._dtype, g._device)


def cast_to_grad_dtype(t: Tensor, g: Tensor) -> Tensor:
    """``g`` in the dtype a leaf asked for with ``grad_dtype`` (unchanged when it kept the default or None)."""
    want = t._grad_dtype
    if want is SAME_DTYPE or want is None or g._dtype is want:
        return g
    return g.to(want)


def accumulate_into_leaf(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """``t.grad += g`` (``g`` already in ``t``'s grad_dtype) with torch's rules: in place when possible
    (``.grad`` keeps its identity), out of place under ``create_graph``; the first gradient is kept as is only
    when nothing else references it. A view made under no_grad (a leaf in name only) keeps no gradient, as in
    torch."""
    if t._no_grad_view:
        return
    old = t._grad_or_none()
    if old is None:
        if create_graph:   # a copy that stays differentiable (torch's grad_fn here: CopyBackwards)
            t._grad = zeros_of(g._data.shape, g._dtype, g._device).copy_(g)
        elif not t._data.flags.c_contiguous:   # torch gives .grad the leaf's own layout when it is dense
            t._grad = _copy_in_layout_of(t, g)
        else:
            if g._sparse_layout:   # a sparse gradient: copied as its own kind, or taken as torch takes it
                g = g.clone() if not _owned(g) else g._as_leaf_grad()
            elif not _owned(g):
                g = from_array(g._data.copy(), g._dtype, g._device)
            elif g._base is not None:
                g = from_array(g._data, g._dtype, g._device)
            t._grad = g
    elif create_graph:
        t._grad = old + g
    else:
        old._data += g._data if old._dtype is g._dtype else g._data.astype(old._dtype.np)
        old._vc[0] += 1
    hooks = getattr(t, "_post_acc_hooks", None)
    if hooks:
        for h in tuple(hooks.values()):
            h(t)


def _reduce_to(g: Tensor, meta: tuple, node: Any = None, index: int = 0) -> Tensor:
    """Sum a broadcast gradient back to the input's shape and cast it to the input's dtype (torch's
    ``validate_outputs``), with its error for a shape that cannot have been broadcast from the input's."""
    shape, dtype = meta
    gshape = g._data.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        if lead < 0 or any(s != 1 and s != d for s, d in zip(shape, gshape[lead:], strict=True)):
            name = type(node).__name__ if node is not None else "backward"
            raise RuntimeError(f"Function {name} returned an invalid gradient at index {index} - got "
                               f"{list(gshape)} but expected shape compatible with {list(shape)}")
        dims = (*range(lead), *(lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1))
        if dims:
            g = g.sum(dims, keepdim=True)
        if g._data.shape != shape:
            g = g.reshape(shape)
    if g._dtype is not dtype:
        if g._dtype.is_complex and not dtype.is_complex:
            g = g.real
        if g._dtype is not dtype:
            g = g.to(dtype)
    return g


# ---- the engine ----------------------------------------------------------------------------------------
def _dependencies(roots: list[Node]) -> dict[Node, int]:
    """For every node reachable from ``roots``: how many edges point at it (iterative DFS)."""
    deps: dict[Node, int] = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        for e in stack.pop()._next:
            if e is not None:
                child = e[0]
                deps[child] = deps.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
    return deps


def _leading_to(roots: list[Node], targets: set[Node]) -> set[Node]:
    """Nodes with a path of at least one edge to a target (the ones that must run to reach them)."""
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((e[0], False) for e in node._next if e is not None and e[0] not in seen)
    needed: set[Node] = set()
    for node in order:   # children come first
        for e in node._next:
            if e is not None and (e[0] in targets or e[0] in needed):
                needed.add(node)
                break
    return needed


def run_backward(tensors: Sequence[Tensor], grad_tensors: Sequence[Tensor], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Tensor] | None = None, allow_unused: bool = True,
                 accumulate: bool = True) -> list[Tensor | None]:
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``accumulate`` the gradients land in the ``.grad`` of leaves (only of ``inputs``, when given,
    which may be non-leaves); otherwise they are captured at ``inputs`` and returned (``autograd.grad``).
    """
    buffers: dict[Node, list] = {}
    roots: list[Node] = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors, strict=True)):
        edge = grad_edge(t)
        if edge is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        node, nr = edge
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_outputs
            roots.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    captures: dict[tuple[Node, int], list[int]] = {}
    targets: set[Node] = set()
    run: set[Node] | None = None
    if inputs is not None:
        for i, t in enumerate(inputs):
            edge = (t.node, t.output_nr) if type(t) is GradientEdge else grad_edge(t)
            if edge is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            captures.setdefault(edge, []).append(i)
            targets.add(edge[0])
        run = _leading_to(roots, targets)
        if accumulate:
            run |= targets
            captures, targets = {}, set()
    results: list[Any] = [None] * (len(inputs) if inputs is not None and not accumulate else 0)

    deps = _dependencies(roots)
    # torch's ready queue: the most recently created node first, leaves' AccumulateGrad before anything
    ready = [(-n._seq, n) for n in roots if n not in deps]
    heapq.heapify(ready)
    prev = STATE.grad
    STATE.grad = create_graph
    sync()   # a forward-AD level stays active: the gradients carry tangents (forward over reverse)
    callbacks = _FINAL_CALLBACKS.stack
    callbacks.append([])
    _FINAL_CALLBACKS.tasks.append((next(_TASK_IDS), deps, set(roots), run))
    checked = ANOMALY[0]
    call = _call_node_checked if checked else _call_node
    leaf = _leaf
    if PROFILER[0] is not None:   # ember.autograd.profiler times each node (nothing to pay when off)
        call, leaf, checked = PROFILER[0](call), PROFILER[0](_leaf), True
    pop, push = heapq.heappop, heapq.heappush
    try:
        while ready:
            node = pop(ready)[1]
            grads = buffers.pop(node, None)
            if grads is None and getattr(node, "_runs_ungraded", False):   # sees None (or zeros, materialized)
                grads = [None] * node._n_outputs
            edges = node._next
            outs: Sequence[Any] | None = None
            if grads is not None:
                execute = run is None or node in run
                captured = node in targets
                if execute or captured:
                    if type(node) is AccumulateGrad:
                        leaf(node, grads, captures.get((node, 0), ()) if captured else (), results, execute,
                             create_graph)
                        continue
                    if node._hooked:
                        _tensor_hooks(node, grads)
                    if captured:
                        for nr, g in enumerate(grads):
                            for slot in captures.get((node, nr), ()):
                                results[slot] = g
                    if execute:
                        if checked or node._hooked or node._n_outputs != 1:
                            outs = call(node, grads, retain_graph)
                        else:   # the common case of _call_node, inline
                            outs = node.backward(grads[0])
                            if not retain_graph:
                                node.release()
                        if len(outs) != len(edges):
                            raise RuntimeError(f"Function {type(node).__name__} returned an invalid number "
                                               f"of gradients - expected {len(edges)}, but got {len(outs)}")
                del grads
            # hand the input gradients to the children; queue the children whose gradients are complete
            i = -1
            for e in edges:
                i += 1
                if e is None:
                    continue
                child = e[0]
                g = outs[i] if outs is not None else None
                if g is not None:
                    meta = node._meta[i]
                    if g._data.shape != meta[0] or g._dtype is not meta[1]:
                        g = _reduce_to(g, meta, node, i)
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * child._n_outputs
                    nr = e[1]
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                    del g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    push(ready, (-child._seq, child))
            del outs
        queued = callbacks[-1]
        while queued:   # final callbacks may queue more
            queued.pop(0)()
    finally:
        callbacks.pop()
        _FINAL_CALLBACKS.tasks.pop()
        STATE.grad = prev
        sync()
    if not allow_unused:
        for i, r in enumerate(results):
            if r is None:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in "
                                   "the graph. Set allow_unused=True if this is the desired behavior.")
    return results


class _CallbackStack(threading.local):
    """Per thread, for each backward pass running (innermost last): its final callbacks, and its task
    (id, the nodes reachable from its roots, its roots, the nodes it is restricted to or None)."""

    def __init__(self) -> None:
        self.stack: list[list[Callable[[], Any]]] = []
        self.tasks: list[tuple[int, dict, set, set | None]] = []


_FINAL_CALLBACKS = _CallbackStack()
_TASK_IDS = itertools.count()


def current_graph_task_id() -> int:
    """The id of the backward pass running in this thread, -1 outside backward (``torch._C``'s)."""
    tasks = _FINAL_CALLBACKS.tasks
    return tasks[-1][0] if tasks else -1


def will_engine_execute_node(node: Node) -> bool:
    """Whether the backward pass now running will execute ``node`` (it is reachable from the pass's roots and,
    for ``autograd.grad`` with ``inputs``, leads to them)."""
    tasks = _FINAL_CALLBACKS.tasks
    if not tasks:
        raise RuntimeError("_will_engine_execute_node should only be called during the backward pass")
    _, deps, roots, run = tasks[-1]
    return (node in deps or node in roots) and (run is None or node in run)


def queue_callback(callback: Callable[[], Any]) -> None:
    """Run ``callback()`` when the backward pass now running ends (torch's
    ``Variable._execution_engine.queue_callback``; DDP waits for its gradient all-reduces there)."""
    if not _FINAL_CALLBACKS.stack:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _FINAL_CALLBACKS.stack[-1].append(callback)


def _leaf(node: AccumulateGrad, grads: list, slots: Sequence[int], results: list, accumulate: bool,
          create_graph: bool) -> None:
    """A leaf's gradient is complete: run its tensor hooks, then capture it and/or accumulate it into
    ``.grad`` (between the AccumulateGrad node's own pre- and post-hooks, as torch)."""
    g = grads.pop()
    if g is None:
        return
    t = node.variable
    if t._grad_dtype is not SAME_DTYPE:
        g = cast_to_grad_dtype(t, g)
    hooks = getattr(t, "_hooks", None)
    if hooks:
        g = _apply_hooks(hooks, g)
    for slot in slots:
        results[slot] = g
    if not accumulate:
        return
    d = node.__dict__ if node._hooked else {}
    for h in tuple(d.get("_pre_hooks", {}).values()):
        r = h((g,))
        if r is not None:
            g = r[0]
    accumulate_into_leaf(t, g, create_graph)
    for h in tuple(d.get("_post_hooks", {}).values()):
        h((), (g,))


def _apply_hooks(hooks: dict, g: Tensor) -> Tensor:
    for h in tuple(hooks.values()):
        r = h(g)
        if r is not None:
            if r._data.shape != g._data.shape or r._dtype is not g._dtype or r._device != g._device:
                _hook_changed(h, g, r)
            g = r
    return g


def _hook_changed(hook: Any, was: Tensor, got: Tensor) -> None:
    """torch's error for a tensor hook whose result is not a drop-in replacement of the gradient."""
    name = getattr(hook, "__name__", type(hook).__name__)
    if got._dtype is not was._dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {was.type()} got {got.type()})")
    if got._device != was._device:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {was.type()} got {got.type()})")
    raise RuntimeError(f"hook '{name}' has changed the size of value")


def _tensor_hooks(node: Node, grads: list) -> None:
    """Run the hooks registered on the tensors this node produced (``Tensor.register_hook``), then the
    ``retain_grad`` ones, on the complete gradient of each output."""
    d = node.__dict__
    for kind in ("_tensor_pre_hooks", "_retain_hooks"):
        per_output = d.get(kind)
        if per_output:
            for nr, hooks in per_output.items():
                if grads[nr] is not None and hooks:
                    grads[nr] = _apply_hooks(hooks, grads[nr])
                elif hooks and kind == "_tensor_pre_hooks":   # an output no gradient reached: hooks see None
                    _apply_hooks_to_none(hooks)


def _apply_hooks_to_none(hooks: dict) -> None:
    """torch runs the hooks of an output of an executed node that got no gradient with None; none of them
    may supply one."""
    for h in tuple(hooks.values()):
        if h(None) is not None:
            raise RuntimeError("can't replace a None gradient with a non-None value")


def _call_node(node: Node, grads: list, retain_graph: bool) -> Sequence[Any]:
    if node._hooked:
        pre = node.__dict__.get("_pre_hooks")
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
    if node._hooked:
        post = node.__dict__.get("_post_hooks")
        if post:   # hooks see the gradients as the engine passes them on: summed to each input's shape
            meta, edges = node._meta, node._next
            if len(outs) == len(edges):
                outs = tuple(_reduce_to(g, meta[i], node, i) if g is not None and edges[i] is not None else g
                             for i, g in enumerate(outs))
            for h in tuple(post.values()):
                r = h(tuple(outs), tuple(grads))
                if r is not None:
                    outs = r
    if not retain_graph:
        node.release()
    return outs
