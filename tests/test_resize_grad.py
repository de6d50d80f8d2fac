"""``resize_`` on tensors autograd tracks, and the deprecated out-of-place ``resize``, against torch: refused
whatever the grad mode (only inference mode lets it through), forward AD's own error, numel-preserving
``resize`` with a gradient."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

import ember
from oracle import assert_close, assert_same_error, torch


def _leaf(L: Any) -> Any:
    return L.ones(2, requires_grad=True)


def _dual(L: Any, inner: Callable[[Any, Any], Any], grad: bool = True) -> Any:
    fw = L.autograd.forward_ad
    with fw.dual_level(), L.set_grad_enabled(grad):
        return inner(L, fw.make_dual(L.ones(2), L.ones(2)))


REFUSED = {
    "leaf_no_grad": lambda L: L.no_grad()(lambda: _leaf(L).resize_(3))(),
    "same_shape_no_grad": lambda L: L.no_grad()(lambda: _leaf(L).resize_(2))(),
    "negative_size_no_grad": lambda L: L.no_grad()(lambda: _leaf(L).resize_(-1))(),
    "non_leaf_no_grad": lambda L: (lambda y: L.no_grad()(lambda: y.resize_(3))())(_leaf(L) * 2),
    "resize_as_no_grad": lambda L: L.no_grad()(lambda: L.resize_as_(_leaf(L), L.ones(3)))(),
    "dual": lambda L: _dual(L, lambda L, d: d.resize_(3)),
    "dual_no_grad": lambda L: _dual(L, lambda L, d: d.resize_(3), grad=False),
    "dual_result": lambda L: _dual(L, lambda L, d: (d * 2).resize_(3)),
    "deprecated_resize_numel": lambda L: L.arange(4.0).resize(3),
    "deprecated_resize_as_numel": lambda L: _leaf(L).resize_as(L.ones(3)),
}


@pytest.mark.parametrize("case", list(REFUSED))
@pytest.mark.filterwarnings("ignore:non-inplace resize is deprecated")
def test_resize_refused_like_torch(case: str) -> None:
    assert_same_error(lambda: REFUSED[case](ember), lambda: REFUSED[case](torch))


def _allowed(L: Any) -> list:
    x = _leaf(L)
    with L.inference_mode():
        shapes = [tuple(x.resize_(3).shape)]
    fw = L.autograd.forward_ad
    with fw.dual_level():
        d = fw.make_dual(L.ones(2), L.ones(2))
    shapes.append(tuple(d.resize_(3).shape))   # the level is gone: no tangent any more
    return shapes


def test_resize_allowed_in_inference_mode_and_after_the_level() -> None:
    assert _allowed(ember) == _allowed(torch) == [(3,), (3,)]


def _deprecated_resize(L: Any) -> list:
    x = L.arange(4.0).reshape(2, 2).t().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = x.resize(4)
        r.backward(L.arange(4.0))
    return [r.detach(), type(r.grad_fn).__name__, x.grad]


def test_deprecated_resize_keeps_numel_and_differentiates() -> None:
    e, t = _deprecated_resize(ember), _deprecated_resize(torch)
    assert e[1] == t[1] == "ResizeBackward"
    assert_close(e[0], t[0])
    assert_close(e[2], t[2])
