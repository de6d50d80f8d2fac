"""The top-level ``ember`` namespace: functional ops re-exported at torch's top level behave as torch's, and
the heavy subpackages load lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ember
from oracle import assert_close, to_ember, torch

torch.manual_seed(0)
_X = torch.randn(2, 4, 6, 6)
_CASES = {
    "conv2d": (lambda L, x: L.conv2d(x, L.ones(3, 4, 3, 3) * 0.1, None, 1, 1)),
    "conv1d": (lambda L, x: L.conv1d(x.flatten(2), L.ones(2, 4, 3) * 0.1, None, 2)),
    "conv_transpose2d": (lambda L, x: L.conv_transpose2d(x, L.ones(4, 2, 3, 3) * 0.1, None, 2)),
    "max_pool2d": (lambda L, x: L.max_pool2d(x, 3, 2, 1)),
    "max_pool1d_with_indices": (lambda L, x: L.max_pool1d_with_indices(x.flatten(2), 4)),
    "avg_pool1d": (lambda L, x: L.avg_pool1d(x.flatten(2), 3, 2, 1, True, False)),
    "adaptive_avg_pool1d": (lambda L, x: L.adaptive_avg_pool1d(x.flatten(2), 5)),
    "adaptive_max_pool1d": (lambda L, x: L.adaptive_max_pool1d(x.flatten(2), 5)),
    "pixel_shuffle": (lambda L, x: L.pixel_shuffle(x, 2)),
    "pixel_unshuffle": (lambda L, x: L.pixel_unshuffle(x, 2)),
    "channel_shuffle": (lambda L, x: L.channel_shuffle(x, 2)),
    "layer_norm": (lambda L, x: L.layer_norm(x, [6, 6])),
    "group_norm": (lambda L, x: L.group_norm(x, 2, L.ones(4) * 0.5, L.ones(4), 1e-5, False)),
    "batch_norm": (lambda L, x: L.batch_norm(x, L.ones(4) * 2, L.zeros(4), L.zeros(4), L.ones(4), True, 0.1, 1e-5,
                                             False)),
    "instance_norm": (lambda L, x: L.instance_norm(x, None, None, None, None, True, 0.1, 1e-5, False)),
    "selu": (lambda L, x: L.selu(x)),
    "threshold": (lambda L, x: L.threshold(x, 0.1, -1.0)),
    "prelu": (lambda L, x: L.prelu(x, L.full((4,), 0.25))),
    "pdist": (lambda L, x: L.pdist(x.flatten(1))),
    "convolution": (lambda L, x: L.convolution(x, L.ones(3, 4, 3, 3) * 0.1, None, [1, 1], [1, 1], [1, 1], False,
                                               [0, 0], 1)),
    "rnn_tanh_cell": (lambda L, x: L.rnn_tanh_cell(x.flatten(1)[:, :6], L.zeros(2, 3), L.ones(3, 6) * 0.1,
                                                   L.ones(3, 3) * 0.2, L.ones(3), L.ones(3))),
    "utils.data.DistributedSampler": (lambda L, x: L.tensor(list(L.utils.data.DistributedSampler(
        range(10), num_replicas=3, rank=1, seed=4)))),
}


@pytest.mark.parametrize("name", sorted(_CASES))
def test_top_level_functional_matches_torch(name: str) -> None:
    fn = _CASES[name]
    assert_close(fn(ember, to_ember(_X)), fn(torch, _X), rtol=1e-5, atol=1e-5)


def test_subpackages_load_lazily() -> None:
    code = ("import sys, ember; heavy = [m for m in ('ember.vision', 'ember.train', 'ember.distributed', "
            "'matplotlib', 'sklearn', 'mpi4py', 'PIL') if m in sys.modules]; print(heavy); "
            "print(ember.distributed.__name__, ember.vision.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "ember.distributed ember.vision"]


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent_thing'"):
        ember.nonexistent_thing  # noqa: B018
