"""DDP communication hooks that reduce a bucket with one all-reduce: as is (``allreduce_hook``, what DDP does
without a hook) or compressed to 16 bits on the wire (``fp16_compress_hook``, ``bf16_compress_hook``), and the
wrappers that compress around another hook. ``process_group`` is the hook's state (None: the default group)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...._core import dtype as D
from ...._tensor import Tensor
from ....futures import Future
from ..._grad_bucket import GradBucket
from ...distributed_c10d import ProcessGroup, _default, all_reduce

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
           "bf16_compress_wrapper"]

Hook = Callable[[Any, GradBucket], Future[Tensor]]


def _group(process_group: ProcessGroup | None) -> ProcessGroup:
    return process_group if process_group is not None else _default()


def _mean_allreduce(process_group: ProcessGroup | None, tensor: Tensor) -> Future[list[Tensor]]:
    """Divide ``tensor`` by the group size and start its in-place sum over the group."""
    group = _group(process_group)
    tensor.div_(group.size())
    return all_reduce(tensor, group=group, async_op=True).get_future()


def allreduce_hook(process_group: ProcessGroup | None, bucket: GradBucket) -> Future[Tensor]:
    """Average the bucket over the group with one all-reduce (DDP's own behaviour, as a hook to start from)."""
    return _mean_allreduce(process_group, bucket.buffer()).then(lambda fut: fut.value()[0])


def _compress_hook(dt: D.dtype, process_group: ProcessGroup | None, bucket: GradBucket) -> Future[Tensor]:
    buffer = bucket.buffer()
    compressed = buffer.to(dt)

    def decompress(fut: Future[list[Tensor]]) -> Tensor:
        buffer.copy_(fut.value()[0])
        return buffer
    return _mean_allreduce(process_group, compressed).then(decompress)


def fp16_compress_hook(process_group: ProcessGroup | None, bucket: GradBucket) -> Future[Tensor]:
    """Average the bucket in float16 (half the bytes on the wire), the result cast back to the bucket's dtype."""
    return _compress_hook(D.float16, process_group, bucket)


def bf16_compress_hook(process_group: ProcessGroup | None, bucket: GradBucket) -> Future[Tensor]:
    """Average the bucket in bfloat16 (float32's range, half its bytes), cast back to the bucket's dtype."""
    return _compress_hook(D.bfloat16, process_group, bucket)


def _compress_wrapper(dt: D.dtype, short: str, hook: Hook) -> Hook:
    def wrapped(state: Any, bucket: GradBucket) -> Future[Tensor]:
        buffer = bucket.buffer()
        bucket.set_buffer(buffer.to(dt))

        def decompress(fut: Future[Tensor]) -> Tensor:
            buffer.copy_(fut.value())
            return buffer
        return hook(state, bucket).then(decompress)
    wrapped.__name__ = wrapped.__qualname__ = f"{short}_compress_wrapper_hook"
    return wrapped


def fp16_compress_wrapper(hook: Hook) -> Hook:
    """``hook`` run on a float16 copy of the bucket, its result cast back to the bucket's dtype."""
    return _compress_wrapper(D.float16, "fp16", hook)


def bf16_compress_wrapper(hook: Hook) -> Hook:
    """``hook`` run on a bfloat16 copy of the bucket, its result cast back to the bucket's dtype."""
    return _compress_wrapper(D.bfloat16, "bf16", hook)
