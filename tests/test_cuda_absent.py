"""Without a GPU, ``ember.cuda`` answers as a CPU-only torch build does: the same values and the same
errors (type and text). Skipped where either library sees a GPU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import ember
from oracle import assert_same_error, torch

pytestmark = pytest.mark.skipif(ember.cuda.is_available() or torch.cuda.is_available(),
                                reason="compares the no-GPU behaviour")

VALUES: list[tuple[str, Callable[[Any], Any]]] = [
    ("is_available", lambda lib: lib.cuda.is_available()),
    ("device_count", lambda lib: lib.cuda.device_count()),
    ("is_initialized", lambda lib: lib.cuda.is_initialized()),
    ("memory_allocated", lambda lib: lib.cuda.memory_allocated()),
    ("max_memory_allocated", lambda lib: lib.cuda.max_memory_allocated()),
    ("memory_reserved", lambda lib: lib.cuda.memory_reserved()),
    ("memory_stats", lambda lib: dict(lib.cuda.memory_stats())),
    ("empty_cache", lambda lib: lib.cuda.empty_cache()),
    ("manual_seed", lambda lib: lib.cuda.manual_seed(1)),
    ("manual_seed_all", lambda lib: lib.cuda.manual_seed_all(1)),
    ("seed", lambda lib: lib.cuda.seed()),
    ("is_bf16_supported", lambda lib: lib.cuda.is_bf16_supported()),
    ("default_device", lambda lib: str(lib.get_default_device())),
    ("matmul_precision", lambda lib: lib.get_float32_matmul_precision()),
    ("cudnn_available", lambda lib: lib.backends.cudnn.is_available()),
    ("mps_available", lambda lib: lib.backends.mps.is_available()),
]


@pytest.mark.parametrize("name,fn", VALUES, ids=[v[0] for v in VALUES])
def test_values_without_a_gpu(name: str, fn: Callable[[Any], Any]) -> None:
    assert fn(ember) == fn(torch)


ERRORS: list[tuple[str, Callable[[Any], Any]]] = [
    ("current_device", lambda lib: lib.cuda.current_device()),
    ("synchronize", lambda lib: lib.cuda.synchronize()),
    ("get_device_name", lambda lib: lib.cuda.get_device_name()),
    ("get_device_properties", lambda lib: lib.cuda.get_device_properties(0)),
    ("get_rng_state", lambda lib: lib.cuda.get_rng_state()),
    ("initial_seed", lambda lib: lib.cuda.initial_seed()),
    ("mem_get_info", lambda lib: lib.cuda.mem_get_info()),
    ("init", lambda lib: lib.cuda.init()),
    ("Stream", lambda lib: lib.cuda.Stream()),
    ("Event", lambda lib: lib.cuda.Event()),
    ("CUDAGraph", lambda lib: lib.cuda.CUDAGraph()),
    ("current_stream", lambda lib: lib.cuda.current_stream()),
    ("zeros on cuda", lambda lib: lib.zeros(2, device="cuda")),
    ("tensor.cuda()", lambda lib: lib.ones(2).cuda()),
    ("legacy cuda type", lambda lib: lib.cuda.FloatTensor(2)),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_without_a_gpu(name: str, fn: Callable[[Any], Any]) -> None:
    assert_same_error(lambda: fn(ember), lambda: fn(torch))


def test_default_device_cuda_without_a_gpu() -> None:
    """Setting the default device succeeds; creating a tensor there fails as in torch."""
    for lib in (ember, torch):
        lib.set_default_device("cuda")
    try:
        assert_same_error(lambda: ember.ones(2), lambda: torch.ones(2))
    finally:
        ember.set_default_device(None)
        torch.set_default_device(None)
