"""Shape and view ops compared with torch (regressions found by differential fuzzing)."""
import numpy as np
import pytest
import torch

import ember
from oracle import outcomes, same_exception


def _same(t, e):
    """Same outcome: the same exception (type, first line of the message) or the same tensors/values."""
    if same_exception(t, e, lines=2):
        return
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(t, e, strict=True):
            _same(a, b)
        return
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("op", [
    lambda m: m.zeros(2, 3).squeeze((0, 0, 5)),            # a repeat is found before a later dim is out of range
    lambda m: m.zeros(2).flip(0, 0, 1),
    lambda m: m.zeros(2, 3).rot90(1, (2, 0)),               # dims wrapped before they are compared
    lambda m: m.zeros(2, 3).rot90(1, (0, -2)),
    lambda m: m.zeros(2, 0, 3).roll(1, 5),                  # an empty tensor rolls without checking dims
    lambda m: m.zeros(2, 0).roll((1, 2), (0, 7)),
    lambda m: m.zeros(3).unfold(0, -1, 0),                  # size checked before step
    lambda m: m.zeros(3, 3).unflatten(1, (-2,)),            # other negative sizes: infer_size's errors
    lambda m: m.zeros(3, 3).unflatten(1, (-2, 3)),
    lambda m: m.zeros(3, 3).unflatten(1, (-1, 2)),
    lambda m: m.tensor(1.0).repeat_interleave(2, 0),        # a 0-d input is unsqueezed at dim + 1
    lambda m: m.tensor(1.0).repeat_interleave(m.tensor([2]), 0),
    lambda m: m.tensor(1.0).repeat_interleave(m.tensor(2), 5),
    lambda m: m.zeros(2, 0).repeat_interleave(m.tensor([], dtype=m.int64), 1, output_size=3),   # unchecked
    lambda m: m.repeat_interleave(m.tensor([], dtype=m.int64), output_size=1),
    lambda m: m.cat([m.zeros(0), m.zeros(0, dtype=m.int64)], 5),    # legacy empties only: dim unchecked
    lambda m: m.cat([m.zeros(0)], -2),
    lambda m: m.alias_copy(m.tensor(3.0)),                  # 0-d stays 0-d
])
def test_shape_op_outcomes(op):
    _same(*outcomes(op))


def test_cat_of_legacy_empties_backward():
    for m in (torch, ember):
        x = m.zeros(0, requires_grad=True)
        m.cat([x, m.zeros(0)], 3).sum().backward()
        assert tuple(x.grad.shape) == (0,)


def test_detach_of_a_view_is_not_a_view():
    for m in (torch, ember):
        a = m.arange(4.0, requires_grad=True).clone()
        d = a[1:3].detach()
        assert d._base is None and not d._is_view() and d[0:1]._base is d
        d.add_(1)   # shares memory and the version counter, but not the history
        assert a.tolist() == [0.0, 2.0, 3.0, 3.0] and a._version == 1 and type(a.grad_fn).__name__ == "CloneBackward0"


def _layout(t):
    return tuple(t.shape), t.stride(), t.storage_offset(), t.is_contiguous()


@pytest.mark.parametrize("op", [
    lambda m: m.arange(6.0)[::3].view(1, 2, 1),               # size-1 dims: torch's strides, not NumPy's
    lambda m: m.arange(6.0)[::3][:1].view(1, 1, 1),           # a last size-1 dim's stride is the base
    lambda m: m.arange(6.0)[::3][:1].reshape(1),
    lambda m: m.zeros(1, 4, 2).transpose(0, 1).view(4, 1, 2),  # the same shape: strides recomputed
    lambda m: m.zeros(2, 3)[::2].unflatten(1, (3,)),
    lambda m: m.arange(6.0)[::3].flatten(),
    lambda m: m.zeros(2, 4)[::2].fliplr(),                    # flip keeps a dense input's strides
    lambda m: m.zeros(2, 1, 2).transpose(1, 0).flip(-1),
    lambda m: m.zeros(1, 4, 3).permute(2, 0, 1).fliplr(),
    lambda m: m.arange(6.0).view(3, 2).t()[::2].flipud(),     # non-dense: torch's dim order for the copy
    lambda m: m.arange(6.0).view(3, 2).t()[::2].clone(),
    lambda m: m.arange(6.0).view(3, 2).t()[::2].rot90(2, (0, 1)),
])
def test_result_strides(op):
    t, e = op(torch), op(ember)
    _same(t, e)
    assert _layout(e) == _layout(t)


def test_movedim_of_0d_is_an_alias():
    for m in (torch, ember):
        x = m.tensor(2.0, requires_grad=True)
        y = m.movedim(x, 0, -1)
        assert type(y.grad_fn).__name__ == "AliasBackward0" and y._base is x


def _no_grad_view(m):
    x = m.ones(3, 2, requires_grad=True).clone()
    with m.no_grad():
        return x[1:]


@pytest.mark.parametrize("change", [
    lambda m, t: t.__setitem__(0, 5.0),          # a view of a no_grad view: torch names its node
    lambda m, t: t.__setitem__((0, 0), 5.0),
    lambda m, t: t.view(4).t().mul_(2),
    lambda m, t: t.add_(m.ones(5)),              # autograd's checks come before the kernel's (shape, ...)
    lambda m, t: m.ones(3, requires_grad=True)[1:].add_(m.ones(5)),
    lambda m, t: m.ones(3, requires_grad=True).sub_(m.ones(3, dtype=m.bool)),
    lambda m, t: m.ones(1, 2, requires_grad=True).expand(3, 2).mul_(2),
    lambda m, t: m.ones(3, 1, requires_grad=True).clone().expand(3, 2).split(1)[0].pow_(2),
    lambda m, t: m.ones(4, 3, requires_grad=True).clone().unbind(0)[1].add_(m.ones(5)),
    lambda m, t: m.ones(3)[1:].detach_(),         # any view, requiring grad or not
])
def test_inplace_on_views_errors(change):
    _same(*outcomes(lambda m: change(m, _no_grad_view(m))))


@pytest.mark.parametrize("op", [
    lambda m: m.zeros(2, 0, 3).permute(2, 0, 1),                # a new empty tensor's strides travel with its views
    lambda m: m.zeros(2, 0, 3).transpose(0, 2).contiguous(),
    lambda m: m.zeros(1, 4).expand(3, 0, 4),                    # 0 strides of an expanded empty result
    lambda m: m.zeros(2, 0, 3).expand(2, 2, 0, 3),
    lambda m: m.zeros(4, 2, 2)[:, :, :0].unsqueeze(2),          # torch's unsqueeze stride: size * stride
    lambda m: m.zeros(2)[:0].unsqueeze(0),
    lambda m: m.zeros(3, 1)[:, :0].t().flip(0),                 # copies of an empty tensor keep its strides
    lambda m: m.zeros(4, 2, 4)[:, :, :0].transpose(0, 1).clone(),
    lambda m: m.zeros(0, 3).expand(2, 0, 3).fliplr(),
    lambda m: m.zeros(2, 0, 3).permute(2, 0, 1).roll(1, 0),
    lambda m: m.zeros(2, 0, 3).permute(2, 0, 1).roll(1),        # the flattened roll: contiguous
    lambda m: m.zeros(8).as_strided((0, 3), (2, 1), 3),         # an empty view keeps its storage offset
    lambda m: m.zeros(0, 3, 1, dtype=m.bool)[:, 1::3].tile((2, 2, 1, 3)),   # a new tensor, not a view
    lambda m: m.zeros(0, 2, dtype=m.int64)[:, 1::3].unsqueeze(1).expand(0, 1, 1).swapaxes(2, 0),
])
def test_empty_result_strides(op):
    t, e = op(torch), op(ember)
    _same(t, e)
    assert _layout(e) == _layout(t) and e._is_view() == t._is_view()


@pytest.mark.parametrize("op", [
    lambda m: m.broadcast_to(m.ones(3, 2, 3, 2)[:, :, ::2], (1, 3, 2, 2, 2)).mul_(2),   # no repeated element
    lambda m: m.ones(2, 2)[:, ::2].expand(1, 2, 1).mul_(2),
    lambda m: m.ones(8).as_strided((3, 2), (3, 0)).mul_(2),     # a 0 stride: torch refuses the write
    lambda m: m.ones(8).as_strided((3, 2), (3, 0)).fill_(2),
])
def test_writes_into_strided_views(op):
    _same(*outcomes(op))


@pytest.mark.parametrize("op", [
    lambda m: m.cat([m.zeros(2, 3), m.ones(2)], out=m.zeros(2, dtype=m.int64)),   # the cast before the shapes
    lambda m: m.cat([m.zeros(()), m.ones(2)], out=m.zeros(2, dtype=m.int64)),      # after the 0-d check
    lambda m: m.vstack([m.ones(4), m.ones(1, dtype=m.int32)], out=m.zeros(2, dtype=m.int16)),
    lambda m: m.hstack([m.ones(2, dtype=m.complex64)], out=m.zeros(2, dtype=m.bool)),
    lambda m: m.stack([m.zeros(2), m.ones(3)], out=m.zeros(2, dtype=m.int64)),
    lambda m: m.cat([m.ones(2, dtype=m.int32), m.ones(1, dtype=m.uint8)], out=m.zeros(3, dtype=m.float16)),
])
def test_cat_out_dtype_checks(op):
    _same(*outcomes(op))


def test_chunk_of_empty_dim_is_split_with_sizes():
    for m in (torch, ember):
        x = m.zeros(4, 0, requires_grad=True)
        assert [type(t.grad_fn).__name__ for t in x.chunk(3, -1)] == ["SplitWithSizesBackward0"] * 3
        assert [type(t.grad_fn).__name__ for t in x.unsafe_chunk(2, -1)] == ["UnsafeSplitWithSizesBackward0"] * 2


@pytest.mark.parametrize("args", [((2, 2), (1,), -1), ((2,), (-1,), -1), ((100,), (1,), -1), ((0,), (1,), -1)])
def test_as_strided_negative_offset(args):
    _same(*outcomes(lambda m: m.zeros(24).as_strided(*args)))


@pytest.mark.parametrize("op", [
    lambda m: m.zeros(2, 0, 4).permute(2, 0, 1).diagonal(1, -1, 0),   # an empty diagonal: the input's offset
    lambda m: m.zeros(3, 3).diagonal(3),
    lambda m: m.zeros(2, 3, 0).diagonal(1, 0, 1),
])
def test_diagonal_storage_offset(op):
    t, e = op(torch), op(ember)
    assert _layout(e) == _layout(t)


@pytest.mark.parametrize("op", [
    lambda m: m.view_as_real(m.ones(2, 2, 1, 2, dtype=m.complex64)[:, :0]),   # empty: the input's strides, doubled
    lambda m: m.view_as_real(m.ones(2, 0, 3, dtype=m.complex64).transpose(0, 2)),
    lambda m: m.view_as_complex(m.ones(2, 0, 2).transpose(0, 1)),
])
def test_complex_views_of_empties(op):
    t, e = op(torch), op(ember)
    _same(t, e)
    assert _layout(e) == _layout(t)


def test_detach_copy_records_a_refusing_node():
    def go(m):
        r = m.detach_copy(m.ones(2, requires_grad=True))
        assert r.requires_grad and type(r.grad_fn).__name__ == "NotImplemented"
        r.sum().backward()
    _same(*outcomes(go))


def test_roll_result_is_contiguous_with_torch_strides():
    t, e = (m.ones(4, dtype=m.bool)[1::2][:1].expand(2, 1).roll(2, 0) for m in (torch, ember))
    _same(t, e)
    assert _layout(e) == _layout(t)


@pytest.mark.parametrize("op", [
    lambda m: m.ones(3, 2, requires_grad=True).clone().copy_(m.ones(5)),   # recorded copy_: torch's shape errors
    lambda m: m.ones(3, 2, requires_grad=True).clone().copy_(m.ones(4, 3, 2)),
    lambda m: m.ones(3, 2).copy_(m.ones(1, 1, 2)),
    lambda m: m.ones(1, 2, requires_grad=True).clone().expand(3, 2).copy_(m.ones(5)),   # overlap before shapes
    lambda m: m.ones(2, requires_grad=True).clone()[:0].expand(3, 0).copy_(m.ones(5)),
])
def test_copy_checks(op):
    _same(*outcomes(op))


@pytest.mark.parametrize("op", [
    lambda m: m.ones(4, 4, 3, 1).narrow(3, 0, 0).tensor_split([-2, 0, 5], 0),   # empty pieces keep their offsets
    lambda m: m.ones(4, 4, 3, 1).narrow(3, 0, 0).narrow(0, 2, 0),
    lambda m: m.ones(4, 4, 3, 1).narrow(3, 0, 0).select(0, 3),
    lambda m: m.ones(2, 3, 0).permute(2, 0, 1).select(-2, 1),
    lambda m: m.ones(3, 3, 0)[1::2].unbind(1),
])
def test_empty_view_offsets(op):
    t, e = op(torch), op(ember)
    t, e = (t, e) if isinstance(t, tuple) else ((t,), (e,))
    assert [_layout(x) for x in e] == [_layout(x) for x in t]
