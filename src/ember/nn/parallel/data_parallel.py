"""``DataParallel``: one process; ember runs the whole batch on the first device."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ..._tensor import Tensor
from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """torch's ``DataParallel`` on ember: without a GPU it calls the module as is; with GPUs the module lives on
    ``device_ids[0]`` (moved there when it is the only one), inputs are moved there and outputs to
    ``output_device`` (no replication: one device runs the whole batch)."""

    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        from ... import cuda

        if not cuda.is_available():
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(cuda.device_count()))
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(output_device)
        from ..._core.device import device as _device

        self.src_device_obj = _device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:   # as torch: with several devices the caller places the module
            self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in itertools.chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device {self.src_device_obj} "
                                   f"(device_ids[0]) but found one of them on device: {t.device}")
        src = self.src_device_obj
        out = self.module(*_moved(inputs, src), **_moved(kwargs, src))
        return _moved(out, f"cuda:{self.output_device}")


def _device_index(d: Any) -> int:
    return d if isinstance(d, int) else d.index or 0


def _moved(obj: Any, device: Any) -> Any:
    """``obj`` with every tensor inside (tuples, lists, dicts) moved to ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_moved(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_moved(v, device) for v in obj)
    if isinstance(obj, dict):
        return {k: _moved(v, device) for k, v in obj.items()}
    return obj
