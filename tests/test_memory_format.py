"""Memory formats on tensors and modules: ``to/contiguous/clone(memory_format=)``, ``is_contiguous`` in a
format, aliasing rules and grad_fn names, compared with torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import ember
from oracle import assert_same_error

LIBS = (ember, torch)


def _shapes(lib: Any) -> dict[str, Any]:
    base = lib.arange(120.0).reshape(2, 3, 4, 5)
    return {
        "contiguous": base,
        "channels_last": base.contiguous(memory_format=lib.channels_last),
        "permuted": base.permute(0, 2, 3, 1),
        "sliced": base[:, :, ::2],
        "size1": lib.arange(12.0).reshape(1, 3, 1, 4),
        "five_d": lib.arange(240.0).reshape(2, 3, 2, 4, 5),
        "two_d": lib.arange(6.0).reshape(2, 3),
        "empty": lib.ones(0, 3, 2, 2),
    }


def _fmt(lib: Any, name: str) -> Any:
    return getattr(lib, name)


FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]
CONVERSIONS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "to": lambda lib, t, f: t.to(memory_format=f),
    "to_dtype": lambda lib, t, f: t.to(lib.float64, memory_format=f),
    "contiguous": lambda lib, t, f: t.contiguous(memory_format=f),
    "clone": lambda lib, t, f: t.clone(memory_format=f),
    "top_level_clone": lambda lib, t, f: lib.clone(t, memory_format=f),
}


@pytest.mark.parametrize("conv", sorted(CONVERSIONS))
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(_shapes(ember)))
def test_conversions_match_torch(conv: str, fmt: str, case: str) -> None:
    facts = []
    for lib in LIBS:
        t = _shapes(lib)[case]
        try:
            r = CONVERSIONS[conv](lib, t, _fmt(lib, fmt))
        except RuntimeError as e:
            facts.append(("error", str(e)))
            continue
        facts.append((r.stride(), r is t, r.dtype == t.dtype or str(r.dtype),
                      [r.is_contiguous(memory_format=_fmt(lib, f)) for f in FORMATS[:3]]))
        np.testing.assert_array_equal(np.asarray(r.tolist()), np.asarray(t.tolist()))
    assert facts[0] == facts[1]


@pytest.mark.parametrize("case", sorted(_shapes(ember)))
def test_is_contiguous_per_format(case: str) -> None:
    got = [[_shapes(lib)[case].is_contiguous(memory_format=_fmt(lib, f)) for f in FORMATS[:3]] +
           [_shapes(lib)[case].is_contiguous()] for lib in LIBS]
    assert got[0] == got[1]


def test_autograd_through_conversions() -> None:
    res = []
    for lib in LIBS:
        x = lib.arange(24.0).reshape(1, 2, 3, 4).requires_grad_()
        y = x.to(memory_format=lib.channels_last)
        z = x.contiguous(memory_format=lib.channels_last)
        c = y.clone(memory_format=lib.contiguous_format)
        (y * 1 + z * 2 + c * 3).sum().backward()
        res.append((y.grad_fn.name(), z.grad_fn.name(), c.grad_fn.name(), x.grad.stride(), x.grad.tolist()))
    assert res[0] == res[1]


def test_module_to_memory_format() -> None:
    facts = []
    for lib in LIBS:
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.Linear(2, 2))
        same = m.to(memory_format=lib.channels_last) is m
        facts.append((same, [p.stride() for p in m.parameters()], [b.stride() for b in m.buffers()]))
    assert facts[0] == facts[1]
    assert_same_error(lambda: ember.nn.Conv2d(3, 4, 3).to(memory_format=ember.channels_last_3d),
                      lambda: torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last_3d))


def test_convolutions_keep_channels_last_as_torch() -> None:
    """2-d (transposed) convolutions give channels-last outputs for a channels-last input or weight, gradients
    laid out like their leaves; 3-d ones stay contiguous on the CPU."""
    facts = []
    for lib in LIBS:
        cl = lib.channels_last
        lib.manual_seed(0)
        x = lib.randn(2, 3, 8, 8).to(memory_format=cl).requires_grad_()
        y = lib.nn.functional.conv2d(x, lib.randn(4, 3, 3, 3))
        y.sum().backward()
        x2 = lib.randn(2, 3, 8, 8).requires_grad_()
        w2 = lib.randn(4, 3, 3, 3).to(memory_format=cl).requires_grad_()
        y2 = lib.nn.functional.conv2d(x2, w2)
        y2.sum().backward()
        y3 = lib.nn.functional.conv_transpose2d(x, lib.randn(3, 4, 3, 3))
        y4 = lib.nn.functional.conv3d(lib.randn(1, 2, 3, 4, 5).to(memory_format=lib.channels_last_3d),
                                      lib.randn(3, 2, 1, 1, 1))
        y5 = lib.nn.functional.conv2d(lib.randn(1, 3, 1, 1).to(memory_format=cl), lib.randn(4, 3, 1, 1))
        m = lib.nn.Conv2d(3, 4, 3).to(memory_format=cl)
        facts.append(([t.stride() for t in (y, x.grad, y2, x2.grad, w2.grad, y3, y4, y5, m(lib.randn(2, 3, 8, 8)))],
                      y.detach().numpy()))
    assert facts[0][0] == facts[1][0]
    np.testing.assert_allclose(facts[0][1], facts[1][1], rtol=1e-5, atol=1e-5)
