"""``torch.profiler.profile``: the scheduled profiler (wait / warmup / active cycles driven by ``step()``),
``schedule``, ``tensorboard_trace_handler`` and the enums, over :mod:`ember.autograd.profiler`'s recorder."""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from .._core.warn import warn
from ..autograd import profiler as prof
from ..autograd.profiler import ProfilerActivity, _supported_activities
from ..autograd.profiler_util import EventList

__all__ = ["profile", "schedule", "supported_activities", "tensorboard_trace_handler", "ProfilerAction",
           "ProfilerActivity"]


def supported_activities() -> set[ProfilerActivity]:
    """The activities this build can profile: CPU, and CUDA when a GPU is available."""
    return _supported_activities()


class ProfilerAction(enum.Enum):
    """What the profiler does at a step: nothing, warm up, record, or record and hand the trace over."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """A step → action function: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup`` and
    ``active`` recorded steps (the last one saves), ``repeat`` times (0: until profiling ends).
    ``skip_first_wait`` drops the first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} (need >= 0), "
            f"active={active} (need > 0), repeat={repeat} (need >= 0), skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step >= repeat * cycle:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule_fn(_: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False,
                              use_python_export: bool = False) -> Callable[[Any], None]:
    """An ``on_trace_ready`` handler writing each trace to ``dir_name/<worker>.<ns>.pt.trace.json[.gz]``
    (TensorBoard's profile plugin reads that folder); ``worker`` defaults to ``<hostname>_<pid>``."""

    def handler_fn(p: Any) -> None:
        import socket

        nonlocal worker_name
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except Exception as e:
                raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        p.export_chrome_trace(os.path.join(dir_name, file_name))

    return handler_fn


def _parse_activities(activities: Iterable[Any]) -> set[ProfilerActivity]:
    seen: set[ProfilerActivity] = set()
    for item in activities:
        keys = list(item) if isinstance(item, dict) else [item]
        if not isinstance(item, (dict, ProfilerActivity)):
            raise TypeError(f"Expected ProfilerActivity or dict, got {type(item)}")
        for key in keys:
            if key in seen:
                raise ValueError(f"Activity {key} specified more than once")
            seen.add(key)
    return seen


_WARNED_CLEAR = [False]


class _KinetoProfile:
    """The profiler without a schedule: ``start()``/``stop()`` one recording window and read its results."""

    def __init__(self, *, activities: Iterable[Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None,
                 execution_trace_observer: Any = None, acc_events: bool = False,
                 custom_trace_id_callback: Callable[[], str] | None = None,
                 post_processing_timeout_s: float | None = None) -> None:
        self.activities = _parse_activities(activities) if activities is not None else supported_activities()
        self.record_shapes = record_shapes
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.experimental_config = experimental_config
        self.execution_trace_observer = execution_trace_observer
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.post_processing_timeout_s = post_processing_timeout_s
        self.profiler: prof.profile | None = None
        self.use_device = "cuda" if ProfilerActivity.CUDA in self.activities else None
        self.preset_metadata: dict[str, str] = {}
        self._trace_metadata: dict[str, str] = {}

    def start(self) -> None:
        self.prepare_trace()
        self.start_trace()

    def stop(self) -> None:
        self.stop_trace()

    def prepare_trace(self) -> None:
        if self.profiler is not None and not self.acc_events and not _WARNED_CLEAR[0]:
            _WARNED_CLEAR[0] = True
            warn("Warning: Profiler clears events at the end of each cycle. Only events from the current "
                 "cycle will be reported. To keep events across cycles, set acc_events=True.", stacklevel=2)
        if self.profiler is None or not self.acc_events:
            self.profiler = prof.profile(
                use_cpu=ProfilerActivity.CPU in self.activities, use_device=self.use_device,
                record_shapes=self.record_shapes, with_flops=self.with_flops, profile_memory=self.profile_memory,
                with_stack=self.with_stack, with_modules=self.with_modules, use_kineto=True,
                experimental_config=self.experimental_config, acc_events=self.acc_events,
                custom_trace_id_callback=self.custom_trace_id_callback,
                post_processing_timeout_s=self.post_processing_timeout_s)
        self.profiler._prepare_trace()

    def start_trace(self) -> None:
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before starting trace")
        self.profiler._start_trace()
        for flag in ("profile_memory", "with_stack", "record_shapes", "with_modules", "with_flops"):
            if getattr(self, flag):
                self._trace_metadata[flag] = "1"
        self._trace_metadata.update(self.preset_metadata)

    def stop_trace(self) -> None:
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before stopping trace")
        self.profiler.__exit__(None, None, None)

    def export_chrome_trace(self, path: str, use_python_export: bool = False) -> None:
        """Write the last window's events as a Chrome trace JSON (atomically; gzip for a ``.gz`` path)."""
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting chrome trace")
        self.profiler.export_chrome_trace(os.fspath(path), self._trace_metadata)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting stacks")
        self.profiler.export_stacks(path, metric)

    def toggle_collection_dynamic(self, enable: bool, activities: Iterable[ProfilerActivity]) -> None:
        if self.profiler is not None:
            self.profiler.toggle_collection_dynamic(enable, activities)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """Events grouped by name (and optionally input shapes / top stack frames), summed."""
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before getting key averages")
        return self.profiler.key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def events(self) -> EventList:
        """The recorded :class:`FunctionEvent` list of the last window."""
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before accessing events")
        return self.profiler.function_events

    def add_metadata(self, key: str, value: str) -> None:
        self._trace_metadata[key] = '"' + value.replace('"', '\\"') + '"'

    def add_metadata_json(self, key: str, value: str) -> None:
        self._trace_metadata[key] = value

    def preset_metadata_json(self, key: str, value: str) -> None:
        self.preset_metadata[key] = value


_A = ProfilerAction


class profile(_KinetoProfile):
    """torch's profiler context manager: records the ops run inside it; with a ``schedule``, each
    ``step()`` advances the cycle (idle, warmup, recorded steps wrapped in ``ProfilerStep#N`` ranges) and
    ``on_trace_ready(prof)`` runs at the end of every active span."""

    def __init__(self, *, activities: Iterable[Any] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[..., Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: bool | None = None,
                 custom_trace_id_callback: Callable[[], str] | None = None,
                 post_processing_timeout_s: float | None = None) -> None:
        chosen = _parse_activities(activities) if activities is not None else supported_activities()
        if use_cuda is not None:
            warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning,
                 stacklevel=2)
            if use_cuda:
                chosen.add(ProfilerActivity.CUDA)
            else:
                chosen.discard(ProfilerActivity.CUDA)
        if not chosen:
            raise AssertionError("No valid profiler activities found")
        super().__init__(activities=chosen, record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules,
                         experimental_config=experimental_config, execution_trace_observer=execution_trace_observer,
                         acc_events=acc_events, custom_trace_id_callback=custom_trace_id_callback,
                         post_processing_timeout_s=post_processing_timeout_s)
        self.record_steps = schedule is not None
        self.schedule = schedule or _default_schedule_fn
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn: prof.record_function | None = None
        self.current_action = self._checked(self.schedule(self.step_num))
        save = [self.stop_trace, self._trace_ready]
        # (previous action, next action) → what to do; None as next action: the profile stops
        self.action_map: dict[tuple[ProfilerAction, ProfilerAction | None], list[Callable[[], Any]]] = {
            (_A.NONE, _A.WARMUP): [self.prepare_trace],
            (_A.NONE, _A.RECORD): [self.prepare_trace, self.start_trace],
            (_A.NONE, _A.RECORD_AND_SAVE): [self.prepare_trace, self.start_trace],
            (_A.WARMUP, _A.NONE): [lambda: warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=4),
                                   self.start_trace, self.stop_trace],
            (_A.WARMUP, _A.RECORD): [self.start_trace],
            (_A.WARMUP, _A.RECORD_AND_SAVE): [self.start_trace],
            (_A.RECORD, _A.NONE): [lambda: warn("Incorrect schedule: RECORD followed by NONE", stacklevel=4),
                                   self.stop_trace],
            (_A.RECORD, _A.WARMUP): [lambda: warn("Incorrect schedule: RECORD followed by WARMUP",
                                                  stacklevel=4), self.stop_trace],
            (_A.RECORD_AND_SAVE, _A.NONE): save,
            (_A.RECORD_AND_SAVE, _A.WARMUP): [*save, self.prepare_trace],
            (_A.RECORD_AND_SAVE, _A.RECORD): [*save, self.prepare_trace, self.start_trace],
            (_A.RECORD_AND_SAVE, _A.RECORD_AND_SAVE): [*save, self.prepare_trace, self.start_trace],
            (_A.WARMUP, None): [self.start_trace, self.stop_trace],
            (_A.RECORD, None): save,
            (_A.RECORD_AND_SAVE, None): save,
        }

    @staticmethod
    def _checked(action: ProfilerAction) -> ProfilerAction:
        if action == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler and must not be "
                             "returned by a user-provided schedule")
        return action

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._transit_action(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self) -> None:
        self._close_step()
        self._transit_action(self.current_action, None)

    def step(self) -> None:
        """Mark the start of the next step: advance the schedule (recording, saving, calling
        ``on_trace_ready`` as it says)."""
        self._close_step()
        action = self._checked(self.schedule(self.step_num + 1))
        prev, self.current_action = self.current_action, action
        self.step_num += 1
        self._transit_action(prev, action)
        self._open_step()

    def _open_step(self) -> None:
        if self.record_steps:
            self.step_rec_fn = prof.record_function(f"ProfilerStep#{self.step_num}")
            self.step_rec_fn.__enter__()

    def _close_step(self) -> None:
        if self.step_rec_fn is not None:
            rec, self.step_rec_fn = self.step_rec_fn, None
            rec.__exit__(None, None, None)

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def _transit_action(self, prev: ProfilerAction, current: ProfilerAction | None) -> None:
        for action in self.action_map.get((prev, current), ()):
            action()

    def set_custom_trace_id_callback(self, callback: Callable[[], str]) -> None:
        self.custom_trace_id_callback = callback

    def get_trace_id(self) -> str | None:
        return None if self.profiler is None else self.profiler.trace_id
