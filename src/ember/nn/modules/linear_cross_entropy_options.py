"""``LinearCrossEntropyOptions``: the options that select ``linear_cross_entropy``'s chunked path, as torch 2.13
(``LinearCrossEntropyLoss`` is in :mod:`.loss`, as torch's)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

from ..._core import dtype as D

__all__ = [
    "LinearCrossEntropyOptions",
]


class _AutoDefault(NamedTuple):
    acc_policy: str
    chunking_method: str


# What ``"auto"`` resolves to per (device type, input dtype), torch's picks; other pairs use the fallback.
_AUTO_DEFAULTS: dict[tuple[str, D.dtype], _AutoDefault] = {
    ("cuda", D.bfloat16): _AutoDefault("compact", "aspect_ratio:2"),
    ("cuda", D.float16): _AutoDefault("compact", "aspect_ratio:2"),
    ("cpu", D.bfloat16): _AutoDefault("accurate", "aspect_ratio"),
    ("cpu", D.float16): _AutoDefault("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = _AutoDefault("compact", "aspect_ratio:2")
_ACC_DTYPES = (D.float16, D.bfloat16, D.float32, D.float64)


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How :func:`linear_cross_entropy` chunks the batch: ``batch_chunk_size`` rows at a time (None: one chunk),
    or a size from ``chunking_method`` (``"aspect_ratio[:N]"``: chunk logits about the size of the input, ÷ N;
    ``"auto"``: per device/dtype). ``acc_policy``/``acc_dtype`` choose the accumulation precision (16-bit inputs
    accumulate in float32); ``allow_retain_graph`` keeps the precomputed gradients for a second backward."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: D.dtype | None = None

    def __post_init__(self) -> None:
        if self.acc_policy not in {"auto", "accurate", "balanced", "compact"}:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (size is None or (isinstance(size, int) and size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in _ACC_DTYPES:
            raise ValueError("acc_dtype must be one of {None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                             "automatically.")

    @staticmethod
    def _resolve_auto_acc_dtype(dtype: D.dtype, device: Any) -> D.dtype | None:
        """float32 for 16-bit inputs where mixed-precision GEMMs exist (CPU; CUDA sm70+ / sm80+ for bf16)."""
        if device is None or dtype not in (D.float16, D.bfloat16):
            return None
        if device.type == "cuda":
            from ... import cuda

            if not cuda.is_available():
                return None
            major = cuda.get_device_capability(device)[0]
            return None if major < (8 if dtype is D.bfloat16 else 7) else D.float32
        return D.float32 if device.type == "cpu" else None

    def _compute_batch_chunk_size(self, num_batches: int, in_features: int, num_classes: int,
                                  method: str | None = None) -> int:
        """``"aspect_ratio[:N]"``: the power of two ≥ ceil(N_batches / ceil(C / in_features)), ÷ N."""
        method = str(method if method is not None else self.chunking_method)
        if not method.startswith("aspect_ratio"):
            raise AssertionError(f"unhandled chunking_method: {method!r}")
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = -(-num_batches // -(-num_classes // in_features))
        return min((1 << (target - 1).bit_length()) // factor, num_batches)

    def _adjust(self, num_batches: int, in_features: int, num_classes: int, dtype: D.dtype,
                device: Any = None) -> LinearCrossEntropyOptions:
        """These options made concrete for one call: "auto" resolved, the chunk size and acc_dtype fixed."""
        acc_policy, method = self.acc_policy, self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None   # an explicit size wins over the automatic one
        if acc_policy == "auto" or method == "auto":
            ap, cm = _AUTO_DEFAULTS.get((device.type, dtype), _AUTO_FALLBACK) if device is not None \
                else _AUTO_FALLBACK
            acc_policy = ap if acc_policy == "auto" else acc_policy
            method = cm if method == "auto" else method
        size = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size, num_batches)
        if method is not None:
            size = self._compute_batch_chunk_size(num_batches, in_features, num_classes, method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != size:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method ('{method}') give "
                                 f"different chunk sizes ({self.batch_chunk_size} vs {size}); pass only one.")
        acc_dtype = self.acc_dtype
        if acc_dtype is None:
            auto = self._resolve_auto_acc_dtype(dtype, device) if self.acc_policy == "auto" else None
            acc_dtype = auto if auto is not None else dtype
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=method,
                                   batch_chunk_size=max(1, size), acc_dtype=acc_dtype)

