"""``torch.utils.checkpoint``: activation checkpointing — run a function without keeping its intermediate
activations and recompute them during backward, with the RNG state of the forward restored so random ops
(dropout) give the same values again.

Two implementations, as torch: the reentrant one is a custom :class:`~ember.autograd.Function` whose backward
reruns the function with grad enabled and back-propagates through it; the non-reentrant one runs the function
with grad enabled (so outputs carry the real ``grad_fn``), then frees what the new graph nodes saved and, on the
first backward that reaches one of them, recomputes the function and hands each node the tensors its twin in
the recomputed graph saved (ember has no saved-tensor hooks; node-by-node pairing in creation order plays
their role).

Selective activation checkpointing (``create_selective_checkpoint_contexts``) runs the forward and the
recomputation under two TorchFunctionModes sharing a cache: the forward asks the policy about each call and
caches the outputs of the calls to save; the recomputation hands those back instead of running the call again.
torch's policies see aten operators below autograd; ember's see its public calls (``x @ w``, ``F.linear``),
named as the aten operator torch would report for the common ones (``aten.mm.default``, ``aten.addmm.default``,
``aten.mul.Tensor``...). A saved call's graph nodes keep what they saved for backward, so the recomputation
does not need to rebuild them.
"""

from __future__ import annotations

import contextlib
import enum
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from typing import Any

from .._core.warn import warn
from .._tensor import Size, Tensor
from ..autograd import Function, enable_grad, is_grad_enabled, no_grad
from ..autograd import graph as _graph
from ..ops.random import get_rng_state, set_rng_state
from ..overrides import TorchFunctionMode
from ..random import fork_rng

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "get_device_states", "set_device_states", "noop_context_fn",
           "set_checkpoint_early_stop", "DefaultDeviceType", "set_checkpoint_debug_enabled", "CheckpointPolicy",
           "SelectiveCheckpointContext", "create_selective_checkpoint_contexts", "SAC_IGNORED_OPS",  # noqa: F822
           "GraphExecGroup"]

_DEFAULT_DETERMINISM_MODE = "default"
_DEBUG_TIP = (
    "\nTip: To see a more detailed error message, either pass `debug=True` to\n"
    "`torch.utils.checkpoint.checkpoint(...)` or wrap the code block\n"
    "with `with torch.utils.checkpoint.set_checkpoint_debug_enabled(True):` to\n"
    "enable checkpoint\u2011debug mode globally.\n")


class CheckpointError(RuntimeError):
    """Raised when the recomputation does not reproduce what the original forward saved."""


def noop_context_fn() -> tuple[ContextManager, ContextManager]:
    """The default ``context_fn``: no context around the forward nor the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Detach the tensors of ``inputs``, keeping their ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn (as torch) when no tensor input requires grad: the checkpointed segment gets no gradient."""
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


_checkpoint_debug_enabled: bool | None = None
_enable_checkpoint_early_stop: bool | None = None


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None) -> Iterator[None]:
    """Within the block, ``enabled`` overrides every checkpoint's ``debug`` argument (None: each call's own)."""
    global _checkpoint_debug_enabled
    prev, _checkpoint_debug_enabled = _checkpoint_debug_enabled, enabled
    try:
        yield
    finally:
        _checkpoint_debug_enabled = prev


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool) -> Iterator[None]:
    """Within the block, ``enable`` overrides every non-reentrant checkpoint's ``early_stop`` argument. torch stops
    a recomputation once it has rebuilt every saved tensor; ember always runs the function to its end, so the
    setting changes no result."""
    global _enable_checkpoint_early_stop
    prev, _enable_checkpoint_early_stop = _enable_checkpoint_early_stop, enable
    try:
        yield
    finally:
        _enable_checkpoint_early_stop = prev


class DefaultDeviceType:
    """The device type whose RNG states checkpoint saves when no argument is on a non-CPU device: the
    accelerator's ('cuda') when there is one, else 'cpu', until :meth:`set_device_type` changes it."""

    _default_device_type: str | None = None

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        if not DefaultDeviceType._default_device_type:
            from ..accelerator import current_accelerator
            acc = current_accelerator(True)
            DefaultDeviceType._default_device_type = acc.type if acc is not None else "cpu"
        return DefaultDeviceType._default_device_type


def _infer_device_type(*args: Any) -> str:
    """The device type of the tensor arguments not on the CPU ('cuda' first), else the default one."""
    types = [t.device.type for t in _flat_tensors(args) if t.device.type != "cpu"]
    if len(set(types)) > 1:
        warn(
            "Tensor arguments, excluding CPU tensors, are detected on at least two types of devices. Device state "
            "will only be saved for devices of a single device type, and the remaining devices will be ignored. "
            "Consequently, if any checkpointed functions involve randomness, this may result in incorrect "
            "gradients. (Note that if CUDA devices are among the devices detected, it will be prioritized; "
            "otherwise, the first device encountered will be selected.)"
            f"\nDevice types: {sorted(set(types))} first device type: {types[0]}", stacklevel=2)
    if not types:
        return DefaultDeviceType.get_device_type()
    return "cuda" if "cuda" in types else types[0]


def _device_module(device_type: str) -> Any:
    import ember
    return getattr(ember, device_type)


def get_device_states(*args: Any) -> tuple[list[int], list[Tensor]]:
    """The indices of the non-CPU devices the tensors in ``args`` live on (one per tensor) and their RNG states."""
    ids = [t.get_device() for t in _flat_tensors(args) if t.device.type not in ("cpu", "meta")]
    states = []
    if ids:
        module = _device_module(_infer_device_type(*args))
        for i in ids:
            with module.device(i):
                states.append(module.get_rng_state())
    return ids, states


def set_device_states(devices: Iterable[int], states: Iterable[Tensor], *, device_type: str | None = None) -> None:
    """Restore the RNG state of each device index in ``devices`` (of ``device_type``, default
    :meth:`DefaultDeviceType.get_device_type`) from ``states``."""
    if device_type is None:
        device_type = DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    module = _device_module(device_type)
    for device, state in zip(devices, states, strict=False):
        with module.device(device):
            module.set_rng_state(state)


def _rng_snapshot(preserve: bool, args: tuple) -> tuple | None:
    """What the recomputation restores: the CPU generator's state and the states of the devices ``args`` are
    on, or None when the RNG state is not preserved."""
    if not preserve:
        return None
    return (get_rng_state(), _infer_device_type(*args), *get_device_states(*args))


@contextlib.contextmanager
def _forward_rng(snapshot: tuple | None) -> Iterator[None]:
    """Run the recomputation under the forward's RNG states, restoring the surrounding ones afterwards."""
    if snapshot is None:
        yield
        return
    cpu_state, device_type, devices, states = snapshot
    with fork_rng(devices=devices, device_type=device_type):
        set_rng_state(cpu_state)
        set_device_states(devices, states, device_type=device_type)
        yield


def _is_checkpoint_valid() -> bool:
    """Whether the backward running this node was started without ``inputs`` (``.backward()``, not
    ``autograd.grad``): read from the innermost engine frame, as torch asks its current graph task."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _graph.run_backward.__code__:
            return frame.f_locals.get("inputs") is None
        frame = frame.f_back
    return True


class CheckpointFunction(Function):
    """The reentrant checkpoint: forward under ``no_grad``; backward recomputes and back-propagates."""

    @staticmethod
    def forward(ctx: Any, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        ctx.rng = _rng_snapshot(preserve_rng_state, args)
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        from ..autograd import backward as _backward

        if not _is_checkpoint_valid():
            raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                               "passing an `inputs` parameter to .backward(). To resolve this error, you can either "
                               "set use_reentrant=False, or call .backward() without passing the `inputs` "
                               "argument.")
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors, strict=True):
            inputs[i] = t
        with _forward_rng(ctx.rng):
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads, strict=False) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in detached)


def _flat_tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _flat_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flat_tensors(o)]
    return []


def _nodes_since(outputs: Any, start: int) -> list[_graph.Node]:
    """The graph nodes created after sequence number ``start`` that the outputs reach, in creation order."""
    seen: dict[int, _graph.Node] = {}
    stack = [t.grad_fn for t in _flat_tensors(outputs) if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or isinstance(node, _graph.AccumulateGrad) or node._seq <= start:
            continue
        seen[id(node)] = node
        stack.extend(edge[0] for edge in node._next if edge is not None)
    return sorted(seen.values(), key=lambda n: n._seq)


def _saved_meta(nodes: list[_graph.Node]) -> list[dict[str, Any]]:
    return [{"shape": Size(t.shape), "dtype": t._dtype, "device": t._device}
            for n in nodes for t in (n._saved or ()) if isinstance(t, (Tensor, _graph.SavedOutput))]


# ---- selective activation checkpointing ---------------------------------------------------------------------
class CheckpointPolicy(enum.Enum):
    """What selective checkpointing does with one call's output: ``*_SAVE`` keeps it from the forward for the
    backward; ``*_RECOMPUTE`` recomputes it; ``*_CPU_OFFLOAD`` (a torch.compile hint) recomputes it in eager
    mode, as torch. ``MUST_*`` tells compilers not to override the choice."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVE_POLICIES = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE)


class SelectiveCheckpointContext:
    """The first argument of a policy function. The policy is asked during the forward only (``is_recompute``
    is always False, as in torch); ``op_output`` is the call's result."""

    def __init__(self, *, is_recompute: bool, op_output: Any = None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


def _policy_from_bool(b: bool) -> CheckpointPolicy:
    return CheckpointPolicy.MUST_SAVE if b else CheckpointPolicy.PREFER_RECOMPUTE


def _ignored_ops() -> frozenset:
    from ..library import OpOverload, OpOverloadPacket
    names = ("detach", "dim", "is_contiguous", "is_non_overlapping_and_dense", "is_strides_like_format", "numel",
             "size", "storage_offset", "stride", "sym_numel", "sym_size", "sym_storage_offset", "sym_stride")
    ops = {OpOverload(OpOverloadPacket("aten", n, None), "default") for n in names}
    ops |= {OpOverload(OpOverloadPacket("aten", "is_contiguous", None), "memory_format"),
            OpOverload(OpOverloadPacket("prim", "device", None), "default")}
    return frozenset(ops)


def __getattr__(name: str) -> Any:
    if name == "SAC_IGNORED_OPS":   # built on first use: it needs ember.library
        globals()[name] = ops = _ignored_ops()
        return ops
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ember's public name -> the aten operator torch's policy sees for it
_ATEN_NAMES = {"softmax": "_softmax", "log_softmax": "_log_softmax", "layer_norm": "native_layer_norm",
               "batch_norm": "native_batch_norm", "group_norm": "native_group_norm", "conv1d": "convolution",
               "conv2d": "convolution", "conv3d": "convolution", "conv_transpose1d": "convolution",
               "conv_transpose2d": "convolution", "conv_transpose3d": "convolution", "reshape": "view",
               "flatten": "view", "__rsub__": "rsub", "__rdiv__": "reciprocal",
               "__floordiv__": "floor_divide", "__rfloordiv__": "floor_divide", "__rmod__": "remainder",
               "__rpow__": "pow", "__eq__": "eq", "__invert__": "bitwise_not", "__and__": "bitwise_and",
               "__or__": "bitwise_or", "__xor__": "bitwise_xor", "__lshift__": "__lshift__",
               "__rshift__": "__rshift__", "ndimension": "dim", "nelement": "numel", "shape": "size"}
_MATMULS = {(2, 2): "mm", (3, 3): "bmm", (2, 1): "mv", (1, 1): "dot"}
_ARITHMETIC = frozenset({"add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_"})
_COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "eq_", "ne_", "lt_", "le_", "gt_", "ge_"})
_DIM_OVERLOADS = {"sum": "dim_IntList", "mean": "dim", "prod": "dim_int", "max": "dim", "min": "dim",
                  "transpose": "int"}


def _aten_signature(name: str, args: tuple, kwargs: dict) -> tuple[str, str]:
    """The aten (operator, overload) torch dispatches for ember's call ``name(*args, **kwargs)``."""
    def tensor_at(i: int, key: str) -> bool:
        return isinstance(args[i] if len(args) > i else kwargs.get(key), Tensor)

    if name == "__getitem__":   # basic indexing: a select per int, a slice per slice (the last one reported)
        key = args[1] if len(args) > 1 else None
        keys = key if isinstance(key, tuple) else (key,)
        if not all(isinstance(k, (int, slice)) or k is Ellipsis for k in keys):
            return "index", "Tensor"
        return ("select", "int") if any(isinstance(k, int) for k in keys) else ("slice", "Tensor")
    name = _ATEN_NAMES.get(name, name.strip("_") if name.startswith("__") else name)
    if name in ("matmul", "linear"):
        dims = tuple(a.dim() for a in args[:2] if isinstance(a, Tensor))
        if name == "linear":
            bias = args[2] if len(args) > 2 else kwargs.get("bias")
            return ("addmm" if bias is not None else "mm"), "default"
        return _MATMULS.get(dims, "matmul"), "default"
    if name in _ARITHMETIC:
        return name, "Tensor_mode" if kwargs.get("rounding_mode") is not None else "Tensor"
    if name in _COMPARISONS or name == "rsub":
        return name, "Tensor" if tensor_at(1, "other") else "Scalar"
    if name == "pow":
        if not tensor_at(0, "input"):
            return name, "Scalar"
        return name, "Tensor_Tensor" if tensor_at(1, "exponent") else "Tensor_Scalar"
    if name in ("max", "min") and tensor_at(1, "other"):
        return name + "imum", "default"
    if name in ("std", "var"):
        return name, "correction"
    if name in _DIM_OVERLOADS and (len(args) > 1 or kwargs.get("dim") is not None):
        return name, _DIM_OVERLOADS[name]
    return name, "default"


def _sac_op(func: Callable, args: tuple, kwargs: dict) -> Any:
    """The operator a policy is asked about for this call (an ``ember.ops`` overload), or None for calls
    selective checkpointing ignores (property access, metadata queries, ``detach``)."""
    from ..library import OpOverload, OpOverloadPacket
    if isinstance(func, OpOverload):
        op = func
    else:
        name = getattr(func, "__name__", None)
        if not isinstance(name, str) or name in ("__get__", "__set__", "__delete__"):
            return None
        opname, overload = _aten_signature(name, args, kwargs)
        op = OpOverload(OpOverloadPacket("aten", opname, func), overload)
    ignored = globals().get("SAC_IGNORED_OPS") or __getattr__("SAC_IGNORED_OPS")
    return None if op in ignored else op


_RECOMPUTE = object()
_CONSUMED = object()
_SAC_MISMATCH_MSG = ("This can happen if the operations in the checkpointed region are nondeterministic or depend "
                     "on global state that changed between forward and backward.")


class _Cached:
    """One tensor a saved call returned: its memory, version and place in the forward's graph."""

    __slots__ = ("tensor", "version", "grad_fn", "output_nr")

    def __init__(self, t: Tensor) -> None:
        self.tensor = t.detach()
        self.version = t._vc[0]
        self.grad_fn, self.output_nr = t.grad_fn, t._output_nr

    def get(self, allow_mutation: bool) -> Tensor:
        """A new alias of the cached tensor standing where it stood in the forward's graph, so the ops that
        consume it in the recomputation build their nodes (and save what they saved) as in the forward."""
        if not allow_mutation and self.tensor._vc[0] != self.version:
            raise RuntimeError("Tensor cached during selective activation checkpoint has been mutated")
        t = self.tensor.detach()
        if self.grad_fn is not None and is_grad_enabled():
            t._grad_fn, t._output_nr, t._rg = self.grad_fn, self.output_nr, True
        return t


def _map_tensors(fn: Callable, obj: Any) -> Any:
    """``obj`` with ``fn`` applied to each tensor (or cache entry), inside tuples, named tuples and lists."""
    if isinstance(obj, (tuple, list)):
        items = [_map_tensors(fn, o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    return fn(obj) if isinstance(obj, (Tensor, _Cached)) else obj


class _CachingMode(TorchFunctionMode):
    """The forward of selective checkpointing: runs each call, asks the policy, caches what it says to save and
    remembers which graph nodes those calls made (their saved tensors are kept; nothing recomputes them)."""

    def __init__(self, policy_fn: Callable, storage: dict) -> None:
        super().__init__()
        self.policy_fn, self.storage = policy_fn, storage
        self.counter: dict[Any, int] = defaultdict(int)
        self.saved_spans: list[tuple[int, int]] = []   # graph sequence numbers bracketing each saved call

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        first = _graph._next_seq()
        out = func(*args, **kwargs)
        op = _sac_op(func, args, kwargs)
        if op is None:
            return out
        idx = self.counter[op]
        self.counter[op] += 1
        if not op.overloadpacket._opname.endswith("_") and any(out is a for a in args):
            # handed back its input (``dropout(training=False)``, ``contiguous()``): no operator ran
            self.storage[op][idx] = _RECOMPUTE
            return out
        policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False, op_output=out), op, *args, **kwargs)
        if isinstance(policy, bool):
            policy = _policy_from_bool(policy)
        if policy in _SAVE_POLICIES:
            self.storage[op][idx] = _map_tensors(_Cached, out)
            self.saved_spans.append((first, _graph._next_seq()))
        else:
            self.storage[op][idx] = _RECOMPUTE
        return out

    def made_by_saved_call(self, node: _graph.Node) -> bool:
        return any(first < node._seq < last for first, last in self.saved_spans)


class _CachedMode(TorchFunctionMode):
    """The recomputation of selective checkpointing: calls the forward cached return their cached outputs (each
    once), the others run again."""

    def __init__(self, storage: dict, allow_cache_entry_mutation: bool = False) -> None:
        super().__init__()
        self.storage, self.allow_mutation = storage, allow_cache_entry_mutation
        self.counter: dict[Any, int] = defaultdict(int)
        # the arguments of the calls served from the cache: the recomputed graph is traversed from them too, as
        # the nodes that made them reach the outputs only through the forward's nodes of the cached calls
        self.cached_args: list[Any] = []

    def __enter__(self) -> _CachedMode:
        self.counter.clear()
        self.cached_args.clear()
        return super().__enter__()   # type: ignore[return-value]

    def caches(self) -> bool:
        return any(entry is not _RECOMPUTE for calls in self.storage.values() for entry in calls.values())

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        op = _sac_op(func, args, kwargs)
        if op is None:
            return func(*args, **kwargs)
        idx = self.counter[op]
        self.counter[op] += 1
        calls = self.storage.get(op)
        if calls is None:
            raise RuntimeError(f"{op} encountered during backward but not found in storage. {_SAC_MISMATCH_MSG}")
        entry = calls.get(idx)
        if entry is None:
            raise RuntimeError(f"{op} invocation index {idx} encountered during backward but not found in storage. "
                               f"{_SAC_MISMATCH_MSG}")
        if entry is _CONSUMED:
            raise RuntimeError("Trying to backward an extra time. You are only allowed to backward once on any "
                               "region computed under selective activation checkpoint.")
        if entry is _RECOMPUTE:
            return func(*args, **kwargs)
        calls[idx] = _CONSUMED
        self.cached_args.append((args, kwargs))
        return _map_tensors(lambda c: c.get(self.allow_mutation), entry)


def create_selective_checkpoint_contexts(policy_fn_or_list: Callable | list,
                                         allow_cache_entry_mutation: bool = False) -> tuple[ContextManager,
                                                                                            ContextManager]:
    """The ``context_fn`` pair of selective activation checkpointing: ``policy_fn(ctx, op, *args, **kwargs)``
    returns a :class:`CheckpointPolicy` (or a bool: True saves) for each call of the forward; a list of ops means
    ``MUST_SAVE`` for those and ``PREFER_RECOMPUTE`` for the rest. Cached outputs mutated before the
    recomputation raise unless ``allow_cache_entry_mutation``."""
    from ..library import OpOverload, OpOverloadPacket
    if isinstance(policy_fn_or_list, list):
        ops = policy_fn_or_list
        for op in ops:
            if not isinstance(op, OpOverload):
                extra = ("Please update the OpOverloadPacket to a specific OpOverload.For example, if you have "
                         "`torch.ops.aten.mm`, change it to `torch.ops.aten.mm.default`."
                         if isinstance(op, OpOverloadPacket) else "")
                tname = f"<class 'torch._ops.{type(op).__name__}'>" if isinstance(op, OpOverloadPacket) else type(op)
                raise ValueError(f"Expected op in `op_list` to be an OpOverload but got: {op} of type {tname}. "
                                 f"{extra}")

        def policy_fn(ctx: SelectiveCheckpointContext, op: Any, *args: Any, **kwargs: Any) -> CheckpointPolicy:
            return CheckpointPolicy.MUST_SAVE if op in ops else CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage: dict[Any, dict[int, Any]] = defaultdict(dict)
    return _CachingMode(policy_fn, storage), _CachedMode(storage, allow_cache_entry_mutation)


class GraphExecGroup:
    """Backward calls made within one group recompute each checkpointed region at most once (they must not
    need the same saved activations); without a group, each backward call is its own."""

    _current: GraphExecGroup | None = None

    def __enter__(self) -> GraphExecGroup:
        if GraphExecGroup._current is not None:
            raise RuntimeError(f"GraphExecGroup contexts cannot be nested. Already inside group "
                               f"{GraphExecGroup._current}")
        GraphExecGroup._current = self
        return self

    def __exit__(self, *args: object) -> None:
        GraphExecGroup._current = None

    @classmethod
    def _get_current_group(cls) -> GraphExecGroup | None:
        return cls._current


class _Frame:
    """One non-reentrant checkpoint: the nodes whose saved tensors were freed and how to recompute them."""

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, rng: tuple | None, recompute_ctx: ContextManager,
                 check: bool) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.rng, self.recompute_ctx, self.check = rng, recompute_ctx, check
        self.nodes: list[_graph.Node] = []
        self.meta: list[dict[str, Any]] = []
        self.handles: list[Any] = []
        self.done: Any = None   # the backward call (or GraphExecGroup) that recomputed, once one has

    def release(self, nodes: list[_graph.Node]) -> None:
        self.nodes = [n for n in nodes if n._saved is not None]
        self.meta = _saved_meta(self.nodes)
        for n in self.nodes:
            n._saved = None
            self.handles.append(n.register_prehook(self._prehook))

    def _prehook(self, grads: tuple) -> None:
        group = GraphExecGroup._get_current_group() or _graph.current_graph_task_id()
        if self.done is None:
            self.done = group
            self.recompute()
        elif group != self.done:   # selective checkpointing: the cache served one backward call only
            raise RuntimeError("Trying to backward an extra time. You are only allowed to backward once on any "
                               "region computed under selective activation checkpoint.")

    def recompute(self) -> None:
        with _forward_rng(self.rng):
            with enable_grad(), self.recompute_ctx:   # on the original inputs, so double backward reaches them
                start = _graph._next_seq()
                out = self.fn(*self.args, **self.kwargs)
        if isinstance(self.recompute_ctx, _CachedMode):
            out = (out, self.recompute_ctx.cached_args)
        twins = [n for n in _nodes_since(out, start) if n._saved is not None]
        meta = _saved_meta(twins)
        if self.check:
            if len(meta) != len(self.meta) or len(twins) != len(self.nodes):
                raise CheckpointError(
                    "torch.utils.checkpoint: A different number of tensors was saved during the original forward "
                    f"and recomputation.\nNumber of tensors saved during forward: {len(self.meta)}\n"
                    f"Number of tensors saved during recomputation: {len(meta)}.\n{_DEBUG_TIP}")
            bad = [f"tensor at position {i}:\nsaved metadata: {a}\nrecomputed metadata: {b}\n"
                   for i, (a, b) in enumerate(zip(self.meta, meta, strict=True)) if a != b]
            if bad:
                raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following tensors have "
                                      f"different metadata than during the forward pass.\n{''.join(bad)}.\n"
                                      f"{_DEBUG_TIP}")
        for node, twin in zip(self.nodes, twins, strict=False):
            node._saved, node._versions = twin._saved, twin._versions
        if not (isinstance(self.recompute_ctx, _CachedMode) and self.recompute_ctx.caches()):
            for h in self.handles:
                h.remove()


def _checkpoint_without_reentrant(function: Callable, preserve: bool, context_fn: Callable,
                                  determinism_check: str, debug: bool, args: tuple, kwargs: dict) -> Any:
    if (_checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug) and \
            context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    forward_ctx, recompute_ctx = context_fn()
    if not is_grad_enabled():
        return function(*args, **kwargs)
    frame = _Frame(function, args, kwargs, _rng_snapshot(preserve, args), recompute_ctx,
                   determinism_check == "default")
    start = _graph._next_seq()
    with forward_ctx:
        out = function(*args, **kwargs)
    nodes = _nodes_since(out, start)
    if isinstance(forward_ctx, _CachingMode):   # the nodes of saved calls keep their saved tensors
        nodes = [n for n in nodes if not forward_ctx.made_by_saved_call(n)]
    frame.release(nodes)
    return out


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable[[], tuple[ContextManager, ContextManager]] = noop_context_fn,
               determinism_check: str = _DEFAULT_DETERMINISM_MODE, debug: bool = False, early_stop: bool = True,
               **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without storing its activations; they are recomputed in backward."""
    if use_reentrant is None:
        warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
            "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False "
            "is recommended, but if you need to preserve the current default behavior, you can pass "
            "use_reentrant=True. Refer to docs for more details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, debug, args, kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """Split ``functions`` (a list or ``nn.Sequential``) into ``segments`` chunks and checkpoint all but the
    last, which runs normally."""
    from ..nn import Sequential

    if use_reentrant is None:
        warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
            "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
            "use_reentrant=False is recommended, but if you need to preserve the current default behavior, you "
            "can pass use_reentrant=True. Refer to docs for more details on the differences between the two "
            "variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run(start: int, end: int) -> Callable:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
