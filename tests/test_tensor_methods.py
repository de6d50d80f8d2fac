"""Tensor methods added for parity with torch: in-place view ops, unsafe splits, fill_diagonal_, type_as and
small predicates — values, strides, versions, grad_fn names, gradients and errors compared with torch."""

from __future__ import annotations

from typing import Any

import pytest

import ember
from oracle import assert_close, assert_same_error, to_ember, torch

_INPLACE_VIEWS = {
    "t_": lambda y: y.t_(),
    "transpose_": lambda y: y.transpose_(0, 1),
    "swapaxes_": lambda y: y.swapaxes_(0, 1),
    "swapdims_": lambda y: y.swapdims_(1, 0),
    "unsqueeze_": lambda y: y.unsqueeze_(1),
    "squeeze_": lambda y: y.unsqueeze_(0).squeeze_(),
    "squeeze_(dim)": lambda y: y.unsqueeze_(0).squeeze_(0),
    "squeeze_(dims)": lambda y: y.unsqueeze_(0).unsqueeze_(2).squeeze_((0, 2)),
    "as_strided_": lambda y: y.as_strided_((3, 2), (1, 3)),
}


@pytest.mark.parametrize("name", sorted(_INPLACE_VIEWS))
def test_inplace_view_ops_match_torch(name: str) -> None:
    op = _INPLACE_VIEWS[name]
    torch.manual_seed(0)
    xt = torch.randn(2, 3, requires_grad=True)
    xe = to_ember(xt, requires_grad=True)
    yt, ye = xt * 2, xe * 2
    rt, re_ = op(yt), op(ye)
    assert re_ is ye and rt is yt
    assert (ye.shape, ye.stride(), ye._version) == (tuple(yt.shape), yt.stride(), yt._version)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    gt = torch.randn(yt.shape)
    (yt * gt).sum().backward()
    (ye * to_ember(gt)).sum().backward()
    assert_close(xe.grad, xt.grad)


def test_inplace_view_ops_refuse_leaves_and_keep_other_views() -> None:
    assert_same_error(lambda: ember.ones(2, 3, requires_grad=True).t_(),
                      lambda: torch.ones(2, 3, requires_grad=True).t_())

    def program(L: Any) -> Any:
        a = L.arange(6.0).reshape(2, 3)
        b = a[0]
        a.t_()
        a[0, 1] = 10.0   # still the same memory: b sees it
        return a.stride(), b.stride(), a._version, b.tolist()
    assert program(ember) == program(torch)


@pytest.mark.parametrize("call", ["unsafe_split(2)", "unsafe_chunk(3)", "split_with_sizes([2, 4])",
                                  "unsafe_split_with_sizes([1, 5])"])
def test_unsafe_splits_match_torch(call: str) -> None:
    def parts(L: Any) -> Any:
        x = L.arange(6.0, requires_grad=True)
        out = eval(f"(x * 1).{call}")   # noqa: S307 - fixed test expressions
        sum(p.sum() * (i + 1) for i, p in enumerate(out)).backward()
        return [p.tolist() for p in out], type(out[0].grad_fn).__name__, x.grad.tolist()
    assert parts(ember) == parts(torch)


@pytest.mark.parametrize("shape,wrap", [((3, 4), False), ((4, 3), False), ((7, 3), True), ((7, 3), False),
                                        ((3, 3, 3), False), ((2, 2, 2, 2), True)])
def test_fill_diagonal_matches_torch(shape: tuple, wrap: bool) -> None:
    assert_close(ember.zeros(*shape).fill_diagonal_(5.0, wrap=wrap), torch.zeros(*shape).fill_diagonal_(5.0, wrap=wrap))


def test_fill_diagonal_errors_and_autograd() -> None:
    assert_same_error(lambda: ember.zeros(3).fill_diagonal_(1), lambda: torch.zeros(3).fill_diagonal_(1))
    assert_same_error(lambda: ember.zeros(3, 4, 5).fill_diagonal_(1), lambda: torch.zeros(3, 4, 5).fill_diagonal_(1))

    def program(L: Any) -> Any:
        x = L.ones(3, 3, requires_grad=True)
        y = x * 2
        y.fill_diagonal_(0.0)
        y.sum().backward()
        return type(y.grad_fn).__name__, x.grad.tolist()
    assert program(ember) == program(torch)


def test_type_as_and_predicates() -> None:
    for L in (ember, torch):
        assert L.ones(2, 3).type_as(L.ones(1, dtype=L.int32)).dtype == L.int32
    assert ember.tensor([1.5]).is_nonzero() is torch.tensor([1.5]).is_nonzero()
    assert ember.tensor([0.0]).is_nonzero() is torch.tensor([0.0]).is_nonzero()
    assert_same_error(lambda: ember.tensor([1.0, 2.0]).is_nonzero(), lambda: torch.tensor([1.0, 2.0]).is_nonzero())
    assert_same_error(lambda: ember.tensor([]).is_nonzero(), lambda: torch.tensor([]).is_nonzero())
    assert ember.ones(2).is_same_size(ember.ones(2)) and not ember.ones(2).is_same_size(ember.ones(3))


def test_pinned_memory_without_an_accelerator() -> None:
    assert ember.ones(2).is_pinned() is torch.ones(2).is_pinned() is False
    if not ember.cuda.is_available():
        assert_same_error(lambda: ember.ones(2).pin_memory(), lambda: torch.ones(2).pin_memory())
