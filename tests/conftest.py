"""Shared fixtures: every test starts from torch's default print options, default dtype and seed (and the
oracle's distributions validate their arguments, as by default);
``worlds_of_one`` for the distributed tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

import ember


@pytest.fixture(autouse=True)
def _reset_global_state():
    yield
    ember.set_default_dtype(ember.float32)
    ember.set_printoptions(profile="default")
    ember.autograd.grad_mode.STATE.grad = ember.autograd.grad_mode.STATE.enabled = True
    ember.autograd.grad_mode.STATE.inference = False
    if "torch.distributions" in sys.modules:   # torch.compile switches the oracle's argument validation off
        sys.modules["torch.distributions"].Distribution.set_default_validate_args(True)


@pytest.fixture
def worlds_of_one() -> Iterator[object]:
    """torch.distributed (gloo) and ember.distributed, each a world of one process."""
    pytest.importorskip("torch")
    import torch.distributed as tdist

    import ember.distributed as dist
    tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1)
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        yield tdist
    finally:
        tdist.destroy_process_group()
        dist.destroy_process_group()
