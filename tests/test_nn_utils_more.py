"""nn.utils against torch: conv/linear + batch-norm fusion (values bit for bit, flags, errors), stateless and
func ``functional_call`` (tying, strict, write-back, warnings, errors), ``skip_init``, gradient clipping by
norm (``get_total_norm``, ``clip_grads_with_norm_``, deprecated ``clip_grad_norm``) and conv weight memory
formats."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import ember
from oracle import assert_close, assert_same_error, to_torch, torch

U_e, U_t = ember.nn.utils, torch.nn.utils


def _np(t):
    return t.detach().numpy()


def _pair(make, seed=0):
    """The same module in ember and torch (torch loads ember's state), with randomised batch-norm stats."""
    e = make(ember)
    rng = np.random.default_rng(seed)
    for name, b in e.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(ember.tensor(rng.standard_normal(tuple(b.shape)).astype(np.float32)))
        elif name.endswith("running_var"):
            b.copy_(ember.tensor(rng.uniform(0.5, 2.0, tuple(b.shape)).astype(np.float32)))
    with ember.no_grad():
        for name, p in e.named_parameters():
            if "bn" in name or name.startswith("1."):
                p.copy_(ember.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    t = make(torch)
    t.load_state_dict({k: to_torch(v) for k, v in e.state_dict().items()})
    return e.eval(), t.eval()


CONV_CASES = [
    ("Conv1d", "BatchNorm1d", dict(bias=True), False),
    ("Conv2d", "BatchNorm2d", dict(bias=False), False),
    ("Conv2d", "BatchNorm2d", dict(bias=True, groups=2), False),
    ("Conv3d", "BatchNorm3d", dict(bias=True), False),
    ("ConvTranspose2d", "BatchNorm2d", dict(bias=True), True),
    ("ConvTranspose1d", "BatchNorm1d", dict(bias=False, dilation=2), True),
]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("conv,bn,kw,transpose", CONV_CASES, ids=[c[0] + str(i) for i, c in enumerate(CONV_CASES)])
def test_fuse_conv_bn_eval_matches_torch(conv, bn, kw, transpose, affine):
    def make(L):
        return L.nn.Sequential(getattr(L.nn, conv)(4, 6, 3, **kw), getattr(L.nn, bn)(6, affine=affine))
    e, t = _pair(make)
    fe = U_e.fuse_conv_bn_eval(e[0], e[1], transpose=transpose)
    ft = U_t.fuse_conv_bn_eval(t[0], t[1], transpose=transpose)
    assert type(fe) is type(e[0]) and fe is not e[0] and repr(fe) == repr(ft)
    for name in ("weight", "bias"):
        pe, pt = getattr(fe, name), getattr(ft, name)
        assert isinstance(pe, ember.nn.Parameter) and pe.requires_grad == pt.requires_grad
        np.testing.assert_array_equal(pe.detach().numpy(), pt.detach().numpy())
    assert e[0].bias is None or e[0].bias is not fe.bias   # the original is untouched
    shape = (2, 4) + (5,) * (int(conv[-2]))
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(_np(fe(ember.tensor(x))), _np(e(ember.tensor(x))), rtol=1e-5, atol=1e-5)
    assert_close(fe(ember.tensor(x)), ft(torch.tensor(x)), rtol=1e-5, atol=1e-5)


def test_fuse_conv_bn_weights_dtypes_and_missing_terms():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 2, 2, 2))
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    bw, bb = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    for args in [(w, None, rm, rv, 1e-3, None, None), (w.astype(np.float32), rm * 2, rm, rv, 1e-5, bw, bb),
                 (w, rm.astype(np.float64), rm, rv, 0.1, bw, None)]:
        res = []
        for L in (ember, torch):
            conv_w = L.tensor(args[0], requires_grad=True)
            rest = [L.tensor(a) if isinstance(a, np.ndarray) else a for a in args[1:]]
            res.append(L.nn.utils.fuse_conv_bn_weights(conv_w, *rest, transpose=False))
        for pe, pt in zip(*res, strict=True):
            assert repr(pe.dtype) == str(pt.dtype) and pe.requires_grad == pt.requires_grad
            np.testing.assert_array_equal(pe.detach().numpy(), pt.detach().numpy())


@pytest.mark.parametrize("bias,features", [(True, 5), (False, 5), (True, 1)])
def test_fuse_linear_bn_eval_matches_torch(bias, features):
    def make(L):
        return L.nn.Sequential(L.nn.Linear(3, 5, bias=bias), L.nn.BatchNorm1d(features))
    e, t = _pair(make)
    fe, ft = U_e.fuse_linear_bn_eval(e[0], e[1]), U_t.fuse_linear_bn_eval(t[0], t[1])
    for name in ("weight", "bias"):
        pe, pt = getattr(fe, name), getattr(ft, name)
        assert pe.requires_grad == pt.requires_grad and tuple(pe.shape) == tuple(pt.shape)
        np.testing.assert_array_equal(pe.detach().numpy(), pt.detach().numpy())
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    assert_close(fe(ember.tensor(x)), ft(torch.tensor(x)), rtol=1e-5, atol=1e-5)
    if features == 5:
        np.testing.assert_allclose(_np(fe(ember.tensor(x))), _np(e(ember.tensor(x))), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["train_conv", "train_bn", "no_stats", "features", "no_stats_linear",
                                  "grouped_transpose"])
def test_fusion_errors_match_torch(case):
    def run(L):
        conv, bn = L.nn.Conv2d(2, 3, 1), L.nn.BatchNorm2d(3)
        if case == "train_conv":
            return L.nn.utils.fuse_conv_bn_eval(conv, bn.eval())
        if case == "train_bn":
            return L.nn.utils.fuse_conv_bn_eval(conv.eval(), bn)
        if case == "no_stats":
            return L.nn.utils.fuse_conv_bn_eval(conv.eval(), L.nn.BatchNorm2d(3, track_running_stats=False).eval())
        if case == "grouped_transpose":   # torch's fusion does not handle groups of transposed convs either
            return L.nn.utils.fuse_conv_bn_eval(L.nn.ConvTranspose1d(4, 6, 3, groups=2).eval(),
                                                L.nn.BatchNorm1d(6).eval(), transpose=True)
        if case == "features":
            return L.nn.utils.fuse_linear_bn_eval(L.nn.Linear(2, 4).eval(), L.nn.BatchNorm1d(3).eval())
        return L.nn.utils.fuse_linear_bn_eval(L.nn.Linear(2, 3).eval(),
                                              L.nn.BatchNorm1d(3, track_running_stats=False).eval())
    assert_same_error(lambda: run(ember), lambda: run(torch))


# ---- functional_call --------------------------------------------------------------------------------------------
def _tied(L):
    class Tied(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = L.nn.Linear(2, 2)
            self.other = L.nn.Linear(2, 2)
            self.other.weight = self.lin.weight
            self.register_buffer("count", L.zeros(()))

        def forward(self, x):
            self.count = self.count + 1
            return self.other(self.lin(x)) + self.count

    m = Tied()
    with L.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(L.arange(p.numel(), dtype=L.float32).reshape(p.shape) * 0.1 + i)
    return m


def _call(L, which, params, **kw):
    m = _tied(L)
    fc = L.func.functional_call if which == "func" else L.nn.utils.stateless.functional_call
    x = L.ones(1, 2)
    d = {k: v(L) for k, v in params.items()}
    out = fc(m, d, (x,), **kw)
    restored = [p.detach().numpy().tolist() for p in m.parameters()] + [float(m.count)]
    return out.detach().numpy(), restored, {k: v.detach().numpy().tolist() for k, v in d.items()}


@pytest.mark.parametrize("which", ["func", "stateless"])
@pytest.mark.parametrize("params,kw", [
    ({"lin.weight": lambda L: L.ones(2, 2)}, {}),
    ({"lin.weight": lambda L: L.ones(2, 2)}, {"tie_weights": False}),
    ({"other.weight": lambda L: L.full((2, 2), 2.0), "lin.bias": lambda L: L.zeros(2)}, {}),
    ({"count": lambda L: L.tensor(5.0)}, {}),
    ({"extra": lambda L: L.tensor(5.0)}, {}),
], ids=range(5))
def test_functional_call_matches_torch(which, params, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        e, t = _call(ember, which, params, **kw), _call(torch, which, params, **kw)
    np.testing.assert_allclose(e[0], t[0], rtol=1e-6)
    assert e[1] == t[1]          # the module's own tensors are back
    assert e[2] == t[2]          # rebinding inside forward (count) is written back into the given dict


def test_stateless_functional_call_warns_like_torch():
    msgs = []
    for L in (ember, torch):
        with pytest.warns(FutureWarning) as rec:
            L.nn.utils.stateless.functional_call(L.nn.Linear(2, 2), {"bias": L.zeros(2)}, L.ones(1, 2))
        msgs.append([str(w.message) for w in rec if w.category is FutureWarning])
    assert msgs[0] == msgs[1]
    assert U_e.stateless.__all__ == U_t.stateless.__all__


@pytest.mark.parametrize("case", ["tied_conflict", "strict_missing", "strict_both", "bad_path", "not_tensor",
                                  "not_dict", "dup_keys", "list_not_dicts", "not_submodule"])
def test_functional_call_errors_match_torch(case):
    def run(L):
        m = _tied(L)
        x = L.ones(1, 2)
        fc = L.func.functional_call
        if case == "tied_conflict":
            return fc(m, {"lin.weight": L.ones(2, 2), "other.weight": L.zeros(2, 2)}, x)
        if case == "strict_missing":
            return fc(m, {"lin.weight": L.ones(2, 2)}, x, strict=True)
        if case == "strict_both":
            return fc(m, {"lin.weight": L.ones(2, 2), "zzz": L.ones(1)}, x, strict=True, tie_weights=False)
        if case == "bad_path":
            return fc(m, {"nope.weight": L.ones(2, 2)}, x)
        if case == "not_tensor":
            return fc(m, {"lin.bias": 3.0}, x)
        if case == "not_dict":
            return fc(m, 5, x)
        if case == "dup_keys":
            return fc(m, ({"lin.bias": L.ones(2)}, {"lin.bias": L.ones(2), "count": L.ones(())}), x)
        if case == "list_not_dicts":
            return fc(m, [{"lin.bias": L.ones(2)}, 3], x)
        return fc(m, {"count.weight": L.ones(2)}, x)
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_functional_call_strict_passes_and_grads_flow():
    for L in (ember, torch):
        m = L.nn.Linear(3, 2)
        w = L.ones(2, 3, requires_grad=True)
        out = L.func.functional_call(m, ({"weight": w}, {"bias": L.zeros(2)}), args=L.ones(4, 3), strict=True)
        out.sum().backward()
        assert w.grad.numpy().tolist() == [[4.0] * 3] * 2
        assert m.weight.grad is None


# ---- skip_init --------------------------------------------------------------------------------------------------
def test_skip_init_builds_without_consuming_random_numbers():
    ember.manual_seed(3)
    torch.manual_seed(3)
    me = U_e.skip_init(ember.nn.Linear, 5, out_features=2, dtype=ember.float64)
    mt = U_t.skip_init(torch.nn.Linear, 5, out_features=2, dtype=torch.float64)
    assert type(me) is ember.nn.Linear and repr(me) == repr(mt)
    for (ne, pe), (nt, pt) in zip(me.named_parameters(), mt.named_parameters(), strict=True):
        assert ne == nt and tuple(pe.shape) == tuple(pt.shape) and repr(pe.dtype) == str(pt.dtype)
        assert isinstance(pe, ember.nn.Parameter) and pe.requires_grad and str(pe.device) == "cpu"
    assert_close(ember.randn(4), torch.randn(4))   # the generator is where torch's is
    bn = U_e.skip_init(ember.nn.BatchNorm1d, 3, device="cpu")
    assert [n for n, _ in bn.named_buffers()] == [n for n, _ in torch.nn.BatchNorm1d(3).named_buffers()]


@pytest.mark.parametrize("case", ["not_module", "no_device"])
def test_skip_init_errors_match_torch(case):
    def run(L):
        if case == "not_module":
            return L.nn.utils.skip_init(int)

        class NoDevice(L.nn.Module):
            def __init__(self, n):
                super().__init__()
        return L.nn.utils.skip_init(NoDevice, 3)
    e_err = pytest.raises(RuntimeError, run, ember)
    t_err = pytest.raises(RuntimeError, run, torch)
    # the message names the class: ember's and torch's differ only in the module path
    assert str(e_err.value).split(";")[0] == str(t_err.value).split(";")[0]
    if case == "not_module":
        assert str(e_err.value) == str(t_err.value)


# ---- clipping by norm -------------------------------------------------------------------------------------------
def _grads(L):
    rng = np.random.default_rng(4)
    return [L.tensor(rng.standard_normal((3, 4)).astype(np.float32)), L.tensor(rng.standard_normal(5)),
            L.tensor(np.full((2, 2), 2.5, np.float32))]


@pytest.mark.parametrize("norm_type", [2.0, 1, 0, 3.5, float("inf"), -float("inf"), "inf"])
def test_get_total_norm_matches_torch(norm_type):
    assert_close(U_e.get_total_norm(_grads(ember), norm_type), U_t.get_total_norm(_grads(torch), norm_type))
    assert_close(U_e.get_total_norm(_grads(ember)[0], norm_type, foreach=True),
                 U_t.get_total_norm(_grads(torch)[0], norm_type, foreach=True))
    assert_close(U_e.get_total_norm([]), U_t.get_total_norm([]))


def test_get_total_norm_nonfinite_error_matches_torch():
    assert_same_error(lambda: U_e.get_total_norm([ember.tensor([1.0, float("nan")])], "inf", True),
                      lambda: U_t.get_total_norm([torch.tensor([1.0, float("nan")])], "inf", True))


@pytest.mark.parametrize("max_norm", [0.5, 100])
def test_clip_grads_with_norm_and_clip_grad_norm_match_torch(max_norm):
    def run(L, fn):
        ps = [L.nn.Parameter(g.clone()) for g in _grads(L)]
        for p, g in zip(ps, _grads(L), strict=True):
            p.grad = g * 3
        ps.append(L.nn.Parameter(L.ones(2)))          # no grad: skipped
        if fn == "with_norm":
            total = L.nn.utils.get_total_norm([p.grad for p in ps if p.grad is not None])
            assert L.nn.utils.clip_grads_with_norm_(ps, max_norm, total, foreach=False) is None
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                total = getattr(L.nn.utils, fn)(ps, max_norm)
        return total, [p.grad for p in ps if p.grad is not None]
    for fn in ("with_norm", "clip_grad_norm_", "clip_grad_norm"):
        te, ge = run(ember, fn)
        tt, gt = run(torch, fn)
        assert_close(te, tt)
        assert_close(ge, gt)


def test_clip_grad_norm_warnings_match_torch():
    for fn in (lambda L: L.nn.utils.clip_grad_norm([L.nn.Parameter(L.ones(2))], 1.0),
               lambda L: L.nn.utils.clip_grad_norm_((p for p in []), 1.0)):
        msgs = []
        for L in (ember, torch):
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                fn(L)
            msgs.append([(w.category, str(w.message), w.filename) for w in rec])   # attributed to the caller
        assert msgs[0] == msgs[1] and msgs[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        U_e.clip_grad_norm_([], 1.0)       # an empty list is not a generator: no warning


def _signature(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_signatures_match_torch():
    for name in U_t.__all__:
        obj = getattr(U_t, name)
        if callable(obj) and not isinstance(obj, type(U_t)):
            assert _signature(getattr(U_e, name)) == _signature(obj), name
    assert _signature(U_e.stateless.functional_call) == _signature(U_t.stateless.functional_call)
    assert _signature(ember.func.functional_call) == _signature(torch.func.functional_call)


def test_nn_utils_namespace_matches_torch():
    assert sorted(U_e.__all__) == sorted(U_t.__all__)
    for mod in ("fusion", "stateless", "memory_format", "init", "clip_grad"):
        assert hasattr(U_e, mod)
    assert U_e.init.skip_init is U_e.skip_init
    assert sorted(U_e.fusion.__all__) == sorted(U_t.fusion.__all__)
    assert sorted(U_e.memory_format.__all__) == sorted(U_t.memory_format.__all__)


# ---- conv weight memory formats ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 3])
def test_convert_conv_weight_memory_format_matches_torch(dim):
    fmt = "channels_last" if dim == 2 else "channels_last_3d"
    convert = f"convert_conv{dim}d_weight_memory_format"

    def make(L):
        return L.nn.Sequential(getattr(L.nn, f"Conv{dim}d")(3, 4, 2), L.nn.ReLU(),
                               L.nn.Sequential(getattr(L.nn, f"ConvTranspose{dim}d")(4, 2, 2)),
                               L.nn.ModuleList([getattr(L.nn, f"Conv{5 - dim}d")(2, 2, 2)]))
    e, t = _pair(make)
    w_before = [p for p in e.parameters()]
    other_strides = e[3][0].weight.stride()
    re_ = getattr(U_e, convert)(e, getattr(ember, fmt))
    rt = getattr(U_t, convert)(t, getattr(torch, fmt))
    assert re_ is e and rt is t and list(e.parameters()) == w_before   # same Parameter objects
    for me, mt in ((e[0], t[0]), (e[2][0], t[2][0])):
        assert me.weight.stride() == mt.weight.stride()
        assert_close(me.weight, mt.weight)
    assert e[3][0].weight.stride() == other_strides == t[3][0].weight.stride()   # other kinds untouched
    x = np.random.default_rng(2).standard_normal((1, 3) + (4,) * dim).astype(np.float32)
    assert_close(e[2](e[1](e[0](ember.tensor(x)))), t[2](t[1](t[0](torch.tensor(x)))), rtol=1e-5, atol=1e-5)


def test_convert_memory_format_rank_error_matches_torch():
    assert_same_error(
        lambda: U_e.convert_conv2d_weight_memory_format(ember.nn.Conv2d(2, 2, 1), ember.channels_last_3d),
        lambda: U_t.convert_conv2d_weight_memory_format(torch.nn.Conv2d(2, 2, 1), torch.channels_last_3d))


def test_tensor_memory_format_conversions():
    x = ember.randn(2, 3, 4, 5)
    assert x.clone(memory_format=ember.channels_last).stride() == (60, 1, 15, 3)
    assert x.to(memory_format=ember.channels_last).stride() == (60, 1, 15, 3)
    assert x.contiguous(memory_format=ember.channels_last).is_contiguous(memory_format=ember.channels_last)
    assert not x.is_contiguous(memory_format=ember.channels_last)
