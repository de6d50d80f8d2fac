"""Helpers shared by the functional ops: array namespaces, fused nodes, in-place variants, reductions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._core.device import CPU, cpu_features
from ..._core.memory_format import contiguous_format, memory_format, suggest_memory_format
from ..._core.warn import warn
from ...autograd.graph import SavedOutput
from ...ops._dispatch import (
    STATE,
    Node,
    Tensor,
    check_inplace,
    history_alias,
    inplace,
    new_tensor,
    record,
    tie,
    xp_of,
)
from ...ops.creation import dense_in

__all__ = [
    "OUT",
    "xp",
    "compute_array",
    "result",
    "fused",
    "inplace_apply",
    "reduce_loss",
    "legacy_reduction",
    "check_reduction",
    "Node",
    "Tensor",
    "STATE",
    "needs_grad",
    "layout_of",
    "dense_in",
    "full_in",
    "tie",
]

OUT = object()  # marks "save the op's own output" in :func:`fused`'s ``saved``


def xp(t: Tensor) -> Any:
    """The array namespace (numpy or cupy) of ``t``'s device."""
    return np if t._device is CPU else xp_of(t._device)


def compute_array(t: Tensor) -> Any:
    """``t``'s array in a dtype fit for arithmetic: 16-bit floats are widened to float32 (as torch's CPU
    kernels accumulate), everything else as is."""
    a = t._data
    if t._dtype is D.float16 or t._dtype is D.bfloat16:
        return a.astype(np.float32)
    return a


def result(arr: Any, like: Tensor, dtype: D.dtype | None = None) -> Tensor:
    """A new tensor from ``arr`` on ``like``'s device, cast to ``dtype`` (default: ``like``'s dtype)."""
    dt = dtype or like._dtype
    arr = xp(like).asarray(arr)
    if arr.dtype != dt.np:
        arr = arr.astype(dt.np)
    return new_tensor(arr, dt, like._device)


def layout_of(t: Tensor, ranks: tuple[int, ...] = (4, 5)) -> memory_format:
    """The memory format ``t``'s strides suggest when its rank is in ``ranks`` (the ranks whose channels-last
    layout an op's torch CPU kernel keeps), else ``contiguous_format``."""
    a = t._data
    if a.ndim not in ranks:
        return contiguous_format
    strides = a.strides
    if strides[-1] < strides[1]:   # the last dim inside the channels: never channels-last (the NCHW fast path)
        return contiguous_format
    return suggest_memory_format(a.shape, tuple(s // a.itemsize for s in strides))


def full_in(shape: Sequence[int], value: Any, dtype: Any, fmt: memory_format, ns: Any) -> Any:
    """An array of ``shape`` filled with ``value``, laid out in ``fmt`` from the start."""
    if fmt is contiguous_format:
        return ns.full(shape, value, dtype=dtype)
    order = (0, *range(2, len(shape)), 1)   # channels-last: the channel dim innermost
    return ns.full([shape[d] for d in order], value, dtype=dtype).transpose(tuple(np.argsort(order).tolist()))


def needs_grad(*tensors: Any) -> bool:
    """Whether grad mode is on and some tensor among ``tensors`` requires grad (a plain loop: cheaper than any()'s
    generator on these few operands)."""
    if STATE.enabled:
        for t in tensors:
            if isinstance(t, Tensor) and t._rg:
                return True
    return False


def not_differentiable(fn: str, **args: Tensor | None) -> None:
    """torch's error for a tensor argument that requires grad where the op has no derivative for it."""
    if STATE.grad:
        for name, t in args.items():
            if t is not None and t.requires_grad:
                raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{name}'. "
                                   "This input cannot have requires_grad True.")


def fused(out: Tensor, node_cls: type[Node], inputs: tuple, saved: tuple = (), **attrs: Any) -> Tensor:
    """Record ``node_cls`` as ``out``'s grad_fn when some input needs grad; ``saved`` may contain
    :data:`OUT` for the output itself; ``attrs`` become node attributes for its backward."""
    if needs_grad(*inputs):
        node = record(out, node_cls(), inputs)
        node.save(*(SavedOutput(out) if s is OUT else s for s in saved))
        node.__dict__.update(attrs)
    return out


def inplace_apply(x: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Write ``fn(x)`` into ``x`` (the in-place activation variants), moving autograd history as torch."""
    check_inplace(x)
    if STATE.enabled and x._rg:
        return inplace(x, fn(history_alias(x)))
    x._data[...] = fn(x)._data
    x._vc[0] += 1
    return x


def check_reduction(reduction: str) -> str:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` ('none' | 'mean' | 'sum') to an elementwise loss built from ember ops."""
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """Map the deprecated ``size_average``/``reduce`` flags onto ``reduction`` (with torch's warning)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
        stacklevel=3,
    )
    return reduction


@functools.cache
def onednn_dtypes() -> frozenset:
    """The dtypes torch's CPU kernels hand to oneDNN on this machine (gelu's erf form, convolutions): float32;
    bfloat16 where the CPU has AVX512 BW+VL+DQ or AVX-NE-CONVERT (Arm: BF16); float16 where it has AVX512-FP16 or
    AVX-NE-CONVERT (torch's ``mkldnn_bf16_device_check`` / ``mkldnn_fp16_device_check``)."""
    feats = cpu_features()
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        flags = set()
    ne_convert = "avx_ne_convert" in flags
    bf16 = ne_convert or all(feats.get(k) for k in ("AVX512BW", "AVX512VL", "AVX512DQ")) or "bf16" in flags
    fp16 = ne_convert or bool(feats.get("AVX512FP16"))
    return frozenset({D.float32} | ({D.bfloat16} if bf16 else set()) | ({D.float16} if fp16 else set()))


def type_string(dt: D.dtype) -> str:
    """torch's legacy name of a CPU tensor type in argument checks: ``torch.FloatTensor``, or ``CPUBFloat16Type``
    for the dtypes without a legacy tensor class."""
    if dt.name in ("float32", "float64", "float16", "uint8", "int8", "int16", "int32", "int64"):
        return f"torch.{dt._legacy}"
    return f"CPU{dt._short}Type"
