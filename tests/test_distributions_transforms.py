"""ember.distributions transforms, constraint registry and the transformed / multivariate families against
torch.distributions: values, samples under one seed, log-densities, moments, gradients, reprs and errors."""

import importlib
import math

import numpy as np
import pytest
import torch
import torch.distributions as td
import torch.distributions.transforms as tt

import ember
import ember.distributions as ed
import ember.distributions.transforms as et
from ember.distributions.constraint_registry import biject_to, transform_to
from ember.distributions.kl import kl_divergence
from oracle import assert_close, assert_same_error, to_ember

_MODULES = {
    "Independent": "independent", "TransformedDistribution": "transformed_distribution",
    "LogNormal": "log_normal", "HalfNormal": "half_normal", "HalfCauchy": "half_cauchy", "Gumbel": "gumbel",
    "Weibull": "weibull", "Pareto": "pareto", "LogisticNormal": "logistic_normal",
    "MultivariateNormal": "multivariate_normal", "LowRankMultivariateNormal": "lowrank_multivariate_normal",
    "MixtureSameFamily": "mixture_same_family", "Categorical": "categorical",
    "RelaxedBernoulli": "relaxed_bernoulli", "LogitRelaxedBernoulli": "relaxed_bernoulli",
    "RelaxedOneHotCategorical": "relaxed_categorical", "ExpRelaxedCategorical": "relaxed_categorical",
}
_TORCH_EXTRA = {"LogitRelaxedBernoulli": "relaxed_bernoulli", "ExpRelaxedCategorical": "relaxed_categorical"}


def T(name):  # noqa: ANN001, ANN201
    """The torch distribution class by name (the relaxed bases live only in their submodules)."""
    if name in _TORCH_EXTRA:
        return getattr(importlib.import_module(f"torch.distributions.{_TORCH_EXTRA[name]}"), name)
    return getattr(td, name)


def E(name):  # noqa: ANN001, ANN201
    """An ember distribution class by torch's name (from its submodule, or ember.distributions)."""
    if name in _MODULES:
        return getattr(importlib.import_module(f"ember.distributions.{_MODULES[name]}"), name)
    return getattr(ed, name)


def _t(x, rg=False):  # noqa: ANN001, ANN202
    return torch.tensor(x, dtype=torch.float64, requires_grad=rg)


def _pair(x, rg=False):  # noqa: ANN001, ANN202
    """The same float64 values as (ember, torch) tensors, both requiring grad when ``rg``."""
    t = _t(x, rg)
    return to_ember(t, rg), t


# ---------------------------------------------------------------------------------------------------------------
# transforms
# ---------------------------------------------------------------------------------------------------------------

VEC = [[0.3, -1.2, 0.5], [1.5, 0.1, -0.4]]
MAT = [[[0.5, 0.2, -0.3], [0.1, -0.4, 0.7], [0.3, 0.9, 0.2]]]

# (name, builder(mod) -> transform, x (domain point), check lad)
TRANSFORMS = [
    ("ExpTransform", lambda m: m.ExpTransform(), VEC, True),
    ("PowerTransform", lambda m: m.PowerTransform(2.5), [[0.3, 1.2, 0.5]], True),
    ("PowerTransform-t", lambda m: m.PowerTransform(_lib(m).tensor([2.0, -0.5, 1.5], dtype=_lib(m).float64)),
     [[0.3, 1.2, 0.5]], True),
    ("SigmoidTransform", lambda m: m.SigmoidTransform(), VEC, True),
    ("TanhTransform", lambda m: m.TanhTransform(), VEC, True),
    ("SoftplusTransform", lambda m: m.SoftplusTransform(), [[0.3, -1.2, 25.0], [1.5, 0.1, -0.4]], True),
    ("AbsTransform", lambda m: m.AbsTransform(), VEC, False),
    ("AffineTransform", lambda m: m.AffineTransform(1.5, -2.0), VEC, True),
    ("AffineTransform-t", lambda m: m.AffineTransform(_lib(m).tensor([1.0, 0.0, -1.0], dtype=_lib(m).float64),
                                                     _lib(m).tensor([2.0, -0.5, 3.0], dtype=_lib(m).float64),
                                                     event_dim=1), VEC, True),
    ("SoftmaxTransform", lambda m: m.SoftmaxTransform(), VEC, False),
    ("StickBreakingTransform", lambda m: m.StickBreakingTransform(), VEC, True),
    ("LowerCholeskyTransform", lambda m: m.LowerCholeskyTransform(), MAT, False),
    ("PositiveDefiniteTransform", lambda m: m.PositiveDefiniteTransform(), MAT, False),
    ("CorrCholeskyTransform", lambda m: m.CorrCholeskyTransform(), VEC, True),
    ("ReshapeTransform", lambda m: m.ReshapeTransform((3,), (3, 1)), VEC, True),
    ("IndependentTransform", lambda m: m.IndependentTransform(m.ExpTransform(), 1), VEC, True),
    ("ComposeTransform", lambda m: m.ComposeTransform([m.ExpTransform(), m.AffineTransform(1.0, 2.0),
                                                       m.PowerTransform(0.5)]), VEC, True),
    ("ComposeTransform-event", lambda m: m.ComposeTransform([m.AffineTransform(0.5, 2.0),
                                                             m.StickBreakingTransform()]), VEC, True),
    ("identity_transform", lambda m: m.identity_transform, VEC, True),
    ("inverse", lambda m: m.ExpTransform().inv, [[0.3, 1.2, 0.5]], True),
    ("inverse-sigmoid", lambda m: m.SigmoidTransform().inv, [[0.3, 0.2, 0.5]], True),
    ("CatTransform", lambda m: m.CatTransform([m.ExpTransform(), m.AffineTransform(1.0, 3.0)], dim=1,
                                              lengths=[2, 1]), VEC, True),
    ("CatTransform-event", lambda m: m.CatTransform([m.IndependentTransform(m.ExpTransform(), 1),
                                                     m.AffineTransform(1.0, 3.0)], dim=0), VEC, True),
    ("StackTransform", lambda m: m.StackTransform([m.ExpTransform(), m.TanhTransform(), m.SigmoidTransform()],
                                                  dim=1), VEC, True),
    ("CumulativeDistributionTransform",
     lambda m: m.CumulativeDistributionTransform(_dists(m).Normal(0.5, 2.0)), VEC, True),
]


def assert_same_result(fe, ft):  # noqa: ANN001, ANN201
    """Equal plain results, or the same error."""
    try:
        rt = ft()
    except Exception:  # noqa: BLE001
        assert_same_error(fe, ft)
        return
    assert fe() == rt


def _lib(mod):  # noqa: ANN001, ANN202
    return ember if mod is et else torch


def _dists(mod):  # noqa: ANN001, ANN202
    return ed if mod is et else td


@pytest.mark.parametrize("name,build,x,lad", TRANSFORMS, ids=[c[0] for c in TRANSFORMS])
def test_transform_against_torch(name, build, x, lad):
    e, t = build(et), build(tt)
    assert repr(e) == repr(t)
    assert e.bijective == t.bijective
    assert_same_result(lambda: e.event_dim, lambda: t.event_dim)
    assert repr(e.domain) == repr(t.domain) and repr(e.codomain) == repr(t.codomain)
    assert e.domain.event_dim == t.domain.event_dim and e.codomain.event_dim == t.codomain.event_dim
    try:
        ts = t.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            _ = e.sign
    else:
        assert_close(e.sign, ts) if isinstance(ts, torch.Tensor) else (e.sign == ts or pytest.fail("sign"))
    ex, tx = _pair(x, True)
    ey, ty = e(ex), t(tx)
    assert_close(ey, ty)
    assert tuple(e.forward_shape(ex.shape)) == tuple(t.forward_shape(tx.shape))
    assert tuple(e.inverse_shape(ey.shape)) == tuple(t.inverse_shape(ty.shape))
    assert_close(e.inv(ey.detach()), t.inv(ty.detach()))
    out_e, out_t = ey, ty
    if lad:
        le, lt = e.log_abs_det_jacobian(ex, ey), t.log_abs_det_jacobian(tx, ty)
        assert_close(le, lt)
        out_e, out_t = ey.sum() + le.sum() * 0.7, ty.sum() + lt.sum() * 0.7
    cot = np.random.default_rng(0).standard_normal(tuple(ty.shape))
    (ey * ember.tensor(cot)).sum().add(out_e.sum() * 0.3).backward()
    (ty * torch.tensor(cot)).sum().add(out_t.sum() * 0.3).backward()
    assert_close(ex.grad, tx.grad)


def test_transform_gradcheck():
    x = ember.tensor(VEC, dtype=ember.float64, requires_grad=True)
    for t in [et.StickBreakingTransform(), et.CorrCholeskyTransform(), et.TanhTransform(), et.SoftplusTransform()]:
        assert ember.autograd.gradcheck(lambda v, t=t: t.log_abs_det_jacobian(v, t(v)), (x,))
        assert ember.autograd.gradcheck(lambda v, t=t: t(v), (x,))
        assert ember.autograd.gradgradcheck(lambda v, t=t: t(v).sum() + t.log_abs_det_jacobian(v, t(v)).sum(), (x,))


def test_transform_cache_and_inverse_identity():
    for mod in (et, tt):
        lib = _lib(mod)
        t = mod.ExpTransform(cache_size=1)
        x = lib.tensor([0.5, 1.0])
        y = t(x)
        assert t(x) is y and t.inv(y) is x  # the cached pair comes back as the same objects
        assert mod.ExpTransform()(x) is not mod.ExpTransform()(x)
        assert t.inv is t.inv and t.inv.inv is t
        assert t.with_cache(1) is t and t.with_cache(0)._cache_size == 0
        assert t.inv.with_cache(0).inv._cache_size == 0
        c = mod.ComposeTransform([mod.ExpTransform(), mod.AffineTransform(1.0, 2.0)], cache_size=1)
        assert all(p._cache_size == 1 for p in c.parts) and c.inv.inv is c
    assert et.ExpTransform() == et.ExpTransform() and et.ExpTransform() != et.TanhTransform()
    assert et.ExpTransform().inv == et.ExpTransform().inv
    assert et.AffineTransform(1.0, 2.0) == et.AffineTransform(1.0, 2.0)
    assert et.AffineTransform(ember.tensor([1.0]), 2.0) != et.AffineTransform(ember.tensor([1.5]), 2.0)
    assert et.PowerTransform(2.0) == et.PowerTransform(2.0) != et.PowerTransform(3.0)
    assert et.ComposeTransform([et.ExpTransform()]) == et.ComposeTransform([et.ExpTransform()])
    assert et.Transform() != et.Transform()


@pytest.mark.parametrize("fn", [
    lambda m: m.Transform(cache_size=2),
    lambda m: m.Transform().sign,
    lambda m: m.Transform()(_lib(m).ones(1)),
    lambda m: m.Transform().log_abs_det_jacobian(1, 2),
    lambda m: m.PowerTransform(2.0).with_cache(2),
    lambda m: m.ReshapeTransform((2, 3), (5,)),
    lambda m: m.ReshapeTransform((2, 3), (6,)).forward_shape((3,)),
    lambda m: m.ReshapeTransform((2, 3), (6,)).forward_shape(_lib(m).Size((3, 3))),
    lambda m: m.SoftmaxTransform().forward_shape(()),
    lambda m: m.StickBreakingTransform().inverse_shape(()),
    lambda m: m.CorrCholeskyTransform().forward_shape((4,)),
    lambda m: m.CorrCholeskyTransform().inverse_shape((3, 4)),
    lambda m: m.CorrCholeskyTransform().inverse_shape((3,)),
    lambda m: m.IndependentTransform(m.ExpTransform(), 2)(_lib(m).ones(1)),
    lambda m: m.CorrCholeskyTransform().event_dim,
    lambda m: m.Transform().domain,
    lambda m: m.AbsTransform().sign,
    lambda m: m.CatTransform([m.ExpTransform()], dim=0)(_lib(m).ones(2)),
    lambda m: m.CatTransform([m.ExpTransform()], dim=1)(_lib(m).ones(1)),
    lambda m: m.CatTransform([m.ExpTransform()], dim=0).inv(_lib(m).ones(2)),
    lambda m: m.CatTransform([m.ExpTransform()], dim=0).log_abs_det_jacobian(_lib(m).ones(1), _lib(m).ones(2)),
    lambda m: m.CatTransform([m.ExpTransform()], lengths=[1, 2]),
    lambda m: m.CatTransform([3]),
    lambda m: m.StackTransform([m.ExpTransform()], dim=0)(_lib(m).ones(2)),
    lambda m: m.StackTransform([m.ExpTransform()], dim=0).inv(_lib(m).ones(2)),
    lambda m: m.StackTransform([m.ExpTransform()], dim=2).log_abs_det_jacobian(_lib(m).ones(1), _lib(m).ones(1)),
])
def test_transform_errors(fn):
    assert_same_error(lambda: fn(et), lambda: fn(tt))


def test_pickle_round_trip():
    import pickle

    t = et.ComposeTransform([et.ExpTransform(), et.AffineTransform(1.0, 2.0)])
    _ = t.inv
    u = pickle.loads(pickle.dumps(t))
    assert repr(u) == repr(t) and u.inv.inv is u
    d = pickle.loads(pickle.dumps(E("Gumbel")(ember.tensor([0.0]), ember.tensor([1.0]))))
    assert_close(d.cdf(ember.tensor([2.0])), td.Gumbel(0.0, 1.0).cdf(torch.tensor([2.0])))


def test_module_names():
    assert sorted(et.__all__) == sorted(tt.__all__)


def test_tril_helpers():
    v = ember.arange(6.0)
    with pytest.raises(ValueError, match="cannot be expressed as the lower triangular part"):
        et.vec_to_tril_matrix(ember.arange(5.0))
    m = et.vec_to_tril_matrix(v, diag=-1)
    assert_close(m, torch.distributions.utils.vec_to_tril_matrix(torch.arange(6.0), diag=-1))
    assert_close(et.tril_matrix_to_vec(m, diag=-1), torch.arange(6.0))


# ---------------------------------------------------------------------------------------------------------------
# constraints and the registry
# ---------------------------------------------------------------------------------------------------------------

def _constraints(m):  # noqa: ANN001, ANN202
    c = ed.constraints if m is ed else td.constraints
    return [c.independent(c.real, 1), c.simplex, c.lower_cholesky, c.corr_cholesky, c.positive_definite,
            c.real_vector, c.cat([c.real, c.positive], 0, [2, 1]), c.stack([c.real, c.positive, c.unit_interval], 1)]


@pytest.mark.parametrize("value", [
    [[0.2, 0.3, 0.5], [0.6, -0.1, 0.5], [0.4, 0.4, 0.4]],
    [[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [0.1, 0.2, 0.3]],
    [[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.6, 0.8]],
    [[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]],
    [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
])
def test_constraint_checks(value):
    v = torch.tensor(value)
    for ce, ct in zip(_constraints(ed), _constraints(td), strict=True):
        assert repr(ce) == repr(ct) and ce.event_dim == ct.event_dim and ce.is_discrete == ct.is_discrete
        assert_close(ce.check(to_ember(v)), ct.check(v))


def _registry_cases(m):  # noqa: ANN001, ANN202
    c = ed.constraints if m is ed else td.constraints
    lb = (ember if m is ed else torch).tensor([0.5, -1.0, 2.0])
    return [c.real, c.positive, c.nonnegative, c.unit_interval, c.interval(-1.0, 2.0), c.greater_than(lb),
            c.less_than(3.0), c.simplex, c.independent(c.positive, 1), c.corr_cholesky,
            c.cat([c.real, c.positive], 0, [2, 1]), c.stack([c.positive, c.unit_interval, c.real], 0)]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry(registry):
    reg_e, reg_t = {"biject_to": biject_to, "transform_to": transform_to}[registry], getattr(td, registry)
    x = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    for ce, ct in zip(_registry_cases(ed), _registry_cases(td), strict=True):
        te, tt_ = reg_e(ce), reg_t(ct)
        assert repr(te) == repr(tt_)
        assert_close(te(to_ember(x)), tt_(x))
        assert_close(te.log_abs_det_jacobian(to_ember(x), te(to_ember(x))),
                     tt_.log_abs_det_jacobian(x, tt_(x))) if te.bijective else None
    m = torch.tensor([[0.3, 0.0], [0.2, -0.4]], dtype=torch.float64)
    if registry == "transform_to":
        for ce, ct in [(ed.constraints.lower_cholesky, td.constraints.lower_cholesky),
                       (ed.constraints.positive_definite, td.constraints.positive_definite)]:
            assert repr(transform_to(ce)) == repr(td.transform_to(ct))
            assert_close(transform_to(ce)(to_ember(m)), td.transform_to(ct)(m))
    ec = ed.constraints
    assert_same_error(lambda: reg_e(ec.lower_cholesky) if registry == "biject_to" else reg_e(ec.boolean),
                      lambda: reg_t(td.constraints.lower_cholesky) if registry == "biject_to"
                      else reg_t(td.constraints.boolean))
    assert_same_error(lambda: reg_e(3), lambda: reg_t(3))
    assert_same_error(lambda: reg_e.register(3, lambda c: c), lambda: reg_t.register(3, lambda c: c))


def test_registry_covers_torchs_constraint_classes():
    for e, t in [(biject_to, td.biject_to), (transform_to, td.transform_to)]:
        assert sorted(c.__name__ for c in e._registry) == sorted(c.__name__ for c in t._registry)
    hoi = ed.constraints.half_open_interval(-1.0, 2.0)
    assert repr(biject_to(hoi)) == repr(td.biject_to(td.constraints.half_open_interval(-1.0, 2.0)))
    assert isinstance(transform_to(ed.constraints.positive_semidefinite), et.PositiveDefiniteTransform)


def test_registry_register_user_constraint():
    class MyConstraint(ed.constraints.Constraint):
        pass

    reg = type(biject_to)()
    reg.register(MyConstraint)(lambda c: et.ExpTransform())
    assert isinstance(reg(MyConstraint()), et.ExpTransform)


# ---------------------------------------------------------------------------------------------------------------
# transformed and multivariate families
# ---------------------------------------------------------------------------------------------------------------

# (name, args as nested float lists, value inside the support, has cdf/icdf)
FAMILIES = [
    ("LogNormal", ([0.0, 1.0, -0.5], [1.0, 0.5, 2.0]), [0.5, 2.0, 1.2], True),
    ("HalfNormal", ([1.0, 2.0, 0.5],), [0.5, 2.0, 0.1], True),
    ("HalfCauchy", ([1.0, 2.0, 0.5],), [0.5, 2.0, 0.1], True),
    ("Gumbel", ([0.0, 1.0, -0.5], [1.0, 0.5, 2.0]), [0.5, 2.0, -1.0], True),
    ("Weibull", ([1.0, 2.0, 0.7], [1.5, 0.5, 3.0]), [0.5, 2.0, 1.0], True),
    ("Pareto", ([1.0, 2.0, 0.5], [1.5, 3.0, 2.5]), [1.5, 2.5, 0.7], True),
    ("LogisticNormal", ([0.0, 1.0, -0.5], [1.0, 0.5, 2.0]), [0.2, 0.3, 0.1, 0.4], False),
]


def _moments(e, t):  # noqa: ANN001, ANN202
    for attr in ["mean", "mode", "variance", "stddev"]:
        try:
            tv = getattr(t, attr)
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                getattr(e, attr)
            continue
        assert_close(getattr(e, attr), tv)


@pytest.mark.parametrize("name,args,value,has_cdf", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_family_against_torch(name, args, value, has_cdf):
    e_args, t_args = zip(*[_pair(a, True) for a in args], strict=True)
    e, t = E(name)(*e_args), getattr(td, name)(*t_args)
    assert repr(e) == repr(t)
    plain_e, plain_t = E(name)(*[a.detach() for a in e_args]), getattr(td, name)(*[_t(a) for a in args])
    assert repr(plain_e.support) == repr(plain_t.support)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    assert e.has_rsample == t.has_rsample
    ember.manual_seed(3)
    torch.manual_seed(3)
    assert_close(e.sample((2,)), t.sample((2,)))
    es, ts = e.rsample((4,)), t.rsample((4,))
    assert_close(es, ts)
    ev, tv = _pair(value)
    el, tl = e.log_prob(ev), t.log_prob(tv)
    assert_close(el, tl)
    _moments(e, t)
    if name != "LogisticNormal":
        assert_close(e.entropy(), t.entropy())
    if has_cdf:
        assert_close(e.cdf(ev), t.cdf(tv))
        q = [0.2, 0.5, 0.9]
        assert_close(e.icdf(_pair(q)[0]), t.icdf(_pair(q)[1]))
    # gradients of parameters through rsample and log_prob
    cot = np.random.default_rng(1).standard_normal(tuple(ts.shape))
    (es * ember.tensor(cot)).sum().add(el.sum()).backward()
    (ts * torch.tensor(cot)).sum().add(tl.sum()).backward()
    for a, b in zip(e_args, t_args, strict=True):
        assert_close(a.grad, b.grad)


def test_log_prob_outside_support():
    for name, v in [("HalfNormal", [-1.0, 0.5]), ("HalfCauchy", [-1.0, 0.5])]:
        e = E(name)(ember.tensor([1.0, 2.0]), validate_args=False)
        t = getattr(td, name)(torch.tensor([1.0, 2.0]), validate_args=False)
        assert_close(e.log_prob(ember.tensor(v)), t.log_prob(torch.tensor(v)))


def test_transformed_distribution_general():
    base_e, base_t = ed.Normal(ember.zeros(2, 3), ember.ones(2, 3)), td.Normal(torch.zeros(2, 3), torch.ones(2, 3))
    TD = E("TransformedDistribution")
    cases = [([et.ExpTransform(), et.AffineTransform(1.0, -2.0)], [tt.ExpTransform(), tt.AffineTransform(1.0, -2.0)]),
             ([et.StickBreakingTransform()], [tt.StickBreakingTransform()]),
             (et.ReshapeTransform((3,), (3, 1)), tt.ReshapeTransform((3,), (3, 1))),
             ([et.CorrCholeskyTransform()], [tt.CorrCholeskyTransform()]),
             ([et.AffineTransform(ember.tensor([1.0, 2.0, 3.0]), 2.0, event_dim=1)],
              [tt.AffineTransform(torch.tensor([1.0, 2.0, 3.0]), 2.0, event_dim=1)])]
    for te_, tt__ in cases:
        e, t = TD(base_e, te_), td.TransformedDistribution(base_t, tt__)
        assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
        assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
        ember.manual_seed(1)
        torch.manual_seed(1)
        es, ts = e.sample((2,)), t.sample((2,))
        assert_close(es, ts, rtol=1e-5, atol=1e-6)
        assert_close(e.log_prob(to_ember(ts)), t.log_prob(ts), rtol=1e-4, atol=1e-5)
    e = TD(ed.Normal(ember.tensor([0.0, 1.0]), 1.0), [et.ExpTransform(), et.AffineTransform(1.0, -2.0)])
    t = td.TransformedDistribution(td.Normal(torch.tensor([0.0, 1.0]), 1.0),
                                   [tt.ExpTransform(), tt.AffineTransform(1.0, -2.0)])
    v = torch.tensor([-1.0, -3.0])
    assert_close(e.cdf(to_ember(v)), t.cdf(v))
    assert_close(e.icdf(ember.tensor([0.2, 0.7])), t.icdf(torch.tensor([0.2, 0.7])))
    for bad in [3, [3]]:
        assert_same_error(lambda b=bad: TD(base_e, b), lambda b=bad: td.TransformedDistribution(base_t, b))
    assert_same_error(lambda: TD(ed.Normal(0.0, 1.0), et.StickBreakingTransform()),
                      lambda: td.TransformedDistribution(td.Normal(0.0, 1.0), tt.StickBreakingTransform()))


def test_independent():
    I = E("Independent")
    loc, scale = _pair([[0.0, 1.0, -1.0], [0.5, 0.2, 0.1]], True), _pair([[1.0, 2.0, 0.5], [0.3, 1.0, 1.5]], True)
    e, t = I(ed.Normal(loc[0], scale[0]), 1), td.Independent(td.Normal(loc[1], scale[1]), 1)
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape and e.has_rsample
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.sample((2,)), t.sample((2,)))
    v = _pair([[0.1, 0.2, 0.3], [-1.0, 0.0, 1.0]])
    (e.log_prob(v[0]).sum() + e.entropy().sum() + e.rsample().sum()).backward()
    (t.log_prob(v[1]).sum() + t.entropy().sum() + t.rsample().sum()).backward()
    assert_close(loc[0].grad, loc[1].grad)
    assert_close(scale[0].grad, scale[1].grad)
    _moments(e, t)
    assert_close(kl_divergence(e, e), td.kl_divergence(t, t))
    assert_same_error(lambda: I(ed.Normal(0.0, 1.0), 1), lambda: td.Independent(td.Normal(0.0, 1.0), 1))
    assert_same_error(lambda: I(ed.Bernoulli(ember.tensor([0.5])), 1).enumerate_support(),
                      lambda: td.Independent(td.Bernoulli(torch.tensor([0.5])), 1).enumerate_support())
    be, bt = I(ed.Bernoulli(ember.tensor([0.3, 0.6])), 0), td.Independent(td.Bernoulli(torch.tensor([0.3, 0.6])), 0)
    assert be.has_enumerate_support and bt.has_enumerate_support
    assert_close(be.enumerate_support(), bt.enumerate_support())
    assert_same_error(lambda: kl_divergence(I(ed.Normal(ember.zeros(2, 2), 1.0), 1),
                                            I(ed.Normal(ember.zeros(2, 2), 1.0), 2)),
                      lambda: td.kl_divergence(td.Independent(td.Normal(torch.zeros(2, 2), 1.0), 1),
                                               td.Independent(td.Normal(torch.zeros(2, 2), 1.0), 2)))


@pytest.mark.parametrize("name,fn", [
    ("HalfNormal", lambda m: m.HalfNormal(m_t(m).tensor([-1.0, 1.0]))),
    ("HalfCauchy", lambda m: m.HalfCauchy(m_t(m).tensor([-1.0, 1.0]))),
    ("LogNormal", lambda m: m.LogNormal(m_t(m).tensor([0.0]), m_t(m).tensor([-1.0]))),
    ("Weibull", lambda m: m.Weibull(m_t(m).tensor([-1.0]), m_t(m).tensor([1.0]))),
    ("Weibull", lambda m: m.Weibull(m_t(m).tensor([1.0]), m_t(m).tensor([0.0]))),
    ("Pareto", lambda m: m.Pareto(m_t(m).tensor([-1.0]), m_t(m).tensor([1.0]))),
    ("Pareto", lambda m: m.Pareto(m_t(m).tensor([1.0]), m_t(m).tensor([-1.0]))),
    ("Gumbel", lambda m: m.Gumbel(m_t(m).tensor([1.0]), m_t(m).tensor([-1.0]))),
    ("LogisticNormal", lambda m: m.LogisticNormal(m_t(m).tensor([1.0]), m_t(m).tensor([-1.0]))),
    ("HalfNormal", lambda m: m.HalfNormal(m_t(m).tensor([1.0])).log_prob(m_t(m).tensor([-1.0]))),
    ("Pareto", lambda m: m.Pareto(m_t(m).tensor([1.0]), m_t(m).tensor([1.0])).log_prob(m_t(m).tensor([0.5]))),
    ("LogNormal", lambda m: m.LogNormal(m_t(m).tensor([1.0]), m_t(m).tensor([1.0])).log_prob(m_t(m).tensor([-.5]))),
    ("LogisticNormal", lambda m: m.LogisticNormal(m_t(m).tensor([1.0]), m_t(m).tensor([1.0]))
     .log_prob(m_t(m).tensor([0.5, 0.6]))),
])
def test_validate_args_errors(name, fn):
    assert_same_error(lambda: fn(_EmberFamilies), lambda: fn(td))


def m_t(m):  # noqa: ANN001, ANN201
    return ember if m is _EmberFamilies else torch


class _Families:
    """Distribution classes by torch's names from one library, for tests that build the same thing in both."""

    def __init__(self, lookup) -> None:  # noqa: ANN001
        self.lookup = lookup

    def __getattr__(self, name):  # noqa: ANN001, ANN204
        return self.lookup(name)


_EmberFamilies = _Families(E)
_TorchFamilies = _Families(T)


def test_validate_args_off():
    E("HalfNormal")(ember.tensor([-1.0]), validate_args=False)
    E("Pareto")(ember.tensor([-1.0]), ember.tensor([-1.0]), validate_args=False)
    E("MultivariateNormal")(ember.zeros(2), scale_tril=ember.tensor([[1.0, 2.0], [2.0, -1.0]]), validate_args=False)


# ---------------------------------------------------------------------------------------------------------------
# MultivariateNormal and LowRankMultivariateNormal
# ---------------------------------------------------------------------------------------------------------------

def _spd(seed=0):  # noqa: ANN001, ANN202
    g = np.random.default_rng(seed)
    a = g.standard_normal((2, 3, 3))
    return (a @ a.transpose(0, 2, 1) + np.eye(3)).tolist(), g.standard_normal(3).tolist()


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal(param):
    cov, loc = _spd()
    mat = cov if param != "scale_tril" else np.linalg.cholesky(np.array(cov)).tolist()
    (el, tl), (em, tm) = _pair(loc, True), _pair(mat, True)
    e, t = E("MultivariateNormal")(el, **{param: em}), td.MultivariateNormal(tl, **{param: tm})
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    ember.manual_seed(2)
    torch.manual_seed(2)
    assert_close(e.sample((2,)), t.sample((2,)))
    es, ts = e.rsample((3,)), t.rsample((3,))
    assert_close(es, ts)
    v = _pair(np.random.default_rng(3).standard_normal((4, 1, 3)).tolist())
    elp, tlp = e.log_prob(v[0]), t.log_prob(v[1])
    assert_close(elp, tlp)
    assert_close(e.entropy(), t.entropy())
    for attr in ["mean", "mode", "variance", "stddev", "covariance_matrix", "precision_matrix", "scale_tril"]:
        assert_close(getattr(e, attr), getattr(t, attr))
    assert repr(e) == repr(t)  # the lazily computed matrices now show in both
    cot = np.random.default_rng(4).standard_normal(tuple(ts.shape))
    ((es * ember.tensor(cot)).sum() + elp.sum() + e.entropy().sum()).backward()
    ((ts * torch.tensor(cot)).sum() + tlp.sum() + t.entropy().sum()).backward()
    assert_close(el.grad, tl.grad)
    assert_close(em.grad, tm.grad)


def test_lowrank_multivariate_normal():
    g = np.random.default_rng(5)
    (el, tl), (ew, tw), (ed_, td_) = (_pair(g.standard_normal(3).tolist(), True),
                                      _pair(g.standard_normal((2, 3, 2)).tolist(), True),
                                      _pair((g.random(3) + 0.5).tolist(), True))
    e, t = E("LowRankMultivariateNormal")(el, ew, ed_), td.LowRankMultivariateNormal(tl, tw, td_)
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    ember.manual_seed(2)
    torch.manual_seed(2)
    assert_close(e.sample((2,)), t.sample((2,)))
    es, ts = e.rsample((3,)), t.rsample((3,))
    assert_close(es, ts)
    v = _pair(g.standard_normal((4, 1, 3)).tolist())
    elp, tlp = e.log_prob(v[0]), t.log_prob(v[1])
    assert_close(elp, tlp)
    assert_close(e.entropy(), t.entropy())
    for attr in ["mean", "mode", "variance", "stddev", "covariance_matrix", "precision_matrix", "scale_tril"]:
        assert_close(getattr(e, attr), getattr(t, attr))
    cot = g.standard_normal(tuple(ts.shape))
    ((es * ember.tensor(cot)).sum() + elp.sum() + e.entropy().sum()).backward()
    ((ts * torch.tensor(cot)).sum() + tlp.sum() + t.entropy().sum()).backward()
    for a, b in [(el, tl), (ew, tw), (ed_, td_)]:
        assert_close(a.grad, b.grad)


@pytest.mark.parametrize("fn", [
    lambda m, L: m.MultivariateNormal(L.tensor(0.0), L.eye(2)),
    lambda m, L: m.MultivariateNormal(L.zeros(2)),
    lambda m, L: m.MultivariateNormal(L.zeros(2), L.ones(2)),
    lambda m, L: m.MultivariateNormal(L.zeros(2), scale_tril=L.ones(2)),
    lambda m, L: m.MultivariateNormal(L.zeros(2), precision_matrix=L.ones(2)),
    lambda m, L: m.MultivariateNormal(L.zeros(2), L.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda m, L: m.MultivariateNormal(L.zeros(2), scale_tril=L.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda m, L: m.MultivariateNormal(L.zeros(2), precision_matrix=L.tensor([[1.0, 0.5], [0.4, 1.0]])),
    lambda m, L: m.MultivariateNormal(L.zeros(2), L.eye(2)).log_prob(L.zeros(3)),
    lambda m, L: m.LowRankMultivariateNormal(L.tensor(0.0), L.ones(2, 1), L.ones(2)),
    lambda m, L: m.LowRankMultivariateNormal(L.zeros(2), L.ones(2), L.ones(2)),
    lambda m, L: m.LowRankMultivariateNormal(L.zeros(2), L.ones(3, 1), L.ones(2)),
    lambda m, L: m.LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1), L.ones(3)),
    lambda m, L: m.LowRankMultivariateNormal(L.zeros(3, 2), L.ones(2, 2, 1), L.ones(2)),
    lambda m, L: m.LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1), -L.ones(2)),
    lambda m, L: m.kl_divergence(m.MultivariateNormal(L.zeros(2), L.eye(2)),
                                 m.MultivariateNormal(L.zeros(3), L.eye(3))),
    lambda m, L: m.kl_divergence(m.LowRankMultivariateNormal(L.zeros(2), L.ones(2, 1), L.ones(2)),
                                 m.LowRankMultivariateNormal(L.zeros(3), L.ones(3, 1), L.ones(3))),
    lambda m, L: m.kl_divergence(m.MultivariateNormal(L.zeros(2), L.eye(2)),
                                 m.LowRankMultivariateNormal(L.zeros(3), L.ones(3, 1), L.ones(3))),
    lambda m, L: m.kl_divergence(m.LowRankMultivariateNormal(L.zeros(3), L.ones(3, 1), L.ones(3)),
                                 m.MultivariateNormal(L.zeros(2), L.eye(2))),
])
def test_multivariate_errors(fn):
    class M:
        def __getattr__(self, name):  # noqa: ANN001, ANN204
            return kl_divergence if name == "kl_divergence" else E(name)

    assert_same_error(lambda: fn(M(), ember), lambda: fn(td, torch))


# ---------------------------------------------------------------------------------------------------------------
# KL divergences
# ---------------------------------------------------------------------------------------------------------------

def _mvn(m, L, shift):  # noqa: ANN001, ANN202
    cov, loc = _spd(int(shift))
    return m.MultivariateNormal(L.tensor(loc, dtype=L.float64) + shift, L.tensor(cov, dtype=L.float64))


def _lowrank(m, L, shift):  # noqa: ANN001, ANN202
    g = np.random.default_rng(int(shift) + 7)
    return m.LowRankMultivariateNormal(L.tensor(g.standard_normal(3)) + shift,
                                       L.tensor(g.standard_normal((2, 3, 2))), L.tensor(g.random(3) + 0.5))


KL_CASES = [
    ("Gumbel", "Gumbel", lambda m, L: m.Gumbel(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.Gumbel(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("Gumbel", "Normal", lambda m, L: m.Gumbel(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.Normal(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("Normal", "Gumbel", lambda m, L: m.Normal(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.Gumbel(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("Exponential", "Gumbel", lambda m, L: m.Exponential(L.tensor([0.5, 2.0])),
     lambda m, L: m.Gumbel(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("Uniform", "Gumbel", lambda m, L: m.Uniform(L.tensor([0.0, 1.0]), L.tensor([1.0, 3.0])),
     lambda m, L: m.Gumbel(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("Gumbel", "Uniform", lambda m, L: m.Gumbel(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.Uniform(L.tensor([0.0, 1.0]), L.tensor([1.0, 3.0]))),
    ("HalfNormal", "HalfNormal", lambda m, L: m.HalfNormal(L.tensor([1.0, 2.0])),
     lambda m, L: m.HalfNormal(L.tensor([0.5, 3.0]))),
    ("Pareto", "Pareto", lambda m, L: m.Pareto(L.tensor([1.0, 2.0, 0.5]), L.tensor([1.5, 3.0, 2.0])),
     lambda m, L: m.Pareto(L.tensor([0.5, 2.5, 0.5]), L.tensor([2.5, 1.0, 1.0]))),
    ("Pareto", "Exponential", lambda m, L: m.Pareto(L.tensor([1.0, 2.0]), L.tensor([1.5, 0.5])),
     lambda m, L: m.Exponential(L.tensor([0.5, 3.0]))),
    ("Pareto", "Normal", lambda m, L: m.Pareto(L.tensor([1.0, 2.0]), L.tensor([2.5, 1.5])),
     lambda m, L: m.Normal(L.tensor([0.5, 3.0]), L.tensor([1.0, 2.0]))),
    ("Uniform", "Pareto", lambda m, L: m.Uniform(L.tensor([1.0, 0.5]), L.tensor([2.0, 3.0])),
     lambda m, L: m.Pareto(L.tensor([0.5, 1.0]), L.tensor([2.5, 1.5]))),
    ("Normal", "Pareto", lambda m, L: m.Normal(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.Pareto(L.tensor([0.5, 1.0]), L.tensor([2.5, 1.5]))),
    ("Gamma", "Gumbel", lambda m, L: m.Gamma(L.tensor([1.5, 0.5]), L.tensor([2.0, 1.0])),
     lambda m, L: m.Gumbel(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("Pareto", "Gamma", lambda m, L: m.Pareto(L.tensor([1.0, 2.0]), L.tensor([2.5, 0.5])),
     lambda m, L: m.Gamma(L.tensor([1.5, 0.5]), L.tensor([2.0, 1.0]))),
    ("Gumbel", "Gamma", lambda m, L: m.Gumbel(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.Gamma(L.tensor([1.5, 0.5]), L.tensor([2.0, 1.0]))),
    ("Beta", "Pareto", lambda m, L: m.Beta(L.tensor([1.5, 0.5]), L.tensor([2.0, 1.0])),
     lambda m, L: m.Pareto(L.tensor([0.5, 1.0]), L.tensor([2.5, 1.5]))),
    ("Pareto", "ContinuousBernoulli", lambda m, L: m.Pareto(L.tensor([1.0, 2.0]), L.tensor([2.5, 0.5])),
     lambda m, L: m.ContinuousBernoulli(L.tensor([0.3, 0.6]))),
    ("ContinuousBernoulli", "Pareto", lambda m, L: m.ContinuousBernoulli(L.tensor([0.3, 0.6])),
     lambda m, L: m.Pareto(L.tensor([0.5, 1.0]), L.tensor([2.5, 1.5]))),
    ("LogNormal", "LogNormal", lambda m, L: m.LogNormal(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
     lambda m, L: m.LogNormal(L.tensor([0.5, -1.0]), L.tensor([0.7, 3.0]))),
    ("MVN", "MVN", lambda m, L: _mvn(m, L, 0.0), lambda m, L: _mvn(m, L, 1.0)),
    ("LowRank", "LowRank", lambda m, L: _lowrank(m, L, 0.0), lambda m, L: _lowrank(m, L, 1.0)),
    ("MVN", "LowRank", lambda m, L: _mvn(m, L, 0.0), lambda m, L: _lowrank(m, L, 1.0)),
    ("LowRank", "MVN", lambda m, L: _lowrank(m, L, 0.0), lambda m, L: _mvn(m, L, 1.0)),
]


@pytest.mark.parametrize("pname,qname,p,q", KL_CASES, ids=[f"{c[0]}-{c[1]}" for c in KL_CASES])
def test_kl_divergence(pname, qname, p, q):
    assert_close(kl_divergence(p(_EmberFamilies, ember), q(_EmberFamilies, ember)), td.kl_divergence(p(td, torch),
                                                                                                     q(td, torch)))


def test_kl_transformed_mismatch():
    TD = E("TransformedDistribution")
    p = TD(ed.Normal(0.0, 1.0), et.ExpTransform())
    q = TD(ed.Normal(0.0, 1.0), et.TanhTransform())
    with pytest.raises(NotImplementedError):
        kl_divergence(p, q)


# ---------------------------------------------------------------------------------------------------------------
# MixtureSameFamily, expand
# ---------------------------------------------------------------------------------------------------------------

def test_mixture_same_family():
    g = np.random.default_rng(6)
    lg, loc, sc = g.standard_normal((2, 3)), g.standard_normal((2, 3, 4)), g.random((2, 3, 4)) + 0.5
    (elg, tlg), (eloc, tloc), (esc, tsc) = _pair(lg.tolist(), True), _pair(loc.tolist(), True), _pair(sc.tolist())
    e = E("MixtureSameFamily")(E("Categorical")(logits=elg), E("Independent")(ed.Normal(eloc, esc), 1))
    t = td.MixtureSameFamily(td.Categorical(logits=tlg), td.Independent(td.Normal(tloc, tsc), 1))
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape and not e.has_rsample
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.sample((5,)), t.sample((5,)))
    v = _pair(g.standard_normal((5, 2, 4)).tolist())
    elp, tlp = e.log_prob(v[0]), t.log_prob(v[1])
    assert_close(elp, tlp)
    _moments(e, t) if False else [assert_close(getattr(e, a), getattr(t, a)) for a in ["mean", "variance"]]
    (elp.sum() + e.mean.sum() + e.variance.sum()).backward()
    (tlp.sum() + t.mean.sum() + t.variance.sum()).backward()
    assert_close(elg.grad, tlg.grad)
    assert_close(eloc.grad, tloc.grad)
    e1 = E("MixtureSameFamily")(E("Categorical")(logits=elg[0]), ed.Normal(eloc[0, :, 0], esc[0, :, 0]))
    t1 = td.MixtureSameFamily(td.Categorical(logits=tlg[0]), td.Normal(tloc[0, :, 0], tsc[0, :, 0]))
    x = _pair([0.3, -1.0, 2.0])
    assert_close(e1.cdf(x[0].unsqueeze(-1)), t1.cdf(x[1].unsqueeze(-1)))
    assert_close(e1.log_prob(x[0]), t1.log_prob(x[1]))
    ember.manual_seed(4)
    torch.manual_seed(4)
    assert_close(e1.sample((3, 2)), t1.sample((3, 2)))


@pytest.mark.parametrize("fn", [
    lambda m, L: m.MixtureSameFamily(m.Normal(0.0, 1.0), m.Normal(L.zeros(2), 1.0)),
    lambda m, L: m.MixtureSameFamily(m.Categorical(L.ones(2)), 3),
    lambda m, L: m.MixtureSameFamily(m.Categorical(L.ones(3)), m.Normal(L.zeros(2), 1.0)),
    lambda m, L: m.MixtureSameFamily(m.Categorical(L.ones(2, 2)), m.Normal(L.zeros(3, 2), 1.0)),
    lambda m, L: m.MixtureSameFamily(m.Categorical(L.ones(2)), m.Gamma(L.ones(2), 1.0)).log_prob(L.tensor([-1.0])),
])
def test_mixture_errors(fn):
    class M:
        def __getattr__(self, name):  # noqa: ANN001, ANN204
            return E(name)

    assert_same_error(lambda: fn(M(), ember), lambda: fn(td, torch))


EXPAND = [
    ("LogNormal", lambda m, L: m.LogNormal(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0]))),
    ("HalfNormal", lambda m, L: m.HalfNormal(L.tensor([1.0, 2.0]))),
    ("HalfCauchy", lambda m, L: m.HalfCauchy(L.tensor([1.0, 2.0]))),
    ("Gumbel", lambda m, L: m.Gumbel(L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0]))),
    ("Weibull", lambda m, L: m.Weibull(L.tensor([1.0, 2.0]), L.tensor([1.5, 0.5]))),
    ("Pareto", lambda m, L: m.Pareto(L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0]))),
    ("LogisticNormal", lambda m, L: m.LogisticNormal(L.tensor([[0.0, 1.0]]), L.tensor([1.0, 2.0]))),
    ("Independent", lambda m, L: m.Independent(m.Gamma(L.ones(1, 2), L.ones(1, 2)), 1)),
    ("TransformedDistribution", lambda m, L: m.TransformedDistribution(
        m.Gamma(L.ones(1, 3), L.ones(1, 3)), [m_tr(m).ExpTransform(), m_tr(m).ReshapeTransform((3,), (3, 1))])),
    ("MVN", lambda m, L: m.MultivariateNormal(L.zeros(1, 2), L.eye(2))),
    ("LowRank", lambda m, L: m.LowRankMultivariateNormal(L.zeros(1, 2), L.ones(2, 1), L.ones(2))),
    ("Mixture", lambda m, L: m.MixtureSameFamily(m.Categorical(L.ones(1, 2)),
                                                 m.Gamma(L.ones(1, 2), L.tensor([1.0, 2.0])))),
    ("RelaxedBernoulli", lambda m, L: m.RelaxedBernoulli(L.tensor(0.5), probs=L.tensor([0.3, 0.6]))),
    ("RelaxedOneHotCategorical", lambda m, L: m.RelaxedOneHotCategorical(L.tensor(0.5),
                                                                         logits=L.tensor([[0.3, 0.6, -1.0]]))),
]


def m_tr(m):  # noqa: ANN001, ANN201
    return tt if m is td else et


@pytest.mark.parametrize("name,fn", EXPAND, ids=[c.values[0] if hasattr(c, "values") else c[0] for c in EXPAND])
def test_expand(name, fn):
    e, t = fn(_EmberFamilies, ember), fn(td, torch)
    shape = (3,) + tuple(t.batch_shape)
    ee, te = e.expand(shape), t.expand(shape)
    assert type(ee) is type(e) and ee.batch_shape == te.batch_shape and ee.event_shape == te.event_shape
    assert repr(ee) == repr(te)
    ember.manual_seed(0)
    torch.manual_seed(0)
    es, ts = ee.sample(), te.sample()
    assert_close(es, ts, rtol=1e-5, atol=1e-6)
    assert_close(ee.log_prob(to_ember(ts)), te.log_prob(ts), rtol=1e-5, atol=1e-6)


def test_cumulative_distribution_transform_round_trip():
    t = et.CumulativeDistributionTransform(ed.Normal(0.0, 2.0))
    assert repr(t.domain) == "Real()" and t.with_cache(1)._cache_size == 1
    x = ember.tensor([-1.0, 0.5])
    assert_close(t.inv(t(x)), torch.tensor([-1.0, 0.5]), atol=1e-5)
    assert math.isclose(float(t.sign), 1.0)


RELAXED = [
    ("RelaxedBernoulli", "probs", [[0.3, 0.6, 0.1], [0.2, 0.2, 0.6]]),
    ("LogitRelaxedBernoulli", "logits", [[0.3, -0.6, 0.1], [1.2, 0.2, -0.6]]),
    ("RelaxedOneHotCategorical", "probs", [[0.3, 0.6, 0.1], [0.2, 0.2, 0.6]]),
    ("ExpRelaxedCategorical", "logits", [[0.3, -0.6, 0.1], [1.2, 0.2, -0.6]]),
]


@pytest.mark.parametrize("name,kw,param", RELAXED, ids=[r[0] for r in RELAXED])
def test_relaxed(name, kw, param):
    (etemp, ttemp), (ep, tp) = _pair(0.7, True), _pair(param, True)
    e, t = E(name)(etemp, **{kw: ep}), T(name)(ttemp, **{kw: tp})
    assert repr(e) == repr(t) and repr(e.support) == repr(t.support)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape and e.has_rsample == t.has_rsample
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.sample((3,)), t.sample((3,)))
    es, ts = e.rsample((2,)), t.rsample((2,))
    assert_close(es, ts)
    el, tl = e.log_prob(es.detach()), t.log_prob(ts.detach())
    assert_close(el, tl)
    for attr in ["probs", "logits", "temperature"]:
        assert_close(getattr(e, attr), getattr(t, attr))
    cot = np.random.default_rng(2).standard_normal(tuple(ts.shape))
    ((es * ember.tensor(cot)).sum() + el.sum()).backward()
    ((ts * torch.tensor(cot)).sum() + tl.sum()).backward()
    assert_close(etemp.grad, ttemp.grad)
    assert_close(ep.grad, tp.grad)


@pytest.mark.parametrize("fn", [
    lambda m, L: m.RelaxedBernoulli(L.tensor(0.5)),
    lambda m, L: m.RelaxedBernoulli(L.tensor(0.5), probs=L.tensor([1.3])),
    lambda m, L: m.RelaxedBernoulli(L.tensor(0.5), probs=L.tensor([0.3])).log_prob(L.tensor([1.5])),
    lambda m, L: m.RelaxedBernoulli(L.tensor(0.5), probs=0.3).mean,
    lambda m, L: m.RelaxedOneHotCategorical(L.tensor(0.5), probs=L.tensor([-0.3, 0.7])),
    lambda m, L: m.RelaxedOneHotCategorical(L.tensor(0.5), probs=L.tensor([0.3, 0.7])).log_prob(L.tensor([0.5, 0.6])),
])
def test_relaxed_errors(fn):
    assert_same_error(lambda: fn(_EmberFamilies, ember), lambda: fn(_TorchFamilies, torch))


def test_gradcheck_densities_and_samples():
    """Finite differences (float64) through log_prob / rsample of the matrix families and transformed ones."""
    gradcheck, gradgradcheck = ember.autograd.gradcheck, ember.autograd.gradgradcheck
    g = np.random.default_rng(8)
    loc = ember.tensor(g.standard_normal(3), requires_grad=True)
    tril = ember.tensor(np.tril(g.standard_normal((3, 3))) + 3 * np.eye(3), requires_grad=True)
    value = ember.tensor(g.standard_normal((2, 3)))
    MVN, LR = E("MultivariateNormal"), E("LowRankMultivariateNormal")

    def mvn(lo, L):  # noqa: ANN001, ANN202
        ember.manual_seed(0)
        d = MVN(lo, scale_tril=L, validate_args=False)
        return d.log_prob(value).sum() + d.rsample((2,)).sum() + d.entropy()

    def mvn_cov(lo, L):  # noqa: ANN001, ANN202
        return MVN(lo, covariance_matrix=L @ L.mT).log_prob(value)

    assert gradcheck(mvn, (loc, tril)) and gradcheck(mvn_cov, (loc, tril)) and gradgradcheck(mvn_cov, (loc, tril))
    W = ember.tensor(g.standard_normal((3, 2)), requires_grad=True)
    D = ember.tensor(g.random(3) + 0.5, requires_grad=True)

    def lowrank(lo, w, d):  # noqa: ANN001, ANN202
        ember.manual_seed(0)
        dist = LR(lo, w, d)
        return dist.log_prob(value).sum() + dist.rsample().sum() + dist.entropy()

    assert gradcheck(lowrank, (loc, W, D))
    a = ember.tensor([0.7, 1.3], dtype=ember.float64, requires_grad=True)
    b = ember.tensor([1.5, 2.5], dtype=ember.float64, requires_grad=True)
    for name in ["LogNormal", "Gumbel", "Weibull", "Pareto"]:
        def fn(x, y, name=name):  # noqa: ANN001, ANN202
            ember.manual_seed(1)
            d = E(name)(x, y)
            return d.rsample((3,)).sum() + d.log_prob(ember.tensor([2.6, 3.1], dtype=ember.float64)).sum()

        assert gradcheck(fn, (a, b)), name


def test_params_keep_identity_when_already_broadcast():
    scale, alpha = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    assert E("Pareto")(scale, alpha).scale is scale


@pytest.mark.parametrize("name", list(_MODULES))
def test_class_arg_constraints(name):
    e, t = E(name), T(name)
    assert {k: repr(v) for k, v in e.arg_constraints.items()} == {k: repr(v) for k, v in t.arg_constraints.items()}
    if isinstance(t.__dict__.get("support"), td.constraints.Constraint):
        assert repr(e.support) == repr(t.support)


def test_base_expanded_to_the_transforms_shape():
    e = E("LogisticNormal")(ember.tensor(0.0), ember.tensor(1.0))
    t = td.LogisticNormal(torch.tensor(0.0), torch.tensor(1.0))
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    loc = ember.tensor([1.0, 2.0])
    e = E("TransformedDistribution")(ed.Normal(0.0, 1.0), et.AffineTransform(loc, 2.0))
    assert e.batch_shape == (2,)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_float32_samples_follow_torchs_stream(shape):
    cov, loc = _spd(1)
    e = E("MultivariateNormal")(ember.tensor(loc, dtype=ember.float32), ember.tensor(cov, dtype=ember.float32))
    t = td.MultivariateNormal(torch.tensor(loc, dtype=torch.float32), torch.tensor(cov, dtype=torch.float32))
    ember.manual_seed(11)
    torch.manual_seed(11)
    assert_close(e.sample(shape), t.sample(shape), rtol=1e-5, atol=1e-5)
    for name, args in [("LogNormal", (0.5, 0.7)), ("Gumbel", (0.5, 0.7)), ("Weibull", (0.5, 0.7)),
                       ("Pareto", (0.5, 0.7)), ("HalfCauchy", (0.7,))]:
        assert_close(E(name)(*[ember.tensor(a) for a in args]).sample(shape),
                     getattr(td, name)(*[torch.tensor(a) for a in args]).sample(shape), rtol=1e-5)


@pytest.mark.parametrize("name,args", [("LogNormal", (0.0, 1.0)), ("HalfNormal", (1.0,)), ("HalfCauchy", (1.0,)),
                                       ("Gumbel", (0.0, 1.0)), ("Weibull", (1.0, 2.0)), ("Pareto", (1.0, 2.0))])
def test_python_number_parameters(name, args):
    e, t = E(name)(*args), getattr(td, name)(*args)
    assert repr(e) == repr(t) and e.batch_shape == t.batch_shape
    ember.manual_seed(0)
    torch.manual_seed(0)
    assert_close(e.sample((3,)), t.sample((3,)))
    assert_close(e.log_prob(ember.tensor(1.5)), t.log_prob(torch.tensor(1.5)))
    assert_close(e.entropy(), t.entropy())
    assert_close(e.mean, t.mean)
