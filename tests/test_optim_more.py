"""Adafactor and Muon against torch: trajectories over several steps (matrices, vectors, a 3-d tensor,
float32/float64, every option), state and param-group layout, state_dict round trips through torch's
files both ways, closures, constructor and step errors."""

from __future__ import annotations

import inspect
import io
import sys
from typing import Any

import numpy as np
import pytest

import ember
import ember.optim as optim
from oracle import assert_same_error, torch

ADAFACTOR_SHAPES = [(4, 3), (3,), (2, 3, 5), ()]
MUON_SHAPES = [(4, 3), (3, 5), (6, 6)]


def _params(lib, dtype, shapes):
    rng = np.random.default_rng(0)
    return [lib.nn.Parameter(lib.tensor(rng.standard_normal(s).astype(dtype))) for s in shapes]


def _trajectory(lib, name, kwargs, dtype="float32", shapes=ADAFACTOR_SHAPES, steps=6):
    params = _params(lib, dtype, shapes)
    opt = getattr(lib.optim, name)(params, **kwargs)
    rng = np.random.default_rng(1)
    out = []
    for _ in range(steps):
        for p in params:
            p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype))
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out, opt


ADAFACTOR_CASES = [
    dict(),
    dict(lr=0.1, weight_decay=0.1, maximize=True),
    dict(lr=0.05, foreach=True),
    dict(lr=0.05, foreach=True, weight_decay=0.2, maximize=True),
    dict(eps=(1e-3, 1e-2), d=2.0, beta2_decay=-0.5),
    dict(eps=(0.0, 0.0), beta2_decay=0.0),
]
MUON_CASES = [
    dict(),
    dict(lr=0.05, nesterov=False, weight_decay=0.0),
    dict(lr=0.02, adjust_lr_fn="match_rms_adamw", momentum=0.5, ns_steps=3),
    dict(adjust_lr_fn="original", eps=1e-3, ns_coefficients=(2.0, -1.5, 0.5), momentum=0.0),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", ADAFACTOR_CASES, ids=range(len(ADAFACTOR_CASES)))
def test_adafactor_trajectory_matches_torch(kwargs, dtype):
    e, _ = _trajectory(ember, "Adafactor", kwargs, dtype)
    t, _ = _trajectory(torch, "Adafactor", kwargs, dtype)
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-13, atol=1e-15)
    for step_e, step_t in zip(e, t, strict=True):
        for a, b in zip(step_e, step_t, strict=True):
            np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", MUON_CASES, ids=range(len(MUON_CASES)))
def test_muon_trajectory_matches_torch_bit_for_bit(kwargs, dtype):
    # the Newton-Schulz iteration runs in bfloat16 in both; ember rounds as torch's kernels do
    e, _ = _trajectory(ember, "Muon", kwargs, dtype, MUON_SHAPES)
    t, _ = _trajectory(torch, "Muon", kwargs, dtype, MUON_SHAPES)
    for step_e, step_t in zip(e, t, strict=True):
        for a, b in zip(step_e, step_t, strict=True):
            np.testing.assert_array_equal(a, b)


def test_muon_newton_schulz_matches_torch():
    from torch.optim._muon import _zeropower_via_newtonschulz as ns_t

    from ember.optim.muon import zeropower_via_newtonschulz as ns_e
    rng = np.random.default_rng(3)
    for shape in [(5, 9), (9, 5), (16, 16)]:
        g = rng.standard_normal(shape).astype(np.float32)
        ref = ns_t(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7).float().numpy()
        np.testing.assert_array_equal(ns_e(g, (3.4445, -4.775, 2.0315), 5, 1e-7), ref)
    z = np.zeros((3, 4), np.float32)   # a zero gradient is divided by eps, not by 0
    np.testing.assert_array_equal(ns_e(z, (3.4445, -4.775, 2.0315), 5, 1e-7), np.zeros((3, 4), np.float32))


def test_bfloat16_rounding_matches_ml_dtypes():
    import ml_dtypes

    from ember.optim.muon import _bf16
    x = np.random.default_rng(0).standard_normal(20000).astype(np.float32) * np.float32(1e3)
    special = np.array([np.inf, -np.inf, np.nan, 3.4e38, 1e-40, 0.0, -0.0], np.float32)
    x = np.concatenate([x, special, np.array([0x7FFFFFFF], np.uint32).view(np.float32)])
    np.testing.assert_array_equal(_bf16(x), x.astype(ml_dtypes.bfloat16).astype(np.float32))


@pytest.mark.parametrize("name,kwargs,shapes", [("Adafactor", dict(weight_decay=0.1), ADAFACTOR_SHAPES),
                                                ("Muon", dict(), MUON_SHAPES)])
def test_state_dict_layout_and_torch_roundtrip(name, kwargs, shapes):
    _, oe = _trajectory(ember, name, kwargs, shapes=shapes, steps=2)
    _, ot = _trajectory(torch, name, kwargs, shapes=shapes, steps=2)
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert list(se["state"]) == list(st["state"])
    for k, s in st["state"].items():
        assert list(se["state"][k]) == list(s)
        for key, v in s.items():
            ev = se["state"][k][key]
            assert tuple(ev.shape) == tuple(v.shape) and repr(ev.dtype) == str(v.dtype), key
            np.testing.assert_allclose(ev.numpy(), v.numpy(), rtol=1e-5, atol=1e-7)
    assert repr(oe) == repr(ot)

    # ember's state in torch's file format loads into torch, and both continue identically
    buf = io.BytesIO()
    ember.save(se, buf)
    buf.seek(0)
    loaded = torch.load(buf)
    pt = _params(torch, "float32", shapes)
    pe = _params(ember, "float32", shapes)
    ot2, oe2 = getattr(torch.optim, name)(pt, **kwargs), getattr(optim, name)(pe, **kwargs)
    ot2.load_state_dict(loaded)
    # and torch's state loads into ember
    buf = io.BytesIO()
    torch.save(st, buf)
    buf.seek(0)
    oe2.load_state_dict(ember.load(buf))
    rng = np.random.default_rng(7)
    for _ in range(2):
        for a, b in zip(pe, pt, strict=True):
            g = rng.standard_normal(tuple(a.shape)).astype(np.float32)
            a.grad, b.grad = ember.tensor(g), torch.tensor(g)
        oe2.step()
        ot2.step()
    for a, b in zip(pe, pt, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert oe2.state_dict()["param_groups"] == ot2.state_dict()["param_groups"]


def test_signatures_match_torch():
    for name in ("Adafactor", "Muon"):
        sig_e = inspect.signature(getattr(optim, name).__init__).parameters.values()
        sig_t = inspect.signature(getattr(torch.optim, name).__init__).parameters.values()
        assert [(p.name, p.kind, p.default) for p in sig_e] == [(p.name, p.kind, p.default) for p in sig_t]


def test_adafactor_state_keys_shapes_and_step_dtype():
    p3 = ember.nn.Parameter(ember.zeros(2, 3, 4))
    p1 = ember.nn.Parameter(ember.zeros(5))
    p3.grad, p1.grad = ember.ones(2, 3, 4), ember.ones(5)
    opt = optim.Adafactor([p3, p1])
    opt.step()
    s3, s1 = opt.state[p3], opt.state[p1]
    assert list(s3) == ["step", "row_var", "col_var"] and list(s1) == ["step", "variance"]
    assert s3["row_var"].shape == (2, 3, 1) and s3["col_var"].shape == (2, 1, 4)
    assert s3["step"].dtype is ember.float32 and s3["step"].item() == 1.0


def _closure_run(lib, name, kwargs):
    rng = np.random.default_rng(5)
    w = lib.nn.Parameter(lib.tensor(rng.standard_normal((3, 4)).astype(np.float32)))
    x = lib.tensor(rng.standard_normal((4, 2)).astype(np.float32))
    opt = getattr(lib.optim, name)([w], **kwargs)

    def closure():
        opt.zero_grad()
        loss = (w @ x).pow(2).sum()
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(4)]
    return losses, w.detach().numpy()


@pytest.mark.parametrize("name,kwargs", [("Adafactor", dict(lr=0.1)), ("Muon", dict(lr=0.05))])
def test_closure_returns_loss_and_trains_like_torch(name, kwargs):
    le, we = _closure_run(ember, name, kwargs)
    lt, wt = _closure_run(torch, name, kwargs)
    np.testing.assert_allclose(le, lt, rtol=1e-5)
    np.testing.assert_allclose(we, wt, rtol=1e-5, atol=1e-6)
    assert le[-1] < le[0]


def test_tensor_lr_and_groups():
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.ones(2, 2))
        p.grad = lib.ones(2, 2)
        lib.optim.Adafactor([p], lr=lib.tensor(0.5)).step()
        lib.optim.Muon([p], lr=lib.tensor(0.5)).step()
    e_groups = optim.Muon([{"params": [ember.nn.Parameter(ember.ones(2, 2))], "lr": 0.5}], momentum=0.9).param_groups
    t_groups = torch.optim.Muon([{"params": [torch.nn.Parameter(torch.ones(2, 2))], "lr": 0.5}],
                                momentum=0.9).param_groups
    assert [{k: v for k, v in g.items() if k != "params"} for g in e_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in t_groups]


def _p(lib, *shape):
    return [lib.nn.Parameter(lib.zeros(*shape))]


@pytest.mark.parametrize("make", [
    lambda lib: lib.optim.Adafactor(_p(lib, 2), lr=-1.0),
    lambda lib: lib.optim.Adafactor(_p(lib, 2), beta2_decay=0.5),
    lambda lib: lib.optim.Adafactor(_p(lib, 2), eps=(-1.0, 1e-3)),
    lambda lib: lib.optim.Adafactor(_p(lib, 2), eps=(None, -1.0)),
    lambda lib: lib.optim.Adafactor(_p(lib, 2), d=0.5),
    lambda lib: lib.optim.Adafactor(_p(lib, 2), weight_decay=-0.1),
    lambda lib: lib.optim.Adafactor(_p(lib, 2), lr=lib.tensor([0.1, 0.2])),
    lambda lib: lib.optim.Adafactor([]),
    lambda lib: lib.optim.Muon(_p(lib, 2, 2), lr=-1.0),
    lambda lib: lib.optim.Muon(_p(lib, 2, 2), momentum=-0.5),
    lambda lib: lib.optim.Muon(_p(lib, 2, 2), weight_decay=-0.5),
    lambda lib: lib.optim.Muon(_p(lib, 2, 2), adjust_lr_fn="bogus"),
    lambda lib: lib.optim.Muon(_p(lib, 3)),
    lambda lib: lib.optim.Muon(_p(lib, 2, 2, 2)),
    lambda lib: lib.optim.Muon(_p(lib, 2, 2), lr=lib.tensor([0.1, 0.2])),
], ids=range(15))
def test_constructor_errors_match_torch(make):
    assert_same_error(lambda: make(ember), lambda: make(torch))


@pytest.mark.parametrize("kwargs", [dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))])
def test_muon_step_errors_match_torch(kwargs):
    def run(lib):
        p = lib.nn.Parameter(lib.ones(2, 3))
        p.grad = lib.ones(2, 3)
        lib.optim.Muon([p], **kwargs).step()
    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_complex_parameters_refused():
    def run(lib, name):
        p = lib.nn.Parameter(lib.ones(2, 2, dtype=lib.complex64))
        p.grad = lib.ones(2, 2, dtype=lib.complex64)
        getattr(lib.optim, name)([p]).step()
    for name in ("Adafactor", "Muon"):
        assert_same_error(lambda n=name: run(ember, n), lambda n=name: run(torch, n))


def test_skips_parameters_without_grad():
    a, b = ember.nn.Parameter(ember.ones(2, 2)), ember.nn.Parameter(ember.ones(2, 2))
    a.grad = ember.ones(2, 2)
    for cls in (optim.Adafactor, optim.Muon):
        opt = cls([a, b])
        opt.step()
        assert b not in opt.state and a in opt.state
        np.testing.assert_array_equal(b.detach().numpy(), np.ones((2, 2), np.float32))


def test_adam_zero_dim_parameter_with_small_beta1():
    # the lerp of the first moment with weight >= 0.5 on a 0-d state (NumPy gives a scalar there)
    out = []
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.tensor(1.0))
        opt = lib.optim.Adam([p], betas=(0.1, 0.999))
        for g in (0.5, -0.25, 2.0):
            p.grad = lib.tensor(g)
            opt.step()
        out.append((p.item(), opt.state[p]["exp_avg"].item(), opt.state[p]["exp_avg_sq"].item()))
    assert out[0] == out[1]



@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_parameters_track_torch(name, dtype):
    # 16-bit parameters: same state dtypes; values within a few ulps of torch's (its scalars stay float32)
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((6, 5)).astype(np.float32)
    grads = [rng.standard_normal((6, 5)).astype(np.float32) for _ in range(3)]
    out = []
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.tensor(p0).to(getattr(lib, dtype)))
        opt = getattr(lib.optim, name)([p], lr=0.05)
        for g in grads:
            p.grad = lib.tensor(g).to(getattr(lib, dtype))
            opt.step()
        out.append((p.detach().float().numpy(), [str(v.dtype).split(".")[-1] for v in opt.state[p].values()]))
    assert out[0][1] == out[1][1]
    ulp = 2.0 ** -7 if dtype == "bfloat16" else 2.0 ** -10
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=2 * ulp, atol=4 * ulp)


def _optimizer_hook_log(lib: Any) -> list:
    """State-dict and load hooks (order, prepend, replacement results, removal) and global step hooks."""
    log: list = []
    lib.manual_seed(0)
    w = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = lib.ones(2)
    opt.step()
    opt.register_state_dict_pre_hook(lambda o: log.append(("sd pre", type(o).__name__)))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd pre first"), prepend=True)
    opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd post", sorted(sd))))
    h = opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    sd = opt.state_dict()
    log.append(sorted(sd))
    h.remove()
    log.append(sorted(opt.state_dict()))

    def pre_load(o: Any, sd: dict) -> dict:
        log.append(("load pre", sorted(sd)))
        sd = dict(sd)
        sd.pop("extra")
        return sd

    opt.register_load_state_dict_pre_hook(pre_load)
    opt.register_load_state_dict_post_hook(lambda o: log.append(("load post", o.param_groups[0]["lr"])))
    sd["param_groups"][0]["lr"] = 0.5
    opt.load_state_dict(sd)
    log.append(("extra kept in caller's dict", "extra" in sd))
    module = sys.modules[f"{lib.__name__}.optim.optimizer"]
    handles = [module.register_optimizer_step_pre_hook(lambda o, a, k: log.append("global pre")),
               opt.register_step_pre_hook(lambda o, a, k: log.append("own pre")),
               opt.register_step_post_hook(lambda o, a, k: log.append("own post")),
               module.register_optimizer_step_post_hook(lambda o, a, k: log.append("global post"))]
    opt.step()
    for handle in handles:
        handle.remove()
    opt.step()
    log.append(w.tolist())
    return log


def test_optimizer_state_dict_and_global_step_hooks_as_torch() -> None:
    assert _optimizer_hook_log(ember) == _optimizer_hook_log(torch)
