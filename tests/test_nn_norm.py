"""Normalisation layers against torch: F.batch_norm / instance_norm / group_norm / local_response_norm
(outputs, running statistics, every gradient, grad_fn names, double backward, gradcheck) and the modules
BatchNorm*, LazyBatchNorm*, SyncBatchNorm, InstanceNorm*, GroupNorm, LocalResponseNorm, CrossMapLRN2d
(train/eval, momentum None, reprs, state_dict keys and old checkpoints, errors)."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from oracle import assert_close, assert_same_error, to_ember, torch

tnn = torch.nn
TF = torch.nn.functional
RNG = np.random.default_rng(0)


def pair(a: np.ndarray, requires_grad: bool = True) -> tuple:
    return ember.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def randn(*shape: int, dtype: type = np.float64, offset: float = 0.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * 1.5 + offset).astype(dtype)


def backward_both(e_out, t_out) -> None:
    cot = RNG.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(cot, dtype=t_out.dtype))
    e_out.backward(ember.tensor(cot, dtype=e_out.dtype))


def assert_grads(e_tensors, t_tensors, rtol=None, atol=None) -> None:
    for e, t in zip(e_tensors, t_tensors, strict=True):
        if t is None:
            continue
        if t.grad is None:
            assert e.grad is None
        else:
            assert_close(e.grad, t.grad, rtol, atol)


# ---- F.batch_norm -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 4, 5, 6), (2, 3, 2, 3, 4)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_functional(shape, training, affine):
    c = shape[1]
    xe, xt = pair(randn(*shape, offset=0.7))
    we, wt = pair(randn(c)) if affine else (None, None)
    be, bt = pair(randn(c)) if affine else (None, None)
    rm, rv = randn(c), RNG.uniform(0.5, 2.0, c)
    rme, rmt = pair(rm, False)
    rve, rvt = pair(rv, False)
    ye = F.batch_norm(xe, rme, rve, we, be, training, 0.3, 1e-3)
    yt = TF.batch_norm(xt, rmt, rvt, wt, bt, training, 0.3, 1e-3)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__ == "NativeBatchNormBackward0"
    assert_close(ye, yt)
    assert_close(rme, rmt)
    assert_close(rve, rvt)
    backward_both(ye, yt)
    assert_grads((xe, we, be), (xt, wt, bt))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_batch_norm_float32_and_large_mean(dtype, offset):
    """Float32 statistics stay accurate when the mean dwarfs the spread (no cancellation)."""
    xe, xt = pair(randn(8, 4, 5, 5, dtype=dtype, offset=offset))
    we, wt = pair(randn(4, dtype=dtype))
    be, bt = pair(randn(4, dtype=dtype))
    rme, rmt = pair(np.zeros(4, dtype), False)
    rve, rvt = pair(np.ones(4, dtype), False)
    ye = F.batch_norm(xe, rme, rve, we, be, True)
    yt = TF.batch_norm(xt, rmt, rvt, wt, bt, True)
    tol = (2e-5, 2e-5) if dtype == np.float32 else (None, None)
    assert_close(ye, yt, *tol)
    assert_close(rme, rmt, *tol)
    assert_close(rve, rvt, 1e-4 if dtype == np.float32 else None)
    backward_both(ye, yt)
    assert_grads(
        (xe, we, be), (xt, wt, bt), 1e-4 if dtype == np.float32 else None, 1e-4 if dtype == np.float32 else None
    )


def test_batch_norm_without_running_stats_and_partial_affine():
    xe, xt = pair(randn(6, 3, 4))
    we, wt = pair(randn(3))
    ye, yt = F.batch_norm(xe, None, None, we, None, True), TF.batch_norm(xt, None, None, wt, None, True)
    assert_close(ye, yt)
    assert ye.grad_fn.next_functions[2] == (None, 0)
    backward_both(ye, yt)
    assert_grads((xe, we), (xt, wt))
    be, bt = pair(randn(3))
    ye, yt = F.batch_norm(xe, None, None, None, be, True), TF.batch_norm(xt, None, None, None, bt, True)
    backward_both(ye, yt)
    assert_grads((xe, be), (xt, bt))


def test_batch_norm_non_contiguous_and_only_weight_grad():
    a = randn(5, 6, 3)
    xe, xt = ember.tensor(a).transpose(0, 2), torch.tensor(a).transpose(0, 2)  # (3, 6, 5), strided
    we, wt = pair(randn(6))
    ye, yt = F.batch_norm(xe, None, None, we, None, True), TF.batch_norm(xt, None, None, wt, None, True)
    assert_close(ye, yt)
    backward_both(ye, yt)
    assert_close(we.grad, wt.grad)


def test_batch_norm_half_input_with_float_params():
    a = randn(6, 3, 4, dtype=np.float32)
    xe, xt = ember.tensor(a).to(ember.bfloat16), torch.tensor(a).to(torch.bfloat16)
    args = [np.ones(3, np.float32), np.zeros(3, np.float32)]
    ye = F.batch_norm(xe, ember.zeros(3), ember.ones(3), *map(ember.tensor, args), training=True)
    yt = TF.batch_norm(xt, torch.zeros(3), torch.ones(3), *map(torch.tensor, args), training=True)
    assert_close(ye, yt)


def test_batch_norm_empty_batch_keeps_running_stats():
    rme, rve = ember.zeros(3), ember.ones(3)
    y = F.batch_norm(ember.randn(0, 3), rme, rve, training=True)
    assert tuple(y.shape) == (0, 3)
    assert rme.tolist() == [0.0] * 3 and rve.tolist() == [1.0] * 3


def test_batch_norm_errors():
    x = randn(4, 3, 5)
    cases = [
        lambda L, t: L.nn.functional.batch_norm(
            t, L.zeros(4, dtype=L.float64), L.ones(3, dtype=L.float64), training=True
        ),
        lambda L, t: L.nn.functional.batch_norm(
            t, L.zeros(3, dtype=L.float64), L.ones(4, dtype=L.float64), training=True
        ),
        lambda L, t: L.nn.functional.batch_norm(t, None, None, L.ones(4, dtype=L.float64), training=True),
        lambda L, t: L.nn.functional.batch_norm(t, None, None, None, L.ones(4, dtype=L.float64), training=True),
        lambda L, t: L.nn.functional.batch_norm(t, None, None, training=False),
        lambda L, t: L.nn.functional.batch_norm(t, L.zeros(3, dtype=L.float64), None, training=False),
        lambda L, t: L.nn.functional.batch_norm(t[:1, :, :1], None, None, training=True),
        lambda L, t: L.nn.functional.batch_norm(t, None, None, training=True, eps=0.0),
        lambda L, t: L.nn.functional.batch_norm(t, None, None, training=False, eps=-1.0),
        lambda L, t: L.nn.functional.batch_norm(t, L.zeros(3), L.ones(3), training=True),
        lambda L, t: L.nn.functional.batch_norm(t.long(), None, None, training=True),
        lambda L, t: L.nn.functional.batch_norm(t, None, None, training=True, momentum=None),
        lambda L, t: L.nn.functional.batch_norm(t.float().bfloat16(), L.zeros(3, dtype=L.float64), None, training=True),
    ]
    for case in cases:
        assert_same_error(lambda c=case: c(ember, ember.tensor(x)), lambda c=case: c(torch, torch.tensor(x)))
    rm = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    rmt = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    assert_same_error(
        lambda: F.batch_norm(ember.tensor(x, requires_grad=True), rm, ember.ones(3, dtype=ember.float64)),
        lambda: TF.batch_norm(torch.tensor(x, requires_grad=True), rmt, torch.ones(3, dtype=torch.float64)),
    )


# ---- gradcheck / double backward ------------------------------------------------------------------------
def _f64(*shape: int) -> ember.Tensor:
    return ember.tensor(randn(*shape), requires_grad=True)


@pytest.mark.parametrize(
    "fn, shapes",
    [
        (lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [(3, 2, 4), (2,), (2,)]),
        (lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [(5, 3), (3,), (3,)]),
        (
            lambda x, w, b: F.batch_norm(
                x, ember.zeros(2, dtype=ember.float64), ember.ones(2, dtype=ember.float64) * 2, w, b, False
            ),
            [(3, 2, 4), (2,), (2,)],
        ),
        (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
        (lambda x, w, b: F.instance_norm(x, None, None, w, b), [(2, 3, 4), (3,), (3,)]),
        (lambda x: F.batch_norm(x, None, None, None, None, True), [(4, 2, 3)]),
        (lambda x: F.group_norm(x, 1), [(2, 3, 2, 2)]),
        (lambda x: F.local_response_norm(x, 3, 0.1, 0.75, 1.0), [(2, 5, 3)]),
        (lambda x: F.local_response_norm(x, 2, 0.1, 0.75, 1.0), [(2, 4, 2, 3)]),
    ],
)
def test_gradcheck_and_gradgradcheck(fn, shapes):
    inputs = tuple(_f64(*s) for s in shapes)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("which", ["batch", "group"])
def test_double_backward_matches_torch(which):
    a, w, b = randn(4, 4, 3), randn(4), randn(4)
    ins_e = [ember.tensor(v, requires_grad=True) for v in (a, w, b)]
    ins_t = [torch.tensor(v, requires_grad=True) for v in (a, w, b)]

    def run(L, f, x, w, b):
        y = L.nn.functional.batch_norm(x, None, None, w, b, True) if which == "batch" else f.group_norm(x, 2, w, b)
        gx, gw = L.autograd.grad((y * y * y).sum(), (x, w), create_graph=True)
        return (gx * gx).sum() + (gw * gw * gw).sum()

    se, st = run(ember, F, *ins_e), run(torch, TF, *ins_t)
    assert_close(se, st)
    se.backward()
    st.backward()
    assert_grads(ins_e, ins_t, 1e-6, 1e-6)


# ---- instance / group / local response norm (functional) ----------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 2, 3, 2)])
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_functional(shape, use_input_stats):
    c = shape[1]
    xe, xt = pair(randn(*shape))
    we, wt = pair(randn(c))
    be, bt = pair(randn(c))
    rme, rmt = pair(randn(c), False)
    rve, rvt = pair(RNG.uniform(0.5, 2, c), False)
    ye = F.instance_norm(xe, rme, rve, we, be, use_input_stats, 0.2)
    yt = TF.instance_norm(xt, rmt, rvt, wt, bt, use_input_stats, 0.2)
    assert type(ye.grad_fn).__name__ == "ViewBackward0"
    assert type(ye.grad_fn.next_functions[0][0]).__name__ == "NativeBatchNormBackward0"
    assert_close(ye, yt)
    assert_close(rme, rmt)
    assert_close(rve, rvt)
    backward_both(ye, yt)
    assert_grads((xe, we, be), (xt, wt, bt))
    assert_same_error(lambda: F.instance_norm(xe.flatten(2)[..., :1]), lambda: TF.instance_norm(xt.flatten(2)[..., :1]))


@pytest.mark.parametrize("shape, groups", [((4, 6), 3), ((2, 6, 5), 2), ((2, 4, 3, 3), 4), ((3, 4, 2, 3), 1)])
def test_group_norm_functional(shape, groups):
    c = shape[1]
    xe, xt = pair(randn(*shape, offset=2.0))
    we, wt = pair(randn(c))
    be, bt = pair(randn(c))
    ye, yt = F.group_norm(xe, groups, we, be, 1e-4), TF.group_norm(xt, groups, wt, bt, 1e-4)
    assert type(ye.grad_fn).__name__ == "NativeGroupNormBackward0"
    assert_close(ye, yt)
    backward_both(ye, yt)
    assert_grads((xe, we, be), (xt, wt, bt))


def test_batch_norm_zero_weight():
    """A channel with weight 0 (ResNet's zero_init_residual) takes the unfactored gradient path."""
    xe, xt = pair(randn(4, 3, 5, dtype=np.float32))
    we, wt = pair(np.array([0.0, 2.0, 0.5], np.float32))
    ye, yt = F.batch_norm(xe, None, None, we, None, True), TF.batch_norm(xt, None, None, wt, None, True)
    backward_both(ye, yt)
    assert_grads((xe, we), (xt, wt), 1e-5, 1e-5)
    assert not xe.grad[:, 0].abs().sum().item()


def test_group_norm_zero_weight_and_float32():
    a, w = randn(3, 4, 5, dtype=np.float32), np.array([0.0, 1.5, -2.0, 0.0], np.float32)
    xe, xt = pair(a)
    we, wt = pair(w)
    ye, yt = F.group_norm(xe, 2, we), TF.group_norm(xt, 2, wt)
    assert_close(ye, yt)
    backward_both(ye, yt)
    assert_grads((xe, we), (xt, wt), 1e-5, 1e-5)


@pytest.mark.parametrize(
    "xd, wd",
    [
        ("float64", "float32"),
        ("bfloat16", "float64"),
        ("float32", "float64"),
        ("float32", "bfloat16"),
        ("int64", "float32"),
    ],
)
def test_norm_dtype_errors(xd, wd):
    for fn in (
        lambda L, x, w: L.nn.functional.group_norm(x, 2, w),
        lambda L, x, w: L.nn.functional.batch_norm(x, None, None, w, training=True),
    ):
        assert_same_error(
            lambda f=fn: f(ember, ember.ones(2, 4, 3).to(getattr(ember, xd)), ember.ones(4, dtype=getattr(ember, wd))),
            lambda f=fn: f(torch, torch.ones(2, 4, 3).to(getattr(torch, xd)), torch.ones(4, dtype=getattr(torch, wd))),
        )


def test_group_norm_errors():
    for shape, groups, w in [((2, 3, 4), 2, None), ((3,), 1, None), ((1, 2), 2, None), ((2, 4, 3), 2, 3)]:
        a = randn(*shape)
        assert_same_error(
            lambda a=a, g=groups, w=w: F.group_norm(
                ember.tensor(a), g, None if w is None else ember.ones(w, dtype=ember.float64)
            ),
            lambda a=a, g=groups, w=w: TF.group_norm(
                torch.tensor(a), g, None if w is None else torch.ones(w, dtype=torch.float64)
            ),
        )
    assert_same_error(lambda: nn.GroupNorm(2, 3), lambda: tnn.GroupNorm(2, 3))


@pytest.mark.parametrize("shape, size", [((2, 5, 3), 2), ((2, 5, 3), 3), ((2, 7, 3, 4), 4), ((2, 4, 2, 2, 3), 3)])
def test_local_response_norm(shape, size):
    xe, xt = pair(randn(*shape))
    ye, yt = F.local_response_norm(xe, size, 1e-2, 0.8, 2.0), TF.local_response_norm(xt, size, 1e-2, 0.8, 2.0)
    assert type(ye.grad_fn).__name__ == "DivBackward0"
    assert_close(ye, yt)
    backward_both(ye, yt)
    assert_close(xe.grad, xt.grad)
    me, mt = nn.LocalResponseNorm(size, 0.1), tnn.LocalResponseNorm(size, 0.1)
    assert repr(me) == repr(mt)
    assert_close(me(xe), mt(xt))


def test_local_response_norm_errors_and_empty():
    assert_same_error(
        lambda: F.local_response_norm(ember.ones(2, 3), 2), lambda: TF.local_response_norm(torch.ones(2, 3), 2)
    )
    for shape in [(2, 3, 4), (2, 3, 4, 4)]:
        assert_same_error(
            lambda s=shape: F.local_response_norm(ember.ones(*s), 0),
            lambda s=shape: TF.local_response_norm(torch.ones(*s), 0),
        )
    e = ember.ones(0, 3, 2)
    assert F.local_response_norm(e, 2) is e


@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_cross_map_lrn2d(size):
    xe, xt = pair(randn(2, 6, 3, 4))
    me, mt = nn.CrossMapLRN2d(size, 0.5, 0.8, 2), tnn.CrossMapLRN2d(size, 0.5, 0.8, 2)
    assert repr(me) == repr(mt)
    ye, yt = me(xe), mt(xt)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__ == "CrossMapLRN2dBackward"
    assert_close(ye, yt)
    backward_both(ye, yt)
    assert_close(xe.grad, xt.grad)
    assert_same_error(lambda: me(ember.ones(2, 3, 4)), lambda: mt(torch.ones(2, 3, 4)))


# ---- BatchNorm modules ----------------------------------------------------------------------------------------
BN_CASES = [
    ("BatchNorm1d", (6, 3)),
    ("BatchNorm1d", (4, 3, 5)),
    ("BatchNorm2d", (4, 3, 4, 5)),
    ("BatchNorm3d", (2, 3, 2, 3, 4)),
    ("SyncBatchNorm", (4, 3, 5)),
]


@pytest.mark.parametrize("name, shape", BN_CASES)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}, {"bias": False, "eps": 1e-3}],
)
def test_batchnorm_modules_train_then_eval(name, shape, kwargs):
    me, mt = getattr(nn, name)(3, **kwargs), getattr(tnn, name)(3, **kwargs)
    assert repr(me) == repr(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    for step in range(3):
        a = randn(*shape, dtype=np.float32, offset=step)
        xe, xt = pair(a)
        ye, yt = me(xe), mt(xt)
        assert_close(ye, yt, 1e-5, 1e-5)
        backward_both(ye, yt)
        assert_close(xe.grad, xt.grad, 1e-4, 1e-5)
        for pe, pt in zip(me.parameters(), mt.parameters(), strict=True):
            assert_close(pe.grad, pt.grad, 1e-4, 1e-4)
    for (n, be), bt in zip(me.named_buffers(), mt.buffers(), strict=True):
        assert n in ("running_mean", "running_var", "num_batches_tracked")
        assert_close(be, bt, 1e-5, 1e-5)
    me.eval()
    mt.eval()
    xe, xt = pair(randn(*shape, dtype=np.float32))
    ye, yt = me(xe), mt(xt)
    assert_close(ye, yt, 1e-5, 1e-5)
    backward_both(ye, yt)
    assert_close(xe.grad, xt.grad, 1e-5, 1e-5)


def test_batchnorm_state_and_resets():
    me, mt = nn.BatchNorm2d(4), tnn.BatchNorm2d(4)
    assert list(me.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert me.num_batches_tracked.dtype is ember.int64 and me.num_batches_tracked.dim() == 0
    for _ in range(2):
        me(ember.randn(2, 4, 3, 3))
    assert me.num_batches_tracked.item() == 2
    me.reset_running_stats()
    assert me.num_batches_tracked.item() == 0 and me.running_var.tolist() == [1.0] * 4
    with ember.no_grad():
        me.weight.fill_(3.0)
    me.reset_parameters()
    assert me.weight.tolist() == [1.0] * 4
    assert me.state_dict()._metadata[""]["version"] == mt.state_dict()._metadata[""]["version"] == 2
    assert list(nn.BatchNorm1d(3, affine=False, track_running_stats=False).state_dict()) == []


def test_batchnorm_input_errors():
    for name, shape in [
        ("BatchNorm1d", (2, 3, 4, 5)),
        ("BatchNorm2d", (2, 3, 4)),
        ("BatchNorm3d", (2, 3, 4, 5)),
        ("BatchNorm1d", (1, 3)),
        ("SyncBatchNorm", (3,)),
        ("SyncBatchNorm", (2, 0, 3)),
    ]:
        a = randn(*shape)
        n = shape[1] if len(shape) > 1 else 3
        assert_same_error(
            lambda a=a, k=name, n=n: getattr(nn, k)(n)(ember.tensor(a)),
            lambda a=a, k=name, n=n: getattr(tnn, k)(n)(torch.tensor(a)),
        )


def test_batchnorm_loads_old_checkpoint_without_num_batches_tracked():
    me, mt = nn.BatchNorm1d(3), tnn.BatchNorm1d(3)
    sd = OrderedDict((k, v) for k, v in mt.state_dict().items() if k != "num_batches_tracked")
    with torch.no_grad():
        sd["running_mean"] = torch.arange(3.0)
    me(ember.randn(4, 3))
    assert mt.load_state_dict(sd).missing_keys == []  # torch: a plain dict has no version -> version 1
    result = me.load_state_dict(OrderedDict((k, to_ember(v)) for k, v in sd.items()))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert me.running_mean.tolist() == [0.0, 1.0, 2.0]
    assert me.num_batches_tracked.item() == 1  # kept its own count
    sd2 = OrderedDict(sd)
    sd2._metadata = OrderedDict({"": {"version": 2}})
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches_tracked"'):
        me.load_state_dict(_with_meta(sd2))
    # a torch state_dict loads into an ember module and gives the same outputs
    mt.train()
    mt(torch.randn(5, 3))
    me2 = nn.BatchNorm1d(3)
    me2.load_state_dict(OrderedDict((k, to_ember(v)) for k, v in mt.state_dict().items()))
    me2.eval()
    mt.eval()
    a = randn(4, 3, dtype=np.float32)
    assert_close(me2(ember.tensor(a)), mt(torch.tensor(a)))


def _with_meta(sd):
    out = OrderedDict((k, to_ember(v)) for k, v in sd.items())
    out._metadata = sd._metadata
    return out


def test_lazy_batchnorm():
    for name, shape in [
        ("LazyBatchNorm1d", (4, 3)),
        ("LazyBatchNorm2d", (2, 3, 4, 4)),
        ("LazyBatchNorm3d", (2, 3, 2, 2, 2)),
    ]:
        me, mt = getattr(nn, name)(), getattr(tnn, name)()
        assert repr(me) == repr(mt)
        a = randn(*shape, dtype=np.float32)
        assert_close(me(ember.tensor(a)), mt(torch.tensor(a)))
        assert type(me).__name__ == type(mt).__name__ == name.replace("Lazy", "")
        assert repr(me) == repr(mt)
        assert_close(me.running_var, mt.running_var)
        assert list(me.state_dict()) == list(mt.state_dict())
    me, mt = (
        nn.LazyBatchNorm2d(affine=False, track_running_stats=False),
        tnn.LazyBatchNorm2d(affine=False, track_running_stats=False),
    )
    me(ember.randn(2, 5, 3, 3))
    mt(torch.randn(2, 5, 3, 3))
    assert repr(me) == repr(mt)  # nothing to infer: num_features stays 0, as in torch


def test_sync_batchnorm_convert():
    net = nn.Sequential(
        nn.Identity(),
        nn.BatchNorm2d(3),
        nn.Sequential(nn.BatchNorm1d(3, momentum=None)),
    )
    bn = net[1]
    bn(ember.randn(4, 3, 2, 2))
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(sync[1], nn.SyncBatchNorm) and isinstance(sync[2][0], nn.SyncBatchNorm)
    assert sync[1].weight is bn.weight and sync[1].running_mean is bn.running_mean
    assert sync[1].num_batches_tracked.item() == 1
    assert repr(sync[2][0]) == repr(tnn.SyncBatchNorm(3, momentum=None))
    assert isinstance(nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2)), nn.SyncBatchNorm)


# ---- InstanceNorm modules ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, shape",
    [
        ("InstanceNorm1d", (2, 3, 5)),
        ("InstanceNorm1d", (3, 5)),
        ("InstanceNorm2d", (2, 3, 4, 4)),
        ("InstanceNorm2d", (3, 4, 4)),
        ("InstanceNorm3d", (2, 3, 2, 3, 2)),
    ],
)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"affine": True},
        {"track_running_stats": True, "momentum": 0.3},
        {"affine": True, "track_running_stats": True, "momentum": None},
    ],
)
def test_instancenorm_modules(name, shape, kwargs):
    me, mt = getattr(nn, name)(3, **kwargs), getattr(tnn, name)(3, **kwargs)
    assert repr(me) == repr(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    for _ in range(2):
        xe, xt = pair(randn(*shape, dtype=np.float32))
        ye, yt = me(xe), mt(xt)
        assert_close(ye, yt, 1e-5, 1e-5)
        backward_both(ye, yt)
        assert_close(xe.grad, xt.grad, 1e-4, 1e-5)
        for pe, pt in zip(me.parameters(), mt.parameters(), strict=True):
            assert_close(pe.grad, pt.grad, 1e-4, 1e-4)
    for be, bt in zip(me.buffers(), mt.buffers(), strict=True):
        assert_close(be, bt, 1e-5, 1e-5)
    me.eval()
    mt.eval()
    xe, xt = pair(randn(*shape, dtype=np.float32))
    assert_close(me(xe), mt(xt), 1e-5, 1e-5)


def test_instancenorm_errors_and_warning():
    assert_same_error(
        lambda: nn.InstanceNorm1d(3)(ember.ones(2, 3, 1)), lambda: tnn.InstanceNorm1d(3)(torch.ones(2, 3, 1))
    )
    assert_same_error(
        lambda: nn.InstanceNorm1d(4, affine=True)(ember.ones(2, 3, 5)),
        lambda: tnn.InstanceNorm1d(4, affine=True)(torch.ones(2, 3, 5)),
    )
    assert_same_error(lambda: nn.InstanceNorm2d(3)(ember.ones(2, 3)), lambda: tnn.InstanceNorm2d(3)(torch.ones(2, 3)))
    assert_same_error(
        lambda: nn.InstanceNorm3d(3)(ember.ones(2, 3, 4)), lambda: tnn.InstanceNorm3d(3)(torch.ones(2, 3, 4))
    )
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        nn.InstanceNorm1d(4)(ember.randn(2, 3, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm1d(3)(ember.randn(2, 3, 5))


def test_instancenorm_old_checkpoint_with_running_stats():
    sd = {"running_mean": ember.zeros(3), "running_var": ember.ones(3)}
    sdt = {k: torch.tensor(v.numpy()) for k, v in sd.items()}
    assert_same_error(
        lambda: nn.InstanceNorm1d(3).load_state_dict(dict(sd)), lambda: tnn.InstanceNorm1d(3).load_state_dict(dict(sdt))
    )


def test_lazy_instancenorm():
    me, mt = nn.LazyInstanceNorm2d(), tnn.LazyInstanceNorm2d()
    assert repr(me) == repr(mt)
    a = randn(2, 3, 4, 4, dtype=np.float32)
    assert_close(me(ember.tensor(a)), mt(torch.tensor(a)), 1e-5, 1e-5)
    assert type(me).__name__ == "InstanceNorm2d" and repr(me) == repr(mt)
    assert_close(me.running_mean, mt.running_mean)


# ---- GroupNorm module ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False, "eps": 1e-3}])
def test_groupnorm_module(kwargs):
    me, mt = nn.GroupNorm(2, 4, **kwargs), tnn.GroupNorm(2, 4, **kwargs)
    assert repr(me) == repr(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    xe, xt = pair(randn(3, 4, 5, dtype=np.float32))
    ye, yt = me(xe), mt(xt)
    assert_close(ye, yt, 1e-5, 1e-5)
    backward_both(ye, yt)
    assert_close(xe.grad, xt.grad, 1e-4, 1e-5)
    for pe, pt in zip(me.parameters(), mt.parameters(), strict=True):
        assert_close(pe.grad, pt.grad, 1e-4, 1e-4)


def test_sync_batchnorm_sums_statistics_over_processes(monkeypatch):
    """Two identical fake processes: SyncBatchNorm on x must act as BatchNorm on the global batch [x; x]
    (statistics, running variance with the global count, input gradient), with local parameter gradients."""
    import ember.distributed as dist

    calls = []

    def all_reduce(t, op=None, group=None, async_op=False):
        calls.append(tuple(t.shape))
        t.mul_(2)

    monkeypatch.setattr(dist, "is_initialized", lambda: True, raising=False)
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: 2, raising=False)
    monkeypatch.setattr(dist, "all_reduce", all_reduce, raising=False)
    for kwargs in ({}, {"momentum": None, "affine": False}):
        sync, ref = nn.SyncBatchNorm(3, **kwargs), tnn.BatchNorm2d(3, **kwargs)
        for _ in range(2):
            xe, xt = pair(randn(4, 3, 2, 5, dtype=np.float32))
            ye, yt = sync(xe), ref(torch.cat([xt, xt]))
            assert type(ye.grad_fn).__name__ == "SyncBatchNormBackward"
            assert_close(ye, yt[:4], 1e-5, 1e-5)
            cot = randn(4, 3, 2, 5, dtype=np.float32)
            ye.backward(ember.tensor(cot))
            yt.backward(torch.tensor(np.concatenate([cot, cot])))
            assert_close(xe.grad, xt.grad / 2, 1e-4, 1e-5)
            for pe, pt in zip(sync.parameters(), ref.parameters(), strict=True):
                assert_close(pe.grad, pt.grad / 2, 1e-4, 1e-4)
                pe.grad, pt.grad = None, None
        assert_close(sync.running_mean, ref.running_mean, 1e-5, 1e-5)
        assert_close(sync.running_var, ref.running_var, 1e-5, 1e-5)
    assert calls[:2] == [(3, 3), (2, 3)]
    sync.eval()
    n = len(calls)
    sync(ember.randn(2, 3, 4))
    assert len(calls) == n  # eval mode uses the running statistics: no communication


def test_top_level_forms():
    from ember.nn.functional._normalization import aten_batch_norm, aten_group_norm, aten_instance_norm

    xe, xt = pair(randn(4, 3, 5), False)
    we, wt = pair(randn(3), False)
    assert_close(
        aten_batch_norm(xe, we, None, None, None, True, 0.1, 1e-5, True),
        torch.batch_norm(xt, wt, None, None, None, True, 0.1, 1e-5, True),
    )
    assert_close(
        aten_instance_norm(xe, we, None, None, None, True, 0.1, 1e-5, True),
        torch.instance_norm(xt, wt, None, None, None, True, 0.1, 1e-5, True),
    )
    assert_close(aten_group_norm(xe, 3, we), torch.group_norm(xt, 3, wt))
