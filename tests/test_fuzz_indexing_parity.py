"""Indexing, shape and view ops compared with torch (regressions found by differential fuzzing)."""
import warnings

import numpy as np
import pytest
import torch

import ember
from oracle import outcomes, same_exception


def _same(t, e):
    if same_exception(t, e, lines=None):
        return
    if isinstance(t, torch.Tensor):
        assert str(e.dtype) == str(t.dtype)
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    else:
        assert e == t


def _set(m, shape, key, value):
    x = m.zeros(shape)
    x[key(m) if callable(key) else key] = value(m) if callable(value) else value
    return x


@pytest.mark.parametrize("key", [True, False, 0, ..., None])
def test_setitem_lone_bool_and_one_element_value(key):
    # a lone True writes as None (casting), a lone False writes nothing; a (1,) value fits one element
    for shape, value in (((2, 3), lambda m: m.ones(1, 1, 3, dtype=m.float64)), ((2, 3), lambda m: m.ones(5)),
                         ((2,), lambda m: m.ones(1)), ((), lambda m: m.ones(1))):
        _same(*outcomes(lambda m, shape=shape, value=value: _set(m, shape, key, value)))


@pytest.mark.parametrize("key", [0, 1, -1, -2])
def test_int_index_of_0d_tensor_errors(key):
    _same(*outcomes(lambda m: m.tensor(5.0)[key]))
    _same(*outcomes(lambda m: _set(m, (), key, 1.0)))


@pytest.mark.parametrize("shape, key", [
    ((2, 0), ([5],)), ((2, 0), ([5], [0])), ((1, 1, 0), ([-1], [-1, 1])), ((2, 3), (slice(0, 0), [7])),
    ((2, 3), ([0, 1, 0], [5, 1])), ((1,), (0, [0], [0], 0)), ((2, 3), (5, np.array([0], np.int16))),
    ((2, 1), (..., -3, 0)), ((2, 3, 4), (None, ..., 0, 9)), ((2, 3, 4), (np.ones((2, 3), bool), 9)),
])
def test_index_error_order_and_empty_results(shape, key):
    # broadcast errors before bounds, bounds unchecked for an empty result, dtype checked last,
    # an int's dim named by its position in the key
    def key_of(m):
        return tuple(m.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)
    _same(*outcomes(lambda m: m.zeros(shape)[key_of(m)]))
    _same(*outcomes(lambda m: _set(m, shape, key_of, 1.0)))


def _layout(t):
    return tuple(t.shape), t.stride(), t.storage_offset(), t.is_contiguous()


@pytest.mark.parametrize("make, key", [
    (lambda m: m.zeros(4, 4, 1), lambda m: (slice(None), [1, 3, -4], 0)),
    (lambda m: m.zeros(2, 3, 3, 4), lambda m: (..., m.tensor([True, True, False, True]))),
    (lambda m: m.zeros(3, 2, 1).transpose(0, 2), lambda m: (slice(None), [1, 0])),
    (lambda m: m.zeros(3, 2, 1).permute(2, 1, 0), lambda m: (slice(None), slice(None), [1, 0, 2])),
    (lambda m: m.zeros(5, 3, 4).permute(1, 0, 2), lambda m: ([1, 0], slice(None), [0, 1])),
    (lambda m: m.zeros(3, 2, 4).transpose(0, 2), lambda m: ([1, 0],)),
    (lambda m: m.zeros(2, 3), lambda m: (slice(5, None),)),
    (lambda m: m.zeros(2, 3), lambda m: (1, slice(4, 2))),
    (lambda m: m.zeros(2, 1, 3, 2)[::2], lambda m: None),
])
def test_index_result_layout(make, key):
    # advanced-index results laid out as torch's TensorIterator; empty slices keep torch's offset;
    # x[None] keeps a 1-dim's stride
    t, e = (make(m)[key(m)] for m in (torch, ember))
    assert _layout(e) == _layout(t)


@pytest.mark.parametrize("value", [-3.0, -3, 300, lambda m: m.tensor(-3.0)])
def test_setitem_unsigned_value_conversion(value):
    # a negative float overflows an unsigned type (a negative int wraps), as torch's checked conversion
    def run(m):
        x = m.zeros(2, dtype=m.uint8)
        x[m.tensor([False, True])] = value(m) if callable(value) else value
        return x
    _same(*outcomes(run))


def _perm(m):
    return m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)   # (4, 2, 3), strides (1, 12, 4)


@pytest.mark.parametrize("op", [
    lambda m: m.index_fill(_perm(m), 1, m.tensor([0, 1]), 2.0),
    lambda m: m.index_put(_perm(m), (m.tensor([0, 1]),), m.tensor(1.0), accumulate=True),
    lambda m: _perm(m).put(m.tensor([0, 5]), m.ones(2)),
    lambda m: m.masked_scatter(_perm(m), _perm(m) > 5, m.ones(24)),
    lambda m: m.index_add(_perm(m), 1, m.tensor([0, 1]), m.ones(4, 2, 3)),
])
def test_out_of_place_layout(op):
    # clone-then-write ops keep the input's layout; masked_scatter's result is contiguous
    t, e = op(torch), op(ember)
    _same(t, e)
    assert e.stride() == t.stride()


@pytest.mark.parametrize("op", [
    lambda m: m.index_select(m.tensor(5.0), 0, m.zeros(3, dtype=m.int64)),
    lambda m: m.index_select(m.tensor(5.0), 0, m.zeros(0)),
    lambda m: m.take_along_dim(m.tensor(5.0), m.tensor(0), -1),
    lambda m: m.index_add(m.tensor(5.0), 0, m.zeros(3, dtype=m.int64), m.tensor(1.0)),
    lambda m: m.index_copy(m.tensor(5.0), 0, m.zeros(3, dtype=m.int32), m.tensor(1.0)),
    lambda m: m.index_add(m.zeros(5), 0, m.tensor([0, 7]), m.ones(2)),
    lambda m: m.index_add(m.zeros(5, 3), 0, m.tensor([0, -1]), m.ones(2, 3)),
    lambda m: m.index_add(m.zeros(5, 3), 0, m.tensor([0, -1]), m.ones(2, 3), alpha=2),
    lambda m: m.index_add(m.zeros(2, 5, 3), 1, m.tensor([0, 7]), m.ones(2, 2, 3)),
    lambda m: m.index_add(m.zeros(0, 2), 0, m.tensor([0, 7]), m.ones(2, 2)),
    lambda m: m.index_select(m.zeros(4, 3, 2), 1, m.tensor([5])),
    lambda m: m.index_select(m.zeros(4, 3, 2), 2, m.tensor([5])),
    lambda m: m.index_select(m.zeros(3, 0), 0, m.tensor([5])),
    lambda m: m.index_select(m.zeros(2, 0), 1, m.tensor([0])),
    lambda m: m.take(m.zeros(2, 0), m.tensor(0)),
    lambda m: m.zeros(0).put(m.tensor([0]), m.ones(1)),
    lambda m: m.index_put(m.zeros(4, 2), (m.tensor([0]), m.tensor([3])), m.ones(1)),
])
def test_index_op_errors(op):
    _same(*outcomes(op))


@pytest.mark.parametrize("op", [
    lambda m: m.gather(m.zeros(2, 3), 0, m.zeros(0, 7, dtype=m.int16)),
    lambda m: m.scatter(m.zeros(2), 0, m.zeros(0, 1, dtype=m.int64), m.ones(1, 1)),
    lambda m: m.scatter(m.zeros(2), 0, m.zeros(0), m.ones(1, dtype=m.float64)),
    lambda m: m.scatter(m.zeros(2), 0, m.zeros(1, 1, dtype=m.int64), m.ones(1, 1)),
    lambda m: m.scatter(m.zeros(2, 3), 0, m.zeros(1, 5, dtype=m.int64), 1.0),
    lambda m: m.scatter_add(m.zeros(2, 3), 0, m.zeros(5, 0, dtype=m.int64), m.ones(1, 1)),
    lambda m: m.scatter_reduce(m.zeros(3, dtype=m.bool), 0, m.tensor([0]), m.ones(1, dtype=m.bool), "mean"),
    lambda m: m.scatter_reduce(m.zeros(3, dtype=m.bool), 0, m.zeros(0, dtype=m.int64), m.ones(1, dtype=m.bool),
                               "mean"),
    lambda m: m.scatter_reduce(m.zeros(3, dtype=m.complex64), 0, m.tensor([0]), m.ones(1, dtype=m.complex64),
                               "amax", include_self=False),
    lambda m: m.take_along_dim(m.arange(10) + 100, m.tensor([13, -14, 25, -1]), 0),
    lambda m: m.take_along_dim(m.zeros(2, 0), m.zeros(2, 1, dtype=m.int64), 1),
    lambda m: m.masked_scatter(m.zeros(3, 2), m.zeros(3, dtype=m.bool), m.zeros(7, dtype=m.int64)),
    lambda m: m.masked_scatter(m.zeros(3), m.zeros(3, dtype=m.int8), m.zeros(3, dtype=m.int64)),
    lambda m: m.masked_fill(m.zeros(3), m.zeros(3, dtype=m.uint8), m.zeros(1)),
    lambda m: m.masked_fill(m.zeros(3), m.zeros(2, dtype=m.uint8), 1.0),
])
def test_gather_scatter_mask_ops(op):
    # an empty index is checked no further; torch's messages, order of checks and kernel refusals;
    # take_along_dim wraps its indices modulo the dim's size
    _same(*outcomes(op))


def _tr(m):
    return m.arange(8).reshape(2, 4).t()   # (4, 2), strides (1, 4)


@pytest.mark.parametrize("op", [
    lambda m: m.diag_embed(m.arange(8.0).reshape(2, 4).t(), 1, 0, 2),
    lambda m: _tr(m).repeat(1, 1),
    lambda m: m.tile(_tr(m), (1,)),
    lambda m: _tr(m).roll(1, 0),
    lambda m: _tr(m).rot90(0),
    lambda m: _tr(m).rot90(4),
])
def test_copy_results_contiguous(op):
    t, e = op(torch), op(ember)
    _same(t, e)
    assert e.stride() == t.stride()


@pytest.mark.parametrize("op", [
    lambda m: m.movedim(m.tensor(5.0), -1, 0),
    lambda m: m.unflatten(m.tensor(5.0), 0, (1,)),
    lambda m: m.unflatten(m.zeros(0, 4), 0, (-1, 0)),
    lambda m: m.unflatten(m.zeros(0, 4), 1, (-1, 0)),
    lambda m: m.unbind(m.tensor(5.0), 1),
    lambda m: m.roll(m.tensor(5.0), 1, -1),
    lambda m: m.narrow(m.zeros(2, 3), 5, 5, -1),
    lambda m: m.zeros(2, 4).split([4, 1], -1),
    lambda m: m.zeros(2, 4).repeat_interleave(m.tensor([1, 2, 3]), -1),
    lambda m: m.stack([m.zeros(4), m.zeros(4, 3)], -3),
    lambda m: m.zeros(2, 2, dtype=m.int16)[:, ::2].view(m.uint8),
])
def test_shape_op_errors(op):
    t, e = outcomes(op)
    if isinstance(t, Exception):   # (unflatten's inner errors carry C++ context after the first line)
        assert type(e) is type(t) and str(e).split("\n")[:2] == str(t).split("\n")[:2], (t, e)
    else:
        _same(t, e)


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(1, 2)[:, :1].t(),
    lambda m: m.zeros(3, 1).expand(3, 4)[:, :1],
    lambda m: m.zeros(1, 3, 1).expand(1, 3, 2),
    lambda m: m.zeros(4, 1, 3).permute(1, 2, 0),
])
def test_clone_keeps_dense_strides(make):
    # a dense tensor's clone keeps its strides exactly, size-1 dims' included
    assert make(ember).clone().stride() == make(torch).clone().stride()


@pytest.mark.parametrize("op", [
    lambda m: m.ones(3, dtype=m.bool).index_reduce(0, m.tensor([0, 5]), m.ones(2, dtype=m.bool), "prod"),
    lambda m: m.ones(3, dtype=m.complex64).index_reduce(0, m.tensor([0]), m.ones(1, dtype=m.complex64), "mean",
                                                         include_self=False),
    lambda m: m.ones(3).index_reduce(0, m.tensor([0, 5]), m.ones(2), "amax"),
    lambda m: m.ones(3).index_reduce(0, m.tensor([0, 5]), m.ones(2), "amax", include_self=False),
    lambda m: m.ones(3).index_reduce(0, m.tensor([0, -1]), m.ones(2), "prod", include_self=False),
    lambda m: m.ones(0, 4, 3).index_reduce(0, m.tensor([0, 1]), m.ones(2, 4, 3), "mean"),
    lambda m: m.ones(3).index_reduce(0, m.tensor([0, 1, 2]), m.ones(2, dtype=m.int64), "prod"),
    lambda m: m.tensor(1.0).index_reduce(-1, m.tensor([0, 1, 2]), m.tensor(1.0), "prod"),
    lambda m: m.tensor(1.0).index_reduce(0, m.tensor([0, 0]), m.ones(2), "prod"),
    lambda m: m.ones(3, 2).index_reduce(-1, m.tensor([0]), m.ones(3, 2), "prod"),
    lambda m: m.ones(3).index_reduce(0, m.tensor([[0]]), m.ones(1), "prod"),
    lambda m: m.ones(3, 2).index_reduce(0, m.tensor([0, 1]), m.ones(2, 2), "amin"),
    lambda m: m.index_fill(m.tensor(1.0), 1, m.tensor([0], dtype=m.int32), 1.0),
    lambda m: m.index_select(m.zeros(0), 0, m.tensor([0, 1])),
])
def test_index_reduce_fill_select_errors(op):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (index_reduce's beta warning shows once per process)
        _same(*outcomes(op))


def test_unsqueeze_keeps_size1_strides():
    # torch's unsqueeze stride is size * stride of the dim it precedes, whatever a 1-dim's stride is
    t, e = (m.zeros(2)[::2].unsqueeze(0) for m in (torch, ember))
    assert e.stride() == t.stride()


def test_is_view():
    for m in (torch, ember):
        x = m.arange(4.0)
        assert [x._is_view(), x[1:]._is_view(), x[[0]]._is_view(), x.view(2, 2)._is_view(),
                x.detach()._is_view()] == [False, True, False, True, False]


def _put(m, key, value, shape=(4,)):
    y = m.zeros(shape, dtype=m.complex64)
    y[key(m)] = value(m)
    return y


@pytest.mark.parametrize("op", [
    lambda m: m.index_put(m.zeros(4, dtype=m.complex64), (m.tensor([5]),), m.ones(1, dtype=m.int8)),
    lambda m: m.index_put(m.zeros(4, dtype=m.complex64), (m.tensor([5]),), m.ones(1, dtype=m.int8), accumulate=True),
    lambda m: _put(m, lambda m: m.tensor([5]), lambda m: m.ones(1, dtype=m.int8)),
    lambda m: _put(m, lambda m: m.tensor([1]), lambda m: m.ones(3, dtype=m.int8)),
    lambda m: m.index_fill(m.zeros(0, 3, 0), 2, m.tensor([0, 1]), 1),
    lambda m: m.index_fill(m.zeros(2, 0), 0, m.tensor([5]), 1),
])
def test_index_put_fill_check_order(op):
    # value shape, then dtypes, then bounds; an empty tensor takes index_fill without checks
    _same(*outcomes(op))


@pytest.mark.parametrize("key", [(slice(None), 1), (..., 1), 0])
def test_setitem_expanded_shape_error_first(key):
    # writing into an expanded tensor: a value of the wrong shape gets torch's shape error, not the overlap one
    def run(m):
        b = m.arange(3.0)
        b.expand(2, 3)[key] = m.tensor([7.0, 8.0, 9.0])
        return b
    _same(*outcomes(run))


def test_split_empty_piece_offset():
    t, e = ([v.storage_offset() for v in m.arange(12.0).reshape(3, 4).split([0, 3, 0], 0)] for m in (torch, ember))
    assert e == t


@pytest.mark.parametrize("key", [np.bool_(True), 2**63, -2**70, range(2), np.int32(1)])
def test_unusual_keys(key):
    _same(*outcomes(lambda m: m.arange(6.0).reshape(2, 3)[key]))


@pytest.mark.parametrize("value", [np.int64(2), np.uint8(3), np.float32(1.5), np.bool_(True), 2**64, np.float64(1.5)])
def test_setitem_value_types(value):
    # NumPy integers are ints to torch, other NumPy scalars (bar float64, a float) are refused; ints beyond 64 bits
    _same(*outcomes(lambda m: _set(m, (2, 3), 0, value)))


@pytest.mark.parametrize("value", [2**63 + 5, 2**64, -2**63 - 1])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_scalar_value_range(value, dtype):
    # torch's Scalar holds [-2**63, 2**64): beyond, OverflowError; above int64, the checked conversion decides
    def run(m):
        return m.zeros(2, dtype=getattr(m, dtype)).masked_fill(m.tensor([True, False]), value)
    _same(*outcomes(run))
    _same(*outcomes(lambda m: m.zeros(2).index_put((m.tensor([0]),), np.int64(1))))


@pytest.mark.parametrize("op", [
    lambda m: m.ones(3, 3, dtype=m.complex64).index_reduce(0, m.tensor([1, 1]), m.ones(2, 3, dtype=m.complex64) * 3,
                                                            "mean"),
    lambda m: m.ones(3, 3, dtype=m.complex64).index_reduce(0, m.tensor([1]), m.ones(1, 3, dtype=m.complex64), "amax"),
    lambda m: m.ones(3, 3, dtype=m.complex64).index_reduce(0, m.tensor([5]), m.ones(1, 3, dtype=m.complex64), "prod"),
    lambda m: m.ones(3, dtype=m.complex64).index_reduce(0, m.zeros(0, dtype=m.int64), m.ones(0, dtype=m.complex64),
                                                         "prod"),
    lambda m: m.zeros(4, 1, dtype=m.uint8).put(m.zeros(8, dtype=m.int64), m.ones(9, dtype=m.bfloat16)),
    lambda m: m.zeros(1, 2, dtype=m.uint8).index_fill(0, m.tensor(0), m.tensor(1 + 1j)),
    lambda m: m.zeros(0, 2, 4).index_copy(1, m.tensor([-1, 0, 1]), m.zeros(0, 3, 4)),
])
def test_index_reduce_put_fill_copy(op):
    # index_reduce over 2+ dims takes complex prod/mean (its slice-wise kernel); put checks dtypes before sizes;
    # index_fill refuses a complex tensor value for a real tensor; index_copy into an empty tensor checks nothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(*outcomes(op))


def test_flip_expanded_layout_and_dims_error():
    t, e = (m.arange(6.0).reshape(1, 2, 3).expand(2, 2, 3).transpose(0, 2).flip(0) for m in (torch, ember))
    _same(t, e)
    assert e.stride() == t.stride()
    _same(*outcomes(lambda m: m.zeros(2, 3, 3, 0).flip([-3, 3, -1, 1])))
