"""The allocator ember installs into CuPy (peak tracking, torch's out-of-memory error), driven by a stand-in
for CuPy's memory pool so that it runs without a GPU."""

from __future__ import annotations

import types

import pytest

import ember
from ember._core import device as dev


class _FakeOOM(Exception):
    pass


class _Pool:
    """CuPy's MemoryPool, reduced to what the allocator uses: a 1 MiB device."""

    def __init__(self) -> None:
        self.used = 0

    def malloc(self, size: int) -> object:
        if self.used + size > 2**20:
            raise _FakeOOM(size)
        self.used += size
        return types.SimpleNamespace(device_id=0, size=size)

    def used_bytes(self) -> int:
        return self.used

    def total_bytes(self) -> int:
        return self.used + 4096


def _fake_cupy(pool: _Pool, installed: list) -> types.SimpleNamespace:
    runtime = types.SimpleNamespace(getDevice=lambda: 0, memGetInfo=lambda: (2**20 - pool.used, 2**20))
    cuda = types.SimpleNamespace(set_allocator=installed.append, runtime=runtime,
                                 memory=types.SimpleNamespace(OutOfMemoryError=_FakeOOM))
    return types.SimpleNamespace(get_default_memory_pool=lambda: pool, cuda=cuda)


@pytest.fixture
def allocator() -> tuple:
    pool, installed = _Pool(), []
    saved = dict(dev._peak_bytes)
    dev._peak_bytes.clear()
    dev._track_peak_memory(_fake_cupy(pool, installed))
    yield pool, installed[0]
    dev._peak_bytes.clear()
    dev._peak_bytes.update(saved)


def test_peak_follows_the_most_bytes_in_use(allocator: tuple) -> None:
    pool, malloc = allocator
    malloc(1000)
    malloc(3000)
    pool.used -= 3000   # freed
    malloc(500)
    assert dev._peak_bytes[0] == 4000 and pool.used == 1500


def test_failed_allocation_raises_torchs_out_of_memory_error(allocator: tuple) -> None:
    pool, malloc = allocator
    malloc(2**19)
    with pytest.raises(ember.cuda.OutOfMemoryError) as info:
        malloc(3 * 2**19)
    assert isinstance(info.value, RuntimeError) and ember.OutOfMemoryError is ember.cuda.OutOfMemoryError
    assert str(info.value).startswith("CUDA out of memory. Tried to allocate 1.50 MiB. GPU 0 has a total "
                                      "capacity of 1.00 MiB of which 512.00 KiB is free. Of the allocated memory "
                                      "512.00 KiB is allocated by ember, and 4.00 KiB is reserved by ember but "
                                      "unallocated.")


def test_device_checks_are_deferred_to_the_next_host_read() -> None:
    """For GPU data a failed validation is queued and raised at the next host read, as torch's device-side
    asserts surface at the next synchronisation; on the CPU it raises at once. (A stand-in namespace plays
    the GPU's.)"""
    import numpy as np

    gpu_like = types.SimpleNamespace()
    with pytest.raises(IndexError, match="cpu check"):
        dev.check_on_device(np, np.bool_(True), lambda: IndexError("cpu check"))
    dev.check_on_device(gpu_like, np.array(False), lambda: IndexError("never"))
    dev.check_on_device(gpu_like, np.array(True), lambda: IndexError("Target 7 is out of bounds."))
    assert len(dev.PENDING_CHECKS) == 2
    try:
        with pytest.raises(IndexError, match="Target 7 is out of bounds."):
            dev.flush_checks()
    finally:
        dev.PENDING_CHECKS.clear()
    assert dev.PENDING_CHECKS == []
    dev.CAPTURING[0] = True
    try:
        dev.check_on_device(gpu_like, np.array(True), lambda: IndexError("dropped in a capture"))
    finally:
        dev.CAPTURING[0] = False
    assert dev.PENDING_CHECKS == []
