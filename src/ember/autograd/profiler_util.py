"""Profiler results: :class:`FunctionEvent` (one recorded call), :class:`FunctionEventAvg` (calls grouped by
key) and :class:`EventList` with torch's summary table, Chrome trace and stack exports.

Times are microseconds (floats) from the start of the profile; memory is bytes; the table's text and
widths are torch's, so printed summaries read the same under both libraries.
"""

from __future__ import annotations

import enum
import math
from collections import namedtuple
from typing import Any

from .._core.atomic import atomic_write_bytes

__all__ = ["EventList", "FormattedTimesMixin", "Interval", "Kernel", "FunctionEvent", "FunctionEventAvg",
           "DeviceType", "MEMORY_EVENT_NAME", "OUT_OF_MEMORY_EVENT_NAME"]

MEMORY_EVENT_NAME = "[memory]"
OUT_OF_MEMORY_EVENT_NAME = "[OutOfMemory]"


class DeviceType(enum.Enum):
    """torch's ``DeviceType`` (``torch.autograd.DeviceType``, ``torch.profiler.DeviceType``)."""

    CPU = 0
    CUDA = 1
    MKLDNN = 2
    OPENGL = 3
    OPENCL = 4
    IDEEP = 5
    HIP = 6
    FPGA = 7
    MAIA = 8
    XLA = 9
    Vulkan = 10
    Metal = 11
    XPU = 12
    MPS = 13
    Meta = 14
    HPU = 15
    VE = 16
    Lazy = 17
    IPU = 18
    MTIA = 19
    PrivateUse1 = 20

    def __int__(self) -> int:
        return self.value


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_time_share(time_us: float, total_us: float) -> str:
    if total_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_us:.2f}%"


def _format_memory(nbytes: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _in_unit(time_us: float, unit: str | None) -> str:
    """A time in the table's forced unit (``time_unit``), or auto-scaled."""
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0}.get(unit or "")
    return _format_time(time_us) if scale is None else f"{time_us / scale:.3f}{unit}"


class Interval:
    """A ``[start, end)`` time range in microseconds."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end

    def elapsed_us(self) -> float:
        return self.end - self.start


Kernel = namedtuple("Kernel", ["name", "device", "duration"])


class FormattedTimesMixin:
    """Averages and ``*_str`` renderings shared by events and grouped events."""

    count: int
    cpu_time_total: float
    device_time_total: float
    self_cpu_time_total: float
    self_device_time_total: float

    @property
    def cpu_time(self) -> float:
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self) -> float:
        return 0.0 if self.count == 0 else self.device_time_total / self.count

    @property
    def cuda_time(self) -> float:
        return self.device_time

    cpu_time_str = property(lambda self: _format_time(self.cpu_time))
    device_time_str = property(lambda self: _format_time(self.device_time))
    cpu_time_total_str = property(lambda self: _format_time(self.cpu_time_total))
    device_time_total_str = property(lambda self: _format_time(self.device_time_total))
    self_cpu_time_total_str = property(lambda self: _format_time(self.self_cpu_time_total))
    self_device_time_total_str = property(lambda self: _format_time(self.self_device_time_total))


class FunctionEvent(FormattedTimesMixin):
    """One recorded call (an op, a ``record_function`` range, or an autograd node): its time range, thread,
    input shapes, the memory it allocated and its place in the call tree (``cpu_parent``/``cpu_children``).
    Self times and self memory exclude the direct children."""

    def __init__(self, id: int, name: str, thread: int, start_us: float, end_us: float,
                 overload_name: str | None = None, fwd_thread: int | None = None,
                 input_shapes: list | None = None, stack: list[str] | None = None, scope: int = 0,
                 use_device: str | None = None, cpu_memory_usage: int = 0, device_memory_usage: int = 0,
                 is_async: bool = False, is_remote: bool = False, sequence_nr: int = -1, node_id: int = -1,
                 device_type: DeviceType = DeviceType.CPU, device_index: int = 0, is_legacy: bool = False,
                 flops: int | None = None, trace_name: str | None = None, is_user_annotation: bool = False,
                 concrete_inputs: list | None = None, kwinputs: dict | None = None) -> None:
        self.id = id
        self.node_id = node_id
        self.name = name
        self.overload_name = overload_name
        self.trace_name = trace_name
        self.time_range = Interval(start_us, end_us)
        self.thread = thread
        self.fwd_thread = fwd_thread
        self.kernels: list[Kernel] = []
        self.count = 1
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.input_shapes = input_shapes
        self.concrete_inputs = concrete_inputs
        self.kwinputs = kwinputs
        self.stack = stack
        self.scope = scope
        self.use_device = use_device
        self.cpu_memory_usage = cpu_memory_usage
        self.device_memory_usage = device_memory_usage
        self.is_async = is_async
        self.is_remote = is_remote
        self.sequence_nr = sequence_nr
        self.device_type = device_type
        self.device_index = device_index
        self.device_resource_id = thread
        self.is_legacy = is_legacy
        self.flops = flops
        self.is_user_annotation = is_user_annotation

    def append_kernel(self, name: str, device: int, duration: float) -> None:
        self.kernels.append(Kernel(name, device, duration))

    def append_cpu_child(self, child: FunctionEvent) -> None:
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent: FunctionEvent) -> None:
        self.cpu_parent = parent

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us() if self.device_type is DeviceType.CPU else 0

    @property
    def self_cpu_time_total(self) -> float:
        if self.is_async or self.device_type is not DeviceType.CPU:
            return 0
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def device_time_total(self) -> float:
        if self.is_async or not self.use_device:
            return 0
        return sum(k.duration for k in self.kernels) + sum(c.device_time_total for c in self.cpu_children)

    @property
    def self_device_time_total(self) -> float:
        if self.is_async or not self.use_device:
            return 0
        return self.device_time_total - sum(c.device_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self) -> int:
        if self.is_async or self.device_type is not DeviceType.CPU:
            return 0
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_device_memory_usage(self) -> int:
        if self.is_async or self.device_type is not DeviceType.CPU:
            return 0
        return self.device_memory_usage - sum(c.device_memory_usage for c in self.cpu_children)

    cuda_time_total = property(lambda self: self.device_time_total)
    self_cuda_time_total = property(lambda self: self.self_device_time_total)
    cuda_memory_usage = property(lambda self: self.device_memory_usage)
    self_cuda_memory_usage = property(lambda self: self.self_device_memory_usage)

    def __repr__(self) -> str:
        dev = self.use_device
        return (f"<FunctionEvent id={self.id} name={self.name} overload_name={self.overload_name} "
                f"device_type={self.device_type} node_id={self.node_id} cpu_time={self.cpu_time_str} "
                f"start_us={self.time_range.start} end_us={self.time_range.end} "
                f"cpu_children={[c.id for c in self.cpu_children]} {dev}_time={self.device_time_str} "
                f"name={self.name} thread={self.thread} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage} {dev}_memory_usage={self.device_memory_usage} "
                f"is_async={self.is_async} is_remote={self.is_remote} seq_nr={self.sequence_nr} "
                f"is_legacy={self.is_legacy}>")


class FunctionEventAvg(FormattedTimesMixin):
    """The sum of several events sharing a key (``count`` calls); ``cpu_time`` is the mean per call."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.count = 0
        self.node_id = 0
        self.is_async = False
        self.is_remote = False
        self.use_device: str | None = None
        self.cpu_time_total: float = 0
        self.device_time_total: float = 0
        self.self_cpu_time_total: float = 0
        self.self_device_time_total: float = 0
        self.input_shapes: Any = None
        self.overload_name: str | None = None
        self.stack: list | None = None
        self.scope: int | None = None
        self.cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.self_device_memory_usage = 0
        self.cpu_children: list[FunctionEvent] | None = None
        self.cpu_parent: FunctionEvent | None = None
        self.device_type = DeviceType.CPU
        self.is_legacy = False
        self.is_user_annotation = False
        self.flops: int | None = 0

    def add(self, other: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        if self.key is None:   # the first event sets what the group shares
            for attr in ("key", "node_id", "is_async", "is_remote", "cpu_parent", "cpu_children", "overload_name",
                         "input_shapes", "stack", "scope", "device_type", "is_legacy", "use_device",
                         "is_user_annotation"):
                setattr(self, attr, getattr(other, attr))
        if not isinstance(other, (FunctionEvent, FunctionEventAvg)):
            raise AssertionError("Expected other to be a FunctionEvent or FunctionEventAvg")
        if other.key != self.key:
            raise AssertionError(f"Expected keys to match, but got {other.key} vs {self.key}")
        for attr in ("cpu_time_total", "device_time_total", "self_cpu_time_total", "self_device_time_total",
                     "cpu_memory_usage", "device_memory_usage", "self_cpu_memory_usage",
                     "self_device_memory_usage", "count"):
            setattr(self, attr, getattr(self, attr) + getattr(other, attr))
        if self.flops is None:
            self.flops = other.flops
        elif other.flops is not None:
            self.flops += other.flops
        return self

    def __iadd__(self, other: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        return self.add(other)

    def __repr__(self) -> str:
        dev = self.use_device or "cuda"
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_{dev}_time={self.self_device_time_total_str} "
                f"{dev}_time={self.device_time_str} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage} {dev}_memory_usage={self.device_memory_usage}>")


def _atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically; a ``.gz`` path is gzip-compressed."""
    data = text.encode()
    if path.endswith(".gz"):
        import gzip

        data = gzip.compress(data)
    atomic_write_bytes(path, data)


class EventList(list):
    """A list of :class:`FunctionEvent` / :class:`FunctionEventAvg` with summaries and exports."""

    def __init__(self, *args: Any, use_device: str | None = None, profile_memory: bool = False,
                 with_flops: bool = False) -> None:
        super().__init__(*args)
        self._use_device = use_device
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._tree_built = False

    def _build_tree(self) -> None:
        """Link each event to its innermost enclosing event of the same thread (by time range), unless the
        recorder already linked them."""
        if not any(e.cpu_parent is not None or e.cpu_children for e in self if isinstance(e, FunctionEvent)):
            by_thread: dict[Any, list[FunctionEvent]] = {}
            for e in self:
                if not e.is_async and e.device_type is DeviceType.CPU:
                    by_thread.setdefault((e.thread, e.node_id), []).append(e)
            for events in by_thread.values():
                open_: list[FunctionEvent] = []
                for e in sorted(events, key=lambda e: (e.time_range.start, -e.time_range.end)):
                    while open_ and (e.time_range.start >= open_[-1].time_range.end
                                     or e.time_range.end > open_[-1].time_range.end):
                        open_.pop()
                    if open_:
                        open_[-1].append_cpu_child(e)
                        e.set_cpu_parent(open_[-1])
                    open_.append(e)
        self._set_backward_stacktraces()
        self._tree_built = True

    def _set_backward_stacktraces(self) -> None:
        """Events run by a backward node take the stack of the forward op that created the node (matched
        by sequence number), as torch reports them."""
        def node_of(e: Any) -> Any:
            while e is not None and e.scope != 1:
                e = e.cpu_parent
            return e

        forward: dict[tuple[int, int], list[str]] = {}
        for e in self:
            if e.stack is not None and node_of(e) is None:
                forward.setdefault((e.sequence_nr, e.thread), e.stack)
        for e in self:
            node = node_of(e)
            if node is not None:
                e.stack = forward.get((node.sequence_nr, node.fwd_thread), [])

    def __str__(self) -> str:
        return self.table()

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """The events as torch's fixed-width summary table, sorted descending by ``sort_by`` (an attribute
        such as ``cpu_time_total``, ``self_cpu_memory_usage``, ``count``; ``cuda`` reads as ``device``)."""
        return _build_table(self, sort_by=sort_by, row_limit=row_limit, max_src_column_width=max_src_column_width,
                            max_name_column_width=max_name_column_width,
                            max_shapes_column_width=max_shapes_column_width, header=header,
                            profile_memory=self._profile_memory, with_flops=self._with_flops,
                            top_level_events_only=top_level_events_only, time_unit=time_unit)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (``chrome://tracing``, Perfetto): a JSON list of complete events."""
        import json

        events = [{"name": e.trace_name, "ph": "X", "ts": e.time_range.start, "dur": e.time_range.elapsed_us(),
                   "tid": e.thread, "pid": "CPU functions", "args": {}}
                  for e in self if getattr(e, "trace_name", None) is not None]
        _atomic_write(path, json.dumps(events))

    def supported_export_stacks_metrics(self) -> list[str]:
        return ["self_cpu_time_total", "self_cuda_time_total", "self_xpu_time_total", "self_privateuse1_time_total"]

    def export_stacks(self, path: str, metric: str) -> None:
        """Write one ``frame;frame;... value`` line per event with a stack (flame-graph input)."""
        if metric not in self.supported_export_stacks_metrics():
            raise ValueError("metric should be one of: " + str(self.supported_export_stacks_metrics()))
        attr = metric.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        clean = str.maketrans(" ;\t\n", "____")
        lines = []
        for e in self:
            value = int(getattr(e, attr))
            if e.stack and value > 0:
                lines.append(";".join(s.translate(clean) for s in reversed(e.stack)) + f" {value}\n")
        _atomic_write(path, "".join(lines))

    def key_averages(self, group_by_input_shapes: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """One :class:`FunctionEventAvg` per key (name), optionally split by input shapes, overload name
        or the top ``group_by_stack_n`` stack frames; in order of first appearance."""
        if not self._tree_built:
            raise AssertionError("Expected tree to be built before calling key_averages")
        groups: dict[tuple, FunctionEventAvg] = {}
        for e in self:
            key: tuple = (e.key, e.node_id, e.device_type, e.is_legacy, e.is_user_annotation)
            if group_by_overload_name:
                key += (e.overload_name,)
            if group_by_input_shapes:
                key += (str(e.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple((e.stack or [])[:group_by_stack_n])
            groups.setdefault(key, FunctionEventAvg()).add(e)
        out = EventList(groups.values(), use_device=self._use_device, profile_memory=self._profile_memory,
                        with_flops=self._with_flops)
        for avg in out:
            avg.stack = (avg.stack or [])[:group_by_stack_n]
            if not group_by_input_shapes:
                avg.input_shapes = ""
            if not group_by_overload_name:
                avg.overload_name = ""
        return out

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one :class:`FunctionEventAvg` keyed ``"Total"``."""
        total = FunctionEventAvg()
        for e in self:
            total += e
            total.key = None
        total.key = "Total"
        return total


def _build_table(events: list, sort_by: str | None = None, header: str | None = None, row_limit: int = 100,
                 max_src_column_width: int | None = 75, max_name_column_width: int | None = 55,
                 max_shapes_column_width: int | None = 80, profile_memory: bool = False, with_flops: bool = False,
                 top_level_events_only: bool = False, time_unit: str | None = None) -> str:
    """torch's summary table: a name column sized to the longest key (at most ``max_name_column_width``),
    12-wide right-aligned value columns two spaces apart, dashed rules, and the self CPU time footer."""
    if not events:
        return ""
    use_device = events[0].use_device
    has_device_time = any(e.self_device_time_total > 0 for e in events)
    has_device_mem = any(e.self_device_memory_usage > 0 for e in events)
    has_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0 for e in events)
    has_overload = any(e.overload_name for e in events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)
    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)
    stacks = [e.stack for e in events if e.stack]
    src_width = 0
    if stacks:
        src_width = max(len(s) for stack in stacks for s in stack) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)
    dev = use_device.upper() if use_device is not None else "None"

    headers = ["Name"] + ["Overload Name"] * has_overload
    headers += ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if has_device_time:
        headers += [f"Self {dev}", f"Self {dev} %", f"{dev} total", f"{dev} time avg"]
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
        if use_device and has_device_mem:
            headers += [f"{dev} Mem", f"Self {dev} Mem"]
    headers.append("# of Calls")
    with_node_id = any(e.node_id != -1 for e in events)
    if with_node_id:
        headers.append("Node ID")
    widths = [name_width] * (1 + has_overload) + [12] * (len(headers) - 1 - has_overload)
    aligns = [">"] * len(widths)
    if has_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)
        aligns.append(">")
    if stacks:
        headers.append("Source Location")
        widths.append(src_width)
        aligns.append("<")
    flops = [e.flops for e in events if e.flops and e.flops > 0] if with_flops else []
    if flops:   # one unit for the column, chosen by the smallest count
        power = min(max(int(math.log10(min(flops)) // 3), 0), 5)
        flops_scale = 10.0 ** (-3 * power)
        headers.append(f"Total {('', 'K', 'M', 'G', 'T', 'P')[power]}FLOPs")
        widths.append(12)
        aligns.append(">")
    row_format = "".join(f"{{: {a}{w}}}  " for a, w in zip(aligns, widths, strict=True))
    rule = "".join("-" * w + "  " for w in widths)
    line_length = sum(w + 2 for w in widths) - 2

    def clip(text: str) -> str:
        if max_name_column_width is not None and len(text) >= max_name_column_width - 3:
            return text[: max_name_column_width - 3] + "..."
        return text

    def trim_path(path: str) -> str:
        if len(path) > src_width:
            path = path[len(path) - src_width:]
            if len(path) > 3:
                path = "..." + path[3:]
        return path

    total_self_cpu = sum(e.self_cpu_time_total for e in events)
    total_self_device = sum(e.self_device_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_events_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [rule, row_format.format(*headers), rule]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        row: list[Any] = [clip(e.key)] + [clip(e.overload_name)] * has_overload
        row += [_format_time_share(e.self_cpu_time_total, total_self_cpu), _in_unit(e.self_cpu_time_total, time_unit),
                _format_time_share(e.cpu_time_total, total_self_cpu) if not e.is_async else 0,
                _in_unit(e.cpu_time_total, time_unit), _in_unit(e.cpu_time, time_unit)]
        if has_device_time:
            row += [_in_unit(e.self_device_time_total, time_unit),
                    _format_time_share(e.self_device_time_total, total_self_device),
                    _in_unit(e.device_time_total, time_unit), _in_unit(e.device_time, time_unit)]
        if profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
            if use_device and has_device_mem:
                row += [_format_memory(e.device_memory_usage), _format_memory(e.self_device_memory_usage)]
        row.append(e.count)
        if with_node_id:
            row.append(e.node_id)
        if has_shapes:
            row.append(str(e.input_shapes)[:shapes_width])
        if flops:
            row.append(f"{e.flops * flops_scale:8.3f}" if e.flops and e.flops > 0 else "--")
        if stacks:
            row.append(trim_path(e.stack[0]) if e.stack else "")
        lines.append(row_format.format(*row))
        if stacks:
            blank = [""] * (len(headers) - 1)
            lines += [row_format.format(*blank, trim_path(s)) for s in (e.stack or [])[1:]]
            lines.append(row_format.format(*blank, ""))
    lines.append(rule)
    lines.append(f"Self CPU time total: {_in_unit(total_self_cpu, time_unit)}")
    if has_device_time:
        lines.append(f"Self {dev} time total: {_in_unit(total_self_device, time_unit)}")
    return "".join(line + "\n" for line in lines)
