"""Loading keeps a saved tensor's exact strides (a size-1 dim's stride too), as torch.load does."""

import io

import pytest
import torch

import ember


@pytest.mark.parametrize("make", [
    lambda L: L.arange(6).reshape(2, 3)[::2],             # size (1, 3), stride (6, 1)
    lambda L: L.arange(24.).reshape(2, 3, 4)[:1, :, ::2],   # size (1, 3, 2), stride (12, 4, 2)
    lambda L: L.arange(6.).reshape(2, 3).t(),
    lambda L: L.arange(8).reshape(2, 4)[:, 1:2],          # size (2, 1), stride (4, 1)
])
def test_loaded_strides_are_the_saved_ones(make) -> None:
    src = make(torch)
    buf = io.BytesIO()
    torch.save({"t": src}, buf)
    buf.seek(0)
    got = ember.load(buf)["t"]
    assert got.stride() == src.stride() and got.tolist() == src.tolist()
    buf = io.BytesIO()
    ember.save({"t": make(ember)}, buf)
    buf.seek(0)
    back = torch.load(buf)["t"]
    assert back.stride() == src.stride() and back.tolist() == src.tolist()
