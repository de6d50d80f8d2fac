"""VonMises and Kumaraswamy against torch; namespace, class hierarchy, expand, validation and constraints."""

import warnings

import numpy as np
import pytest
import torch
import torch.distributions as td

import ember
import ember.distributions as ed
from oracle import assert_close, assert_same_error, to_ember


def test_namespace_matches_torch():
    assert sorted(ed.__all__) == sorted(td.__all__)
    for name in td.__all__:
        assert hasattr(ed, name), name
    for mod in ("utils", "kl", "constraints", "constraint_registry", "transforms", "von_mises", "kumaraswamy",
                "cauchy", "laplace", "normal", "exp_family", "transformed_distribution"):
        assert sorted(getattr(ed, mod).__all__) == sorted(getattr(td, mod).__all__), mod


@pytest.mark.parametrize("name", sorted(n for n in td.__all__ if isinstance(getattr(td, n), type)
                                        and issubclass(getattr(td, n), td.Distribution)))
def test_class_hierarchy_matches_torch(name):
    t_mro = [c.__name__ for c in getattr(td, name).__mro__]
    e_mro = [c.__name__ for c in getattr(ed, name).__mro__]
    assert e_mro == t_mro
    assert getattr(ed, name).__module__.replace("ember", "torch") == getattr(td, name).__module__


VON_MISES = [
    ([0.0, 1.0, -2.5], [1.0, 2.0, 0.5], torch.float32),
    ([0.5, -3.0], [1e-6, 30.0], torch.float64),      # Taylor branch of the proposal, and a very peaked one
    ([[0.0], [1.0]], [0.2, 4.0, 9.0], torch.float32),  # broadcast parameters
]


@pytest.mark.parametrize("loc,conc,dtype", VON_MISES)
@pytest.mark.parametrize("seed", [0, 7])
def test_von_mises_against_torch(loc, conc, dtype, seed):
    tl, tc = torch.tensor(loc, dtype=dtype), torch.tensor(conc, dtype=dtype)
    t, e = td.VonMises(tl, tc), ed.VonMises(to_ember(tl), to_ember(tc))
    assert repr(e) == repr(t) and e.batch_shape == t.batch_shape and e.event_shape == t.event_shape
    assert not e.has_rsample and repr(e.support) == repr(t.support)
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    ts, es = t.sample((4, 5)), e.sample((4, 5))
    assert repr(es.dtype) == repr(ts.dtype) and not es.requires_grad
    assert_close(es, ts)                               # the same rejection rounds on the same stream
    assert_close(e.sample(), t.sample())              # and the stream stays aligned afterwards
    assert_close(e.log_prob(to_ember(ts)), t.log_prob(ts))
    for attr in ("mean", "mode", "variance", "stddev"):
        assert_close(getattr(e, attr), getattr(t, attr))


def test_von_mises_grads_expand_and_errors():
    tl, tc = torch.tensor([0.3, -1.0], requires_grad=True), torch.tensor([0.5, 5.0], requires_grad=True)
    el, ec = to_ember(tl, True), to_ember(tc, True)
    v = torch.tensor([[0.1, 2.0], [-3.0, 0.0]])
    (td.VonMises(tl, tc).log_prob(v).sum() + td.VonMises(tl, tc).variance.sum()).backward()
    (ed.VonMises(el, ec).log_prob(to_ember(v)).sum() + ed.VonMises(el, ec).variance.sum()).backward()
    assert_close(el.grad, tl.grad)
    assert_close(ec.grad, tc.grad)
    for validate in (None, False):
        t = td.VonMises(torch.zeros(2), torch.ones(2), validate_args=validate).expand((3, 2))
        e = ed.VonMises(ember.zeros(2), ember.ones(2), validate_args=validate).expand((3, 2))
        assert type(e) is ed.VonMises and e.batch_shape == t.batch_shape and repr(e) == repr(t)
        assert e._validate_args == t._validate_args
    assert_same_error(lambda: ed.VonMises(ember.zeros(2), -ember.ones(2)),
                      lambda: td.VonMises(torch.zeros(2), -torch.ones(2)))
    assert_same_error(lambda: ed.VonMises(ember.zeros(2), ember.ones(2)).log_prob(ember.zeros(3)),
                      lambda: td.VonMises(torch.zeros(2), torch.ones(2)).log_prob(torch.zeros(3)))
    assert_same_error(lambda: ed.VonMises(ember.zeros(2), ember.ones(2)).entropy(),
                      lambda: td.VonMises(torch.zeros(2), torch.ones(2)).entropy())
    from torch.distributions.von_mises import _log_modified_bessel_fn as tb

    from ember.distributions.von_mises import _log_modified_bessel_fn as eb
    x = torch.tensor([0.1, 3.0, 3.75, 10.0], dtype=torch.float64)
    for order in (0, 1):
        assert_close(eb(to_ember(x), order), tb(x, order))
    assert_same_error(lambda: eb(to_ember(x), 2), lambda: tb(x, 2))


def test_von_mises_gradcheck():
    x = ember.tensor([0.1, 2.0, -3.0], dtype=ember.float64)

    def fn(loc, conc):  # noqa: ANN001, ANN202
        return ed.VonMises(loc, conc).log_prob(x)

    args = (ember.tensor([0.3, -1.0, 2.0], dtype=ember.float64, requires_grad=True),
            ember.tensor([0.5, 5.0, 2.0], dtype=ember.float64, requires_grad=True))
    assert ember.autograd.gradcheck(fn, args) and ember.autograd.gradgradcheck(fn, args)


@pytest.mark.parametrize("a,b", [([1.0, 2.0, 0.5], [1.5, 3.0, 0.7]), (2.0, 3.0)])
def test_kumaraswamy_against_torch(a, b):
    ta, tb = (torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)) if isinstance(a, list) \
        else (a, b)
    ea, eb = (to_ember(ta, True), to_ember(tb, True)) if isinstance(a, list) else (a, b)
    t, e = td.Kumaraswamy(ta, tb), ed.Kumaraswamy(ea, eb)
    assert repr(e) == repr(t) and e.batch_shape == t.batch_shape and repr(e.support) == repr(t.support)
    torch.manual_seed(3)
    ember.manual_seed(3)
    assert_close(e.sample((2,)), t.sample((2,)))
    ts, es = t.rsample((3,)), e.rsample((3,))
    assert_close(es, ts, rtol=1e-5)
    v = torch.tensor([0.2, 0.5, 0.9]) if isinstance(a, list) else torch.tensor(0.4)
    elp, tlp = e.log_prob(to_ember(v)), t.log_prob(v)
    assert_close(elp, tlp, rtol=1e-5)
    for attr in ("mean", "variance", "mode", "stddev"):
        assert_close(getattr(e, attr), getattr(t, attr), rtol=1e-5)
    assert_close(e.entropy(), t.entropy(), rtol=1e-5)
    if isinstance(a, list):
        cot = np.random.default_rng(0).standard_normal(tuple(ts.shape))
        ((es * ember.tensor(cot)).sum() + elp.sum() + e.entropy().sum() + e.mean.sum()).backward()
        ((ts * torch.tensor(cot)).sum() + tlp.sum() + t.entropy().sum() + t.mean.sum()).backward()
        assert_close(ea.grad, ta.grad, rtol=1e-4)
        assert_close(eb.grad, tb.grad, rtol=1e-4)
        te, ee = t.expand((2, 3)), e.expand((2, 3))
        assert type(ee) is ed.Kumaraswamy and repr(ee) == repr(te)
        assert_close(ee.log_prob(to_ember(v)), te.log_prob(v), rtol=1e-5)


def test_kumaraswamy_errors_and_gradcheck():
    assert_same_error(lambda: ed.Kumaraswamy(-ember.ones(2), ember.ones(2)),
                      lambda: td.Kumaraswamy(-torch.ones(2), torch.ones(2)))
    assert_same_error(lambda: ed.Kumaraswamy(ember.ones(2), ember.ones(2)).log_prob(2 * ember.ones(2)),
                      lambda: td.Kumaraswamy(torch.ones(2), torch.ones(2)).log_prob(2 * torch.ones(2)))

    def fn(a, b):  # noqa: ANN001, ANN202
        ember.manual_seed(0)
        d = ed.Kumaraswamy(a, b)
        return d.rsample((2,)).sum() + d.log_prob(ember.tensor([0.3, 0.6], dtype=ember.float64)).sum() + d.entropy()

    args = (ember.tensor([1.5, 0.7], dtype=ember.float64, requires_grad=True),
            ember.tensor([2.0, 1.3], dtype=ember.float64, requires_grad=True))
    assert ember.autograd.gradcheck(fn, args)


# ---------------------------------------------------------------------------------------------------------------
# expand of every family (and MixtureSameFamily over the scalar ones)
# ---------------------------------------------------------------------------------------------------------------

FAMILIES = {
    "Normal": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Uniform": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Bernoulli": lambda L: (L.tensor([0.3, 0.6]),),
    "Exponential": lambda L: (L.tensor([0.3, 0.6]),),
    "Laplace": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Cauchy": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "LogNormal": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "HalfNormal": lambda L: (L.tensor([1.0, 2.0]),),
    "HalfCauchy": lambda L: (L.tensor([1.0, 2.0]),),
    "Gumbel": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Weibull": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 0.5])),
    "Pareto": lambda L: (L.tensor([1.0, 1.0]), L.tensor([1.5, 3.0])),
    "LogisticNormal": lambda L: (L.tensor([[0.0, 1.0]]), L.tensor([1.0, 2.0])),
    "Gamma": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0])),
    "Chi2": lambda L: (L.tensor([1.0, 2.0]),),
    "StudentT": lambda L: (L.tensor([3.0, 2.0]),),
    "Poisson": lambda L: (L.tensor([3.0, 2.0]),),
    "Binomial": lambda L: (3, L.tensor([0.3, 0.2])),
    "Dirichlet": lambda L: (L.tensor([0.3, 0.2, 0.5]),),
    "VonMises": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Kumaraswamy": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0])),
}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_expand_every_family(name):
    t, e = getattr(td, name)(*FAMILIES[name](torch)), getattr(ed, name)(*FAMILIES[name](ember))
    shape = (3,) + tuple(t.batch_shape)
    te, ee = t.expand(shape), e.expand(shape)
    assert type(ee) is type(e) and repr(ee) == repr(te)
    assert ee.batch_shape == te.batch_shape and ee.event_shape == te.event_shape
    assert ee._validate_args == te._validate_args
    torch.manual_seed(0)
    ember.manual_seed(0)
    ts, es = te.sample((2,)), ee.sample((2,))
    assert_close(es, ts, rtol=1e-5, atol=1e-6)
    assert_close(ee.log_prob(to_ember(ts)), te.log_prob(ts), rtol=1e-4, atol=1e-5)
    if not t.event_shape:
        tm = td.MixtureSameFamily(td.Categorical(torch.tensor([0.3, 0.7])), t)
        em = ed.MixtureSameFamily(ed.Categorical(ember.tensor([0.3, 0.7])), e)
        assert repr(em) == repr(tm)
        torch.manual_seed(1)
        ember.manual_seed(1)
        ts, es = tm.sample((4,)), em.sample((4,))
        assert_close(es, ts, rtol=1e-5, atol=1e-6)
        v = tm.component_distribution.sample((4,))[:, 0]
        try:
            tlp = tm.log_prob(v)
        except ValueError:   # v outside some component's support (Uniform, Pareto)
            assert_same_error(lambda: em.log_prob(to_ember(v)), lambda: tm.log_prob(v))
        else:
            assert_close(em.log_prob(to_ember(v)), tlp, rtol=1e-4, atol=1e-5)


def test_logistic_normal_of_numbers():
    t, e = td.LogisticNormal(0.0, 1.0), ed.LogisticNormal(0.0, 1.0)
    assert e.batch_shape == t.batch_shape and e.event_shape == t.event_shape and repr(e) == repr(t)
    torch.manual_seed(2)
    ember.manual_seed(2)
    ts = t.sample((3,))
    assert_close(e.sample((3,)), ts)
    assert_close(e.log_prob(to_ember(ts)), t.log_prob(ts))


def _my_normal(m, L):  # noqa: ANN001, ANN202
    class MyNormal(m.Normal):
        def __init__(self, loc):  # noqa: ANN001
            super().__init__(loc, 1.0)

    return MyNormal(L.zeros(2))


def test_subclass_with_own_init_must_define_expand():
    assert_same_error(lambda: _my_normal(ed, ember).expand((3, 2)), lambda: _my_normal(td, torch).expand((3, 2)))


# ---------------------------------------------------------------------------------------------------------------
# argument and value validation: torch's checks, order and messages
# ---------------------------------------------------------------------------------------------------------------

ERRORS = [
    lambda m, L: m.Normal(L.zeros(3), L.ones(3)).log_prob(L.zeros(2)),
    lambda m, L: m.Normal(L.zeros(3), L.ones(3)).log_prob(0.5),
    lambda m, L: m.Normal(L.zeros(3), L.ones(3)).cdf(L.zeros(2, 2)),
    lambda m, L: m.Normal(0.0, 1.0).expand((2,)).log_prob(L.zeros(3)),
    lambda m, L: m.Exponential(L.ones(3)).log_prob(-L.ones(3)),
    lambda m, L: m.Exponential(L.ones(3)).cdf(-L.ones(3)),
    lambda m, L: m.Uniform(L.zeros(3), L.ones(3)).log_prob(L.ones(3) * 2),
    lambda m, L: m.Uniform(L.zeros(3), L.ones(3)).cdf(L.ones(3) * 2),
    lambda m, L: m.Bernoulli(L.ones(3) * 0.3).log_prob(L.ones(3) * 0.5),
    lambda m, L: m.Bernoulli(logits=L.ones(3) * 0.3).log_prob(L.ones(2)),
    lambda m, L: m.Laplace(L.zeros(3), L.ones(3)).log_prob(L.zeros(4)),
    lambda m, L: m.Cauchy(L.zeros(3), L.ones(3)).cdf(L.zeros(4)),
    lambda m, L: m.Dirichlet(L.ones(3)).log_prob(L.ones(2) / 2),        # event shape first
    lambda m, L: m.Dirichlet(L.ones(2, 3)).log_prob(L.ones(3, 3) / 3),  # then broadcasting
    lambda m, L: m.Categorical(L.ones(3)).log_prob(L.tensor([3])),
    lambda m, L: m.OneHotCategorical(L.ones(3)).log_prob(L.ones(2)),
    lambda m, L: m.MultivariateNormal(L.zeros(3, 2), L.eye(2)).log_prob(L.zeros(2, 2)),
    lambda m, L: m.Independent(m.Normal(L.zeros(2, 3), L.ones(2, 3)), 1).log_prob(L.zeros(2)),
    lambda m, L: m.Gamma(L.ones(2), L.ones(2)).log_prob(L.zeros(1, 3)),
    lambda m, L: m.Binomial(3, L.ones(2) * 0.5).log_prob(L.ones(2) * 4),
    lambda m, L: m.Poisson(L.ones(2)).log_prob(L.ones(2) * 0.5),
    lambda m, L: m.HalfNormal(L.ones(2)).log_prob(-L.ones(2)),
    lambda m, L: m.Pareto(L.ones(2), L.ones(2)).log_prob(L.zeros(2)),
    # parameters that are properties (of a wrapped distribution, or derived)
    lambda m, L: m.Chi2(-L.ones(2)),
    lambda m, L: m.LogNormal(L.zeros(2), -L.ones(2)),
    lambda m, L: m.HalfNormal(-L.ones(2)),
    lambda m, L: m.HalfCauchy(-L.ones(2)),
    lambda m, L: m.Weibull(L.ones(2), -L.ones(2)),
    lambda m, L: m.Pareto(L.ones(2), -L.ones(2)),
    lambda m, L: m.Gumbel(L.ones(2), -L.ones(2)),
    lambda m, L: m.LogisticNormal(L.zeros(2), -L.ones(2)),
    lambda m, L: m.StudentT(-L.ones(2)),
    lambda m, L: m.Wishart(L.tensor(1.0), L.eye(2)),
    # the abstract base
    lambda m, L: m.Distribution(validate_args=False).mean,
    lambda m, L: m.Distribution(validate_args=False).support,
    lambda m, L: m.Distribution(validate_args=False).arg_constraints,
    lambda m, L: m.Distribution(validate_args=False).expand((2,)),
    lambda m, L: m.Distribution(validate_args=False).enumerate_support(),
    lambda m, L: m.Normal(L.zeros(2), L.ones(2)).enumerate_support(),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_validation_errors(fn):
    assert_same_error(lambda: fn(ed, ember), lambda: fn(td, torch))


def test_lazy_parameters_are_not_computed_by_validation():
    e = ed.Bernoulli(logits=ember.tensor([0.3, -1.0]), validate_args=True)
    assert "probs" not in e.__dict__ and isinstance(ed.Bernoulli.__dict__["probs"], ed.utils.lazy_property)
    assert_close(e.probs, td.Bernoulli(logits=torch.tensor([0.3, -1.0])).probs)


def test_missing_arg_constraints_and_support_warn():
    class Bare(ed.Distribution):
        pass

    class TBare(td.Distribution):
        pass

    for cls in (Bare, TBare):
        with pytest.warns(UserWarning, match="does not define `arg_constraints`"):
            d = cls(validate_args=True)
        with pytest.warns(UserWarning, match="does not define `support` to enable sample validation"):
            d._validate_sample((torch if cls is TBare else ember).zeros(()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Bare(validate_args=False)


def test_perplexity():
    e = ed.Normal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 2.0]))
    t = td.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]))
    assert_close(e.perplexity(), t.perplexity())


# ---------------------------------------------------------------------------------------------------------------
# constraints.cat / constraints.stack
# ---------------------------------------------------------------------------------------------------------------

def test_constraints_namespace():
    assert sorted(ed.constraints.__all__) == sorted(td.constraints.__all__)


@pytest.mark.parametrize("build,value", [
    (lambda c: c.cat([c.real, c.positive, c.unit_interval], 0, [2, 1, 2]), [[0.5, -1.0], [2.0, 3.0], [-1.0, 0.5],
                                                                            [0.2, 0.1], [0.7, 1.5]]),
    (lambda c: c.cat([c.positive, c.nonnegative_integer], -1, [1, 2]), [[0.5, 1.0, 2.5], [-1.0, 3.0, 2.0]]),
    (lambda c: c.cat([c.simplex, c.real_vector], 0), [[0.5, 0.5], [0.3, 0.2]]),
    (lambda c: c.stack([c.real, c.positive, c.unit_interval], 1), [[0.5, -1.0, 0.3], [2.0, 3.0, 1.5]]),
    (lambda c: c.stack([c.real_vector, c.simplex], 0), [[0.5, -1.0], [0.3, 0.7]]),
    (lambda c: c.stack([c.positive, c.boolean], -1), [[0.5, 1.0], [-1.0, 0.3]]),
])
def test_cat_stack_constraints(build, value):
    e, t = build(ed.constraints), build(td.constraints)
    assert e.is_discrete == t.is_discrete and e.event_dim == t.event_dim and repr(e) == repr(t)
    v = torch.tensor(value)
    assert_close(e.check(to_ember(v)), t.check(v))
    assert_same_error(lambda: e.check(ember.zeros(())), lambda: t.check(torch.zeros(())))


def test_cat_stack_constraint_errors_and_transforms_use_them():
    for m in ("cat", "stack"):
        assert_same_error(lambda m=m: getattr(ed.constraints, m)([ed.constraints.real, 1.0]),
                          lambda m=m: getattr(td.constraints, m)([td.constraints.real, 1.0]))
    assert_same_error(lambda: ed.constraints.cat([ed.constraints.real], 0, [1, 2]),
                      lambda: td.constraints.cat([td.constraints.real], 0, [1, 2]))
    cat_t = ed.transforms.CatTransform([ed.transforms.ExpTransform(), ed.transforms.AbsTransform()], 0, [1, 2])
    stack_t = ed.transforms.StackTransform([ed.transforms.ExpTransform(), ed.transforms.AbsTransform()], 0)
    assert type(cat_t.codomain) is ed.constraints.cat and type(stack_t.domain) is ed.constraints.stack
    assert isinstance(ed.biject_to(ed.constraints.stack([ed.constraints.positive], 0)), ed.transforms.StackTransform)


def _static(c):  # noqa: ANN001, ANN202
    out = []
    for attr in ("is_discrete", "event_dim"):
        try:
            out.append(getattr(c, attr))
        except NotImplementedError as exc:
            out.append(str(exc))
    return out


@pytest.mark.parametrize("build", [
    lambda c: c.dependent, lambda c: c.dependent(is_discrete=True), lambda c: c.dependent(event_dim=2),
    lambda c: c.dependent(is_discrete=True)(event_dim=1), lambda c: c.dependent_property(lambda self: 0),
    lambda c: c.dependent_property(is_discrete=False)(lambda self: 0),
    lambda c: c.dependent_property(is_discrete=True, event_dim=1)(lambda self: 0),
])
def test_dependent_constraints(build):
    e, t = build(ed.constraints), build(td.constraints)
    assert _static(e) == _static(t) and repr(e) == repr(t)
    assert ed.constraints.is_dependent(e) and td.constraints.is_dependent(t)
    assert_same_error(lambda: e.check(ember.zeros(1)), lambda: t.check(torch.zeros(1)))


@pytest.mark.parametrize("name", sorted(n for n in td.__all__ if isinstance(getattr(td, n), type)
                                        and issubclass(getattr(td, n), td.Distribution)))
def test_class_level_support_is_described_as_torch(name):
    t, e = getattr(td, name).__dict__.get("support"), getattr(ed, name).__dict__.get("support")
    assert (t is None) == (e is None)
    if isinstance(t, td.constraints.Constraint):
        assert isinstance(e, ed.constraints.Constraint) and _static(e) == _static(t)


@pytest.mark.parametrize("build,value", [
    (lambda c, L: c.integer_interval(0, L.tensor(3)), [0.0, 1.5, 3.0, 4.0]),
    (lambda c, L: c._IntegerLessThan(2), [0.0, 1.5, 2.0, 3.0]),
    (lambda c, L: c.greater_than(L.tensor(0.5)), [0.0, 0.5, 1.0, 3.0]),
    (lambda c, L: c.half_open_interval(0.0, L.tensor([1.0, 2.0, 3.0, 4.0])), [0.0, 1.0, 2.5, 4.0]),
    (lambda c, L: c.interval(L.tensor(-1.0), 2.0), [-1.0, 0.0, 2.0, 2.5]),
])
def test_bounded_constraints(build, value):
    e, t = build(ed.constraints, ember), build(td.constraints, torch)
    assert repr(e) == repr(t) and e.is_discrete == t.is_discrete
    assert [c.__name__ for c in type(e).__mro__] == [c.__name__ for c in type(t).__mro__]
    assert_close(e.check(ember.tensor(value)), t.check(torch.tensor(value)))


def test_independent_constraint_errors():
    for args in [(1.0, 1), ("real", 1.5), ("real", -1)]:
        def build(c, args=args):  # noqa: ANN001, ANN202
            return c.independent(c.real if args[0] == "real" else args[0], args[1])
        assert_same_error(lambda b=build: b(ed.constraints), lambda b=build: b(td.constraints))


KL_FAMILIES = {
    "Normal": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Bernoulli": lambda L: (L.tensor([0.3, 0.6]),),
    "Exponential": lambda L: (L.tensor([0.3, 0.6]),),
    "Gamma": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0])),
    "Beta": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0])),
    "Poisson": lambda L: (L.tensor([3.0, 2.0]),),
    "ContinuousBernoulli": lambda L: (L.tensor([0.3, 0.2]),),
    "Laplace": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Uniform": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Geometric": lambda L: (L.tensor([0.3, 0.2]),),
    "Cauchy": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Gumbel": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Pareto": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0])),
    "HalfNormal": lambda L: (L.tensor([1.0, 2.0]),),
    "Binomial": lambda L: (3, L.tensor([0.3, 0.2])),
    "Chi2": lambda L: (L.tensor([1.0, 2.0]),),
    "VonMises": lambda L: (L.tensor([0.0, 1.0]), L.tensor([1.0, 2.0])),
    "Kumaraswamy": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.5, 3.0])),
}


def test_kl_dispatch_over_family_pairs():
    """Every pair: torch's value, or torch's error (the registry's most specific match, ExponentialFamily's
    Bregman divergence included)."""
    failures = []
    for p in KL_FAMILIES:
        for q in KL_FAMILIES:
            tp, tq = (getattr(td, n)(*KL_FAMILIES[n](torch)) for n in (p, q))
            ep, eq = (getattr(ed, n)(*KL_FAMILIES[n](ember)) for n in (p, q))
            try:
                expected = td.kl_divergence(tp, tq)
            except NotImplementedError:
                with pytest.raises(NotImplementedError):
                    ed.kl_divergence(ep, eq)
                continue
            try:
                assert_close(ed.kl_divergence(ep, eq).detach(), expected.detach(), rtol=1e-4, atol=1e-5)
            except (AssertionError, NotImplementedError) as exc:
                failures.append(f"{p}-{q}: {exc}")
    assert not failures, failures


@pytest.mark.parametrize("name", sorted(n for n in dir(td.transforms) if isinstance(getattr(td.transforms, n), type)
                                        and issubclass(getattr(td.transforms, n), td.transforms.Transform)))
def test_transform_class_attributes_as_torch(name):
    """domain/codomain are dependent properties (constraints on the class), sign/event_dim lazy where torch's are."""
    t, e = getattr(td.transforms, name), getattr(ed.transforms, name)
    for attr in ("domain", "codomain", "bijective", "sign", "event_dim", "length"):
        tv, ev = vars(t).get(attr), vars(e).get(attr)
        assert type(tv).__name__ == type(ev).__name__, attr
        if isinstance(tv, td.constraints.Constraint):
            assert _static(ev) == _static(tv) if isinstance(tv, property) else repr(ev) == repr(tv)


def test_pareto_variance_gradient_where_alpha_is_clamped():
    ta, ea = torch.tensor([1.5, 3.0], requires_grad=True), ember.tensor([1.5, 3.0], requires_grad=True)
    td.Pareto(torch.ones(2), ta).variance.sum().backward()
    ed.Pareto(ember.ones(2), ea).variance.sum().backward()
    assert_close(ea.grad, ta.grad)


GRAD_FAMILIES = {
    "LogNormal": ([0.0, 1.0], [1.0, 2.0]), "HalfNormal": ([1.0, 2.0],), "HalfCauchy": ([1.0, 2.0],),
    "Gumbel": ([0.0, 1.0], [1.0, 2.0]), "Weibull": ([1.0, 2.0], [1.5, 0.5]), "Pareto": ([1.0, 2.0], [2.5, 3.0]),
    "Gamma": ([1.0, 2.0], [1.5, 3.0]), "Beta": ([1.0, 2.0], [1.5, 3.0]), "Chi2": ([1.0, 2.0],),
    "StudentT": ([3.0, 2.0],), "FisherSnedecor": ([3.0, 2.0], [1.0, 5.0]), "InverseGamma": ([1.0, 2.0], [1.5, 3.0]),
    "ContinuousBernoulli": ([0.3, 0.2],), "GeneralizedPareto": ([0.0, 1.0], [1.0, 2.0], [0.1, 0.2]),
    "Kumaraswamy": ([1.0, 2.0], [1.5, 3.0]), "VonMises": ([0.0, 1.0], [1.0, 2.0]),
    "Dirichlet": ([[0.3, 0.2, 0.5], [1.0, 2.0, 3.0]],), "Poisson": ([3.0, 2.0],), "Geometric": ([0.3, 0.2],),
    "LogisticNormal": ([[0.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [0.5, 0.3]]),
}


@pytest.mark.parametrize("name", list(GRAD_FAMILIES))
def test_parameter_gradients_every_family(name):
    """d/dparams of log_prob + entropy + mean + variance + rsample, against torch."""
    # torch's GeneralizedPareto.log_prob compares with a float32 zero, so it fails on float64 parameters
    dtype = torch.float32 if name == "GeneralizedPareto" else torch.float64
    tps = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in GRAD_FAMILIES[name]]
    eps_ = [to_ember(p, True) for p in tps]
    t, e = getattr(td, name)(*tps), getattr(ed, name)(*eps_)
    torch.manual_seed(0)
    value = t.sample((3,))

    def total(d, lib, v):  # noqa: ANN001, ANN202
        out = d.log_prob(v).sum()
        for term in (lambda: d.mean, lambda: d.variance, d.entropy):
            try:
                out = out + term().sum()
            except NotImplementedError:   # as in torch (checked below: both graphs must agree)
                pass
        if d.has_rsample:
            lib.manual_seed(1)
            out = out + (d.rsample((2,)) * 1.3).sum()
        return out

    total(t, torch, value).backward()
    total(e, ember, to_ember(value)).backward()
    for a, b in zip(eps_, tps, strict=True):
        assert_close(a.grad, b.grad, rtol=1e-5 if dtype == torch.float64 else 1e-4, atol=1e-6)
