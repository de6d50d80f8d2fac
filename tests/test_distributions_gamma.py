"""Gamma-based families (Gamma, Chi2, Beta, Dirichlet, StudentT) and their samplers against torch: the
same numbers under one seed, reparameterised gradients, densities, moments, errors and KL divergences."""

import functools

import pytest
import torch
import torch.distributions as td

import ember
import ember.distributions as ed
from ember.distributions import _samplers as S
from oracle import assert_close, assert_same_error, to_ember


def _same_stream(fe, ft, seed=0):
    """``fe``/``ft`` under one seed (``None``: as the generators stand) give identical values and leave the
    generators in step (cached normal too)."""
    if seed is not None:
        ember.manual_seed(seed)
        torch.manual_seed(seed)
    assert_close(fe(), ft(), rtol=0, atol=0)
    assert_close(ember.randn(3), torch.randn(3), rtol=0, atol=0)
    assert_close(ember.rand(2), torch.rand(2), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("low,high", [(0.01, 1.0), (0.5, 3.0), (1.0, 200.0)])
def test_standard_gamma_stream(dtype, low, high):
    alpha = torch.empty(6, 40, dtype=dtype).uniform_(low, high, generator=torch.Generator().manual_seed(1))
    _same_stream(lambda: S._standard_gamma(to_ember(alpha)), lambda: torch._standard_gamma(alpha))
    t = alpha.t()   # a non-contiguous input: drawn in the output's (C) order
    _same_stream(lambda: S._standard_gamma(to_ember(alpha).t()), lambda: torch._standard_gamma(t), seed=4)


def test_standard_gamma_edges():
    a = torch.tensor([0.0, 1e-30, 0.5])
    _same_stream(lambda: S._standard_gamma(to_ember(a)), lambda: torch._standard_gamma(a))
    for a in (torch.tensor(2.0), torch.tensor([]), torch.ones(1, 0)):
        _same_stream(lambda a=a: S._standard_gamma(to_ember(a)), lambda a=a: torch._standard_gamma(a))
        _same_stream(lambda a=a: S._sample_dirichlet(to_ember(a)), lambda a=a: torch._sample_dirichlet(a))
    _same_stream(lambda: S.binomial(ember.tensor(5.0), ember.tensor(0.5)),
                 lambda: torch.binomial(torch.tensor(5.0), torch.tensor(0.5)))
    g = torch.Generator().manual_seed(3)
    eg = ember.Generator().manual_seed(3)
    assert_close(S._standard_gamma(ember.ones(5), generator=eg), torch._standard_gamma(torch.ones(5), generator=g))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [2, 5, 9])
def test_sample_dirichlet_stream(dtype, k):
    alpha = torch.empty(20, k, dtype=dtype).uniform_(0.05, 6.0, generator=torch.Generator().manual_seed(2))
    _same_stream(lambda: S._sample_dirichlet(to_ember(alpha)), lambda: torch._sample_dirichlet(alpha))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gamma_and_dirichlet_grads(dtype):
    alpha = torch.tensor([0.05, 0.3, 0.9, 1.0, 2.5, 5.0, 9.0, 20.0, 300.0], dtype=dtype).repeat_interleave(5)
    torch.manual_seed(0)
    x = torch._standard_gamma(alpha)
    x = torch.cat([x, alpha * 0.95, alpha * 1.5])
    a3 = alpha.repeat(3)
    assert_close(S._standard_gamma_grad(to_ember(a3), to_ember(x)), torch._standard_gamma_grad(a3, x), rtol=0, atol=0)
    conc = torch.tensor([[0.3, 0.5, 2.0], [7.0, 8.0, 9.0], [0.1, 20.0, 1.0], [1.5, 3.5, 0.7]], dtype=dtype)
    conc = torch.cat([conc.repeat(10, 1), torch.exp(2 * torch.randn(60, 3, generator=torch.Generator().manual_seed(4),
                                                                      dtype=dtype))])
    xs = torch._sample_dirichlet(conc)
    tot = conc.sum(-1, True).expand_as(conc)
    assert_close(S._dirichlet_grad(to_ember(xs), to_ember(conc), to_ember(tot)),
                 torch._dirichlet_grad(xs, conc, tot), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_grads_bitwise_over_every_branch(dtype):
    """Many points over every case of both gradients (and edge values): torch's scalar kernel calls glibc's
    log/exp/pow (logf/powf in float), which NumPy's SIMD ufuncs do not reproduce bit for bit on every CPU."""
    g = torch.Generator().manual_seed(7)
    alpha = torch.exp(torch.empty(2000, dtype=dtype).uniform_(-5, 7, generator=g))
    x = alpha * torch.exp(torch.randn(2000, generator=g, dtype=dtype))
    x[:500] = torch.rand(500, generator=g, dtype=dtype)
    alpha = torch.cat([alpha, torch.tensor([1.0, 1.0, 1e-3, 9.0, 9.0, 2.0], dtype=dtype)])
    x = torch.cat([x, torch.tensor([0.0, float("inf"), 1e-30, 9.0, 1e30, float("nan")], dtype=dtype)])
    assert_close(S._standard_gamma_grad(to_ember(alpha), to_ember(x)), torch._standard_gamma_grad(alpha, x),
                 rtol=0, atol=0)
    conc = torch.exp(torch.empty(500, 4, dtype=dtype).uniform_(-3, 4, generator=g))
    xs = torch._sample_dirichlet(conc, generator=g)
    tot = conc.sum(-1, True).expand_as(conc)
    assert_close(S._dirichlet_grad(to_ember(xs), to_ember(conc), to_ember(tot)), torch._dirichlet_grad(xs, conc, tot),
                 rtol=0, atol=0)


def test_sampler_errors():
    assert_same_error(lambda: S._standard_gamma(ember.tensor([1, 2])),
                      lambda: torch._standard_gamma(torch.tensor([1, 2])))
    assert_same_error(lambda: S._sample_dirichlet(ember.tensor([1, 2])),
                      lambda: torch._sample_dirichlet(torch.tensor([1, 2])))
    assert_same_error(lambda: S._standard_gamma_grad(ember.ones(2), ember.ones(2, dtype=ember.float64)),
                      lambda: torch._standard_gamma_grad(torch.ones(2), torch.ones(2, dtype=torch.float64)))


def test_standard_gamma_backward():
    a = torch.tensor([0.4, 1.5, 12.0], dtype=torch.float64, requires_grad=True)
    ea = to_ember(a, True)
    torch.manual_seed(1)
    ember.manual_seed(1)
    xt, xe = torch._standard_gamma(a), S._standard_gamma(ea)
    assert type(xe.grad_fn).__name__ == type(xt.grad_fn).__name__ == "StandardGammaBackward0"
    (xt * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    (xe * ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)).sum().backward()
    assert_close(ea.grad, a.grad)


CASES = [  # name, args builder, value in the support
    ("Gamma", lambda m: (m.tensor([0.4, 1.0, 3.0]), m.tensor([1.0, 2.0, 0.5])), [0.5, 1.0, 3.0]),
    ("Gamma", lambda m: (2.0, m.tensor([1.0, 2.0])), [0.2, 4.0]),
    ("Chi2", lambda m: (m.tensor([0.7, 3.0, 10.0]),), [0.5, 1.0, 3.0]),
    ("Beta", lambda m: (m.tensor([0.4, 1.0, 3.0]), m.tensor([1.0, 2.0, 0.5])), [0.5, 0.1, 0.9]),
    ("Beta", lambda m: (0.5, 2.0), 0.3),
    ("Dirichlet", lambda m: (m.tensor([[0.4, 1.0, 3.0], [2.0, 2.0, 5.0]]),), [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]),
    ("StudentT", lambda m: (m.tensor([0.7, 2.5, 4.0]), m.tensor([0.0, 1.0, -1.0]), m.tensor([1.0, 2.0, 0.5])),
     [0.5, -1.0, 3.0]),
]


@pytest.mark.parametrize("name,args,value", CASES)
def test_against_torch(name, args, value):
    e, t = getattr(ed, name)(*args(ember)), getattr(td, name)(*args(torch))
    assert repr(e) == repr(t)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    assert repr(e.support) == repr(t.support) and e.has_rsample == t.has_rsample
    for seed in (0, 5):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        assert_close(e.sample((3,)), t.sample((3,)), rtol=0, atol=0)
        assert_close(e.rsample(), t.rsample(), rtol=0, atol=0)
    v = torch.tensor(value)
    assert_close(e.log_prob(to_ember(v)), t.log_prob(v), rtol=1e-5)
    for attr in ["mean", "mode", "variance", "stddev"]:
        assert_close(getattr(e, attr), getattr(t, attr), rtol=1e-5)
    assert_close(e.entropy(), t.entropy(), rtol=1e-5, atol=1e-5)
    if name in ("Gamma", "Chi2"):
        assert_close(e.cdf(to_ember(v)), t.cdf(v), rtol=1e-5)
    shape = (2,) + tuple(t.batch_shape)
    ex, tx = e.expand(shape), t.expand(shape)
    assert ex.batch_shape == tx.batch_shape and repr(ex) == repr(tx)
    ember.manual_seed(1)
    torch.manual_seed(1)
    assert_close(ex.sample(), tx.sample(), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["Gamma", "Beta", "Dirichlet", "StudentT", "Chi2"])
def test_rsample_and_log_prob_grads(name):
    raw = {"Gamma": ([0.4, 3.0], [1.0, 2.0]), "Beta": ([0.4, 3.0], [1.0, 2.0]), "Chi2": ([0.7, 5.0],),
           "Dirichlet": ([[0.4, 1.0, 3.0], [2.0, 0.3, 5.0]],), "StudentT": ([2.5, 4.0], [0.0, 1.0], [1.0, 2.0])}[name]
    tp = [torch.tensor(r, dtype=torch.float64, requires_grad=True) for r in raw]
    ep = [to_ember(p, True) for p in tp]
    torch.manual_seed(2)
    ember.manual_seed(2)
    dt, de = getattr(td, name)(*tp), getattr(ed, name)(*ep)
    xt, xe = dt.rsample((3,)), de.rsample((3,))
    w = torch.linspace(0.5, 2.0, xt.numel(), dtype=torch.float64).reshape(xt.shape)
    (xt * w).sum().backward(retain_graph=True)
    (xe * to_ember(w)).sum().backward(retain_graph=True)
    for a, b in zip(ep, tp, strict=True):
        assert_close(a.grad, b.grad, rtol=1e-6)
        a.grad = b.grad = None
    dt.log_prob(xt.detach()).sum().backward()
    de.log_prob(xe.detach()).sum().backward()
    for a, b in zip(ep, tp, strict=True):
        assert_close(a.grad, b.grad, rtol=1e-6)
    if name == "Dirichlet":
        assert type(xe.grad_fn).__name__ == type(xt.grad_fn).__name__


def test_errors():
    m = {ed: ember, td: torch}
    cases = [
        lambda d: d.Gamma(m[d].tensor([-1.0]), 1.0),
        lambda d: d.Chi2(-1.0),
        lambda d: d.Beta(-1.0, 1.0),
        lambda d: d.Beta(m[d].tensor([1.0, 2.0]), m[d].tensor([-1.0, 2.0])),
        lambda d: d.Dirichlet(m[d].tensor(1.0)),
        lambda d: d.Dirichlet(m[d].tensor([1.0, -2.0])),
        lambda d: d.Dirichlet(m[d].tensor([1.0, 2.0])).log_prob(m[d].tensor([0.5, 0.6])),
        lambda d: d.StudentT(m[d].tensor([0.0])),
        lambda d: d.Gamma(1.0, 1.0).log_prob(m[d].tensor([-1.0])),
        lambda d: d.Beta(1.0, 1.0).log_prob(m[d].tensor([1.5])),
    ]
    for f in cases:
        assert_same_error(lambda f=f: f(ed), lambda f=f: f(td))


class _MyGamma(ed.Gamma):
    def __init__(self, c):
        super().__init__(c, 1.0)


def test_expand_requires_override_for_custom_init():
    with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
        _MyGamma(ember.tensor([1.0])).expand((2,))


P = {"Gamma": ([0.4, 3.0], [1.0, 2.0]), "Beta": ([0.4, 3.0], [1.0, 2.0]), "Dirichlet": ([[0.4, 1.0], [2.0, 0.3]],),
     "Normal": ([0.3, -1.0], [1.0, 2.0]), "Exponential": ([0.5, 2.0],), "Uniform": ([0.1, 0.2], [0.7, 0.9]),
     "Laplace": ([0.3, -1.0], [1.0, 2.0]), "Cauchy": ([0.3, -1.0], [1.0, 2.0]), "Chi2": ([0.7, 5.0],),
     "ContinuousBernoulli": ([0.2, 0.4995],)}
Q = {"Gamma": ([1.5, 0.7], [0.5, 1.0]), "Beta": ([1.2, 0.5], [0.3, 2.0]), "Dirichlet": ([[1.4, 0.2], [0.6, 3.0]],),
     "Normal": ([0.1, 0.5], [0.7, 1.5]), "Exponential": ([1.5, 0.2],), "Uniform": ([-1.0, 0.1], [2.0, 0.95]),
     "Laplace": ([0.1, 0.5], [0.7, 1.5]), "Cauchy": ([0.1, 0.5], [0.7, 1.5]), "Chi2": ([1.5, 2.0],),
     "ContinuousBernoulli": ([0.7, 0.3],)}
PAIRS = [("Gamma", "Gamma"), ("Beta", "Beta"), ("Dirichlet", "Dirichlet"), ("Uniform", "Uniform"),
         ("Cauchy", "Cauchy"), ("Chi2", "Gamma"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"),
         ("Beta", "Uniform"), ("Exponential", "Beta"), ("Exponential", "Gamma"), ("Exponential", "Normal"),
         ("Exponential", "Uniform"), ("Gamma", "Beta"), ("Gamma", "Exponential"), ("Gamma", "Normal"),
         ("Gamma", "Uniform"), ("Laplace", "Normal"), ("Laplace", "Gamma"), ("Normal", "Laplace"),
         ("Normal", "Beta"), ("Uniform", "Beta"), ("Uniform", "Exponential"), ("Uniform", "Gamma"),
         ("Uniform", "Normal"), ("ContinuousBernoulli", "ContinuousBernoulli"), ("Beta", "ContinuousBernoulli"),
         ("ContinuousBernoulli", "Exponential"), ("ContinuousBernoulli", "Normal"), ("ContinuousBernoulli", "Uniform"),
         ("Uniform", "ContinuousBernoulli"), ("Gamma", "ContinuousBernoulli"), ("Normal", "ContinuousBernoulli")]


@pytest.mark.parametrize("pn,qn", PAIRS)
def test_kl_divergence(pn, qn):
    def mk(mod, lib, name, args):
        return getattr(mod, name)(*[lib.tensor(a) for a in args])
    got = ed.kl_divergence(mk(ed, ember, pn, P[pn]), mk(ed, ember, qn, Q[qn]))
    want = td.kl_divergence(mk(td, torch, pn, P[pn]), mk(td, torch, qn, Q[qn]))
    assert_close(got, want, rtol=1e-5)


def test_fisher_snedecor():
    def mk(lib, mod, df1=None):
        df1 = lib.tensor([0.7, 3.0, 8.0]) if df1 is None else df1
        return mod.FisherSnedecor(df1, lib.tensor([1.5, 6.0, 10.0]))
    e, t = mk(ember, ed), mk(torch, td)
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.rsample((2,)), t.rsample((2,)), rtol=0, atol=0)
    assert_close(e.sample(), t.sample(), rtol=0, atol=0)
    for attr in ["mean", "mode", "variance"]:
        assert_close(getattr(e, attr), getattr(t, attr))
    v = torch.tensor([0.5, 1.0, 2.0])
    assert_close(e.log_prob(to_ember(v)), t.log_prob(v), rtol=1e-5)
    assert repr(e.expand((2, 3))) == repr(t.expand((2, 3)))
    tdf = torch.tensor([0.7, 3.0, 8.0], requires_grad=True)
    edf = to_ember(tdf, True)
    e, t = mk(ember, ed, edf), mk(torch, td, tdf)
    ember.manual_seed(3)
    torch.manual_seed(3)
    e.rsample().sum().backward()
    t.rsample().sum().backward()
    assert_close(edf.grad, tdf.grad, rtol=1e-5)


def test_mixture_same_family():
    def mk(lib, mod):
        comp = mod.Gamma(lib.tensor([[0.5, 1.0], [2.0, 3.0]]), lib.tensor([[1.0, 2.0], [1.0, 1.0]]))
        return mod.MixtureSameFamily(mod.Categorical(lib.tensor([[0.3, 0.7], [0.5, 0.5]])), comp)
    e, t = mk(ember, ed), mk(torch, td)
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.sample((3,)), t.sample((3,)), rtol=0, atol=0)
    v = torch.tensor([0.5, 1.0])
    assert_close(e.log_prob(to_ember(v)), t.log_prob(v))
    assert_close(e.cdf(to_ember(v)), t.cdf(v), rtol=1e-5)
    assert_close(e.mean, t.mean)
    assert_close(e.variance, t.variance)
    ex, tx = e.expand((4, 2)), t.expand((4, 2))
    assert ex.batch_shape == tx.batch_shape and repr(ex) == repr(tx)
    assert_same_error(lambda: ed.MixtureSameFamily(ed.Categorical(ember.ones(3)), ed.Gamma(ember.ones(2), 1.0)),
                      lambda: td.MixtureSameFamily(td.Categorical(torch.ones(3)), td.Gamma(torch.ones(2), 1.0)))
    assert_same_error(lambda: ed.MixtureSameFamily(ed.Gamma(ember.ones(2), 1.0), ed.Gamma(ember.ones(2), 1.0)),
                      lambda: td.MixtureSameFamily(td.Gamma(torch.ones(2), 1.0), td.Gamma(torch.ones(2), 1.0)))


COV = [[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]]


@pytest.mark.parametrize("kw", ["covariance_matrix", "precision_matrix", "scale_tril"])
@pytest.mark.filterwarnings("ignore:Singular sample detected")
def test_wishart(kw):
    cov = torch.tensor([COV, COV])
    m = torch.linalg.cholesky(cov) if kw == "scale_tril" else cov
    df = torch.tensor([4.0, 6.5], dtype=torch.float64, requires_grad=True)
    edf = to_ember(df, True)
    t = td.Wishart(df, **{kw: m.double()})
    e = ed.Wishart(edf, **{kw: to_ember(m.double())})
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    torch.manual_seed(0)
    ember.manual_seed(0)
    xt, xe = t.rsample((2,)), e.rsample((2,))
    assert_close(xe, xt)
    torch.manual_seed(1)   # torch's rsample redraws valid samples in place (no backward): check the Bartlett draw
    ember.manual_seed(1)
    t._bartlett_sampling((2,)).sum().backward()
    e._bartlett_sampling((2,)).sum().backward()
    assert_close(edf.grad, df.grad)
    assert_close(e.log_prob(xe.detach()), t.log_prob(xt.detach()))
    for attr in ["mean", "mode", "variance"]:
        assert_close(getattr(e, attr), getattr(t, attr))
    assert_close(e.entropy(), t.entropy())
    assert repr(e.expand((3, 2))) == repr(t.expand((3, 2)))


def test_wishart_errors():
    m = {ed: ember, td: torch}
    for f in (lambda d: d.Wishart(2.0, covariance_matrix=m[d].eye(3)),
              lambda d: d.Wishart(4.0),
              lambda d: d.Wishart(4.0, covariance_matrix=m[d].ones(3)),
              lambda d: d.Wishart(4.0, covariance_matrix=m[d].tensor([[1.0, 2.0], [2.0, 1.0]]))):
        assert_same_error(lambda f=f: f(ed), lambda f=f: f(td))


@pytest.mark.parametrize("conc", [0.5, 2.0])
def test_lkj_cholesky(conc):
    t, e = td.LKJCholesky(3, torch.tensor([conc, 1.0])), ed.LKJCholesky(3, ember.tensor([conc, 1.0]))
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    torch.manual_seed(1)
    ember.manual_seed(1)
    xt, xe = t.sample((2,)), e.sample((2,))
    assert_close(xe, xt)
    assert_close(e.log_prob(xe), t.log_prob(xt), rtol=1e-5)
    assert repr(e.expand((4, 2))) == repr(t.expand((4, 2)))
    assert_same_error(lambda: ed.LKJCholesky(1), lambda: td.LKJCholesky(1))


def test_inverse_gamma():
    from ember.distributions.inverse_gamma import InverseGamma

    tc = torch.tensor([0.5, 1.5, 3.0], requires_grad=True)
    ec = to_ember(tc, True)
    t, e = td.InverseGamma(tc, torch.tensor([1.0, 2.0, 0.5])), InverseGamma(ec, ember.tensor([1.0, 2.0, 0.5]))
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    ember.manual_seed(0)
    torch.manual_seed(0)
    xt, xe = t.rsample((2,)), e.rsample((2,))
    assert_close(xe, xt, rtol=0, atol=0)
    v = torch.tensor([0.5, 1.0, 3.0])
    (xt.sum() + t.log_prob(v).sum()).backward()
    (xe.sum() + e.log_prob(to_ember(v)).sum()).backward()
    assert_close(ec.grad, tc.grad, rtol=1e-5)
    for attr in ("mean", "mode", "variance"):
        assert_close(getattr(e, attr), getattr(t, attr))
    assert_close(e.entropy(), t.entropy())
    assert repr(e.expand((2, 3))) == repr(t.expand((2, 3)))
    assert_same_error(lambda: InverseGamma(ember.tensor([-1.0]), 1.0),
                      lambda: td.InverseGamma(torch.tensor([-1.0]), 1.0))


def test_modes_with_small_concentrations():
    e = ed.Dirichlet(ember.tensor([[0.5, 0.2, 0.9], [2.0, 3.0, 0.5]]))
    t = td.Dirichlet(torch.tensor([[0.5, 0.2, 0.9], [2.0, 3.0, 0.5]]))
    assert_close(e.mode, t.mode)
    e, t = ed.Beta(ember.tensor([0.5, 2.0, 0.3]), ember.tensor([0.5, 0.7, 0.2])), td.Beta(
        torch.tensor([0.5, 2.0, 0.3]), torch.tensor([0.5, 0.7, 0.2]))
    assert_close(e.mode, t.mode)
    assert_close(ed.Gamma(ember.tensor([0.5, 3.0]), 2.0).mode, td.Gamma(torch.tensor([0.5, 3.0]), 2.0).mode)


def test_non_differentiable_helpers_raise_on_backward():
    a, ea = torch.tensor([0.5, 2.0], requires_grad=True), ember.tensor([0.5, 2.0], requires_grad=True)
    x = torch.tensor([0.3, 0.7])
    cases = [
        (lambda: S._standard_gamma_grad(ea, to_ember(x)), lambda: torch._standard_gamma_grad(a, x)),
        (lambda: S._sample_dirichlet(ea), lambda: torch._sample_dirichlet(a)),
        (lambda: S._dirichlet_grad(to_ember(x), ea, ember.full((2,), 2.5)),
         lambda: torch._dirichlet_grad(x, a, torch.full((2,), 2.5))),
        (lambda: S.binomial(ember.tensor([3.0, 4.0]), ea / 4), lambda: torch.binomial(torch.tensor([3.0, 4.0]), a / 4)),
    ]
    for fe, ft in cases:
        ye, yt = fe(), ft()
        assert ye.requires_grad and type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
        assert_same_error(lambda ye=ye: ye.sum().backward(), lambda yt=yt: yt.sum().backward())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("alpha,size", [(1.1, 3000), (1.25, 2000), (1.5, 4000), (2.0, 50), (7.3, 600), (1e4, 3)])
@pytest.mark.parametrize("cached", [False, True])
def test_standard_gamma_one_alpha_matches_torch_stream(dtype, alpha, size, cached):
    """The vectorised path (one alpha >= 1.1 for every element; y <= 0 attempts restart the tiling)."""
    al = torch.full((size,), alpha, dtype=dtype)
    torch.manual_seed(0)
    ember.manual_seed(0)
    if cached:   # a cached normal half in flight, which the first attempt must use
        assert_close(ember.randn(1), torch.randn(1))
    _same_stream(lambda: S._standard_gamma(to_ember(al)), lambda: torch._standard_gamma(al), seed=None)
    conc = torch.full((size // 3 + 1, 3), alpha, dtype=dtype)
    _same_stream(lambda: S._sample_dirichlet(to_ember(conc)), lambda: torch._sample_dirichlet(conc), seed=None)


@pytest.mark.parametrize("alpha", [1.1, 3.0])
def test_standard_gamma_one_alpha_buffer_refills(monkeypatch, alpha):
    """The one-alpha path drawing its uniforms ahead in short buffers (each refill continues the stream)."""
    monkeypatch.setattr(S, "_gamma_same", functools.partial(S._gamma_same, ahead=0.3))
    al = torch.full((900,), alpha, dtype=torch.float64)
    _same_stream(lambda: S._standard_gamma(to_ember(al)), lambda: torch._standard_gamma(al), seed=7)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_standard_gamma_edge_concentrations(dtype):
    """Concentrations at and below the dtype's tiny, tiny boosts (alpha < 1 rounds alpha + 1 to 1), huge ones and
    values near 1 mixed in one tensor: torch's stream and clamping to the smallest normal number."""
    tiny = torch.finfo(dtype).tiny
    a = torch.tensor([0.0, tiny, 1e-30, 1e-7, 0.999, 1.0, 1.0000001, 1e8, 1e-3], dtype=dtype).repeat(20)
    _same_stream(lambda: S._standard_gamma(to_ember(a)), lambda: torch._standard_gamma(a))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ahead", [2.3, 0.4])
def test_standard_gamma_mixed_concentrations_with_cached_normal(monkeypatch, dtype, ahead):
    """Concentrations spanning the boost (< 1), y <= 0 (near 1) and large values, drawn after a cached normal
    half, with buffers that run out and continue (``ahead`` 0.4): torch's numbers and stream."""
    monkeypatch.setattr(S, "_gamma_scan", functools.partial(S._gamma_scan, ahead=ahead))
    g = torch.Generator().manual_seed(9)
    a = torch.cat([torch.rand(300, generator=g) * 0.99 + 0.005, torch.rand(300, generator=g) * 0.3 + 0.9,
                   torch.rand(300, generator=g) * 50])[torch.randperm(900, generator=g)].to(dtype)
    torch.manual_seed(5)
    ember.manual_seed(5)
    assert_close(ember.randn(1), torch.randn(1))   # leaves the sin half cached: the first attempt uses it
    _same_stream(lambda: S._standard_gamma(to_ember(a)), lambda: torch._standard_gamma(a), seed=None)
    _same_stream(lambda: S._sample_dirichlet(to_ember(a.reshape(300, 3))),
                 lambda: torch._sample_dirichlet(a.reshape(300, 3)), seed=None)
