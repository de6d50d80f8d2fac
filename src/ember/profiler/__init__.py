"""``torch.profiler``: record which ops run, how long they take (self and total, nested as they call each
other, including autograd's backward nodes) and what they allocate; summarise with
``prof.key_averages().table(...)`` or export a Chrome trace.

``import ember.profiler`` costs nothing at op time: the op wrappers exist only while a profile records.
"""

from __future__ import annotations

from ..autograd.profiler import kineto_available, record_function
from ..autograd.profiler_util import DeviceType
from . import itt
from .profiler import (
    ProfilerAction,
    ProfilerActivity,
    _KinetoProfile,
    profile,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

__all__ = ["profile", "schedule", "supported_activities", "tensorboard_trace_handler", "ProfilerAction",
           "ProfilerActivity", "kineto_available", "DeviceType", "record_function", "itt", "_KinetoProfile"]
