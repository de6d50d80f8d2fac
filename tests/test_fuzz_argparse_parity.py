"""Argument parsing and tensor conversion compared with torch: the parser's TypeErrors (wrong types, counts and
keywords), what it accepts as ints, bools and dtypes, ``to``/``type``/legacy constructors (regressions found by
differential fuzzing)."""
import warnings

import numpy as np
import pytest

import ember
from oracle import outcomes, same_exception, torch


def _same(t, e):
    """Same exception type and first line of text, or same dtype, shape and values (to a few ulp: exp)."""
    if same_exception(t, e):
        return
    if isinstance(t, (tuple, list)):
        for a, b in zip(t, e, strict=True):
            _same(a, b)
        return
    if isinstance(t, torch.Tensor):
        assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=0)
    else:
        assert e == t


def _x(m):
    return m.arange(6.0).reshape(2, 3)


CALLS = [
    # factories
    lambda m: m.zeros(2.0), lambda m: m.randn(2.0), lambda m: m.ones((2.0, 3)), lambda m: m.zeros([2, 3.0]),
    lambda m: m.zeros(2, dtype="float"), lambda m: m.zeros(2, dtype=np.float32), lambda m: m.zeros(2, foo=1),
    lambda m: m.zeros(), lambda m: m.zeros(2, requires_grad=1), lambda m: m.zeros(2, 3, 2 ** 63),
    lambda m: m.zeros(m.tensor(2)), lambda m: m.zeros(np.int64(2), 3), lambda m: m.full((2,), "a"),
    lambda m: m.full(2, 3, 1.5), lambda m: m.full(), lambda m: m.eye(2.0), lambda m: m.eye(3, 2, 1),
    lambda m: m.arange("a"), lambda m: m.linspace(0, 1, "5"), lambda m: m.randint(5.0, (2,)),
    lambda m: m.randint(5, (2.0,)), lambda m: m.tensor([1], 2), lambda m: m.tensor([1], requires_grad=1),
    lambda m: m.tensor([1], dtype=np.float32), lambda m: m.as_tensor([1], foo=1),
    # views and shapes
    lambda m: _x(m).view("a"), lambda m: _x(m).view(2, 3.0), lambda m: _x(m).view(None),
    lambda m: _x(m).view(2, 3, foo=1), lambda m: _x(m).view(np.int64(6)), lambda m: _x(m).view(m.tensor(6)),
    lambda m: _x(m).reshape([2, None]), lambda m: _x(m).reshape(2.0, 3), lambda m: m.reshape(_x(m), -1),
    lambda m: _x(m).permute(0, 1.0), lambda m: _x(m).transpose(0.0, 1), lambda m: _x(m).transpose(1),
    lambda m: _x(m).expand(2, 3.0), lambda m: _x(m).repeat(1.0, 2), lambda m: _x(m).unsqueeze("0"),
    lambda m: _x(m).flatten(0.0), lambda m: _x(m).squeeze(1.0), lambda m: m.cat(_x(m)), lambda m: m.cat([_x(m), 1]),
    lambda m: m.stack([_x(m)], 0.0), lambda m: m.stack([_x(m)], dim=None), lambda m: _x(m).chunk(2.0),
    # reductions
    lambda m: _x(m).sum(dim=1.5), lambda m: _x(m).sum(dims=1), lambda m: _x(m).sum(0, True, None, 5),
    lambda m: _x(m).sum(0, 1), lambda m: _x(m).sum(0, keepdim=m.tensor(True)), lambda m: _x(m).sum(np.int64(0)),
    lambda m: _x(m).sum(m.tensor(0)), lambda m: _x(m).sum((0, 1.0)), lambda m: _x(m).sum(0, np.bool_(True)),
    lambda m: m.sum(_x(m), 1.5), lambda m: m.sum(input=_x(m), dim=1.5), lambda m: _x(m).sum(0, False, m.float32),
    lambda m: _x(m).mean(1.0), lambda m: _x(m).max("a"), lambda m: _x(m).max(0, 1), lambda m: _x(m).argmax(1.0),
    lambda m: _x(m).argmax(True), lambda m: _x(m).argmax(0, True, 2), lambda m: _x(m).argmax(1, dim=1),
    lambda m: _x(m).std(1.0), lambda m: _x(m).std(1, 0), lambda m: _x(m).cumsum(None), lambda m: _x(m).softmax(0, "a"),
    lambda m: _x(m).logsumexp(1, 2 ** 63), lambda m: _x(m).prod(2 ** 63), lambda m: _x(m).var(-2 ** 63 - 1),
    lambda m: _x(m).squeeze(np.int64(0)), lambda m: _x(m).unbind(m.tensor(0)), lambda m: _x(m).amax(np.int64(1)),
    lambda m: _x(m).softmax(np.int64(1)), lambda m: _x(m).sort(np.int64(0)), lambda m: m.arange(),
    lambda m: _x(m).cumsum(m.tensor([1])), lambda m: _x(m).unbind(m.tensor([0, 1.0])),
    lambda m: _x(m).sum((0, 1), [], keepdim=True), lambda m: m.cat([_x(m)], 1.5, dim=1),
    lambda m: m.cumsum(dim=0, foo=1), lambda m: _x(m).mm(_x(m).t(), np.int64(2)),
    lambda m: _x(m).permute(1, m.tensor([0])), lambda m: _x(m).var(1, None), lambda m: _x(m).sum(0, None),
    lambda m: _x(m).sum(axis=5), lambda m: _x(m).sum(axis=1.5), lambda m: _x(m).sum(keepdims=1, axis=0),
    lambda m: _x(m).sum(1, keepdims=True), lambda m: _x(m).transpose(axis=0),
    lambda m: m.arange(end=5), lambda m: m.arange(1, None, 2), lambda m: m.arange(None),
    lambda m: m.where(_x(m) > 0, _x(m), "a"), lambda m: _x(m).where(_x(m) > 0, "a"), lambda m: m.randint_like(_x(m)),
    # indexing, sorting, products
    lambda m: _x(m).gather(1.0, m.zeros(2, 3, dtype=m.long)), lambda m: _x(m).index_select(1.0, m.zeros(2).long()),
    lambda m: _x(m).masked_fill(_x(m) > 0, "a"), lambda m: _x(m).clamp("a"), lambda m: _x(m).topk(1.0),
    lambda m: _x(m).topk(1, 0, np.float32(1)), lambda m: _x(m).sort(0, -3), lambda m: _x(m).mm(2),
    lambda m: m.topk(_x(m)), lambda m: _x(m).masked_select(3), lambda m: _x(m).view_as("cpu"),
    # conversions
    lambda m: _x(m).to("cpu", m.int32, True, True, 5), lambda m: _x(m).to(dtype=m.int8, copy=1),
    lambda m: _x(m).to(m.int8, 1), lambda m: _x(m).to("cpu", "cpu"), lambda m: _x(m).to(m.float32, m.float64),
    lambda m: _x(m).to(m.ones(1), m.float64), lambda m: _x(m).to(np.float32), lambda m: _x(m).to(dtype="float"),
    lambda m: _x(m).to(foo=1), lambda m: _x(m).to(tensor=m.zeros(1, dtype=m.int8)),
    lambda m: _x(m).to("cpu", m.int32, True, True), lambda m: _x(m).to(m.device("cpu"), m.int32),
    lambda m: _x(m).type(m.float32, foo=1), lambda m: _x(m).type(int), lambda m: _x(m).type(np.float32),
    lambda m: _x(m).type(5), lambda m: _x(m).type("torch.IntTensor", 1), lambda m: _x(m).type(m.Tensor),
    lambda m: _x(m).long(1), lambda m: _x(m).float(m.contiguous_format), lambda m: _x(m).cpu(1),
    lambda m: _x(m).type_as(1), lambda m: _x(m).new_zeros(2, 3.0), lambda m: _x(m).new_zeros((2,), 3),
    lambda m: _x(m).new_full(2, 3), lambda m: _x(m).new_full((2,), None), lambda m: _x(m).new_tensor([1], 2),
    lambda m: m.FloatTensor(2.0), lambda m: m.FloatTensor(None), lambda m: m.FloatTensor(2, "a"),
    lambda m: m.FloatTensor([1], [2]), lambda m: m.FloatTensor(2, dtype=m.float32), lambda m: m.FloatTensor(foo=1),
    lambda m: m.FloatTensor(m.ones(2, dtype=m.float64)), lambda m: m.LongTensor(m.ones(2, dtype=m.complex64)),
    lambda m: m.FloatTensor(m.ones(2), device="cpu"), lambda m: m.FloatTensor(size=(2,)).shape,
    lambda m: m.FloatTensor(m.Size([2, 3])).shape, lambda m: m.from_numpy(np.array([1, 2], dtype=">i4")),
    lambda m: m.as_tensor(np.array([1.0], dtype=">f8")), lambda m: m.tensor(np.array([1], dtype=">i2")),
    # nested data read as numbers
    lambda m: m.tensor([1, [2]]), lambda m: m.tensor([1.0, (2,)]), lambda m: m.tensor([1, [2]], dtype=m.float32),
    lambda m: m.tensor([1, m.tensor([1, 2])]), lambda m: m.tensor([1.0, m.tensor([1.0, 2.0])]),
    lambda m: m.tensor([1, np.array([1, 2])]), lambda m: m.tensor([1.0, np.array([1.0, 2.0])]),
    lambda m: m.tensor([[1, 2], 3]), lambda m: m.tensor([[1, 2], None]), lambda m: m.tensor([[1], [2, 3]]),
    # torch.nn.functional
    lambda m: m.nn.functional.linear(_x(m), _x(m), 1.5), lambda m: m.nn.functional.linear(_x(m), weight=1),
    lambda m: m.nn.functional.linear(_x(m), _x(m), _x(m), _x(m)), lambda m: m.nn.functional.linear(_x(m)),
    lambda m: m.nn.functional.conv2d(_x(m), _x(m), None, 1.5), lambda m: m.nn.functional.conv2d(_x(m)),
    lambda m: m.nn.functional.pad(_x(m), 1), lambda m: m.nn.functional.pad(_x(m), (1, 1.5)),
    lambda m: m.nn.functional.pad(_x(m), (1, 1), value="a"), lambda m: m.nn.functional.pad(_x(m), (1, 1), 1),
    lambda m: m.nn.functional.pad((1, 1), foo=1), lambda m: m.nn.functional.relu(1.5),
    lambda m: m.nn.functional.dropout(1.5, 0.0), lambda m: m.nn.functional.dropout(_x(m), 0.5, 1),
    lambda m: m.nn.functional.dropout(training=True), lambda m: m.nn.functional.relu(_x(m), 1),
    lambda m: m.nn.functional.gelu(_x(m), "tanh"), lambda m: m.nn.functional.gelu(_x(m), approximate=1),
    lambda m: m.nn.functional.one_hot(1), lambda m: m.nn.functional.avg_pool2d(1, 2),
    lambda m: m.nn.functional.layer_norm(1, (3,)), lambda m: m.nn.functional.layer_norm(_x(m), 3),
    lambda m: m.nn.functional.leaky_relu(_x(m), "a"), lambda m: m.nn.functional.cross_entropy(_x(m), 1),
    lambda m: m.nn.functional.cross_entropy(_x(m)), lambda m: m.nn.functional.cross_entropy(_x(m), foo=1),
    # more conversions
    lambda m: _x(m).to(1.5), lambda m: _x(m).to(False), lambda m: _x(m).to("cpu", False),
    lambda m: _x(m).to("cpu", bool), lambda m: m.eye(2, -3), lambda m: m.eye(2, m.tensor([-3])),
    lambda m: m.FloatTensor(m.float32), lambda m: m.FloatTensor({"a": 1}), lambda m: m.FloatTensor(range(2)),
]


@pytest.mark.parametrize("call", CALLS, ids=range(len(CALLS)))
def test_parser_errors_and_accepted_arguments(call):
    """The exception torch's argument parser raises (type and first line) or, where it accepts, the same result."""
    _same(*outcomes(call))


def test_invalid_combination_lists_the_overloads():
    """The full text of an 'invalid combination' error: the arguments got and each overload, method form."""
    t, e = outcomes(lambda m: _x(m).sum(dim=1.5))
    assert str(e) == str(t)
    t, e = outcomes(lambda m: m.eye())
    assert str(e) == str(t)


def test_from_numpy_of_a_read_only_array_warns_once():
    """torch warns (once per process) that a tensor sharing a read-only array must not be written."""
    from ember.ops import creation
    a = np.ones(3)
    a.flags.writeable = False
    creation._READONLY_WARNED[0] = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = ember.from_numpy(a)
        ember.from_numpy(a)
    assert [str(x.message)[:40] for x in w] == ["The given NumPy array is not writable, a"]
    assert t.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("read", [int, bool, lambda t: t.__index__(), lambda t: t.item(), lambda t: t.tolist()])
def test_uint64_above_int64_read_as_python_number(read):
    """int()/bool()/__index__ of a uint64 value from 2**63 on raise torch's overflow error; item/tolist give it."""
    _same(*outcomes(lambda m: read(m.tensor(-1).to(m.uint64))))


def test_tensor_of_nan_to_integers_warns_nothing():
    """The overflow error only (NumPy's All-NaN warning does not leak)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="value cannot be converted to type int64 without overflow"):
            ember.tensor(float("nan"), dtype=ember.int64)


def test_conversion_methods_keep_memory_format():
    """``float()``/``cpu()`` take memory_format= (by keyword) and lay the result out by it, as torch."""
    def fn(m):
        x = m.ones(1, 2, 3, 4, dtype=m.float64)
        return [x.float(memory_format=m.channels_last).stride(), x.cpu(memory_format=m.channels_last).stride()]
    t, e = outcomes(fn)
    assert e == t
