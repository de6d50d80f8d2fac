"""The C heap's policy for NumPy's array buffers on glibc: freed buffers stay in the process for reuse.

glibc serves a request above its mmap threshold with fresh pages and hands the heap's free top back to the
OS past its trim threshold; both thresholds start low (128 KiB) and only creep up as big blocks are freed.
A training step allocates and frees the same few-megabyte buffers step after step (convolution columns and
outputs, activations, gradients), so with the defaults every step pays a page fault per 4 KiB of them again
(the kernel zeroes each page): a third of a small CNN's convolution time, and BLAS's worker threads spin
meanwhile. :func:`keep_freed_memory` raises both thresholds once: buffers up to 32 MiB come from the heap,
and up to 256 MiB of free heap is kept for the next ones. Settings the user gave glibc (``MALLOC_*_``
variables, ``GLIBC_TUNABLES``) are left as they are.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters
_MMAP_THRESHOLD = 32 << 20   # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 256 << 20


def _glibc() -> bool:
    """Whether the C library is glibc (asked of the C library itself, not by scanning the executable)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


def keep_freed_memory() -> None:
    """Raise glibc's mmap and trim thresholds (a no-op elsewhere, or where the user tuned malloc)."""
    if not _glibc():
        return
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (OSError, AttributeError):
        return
