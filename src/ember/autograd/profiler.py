"""``torch.autograd.profiler``: the profiler's recorder, the legacy :class:`profile` context manager,
:class:`record_function` ranges and the (no-op on ember) NVTX/ITT annotators.

ember has no central op dispatcher, so while a profile records, :mod:`ember.profiler._ops` rebinds the
public entry points (``ember.*``, ``Tensor`` methods and operators, ``nn.functional``, ``linalg``, ...) to
timing wrappers named as torch's aten ops, and the backward engine times each node
(``graph.PROFILER``). Everything is restored when the last profile stops, so ops cost nothing extra
when no profile is active.
"""

from __future__ import annotations

import enum
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import ContextDecorator
from typing import Any

from .._core.warn import warn
from .._tensor import Tensor
from . import graph
from .profiler_util import DeviceType, EventList, FunctionEvent, _atomic_write

__all__ = ["profile", "record_function", "emit_itt", "emit_nvtx", "EventList", "FunctionEvent", "DeviceType",
           "ProfilerActivity", "kineto_available"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STEP_PREFIX = "ProfilerStep#"


class ProfilerActivity(enum.Enum):
    """Kinds of activity a profile collects (torch's values); ember times ops on the CPU side."""

    CPU = 0
    XPU = 1
    CUDA = 2
    HPU = 3
    MTIA = 4
    PrivateUse1 = 5


def kineto_available() -> bool:
    """ember records through its own recorder, not Kineto."""
    return False


def _supported_activities() -> set[ProfilerActivity]:
    from .. import cuda

    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if cuda.is_available() else {ProfilerActivity.CPU}


# ----------------------------------------------------------------------------------------------- recorder

class _Recorder:
    """The events of one profiling window, in start order, linked to their enclosing event per thread."""

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool, use_device: str | None,
                 with_flops: bool = False) -> None:
        self.record_shapes = record_shapes
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.use_device = use_device
        self.events: list[FunctionEvent] = []
        self.open: dict[int, list[FunctionEvent]] = {}   # thread -> stack of unfinished events
        self.t0 = time.perf_counter_ns()
        self.wall0 = time.time_ns()

    def now(self) -> float:
        return (time.perf_counter_ns() - self.t0) / 1000.0

    def begin(self, name: str, shapes: list | None, *, sequence_nr: int = -1, scope: int = 0,
              annotation: bool = False, op: bool = False) -> FunctionEvent | None:
        """Start an event (None when ``op`` and the enclosing event is the same op: one public entry point
        calling another of the same name is one op, as torch merges such single-child duplicates)."""
        thread = threading.get_native_id()
        stack = self.open.setdefault(thread, [])
        parent = stack[-1] if stack else None
        if op and parent is not None and parent.name == name and parent.scope == -1:
            return None
        trace_name = name
        if name.startswith(_STEP_PREFIX):
            name = "ProfilerStep*"
        ev = FunctionEvent(len(self.events) + 1, name, thread, self.now(), 0.0, overload_name="",
                           input_shapes=shapes if self.record_shapes else [],
                           stack=_user_stack() if self.with_stack else [], scope=-1 if op else scope,
                           use_device=self.use_device, sequence_nr=sequence_nr, trace_name=trace_name,
                           is_user_annotation=annotation, fwd_thread=thread, flops=0)
        if parent is not None:
            parent.append_cpu_child(ev)
            ev.set_cpu_parent(parent)
        stack.append(ev)
        self.events.append(ev)
        return ev

    def end(self, ev: FunctionEvent, memory: tuple[int, int] | None = None) -> None:
        """Finish ``ev``; an op passes the bytes its results allocated, a range (annotation, autograd node)
        sums what its children allocated."""
        ev.time_range.end = self.now()
        if self.profile_memory:
            if memory is None:
                memory = (sum(c.cpu_memory_usage for c in ev.cpu_children),
                          sum(c.device_memory_usage for c in ev.cpu_children))
            ev.cpu_memory_usage, ev.device_memory_usage = memory
        stack = self.open.get(ev.thread)
        if stack and ev in stack:   # close it and anything left open inside it (an exception unwound them)
            while stack.pop() is not ev:
                pass

    def finish(self) -> list[FunctionEvent]:
        end = self.now()
        for stack in self.open.values():   # ranges still open when the profile stops end there
            for ev in stack:
                ev.time_range.end = end
        self.open.clear()
        for ev in self.events:
            if ev.scope == -1:
                ev.scope = 0
        return self.events


_ACTIVE: list[_Recorder] = []   # recorders collecting now; the op wrappers and the engine hook feed them all
_LOCK = threading.Lock()


def _user_stack() -> list[str]:
    """The calling Python frames outside ember, innermost first, as ``file(line): function``."""
    frames = [f for f in traceback.extract_stack() if not f.filename.startswith(_PACKAGE)]
    return [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(frames)]


def _shapes(args: Sequence[Any], kwargs: dict[str, Any]) -> list:
    """torch's ``input_shapes``: a tensor's shape, ``[]`` for anything else (numbers, lists, None)."""
    return [list(a._data.shape) if isinstance(a, Tensor) else [] for a in (*args, *kwargs.values())]


def _memory(result: Any, args: Sequence[Any]) -> tuple[int, int]:
    """Bytes of fresh (non-view, not an input returned in place) result tensors: (CPU, device)."""
    outs = result if isinstance(result, (tuple, list)) else (result,)
    cpu = dev = 0
    for t in outs:
        if isinstance(t, Tensor) and t._base is None and not any(t is a for a in args):
            if t._device.type == "cpu":
                cpu += t._data.nbytes
            else:
                dev += t._data.nbytes
    return cpu, dev


_MATMULS = frozenset(("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"))


def _flops(name: str, entry: str, args: Sequence[Any], result: Tensor) -> int:
    """torch's FLOP estimate for the ops it counts: 2·M·K·N for matrix products, 2·out·(Cin/groups)·kernel
    for conv2d, one per output element for add and mul; 0 for the rest."""
    if name in _MATMULS:   # K: the contracted size, from the first matrix operand of the entry op
        first = args[1] if entry in ("aten::addmm", "aten::baddbmm") else args[0]
        return 2 * result._data.size * first._data.shape[-1] if isinstance(first, Tensor) else 0
    if name == "aten::conv2d" and len(args) > 1 and isinstance(args[1], Tensor):
        w = args[1]._data.shape
        return 2 * result._data.size * w[1] * w[2] * w[3]
    if name in ("aten::add", "aten::mul"):
        return result._data.size
    return 0


def _sync(args: Sequence[Any]) -> None:
    """Wait for the GPU when profiling CUDA and a CUDA tensor is involved, so CPU ranges include its work."""
    for a in args:
        if isinstance(a, Tensor) and a._device.type == "cuda":
            from .. import cuda

            cuda.synchronize(a._device)
            return


def _call_annotated(name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """Run ``fn`` inside a user-annotation range ``name`` (torch's ``Optimizer.step#SGD.step``), one range
    when the method calls itself through ``super()``."""
    opened = [(rec, rec.begin(name, [], annotation=True, op=True)) for rec in tuple(_ACTIVE)]
    try:
        return fn(*args, **kwargs)
    finally:
        for rec, ev in reversed(opened):
            if ev is not None:
                rec.end(ev)


def _call_op(names: Sequence[str], fn: Callable, args: tuple, kwargs: dict) -> Any:
    """Run ``fn`` inside nested events ``names`` (outermost first) in every active recorder."""
    opened: list[tuple[_Recorder, FunctionEvent]] = []
    for rec in tuple(_ACTIVE):
        shapes = _shapes(args, kwargs) if rec.record_shapes else None
        for name in names:
            ev = rec.begin(name, shapes, op=True)
            if ev is not None:
                opened.append((rec, ev))
    result = None
    try:
        result = fn(*args, **kwargs)
        if any(rec.use_device for rec, _ in opened):
            _sync(args)
        return result
    finally:
        memory = _memory(result, args) if any(rec.profile_memory for rec, _ in opened) else (0, 0)
        node = result._grad_fn if isinstance(result, Tensor) else None
        if isinstance(result, Tensor) and any(rec.with_flops for rec, _ in opened):
            for _, ev in opened:
                ev.flops = _flops(ev.name, names[0], args, result)
        seen: set[int] = set()
        for rec, ev in opened:
            if node is not None and id(rec) not in seen:   # the outermost op owns the node: torch's sequence nr
                seen.add(id(rec))
                ev.sequence_nr = node._seq
        for rec, ev in reversed(opened):
            rec.end(ev, memory)


def _profile_node(call: Callable) -> Callable:
    """The backward engine's hook (``graph.PROFILER``): times a node's call as torch does, inside an
    ``autograd::engine::evaluate_function: <node>`` range that also covers reducing its gradients to the
    inputs' shapes (the engine finds them reduced already)."""

    def timed(node: Any, grads: list, *rest: Any) -> Any:
        name = node.name()
        seq = -1 if type(node) is graph.AccumulateGrad else node._seq
        shapes = [list(g._data.shape) if isinstance(g, Tensor) else [] for g in grads]
        outer, inner = [], []
        for rec in tuple(_ACTIVE):
            outer.append((rec, rec.begin("autograd::engine::evaluate_function: " + name, [], sequence_nr=seq,
                                         scope=1)))
            inner.append((rec, rec.begin(name, shapes, sequence_nr=seq, scope=1)))
        try:
            try:
                outs = call(node, grads, *rest)
            finally:
                for rec, ev in reversed(inner):
                    if ev is not None:
                        rec.end(ev)
            if outs is not None and len(outs) == len(node._next):
                outs = list(outs)
                for i, (edge, g) in enumerate(zip(node._next, outs, strict=True)):
                    meta = node._meta[i]
                    if edge is not None and g is not None and (g._data.shape != meta[0] or g._dtype is not meta[1]):
                        outs[i] = graph._reduce_to(g, meta, node, i)
            return outs
        finally:
            for rec, ev in reversed(outer):
                if ev is not None:
                    rec.end(ev)

    return timed


def _activate(rec: _Recorder) -> None:
    from ..profiler import _ops

    with _LOCK:
        if not _ACTIVE:
            _ops.install()
            graph.PROFILER[0] = _profile_node
        _ACTIVE.append(rec)


def _deactivate(rec: _Recorder) -> None:
    from ..profiler import _ops

    with _LOCK:
        if rec in _ACTIVE:
            _ACTIVE.remove(rec)
            if not _ACTIVE:
                graph.PROFILER[0] = None
                _ops.uninstall()


def _is_profiler_enabled() -> bool:
    return bool(_ACTIVE)


# ------------------------------------------------------------------------------------------- chrome trace

def _chrome_trace(events: Sequence[FunctionEvent], wall0_ns: int, path: str, metadata: dict[str, str]) -> None:
    """Kineto's Chrome/Perfetto JSON: process metadata then one complete ("X") event per range, timestamps
    in microseconds since the epoch, ``cpu_op`` / ``user_annotation`` categories."""
    import json
    import socket

    pid = os.getpid()
    base = wall0_ns / 1000.0
    trace: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "ts": base, "pid": pid, "tid": 0, "args": {"name": "python"}},
        {"ph": "M", "name": "process_labels", "ts": base, "pid": pid, "tid": 0, "args": {"labels": "CPU"}},
    ]
    for tid in sorted({e.thread for e in events}):
        trace.append({"ph": "M", "name": "thread_name", "ts": base, "pid": pid, "tid": tid,
                      "args": {"name": f"thread {tid} (python)"}})
    for i, e in enumerate(events):
        args: dict[str, Any] = {"External id": e.id, "Ev Idx": i}
        if e.sequence_nr >= 0:
            args["Sequence number"] = e.sequence_nr
            args["Fwd thread id"] = 0
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.cpu_memory_usage or e.device_memory_usage:
            args["Memory bytes"] = e.cpu_memory_usage + e.device_memory_usage
        cat = "user_annotation" if e.is_user_annotation else "cpu_op"
        trace.append({"ph": "X", "cat": cat, "name": e.trace_name, "pid": pid, "tid": e.thread,
                      "ts": round(base + e.time_range.start, 3), "dur": round(e.time_range.elapsed_us(), 3),
                      "args": args})
    doc: dict[str, Any] = {"schemaVersion": 1, "deviceProperties": [], **metadata,
                           "host_name": socket.gethostname(), "displayTimeUnit": "ms",
                           "baseTimeNanoseconds": wall0_ns, "traceEvents": trace, "traceName": path}
    _atomic_write(path, json.dumps(doc))


# ---------------------------------------------------------------------------------------------- profile

class profile:
    """Context manager that records the ops run inside it (torch's legacy ``torch.autograd.profiler.profile``).

    ``record_shapes`` keeps each op's input shapes, ``profile_memory`` the bytes its results allocate,
    ``with_stack`` the Python frames that called it. Results: :meth:`key_averages`, :meth:`table`,
    :attr:`function_events`, :meth:`export_chrome_trace`.
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device: str | None = None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, experimental_config: Any = None, acc_events: bool = False,
                 custom_trace_id_callback: Callable[[], str] | None = None,
                 post_processing_timeout_s: float | None = None) -> None:
        self.enabled = enabled
        if not enabled:
            return
        self.use_cuda = use_cuda
        if use_cuda:
            warn("The attribute `use_cuda` will be deprecated soon, please use ``use_device = 'cuda'`` "
                 "instead.", FutureWarning, stacklevel=2)
            use_device = "cuda"
        if use_device is not None:
            from .. import cuda

            if use_device not in ("cuda", "xpu", "mtia", "hpu"):
                warn(f"The {use_device} is not a valid device option.", stacklevel=2)
                use_device = None
            elif use_device == "cuda" and not cuda.is_available():
                warn("CUDA is not available, disabling CUDA profiling", stacklevel=2)
                self.use_cuda = False
                use_device = None
            elif use_device != "cuda":
                warn(f"{use_device.upper()} is not available, disabling {use_device.upper()} profiling",
                     stacklevel=2)
                use_device = None
        if post_processing_timeout_s is not None and post_processing_timeout_s < 0:
            raise ValueError("post_processing_timeout_s must be non-negative")
        if not use_cpu and not use_kineto:
            raise AssertionError("Device-only events supported only with Kineto (use_kineto=True)")
        if not use_cpu and use_device is None:
            raise AssertionError("No activities specified for the profiler")
        self.use_device = use_device
        self.record_shapes = record_shapes or with_flops
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.use_cpu = use_cpu
        self.acc_events = acc_events
        self.experimental_config = experimental_config
        self.custom_trace_id_callback = custom_trace_id_callback
        self.post_processing_timeout_s = post_processing_timeout_s
        self.entered = False
        self.trace_id = ""
        self._recorder: _Recorder | None = None
        self._raw: list[FunctionEvent] | None = None
        self._wall0 = 0
        self._function_events: EventList | None = None
        self._old_function_events: EventList | None = None
        self._needs_processing = False

    def __enter__(self) -> profile | None:
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self._prepare_trace()
        self._start_trace()
        return self

    def _prepare_trace(self) -> None:
        self.entered = True
        if self.custom_trace_id_callback is not None:
            self.trace_id = self.custom_trace_id_callback()

    def _start_trace(self) -> None:
        self.entered = True
        self._recorder = _Recorder(self.record_shapes, self.profile_memory, self.with_stack, self.use_device,
                                   self.with_flops)
        _activate(self._recorder)

    def __exit__(self, *exc: object) -> bool:
        if not self.enabled:
            return False
        if self.use_device == "cuda":
            from .. import cuda

            cuda.synchronize()
        rec = self._recorder
        if rec is None:
            return False
        _deactivate(rec)
        self._recorder = None
        if self._function_events and self.acc_events:
            self._old_function_events = self._function_events
        self._function_events = None
        self._raw = rec.finish()
        self._wall0 = rec.wall0
        self._needs_processing = True
        if self.acc_events:
            self._ensure_function_events()
        return False

    def _ensure_function_events(self) -> None:
        if self._function_events is not None and not self._needs_processing:
            return
        self._needs_processing = False
        self._function_events = EventList(self._raw or [], use_device=self.use_device,
                                          profile_memory=self.profile_memory, with_flops=self.with_flops)
        self._function_events._build_tree()
        if self._old_function_events and self.acc_events:
            self._function_events.extend(self._old_function_events)
            self._old_function_events = None

    def __repr__(self) -> str:
        if self._needs_processing:
            self._ensure_function_events()
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return repr(self._function_events)

    def __str__(self) -> str:
        if self._needs_processing:
            self._ensure_function_events()
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self._function_events)

    @property
    def function_events(self) -> EventList:
        self._ensure_function_events()
        return self._function_events  # type: ignore[return-value]

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        return self.function_events.table(sort_by=sort_by, row_limit=row_limit,
                                          max_src_column_width=max_src_column_width,
                                          max_name_column_width=max_name_column_width,
                                          max_shapes_column_width=max_shapes_column_width, header=header,
                                          top_level_events_only=top_level_events_only)

    def export_chrome_trace(self, path: str, metadata: dict[str, str] | None = None,
                            use_python_export: bool = False) -> None:
        """Write the recorded events as a Chrome trace JSON file (atomically; gzip when ``path`` ends .gz)."""
        events = self.function_events
        _chrome_trace(events, self._wall0, os.fspath(path), {"trace_id": self.trace_id, **(metadata or {})})

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        events = self.function_events
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        events.export_stacks(path, metric)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def total_average(self) -> Any:
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.function_events.self_cpu_time_total

    def toggle_collection_dynamic(self, enabled: bool, activities: Any) -> None:
        """Pause (``False``) or resume recording of CPU ops in this profile."""
        if self._recorder is not None and ProfilerActivity.CPU in set(activities):
            (_activate if enabled else _deactivate)(self._recorder)


class record_function(ContextDecorator):
    """A named range in the profile (``with record_function("name"):`` or ``@record_function("name")``);
    costs nothing when no profile records."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self.run_callbacks_on_exit = True
        self.record: Any = None
        self._open: dict[int, list[list[tuple[_Recorder, FunctionEvent]]]] = {}   # per thread, per entry

    def __enter__(self) -> record_function:
        opened = []
        for rec in tuple(_ACTIVE):
            ev = rec.begin(self.name, [], annotation=True)
            if ev is not None:
                opened.append((rec, ev))
        self._open.setdefault(threading.get_native_id(), []).append(opened)
        return self

    def __exit__(self, *exc: object) -> None:
        entries = self._open.get(threading.get_native_id())
        if not self.run_callbacks_on_exit or not entries:
            return
        for rec, ev in reversed(entries.pop()):
            rec.end(ev)


def _record_function_enter(name: str, args: str | None = None) -> record_function:
    """``torch.ops.profiler._record_function_enter``: open the range ``name``; the handle returned closes it."""
    handle = record_function(name, args)
    handle.__enter__()
    return handle


def _record_function_exit(handle: record_function) -> None:
    """``torch.ops.profiler._record_function_exit``: close a range opened by ``_record_function_enter``."""
    handle.__exit__(None, None, None)


class _Annotator:
    """Base of :class:`emit_nvtx` / :class:`emit_itt`: ember emits no vendor ranges, but the context
    managers keep torch's contract (``enabled``, not reentrant)."""

    _kind = ""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled
        self.entered = False
        self.record_shapes = record_shapes

    def __enter__(self) -> _Annotator | None:
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError(f"{self._kind} annotation context manager is not reentrant")
        self.entered = True
        return self

    def __exit__(self, *exc: object) -> bool:
        if self.enabled:
            self.entered = False
        return False


class emit_nvtx(_Annotator):
    """torch's NVTX range emitter for nvprof/Nsight; ember records no NVTX ranges (use :class:`profile`)."""

    _kind = "NVTX"


class emit_itt(_Annotator):
    """torch's Intel ITT range emitter for VTune; ember records no ITT ranges (use :class:`profile`)."""

    _kind = "ITT"
