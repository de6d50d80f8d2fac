"""Tensor methods a–l compared with torch (regressions found by differential fuzzing of the methods)."""
import numpy as np
import pytest

from oracle import outcomes, torch


def _same(t, e):
    """Same exception type and first line of text, or same dtype, shape and values (NaNs equal)."""
    if isinstance(t, Exception):
        assert type(e) is type(t), (t, e)
        assert str(e).split("\n")[0] == str(t).split("\n")[0]
        return
    assert not isinstance(e, Exception), e
    if isinstance(t, (tuple, list)):
        for a, b in zip(t, e, strict=True):
            _same(a, b)
        return
    if not isinstance(t, torch.Tensor):
        assert type(e) is type(t) and e == t, (e, t)
        return
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape), (e, t)
    a, b = t.detach().float() if t.dtype == torch.bfloat16 else t.detach(), e.detach()
    b = b.float() if str(b.dtype) == "torch.bfloat16" else b
    np.testing.assert_array_equal(b.numpy(), a.numpy())


def _check(fn):
    _same(*outcomes(fn))


def _bf(m, v):
    return m.tensor(v).bfloat16()


@pytest.mark.parametrize("kw", [{"beta": 2, "alpha": 3}, {"alpha": 0}, {"beta": True}, {"alpha": False},
                                {"beta": 1j}])
def test_addr_rounds_each_operation_and_checks_its_scalars(kw):
    """addr computes beta * input + (alpha * vec1) * vec2 rounding each step in the result dtype (alpha == 0
    keeps an inf's NaN), and refuses Boolean scalars for non-Boolean results."""
    _check(lambda m: m.tensor([[1, 2], [0.3, -1]]).bfloat16().addr(_bf(m, [0.1, 0.2]), _bf(m, [0.7, 0.3]), **kw))
    _check(lambda m: m.ones(2, 2).addr(m.tensor([float("inf"), 1.0]), m.ones(2), **kw))
    _check(lambda m: m.ones(2, 2, dtype=m.int64).addr(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64), **kw))


def test_addr_scalar_overflow():
    _check(lambda m: m.ones(2, 2, dtype=m.int8).addr(m.ones(2, dtype=m.int8), m.ones(2, dtype=m.int8), alpha=300))
    _check(lambda m: m.ones(2, 2).half().addr(m.ones(2).half(), m.ones(2).half(), beta=1e6))
