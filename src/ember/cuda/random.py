"""``ember.cuda.random``: each GPU's default generator (Philox: seed + offset, as torch's CUDA generators);
``ember.manual_seed`` seeds these too."""

from __future__ import annotations

import os
from typing import Any

from .._core import device as _device_mod
from .._core import dtype as D
from .._core.device import canonical, cuda_available, cuda_device_count
from ..ops import _philox

__all__ = ["manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state",
           "get_rng_state_all", "set_rng_state_all"]


def _current() -> int:
    from . import current_device
    return current_device()


def _index(dev: Any) -> int:
    if isinstance(dev, int):
        return dev
    idx = canonical(dev).index
    return _current() if idx is None else idx


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator."""
    if cuda_available():
        _philox.cuda_state(_current()).manual_seed(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator."""
    _philox.manual_seed_all(int(seed))


def seed() -> None:
    """Seed the current GPU's generator from the operating system's entropy."""
    manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)


def seed_all() -> None:
    manual_seed_all(int.from_bytes(os.urandom(8), "little") >> 1)


def initial_seed() -> int:
    return _philox.cuda_state(_current()).seed


def get_rng_state(device: Any = "cuda") -> Any:
    """The GPU generator's state as torch's 16-byte uint8 tensor (seed, offset)."""
    from .._tensor import from_array
    return from_array(_philox.cuda_state(_index(device)).get_state(), D.uint8, _device_mod.CPU)


def set_rng_state(new_state: Any, device: Any = "cuda") -> None:
    _philox.cuda_state(_index(device)).set_state(new_state.numpy())


def get_rng_state_all() -> list[Any]:
    return [get_rng_state(i) for i in range(cuda_device_count())]


def set_rng_state_all(new_states: Any) -> None:
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def default_generators() -> tuple[Any, ...]:
    """One ``Generator`` per GPU sharing that GPU's default state (empty without a GPU, as torch)."""
    from ..ops.random import Generator

    gens = []
    for i in range(cuda_device_count()):
        g = Generator(f"cuda:{i}")
        g._philox = _philox.cuda_state(i)
        gens.append(g)
    return tuple(gens)
