"""optim against torch: update trajectories of every optimizer option, state_dict layout and round trip,
param groups, errors, hooks; lr_scheduler learning-rate sequences and state_dicts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.optim as optim
from oracle import assert_same_error, torch

L_e, L_t = optim.lr_scheduler, torch.optim.lr_scheduler


def _params(lib, dtype):
    rng = np.random.default_rng(0)
    P = nn.Parameter if lib is ember else torch.nn.Parameter
    return [P(lib.tensor(rng.standard_normal(s).astype(dtype))) for s in [(4, 3), (3,)]]


def _trajectory(lib, name, kwargs, dtype="float32", steps=5):
    params = _params(lib, dtype)
    opt = getattr(lib.optim, name)(params, **kwargs)
    rng = np.random.default_rng(1)
    out = []
    for _ in range(steps):
        for p in params:
            p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype))
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out, opt


# every option, combined pairwise where it matters; sqrt in torch's float32 kernels is not correctly rounded,
# so float32 runs of sqrt-based optimizers are compared to within a few ulps, everything else bit for bit
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, maximize=True, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.5, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.9, 0.5))),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, t0=2, lambd=0.01, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(name, kwargs, dtype):
    e, _ = _trajectory(ember, name, kwargs, dtype)
    t, _ = _trajectory(torch, name, kwargs, dtype)
    exact = name in ("SGD", "Adamax", "ASGD", "Rprop") or dtype == "float64"
    for step_e, step_t in zip(e, t, strict=True):
        for a, b in zip(step_e, step_t, strict=True):
            if exact:
                np.testing.assert_allclose(a, b, rtol=1e-15 if dtype == "float64" else 0, atol=0)
            else:
                np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=[n for n, _ in CASES[::3]])
def test_state_dict_layout_and_roundtrip(name, kwargs):
    _, oe = _trajectory(ember, name, kwargs, steps=2)
    _, ot = _trajectory(torch, name, kwargs, steps=2)
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert list(se["state"]) == list(st["state"])
    for k in st["state"]:
        assert list(se["state"][k]) == list(st["state"][k])
        for key, v in st["state"][k].items():
            ev = se["state"][k][key]
            assert tuple(ev.shape) == tuple(v.shape) and repr(ev.dtype) == str(v.dtype), key
            np.testing.assert_allclose(ev.numpy(), v.numpy(), rtol=1e-5, atol=1e-7)
    # a fresh optimizer loading the state continues exactly like the original
    params = _params(ember, "float32")
    fresh = getattr(optim, name)(params, **kwargs)
    fresh.load_state_dict(se)
    assert fresh.state_dict()["param_groups"] == se["param_groups"]
    assert all(
        fresh.state[p].keys() == oe.state[q].keys()
        for p, q in zip(params, oe.param_groups[0]["params"], strict=True)
    )


def test_param_groups_defaults_repr_and_add_group():
    pe, pt = _params(ember, "float32"), _params(torch, "float32")
    oe = optim.SGD([{"params": pe[:1]}, {"params": pe[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    ot = torch.optim.SGD([{"params": pt[:1]}, {"params": pt[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert repr(oe) == repr(ot)
    assert [{k: v for k, v in g.items() if k != "params"} for g in oe.param_groups] == [
        {k: v for k, v in g.items() if k != "params"} for g in ot.param_groups
    ]
    extra = nn.Parameter(ember.ones(2))
    oe.add_param_group({"params": extra, "momentum": 0.1})
    assert oe.param_groups[-1]["lr"] == 0.1 and oe.param_groups[-1]["momentum"] == 0.1
    assert oe.state_dict()["param_groups"][-1]["params"] == [2]
    assert_same_error(
        lambda: oe.add_param_group({"params": pe[:1]}), lambda: ot.add_param_group({"params": pt[:1]})
    )


@pytest.mark.parametrize(
    "case", ["empty", "tensor", "set", "non_tensor", "non_leaf", "lr", "betas", "nesterov"]
)
def test_constructor_errors_match_torch(case):
    def run(lib):
        p = (nn.Parameter if lib is ember else torch.nn.Parameter)(lib.ones(2))
        if case == "empty":
            lib.optim.SGD([], lr=0.1)
        elif case == "tensor":
            lib.optim.SGD(p, lr=0.1)
        elif case == "set":
            lib.optim.SGD([p], lr=0.1).add_param_group({"params": {p}})
        elif case == "non_tensor":
            lib.optim.SGD([1], lr=0.1)
        elif case == "non_leaf":
            lib.optim.SGD([p * 2], lr=0.1)
        elif case == "lr":
            lib.optim.Adam([p], lr=-1)
        elif case == "betas":
            lib.optim.Adam([p], betas=(0.9, 1.0))
        else:
            lib.optim.SGD([p], lr=0.1, nesterov=True)

    assert_same_error(lambda: run(ember), lambda: run(torch))


def test_load_state_dict_errors_match_torch():
    oe = optim.SGD(_params(ember, "float32"), lr=0.1)
    ot = torch.optim.SGD(_params(torch, "float32"), lr=0.1)
    bad = {"state": {}, "param_groups": [{"params": [0], "lr": 0.1}]}
    assert_same_error(lambda: oe.load_state_dict(bad), lambda: ot.load_state_dict(bad))
    bad2 = {"state": {}, "param_groups": []}
    assert_same_error(lambda: oe.load_state_dict(bad2), lambda: ot.load_state_dict(bad2))


def test_zero_grad_closure_and_hooks():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    h = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0 and calls == ["pre", "post"]
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    h.remove()
    opt.step(closure)
    assert calls == ["pre", "post", "pre"]
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.abs().sum().item() == 0
    opt.zero_grad()
    assert p.grad is None


def test_step_updates_in_place_and_skips_missing_grads():
    a, b = nn.Parameter(ember.ones(2)), nn.Parameter(ember.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    version, ptr = a._version, a.data_ptr()
    a.grad = ember.ones(2)
    opt.step()
    assert a._version > version and a.data_ptr() == ptr
    assert b.detach().tolist() == [1.0, 1.0] and b not in opt.state


# ---- schedulers ----------------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (e + 1))),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.95)),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
    ("LinearLR", dict(start_factor=0.25, total_iters=4)),
    ("PolynomialLR", dict(total_iters=6, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=3, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, mode="exp_range", gamma=0.9)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=13)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=13, anneal_strategy="linear", three_phase=True)),
]


def _lr_sequence(lib, name, kwargs, opt_name="SGD", steps=12):
    p = (nn.Parameter if lib is ember else torch.nn.Parameter)(lib.ones(1))
    opt = getattr(lib.optim, opt_name)([p], lr=0.1, **({"momentum": 0.9} if opt_name == "SGD" else {}))
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    lrs, moms = [sched.get_last_lr()], []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        g = opt.param_groups[0]
        moms.append(g["momentum"] if "momentum" in g else g["betas"][0])
    return lrs, moms, sched.state_dict()


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_sequence_and_state_dict_match_torch(name, kwargs):
    le, me, se = _lr_sequence(ember, name, kwargs)
    lt, mt, st = _lr_sequence(torch, name, kwargs)
    assert le == lt and me == mt
    assert list(se) == list(st)
    assert {k: v for k, v in se.items() if k != "lr_lambdas"} == {
        k: v for k, v in st.items() if k != "lr_lambdas"
    }


def test_one_cycle_with_adam_cycles_beta1():
    le, me, _ = _lr_sequence(ember, "OneCycleLR", dict(max_lr=0.01, total_steps=12), opt_name="Adam")
    lt, mt, _ = _lr_sequence(torch, "OneCycleLR", dict(max_lr=0.01, total_steps=12), opt_name="Adam")
    assert le == lt and me == mt


def _composite(lib, kind):
    p = (nn.Parameter if lib is ember else torch.nn.Parameter)(lib.ones(1))
    opt = lib.optim.SGD([p], lr=0.1)
    L = lib.optim.lr_scheduler
    if kind == "sequential":
        s = L.SequentialLR(
            opt, [L.LinearLR(opt, start_factor=0.1, total_iters=3), L.ExponentialLR(opt, 0.8)], milestones=[3]
        )
    else:
        s = L.ChainedScheduler([L.ConstantLR(opt, factor=0.5, total_iters=2), L.ExponentialLR(opt, 0.9)])
    out = [s.get_last_lr()]
    for _ in range(8):
        opt.step()
        s.step()
        out.append(s.get_last_lr())
    return out, s.state_dict()


@pytest.mark.parametrize("kind", ["sequential", "chained"])
def test_composite_schedulers_match_torch(kind):
    oe, se = _composite(ember, kind)
    ot, st = _composite(torch, kind)
    assert oe == ot and se == st


def test_reduce_lr_on_plateau_matches_torch():
    def run(lib, **kw):
        p = (nn.Parameter if lib is ember else torch.nn.Parameter)(lib.ones(1))
        opt = lib.optim.SGD([p], lr=1.0)
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        out = []
        for metric in [5, 4, 4, 4, 4, 3.99, 3.99, 3.99, 3.99, 3.99, 2, 2, 2, 2]:
            s.step(metric)
            out.append(s.get_last_lr())
        return out, s.state_dict()

    for kw in [
        dict(patience=2),
        dict(mode="max", factor=0.5, patience=1, threshold_mode="abs", cooldown=2, min_lr=0.2),
    ]:
        assert run(ember, **kw) == run(torch, **kw)


def test_scheduler_warnings_and_errors():
    p = nn.Parameter(ember.ones(1))
    opt = optim.SGD([p], lr=0.1)
    sched = L_e.StepLR(opt, 2)
    with pytest.warns(
        UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"
    ):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    with pytest.raises(TypeError, match="int is not an Optimizer"):
        L_e.StepLR(3, 2)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified"):
        L_e.StepLR(optim.SGD([nn.Parameter(ember.ones(1))], lr=0.1), 2, last_epoch=3)
    sched2 = L_e.StepLR(opt, 2)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.last_epoch == sched.last_epoch


def _lbfgs_run(lib, line_search, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 5)).astype(dtype)
    b = rng.standard_normal(20).astype(dtype)
    x = (nn.Parameter if lib is ember else torch.nn.Parameter)(lib.tensor(np.full(5, 0.5, dtype)))
    opt = lib.optim.LBFGS([x], history_size=4, max_iter=15, line_search_fn=line_search)
    a_t, b_t = lib.tensor(a), lib.tensor(b)

    def closure():
        opt.zero_grad()
        r = a_t @ x - b_t
        loss = (r * r).sum() + (x**4).sum()
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(3)]
    state = opt.state[x]
    return losses, x.detach().numpy(), state["func_evals"], state["n_iter"], list(state)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(line_search):
    e = _lbfgs_run(ember, line_search, "float64")
    t = _lbfgs_run(torch, line_search, "float64")
    np.testing.assert_allclose(e[0], t[0], rtol=1e-12)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-10, atol=1e-12)
    assert e[2:] == t[2:]
    e32, t32 = _lbfgs_run(ember, line_search, "float32"), _lbfgs_run(torch, line_search, "float32")
    np.testing.assert_allclose(e32[0], t32[0], rtol=1e-5)


def test_lbfgs_errors():
    p = nn.Parameter(ember.ones(2))
    assert_same_error(
        lambda: optim.LBFGS([{"params": [p]}, {"params": [nn.Parameter(ember.ones(1))]}]),
        lambda: torch.optim.LBFGS(
            [{"params": [torch.nn.Parameter(torch.ones(2))]}, {"params": [torch.nn.Parameter(torch.ones(1))]}]
        ),
    )
    opt = optim.LBFGS([p], line_search_fn="foo")

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


def test_adam_capturable_needs_gpu_parameters() -> None:
    """capturable=True keeps the step count on the parameters' accelerator; CPU parameters are refused."""
    def run(lib: Any) -> None:
        m = lib.nn.Linear(2, 2)
        o = lib.optim.Adam(m.parameters(), capturable=True)
        m(lib.ones(1, 2)).sum().backward()
        o.step()
    assert_same_error(lambda: run(ember), lambda: run(torch))
