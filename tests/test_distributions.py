"""ember.distributions against torch.distributions: samples under one seed, densities, moments, reprs, errors."""

import pytest
import torch
import torch.distributions as td

import ember
import ember.distributions as ed
from oracle import assert_close, assert_same_error, to_ember, to_torch

CASES = [
    ("Normal", lambda m: (m.tensor([0.0, 1.0, -2.0]), m.tensor([1.0, 2.0, 0.5])), {}, [0.5, -1.0, 3.0]),
    ("Uniform", lambda m: (m.tensor([0.0, 1.0, -2.0]), m.tensor([1.0, 2.0, 0.5])), {}, [0.5, 1.5, 0.0]),
    ("Bernoulli", lambda m: (m.tensor([0.3, 0.7, 0.5]),), {}, [1.0, 0.0, 1.0]),
    ("Exponential", lambda m: (m.tensor([0.3, 1.7, 5.0]),), {}, [1.0, 0.0, 2.5]),
    ("Laplace", lambda m: (m.tensor([0.0, 1.0, -2.0]), m.tensor([1.0, 2.0, 0.5])), {}, [0.5, -1.0, 3.0]),
    ("Cauchy", lambda m: (m.tensor([0.0, 1.0, -2.0]), m.tensor([1.0, 2.0, 0.5])), {}, [0.5, -1.0, 3.0]),
    ("Bernoulli", lambda m: (), {"logits": torch.tensor([0.3, -2.0, 1.0])}, [1.0, 0.0, 1.0]),
    ("ContinuousBernoulli", lambda m: (m.tensor([0.2, 0.4995, 0.9]),), {}, [0.3, 0.5, 0.99]),
    ("ContinuousBernoulli", lambda m: (), {"logits": torch.tensor([0.3, -2.0, 0.001])}, [0.3, 0.5, 0.99]),
]


def _make(lib, name, args, kwargs):
    mod = ed if lib is ember else td
    kw = {k: (to_ember(v) if lib is ember else v) for k, v in kwargs.items()}
    return getattr(mod, name)(*args(lib), **kw)


@pytest.mark.parametrize("name,args,kwargs,value", CASES)
@pytest.mark.parametrize("seed", [0, 3])
def test_against_torch(name, args, kwargs, value, seed):
    e, t = _make(ember, name, args, kwargs), _make(torch, name, args, kwargs)
    assert repr(e) == repr(t)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    assert_close(e.sample((2, 1)), t.sample((2, 1)))
    if t.has_rsample:
        assert_close(e.rsample(), t.rsample())
    assert_close(e.sample_n(2), t.sample_n(2))
    v = torch.tensor(value)
    assert_close(e.log_prob(to_ember(v)), t.log_prob(v))
    for attr in ["mean", "variance", "stddev"]:
        assert_close(getattr(e, attr), getattr(t, attr))
    assert_close(e.entropy(), t.entropy())


def test_normal_rsample_and_log_prob_grads():
    loc, scale = torch.tensor([0.0, 1.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    el, es = to_ember(loc, True), to_ember(scale, True)
    ember.manual_seed(5)
    torch.manual_seed(5)
    de, dt = ed.Normal(el, es), td.Normal(loc, scale)
    (de.rsample((3,)).sum() + de.log_prob(ember.tensor([0.2, 0.4])).sum()).backward()
    (dt.rsample((3,)).sum() + dt.log_prob(torch.tensor([0.2, 0.4])).sum()).backward()
    assert_close(el.grad, loc.grad)
    assert_close(es.grad, scale.grad)
    assert_close(de.cdf(ember.tensor([0.3, 0.1])), dt.cdf(torch.tensor([0.3, 0.1])))
    assert_close(de.icdf(ember.tensor([0.3, 0.9])), dt.icdf(torch.tensor([0.3, 0.9])))


def test_validate_args_errors():
    assert_same_error(lambda: ed.Normal(ember.tensor([0.0]), ember.tensor([-1.0])),
                      lambda: td.Normal(torch.tensor([0.0]), torch.tensor([-1.0])))
    assert_same_error(lambda: ed.Uniform(1.0, 0.0), lambda: td.Uniform(1.0, 0.0))
    assert_same_error(lambda: ed.Bernoulli(), lambda: td.Bernoulli())
    assert_same_error(lambda: ed.Normal(0.0, 1.0).log_prob(ember.tensor(float("nan"))),
                      lambda: td.Normal(0.0, 1.0).log_prob(torch.tensor(float("nan"))))
    ed.Normal(ember.tensor([0.0]), ember.tensor([-1.0]), validate_args=False)


def test_bernoulli_enumerate_support():
    e, t = ed.Bernoulli(ember.tensor([0.2, 0.9])), td.Bernoulli(torch.tensor([0.2, 0.9]))
    assert_close(e.enumerate_support(), t.enumerate_support())
    assert_close(e.enumerate_support(expand=False), t.enumerate_support(expand=False))
    _ = to_torch


@pytest.mark.parametrize("name,pa,qa", [
    ("Normal", ([0.0, 1.0], [1.0, 2.0]), ([0.5, -1.0], [0.7, 3.0])),
    ("Uniform", ([0.0, 1.0], [1.0, 2.0]), ("Gamma", [1.0, 2.0], [1.5, 3.0])),   # _x_log_x(0) = 0
    ("Uniform", ([0.0, 0.2], [1.0, 0.5]), ("Beta", [1.0, 2.0], [1.5, 3.0])),
    ("Bernoulli", ([0.2, 0.0, 1.0],), ([0.6, 0.3, 0.4],)),
    ("Exponential", ([0.2, 3.0],), ([0.6, 0.3],)),
    ("Laplace", ([0.0, 1.0], [1.0, 2.0]), ([0.5, -1.0], [0.7, 3.0])),
])
def test_kl_divergence(name, pa, qa):
    qname, qa = (qa[0], qa[1:]) if isinstance(qa[0], str) else (name, qa)
    ep, eq = (getattr(ed, n)(*[ember.tensor(a) for a in args]) for n, args in ((name, pa), (qname, qa)))
    tp, tq = (getattr(td, n)(*[torch.tensor(a) for a in args]) for n, args in ((name, pa), (qname, qa)))
    assert_close(ed.kl_divergence(ep, eq), td.kl_divergence(tp, tq))


def test_kl_not_implemented():
    assert_same_error(lambda: ed.kl_divergence(ed.Bernoulli(0.5), ed.Laplace(0.0, 1.0)),
                      lambda: td.kl_divergence(td.Bernoulli(0.5), td.Laplace(0.0, 1.0)))


def test_continuous_bernoulli_cdf_icdf_expand_and_grads():
    p = torch.tensor([0.2, 0.4995, 0.9], requires_grad=True)
    ep = to_ember(p, True)
    t, e = td.ContinuousBernoulli(p), ed.ContinuousBernoulli(ep)
    v = torch.tensor([0.0, 0.3, 1.0])
    assert_close(e.cdf(to_ember(v)), t.cdf(v))
    assert_close(e.icdf(ember.tensor([0.1, 0.5, 0.7])), t.icdf(torch.tensor([0.1, 0.5, 0.7])))
    torch.manual_seed(0)
    ember.manual_seed(0)
    (t.rsample((2,)).sum() + t.log_prob(torch.tensor([0.3, 0.5, 0.99])).sum()).backward()
    (e.rsample((2,)).sum() + e.log_prob(ember.tensor([0.3, 0.5, 0.99])).sum()).backward()
    assert_close(ep.grad, p.grad, rtol=1e-5)
    assert repr(e.expand((2, 3))) == repr(t.expand((2, 3)))
    assert_same_error(lambda: ed.ContinuousBernoulli(ember.tensor([1.5]), validate_args=True),
                      lambda: td.ContinuousBernoulli(torch.tensor([1.5]), validate_args=True))


@pytest.mark.parametrize("name,args", [("Gamma", ([0.5, 2.0], [1.0, 3.0])), ("Poisson", ([0.5, 2.0],)),
                                       ("ContinuousBernoulli", ([0.2, 0.7],)), ("Normal", ([0.0, 1.0], [1.0, 2.0])),
                                       ("Bernoulli", ([0.3, 0.6],)), ("Exponential", ([0.3, 0.6],))])
def test_exponential_family_entropy_and_bregman_kl(name, args):
    e = getattr(ed, name)(*[ember.tensor(a) for a in args])
    t = getattr(td, name)(*[torch.tensor(a) for a in args])
    assert isinstance(e, ed.ExponentialFamily)
    if name == "Poisson":   # no mean carrier measure: torch raises too
        assert_same_error(lambda: ed.ExponentialFamily.entropy(e), lambda: td.ExponentialFamily.entropy(t))
    else:
        assert_close(ed.ExponentialFamily.entropy(e).detach(), td.ExponentialFamily.entropy(t).detach(), rtol=1e-5)
    from torch.distributions.kl import _kl_expfamily_expfamily as tkl

    from ember.distributions.kl import _kl_expfamily_expfamily as ekl
    eq = getattr(ed, name)(*[ember.tensor(a) * 0.8 for a in args])
    tq = getattr(td, name)(*[torch.tensor(a) * 0.8 for a in args])
    assert_close(ekl(e, eq).detach(), tkl(t, tq).detach(), rtol=1e-5)
    with pytest.raises(NotImplementedError):
        ekl(e, ed.Dirichlet(ember.tensor([1.0, 2.0])))


def test_first_slice_families_expand():
    e, t = ed.Normal(ember.zeros(2), ember.ones(2)), td.Normal(torch.zeros(2), torch.ones(2))
    assert repr(e.expand((3, 2))) == repr(t.expand((3, 2)))


def test_property_parameters_are_validated():
    class Doubled(ed.Normal):   # torch validates a parameter exposed as a property too
        arg_constraints = {"doubled": ed.constraints.positive}

        @property
        def doubled(self):
            return 2 * self.scale

    with pytest.raises(ValueError, match="Expected parameter doubled"):
        Doubled(ember.zeros(1), -ember.ones(1), validate_args=True)


@pytest.mark.parametrize("diag", [-1, 0, 1])
def test_tril_vec_utils(diag):
    from torch.distributions import utils as tu

    from ember.distributions import utils as eu
    m = torch.arange(18.0).reshape(2, 3, 3)
    v = tu.tril_matrix_to_vec(m, diag)
    assert_close(eu.tril_matrix_to_vec(to_ember(m), diag), v)
    assert_close(eu.vec_to_tril_matrix(to_ember(v), diag), tu.vec_to_tril_matrix(v, diag))
    assert_same_error(lambda: eu.tril_matrix_to_vec(to_ember(m), 3), lambda: tu.tril_matrix_to_vec(m, 3))
    assert_same_error(lambda: eu.vec_to_tril_matrix(ember.ones(4)), lambda: tu.vec_to_tril_matrix(torch.ones(4)))
    assert eu.euler_constant == tu.euler_constant


def test_generalized_pareto():
    def mk(m, d, conc=None):
        conc = m.tensor([0.0, 0.3, -0.4]) if conc is None else conc
        return d.GeneralizedPareto(m.tensor([0.0, 1.0, -1.0]), m.tensor([1.0, 2.0, 0.5]), conc)
    e, t = mk(ember, ed), mk(torch, td)
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.rsample((2,)), t.rsample((2,)))
    v = torch.tensor([0.5, 1.5, -0.5])
    for fn in ("log_prob", "cdf", "log_cdf", "log_survival_function", "icdf"):
        arg = torch.tensor([0.1, 0.5, 0.9]) if fn == "icdf" else v
        assert_close(getattr(e, fn)(to_ember(arg)), getattr(t, fn)(arg))
    for attr in ("mean", "variance", "mode"):
        assert_close(getattr(e, attr), getattr(t, attr))
    assert_close(e.entropy(), t.entropy())
    assert repr(e.expand((2, 3))) == repr(t.expand((2, 3)))
    tc = torch.tensor([0.0, 0.3, -0.4], requires_grad=True)
    ec = to_ember(tc, True)
    ember.manual_seed(1)
    torch.manual_seed(1)
    (mk(ember, ed, ec).rsample().sum() + mk(ember, ed, ec).log_prob(to_ember(v)).sum()).backward()
    (mk(torch, td, tc).rsample().sum() + mk(torch, td, tc).log_prob(v).sum()).backward()
    assert_close(ec.grad, tc.grad, rtol=1e-5)


GRAD_CASES = [
    ("Normal", ([0.0, 1.0, -2.0], [1.0, 2.0, 0.5]), [0.5, -1.0, 3.0]),
    ("Uniform", ([0.0, 1.0, -2.0], [1.0, 2.0, 0.5]), [0.5, 1.5, 0.0]),
    ("Exponential", ([0.3, 1.7, 5.0],), [1.0, 0.2, 2.5]),
    ("Laplace", ([0.0, 1.0, -2.0], [1.0, 2.0, 0.5]), [0.5, -1.0, 3.0]),
    ("Cauchy", ([0.0, 1.0, -2.0], [1.0, 2.0, 0.5]), [0.5, -1.0, 3.0]),
    ("Bernoulli", ([0.3, 0.7, 0.5],), [1.0, 0.0, 1.0]),
]


@pytest.mark.parametrize("name,params,value", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_first_slice_gradients(name, params, value):
    """Gradients of rsample / log_prob / entropy / cdf / icdf / moments w.r.t. every parameter, as torch's."""
    tps = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    eps_ = [to_ember(p, True) for p in tps]
    t, e = getattr(td, name)(*tps), getattr(ed, name)(*eps_)
    v = torch.tensor(value, dtype=torch.float64)
    rng = torch.Generator().manual_seed(0)

    def total(d, lib, val):  # noqa: ANN001, ANN202
        out = d.log_prob(val) + d.entropy() + d.mean + d.variance
        if name != "Bernoulli":
            q = val.new_tensor([0.2, 0.5, 0.9])
            out = out + d.cdf(val.clamp(min=0.0) if name == "Exponential" else val) + d.icdf(q)
        if d.has_rsample:
            lib.manual_seed(3)
            out = out + d.rsample()
        return out

    cot = torch.randn(3, generator=rng, dtype=torch.float64)
    if name == "Uniform":   # values must lie in [low, high)
        v = torch.tensor([0.5, 1.5, 0.0], dtype=torch.float64)
    total(t, torch, v).backward(cot)
    total(e, ember, to_ember(v)).backward(to_ember(cot))
    for a, b in zip(eps_, tps, strict=True):
        assert_close(a.grad, b.grad)


@pytest.mark.parametrize("name,params,value", GRAD_CASES[:5], ids=[c[0] for c in GRAD_CASES[:5]])
def test_first_slice_gradcheck(name, params, value):
    v = ember.tensor(value, dtype=ember.float64)

    def fn(*ps):  # noqa: ANN002, ANN202
        ember.manual_seed(1)
        d = getattr(ed, name)(*ps, validate_args=False)
        return d.rsample((2,)).sum(0) + d.log_prob(v) + d.entropy()

    args = tuple(ember.tensor(p, dtype=ember.float64, requires_grad=True) for p in params)
    assert ember.autograd.gradcheck(fn, args)
