"""Shared fixtures: every test starts from torch's default print options, default dtype and seed."""

from __future__ import annotations

import pytest

import ember


@pytest.fixture(autouse=True)
def _reset_global_state():
    yield
    ember.set_default_dtype(ember.float32)
    ember.set_printoptions(profile="default")
    ember.autograd.grad_mode.STATE.grad = ember.autograd.grad_mode.STATE.enabled = True
    ember.autograd.grad_mode.STATE.inference = False
